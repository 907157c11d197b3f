//! Measuring the workloads on the `uv-loop` runtime (issue 5). The loop is single-threaded: `--procs` does not apply.

use probe::result::ResultLine;

use super::{BenchError, Benchmark};
use crate::model::Model;

/// The uv-loop model's benchmarks, in the order `all` runs them.
pub const BENCHMARKS: &[Benchmark] = &[];

/// Runs `benchmark`'s workload once at `size`, checks its checksum and returns its figures.
pub fn measure(benchmark: &'static Benchmark, size: u64) -> Result<Vec<ResultLine>, BenchError> {
    let _ = size;
    Err(BenchError::Unsupported {
        model: Model::UvLoop.name(),
        benchmark: benchmark.name,
    })
}
