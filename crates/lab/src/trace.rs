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
            // With the run queues and steals sampled into the trace, as the main job's traces.
            let measured = crate::experiments::sched_counters::sampled(&runtime, || {
                bench::goroutines::measure(&runtime, benchmark, size)
            });
            let events = probe::trace::stop();
            measured.map(|_| events)
        }
        Model::AsyncioLoop => {
            probe::trace::start();
            let measured = bench::asyncio_loop::measure(benchmark, size);
            let events = probe::trace::stop();
            measured.map(|_| events)
        }
        Model::UvLoop => {
            probe::trace::start();
            let measured = bench::uv_loop::measure(benchmark, size);
            let events = probe::trace::stop();
            measured.map(|_| events)
        }
        Model::GilThreads => {
            probe::trace::start();
            let measured = bench::gil_threads::measure(benchmark, procs, size);
            let events = probe::trace::stop();
            measured.map(|_| events)
        }
        // The parent's side (processes started and exited, frames sent and received) and each
        // worker's task runs, which the workers ship back in their replies while tracing.
        Model::Procpool => {
            probe::trace::start();
            let measured = bench::procpool::measure(benchmark, procs, size);
            let events = probe::trace::stop();
            measured.map(|_| events)
        }
    }
}
