//! `Executor`: `concurrent.futures.ProcessPoolExecutor`'s interface over a [`Pool`].
//!
//! ProcessPoolExecutor differs from `multiprocessing.Pool` mostly in what happens when a worker
//! dies: every pending future fails with `BrokenProcessPool` and later submits are refused
//! (measured here: tasks 0..5 with task 3 calling `os._exit` give
//! `[0, 1, BrokenProcessPool x 4]`). procpool's [`Pool`] already behaves that way, so the
//! executor is the pool under the executor's names: `submit` returns a future, `map` yields
//! results in order with `chunksize` 1 by default, `shutdown(wait)` closes the pool.
//!
//! Dropping an executor shuts it down and waits, as leaving `with ProcessPoolExecutor():` does.

use std::sync::Arc;

use crate::error::{BrokenPool, PoolError, SubmitError};
use crate::pool::{AsyncResult, IMapIterator, Pool, PoolOptions};
use crate::registry::Task;
use crate::start::StartMethod;

/// A future for one submitted call (`concurrent.futures.Future`): `get(timeout)` is its
/// `result(timeout)`.
pub type Future<T> = AsyncResult<T>;

/// A process pool with the interface of `ProcessPoolExecutor`.
pub struct Executor {
    pool: Pool,
}

impl Executor {
    /// An executor of `max_workers` processes started by `start_method`.
    pub fn new(max_workers: usize, start_method: StartMethod) -> Result<Executor, PoolError> {
        Executor::with_options(PoolOptions {
            processes: Some(max_workers),
            start_method,
            ..PoolOptions::default()
        })
    }

    /// An executor built as `options` say (`max_tasks_per_child` is `maxtasksperchild`).
    pub fn with_options(options: PoolOptions) -> Result<Executor, PoolError> {
        Ok(Executor {
            pool: Pool::with_options(options)?,
        })
    }

    /// Schedules `T(arg)` and returns its future (`submit`).
    pub fn submit<T: Task>(&self, task: T, arg: T::Arg) -> Result<Future<T>, SubmitError> {
        self.pool.apply_async(task, arg)
    }

    /// `T` over `items`, results in order, `chunksize` per task (`map`; CPython's default is 1).
    pub fn map<T: Task>(
        &self,
        task: T,
        items: impl IntoIterator<Item = T::Arg>,
        chunksize: usize,
    ) -> Result<IMapIterator<T>, SubmitError> {
        self.pool.imap(task, items, chunksize)
    }

    /// Refuses new work; with `wait`, returns once every pending future is done and the workers
    /// have exited (`shutdown(wait=True)`).
    pub fn shutdown(&self, wait: bool) {
        self.pool.close();
        if wait {
            let _ = self.pool.join();
        }
    }

    /// Why the executor is broken, if a worker died.
    pub fn broken(&self) -> Option<Arc<BrokenPool>> {
        self.pool.broken()
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        self.shutdown(true);
    }
}
