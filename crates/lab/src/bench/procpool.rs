//! Measuring the workloads on the `procpool` runtime (issue 6).
//!
//! The names, metrics and units are the CPython peer's (`peers/python/bench_mp.py`, model
//! `cpython-mp`), so each line sits beside CPython's own in one table. Every repetition runs in
//! a fresh child process (`fresh_process`): a fork pool needs a single-threaded parent, and the
//! forkserver start-up figure must include starting the fork server.
//!
//! | benchmark         | figures                                                                 |
//! | ----------------- | ----------------------------------------------------------------------- |
//! | cpu-parallel      | `wall_ms_w1`, `wall_ms_w2`: the job on a fork pool of 1 and of 2        |
//! |                   | workers (256 chunks), start-up included; `speedup_w2` = w1 / w2         |
//! |                   | (CPython 1.94-1.97x; target >= 1.9x)                                    |
//! | map-chunksize1    | `us_per_task`: `Pool(2).map` of 20,000 trivial tasks, chunksize 1       |
//! |                   | (CPython 45-50 µs; target <= 10 µs)                                      |
//! | map-chunksize1000 | `us_per_item`: 1,000,000 items, chunksize 1000 (CPython 0.55; <= 0.1)   |
//! | startup           | `fork_ms`, `forkserver_ms`, `spawn_ms`: a pool of 2 started and its     |
//! |                   | first map answered (CPython 23-26 / 168-177 / 153-161; <= 5 / 30 / 30)  |
//!
//! `procs` is the number of workers (2 for every benchmark: the figures are for two).

use probe::result::ResultLine;
use procpool::StartMethod;

use super::goroutines::{milliseconds, verify};
use super::{benchmark, BenchError, Benchmark};
use crate::model::Model;
use crate::workloads::{cpu_parallel, map_chunksize, startup, Workload};

/// Chunks of cpu-parallel here: 64 chunks of native code take about 80 ms, too short beside a
/// pool's start-up and a loaded machine's noise; 256 take about 0.32 s on one worker.
pub const CPU_PARALLEL_CHUNKS: u64 = 256;

/// The procpool model's benchmarks, in the order `all` runs them.
pub const BENCHMARKS: &[Benchmark] = &[
    Benchmark {
        procs: Some(2),
        fresh_process: true,
        full_size: Some(CPU_PARALLEL_CHUNKS),
        ..benchmark(
            "cpu-parallel",
            Workload::CpuParallel,
            "256 chunks x 1,000,000 LCG steps, Pool.map on 1 then 2 fork workers: speedup_w2",
        )
    },
    Benchmark {
        procs: Some(2),
        fresh_process: true,
        full_size: Some(map_chunksize::ITEMS_CHUNKSIZE1),
        ..benchmark(
            "map-chunksize1",
            Workload::MapChunksize,
            "Pool(2).map of 20,000 trivial tasks, chunksize 1: us_per_task",
        )
    },
    Benchmark {
        procs: Some(2),
        fresh_process: true,
        ..benchmark(
            "map-chunksize1000",
            Workload::MapChunksize,
            "Pool(2).map of 1,000,000 trivial items, chunksize 1000: us_per_item",
        )
    },
    Benchmark {
        procs: Some(2),
        fresh_process: true,
        size: Some(startup::WORKERS),
        ..benchmark(
            "startup",
            Workload::Startup,
            "a pool of 2 started and its first map, fork / forkserver / spawn: *_ms",
        )
    },
];

/// Runs `benchmark`'s workload once at `size` with `procs` workers, checks its checksum and
/// returns its figures.
pub fn measure(
    benchmark: &'static Benchmark,
    procs: usize,
    size: u64,
) -> Result<Vec<ResultLine>, BenchError> {
    let figure = |metric: &str, value: f64, unit: &str| {
        super::figure(Model::Procpool, benchmark, metric, value, unit)
    };
    match benchmark.workload {
        Workload::CpuParallel => super::speedup_figures(
            Model::Procpool,
            benchmark,
            size,
            procs,
            cpu_parallel::procpool,
        ),
        Workload::MapChunksize => {
            let (chunksize, metric) = if benchmark.name == "map-chunksize1" {
                (1, "us_per_task")
            } else {
                (1000, "us_per_item")
            };
            let outcome = map_chunksize::procpool(size, procs, chunksize);
            verify(benchmark, size, outcome.checksum)?;
            let micros = outcome.elapsed.as_secs_f64() * 1e6 / size as f64;
            Ok(vec![figure(metric, micros, "us")?])
        }
        Workload::Startup => {
            let mut figures = Vec::new();
            for method in [
                StartMethod::Fork,
                StartMethod::Forkserver,
                StartMethod::Spawn,
            ] {
                let outcome = startup::procpool(size, method);
                verify(benchmark, size, outcome.checksum)?;
                let metric = format!("{}_ms", method.name());
                figures.push(figure(&metric, milliseconds(outcome.elapsed), "ms")?);
            }
            Ok(figures)
        }
        _ => Err(BenchError::Unsupported {
            model: Model::Procpool.name(),
            benchmark: benchmark.name,
        }),
    }
}
