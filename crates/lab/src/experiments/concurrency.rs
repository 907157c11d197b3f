//! concurrency: N waits of 100 ms started at once, and what the model needed to hold them.
//!
//! ```text
//!   t0: start N tasks, each:  begin[i] = now; wait 100 ms (the model's own sleep); end[i] = now
//!   in_flight_max = the most waits whose [begin, end) overlap at one instant
//!   wall_ms       = from t0 until the last task was joined (the floor is 100 ms)
//!   a sampler thread reads /proc every 5 ms: os_threads_max (itself not counted), processes_max
//! ```
//!
//! A model that runs every wait at once shows `in_flight_max` = N and a wall time near the floor;
//! one that can only run as many waits as it has workers shows the worker count, and a wall time
//! of N / workers × 100 ms. The thread and process counts are the "threads used" row: the same
//! N tasks on 1 thread (event loops), on a few (goroutines: Ps plus sysmon), on N (gil-threads:
//! a Python thread per wait, each sleeping with the GIL released, as `time.sleep` does).
//!
//! procpool runs `Pool(cores).map(wait, ..., chunksize=1)`: a worker sleeps through one wait at
//! a time, so only `cores` waits are ever in flight. It gets [`PROCPOOL_WAITS_PER_WORKER`] waits
//! per worker instead of N, or the run would take N / cores × 100 ms (50 s here).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use asyncio_loop::{Error, EventLoop};
use goroutines::{go, sleep};

use super::{procs, ExperimentError, Figures, Options};
use crate::model::Model;

/// How long each task waits.
pub const WAIT: Duration = Duration::from_millis(100);

/// How often the sampler reads `/proc`.
const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// The waits started at once.
pub fn tasks(options: &Options) -> u64 {
    if options.quick {
        2_000
    } else {
        10_000
    }
}

pub(super) fn run(
    mut figures: Figures,
    options: &Options,
) -> Result<Vec<probe::result::ResultLine>, ExperimentError> {
    let mut count = tasks(options);
    // The pool's workers start before the clock and the sampler: their start-up is `startup`'s.
    let pool = match figures.model {
        Model::Procpool => {
            count = PROCPOOL_WAITS_PER_WORKER * options.cores as u64;
            let pool = procpool::Pool::new(options.cores).map_err(ExperimentError::runtime)?;
            Some(pool)
        }
        _ => None,
    };
    let sampler = Sampler::start();
    let started = Instant::now();
    let spans = match figures.model {
        Model::Goroutines => goroutines(count)?,
        Model::AsyncioLoop => asyncio_loop(count),
        Model::GilThreads => gil_threads(count)?,
        Model::Procpool => procpool(pool.as_ref(), count)?,
        Model::UvLoop => uv_loop(count),
    };
    let wall = started.elapsed();
    let (threads, processes) = sampler.stop();
    figures.check(spans.len() as u64, count)?;
    figures.add("tasks", count as f64, "count")?;
    figures.add("wall_ms", wall.as_secs_f64() * 1e3, "ms")?;
    figures.add("floor_ms", WAIT.as_secs_f64() * 1e3, "ms")?;
    figures.add("in_flight_max", in_flight_max(&spans) as f64, "count")?;
    figures.add("os_threads_max", threads as f64, "count")?;
    figures.add("processes_max", processes as f64, "count")?;
    Ok(figures.done())
}

/// The most intervals `[begin, end)` that overlap at one instant.
pub fn in_flight_max(spans: &[(u64, u64)]) -> usize {
    let mut edges: Vec<(u64, i32)> = spans
        .iter()
        .flat_map(|&(begin, end)| [(begin, 1), (end, -1)])
        .collect();
    // Ends sort before begins at the same instant: touching intervals do not overlap.
    edges.sort_unstable();
    let (mut now, mut most) = (0i64, 0i64);
    for (_, step) in edges {
        now += i64::from(step);
        most = most.max(now);
    }
    most as usize
}

/// Reads the thread and process counts of this process until stopped.
struct Sampler {
    stop: Arc<AtomicBool>,
    handle: thread::JoinHandle<(usize, usize)>,
}

impl Sampler {
    fn start() -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = thread::spawn(move || {
            let (mut threads, mut processes) = (0, 0);
            while !flag.load(Ordering::Relaxed) {
                // The sampler itself is one of the threads.
                let now = probe::threads::os_threads().unwrap_or(1).saturating_sub(1);
                threads = threads.max(now);
                processes = processes.max(probe::threads::descendant_processes().unwrap_or(0));
                thread::sleep(SAMPLE_EVERY);
            }
            (threads, processes)
        });
        Sampler { stop, handle }
    }

    /// The most threads (besides the sampler) and descendant processes seen; 0 if it failed.
    fn stop(self) -> (usize, usize) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or((0, 0))
    }
}

fn nanos_since(base: Instant) -> u64 {
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// N goroutines on a runtime with a P per core.
fn goroutines(count: u64) -> Result<Vec<(u64, u64)>, ExperimentError> {
    let runtime = crate::bench::goroutines::runtime(probe::threads::available_parallelism())?;
    Ok(super::sched_counters::run(&runtime, move || {
        let base = Instant::now();
        let handles: Vec<_> = (0..count)
            .map(|_| {
                go(move || {
                    let begin = nanos_since(base);
                    sleep(WAIT);
                    (begin, nanos_since(base))
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    }))
}

/// N asyncio tasks on one loop.
fn asyncio_loop(count: u64) -> Vec<(u64, u64)> {
    let spans = Rc::new(RefCell::new(Vec::with_capacity(count as usize)));
    let recorded = spans.clone();
    let ran = asyncio_loop::run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let base = Instant::now();
        let tasks: Vec<_> = (0..count)
            .map(|_| {
                let spans = recorded.clone();
                event_loop.create_task(async move {
                    let begin = nanos_since(base);
                    asyncio_loop::sleep(WAIT.as_secs_f64()).await?;
                    spans.borrow_mut().push((begin, nanos_since(base)));
                    Ok(())
                })
            })
            .collect();
        for task in tasks {
            task.await?;
        }
        Ok(())
    });
    let spans = spans.take();
    if ran.is_ok() {
        spans
    } else {
        Vec::new()
    }
}

/// The waits procpool gets per worker.
pub const PROCPOOL_WAITS_PER_WORKER: u64 = 8;

procpool::task! {
    /// One wait of the concurrency experiment, in a worker process: when it began and ended on
    /// the machine's monotonic clock.
    pub fn concurrency_wait(_index: u64) -> (u64, u64) {
        let begin = procs::monotonic_ns();
        std::thread::sleep(WAIT);
        (begin, procs::monotonic_ns())
    }
}

/// `pool.map(wait, range(count), chunksize=1)` on the pool made before the clock started.
fn procpool(pool: Option<&procpool::Pool>, count: u64) -> Result<Vec<(u64, u64)>, ExperimentError> {
    let pool = pool.ok_or_else(|| ExperimentError::runtime("no pool was made"))?;
    pool.map(concurrency_wait, 0..count, Some(1))
        .map_err(ExperimentError::runtime)
}

/// N `setTimeout(f, 100)` on one uv-loop: a wait begins when its timer is armed.
fn uv_loop(count: u64) -> Vec<(u64, u64)> {
    let spans = Rc::new(RefCell::new(Vec::with_capacity(count as usize)));
    let recorded = spans.clone();
    let ran = uv_loop::run(move || {
        let base = Instant::now();
        for _ in 0..count {
            let spans = recorded.clone();
            let begin = nanos_since(base);
            uv_loop::set_timeout(
                move || spans.borrow_mut().push((begin, nanos_since(base))),
                WAIT.as_secs_f64() * 1e3,
            );
        }
    });
    let spans = spans.take();
    if ran.is_ok() {
        spans
    } else {
        Vec::new()
    }
}

/// N Python threads, each `time.sleep(0.1)` with the GIL released, started from this (unattached)
/// thread as `threading.Thread(...).start()` would start them.
fn gil_threads(count: u64) -> Result<Vec<(u64, u64)>, ExperimentError> {
    let interpreter = gil_threads::Interpreter::new(gil_threads::GilMode::On);
    let base = Instant::now();
    let mut handles = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let handle = interpreter
            .spawn(move |py| {
                let begin = nanos_since(base);
                py.sleep(WAIT);
                (begin, nanos_since(base))
            })
            .map_err(ExperimentError::runtime)?;
        handles.push(handle);
    }
    Ok(handles.into_iter().filter_map(|h| h.join().ok()).collect())
}

#[cfg(test)]
mod tests {
    use super::in_flight_max;

    #[test]
    fn overlap_counts_intervals_open_at_one_instant() {
        assert_eq!(in_flight_max(&[]), 0);
        assert_eq!(in_flight_max(&[(0, 10), (5, 15), (12, 20)]), 2);
        assert_eq!(
            in_flight_max(&[(0, 10), (10, 20)]),
            1,
            "touching is not overlapping"
        );
        assert_eq!(in_flight_max(&[(0, 100), (1, 99), (2, 98)]), 3);
    }
}
