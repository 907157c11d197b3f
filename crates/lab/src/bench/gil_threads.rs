//! Measuring the workloads on the `gil-threads` runtime (issue 6). `procs` is the number of workers.

use probe::result::ResultLine;

use super::{BenchError, Benchmark};
use crate::model::Model;

/// The gil-threads model's benchmarks, in the order `all` runs them.
pub const BENCHMARKS: &[Benchmark] = &[];

/// Runs `benchmark`'s workload once at `size`, checks its checksum and returns its figures.
pub fn measure(
    benchmark: &'static Benchmark,
    procs: usize,
    size: u64,
) -> Result<Vec<ResultLine>, BenchError> {
    let _ = (procs, size);
    Err(BenchError::Unsupported {
        model: Model::GilThreads.name(),
        benchmark: benchmark.name,
    })
}
