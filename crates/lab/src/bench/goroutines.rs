//! Measuring the workloads on the `goroutines` runtime.
//!
//! Each measurement is one call of the workload's `goroutines` runner inside
//! [`Runtime::run`], timed from before the call to its return, so a figure includes starting the
//! main goroutine (a few microseconds, beside runs of tens of milliseconds and more).
//!
//! | benchmark     | figures                                                            |
//! | ------------- | ------------------------------------------------------------------ |
//! | skynet        | `wall_ms`                                                          |
//! | pingpong(-1p) | `ns_per_round_trip`: wall time / rounds                            |
//! | spawn         | `ns_per_goroutine`: wall time / goroutines                         |
//! | chan-mpmc     | `mmsg_per_s`: messages / wall time, in millions per second         |
//! | sleepers      | `wall_ms`, and `peak_rss_mib`: VmHWM after the run                 |
//! | idle-memory   | `bytes_per_goroutine`: VmRSS growth while all are parked / count   |
//! | yield(-1p)    | `ns_per_yield`: wall time / yields                                 |
//! | hog-fairness  | `worst_tick_delay_ms`: the latest a 1 ms tick came, beyond 1 ms     |
//! | blocking-handoff | `throughput_ratio`: ping-pong rate during the call / without it |
//!
//! The echo benchmarks do not run here: see `bench::echo`.

use std::time::{Duration, Instant};

use goroutines::{Builder, Runtime};
use probe::result::ResultLine;
use probe::threads::rss_bytes;

use super::{BenchError, Benchmark};
use crate::model::Model;
use crate::workloads::{
    blocking_handoff, chan_mpmc, hog_fairness, idle_memory, pingpong, skynet, sleepers, spawn,
    yield_now, Workload,
};

/// Builds a runtime with `procs` Ps for the workloads.
pub fn runtime(procs: usize) -> Result<Runtime, BenchError> {
    // SAFETY: the lab runs only its own workloads on this runtime, and they hold no thread-local
    // references, no std guards and nothing tied to an OS thread across a blocking call of the
    // goroutines crate: between such calls they own only channel ends, join handles and integers.
    unsafe { Builder::new().procs(procs).build() }
        .map_err(|error| BenchError::Runtime(error.into()))
}

/// Runs `benchmark`'s workload once at `size` on `runtime`, checks its checksum and returns its
/// figures.
pub fn measure(
    runtime: &Runtime,
    benchmark: &Benchmark,
    size: u64,
) -> Result<Vec<ResultLine>, BenchError> {
    let figure = |metric: &str, value: f64, unit: &str| {
        super::figure(Model::Goroutines, benchmark, metric, value, unit)
    };
    let per_item_ns = |elapsed: Duration| elapsed.as_nanos() as f64 / size as f64;
    let timed = |runner: fn(u64) -> u64| {
        let started = Instant::now();
        let checksum = runtime.run(move || runner(size));
        let elapsed = started.elapsed();
        verify(benchmark, size, checksum).map(|()| elapsed)
    };
    match benchmark.workload {
        Workload::Skynet => {
            let elapsed = timed(skynet::goroutines)?;
            Ok(vec![figure("wall_ms", milliseconds(elapsed), "ms")?])
        }
        Workload::PingPong => {
            let elapsed = timed(pingpong::goroutines)?;
            Ok(vec![figure(
                "ns_per_round_trip",
                per_item_ns(elapsed),
                "ns",
            )?])
        }
        Workload::Spawn => {
            let elapsed = timed(spawn::goroutines)?;
            Ok(vec![figure(
                "ns_per_goroutine",
                per_item_ns(elapsed),
                "ns",
            )?])
        }
        Workload::ChanMpmc => {
            let elapsed = timed(chan_mpmc::goroutines)?;
            let per_second = size as f64 / elapsed.as_secs_f64() / 1e6;
            Ok(vec![figure("mmsg_per_s", per_second, "Mmsg/s")?])
        }
        Workload::Sleepers => {
            let elapsed = timed(sleepers::goroutines)?;
            super::sleepers_figures(Model::Goroutines, benchmark, elapsed)
        }
        Workload::IdleMemory => {
            let (before, (released, at_rest)) = runtime.run(move || {
                let before = rss_bytes();
                (before, idle_memory::goroutines(size, rss_bytes))
            });
            verify(benchmark, size, released)?;
            let before = before.map_err(BenchError::Memory)?;
            let at_rest = at_rest.map_err(BenchError::Memory)?;
            let per_goroutine = at_rest.saturating_sub(before) as f64 / size as f64;
            Ok(vec![figure("bytes_per_goroutine", per_goroutine, "B")?])
        }
        Workload::Yield => {
            let elapsed = timed(yield_now::goroutines)?;
            Ok(vec![figure("ns_per_yield", per_item_ns(elapsed), "ns")?])
        }
        Workload::HogFairness => {
            let outcome = runtime.run(move || hog_fairness::goroutines(size));
            verify(benchmark, size, outcome.checksum)?;
            eprintln!(
                "bench: {}: hog spun {:.0} ms, ticker ticked {} times",
                benchmark.name,
                milliseconds(outcome.spun),
                outcome.ticks
            );
            Ok(vec![figure(
                "worst_tick_delay_ms",
                milliseconds(outcome.worst_tick_delay),
                "ms",
            )?])
        }
        Workload::BlockingHandoff => {
            let outcome = runtime.run(move || blocking_handoff::goroutines(size));
            verify(benchmark, size, outcome.checksum)?;
            eprintln!(
                "bench: {}: {:.0} round trips/s without the call, {:.0} during it",
                benchmark.name, outcome.baseline_per_s, outcome.during_per_s
            );
            Ok(vec![figure("throughput_ratio", outcome.ratio(), "ratio")?])
        }
        Workload::Echo => Err(BenchError::NotInProcess {
            benchmark: benchmark.name,
        }),
        Workload::CallSoonChain
        | Workload::CpuParallel
        | Workload::Convoy
        | Workload::MapChunksize
        | Workload::Startup
        | Workload::ImmediateChain
        | Workload::PromiseChain
        | Workload::Pbkdf2Pool => Err(BenchError::Unsupported {
            model: Model::Goroutines.name(),
            benchmark: benchmark.name,
        }),
    }
}

pub(crate) const MIB: f64 = 1024.0 * 1024.0;

pub(crate) fn milliseconds(elapsed: Duration) -> f64 {
    elapsed.as_nanos() as f64 / 1e6
}

/// Fails unless `checksum` is the workload's documented checksum at `size`.
pub(crate) fn verify(benchmark: &Benchmark, size: u64, checksum: u64) -> Result<(), BenchError> {
    let want = benchmark.workload.checksum(size);
    if checksum == want {
        Ok(())
    } else {
        Err(BenchError::Checksum {
            benchmark: benchmark.name,
            size,
            got: checksum,
            want,
        })
    }
}
