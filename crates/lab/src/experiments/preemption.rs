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
//! waits for the whole spin (asyncio: two tasks; uv-loop: a `setTimeout` chain and the hog in a
//! `setImmediate` callback).
//!
//! gil-threads runs the hog as a pure-Python loop runs, with the interpreter's check point at
//! every back-edge: the ticker, asleep with the GIL released, asks for it when it wakes, and
//! gets it one switch interval (5 ms) later, when the hog's next check drops it.
//!
//! procpool runs the hog in a worker process and the ticker in the parent, both pinned to one
//! CPU: the ticker gets in when the OS scheduler preempts the worker.
//!
//! The `blocking` experiment is the same with a 200 ms blocking call (`std::thread::sleep`, a
//! system call the model was not told about) in place of the spin: what one blocking call does
//! to the others. Its figures are `worst_tick_delay_ms` and `call_ms`. gil-threads makes the call
//! as CPython's `time.sleep` does, with the GIL released.

use std::time::Duration;

use gil_threads::GilMode;

use super::{ExperimentError, Figures, Options};
use crate::model::Model;
use crate::workloads::hog_fairness;

/// How long the hog spins.
pub fn hog_ms(options: &Options) -> u64 {
    if options.quick {
        100
    } else {
        200
    }
}

/// How long the blocking call blocks.
pub const BLOCKING_CALL: Duration = Duration::from_millis(200);

/// What the task beside the ticker does.
#[derive(Clone, Copy)]
pub(super) enum Busy {
    /// Spins with no yield point.
    Spin,
    /// Makes one blocking system call.
    Block,
}

fn busy(kind: Busy, lasts: Duration) -> impl FnOnce() -> Duration + Send + 'static {
    move || match kind {
        Busy::Spin => hog_fairness::spin(lasts),
        Busy::Block => blocking_call(|| std::thread::sleep(lasts)),
    }
}

/// Makes the blocking call `call` and returns how long it took; a trace being recorded gets
/// its begin and end (`blocking call begin` / `end` instants), which the report's timeline
/// marks.
fn blocking_call(call: impl FnOnce()) -> Duration {
    probe::trace::record(probe::trace::EventKind::Instant {
        name: BLOCKING_CALL_BEGIN,
    });
    let started = std::time::Instant::now();
    call();
    let took = started.elapsed();
    probe::trace::record(probe::trace::EventKind::Instant {
        name: BLOCKING_CALL_END,
    });
    took
}

/// The instant a traced blocking call begins (see [`crate::report`]'s timelines).
pub const BLOCKING_CALL_BEGIN: &str = "blocking call begin";
/// The instant it ends.
pub const BLOCKING_CALL_END: &str = "blocking call end";

pub(super) fn run(
    mut figures: Figures,
    options: &Options,
    kind: Busy,
) -> Result<Vec<probe::result::ResultLine>, ExperimentError> {
    let lasts = match kind {
        Busy::Spin => Duration::from_millis(hog_ms(options)),
        Busy::Block => BLOCKING_CALL,
    };
    let outcome = match figures.model {
        Model::Goroutines => {
            let runtime = crate::bench::goroutines::runtime(1)?;
            super::sched_counters::run(&runtime, move || {
                hog_fairness::goroutines_beside_ticker(lasts, busy(kind, lasts))
            })
        }
        Model::AsyncioLoop => hog_fairness::asyncio_loop_beside_ticker(lasts, busy(kind, lasts)),
        Model::GilThreads => {
            hog_fairness::gil_threads_beside_ticker(GilMode::On, lasts, move |py| match kind {
                Busy::Spin => hog_fairness::spin_with_checks(py, lasts),
                // `time.sleep` in CPython releases the GIL around the system call.
                Busy::Block => blocking_call(|| py.sleep(lasts)),
            })
        }
        Model::Procpool => procpool(kind, lasts)?,
        Model::UvLoop => hog_fairness::uv_loop_beside_ticker(lasts, busy(kind, lasts)),
    };
    figures.check(outcome.checksum, hog_fairness::checksum(0))?;
    figures.add(
        "worst_tick_delay_ms",
        outcome.worst_tick_delay.as_secs_f64() * 1e3,
        "ms",
    )?;
    figures.add(
        "tick_delay_p50_ms",
        outcome.tick_delay_p50.as_secs_f64() * 1e3,
        "ms",
    )?;
    figures.add(
        "tick_delay_p99_ms",
        outcome.tick_delay_p99.as_secs_f64() * 1e3,
        "ms",
    )?;
    let busy_metric = match kind {
        Busy::Spin => "hog_ms",
        Busy::Block => "call_ms",
    };
    figures.add(busy_metric, outcome.spun.as_secs_f64() * 1e3, "ms")?;
    figures.add("ticks", outcome.ticks as f64, "count")?;
    Ok(figures.done())
}

procpool::task! {
    /// The busy task of the preemption experiments in a worker process: spins (`spin`) or makes
    /// one blocking call for `ms` milliseconds; returns how long it took, in nanoseconds.
    pub fn busy_in_worker(spin: bool, ms: u64) -> u64 {
        let lasts = Duration::from_millis(ms);
        let took = if spin {
            hog_fairness::spin(lasts)
        } else {
            let started = std::time::Instant::now();
            std::thread::sleep(lasts);
            started.elapsed()
        };
        u64::try_from(took.as_nanos()).unwrap_or(u64::MAX)
    }
}

/// The busy task in a worker of `Pool(1)`, the ticker in this process, both on CPU 0.
fn procpool(kind: Busy, lasts: Duration) -> Result<hog_fairness::Outcome, ExperimentError> {
    super::procs::pin_to_one_cpu().map_err(ExperimentError::runtime)?;
    let pool = procpool::Pool::new(1).map_err(ExperimentError::runtime)?;
    let ms = u64::try_from(lasts.as_millis()).unwrap_or(u64::MAX);
    let busy = pool
        .apply_async(busy_in_worker, (matches!(kind, Busy::Spin), ms))
        .map_err(ExperimentError::runtime)?;
    let mut ticks = hog_fairness::Ticks::default();
    while !busy.ready() {
        let t0 = std::time::Instant::now();
        std::thread::sleep(hog_fairness::TICK);
        ticks.record(t0.elapsed(), Duration::ZERO);
    }
    let spun_ns = busy.get(None).map_err(ExperimentError::runtime)?;
    let spun = Duration::from_nanos(spun_ns);
    Ok(hog_fairness::outcome(Some(spun), lasts, Some(ticks), true))
}
