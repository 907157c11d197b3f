//! Benchmarks: workloads timed on a model, printed as result lines.
//!
//! A benchmark is a workload run under fixed conditions: `pingpong` and `pingpong-1p` are one
//! workload on all Ps and on one. The names, metrics and units are the Go peer's (`peers/go`),
//! so `goroutines skynet wall_ms ...` sits beside `go skynet wall_ms ...` in one table.
//!
//! ```text
//!   for each benchmark:
//!     build the model's runtime (once; warm caches are part of the steady state measured)
//!     warm-up    measure once, discard
//!     reps × R   measure once, keep its figures
//!     print      <model> <bench> procs <n> count
//!                <model> <bench> <metric> <median> <unit>   one per figure
//! ```
//!
//! Every measurement checks the runner's checksum against the workload's documented one and fails
//! the whole run if they differ: a fast wrong answer is no result.
//!
//! Figures that are process-wide (peak RSS, RSS growth) would be polluted by whatever the process
//! did before, so those benchmarks run each repetition, warm-up included, in a fresh child
//! process: the binary re-executes itself as `schedlab __child <model> <bench> --procs N
//! --size-scale F`, the child measures once and prints result lines, and the parent reads them
//! back with [`probe::result::parse_lines`].
//!
//! The echo benchmarks (`echo-c100`, `echo-c1000`) measure a server in a child process
//! (`schedlab serve <model> echo`) driven by the Go peers' load generator, the one program that
//! drives every echo server the project compares; see [`echo`]. They need Go, so `all` leaves
//! them out: run them by name. Without Go they are skipped with a message, the other benchmarks
//! still run, and the run fails at the end.
//!
//! The median is the middle value after sorting (the upper middle for an even count), as the Go
//! peer takes it; medians are printed with two decimals below 100 and one above, as the peer
//! prints them.

pub mod asyncio_loop;
pub mod echo;
pub mod gil_threads;
pub mod goroutines;
pub mod procpool;
pub mod uv_loop;

use std::fmt;
use std::io::{self, Write};
use std::process::{Command, ExitStatus, Stdio};

use probe::result::{parse_lines, InvalidResultLine, ResultLine};

use crate::model::Model;
use crate::workloads::Workload;

/// A workload under fixed conditions, with the name its results carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Benchmark {
    /// The name in result lines and on the command line.
    pub name: &'static str,
    /// What it runs.
    pub workload: Workload,
    /// Ps (threads running goroutines) it always runs on; `None` takes `--procs`.
    pub procs: Option<usize>,
    /// Whether each repetition runs in a fresh child process (its figures are process-wide).
    pub fresh_process: bool,
    /// A size it always runs, whatever `--size-scale` says (echo's connections).
    pub size: Option<u64>,
    /// Its full size when it is not the workload's (asyncio-loop's pingpong); scaled by
    /// `--size-scale`.
    pub full_size: Option<u64>,
    /// Whether `all` (and bare `schedlab`) runs it: not when it needs Go installed.
    pub in_all: bool,
    /// One line for `--help`: what it runs and the figures it prints.
    pub summary: &'static str,
}

pub(crate) const fn benchmark(
    name: &'static str,
    workload: Workload,
    summary: &'static str,
) -> Benchmark {
    Benchmark {
        name,
        workload,
        procs: None,
        fresh_process: false,
        size: None,
        full_size: None,
        in_all: true,
        summary,
    }
}

/// An echo benchmark at `connections` connections: a served workload, left out of `all`.
const fn echo(name: &'static str, connections: u64, summary: &'static str) -> Benchmark {
    Benchmark {
        size: Some(connections),
        in_all: false,
        ..benchmark(name, Workload::Echo, summary)
    }
}

/// Every benchmark, in the order `all` runs them (the Go peer's order); `all` skips those not
/// [`Benchmark::in_all`].
pub const BENCHMARKS: [Benchmark; 13] = [
    benchmark(
        "skynet",
        Workload::Skynet,
        "10-ary tree of goroutines over 1,000,000 leaves, unbuffered channels: wall_ms",
    ),
    benchmark(
        "pingpong",
        Workload::PingPong,
        "1,000,000 round trips between two goroutines, unbuffered: ns_per_round_trip",
    ),
    Benchmark {
        procs: Some(1),
        ..benchmark("pingpong-1p", Workload::PingPong, "pingpong on one P")
    },
    benchmark(
        "spawn",
        Workload::Spawn,
        "1,000,000 empty goroutines spawned, then joined: ns_per_goroutine",
    ),
    benchmark(
        "chan-mpmc",
        Workload::ChanMpmc,
        "4 senders x 2,500,000 messages, 4 receivers, capacity 1024: mmsg_per_s",
    ),
    Benchmark {
        fresh_process: true,
        ..benchmark(
            "sleepers",
            Workload::Sleepers,
            "100,000 goroutines sleep 100 ms (own process): wall_ms, peak_rss_mib",
        )
    },
    Benchmark {
        fresh_process: true,
        ..benchmark(
            "idle-memory",
            Workload::IdleMemory,
            "100,000 goroutines parked on one channel (own process): bytes_per_goroutine",
        )
    },
    benchmark(
        "yield",
        Workload::Yield,
        "one goroutine yields 10,000,000 times: ns_per_yield",
    ),
    Benchmark {
        procs: Some(1),
        ..benchmark("yield-1p", Workload::Yield, "yield on one P")
    },
    Benchmark {
        procs: Some(1),
        ..benchmark(
            "hog-fairness",
            Workload::HogFairness,
            "1 P: a 2 s spin with no runtime call beside a 1 ms ticker: worst_tick_delay_ms",
        )
    },
    Benchmark {
        procs: Some(1),
        ..benchmark(
            "blocking-handoff",
            Workload::BlockingHandoff,
            "1 P: 1,000 goroutines ping-pong beside a 200 ms blocking call: throughput_ratio",
        )
    },
    echo(
        "echo-c100",
        100,
        "TCP echo, 100 connections x 64 B, Go's load generator: round_trips_per_s, p99_us",
    ),
    echo("echo-c1000", 1000, "the same with 1,000 connections"),
];

/// The asyncio-loop model's benchmarks (issue 4), in the order `all` runs them; the names,
/// metrics and units are the CPython peer's (`peers/python/bench_asyncio.py`).
pub const ASYNCIO_BENCHMARKS: [Benchmark; 5] = [
    benchmark(
        "callsoon-chain",
        Workload::CallSoonChain,
        "1,000,000 callbacks, each schedules the next with call_soon: callbacks_per_s",
    ),
    Benchmark {
        fresh_process: true,
        ..benchmark(
            "sleepers",
            Workload::Sleepers,
            "100,000 tasks sleep(0.1) (own process): wall_ms, peak_rss_mib",
        )
    },
    Benchmark {
        full_size: Some(crate::workloads::pingpong::ASYNCIO_ROUNDS),
        ..benchmark(
            "pingpong",
            Workload::PingPong,
            "100,000 round trips between two tasks over two unbounded Queues: ns_per_round_trip",
        )
    },
    echo(
        "echo-c100",
        100,
        "TCP echo over streams, 100 connections x 64 B, Go's load generator: round_trips_per_s, p99_us",
    ),
    echo("echo-c1000", 1000, "the same with 1,000 connections"),
];

impl Benchmark {
    /// The benchmark table of `model`.
    pub fn table(model: Model) -> &'static [Benchmark] {
        match model {
            Model::Goroutines => &BENCHMARKS,
            Model::AsyncioLoop => &ASYNCIO_BENCHMARKS,
            Model::UvLoop => uv_loop::BENCHMARKS,
            Model::GilThreads => gil_threads::BENCHMARKS,
            Model::Procpool => procpool::BENCHMARKS,
        }
    }

    /// `model`'s benchmark called `name`, if any.
    pub fn find_on(model: Model, name: &str) -> Option<&'static Benchmark> {
        Benchmark::table(model).iter().find(|b| b.name == name)
    }

    /// The benchmarks `all` runs on `model`, in order.
    pub fn all_on(model: Model) -> impl Iterator<Item = &'static Benchmark> {
        Benchmark::table(model).iter().filter(|b| b.in_all)
    }

    /// The goroutines benchmark called `name`, if any.
    pub fn find(name: &str) -> Option<&'static Benchmark> {
        BENCHMARKS.iter().find(|b| b.name == name)
    }

    /// The goroutines benchmarks `all` runs, in order.
    pub fn all() -> impl Iterator<Item = &'static Benchmark> {
        BENCHMARKS.iter().filter(|b| b.in_all)
    }

    /// The size it runs when `--size-scale` is `scale`.
    pub fn size(&self, scale: f64) -> u64 {
        match (self.size, self.full_size) {
            (Some(size), _) => size,
            (None, Some(full)) => (full as f64 * scale).round().max(1.0) as u64,
            (None, None) => self.workload.scaled_size(scale),
        }
    }

    /// The Ps it runs on when `--procs` asks for `requested`.
    pub fn procs(&self, requested: usize) -> usize {
        self.procs.unwrap_or(requested)
    }
}

/// How to run benchmarks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options {
    /// Ps for benchmarks that do not fix their own.
    pub procs: usize,
    /// Measured repetitions after the warm-up; the median is reported.
    pub reps: usize,
    /// Multiplies every workload's full size (1 for the real benchmark; tests run tiny ones).
    pub size_scale: f64,
}

impl Default for Options {
    /// One P per available core, 3 repetitions, full sizes.
    fn default() -> Self {
        Options {
            procs: probe::threads::available_parallelism(),
            reps: 3,
            size_scale: 1.0,
        }
    }
}

/// The hidden subcommand with which the binary re-executes itself for one fresh-process
/// repetition.
pub const CHILD_COMMAND: &str = "__child";

/// Runs each benchmark on `model` (a warm-up, then `options.reps` repetitions) and writes its
/// result lines to `out` as soon as it finishes. Per-repetition values go to stderr.
///
/// A benchmark that needs a peer program that is not there (the Go load generator) is skipped
/// with a message on stderr, and the others still run; the run then fails with
/// [`BenchError::Skipped`]. Any other failure stops the run.
pub fn run(
    model: Model,
    benchmarks: &[&'static Benchmark],
    options: &Options,
    out: &mut dyn Write,
) -> Result<(), BenchError> {
    let mut skipped = Vec::new();
    for benchmark in benchmarks {
        match run_benchmark(model, benchmark, options, out) {
            Err(error @ BenchError::PeerMissing { .. }) => {
                eprintln!("schedlab: skipped: {error}");
                skipped.push(benchmark.name);
            }
            result => result?,
        }
    }
    if skipped.is_empty() {
        Ok(())
    } else {
        Err(BenchError::Skipped(skipped))
    }
}

fn run_benchmark(
    model: Model,
    benchmark: &'static Benchmark,
    options: &Options,
    out: &mut dyn Write,
) -> Result<(), BenchError> {
    // The event loops run on one thread whatever `--procs` asks.
    let procs = match model {
        Model::AsyncioLoop | Model::UvLoop => 1,
        Model::Goroutines | Model::GilThreads | Model::Procpool => benchmark.procs(options.procs),
    };
    if benchmark.workload == Workload::Echo {
        // The load generator warms the server up before it measures: no warm-up run here.
        let runs = echo::measure(model, benchmark, procs, options.reps)?;
        return report(model, benchmark, procs, &runs, out);
    }
    let size = benchmark.size(options.size_scale);
    let mut measure_once: Box<dyn FnMut() -> Result<Vec<ResultLine>, BenchError>> =
        if benchmark.fresh_process {
            let size_scale = options.size_scale;
            Box::new(move || measure_in_child(model, benchmark, procs, size_scale))
        } else {
            match model {
                Model::Goroutines => {
                    let runtime = goroutines::runtime(procs)?;
                    Box::new(move || goroutines::measure(&runtime, benchmark, size))
                }
                Model::AsyncioLoop => Box::new(move || asyncio_loop::measure(benchmark, size)),
                Model::UvLoop => Box::new(move || uv_loop::measure(benchmark, size)),
                Model::GilThreads => Box::new(move || gil_threads::measure(benchmark, procs, size)),
                Model::Procpool => Box::new(move || procpool::measure(benchmark, procs, size)),
            }
        };
    measure_once()?;
    let runs = (0..options.reps)
        .map(|_| measure_once())
        .collect::<Result<Vec<_>, _>>()?;
    report(model, benchmark, procs, &runs, out)
}

/// Builds a fresh runtime, measures `benchmark` once on it and returns its figures.
pub fn measure_in_this_process(
    model: Model,
    benchmark: &'static Benchmark,
    procs: usize,
    size: u64,
) -> Result<Vec<ResultLine>, BenchError> {
    match model {
        Model::Goroutines => goroutines::measure(&goroutines::runtime(procs)?, benchmark, size),
        Model::AsyncioLoop => asyncio_loop::measure(benchmark, size),
        Model::UvLoop => uv_loop::measure(benchmark, size),
        Model::GilThreads => gil_threads::measure(benchmark, procs, size),
        Model::Procpool => procpool::measure(benchmark, procs, size),
    }
}

/// A figure of `benchmark` on `model`, as a result line (an error for a value that is not finite).
pub(crate) fn figure(
    model: Model,
    benchmark: &Benchmark,
    metric: &str,
    value: f64,
    unit: &str,
) -> Result<ResultLine, BenchError> {
    ResultLine::new(model.name(), benchmark.name, metric, value, unit).map_err(BenchError::Figure)
}

/// The cpu-parallel benchmark's figures: `runner(size, workers)` timed on 1 worker, then on
/// `procs`, each checksum checked; the speedup and both wall times.
pub(crate) fn speedup_figures(
    model: Model,
    benchmark: &Benchmark,
    size: u64,
    procs: usize,
    runner: impl Fn(u64, usize) -> u64,
) -> Result<Vec<ResultLine>, BenchError> {
    let timed = |workers: usize| {
        let started = std::time::Instant::now();
        let checksum = runner(size, workers);
        let elapsed = started.elapsed();
        goroutines::verify(benchmark, size, checksum).map(|()| goroutines::milliseconds(elapsed))
    };
    let one = timed(1)?;
    let many = timed(procs)?;
    Ok(vec![
        figure(
            model,
            benchmark,
            &format!("speedup_w{procs}"),
            one / many,
            "x",
        )?,
        figure(model, benchmark, "wall_ms_w1", one, "ms")?,
        figure(model, benchmark, &format!("wall_ms_w{procs}"), many, "ms")?,
    ])
}

/// Runs `runner(size)` on this thread, checks its checksum against the workload's and returns
/// how long it took (for the models whose runners build their own event loop).
pub(crate) fn timed(
    benchmark: &Benchmark,
    size: u64,
    runner: fn(u64) -> u64,
) -> Result<std::time::Duration, BenchError> {
    let started = std::time::Instant::now();
    let checksum = runner(size);
    let elapsed = started.elapsed();
    goroutines::verify(benchmark, size, checksum).map(|()| elapsed)
}

/// The sleepers benchmark's figures: the run's wall time and the process's peak RSS since it
/// started (each repetition runs in a fresh process).
pub(crate) fn sleepers_figures(
    model: Model,
    benchmark: &Benchmark,
    elapsed: std::time::Duration,
) -> Result<Vec<ResultLine>, BenchError> {
    let peak = probe::threads::peak_rss_bytes().map_err(BenchError::Memory)?;
    Ok(vec![
        figure(
            model,
            benchmark,
            "wall_ms",
            goroutines::milliseconds(elapsed),
            "ms",
        )?,
        figure(
            model,
            benchmark,
            "peak_rss_mib",
            peak as f64 / goroutines::MIB,
            "MiB",
        )?,
    ])
}

/// Runs one repetition in a fresh child process and reads back the figures it printed.
fn measure_in_child(
    model: Model,
    benchmark: &'static Benchmark,
    procs: usize,
    size_scale: f64,
) -> Result<Vec<ResultLine>, BenchError> {
    let exe = std::env::current_exe().map_err(BenchError::ChildSpawn)?;
    let output = Command::new(exe)
        .args([CHILD_COMMAND, model.name(), benchmark.name])
        .args(["--procs", &procs.to_string()])
        .args(["--size-scale", &size_scale.to_string()])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(BenchError::ChildSpawn)?;
    if !output.status.success() {
        return Err(BenchError::ChildFailed {
            benchmark: benchmark.name,
            status: output.status,
        });
    }
    let figures: Vec<ResultLine> = parse_lines(&String::from_utf8_lossy(&output.stdout))
        .into_iter()
        .filter(|line| line.model == model.name() && line.workload == benchmark.name)
        .collect();
    if figures.is_empty() {
        return Err(BenchError::ChildSilent {
            benchmark: benchmark.name,
        });
    }
    Ok(figures)
}

/// Prints the procs line and the median of each figure; the runs' values go to stderr.
fn report(
    model: Model,
    benchmark: &Benchmark,
    procs: usize,
    runs: &[Vec<ResultLine>],
    out: &mut dyn Write,
) -> Result<(), BenchError> {
    let procs_line = ResultLine::new(model.name(), benchmark.name, "procs", procs as f64, "count")
        .map_err(BenchError::Figure)?;
    writeln!(out, "{procs_line}").map_err(BenchError::Output)?;
    let Some(first) = runs.first() else {
        return out.flush().map_err(BenchError::Output);
    };
    for figure in first {
        let values: Vec<f64> = runs
            .iter()
            .filter_map(|run| run.iter().find(|line| line.metric == figure.metric))
            .map(|line| line.value)
            .collect();
        eprintln!(
            "bench: {} {} runs {:?} {}",
            benchmark.name, figure.metric, values, figure.unit
        );
        let line = ResultLine::new(
            model.name(),
            benchmark.name,
            figure.metric.as_str(),
            round_like_peers(median(&values)),
            figure.unit.as_str(),
        )
        .map_err(BenchError::Figure)?;
        writeln!(out, "{line}").map_err(BenchError::Output)?;
    }
    out.flush().map_err(BenchError::Output)
}

/// The `p`-th percentile (0..=100) of `values`, nearest rank; `None` when empty.
pub(crate) fn percentile<T: Copy + PartialOrd>(values: &[T], p: f64) -> Option<T> {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.saturating_sub(1)).copied()
}

/// The middle value after sorting (the upper middle for an even count); 0 for none.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

/// About four significant digits, as the peers print: two decimals below 100, one above.
fn round_like_peers(value: f64) -> f64 {
    let scale = if value.abs() < 100.0 { 100.0 } else { 10.0 };
    (value * scale).round() / scale
}

/// Why a benchmark run failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum BenchError {
    /// The model's runtime could not be built.
    Runtime(Box<dyn std::error::Error + Send + Sync>),
    /// A runner returned the wrong checksum.
    Checksum {
        /// The benchmark.
        benchmark: &'static str,
        /// The workload size it ran.
        size: u64,
        /// What the runner returned.
        got: u64,
        /// What the workload documents.
        want: u64,
    },
    /// A memory figure could not be read from `/proc`.
    Memory(io::Error),
    /// The child process for a fresh-process repetition could not be started.
    ChildSpawn(io::Error),
    /// The child process failed.
    ChildFailed {
        /// The benchmark it ran.
        benchmark: &'static str,
        /// How it exited.
        status: ExitStatus,
    },
    /// The child process printed no result line for its benchmark.
    ChildSilent {
        /// The benchmark it ran.
        benchmark: &'static str,
    },
    /// A figure could not be written as a result line (a non-finite value).
    Figure(InvalidResultLine),
    /// Writing the results failed.
    Output(io::Error),
    /// The benchmark needs a peer program that is not available (the Go load generator).
    PeerMissing {
        /// The benchmark.
        benchmark: &'static str,
        /// What is missing, and how to get it.
        reason: String,
    },
    /// The server or the load generator of an echo benchmark failed.
    Served {
        /// The benchmark.
        benchmark: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The benchmark runs only in its own processes (echo), not in this one or under `trace`.
    NotInProcess {
        /// The benchmark.
        benchmark: &'static str,
    },
    /// The model has no runner for this benchmark.
    Unsupported {
        /// The model.
        model: &'static str,
        /// The benchmark.
        benchmark: &'static str,
    },
    /// These benchmarks were skipped for [`BenchError::PeerMissing`]; the others ran.
    Skipped(Vec<&'static str>),
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchError::Runtime(error) => write!(f, "cannot build the runtime: {error}"),
            BenchError::Checksum {
                benchmark,
                size,
                got,
                want,
            } => write!(
                f,
                "{benchmark}: wrong checksum at size {size}: got {got}, want {want}"
            ),
            BenchError::Memory(error) => write!(f, "cannot read /proc/self/status: {error}"),
            BenchError::ChildSpawn(error) => {
                write!(f, "cannot start a child process of schedlab: {error}")
            }
            BenchError::ChildFailed { benchmark, status } => {
                write!(f, "{benchmark}: child process failed ({status})")
            }
            BenchError::ChildSilent { benchmark } => {
                write!(f, "{benchmark}: child process printed no result line")
            }
            BenchError::Figure(error) => write!(f, "cannot print a figure: {error}"),
            BenchError::Output(error) => write!(f, "cannot write results: {error}"),
            BenchError::PeerMissing { benchmark, reason } => write!(f, "{benchmark}: {reason}"),
            BenchError::Served { benchmark, reason } => write!(f, "{benchmark}: {reason}"),
            BenchError::NotInProcess { benchmark } => write!(
                f,
                "{benchmark} measures a server in a child process with the Go load generator; \
                 it cannot run in-process or be traced (serve it with `schedlab serve`)"
            ),
            BenchError::Unsupported { model, benchmark } => {
                write!(f, "{model} has no runner for {benchmark}")
            }
            BenchError::Skipped(names) => write!(
                f,
                "skipped {} for want of the Go load generator (see above)",
                names.join(", ")
            ),
        }
    }
}

impl std::error::Error for BenchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BenchError::Memory(error)
            | BenchError::ChildSpawn(error)
            | BenchError::Output(error) => Some(error),
            BenchError::Figure(error) => Some(error),
            BenchError::Runtime(error) => Some(error.as_ref()),
            _ => None,
        }
    }
}
