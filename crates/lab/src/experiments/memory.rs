//! memory: what one waiting task weighs. N tasks are started and left waiting on one event;
//! the figure is the growth of the process's resident memory (VmRSS) while they all wait, over N.
//!
//! goroutines: the `idle-memory` workload (parked on one channel: a stack and a G each);
//! asyncio: tasks awaiting one shared future (a task, its coroutine's state, a done-callback);
//! gil-threads: Python threads blocked on one `threading.Event` with the GIL released (an OS
//! thread each, its stack and the kernel's task), ten times fewer of them.
//! Each experiment runs in a process of its own, so nothing earlier left memory to reuse.

use asyncio_loop::{Error, EventLoop};
use probe::threads::rss_bytes;

use super::{ExperimentError, Figures, Options};
use crate::model::Model;
use crate::workloads::idle_memory;

/// Waiting tasks.
pub fn tasks(options: &Options) -> u64 {
    if options.quick {
        10_000
    } else {
        100_000
    }
}

pub(super) fn run(
    mut figures: Figures,
    options: &Options,
) -> Result<Vec<probe::result::ResultLine>, ExperimentError> {
    let mut count = tasks(options);
    let memory = |error| ExperimentError::Model(crate::bench::BenchError::Memory(error));
    let (released, before, at_rest) = match figures.model {
        Model::Goroutines => {
            let runtime = crate::bench::goroutines::runtime(options.cores)?;
            let (before, (released, at_rest)) = runtime.run(move || {
                let before = rss_bytes();
                (before, idle_memory::goroutines(count, rss_bytes))
            });
            (released, before, at_rest)
        }
        Model::AsyncioLoop => asyncio_loop(count),
        Model::GilThreads => {
            count /= super::spawn::OS_THREAD_DIVISOR;
            gil_threads(count)
        }
        Model::Procpool => {
            count = options.cores as u64;
            return procpool(figures, count);
        }
        Model::UvLoop => uv_loop(count),
    };
    figures.check(released, idle_memory::checksum(count))?;
    let growth = at_rest
        .map_err(memory)?
        .saturating_sub(before.map_err(memory)?);
    figures.add("tasks", count as f64, "count")?;
    figures.add("bytes_per_task", growth as f64 / count as f64, "B")?;
    Ok(figures.done())
}

type Rss = std::io::Result<u64>;

/// `count` tasks awaiting one future on a new loop; VmRSS before they start and while they all
/// wait; then the future completes and every task is awaited. Returns the tasks that finished.
fn asyncio_loop(count: u64) -> (u64, Rss, Rss) {
    let before = rss_bytes();
    let outcome = asyncio_loop::run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let gate = event_loop.create_future::<()>();
        let tasks: Vec<_> = (0..count)
            .map(|_| event_loop.create_task(gate.clone()))
            .collect();
        // One pass runs every task's first step: each is then waiting on the gate.
        asyncio_loop::sleep(0.0).await?;
        let at_rest = rss_bytes().map_err(Error::exception)?;
        let _ = gate.set_result(());
        let mut released = 0;
        for task in tasks {
            released += u64::from(task.await.is_ok());
        }
        Ok((released, at_rest))
    });
    match outcome {
        Ok((released, at_rest)) => (released, before, Ok(at_rest)),
        Err(error) => (0, before, Err(std::io::Error::other(error.to_string()))),
    }
}

/// `count` Python threads waiting on one event (a mutex and condvar, waited on with the GIL
/// released, as `threading.Event.wait` does); VmRSS before and once all wait; then the event is
/// set and every thread joined. Returns the threads that finished.
fn gil_threads(count: u64) -> (u64, Rss, Rss) {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Condvar, Mutex};

    let before = rss_bytes();
    let interpreter = gil_threads::Interpreter::new(gil_threads::GilMode::On);
    let event = Arc::new((Mutex::new(false), Condvar::new()));
    let waiting = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..count)
        .filter_map(|_| {
            let (event, waiting) = (Arc::clone(&event), Arc::clone(&waiting));
            interpreter
                .spawn(move |py| {
                    py.allow_threads(|| {
                        let (set, changed) = &*event;
                        let mut set = set.lock().unwrap_or_else(|e| e.into_inner());
                        waiting.fetch_add(1, Ordering::Relaxed);
                        while !*set {
                            set = changed.wait(set).unwrap_or_else(|e| e.into_inner());
                        }
                    })
                })
                .ok()
        })
        .collect();
    let started = handles.len() as u64;
    while waiting.load(Ordering::Relaxed) < started {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let at_rest = rss_bytes();
    {
        let (set, changed) = &*event;
        *set.lock().unwrap_or_else(|e| e.into_inner()) = true;
        changed.notify_all();
    }
    let released = handles
        .into_iter()
        .map(|h| u64::from(h.join().is_ok()))
        .sum();
    (released, before, at_rest)
}

procpool::task! {
    /// A task that makes sure a worker has started and served once.
    pub fn worker_ready(_index: u64) -> u64 { 1 }
}

/// `Pool(count)` with every worker up and idle: the mean PSS of the workers.
fn procpool(
    mut figures: Figures,
    count: u64,
) -> Result<Vec<probe::result::ResultLine>, ExperimentError> {
    let pool = procpool::Pool::new(count as usize).map_err(ExperimentError::runtime)?;
    pool.map(worker_ready, 0..count, Some(1))
        .map_err(ExperimentError::runtime)?;
    let sizes = super::procs::children_pss()
        .map_err(|error| ExperimentError::Model(crate::bench::BenchError::Memory(error)))?;
    figures.check(sizes.len() as u64, count)?;
    let total: u64 = sizes.iter().sum();
    figures.add("tasks", count as f64, "count")?;
    figures.add("bytes_per_task", total as f64 / count as f64, "B")?;
    Ok(figures.done())
}

/// `count` async functions awaiting one promise on a new uv-loop; VmRSS before and once all are
/// waiting (read in an immediate, after main's microtasks ran every function to its await);
/// then the promise is resolved. Returns the functions that finished.
fn uv_loop(count: u64) -> (u64, Rss, Rss) {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use uv_loop::{call_async, set_immediate, Promise};

    let before = rss_bytes();
    let at_rest = Rc::new(RefCell::new(None));
    let released = Rc::new(Cell::new(0));
    let (measured, finished) = (at_rest.clone(), released.clone());
    let ran = uv_loop::run(move || {
        let (gate, opener) = Promise::<()>::with_resolvers();
        for _ in 0..count {
            let (gate, finished) = (gate.clone(), finished.clone());
            call_async(async move {
                gate.await?;
                finished.set(finished.get() + 1);
                Ok(())
            });
        }
        set_immediate(move || {
            *measured.borrow_mut() = Some(rss_bytes());
            opener.resolve(());
        });
    });
    let at_rest = at_rest
        .take()
        .unwrap_or_else(|| Err(std::io::Error::other("the loop ended before all waited")));
    match ran {
        Ok(()) => (released.get(), before, at_rest),
        Err(error) => (0, before, Err(std::io::Error::other(error.to_string()))),
    }
}
