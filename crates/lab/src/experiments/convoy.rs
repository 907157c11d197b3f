//! convoy: what one CPU-bound task does to a task making blocking I/O round trips beside it,
//! each written as the model's users write them (the `convoy` workload, whose essay has every
//! model's runner).
//!
//! ```text
//!   alone     R round trips to an echo server that sleeps 0.5 ms before each reply
//!   loaded    the same R beside one CPU-bound task of the model, started first
//!   figures   round_trips (R), ms_per_rt_alone, ms_per_rt_loaded, slowdown (loaded / alone)
//! ```
//!
//! Under a GIL the I/O task releases it for each blocking call and must take it back from the
//! spinner when the reply comes: one switch interval (5 ms) per call, Beazley's convoy effect
//! (CPython 3.11 here: 0.72 ms per round trip alone, 7.29 ms beside a spinning thread). asyncio
//! suffers it too, since CPython's loop releases the GIL only in select and its CPU work runs in
//! `run_in_executor`'s thread. Where the CPU task runs on another core, in another process or
//! another isolate (goroutines with one P per core, a pool worker, a Node worker) the round trip
//! keeps its time.

use super::{ExperimentError, Figures, Options};
use crate::model::Model;
use crate::workloads::convoy::{self, Outcome};

/// Round trips per phase.
pub fn rounds(options: &Options) -> u64 {
    if options.quick {
        40
    } else {
        convoy::ROUNDS
    }
}

/// CPython's default switch interval, which the gil-threads runner keeps.
const SWITCH_INTERVAL: f64 = 0.005;

pub(super) fn run(
    mut figures: Figures,
    options: &Options,
) -> Result<Vec<probe::result::ResultLine>, ExperimentError> {
    let rounds = rounds(options);
    let phases = |run: &dyn Fn(bool) -> std::io::Result<Outcome>| {
        let alone = run(false)?;
        let loaded = run(true)?;
        Ok::<_, std::io::Error>((alone, loaded))
    };
    let measured = match figures.model {
        Model::Goroutines => {
            let runtime = crate::bench::goroutines::runtime(options.cores)?;
            runtime.run(move || {
                let alone = convoy::goroutines(rounds, false)?;
                let loaded = convoy::goroutines(rounds, true)?;
                Ok((alone, loaded))
            })
        }
        Model::Procpool => {
            let pool = procpool::Pool::new(1).map_err(ExperimentError::runtime)?;
            phases(&|spinner| convoy::procpool(&pool, rounds, spinner))
        }
        Model::GilThreads => {
            phases(&|spinner| convoy::gil_threads(rounds, SWITCH_INTERVAL, spinner))
        }
        Model::AsyncioLoop => phases(&|spinner| convoy::asyncio_loop(rounds, spinner)),
        Model::UvLoop => phases(&|spinner| convoy::uv_loop(rounds, spinner)),
    };
    let (alone, loaded) = measured.map_err(ExperimentError::runtime)?;
    figures.check(alone.checksum, convoy::checksum(rounds))?;
    figures.check(loaded.checksum, convoy::checksum(rounds))?;
    let ms = |outcome: Outcome| outcome.per_round_trip.as_secs_f64() * 1e3;
    figures.add("round_trips", rounds as f64, "count")?;
    figures.add("ms_per_rt_alone", ms(alone), "ms")?;
    figures.add("ms_per_rt_loaded", ms(loaded), "ms")?;
    figures.add("slowdown", ms(loaded) / ms(alone).max(1e-9), "x")?;
    Ok(figures.done())
}
