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
//!
//! The `blocking` experiment is the same with a 200 ms blocking call (`std::thread::sleep`, a
//! system call the model was not told about) in place of the spin: what one blocking call does
//! to the others. Its figures are `worst_tick_delay_ms` and `call_ms`.

use std::time::Duration;

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
        Busy::Block => {
            let started = std::time::Instant::now();
            std::thread::sleep(lasts);
            started.elapsed()
        }
    }
}

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
            runtime.run(move || hog_fairness::goroutines_beside_ticker(lasts, busy(kind, lasts)))
        }
        Model::AsyncioLoop => hog_fairness::asyncio_loop_beside_ticker(lasts, busy(kind, lasts)),
        _ => return Err(figures.not_yet()),
    };
    figures.check(outcome.checksum, hog_fairness::checksum(0))?;
    figures.add(
        "worst_tick_delay_ms",
        outcome.worst_tick_delay.as_secs_f64() * 1e3,
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
