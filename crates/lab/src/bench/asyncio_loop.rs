//! Measuring the workloads on the `asyncio-loop` runtime.
//!
//! Each measurement is one call of the workload's `asyncio_loop` runner, timed from before the
//! call to its return. A runner builds its own event loop (as `asyncio.run` does), so a figure
//! includes creating and closing the loop (microseconds, beside runs of tens of milliseconds).
//! The loop is single-threaded: `--procs` does not apply and the procs line reads 1.
//!
//! | benchmark      | figures                                                           |
//! | -------------- | ----------------------------------------------------------------- |
//! | callsoon-chain | `callbacks_per_s`: callbacks / wall time                          |
//! | sleepers       | `wall_ms`, and `peak_rss_mib`: VmHWM after the run (own process)  |
//! | pingpong       | `ns_per_round_trip`: wall time / rounds (two unbounded Queues)    |

use probe::result::ResultLine;

use super::{BenchError, Benchmark};
use crate::model::Model;
use crate::workloads::{callsoon_chain, pingpong, sleepers, Workload};

/// Runs `benchmark`'s workload once at `size` on a new event loop, checks its checksum and
/// returns its figures.
pub fn measure(benchmark: &'static Benchmark, size: u64) -> Result<Vec<ResultLine>, BenchError> {
    let figure = |metric: &str, value: f64, unit: &str| {
        super::figure(Model::AsyncioLoop, benchmark, metric, value, unit)
    };
    let timed = |runner: fn(u64) -> u64| super::timed(benchmark, size, runner);
    match benchmark.workload {
        Workload::CallSoonChain => {
            let elapsed = timed(callsoon_chain::asyncio_loop)?;
            let per_second = size as f64 / elapsed.as_secs_f64();
            Ok(vec![figure("callbacks_per_s", per_second, "cb/s")?])
        }
        Workload::Sleepers => {
            let elapsed = timed(sleepers::asyncio_loop)?;
            super::sleepers_figures(Model::AsyncioLoop, benchmark, elapsed)
        }
        Workload::PingPong => {
            let elapsed = timed(pingpong::asyncio_loop)?;
            Ok(vec![figure(
                "ns_per_round_trip",
                elapsed.as_nanos() as f64 / size as f64,
                "ns",
            )?])
        }
        _ => Err(BenchError::Unsupported {
            model: Model::AsyncioLoop.name(),
            benchmark: benchmark.name,
        }),
    }
}
