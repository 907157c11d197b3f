//! `loop.run_in_executor(None, func)`: CPython's default executor, a
//! `concurrent.futures.ThreadPoolExecutor(thread_name_prefix='asyncio')`
//! (`Lib/concurrent/futures/thread.py`), and the chaining of its results back into the loop
//! (`futures.wrap_future` / `_chain_future`, through `call_soon_threadsafe`).
//!
//! ```text
//!   loop thread                          worker thread (asyncio_0 .. asyncio_{max-1})
//!   ───────────                          ─────────────────────────────────────────────
//!   run_in_executor(f)                   wait for a work item (condvar)
//!     fut = create_future()              not cancelled: r = f()   (a panic is caught)
//!     submit(item); _adjust_thread_count call_soon_threadsafe(set fut's state to r)
//!     return fut                         idle += 1  (_idle_semaphore.release())
//!   fut cancelled: item.cancel() (it
//!     will not run if it has not begun)  ──eventfd──► loop: set_result(r) unless cancelled
//! ```
//!
//! `_adjust_thread_count`, as CPython: a submit consumes one idle token when there is one;
//! otherwise it starts a thread while there are fewer than `max_workers`
//! (`min(32, cpus + 4)`; `cpus` is `available_parallelism`, which honours affinity and cgroup
//! limits where 3.12's `os.cpu_count()` does not). Threads start lazily and live until the
//! executor is shut down.
//!
//! Invariants:
//! - a work item runs at most once, on one worker; after `shutdown` no item is accepted, and
//!   the workers exit once the queue is empty;
//! - a job holds a [`ThreadsafeLoop`](crate::ThreadsafeLoop) until its result is sent, so a loop
//!   with nothing else to do waits for it instead of stopping;
//! - the result future is completed on the loop's thread only, and never after it was
//!   cancelled.

use std::any::Any;
use std::collections::VecDeque;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};

use crate::base_events::EventLoop;
use crate::futures::{Error, Future};

type WorkItem = Box<dyn FnOnce() + Send>;

/// Ids of executor jobs (and shutdowns) awaited by a loop, unique in the process.
static NEXT_JOB_ID: AtomicU64 = AtomicU64::new(0);

/// Why `run_in_executor` refused a job.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExecutorError {
    /// `RuntimeError('Executor shutdown has been called')`.
    Shutdown,
    /// The loop is closed.
    LoopClosed,
    /// `RuntimeError("can't start new thread")`, with the OS's reason.
    CannotStartThread(String),
}

impl fmt::Display for ExecutorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecutorError::Shutdown => f.write_str("executor shutdown has been called"),
            ExecutorError::LoopClosed => f.write_str("event loop is closed"),
            ExecutorError::CannotStartThread(why) => write!(f, "can't start new thread: {why}"),
        }
    }
}

impl std::error::Error for ExecutorError {}

impl From<ExecutorError> for Error {
    fn from(error: ExecutorError) -> Self {
        Error::exception(error)
    }
}

/// The function given to `run_in_executor` panicked; the payload's message, if it had one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorPanic(pub String);

impl fmt::Display for ExecutorPanic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the executor function panicked: {}", self.0)
    }
}

impl std::error::Error for ExecutorPanic {}

#[derive(Default)]
struct PoolState {
    queue: VecDeque<WorkItem>,
    /// `_idle_semaphore`'s value.
    idle: usize,
    threads: Vec<JoinHandle<()>>,
    shutdown: bool,
}

/// `concurrent.futures.ThreadPoolExecutor`, as the loop's default executor uses it.
pub(crate) struct ThreadPoolExecutor {
    state: Mutex<PoolState>,
    work: Condvar,
    max_workers: usize,
}

impl ThreadPoolExecutor {
    /// `ThreadPoolExecutor()`: `max_workers = min(32, cpus + 4)`; no thread yet.
    pub(crate) fn new() -> Arc<Self> {
        let cpus = thread::available_parallelism().map_or(1, |n| n.get());
        Arc::new(ThreadPoolExecutor {
            state: Mutex::new(PoolState::default()),
            work: Condvar::new(),
            max_workers: 32.min(cpus + 4),
        })
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // Work items run outside the lock, so a poisoned lock still holds a valid queue.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn max_workers(&self) -> usize {
        self.max_workers
    }

    pub(crate) fn threads(&self) -> usize {
        self.lock().threads.len()
    }

    /// `submit` + `_adjust_thread_count`.
    fn submit(self: &Arc<Self>, item: WorkItem) -> Result<(), ExecutorError> {
        let mut state = self.lock();
        if state.shutdown {
            return Err(ExecutorError::Shutdown);
        }
        state.queue.push_back(item);
        if state.idle > 0 {
            state.idle -= 1;
        } else if state.threads.len() < self.max_workers {
            let pool = self.clone();
            let name = format!("asyncio_{}", state.threads.len());
            match thread::Builder::new()
                .name(name)
                .spawn(move || pool.worker())
            {
                Ok(handle) => state.threads.push(handle),
                Err(error) if state.threads.is_empty() => {
                    state.queue.pop_back();
                    return Err(ExecutorError::CannotStartThread(error.to_string()));
                }
                // The item waits for a thread that already exists.
                Err(_) => {}
            }
        }
        drop(state);
        self.work.notify_one();
        Ok(())
    }

    /// `_worker`: run items until shut down with an empty queue.
    fn worker(&self) {
        let mut state = self.lock();
        loop {
            if let Some(item) = state.queue.pop_front() {
                drop(state);
                item();
                state = self.lock();
                state.idle += 1;
                continue;
            }
            if state.shutdown {
                return;
            }
            state = self
                .work
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// `shutdown(wait=False)`: no new items; workers exit once the queue is empty.
    pub(crate) fn shutdown(&self) -> Vec<JoinHandle<()>> {
        let threads = {
            let mut state = self.lock();
            state.shutdown = true;
            std::mem::take(&mut state.threads)
        };
        self.work.notify_all();
        threads
    }
}

/// The message of a panic payload.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_string()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "(a non-string payload)".to_string()
    }
}

/// Runs on the loop's thread: completes the future of job `id` with `outcome`, unless it was
/// cancelled (`_copy_future_state` / `_set_result_unless_cancelled`).
fn complete<T: Clone + 'static>(id: u64, outcome: Result<T, Error>) {
    let Some(event_loop) = EventLoop::running() else {
        return;
    };
    let waiter = event_loop.0.executor_waiters.borrow_mut().remove(&id);
    let Some(future) = waiter.and_then(|waiter| waiter.downcast::<Future<T>>().ok()) else {
        return;
    };
    if future.cancelled() {
        return;
    }
    let _ = match outcome {
        Ok(value) => future.set_result(value),
        Err(error) => future.set_exception(error),
    };
}

impl EventLoop {
    fn default_executor(&self) -> Result<Arc<ThreadPoolExecutor>, ExecutorError> {
        if self.is_closed() {
            return Err(ExecutorError::LoopClosed);
        }
        let mut executor = self.0.default_executor.borrow_mut();
        if let Some(executor) = executor.as_ref() {
            return Ok(executor.clone());
        }
        if self.0.executor_shutdown_called.get() {
            return Err(ExecutorError::Shutdown);
        }
        Ok(executor.insert(ThreadPoolExecutor::new()).clone())
    }

    /// `loop.run_in_executor(None, func)`: run `func` on the default thread pool and get a
    /// future of its result, completed on this loop when `func` returns (a panic in `func`
    /// becomes an [`ExecutorPanic`] exception). Cancelling the future before `func` starts
    /// keeps it from running.
    pub fn run_in_executor<T, F>(&self, func: F) -> Result<Future<T>, ExecutorError>
    where
        T: Clone + Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let executor = self.default_executor()?;
        let future = self.create_future::<T>();
        let id = NEXT_JOB_ID.fetch_add(1, Ordering::Relaxed);
        let cancelled = Arc::new(AtomicBool::new(false));
        let threadsafe = self.threadsafe();
        let item_cancelled = cancelled.clone();
        let item: WorkItem = Box::new(move || {
            // `set_running_or_notify_cancel`: a cancelled item does not run.
            if item_cancelled.load(Ordering::Acquire) {
                return;
            }
            let outcome = catch_unwind(AssertUnwindSafe(func))
                .map_err(|payload| ExecutorPanic(panic_message(&*payload)));
            // A closed loop drops the result, as CPython's `_call_set_state` does.
            let _ = threadsafe.call_soon_threadsafe(move || {
                complete::<T>(id, outcome.map_err(Error::exception));
            });
        });
        executor.submit(item)?;
        self.0
            .executor_waiters
            .borrow_mut()
            .insert(id, Box::new(future.clone()));
        // `_chain_future`'s `_call_check_cancel`: cancelling the loop's future cancels the item.
        let watched = future.clone();
        future.add_done_callback(move || {
            if watched.cancelled() {
                cancelled.store(true, Ordering::Release);
                if let Some(event_loop) = EventLoop::running() {
                    event_loop.0.executor_waiters.borrow_mut().remove(&id);
                }
            }
        });
        Ok(future)
    }

    /// How many threads the default executor has started (none before the first
    /// `run_in_executor`), and its `max_workers`.
    pub fn default_executor_threads(&self) -> (usize, usize) {
        match self.0.default_executor.borrow().as_ref() {
            Some(executor) => (executor.threads(), executor.max_workers()),
            None => (0, 0),
        }
    }

    /// `loop.shutdown_default_executor()` (`asyncio.run` calls it last): no new jobs; waits,
    /// on a helper thread, until the running ones finish and the workers exit.
    pub async fn shutdown_default_executor(&self) -> Result<(), Error> {
        self.0.executor_shutdown_called.set(true);
        let Some(executor) = self.0.default_executor.borrow_mut().take() else {
            return Ok(());
        };
        let future = self.create_future::<()>();
        let id = NEXT_JOB_ID.fetch_add(1, Ordering::Relaxed);
        self.0
            .executor_waiters
            .borrow_mut()
            .insert(id, Box::new(future.clone()));
        let threadsafe = self.threadsafe();
        let joiner = move || {
            for worker in executor.shutdown() {
                let _ = worker.join();
            }
            let _ = threadsafe.call_soon_threadsafe(move || complete::<()>(id, Ok(())));
        };
        if let Err(error) = thread::Builder::new().spawn(joiner) {
            self.0.executor_waiters.borrow_mut().remove(&id);
            return Err(ExecutorError::CannotStartThread(error.to_string()).into());
        }
        future.await
    }
}

/// `asyncio.to_thread(func)` (`Lib/asyncio/threads.py`): runs `func` on the running loop's
/// default thread pool and waits for its result (`loop.run_in_executor(None, func)`; Rust has
/// no context variables to copy). A panic in `func` becomes an [`ExecutorPanic`] exception; a
/// pool that cannot take work an [`ExecutorError`] one.
pub async fn to_thread<T, F>(func: F) -> Result<T, Error>
where
    T: Clone + Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
    let future = event_loop.run_in_executor(func).map_err(Error::exception)?;
    future.await
}
