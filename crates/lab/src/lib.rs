//! The lab behind the `schedlab` binary: workloads, the models that run them, and the code that
//! times and traces them.
//!
//! ```text
//!   workloads/   one file per workload: its size, its checksum, one runner per model
//!   model        the models (goroutines, asyncio-loop)
//!   bench        benchmarks (a workload under fixed conditions), timing, medians, result lines
//!   trace        one small run under probe::trace, for Perfetto
//! ```
//!
//! The binary (`src/main.rs`) only parses the command line and dispatches here.

pub mod bench;
pub mod model;
pub mod trace;
pub mod workloads;
