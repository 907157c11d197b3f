//! The main job: every experiment on every model, the essay's table, and `results.json`.
//!
//! ```text
//!   for each model, for each experiment:   a child process (experiments::run_in_child)
//!        │ result lines, or why there are none
//!        ▼
//!   table::cells ──► the table on stdout
//!        │
//!        └──► OUT/results.json: every figure with its unit, every cell, every failure,
//!             the command line, the machine, the toolchain and the commit
//! ```
//!
//! A failed experiment does not stop the run: its cells read "not measured", the failure is
//! recorded (`Run::failures`), and the run's exit status says something failed.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use probe::result::ResultLine;
use serde::{Deserialize, Serialize};

use crate::calibration::Calibration;
use crate::experiments::{self, Experiment, ExperimentError};
use crate::model::Model;
use crate::table::{self, Cell, Figures};

/// What the main job runs and where it writes.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// The models, in table order.
    pub models: Vec<Model>,
    /// The experiments.
    pub experiments: Vec<Experiment>,
    /// Sizes and cores for the experiments.
    pub experiment: experiments::Options,
    /// The folder for `results.json` (and later the report and traces).
    pub out: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            models: Model::ALL.to_vec(),
            experiments: Experiment::ALL.to_vec(),
            experiment: experiments::Options::default(),
            out: PathBuf::from(DEFAULT_OUT),
        }
    }
}

/// Where the main job writes when `--out` is not given.
pub const DEFAULT_OUT: &str = "schedlab-out";

/// What one run of the main job found.
#[derive(Debug, Default)]
pub struct Run {
    /// Every figure measured.
    pub lines: Vec<ResultLine>,
    /// The experiments that gave no figures (or no trace), and why.
    pub failures: Vec<(Model, Experiment, ExperimentError)>,
    /// The traces written.
    pub traces: Vec<(Model, Experiment, PathBuf)>,
}

/// Runs every (model, experiment) pair of `options` in a child process each, calling
/// `progress(model, experiment)` before each; then, for the [traced](Experiment::traced) ones
/// that ran, a second child at quick sizes records the trace `OUT/traces/<model>-<experiment>.json`.
pub fn run(options: &Options, mut progress: impl FnMut(Model, Experiment)) -> Run {
    let mut run = Run::default();
    let traces = options.out.join("traces");
    let traces_ready = fs::create_dir_all(&traces);
    for &model in &options.models {
        for &experiment in options.experiments.iter().filter(|e| e.applies_to(model)) {
            progress(model, experiment);
            match experiments::run_in_child(model, experiment, &options.experiment, None) {
                Ok(lines) => run.lines.extend(lines),
                Err(error) => {
                    run.failures.push((model, experiment, error));
                    continue;
                }
            }
            if !experiment.traced() {
                continue;
            }
            let path = trace_path(&options.out, model, experiment);
            let quick = experiments::Options {
                quick: true,
                ..options.experiment
            };
            let traced = match &traces_ready {
                Ok(()) => experiments::run_in_child(model, experiment, &quick, Some(&path)),
                Err(error) => Err(ExperimentError::Trace(
                    traces.clone(),
                    io::Error::new(error.kind(), error.to_string()),
                )),
            };
            match traced {
                Ok(_) => run.traces.push((model, experiment, path)),
                Err(error) => run.failures.push((model, experiment, error)),
            }
        }
    }
    run
}

/// Where the main job writes the trace of `experiment` on `model`.
pub fn trace_path(out: &Path, model: Model, experiment: Experiment) -> PathBuf {
    out.join("traces")
        .join(format!("{}-{}.json", model.name(), experiment.name()))
}

/// The table's cells for this run.
pub fn cells(run: &Run, options: &Options) -> Vec<Cell> {
    table::cells(
        &Figures::new(&run.lines),
        &options.models,
        options.experiment.cores,
    )
}

/// `results.json`: its schema is this type (`crates/lab/results.schema.json` documents it).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Results {
    /// `"schedlab-results/1"`.
    pub schema: String,
    /// The command line that produced it.
    pub command: Vec<String>,
    /// The machine it ran on.
    pub machine: Machine,
    /// `rustc --version` of the toolchain on the machine, if there is one.
    pub toolchain: Option<String>,
    /// The git commit of the checkout it ran from, if it ran from one.
    pub commit: Option<String>,
    /// Whether the sizes were `--quick`.
    pub quick: bool,
    /// Every figure.
    pub figures: Vec<Figure>,
    /// Every cell of the table.
    pub cells: Vec<CellRecord>,
    /// Every experiment that gave no figures, and why.
    pub failures: Vec<Failure>,
    /// The traces written, Chrome Trace Event JSON that Perfetto opens.
    pub traces: Vec<TraceRecord>,
    /// Each cell measured on the real system too, when `peers.json` was in the output folder.
    pub calibration: Vec<CalibrationRecord>,
}

/// A cell measured on the real system (see [`crate::calibration`]).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CalibrationRecord {
    /// The row's title.
    pub row: String,
    /// Our model.
    pub model: String,
    /// The real system (`go`, `cpython-mp`, ...).
    pub peer: String,
    /// What it measured, in the table's words.
    pub measured: String,
    /// The claim judged on it: `agrees`, `disagrees`, `shown` or `not-measured`.
    pub verdict: String,
    /// Our figure over the real one on the row's key metric.
    pub ratio: Option<f64>,
}

/// A trace the main job wrote.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TraceRecord {
    /// The model.
    pub model: String,
    /// The experiment.
    pub experiment: String,
    /// The file, relative to the folder `results.json` is in.
    pub path: String,
}

/// The machine a run measured.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    /// Cores this process may use (cgroup limits included).
    pub cores: usize,
    /// `uname -sr` as read from `/proc/sys/kernel`.
    pub kernel: Option<String>,
    /// The CPU's model name.
    pub cpu: Option<String>,
}

/// One result line.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    /// The model.
    pub model: String,
    /// The experiment.
    pub experiment: String,
    /// The metric.
    pub metric: String,
    /// Its value.
    pub value: f64,
    /// Its unit.
    pub unit: String,
}

impl From<&ResultLine> for Figure {
    fn from(line: &ResultLine) -> Self {
        Figure {
            model: line.model.clone(),
            experiment: line.workload.clone(),
            metric: line.metric.clone(),
            value: line.value,
            unit: line.unit.clone(),
        }
    }
}

/// One cell of the table.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CellRecord {
    /// The row's title.
    pub row: String,
    /// The model.
    pub model: String,
    /// The essay's claim.
    pub claim: String,
    /// What was measured, in a few words.
    pub measured: String,
    /// `agrees`, `disagrees`, `shown` or `not-measured`.
    pub verdict: String,
}

/// An experiment that gave no figures.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    /// The model.
    pub model: String,
    /// The experiment.
    pub experiment: String,
    /// Why.
    pub reason: String,
}

impl Results {
    /// The record of `run`.
    pub fn new(
        run: &Run,
        cells: &[Cell],
        calibrations: &[Calibration],
        options: &Options,
        command: Vec<String>,
    ) -> Self {
        Results {
            schema: "schedlab-results/1".to_owned(),
            command,
            machine: Machine {
                cores: options.experiment.cores,
                kernel: kernel(),
                cpu: cpu_model(),
            },
            toolchain: output_of("rustc", &["--version"]),
            commit: output_of("git", &["rev-parse", "HEAD"]),
            quick: options.experiment.quick,
            figures: run.lines.iter().map(Figure::from).collect(),
            cells: cells
                .iter()
                .map(|cell| CellRecord {
                    row: cell.row.title().to_owned(),
                    model: cell.model.name().to_owned(),
                    claim: cell.claim.to_owned(),
                    measured: cell.measured.clone(),
                    verdict: cell.verdict.name().to_owned(),
                })
                .collect(),
            failures: run
                .failures
                .iter()
                .map(|(model, experiment, error)| Failure {
                    model: model.name().to_owned(),
                    experiment: experiment.name().to_owned(),
                    reason: error.to_string(),
                })
                .collect(),
            calibration: calibrations
                .iter()
                .map(|c| CalibrationRecord {
                    row: c.row.title().to_owned(),
                    model: c.model.name().to_owned(),
                    peer: c.peer.to_owned(),
                    measured: c.measured.clone(),
                    verdict: c.verdict.name().to_owned(),
                    ratio: c.ratio,
                })
                .collect(),
            traces: run
                .traces
                .iter()
                .map(|(model, experiment, path)| TraceRecord {
                    model: model.name().to_owned(),
                    experiment: experiment.name().to_owned(),
                    path: path
                        .strip_prefix(&options.out)
                        .unwrap_or(path)
                        .display()
                        .to_string(),
                })
                .collect(),
        }
    }

    /// Writes `results.json` into `dir` (created if missing) and returns its path.
    pub fn write(&self, dir: &Path) -> io::Result<PathBuf> {
        fs::create_dir_all(dir)?;
        let path = dir.join("results.json");
        let text = serde_json::to_string_pretty(self).map_err(io::Error::other)?;
        fs::write(&path, text + "\n")?;
        Ok(path)
    }
}

/// The CPU's model name from `/proc/cpuinfo`, where there is one.
pub fn cpu_model() -> Option<String> {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").ok()?;
    cpuinfo.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == "model name").then(|| value.split_whitespace().collect::<Vec<_>>().join(" "))
    })
}

fn kernel() -> Option<String> {
    let read = |name| fs::read_to_string(format!("/proc/sys/kernel/{name}")).ok();
    Some(format!(
        "{} {}",
        read("ostype")?.trim(),
        read("osrelease")?.trim()
    ))
}

/// The first line `program args` prints, if it runs and succeeds.
fn output_of(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines().next().map(str::to_owned)
}
