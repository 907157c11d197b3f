//! spawn: what starting one task costs. N empty tasks are started, then all are joined; the
//! figure is the wall time over N.
//!
//! goroutines: `go` with a join handle each, on a P per core (the `spawn` workload); asyncio:
//! `create_task` of an empty coroutine, then each task awaited; gil-threads: a Python thread
//! each (an OS thread that takes the GIL to start), ten times fewer of them; procpool: a pool
//! of [`PROCESSES`] workers (fork), each running one empty task, closed and joined: a process
//! started, used and ended per task; uv-loop: an async function call each, awaited together
//! (`Promise.all`).

use std::time::Instant;

use asyncio_loop::{Error, EventLoop};

use super::{ExperimentError, Figures, Options};
use crate::model::Model;
use crate::workloads::spawn;

/// Tasks started.
pub fn tasks(options: &Options) -> u64 {
    if options.quick {
        20_000
    } else {
        200_000
    }
}

pub(super) fn run(
    mut figures: Figures,
    options: &Options,
) -> Result<Vec<probe::result::ResultLine>, ExperimentError> {
    let mut count = tasks(options);
    // The runtime is built before the clock starts: this is the cost of a task, not of a runtime.
    let (joined, elapsed) = match figures.model {
        Model::Goroutines => {
            let runtime = crate::bench::goroutines::runtime(options.cores)?;
            let started = Instant::now();
            (
                runtime.run(move || spawn::goroutines(count)),
                started.elapsed(),
            )
        }
        Model::AsyncioLoop => {
            let started = Instant::now();
            (asyncio_loop(count), started.elapsed())
        }
        Model::GilThreads => {
            // An OS thread each: ten times fewer.
            count /= OS_THREAD_DIVISOR;
            let started = Instant::now();
            (gil_threads(count), started.elapsed())
        }
        Model::Procpool => {
            count = PROCESSES;
            let started = Instant::now();
            (procpool(count), started.elapsed())
        }
        Model::UvLoop => {
            let started = Instant::now();
            (uv_loop(count), started.elapsed())
        }
    };
    figures.check(joined, spawn::checksum(count))?;
    figures.add("tasks", count as f64, "count")?;
    figures.add(
        "ns_per_task",
        elapsed.as_nanos() as f64 / count as f64,
        "ns",
    )?;
    Ok(figures.done())
}

/// `count` tasks of an empty coroutine on a new loop, each awaited; returns how many finished.
fn asyncio_loop(count: u64) -> u64 {
    asyncio_loop::run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let tasks: Vec<_> = (0..count)
            .map(|_| event_loop.create_task(async { Ok(()) }))
            .collect();
        let mut joined = 0;
        for task in tasks {
            joined += u64::from(task.await.is_ok());
        }
        Ok(joined)
    })
    .unwrap_or(0)
}

/// Models whose tasks are OS threads or processes start this many times fewer.
pub const OS_THREAD_DIVISOR: u64 = 10;

/// `count` empty Python threads started from this thread, then joined.
fn gil_threads(count: u64) -> u64 {
    let interpreter = gil_threads::Interpreter::new(gil_threads::GilMode::On);
    let handles: Vec<_> = (0..count)
        .filter_map(|_| interpreter.spawn(|_| ()).ok())
        .collect();
    handles
        .into_iter()
        .map(|h| u64::from(h.join().is_ok()))
        .sum()
}

/// The processes procpool starts.
pub const PROCESSES: u64 = 16;

procpool::task! {
    /// The empty task of the spawn experiment.
    pub fn empty_task(_index: u64) -> u64 { 1 }
}

/// A pool of `count` workers, `count` empty tasks one per chunk, then close and join; returns
/// the tasks that ran (0 if the pool failed).
fn procpool(count: u64) -> u64 {
    let Ok(pool) = procpool::Pool::new(count as usize) else {
        return 0;
    };
    let ran = pool
        .map(empty_task, 0..count, Some(1))
        .map_or(0, |done| done.iter().sum());
    pool.close();
    if pool.join().is_err() {
        return 0;
    }
    ran
}

/// `count` calls of an empty async function; their promises awaited by one more. Returns how
/// many settled.
fn uv_loop(count: u64) -> u64 {
    use std::cell::Cell;
    use std::rc::Rc;
    let joined = Rc::new(Cell::new(0));
    let total = joined.clone();
    let ran = uv_loop::run(move || {
        let promises: Vec<_> = (0..count)
            .map(|_| uv_loop::call_async(async { Ok(()) }))
            .collect();
        uv_loop::call_async(async move {
            for promise in promises {
                promise.await?;
                total.set(total.get() + 1);
            }
            Ok(())
        });
    });
    if ran.is_ok() {
        joined.get()
    } else {
        0
    }
}
