//! spawn: what starting one task costs. N empty tasks are started, then all are joined; the
//! figure is the wall time over N.
//!
//! goroutines: `go` with a join handle each, on a P per core (the `spawn` workload); asyncio:
//! `create_task` of an empty coroutine, then each task awaited.

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
    let count = tasks(options);
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
        _ => return Err(figures.not_yet()),
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
