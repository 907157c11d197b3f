//! The lab behind the `schedlab` binary: workloads, the models that run them, and the code that
//! times and traces them.
//!
//! ```text
//!   workloads/   one file per workload: its size, its checksum, one runner per model
//!   model        the models (goroutines, procpool, gil-threads, asyncio-loop, uv-loop)
//!   experiments  the measurements behind the essay's table, one per claim, each in a child
//!   table        the essay's claims, and the verdict of each measurement on its claim
//!   ease         each model's echo runner, its length and style (the "Ease of use" row)
//!   essay        the main job: every experiment on every model, the table, results.json
//!   report       report.html: the table and SVG plots in one self-contained file
//!   verdicts     one line per experiment and model: what held the tasks back
//!   peers        the same experiments on the real Go, CPython and Node: peers.json
//!   calibration  each cell measured on the real system too, with our figure over theirs
//!   bench        benchmarks (a workload under fixed conditions), timing, medians, result lines
//!   trace        one small run under probe::trace, for Perfetto
//! ```
//!
//! The binary (`src/main.rs`) only parses the command line and dispatches here.

pub mod bench;
pub mod calibration;
pub mod ease;
pub mod essay;
pub mod experiments;
pub mod model;
pub mod peers;
pub mod report;
pub mod table;
pub mod trace;
pub mod verdicts;
pub mod workloads;
