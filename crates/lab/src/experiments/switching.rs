//! switching: what one switch between tasks costs, measured two ways.
//!
//! ```text
//!   yield        one task gives way in a loop:       ns_per_yield       (Gosched; await sleep(0))
//!   round trip   two tasks hand a value back and forth: ns_per_round_trip (two switches)
//! ```
//!
//! goroutines runs both on one P, so the figures are the user-space switch alone, with no
//! thread wake-up in them. The event loops' "switch" is a pass of the loop: a task's step is a
//! callback in the ready queue.

use std::time::Instant;

use super::{ExperimentError, Figures, Options};
use crate::model::Model;
use crate::workloads::{pingpong, yield_now};

/// Yields and round trips per run.
fn size(options: &Options) -> (u64, u64) {
    if options.quick {
        (200_000, 50_000)
    } else {
        (2_000_000, 200_000)
    }
}

pub(super) fn run(
    mut figures: Figures,
    options: &Options,
) -> Result<Vec<probe::result::ResultLine>, ExperimentError> {
    let (yields, rounds) = size(options);
    let timed = |runner: &dyn Fn() -> u64| {
        let started = Instant::now();
        let got = runner();
        (got, started.elapsed().as_nanos() as f64)
    };
    let ((yielded, yield_ns), (bounced, round_trip_ns)) = match figures.model {
        Model::Goroutines => {
            let runtime = crate::bench::goroutines::runtime(1)?;
            (
                timed(&|| runtime.run(move || yield_now::goroutines(yields))),
                timed(&|| runtime.run(move || pingpong::goroutines(rounds))),
            )
        }
        Model::AsyncioLoop => (
            timed(&|| yield_now::asyncio_loop(yields)),
            timed(&|| pingpong::asyncio_loop(rounds)),
        ),
        _ => return Err(figures.not_yet()),
    };
    figures.check(yielded, yield_now::checksum(yields))?;
    figures.check(bounced, pingpong::checksum(rounds))?;
    figures.add("ns_per_yield", yield_ns / yields as f64, "ns")?;
    figures.add("ns_per_round_trip", round_trip_ns / rounds as f64, "ns")?;
    Ok(figures.done())
}
