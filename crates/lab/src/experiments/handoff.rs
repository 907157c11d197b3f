//! handoff: what it costs to hand one tiny task to another worker and get its result back, the
//! way each model's users do it when work must leave the current task's thread or process.
//!
//! ```text
//!   goroutines    a worker goroutine, on a P per core: request and reply over two unbuffered
//!                 channels (the pingpong workload)
//!   procpool      pool.map(f, items, chunksize=1) over Pool(cores): a frame out, a frame back
//!   gil-threads   a worker thread: queue.put / queue.get, the GIL changing hands each way
//!                 (switching's round trip)
//!   asyncio-loop  await loop.run_in_executor(None, f): a pool thread, woken back via the loop
//!   uv-loop       queue_work(f, after) (uv_queue_work): a pool thread, completion in poll
//! ```
//!
//! Figure: `us_per_task`, the wall time over the tasks. They are handed off one after another,
//! each awaited before the next, except procpool's, which `Pool.map` sends as its users send
//! them, all at once in chunks of one: the IPC cost per task that the essay's "heavy IPC" is
//! about (each task's argument and result serialized into a frame and through a socket). The
//! others hand the task over in shared memory.

use std::time::Instant;

use super::{ExperimentError, Figures, Options};
use crate::model::Model;
use crate::workloads::{pingpong, sum_below};

/// Tasks handed off.
pub fn tasks(options: &Options) -> u64 {
    if options.quick {
        2_000
    } else {
        20_000
    }
}

pub(super) fn run(
    mut figures: Figures,
    options: &Options,
) -> Result<Vec<probe::result::ResultLine>, ExperimentError> {
    let count = tasks(options);
    let (sum, elapsed) = match figures.model {
        Model::Goroutines => {
            let runtime = crate::bench::goroutines::runtime(options.cores)?;
            let started = Instant::now();
            (
                runtime.run(move || pingpong::goroutines(count)),
                started.elapsed(),
            )
        }
        Model::Procpool => {
            let pool = procpool::Pool::new(options.cores).map_err(ExperimentError::runtime)?;
            let started = Instant::now();
            let values = pool
                .map(handed_off, 0..count, Some(1))
                .map_err(ExperimentError::runtime)?;
            (values.iter().sum(), started.elapsed())
        }
        Model::GilThreads => {
            let started = Instant::now();
            (super::switching::gil_round_trips(count), started.elapsed())
        }
        Model::AsyncioLoop => {
            let started = Instant::now();
            (asyncio_loop(count), started.elapsed())
        }
        Model::UvLoop => {
            let started = Instant::now();
            (uv_loop(count), started.elapsed())
        }
    };
    figures.check(sum, sum_below(count))?;
    figures.add("tasks", count as f64, "count")?;
    figures.add(
        "us_per_task",
        elapsed.as_secs_f64() * 1e6 / count as f64,
        "us",
    )?;
    Ok(figures.done())
}

procpool::task! {
    /// The tiny task of the handoff experiment: its argument back.
    pub fn handed_off(n: u64) -> u64 { n }
}

fn asyncio_loop(count: u64) -> u64 {
    asyncio_loop::run(async move {
        let event_loop =
            asyncio_loop::EventLoop::running().ok_or(asyncio_loop::Error::NoRunningLoop)?;
        let mut sum = 0;
        for n in 0..count {
            let future = event_loop
                .run_in_executor(move || n)
                .map_err(asyncio_loop::Error::exception)?;
            sum += future.await?;
        }
        Ok(sum)
    })
    .unwrap_or(0)
}

fn uv_loop(count: u64) -> u64 {
    use std::cell::Cell;
    use std::rc::Rc;
    fn next(n: u64, count: u64, sum: Rc<Cell<u64>>) {
        if n >= count {
            return;
        }
        uv_loop::queue_work(
            move || n,
            move |back| {
                sum.set(sum.get() + back);
                next(n + 1, count, sum);
            },
        );
    }
    let sum = Rc::new(Cell::new(0));
    let total = sum.clone();
    match uv_loop::run(move || next(0, count, total)) {
        Ok(()) => sum.get(),
        Err(_) => 0,
    }
}
