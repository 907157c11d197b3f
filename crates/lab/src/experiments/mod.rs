//! Experiments: the measurements behind the essay's table, one per claim.
//!
//! An experiment is built from workloads (DESIGN.md) and gives the figures one row of the table
//! needs, for one model:
//!
//! | experiment    | what runs                                                | figures (result lines)                                  |
//! | ------------- | -------------------------------------------------------- | ------------------------------------------------------- |
//! | `parallelism` | cpu-parallel with W = 1 .. cores workers                 | `wall_ms_w<W>`, `speedup_w<W>`                          |
//! | `concurrency` | N waits of 100 ms started at once; /proc sampled         | `wall_ms`, `in_flight_max`, `tasks`, `os_threads_max`, `processes_max` |
//! | `preemption`  | a hog with no yield point of its model's kind beside a 1 ms ticker, one CPU's worth of runtime | `worst_tick_delay_ms`, `tick_delay_p50_ms`, `tick_delay_p99_ms`, `hog_ms` |
//! | `switching`   | yields in a loop; round trips between two tasks          | `ns_per_yield`, `ns_per_round_trip`                     |
//! | `blocking`    | a 200 ms blocking system call beside the 1 ms ticker     | `worst_tick_delay_ms`, `tick_delay_p50_ms`, `tick_delay_p99_ms`, `call_ms` |
//! | `spawn`       | N empty tasks started, then joined                       | `ns_per_task`, `tasks`                                  |
//! | `memory`      | N tasks waiting on one event                             | `bytes_per_task`, `tasks`                               |
//! | `startup`     | from nothing to a first task's result, cold              | `startup_us`, `exec_to_result_us` (a fresh process, timed from outside) |
//! | `handoff`     | tiny tasks handed to another worker, one after another   | `us_per_task`, `tasks`                                  |
//! | `echo`        | a TCP echo server of the model, 1,000 connections at once | `in_flight_max`, `connections_served`, `round_trips_per_s`, `p99_us` |
//! | `convoy`      | blocking I/O round trips alone, then beside one CPU-bound task | `ms_per_rt_alone`, `ms_per_rt_loaded`, `slowdown`, `round_trips` |
//!
//! The lab runs every (model, experiment) pair in a child process of its own
//! (`schedlab __experiment <model> <experiment>`): thread and process counts and memory are then
//! the experiment's alone, and a model that crashes takes only its own cells down. The child
//! prints result lines `<model> <experiment> <metric> <value> <unit>`; the parent reads them back
//! with [`probe::result::parse_lines`] and builds the table ([`crate::table`]) from them.
//!
//! An experiment that fails gives no figures: its cells read "not measured" rather than a
//! number from anywhere else.

pub mod concurrency;
pub mod convoy;
pub mod echo;
pub mod handoff;
pub mod load;
pub mod memory;
pub mod parallelism;
pub mod preemption;
mod procs;
pub mod sched_counters;
pub mod spawn;
pub mod startup;
pub mod switching;

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use probe::result::{parse_lines, InvalidResultLine, ResultLine};

use crate::bench::BenchError;
use crate::model::Model;

/// An experiment of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Experiment {
    /// A fixed CPU-bound job on 1 .. cores workers: the speedup.
    Parallelism,
    /// Many concurrent waits: how many are in flight at once, on how many threads.
    Concurrency,
    /// A hog beside a ticker: how late the ticker gets.
    Preemption,
    /// What one switch between tasks costs.
    Switching,
    /// A blocking system call beside a ticker: what it does to the others.
    Blocking,
    /// What starting a task costs.
    Spawn,
    /// What a waiting task weighs.
    Memory,
    /// From nothing to a first task's result.
    Startup,
    /// Handing a tiny task to another worker and getting its result.
    Handoff,
    /// A TCP echo server holding many connections at once.
    Echo,
    /// Blocking I/O round trips beside a CPU-bound task: the convoy effect.
    Convoy,
}

impl Experiment {
    /// Every experiment, in table order.
    pub const ALL: [Experiment; 11] = [
        Experiment::Parallelism,
        Experiment::Concurrency,
        Experiment::Preemption,
        Experiment::Switching,
        Experiment::Blocking,
        Experiment::Spawn,
        Experiment::Memory,
        Experiment::Startup,
        Experiment::Handoff,
        Experiment::Echo,
        Experiment::Convoy,
    ];

    /// The name on the command line and in result lines.
    pub fn name(self) -> &'static str {
        match self {
            Experiment::Parallelism => "parallelism",
            Experiment::Concurrency => "concurrency",
            Experiment::Preemption => "preemption",
            Experiment::Switching => "switching",
            Experiment::Blocking => "blocking",
            Experiment::Spawn => "spawn",
            Experiment::Memory => "memory",
            Experiment::Startup => "startup",
            Experiment::Handoff => "handoff",
            Experiment::Echo => "echo",
            Experiment::Convoy => "convoy",
        }
    }

    /// One line for `schedlab list`.
    pub fn summary(self) -> &'static str {
        match self {
            Experiment::Parallelism => {
                "cpu-parallel on 1 .. cores workers: wall time and speedup per worker count"
            }
            Experiment::Concurrency => {
                "10,000 waits of 100 ms started at once: wall time, peak in flight, OS threads"
            }
            Experiment::Preemption => {
                "a 200 ms hog with no yield point beside a 1 ms ticker: the worst tick delay"
            }
            Experiment::Switching => "yield in a loop, and round trips between two tasks: ns each",
            Experiment::Blocking => {
                "a 200 ms blocking system call beside a 1 ms ticker: the worst tick delay"
            }
            Experiment::Spawn => "200,000 empty tasks started, then joined: ns per task",
            Experiment::Memory => "100,000 tasks waiting on one event: resident bytes per task",
            Experiment::Startup => "from nothing to a first task's result, in a fresh process",
            Experiment::Handoff => {
                "20,000 tiny tasks handed to another worker one by one: µs per task (IPC for MP)"
            }
            Experiment::Echo => {
                "the model's TCP echo server, 1,000 connections at once: in flight, rt/s, p99"
            }
            Experiment::Convoy => {
                "200 blocking round trips alone, then beside one CPU-bound task: ms each"
            }
        }
    }

    /// The experiment called `name`, if any.
    pub fn from_name(name: &str) -> Option<Experiment> {
        Experiment::ALL.into_iter().find(|e| e.name() == name)
    }
}

/// How big to run: the default sizes finish the whole table in about 2 minutes on 2 cores,
/// `quick` in about 20 seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Smaller sizes, for `--quick` and the tests.
    pub quick: bool,
    /// The cores the experiments may use (the largest worker count of `parallelism`).
    pub cores: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            quick: false,
            cores: probe::threads::available_parallelism(),
        }
    }
}

impl Experiment {
    /// Whether the experiment means anything for `model`: a process pool serves tasks, not
    /// sockets, so it has no echo server.
    pub fn applies_to(self, model: Model) -> bool {
        !(self == Experiment::Echo && model == Model::Procpool)
    }

    /// Whether the main job also records a trace of it (at quick sizes, in a run of its own, so
    /// the recording does not touch the measured figures): the experiments whose timelines show
    /// a scheduler at work.
    pub fn traced(self) -> bool {
        matches!(
            self,
            Experiment::Parallelism
                | Experiment::Concurrency
                | Experiment::Preemption
                | Experiment::Blocking
        )
    }
}

/// The hidden subcommand with which the binary re-executes itself for one experiment.
pub const EXPERIMENT_COMMAND: &str = "__experiment";

/// Why an experiment gave no figures.
#[derive(Debug)]
#[non_exhaustive]
pub enum ExperimentError {
    /// The model's runtime failed (could not start, wrong checksum, ...).
    Model(BenchError),
    /// A figure could not be written as a result line.
    Figure(InvalidResultLine),
    /// A runner returned the wrong checksum: its work was lost or invented.
    Checksum {
        /// The experiment.
        experiment: &'static str,
        /// What the runner returned.
        got: u64,
        /// What the workload documents.
        want: u64,
    },
    /// The child process could not be started.
    ChildSpawn(io::Error),
    /// The trace could not be written to this file.
    Trace(PathBuf, io::Error),
    /// The child process failed; its stderr went to ours.
    ChildFailed {
        /// The experiment.
        experiment: &'static str,
        /// How it exited.
        status: ExitStatus,
    },
}

impl fmt::Display for ExperimentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExperimentError::Model(error) => error.fmt(f),
            ExperimentError::Figure(error) => write!(f, "cannot print a figure: {error}"),
            ExperimentError::Checksum {
                experiment,
                got,
                want,
            } => write!(f, "{experiment}: wrong checksum: got {got}, want {want}"),
            ExperimentError::ChildSpawn(error) => {
                write!(f, "cannot start a child process of schedlab: {error}")
            }
            ExperimentError::Trace(path, error) => {
                write!(f, "cannot write the trace {}: {error}", path.display())
            }
            ExperimentError::ChildFailed { experiment, status } => {
                write!(f, "{experiment}: child process failed ({status})")
            }
        }
    }
}

impl std::error::Error for ExperimentError {}

impl ExperimentError {
    /// The model's runtime failed (a pool that would not start, a thread that could not be
    /// spawned) for `reason`.
    pub(crate) fn runtime(reason: impl fmt::Display) -> Self {
        ExperimentError::Model(BenchError::Runtime(reason.to_string().into()))
    }
}

impl From<BenchError> for ExperimentError {
    fn from(error: BenchError) -> Self {
        ExperimentError::Model(error)
    }
}

/// The figures of one experiment on one model, built up as result lines.
pub(crate) struct Figures {
    model: Model,
    experiment: Experiment,
    lines: Vec<ResultLine>,
}

impl Figures {
    pub(crate) fn new(model: Model, experiment: Experiment) -> Self {
        Figures {
            model,
            experiment,
            lines: Vec::new(),
        }
    }

    pub(crate) fn add(
        &mut self,
        metric: &str,
        value: f64,
        unit: &str,
    ) -> Result<(), ExperimentError> {
        let line = ResultLine::new(
            self.model.name(),
            self.experiment.name(),
            metric,
            value,
            unit,
        )
        .map_err(ExperimentError::Figure)?;
        self.lines.push(line);
        Ok(())
    }

    pub(crate) fn check(&self, got: u64, want: u64) -> Result<(), ExperimentError> {
        if got == want {
            Ok(())
        } else {
            Err(ExperimentError::Checksum {
                experiment: self.experiment.name(),
                got,
                want,
            })
        }
    }

    pub(crate) fn done(self) -> Vec<ResultLine> {
        self.lines
    }
}

/// Runs `experiment` on `model` in this process and returns its figures; with `trace`, records
/// the model's scheduler events meanwhile (see [`probe::trace`]) and writes them there as Chrome
/// Trace Event JSON, which Perfetto opens.
pub fn run_here(
    model: Model,
    experiment: Experiment,
    options: &Options,
    trace: Option<&Path>,
) -> Result<Vec<ResultLine>, ExperimentError> {
    let Some(path) = trace else {
        return run_untraced(model, experiment, options);
    };
    probe::trace::start();
    let figures = run_untraced(model, experiment, options);
    let events = probe::trace::stop();
    let name = format!("{} {}", model.name(), experiment.name());
    let written = File::create(path).and_then(|file| {
        let mut writer = BufWriter::new(file);
        probe::trace::write_chrome_trace(&events, &name, &mut writer)?;
        writer.flush()
    });
    written.map_err(|error| ExperimentError::Trace(path.to_owned(), error))?;
    figures
}

fn run_untraced(
    model: Model,
    experiment: Experiment,
    options: &Options,
) -> Result<Vec<ResultLine>, ExperimentError> {
    let figures = Figures::new(model, experiment);
    match experiment {
        Experiment::Parallelism => parallelism::run(figures, options),
        Experiment::Concurrency => concurrency::run(figures, options),
        Experiment::Preemption => preemption::run(figures, options, preemption::Busy::Spin),
        Experiment::Switching => switching::run(figures, options),
        Experiment::Blocking => preemption::run(figures, options, preemption::Busy::Block),
        Experiment::Spawn => spawn::run(figures, options),
        Experiment::Memory => memory::run(figures, options),
        Experiment::Startup => startup::run(figures, options),
        Experiment::Handoff => handoff::run(figures, options),
        Experiment::Echo => echo::run(figures, options),
        Experiment::Convoy => convoy::run(figures, options),
    }
}

/// Runs `experiment` on `model` in a child process and reads back its figures; with `trace`,
/// the child records its scheduler events into that file.
pub fn run_in_child(
    model: Model,
    experiment: Experiment,
    options: &Options,
    trace: Option<&Path>,
) -> Result<Vec<ResultLine>, ExperimentError> {
    let exe = std::env::current_exe().map_err(ExperimentError::ChildSpawn)?;
    let mut command = Command::new(exe);
    command
        .args([EXPERIMENT_COMMAND, model.name(), experiment.name()])
        .args(["--cores", &options.cores.to_string()]);
    if options.quick {
        command.arg("--quick");
    }
    if let Some(path) = trace {
        command.arg("-o").arg(path);
    }
    let output = command
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(ExperimentError::ChildSpawn)?;
    if !output.status.success() {
        return Err(ExperimentError::ChildFailed {
            experiment: experiment.name(),
            status: output.status,
        });
    }
    Ok(parse_lines(&String::from_utf8_lossy(&output.stdout))
        .into_iter()
        .filter(|line| line.model == model.name() && line.workload == experiment.name())
        .collect())
}
