//! preemption: a CPU hog with no yield point of its model's kind beside a task that wants to
//! tick every 1 ms, with one CPU's worth of runtime, so that only preemption can let the ticker
//! in. The figure is the ticker's worst delay.
//!
//! ```text
//!   ticker  wait 1 ms, wait 1 ms, ...        worst_tick_delay_ms = max(one wait's time - 1 ms)
//!   hog     spins `hog_ms` stepping an LCG   (no runtime call, no await, no Python check point
//!           reading the clock every 1,024    beyond what the interpreter itself would do)
//!           steps, then stops the ticker
//! ```
//!
//! goroutines runs it on one P (the `hog-fairness` workload): sysmon takes the P from the hog.
//! An event loop runs it on its one thread: nothing can interrupt a callback, so the ticker
//! waits for the whole spin.

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;
use std::time::{Duration, Instant};

use asyncio_loop::{Error, EventLoop};

use super::{ExperimentError, Figures, Options};
use crate::model::Model;
use crate::workloads::cpu_parallel::lcg;
use crate::workloads::hog_fairness;

/// How long the hog spins.
pub fn hog_ms(options: &Options) -> u64 {
    if options.quick {
        100
    } else {
        200
    }
}

pub(super) fn run(
    mut figures: Figures,
    options: &Options,
) -> Result<Vec<probe::result::ResultLine>, ExperimentError> {
    let spin_ms = hog_ms(options);
    let outcome = match figures.model {
        Model::Goroutines => {
            let runtime = crate::bench::goroutines::runtime(1)?;
            runtime.run(move || hog_fairness::goroutines(spin_ms))
        }
        Model::AsyncioLoop => asyncio_loop(spin_ms),
        _ => return Err(figures.not_yet()),
    };
    figures.check(outcome.checksum, hog_fairness::checksum(spin_ms))?;
    figures.add(
        "worst_tick_delay_ms",
        outcome.worst_tick_delay.as_secs_f64() * 1e3,
        "ms",
    )?;
    figures.add("hog_ms", outcome.spun.as_secs_f64() * 1e3, "ms")?;
    figures.add("ticks", outcome.ticks as f64, "count")?;
    Ok(figures.done())
}

/// Spins for `spin` with no call into any runtime; returns how long it spun.
pub fn spin(spin: Duration) -> Duration {
    let started = Instant::now();
    let mut x = 1u64;
    while started.elapsed() < spin {
        for _ in 0..1024 {
            x = black_box(lcg(x));
        }
    }
    started.elapsed()
}

/// The ticker and the hog as two asyncio tasks on one loop.
fn asyncio_loop(spin_ms: u64) -> hog_fairness::Outcome {
    let tick = hog_fairness::TICK.as_secs_f64();
    let outcome = asyncio_loop::run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let done = Rc::new(Cell::new(false));
        let ticker_done = done.clone();
        let ticker = event_loop.create_task(async move {
            let (mut worst, mut ticks, mut early) = (Duration::ZERO, 0u64, false);
            loop {
                let t0 = Instant::now();
                asyncio_loop::sleep(tick).await?;
                let took = t0.elapsed();
                // The loop compares times to the nanosecond: allow it one microsecond.
                early |= took + Duration::from_micros(1) < hog_fairness::TICK;
                worst = worst.max(took.saturating_sub(hog_fairness::TICK));
                ticks += 1;
                if ticker_done.get() {
                    return Ok((worst, ticks, early));
                }
            }
        });
        // The ticker's first step runs (and starts its first wait) before the hog's.
        let hog = event_loop.create_task(async move {
            let spun = spin(Duration::from_millis(spin_ms));
            done.set(true);
            Ok(spun)
        });
        let spun = hog.await?;
        let (worst, ticks, early) = ticker.await?;
        Ok(hog_fairness::Outcome {
            checksum: u64::from(spun >= Duration::from_millis(spin_ms))
                + u64::from(ticks > 0 && !early),
            worst_tick_delay: worst,
            ticks,
            spun,
        })
    });
    outcome.unwrap_or(hog_fairness::Outcome {
        checksum: 0,
        worst_tick_delay: Duration::ZERO,
        ticks: 0,
        spun: Duration::ZERO,
    })
}
