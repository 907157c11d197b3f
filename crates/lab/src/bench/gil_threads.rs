//! Measuring the workloads on the `gil-threads` runtime (issue 6).
//!
//! The names, metrics and units are the CPython peer's (`peers/python/bench_threads.py`, model
//! `cpython-threads`), so each line sits beside CPython's own in one table. Each measurement
//! builds fresh interpreters, so a figure includes starting and joining its threads.
//!
//! | benchmark          | figures                                                                 |
//! | ------------------ | ----------------------------------------------------------------------- |
//! | cpu-parallel       | `wall_ms_w1`, `wall_ms_w2`: the job on 1 and on 2 threads (GIL on);     |
//! |                    | `speedup_w2` = w1 / w2 (CPython: 0.92-1.0x; target <= 1.15x)            |
//! | cpu-parallel-nogil | the same with `gil=off` (PEP 703's contrast: about 2x on two cores)     |
//! | convoy             | `ms_per_round_trip_alone`, and beside a CPU-bound thread at the 5 ms    |
//! |                    | and 1 ms switch intervals: `ms_per_round_trip_cpu`, `..._cpu_1ms`        |

use gil_threads::GilMode;
use probe::result::ResultLine;

use super::goroutines::{milliseconds, verify};
use super::{benchmark, BenchError, Benchmark};
use crate::model::Model;
use crate::workloads::{convoy, cpu_parallel, Workload};

/// The gil-threads model's benchmarks, in the order `all` runs them.
pub const BENCHMARKS: &[Benchmark] = &[
    Benchmark {
        procs: Some(2),
        ..benchmark(
            "cpu-parallel",
            Workload::CpuParallel,
            "64 chunks x 1,000,000 LCG steps on 1 then 2 Python threads, GIL on: speedup_w2",
        )
    },
    Benchmark {
        procs: Some(2),
        ..benchmark(
            "cpu-parallel-nogil",
            Workload::CpuParallel,
            "cpu-parallel with gil=off (free threading): speedup_w2",
        )
    },
    benchmark(
        "convoy",
        Workload::Convoy,
        "200 I/O round trips (0.5 ms server delay) alone and beside a CPU thread: ms_per_round_trip",
    ),
];

/// Runs `benchmark`'s workload once at `size` with `procs` worker threads, checks its checksum
/// and returns its figures.
pub fn measure(
    benchmark: &'static Benchmark,
    procs: usize,
    size: u64,
) -> Result<Vec<ResultLine>, BenchError> {
    let figure = |metric: &str, value: f64, unit: &str| {
        super::figure(Model::GilThreads, benchmark, metric, value, unit)
    };
    match benchmark.workload {
        Workload::CpuParallel => {
            let mode = if benchmark.name.ends_with("-nogil") {
                GilMode::Off
            } else {
                GilMode::On
            };
            super::speedup_figures(
                Model::GilThreads,
                benchmark,
                size,
                procs,
                |size, workers| cpu_parallel::gil_threads(size, workers, mode),
            )
        }
        Workload::Convoy => {
            let run = |interval: f64, spinner: bool| {
                let outcome = convoy::gil_threads(size, interval, spinner)
                    .map_err(|error| BenchError::Runtime(error.into()))?;
                verify(benchmark, size, outcome.checksum)
                    .map(|()| milliseconds(outcome.per_round_trip))
            };
            Ok(vec![
                figure("ms_per_round_trip_alone", run(0.005, false)?, "ms")?,
                figure("ms_per_round_trip_cpu", run(0.005, true)?, "ms")?,
                figure("ms_per_round_trip_cpu_1ms", run(0.001, true)?, "ms")?,
            ])
        }
        _ => Err(BenchError::Unsupported {
            model: Model::GilThreads.name(),
            benchmark: benchmark.name,
        }),
    }
}
