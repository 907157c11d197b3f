//! Measuring the workloads on the `uv-loop` runtime (issue 5).
//!
//! Each measurement is one call of the workload's `uv_loop` runner, timed from before the call
//! to its return. A runner calls `uv_loop::run`, which builds a fresh loop (as a Node process
//! starts one), so a figure includes creating and dropping it (microseconds). The loop is
//! single-threaded: `--procs` does not apply and the procs line reads 1. The names, metrics
//! and units are those of `peers/node/bench.js` (model `node`).
//!
//! | benchmark       | figures                                                              |
//! | --------------- | -------------------------------------------------------------------- |
//! | immediate-chain | `callbacks_per_s`: immediates / wall time                            |
//! | promise-chain   | `reactions_per_s`: reactions / wall time                             |
//! | sleepers        | `wall_ms`, and `peak_rss_mib`: VmHWM after the run (own process)     |
//! | pingpong        | `ns_per_round_trip`: wall time / rounds (two async fns over promises) |
//! | pbkdf2-pool     | `wall_ms_p1/p2/p4`: 8 jobs on pools of 1, 2, 4 threads, and          |
//! |                 | `waves_p1/p2/p4`: groups of completions (the pattern; on stderr too) |

use probe::result::ResultLine;

use super::goroutines::verify;
use super::{benchmark, BenchError, Benchmark};
use crate::model::Model;
use crate::workloads::{immediate_chain, pbkdf2_pool, pingpong, promise_chain, sleepers, Workload};

/// The uv-loop model's benchmarks, in the order `all` runs them.
pub const BENCHMARKS: &[Benchmark] = &[
    benchmark(
        "immediate-chain",
        Workload::ImmediateChain,
        "1,000,000 setImmediate callbacks, each scheduling the next: callbacks_per_s",
    ),
    benchmark(
        "promise-chain",
        Workload::PromiseChain,
        "1,000,000 promise reactions, each attaching the next: reactions_per_s",
    ),
    Benchmark {
        fresh_process: true,
        ..benchmark(
            "sleepers",
            Workload::Sleepers,
            "100,000 setTimeout of 100 ms: wall_ms and peak_rss_mib (fresh process)",
        )
    },
    benchmark(
        "pingpong",
        Workload::PingPong,
        "1,000,000 round trips between two async fns over promises: ns_per_round_trip",
    ),
    benchmark(
        "pbkdf2-pool",
        Workload::Pbkdf2Pool,
        "8 pbkdf2-sha512 jobs (100k iterations) on pools of 1, 2, 4 threads: wall_ms_pN, waves_pN",
    ),
];

/// Runs `benchmark`'s workload once at `size`, checks its checksum and returns its figures.
pub fn measure(benchmark: &'static Benchmark, size: u64) -> Result<Vec<ResultLine>, BenchError> {
    let figure = |metric: &str, value: f64, unit: &str| {
        super::figure(Model::UvLoop, benchmark, metric, value, unit)
    };
    let timed = |runner: fn(u64) -> u64| super::timed(benchmark, size, runner);
    match benchmark.workload {
        Workload::ImmediateChain => {
            let elapsed = timed(immediate_chain::uv_loop)?;
            let per_second = size as f64 / elapsed.as_secs_f64();
            Ok(vec![figure("callbacks_per_s", per_second, "cb/s")?])
        }
        Workload::PromiseChain => {
            let elapsed = timed(promise_chain::uv_loop)?;
            let per_second = size as f64 / elapsed.as_secs_f64();
            Ok(vec![figure("reactions_per_s", per_second, "reactions/s")?])
        }
        Workload::Sleepers => {
            let elapsed = timed(sleepers::uv_loop)?;
            super::sleepers_figures(Model::UvLoop, benchmark, elapsed)
        }
        Workload::PingPong => {
            let elapsed = timed(pingpong::uv_loop)?;
            Ok(vec![figure(
                "ns_per_round_trip",
                elapsed.as_nanos() as f64 / size as f64,
                "ns",
            )?])
        }
        Workload::Pbkdf2Pool => {
            let mut figures = Vec::new();
            for pool_size in pbkdf2_pool::POOL_SIZES {
                let outcome = pbkdf2_pool::uv_loop_with_pool(size, pool_size);
                verify(benchmark, size, outcome.checksum)?;
                let completions: Vec<String> = outcome
                    .completions_ms
                    .iter()
                    .map(|ms| format!("{ms:.0}"))
                    .collect();
                eprintln!(
                    "bench: pbkdf2-pool p{pool_size}: completions at {} ms",
                    completions.join(" ")
                );
                let wall = outcome.completions_ms.last().copied().unwrap_or(0.0);
                figures.push(figure(&format!("wall_ms_p{pool_size}"), wall, "ms")?);
                figures.push(figure(
                    &format!("waves_p{pool_size}"),
                    outcome.waves() as f64,
                    "waves",
                )?);
            }
            Ok(figures)
        }
        _ => Err(BenchError::Unsupported {
            model: Model::UvLoop.name(),
            benchmark: benchmark.name,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks `runner` against `workload`'s checksum at each size.
    fn check(workload: Workload, sizes: [u64; 2], runner: fn(u64) -> u64) {
        for size in sizes {
            assert_eq!(
                runner(size),
                workload.checksum(size),
                "{} at size {size}",
                workload.name()
            );
        }
    }

    #[test]
    fn runners_return_the_documented_checksums() {
        check(
            Workload::ImmediateChain,
            [1, 1_000],
            immediate_chain::uv_loop,
        );
        check(Workload::PromiseChain, [1, 1_000], promise_chain::uv_loop);
        check(Workload::Sleepers, [1, 200], sleepers::uv_loop);
        check(Workload::PingPong, [1, 500], pingpong::uv_loop);
        assert_eq!(Workload::ImmediateChain.checksum(1_000), 499_500);
    }

    #[test]
    fn pbkdf2_pool_completes_every_job_in_waves() {
        let outcome = pbkdf2_pool::uv_loop_with_pool(2, 1);
        assert_eq!(outcome.checksum, 2);
        assert_eq!(outcome.completions_ms.len(), 2);
        assert!(outcome.completions_ms[0] <= outcome.completions_ms[1]);
    }

    #[test]
    fn uv_loop_has_its_own_benchmark_table() {
        let all: Vec<&str> = Benchmark::all_on(Model::UvLoop).map(|b| b.name).collect();
        assert_eq!(
            all,
            [
                "immediate-chain",
                "promise-chain",
                "sleepers",
                "pingpong",
                "pbkdf2-pool"
            ]
        );
        let size_of = |name| Benchmark::find_on(Model::UvLoop, name).map(|b| b.size(1.0));
        assert_eq!(size_of("immediate-chain"), Some(1_000_000));
        assert_eq!(size_of("sleepers"), Some(100_000));
        assert_eq!(size_of("pingpong"), Some(1_000_000));
        assert_eq!(size_of("pbkdf2-pool"), Some(8));
    }
}
