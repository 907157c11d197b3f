//! startup: how long a model takes from nothing to its first task's result, in a fresh process.
//!
//! goroutines: build a runtime (its Ps, threads and sysmon) and run one goroutine; asyncio: a
//! new loop runs one coroutine (`asyncio.run`). The figure is the first time, cold: a process's
//! first runtime pays for its page faults and thread starts, as a program starting up does.

use std::time::Instant;

use super::{ExperimentError, Figures, Options};
use crate::model::Model;

pub(super) fn run(
    mut figures: Figures,
    options: &Options,
) -> Result<Vec<probe::result::ResultLine>, ExperimentError> {
    let started = Instant::now();
    let answer = match figures.model {
        Model::Goroutines => crate::bench::goroutines::runtime(options.cores)?.run(|| 42u64),
        Model::AsyncioLoop => asyncio_loop::run(async { Ok(42u64) }).unwrap_or(0),
        _ => return Err(figures.not_yet()),
    };
    let elapsed = started.elapsed();
    figures.check(answer, 42)?;
    figures.add("startup_us", elapsed.as_secs_f64() * 1e6, "us")?;
    Ok(figures.done())
}
