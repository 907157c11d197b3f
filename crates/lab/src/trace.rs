//! Recording a scheduler trace of one benchmark.
//!
//! The benchmark's workload runs once at its trace size (small, so Perfetto stays responsive)
//! between `probe::trace::start` and `probe::trace::stop`. The runtime is built before the
//! recording starts, so the trace begins with the first goroutine; it is stopped once the main
//! goroutine has returned, so events of threads still on their way to sleep may be missing (see
//! `probe::trace`). The checksum is checked as in a benchmark.

use probe::trace::Event;

use crate::bench::{self, BenchError, Benchmark};
use crate::model::Model;

/// Runs `benchmark` once at its trace size on `model` with `procs` Ps (unless the benchmark fixes
/// its own) while recording, and returns the recorded events in time order.
pub fn record(
    model: Model,
    benchmark: &'static Benchmark,
    procs: usize,
) -> Result<Vec<Event>, BenchError> {
    let size = benchmark.workload.trace_size();
    let procs = benchmark.procs(procs);
    match model {
        Model::Goroutines => {
            let runtime = bench::goroutines::runtime(procs)?;
            probe::trace::start();
            let measured = bench::goroutines::measure(&runtime, benchmark, size);
            let events = probe::trace::stop();
            measured.map(|_| events)
        }
        // These record no probe events yet (issues 4, 5, 6): an empty trace would mislead.
        Model::AsyncioLoop | Model::UvLoop | Model::GilThreads | Model::Procpool => {
            Err(BenchError::NotTraced {
                model: model.name(),
            })
        }
    }
}
