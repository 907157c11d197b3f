//! memory: what one waiting task weighs. N tasks are started and left waiting on one event;
//! the figure is the growth of the process's resident memory (VmRSS) while they all wait, over N.
//!
//! goroutines: the `idle-memory` workload (parked on one channel: a stack and a G each);
//! asyncio: tasks awaiting one shared future (a task, its coroutine's state, a done-callback).
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
    let count = tasks(options);
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
        _ => return Err(figures.not_yet()),
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
