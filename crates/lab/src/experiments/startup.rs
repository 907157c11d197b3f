//! startup: how long a model takes from nothing to its first task's result, in a fresh process.
//!
//! goroutines: build a runtime (its Ps, threads and sysmon) and run one goroutine; asyncio: a
//! new loop runs one coroutine (`asyncio.run`); gil-threads: an interpreter and one Python
//! thread, joined; procpool: `Pool(2)` (fork) and one task's result from a worker; uv-loop: a
//! loop (its thread pool included) that runs one immediate. The figure is the first time, cold: a process's
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
        Model::GilThreads => gil_threads::Interpreter::new(gil_threads::GilMode::On)
            .spawn(|_| 42u64)
            .ok()
            .and_then(|thread| thread.join().ok())
            .unwrap_or(0),
        Model::Procpool => procpool::Pool::new(2)
            .ok()
            .and_then(|pool| pool.apply_async(first_answer, ()).ok()?.get(None).ok())
            .unwrap_or(0),
        Model::UvLoop => {
            let answer = std::rc::Rc::new(std::cell::Cell::new(0));
            let set = answer.clone();
            match uv_loop::run(move || {
                uv_loop::set_immediate(move || set.set(42));
            }) {
                Ok(()) => answer.get(),
                Err(_) => 0,
            }
        }
    };
    let elapsed = started.elapsed();
    figures.check(answer, 42)?;
    figures.add("startup_us", elapsed.as_secs_f64() * 1e6, "us")?;
    Ok(figures.done())
}

procpool::task! {
    /// The first task of the startup experiment.
    pub fn first_answer(_unit: ()) -> u64 { 42 }
}
