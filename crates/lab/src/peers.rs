//! `schedlab peers`: the essay's experiments on the real systems our models copy, measured on
//! this machine, so the report can set each model's figures beside its original's.
//!
//! ```text
//!   find the peers' programs        go:     peers/go/install.sh (GO_NO_INSTALL=1), else a `go`
//!   (once)                                   1.22+ on PATH; builds peers/experiments once
//!                                   python: python3 on PATH   (cpython-mp, -threads, -asyncio)
//!                                   node:   node on PATH
//!        │ a peer whose program is missing: every experiment of it skipped, with why
//!        ▼
//!   for each peer, for each experiment:  a fresh process (timeout), stdout read back as
//!        │                               result lines `<peer> <experiment> <metric> <v> <unit>`
//!        ▼
//!   OUT/peers.json  {"schema": "schedlab-peers/1", "command", "figures", "skipped"}
//! ```
//!
//! Invariants: every (peer, experiment) asked for ends as figures or as one `skipped` entry
//! with its reason, never both and never neither; a peer that fails (non-zero exit, timeout, no
//! result lines) is a failure the exit status reports, a peer that is not installed is not.
//! The programs live in `peers/experiments/` (`experiments.go`, `experiments.py`,
//! `experiments.js`); each file's docstring says what it runs and where its sizes differ from
//! the Rust experiments'. An experiment with no peer runner yet (any outside [`ON_PEERS`]) is
//! skipped on every peer, as not measured yet: no failure.
//!
//! `startup` is timed from here, not by the peer: its program (`<peer program> startup`) only
//! prints its first task's answer, and [`crate::experiments::startup::exec_to_result`] times
//! fresh processes of it from spawn to that line, as the lab times its own models' (see
//! `experiments/startup.rs`): `exec_to_result_us`.
//!
//! Each peer is the original of one model ([`Peer::model`]): go ↔ goroutines, cpython-mp ↔
//! procpool, cpython-threads ↔ gil-threads, cpython-asyncio ↔ asyncio-loop, node ↔ uv-loop.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use probe::result::ResultLine;
use serde::{Deserialize, Serialize};

use crate::essay::Figure;
use crate::experiments::Experiment;
use crate::model::Model;

mod child;
mod programs;

use child::{run_one, time_startup};
use programs::{Program, Unavailable};

/// A real system measured beside its model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Peer {
    /// The Go runtime (`peers/experiments/experiments.go`).
    Go,
    /// CPython's multiprocessing (`experiments.py cpython-mp`).
    CpythonMp,
    /// CPython's threads under the GIL (`experiments.py cpython-threads`).
    CpythonThreads,
    /// CPython's asyncio (`experiments.py cpython-asyncio`).
    CpythonAsyncio,
    /// Node.js (`experiments.js`).
    Node,
}

impl Peer {
    /// Every peer, in the table's model order.
    pub const ALL: [Peer; 5] = [
        Peer::Go,
        Peer::CpythonMp,
        Peer::CpythonThreads,
        Peer::CpythonAsyncio,
        Peer::Node,
    ];

    /// The name in result lines.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Go => "go",
            Peer::CpythonMp => "cpython-mp",
            Peer::CpythonThreads => "cpython-threads",
            Peer::CpythonAsyncio => "cpython-asyncio",
            Peer::Node => "node",
        }
    }

    /// The model that re-implements this peer: the one place the two are paired.
    pub fn model(self) -> Model {
        match self {
            Peer::Go => Model::Goroutines,
            Peer::CpythonMp => Model::Procpool,
            Peer::CpythonThreads => Model::GilThreads,
            Peer::CpythonAsyncio => Model::AsyncioLoop,
            Peer::Node => Model::UvLoop,
        }
    }

    /// The peer `model` re-implements.
    pub fn of_model(model: Model) -> Peer {
        Peer::ALL
            .into_iter()
            .find(|peer| peer.model() == model)
            .unwrap_or(Peer::Go)
    }

    /// The peer called `name`, if any.
    pub fn from_name(name: &str) -> Option<Peer> {
        Peer::ALL.into_iter().find(|peer| peer.name() == name)
    }

    fn program(self) -> Program {
        match self {
            Peer::Go => Program::Go,
            Peer::Node => Program::Node,
            _ => Program::Python,
        }
    }
}

/// What `schedlab peers` runs and where it writes.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// The experiments, each on every peer.
    pub experiments: Vec<Experiment>,
    /// The Rust experiments' `--quick` sizes (or the peer's own quick sizes, where they differ).
    pub quick: bool,
    /// The cores the experiments may use.
    pub cores: usize,
    /// The folder for `peers.json`.
    pub out: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            experiments: Experiment::ALL.to_vec(),
            quick: false,
            cores: probe::threads::available_parallelism(),
            out: PathBuf::from(crate::essay::DEFAULT_OUT),
        }
    }
}

/// The experiments the peers' programs run; the others are skipped as "not measured on the peers yet".
pub const ON_PEERS: [Experiment; 10] = [
    Experiment::Parallelism,
    Experiment::Concurrency,
    Experiment::Preemption,
    Experiment::Switching,
    Experiment::Blocking,
    Experiment::Spawn,
    Experiment::Memory,
    Experiment::Handoff,
    Experiment::Convoy,
    Experiment::Startup,
];

/// Why an experiment outside [`ON_PEERS`] gives no peer figures.
const NOT_YET: &str = "not measured on the peers yet";

/// A (peer, experiment) that gave no figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Skipped {
    /// The peer.
    pub peer: String,
    /// The experiment.
    pub experiment: String,
    /// Why.
    pub reason: String,
}

/// What one `schedlab peers` found.
#[derive(Debug, Default)]
pub struct Run {
    /// Every figure measured.
    pub lines: Vec<ResultLine>,
    /// Everything that gave no figures.
    pub skipped: Vec<Skipped>,
    /// How many of the skipped ones failed (the peer is installed but its run went wrong).
    pub failed: usize,
}

/// What the runner tells its caller as it goes.
pub enum Event<'a> {
    /// A (peer, experiment) is about to run.
    Start(Peer, Experiment),
    /// A figure was measured.
    Figure(&'a ResultLine),
    /// A peer's program is missing: all its experiments are skipped, for this reason.
    Missing(Peer, &'a str),
    /// One (peer, experiment) is skipped, for this reason.
    Skipped(&'a Skipped),
}

/// Runs every experiment of `options` on every peer, in a fresh process each, calling `event`
/// as it goes.
pub fn run(options: &Options, mut event: impl FnMut(Event<'_>)) -> Run {
    let mut run = Run::default();
    let dir = peers_dir();
    let build = std::env::temp_dir().join(format!("schedlab-peers-{}", std::process::id()));
    let mut found: Vec<(Program, Result<Vec<String>, Unavailable>)> = Vec::new();
    let (measured, not_yet): (Vec<Experiment>, Vec<Experiment>) = options
        .experiments
        .iter()
        .partition(|experiment| ON_PEERS.contains(experiment));
    for peer in Peer::ALL {
        for &experiment in &not_yet {
            let skipped = skip(peer, experiment, NOT_YET.to_owned());
            event(Event::Skipped(&skipped));
            run.skipped.push(skipped);
        }
        if measured.is_empty() {
            continue;
        }
        let program = peer.program();
        if !found.iter().any(|(p, _)| *p == program) {
            found.push((program, program.find(&dir, &build)));
        }
        let Some((_, command)) = found.iter().find(|(p, _)| *p == program) else {
            continue;
        };
        let command = match command {
            Ok(command) => command,
            Err(why) => {
                let reason = why.to_string();
                event(Event::Missing(peer, &reason));
                for &experiment in &measured {
                    run.skipped.push(skip(peer, experiment, reason.clone()));
                }
                continue;
            }
        };
        for &experiment in &measured {
            event(Event::Start(peer, experiment));
            let ran = if experiment == Experiment::Startup {
                time_startup(command, peer, options)
            } else {
                run_one(command, peer, experiment, options)
            };
            match ran {
                Ok(lines) => {
                    for line in &lines {
                        event(Event::Figure(line));
                    }
                    run.lines.extend(lines);
                }
                Err(error) => {
                    let skipped = skip(peer, experiment, error.to_string());
                    event(Event::Skipped(&skipped));
                    run.skipped.push(skipped);
                    run.failed += 1;
                }
            }
        }
    }
    let _ = fs::remove_dir_all(&build);
    run
}

/// Why `schedlab peers` failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum PeersError {
    /// A result line could not be printed.
    Print(io::Error),
    /// `peers.json` could not be written into this folder.
    Write(PathBuf, io::Error),
    /// This many (peer, experiment) runs of installed peers failed; `peers.json` was written.
    Failed(usize),
}

impl fmt::Display for PeersError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeersError::Print(error) => write!(f, "cannot print a result line: {error}"),
            PeersError::Write(dir, error) => {
                write!(f, "cannot write peers.json into {}: {error}", dir.display())
            }
            PeersError::Failed(count) => {
                write!(f, "{count} peer experiment(s) failed (see above)")
            }
        }
    }
}

impl std::error::Error for PeersError {}

/// `schedlab peers`: runs everything, prints each figure as a result line on `out` as it
/// comes (and what it runs and skips on stderr), writes `OUT/peers.json` with `command` in it.
pub fn main_job(
    options: &Options,
    command: Vec<String>,
    out: &mut dyn Write,
) -> Result<PathBuf, PeersError> {
    let mut printed = Ok(());
    let run = run(options, |event| match event {
        Event::Start(peer, experiment) => {
            eprintln!("schedlab: peers: {} {}", peer.name(), experiment.name());
        }
        Event::Figure(line) => {
            if printed.is_ok() {
                printed = writeln!(out, "{line}").and_then(|()| out.flush());
            }
        }
        Event::Missing(peer, reason) => {
            eprintln!(
                "schedlab: peers: skipped {} (every experiment): {reason}",
                peer.name()
            );
        }
        Event::Skipped(skipped) => eprintln!(
            "schedlab: peers: skipped {} {}: {}",
            skipped.peer, skipped.experiment, skipped.reason
        ),
    });
    let path = Results::new(&run, command)
        .write(&options.out)
        .map_err(|error| PeersError::Write(options.out.clone(), error))?;
    eprintln!("schedlab: peers: wrote {}", path.display());
    printed.map_err(PeersError::Print)?;
    if run.failed > 0 {
        return Err(PeersError::Failed(run.failed));
    }
    Ok(path)
}

fn skip(peer: Peer, experiment: Experiment, reason: String) -> Skipped {
    Skipped {
        peer: peer.name().to_owned(),
        experiment: experiment.name().to_owned(),
        reason,
    }
}

/// The environment variable naming another `peers/` folder (its `experiments/` and
/// `go/install.sh` are used), for running from elsewhere than the checkout and for tests.
pub const PEERS_DIR_ENV: &str = "SCHEDLAB_PEERS_DIR";

/// `$SCHEDLAB_PEERS_DIR`, else `peers/` of the checkout the lab was built from.
fn peers_dir() -> PathBuf {
    std::env::var_os(PEERS_DIR_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../peers"))
}

/// `peers.json`: its schema is this type.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Results {
    /// `"schedlab-peers/1"`.
    pub schema: String,
    /// The command line that produced it.
    pub command: Vec<String>,
    /// Every figure, under the peer's name (`go`, `cpython-mp`, ...).
    pub figures: Vec<Figure>,
    /// Every (peer, experiment) that gave no figures, and why.
    pub skipped: Vec<Skipped>,
}

/// The schema name `peers.json` carries.
pub const SCHEMA: &str = "schedlab-peers/1";

impl Results {
    /// The record of `run`.
    pub fn new(run: &Run, command: Vec<String>) -> Self {
        Results {
            schema: SCHEMA.to_owned(),
            command,
            figures: run.lines.iter().map(Figure::from).collect(),
            skipped: run.skipped.clone(),
        }
    }

    /// Writes `peers.json` into `dir` (created if missing) and returns its path.
    pub fn write(&self, dir: &Path) -> io::Result<PathBuf> {
        fs::create_dir_all(dir)?;
        let path = dir.join("peers.json");
        let text = serde_json::to_string_pretty(self).map_err(io::Error::other)?;
        fs::write(&path, text + "\n")?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_has_one_peer_and_back() {
        for model in Model::ALL {
            assert_eq!(Peer::of_model(model).model(), model);
        }
        for peer in Peer::ALL {
            assert_eq!(Peer::from_name(peer.name()), Some(peer));
        }
    }
}
