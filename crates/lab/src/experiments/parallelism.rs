//! parallelism: the cpu-parallel job (see [`crate::workloads::cpu_parallel`]) on W = 1 .. cores
//! workers, each worker count timed on its own, best of the repetitions.
//!
//! ```text
//!   W workers, one shared counter of chunks:  loop { c = next(); if c == chunks: stop; sum += chunk(c) }
//!   speedup_wW = wall_ms_w1 / wall_ms_wW
//! ```
//!
//! The workers are what each model's users would write: goroutines on a runtime with W Ps;
//! W asyncio tasks that `await sleep(0)` between chunks (the loop's only way to share the
//! thread); W Python threads whose loop checks the eval breaker at every back-edge, as CPython's
//! bytecode loop does; `Pool(W).map` over the chunks (the pool's start-up included, as `with
//! Pool(W) as p: p.map(...)` pays it); W async functions on Node's loop that yield with
//! `await new Promise(r => setImmediate(r))` between chunks. A model with real parallelism approaches W×; one thread shared by every task stays
//! at 1×. The best of the repetitions is kept, since a 2-core machine's noise only ever adds time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use asyncio_loop::{Error, EventLoop};
use goroutines::go;

use super::{ExperimentError, Figures, Options};
use crate::model::Model;
use crate::workloads::cpu_parallel::{self, checksum, chunk};

/// Chunks of the job (about 1 ms each on this machine's cores), and repetitions per worker count.
fn size(options: &Options) -> (u64, usize) {
    if options.quick {
        (32, 3)
    } else {
        (128, 5)
    }
}

pub(super) fn run(
    mut figures: Figures,
    options: &Options,
) -> Result<Vec<probe::result::ResultLine>, ExperimentError> {
    let (chunks, reps) = size(options);
    let want = checksum(chunks);
    let counts: Vec<usize> = (1..=options.cores.max(1)).collect();
    let mut best = vec![Duration::MAX; counts.len()];
    // Repetitions go round the worker counts in turn, so a burst of load from elsewhere on the
    // machine falls on all of them alike; the best of each is kept.
    for _ in 0..reps {
        for (slot, &workers) in best.iter_mut().zip(&counts) {
            let started = Instant::now();
            let got = match figures.model {
                Model::Goroutines => goroutines(chunks, workers)?,
                Model::AsyncioLoop => asyncio_loop(chunks, workers),
                Model::GilThreads => {
                    cpu_parallel::gil_threads(chunks, workers, gil_threads::GilMode::On)
                }
                Model::Procpool => cpu_parallel::procpool(chunks, workers),
                Model::UvLoop => uv_loop(chunks, workers),
            };
            *slot = (*slot).min(started.elapsed());
            figures.check(got, want)?;
        }
    }
    let base_ms = best[0].as_secs_f64() * 1e3;
    for (wall, workers) in best.iter().zip(counts) {
        let wall_ms = wall.as_secs_f64() * 1e3;
        figures.add(&format!("wall_ms_w{workers}"), wall_ms, "ms")?;
        figures.add(&format!("speedup_w{workers}"), base_ms / wall_ms, "x")?;
    }
    Ok(figures.done())
}

/// W goroutines on a runtime with W Ps.
fn goroutines(chunks: u64, workers: usize) -> Result<u64, ExperimentError> {
    let runtime = crate::bench::goroutines::runtime(workers)?;
    Ok(super::sched_counters::run(&runtime, move || {
        let next = Arc::new(AtomicU64::new(0));
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let next = Arc::clone(&next);
                go(move || {
                    let mut sum = 0;
                    loop {
                        let c = next.fetch_add(1, Ordering::Relaxed);
                        if c >= chunks {
                            return sum;
                        }
                        sum += chunk(c);
                    }
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).sum()
    }))
}

/// W asyncio tasks on one event loop, yielding between chunks.
fn asyncio_loop(chunks: u64, workers: usize) -> u64 {
    asyncio_loop::run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let next = std::rc::Rc::new(std::cell::Cell::new(0));
        let tasks: Vec<_> = (0..workers)
            .map(|_| {
                let next = next.clone();
                event_loop.create_task(async move {
                    let mut sum = 0;
                    loop {
                        let c = next.get();
                        if c >= chunks {
                            return Ok(sum);
                        }
                        next.set(c + 1);
                        sum += chunk(c);
                        asyncio_loop::sleep(0.0).await?;
                    }
                })
            })
            .collect();
        let mut sum = 0;
        for task in tasks {
            sum += task.await?;
        }
        Ok(sum)
    })
    .unwrap_or(0)
}

/// W async functions on one uv-loop, yielding to the loop between chunks.
fn uv_loop(chunks: u64, workers: usize) -> u64 {
    use uv_loop::{call_async, set_immediate, Promise};
    let next = std::rc::Rc::new(std::cell::Cell::new(0));
    let sum = std::rc::Rc::new(std::cell::Cell::new(0));
    let (next_in, sum_in) = (next.clone(), sum.clone());
    let ran = uv_loop::run(move || {
        for _ in 0..workers {
            let (next, sum) = (next_in.clone(), sum_in.clone());
            call_async(async move {
                loop {
                    let c = next.get();
                    if c >= chunks {
                        return Ok(());
                    }
                    next.set(c + 1);
                    sum.set(sum.get() + chunk(c));
                    let (turn, resolver) = Promise::with_resolvers();
                    set_immediate(move || resolver.resolve(()));
                    turn.await?;
                }
            });
        }
    });
    if ran.is_ok() {
        sum.get()
    } else {
        0
    }
}
