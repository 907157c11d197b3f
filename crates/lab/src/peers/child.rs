//! One peer experiment in a child process: started with the peer's arguments, its stdout and
//! stderr read to the end on threads of their own, killed once it has run its time limit.
//!
//! ```text
//!   spawn ──► try_wait every 20 ms ──► exited: status, stdout, stderr ──► result lines of this
//!                   │                                                      peer and experiment
//!                   └─ past the limit: kill, wait ──► RunError::TimedOut     (none: NoFigures)
//! ```

use std::fmt;
use std::io::{self, Read};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use probe::result::{parse_lines, ResultLine};

use super::{Options, Peer, Program};
use crate::experiments::startup::{self, StartupError};
use crate::experiments::{self, Experiment};

/// How long one experiment of a peer may run before it is killed.
fn time_limit(options: &Options) -> Duration {
    Duration::from_secs(if options.quick { 120 } else { 300 })
}

/// Why one (peer, experiment) gave no figures.
#[derive(Debug)]
pub(super) enum RunError {
    /// The process could not be started or waited for.
    Io(io::Error),
    /// It ran past its limit and was killed.
    TimedOut(Duration),
    /// It exited with a failure.
    Failed { status: ExitStatus, stderr: String },
    /// It succeeded but printed no result line of this peer and experiment.
    NoFigures,
    /// A start-up child did not answer (see [`time_startup`]).
    Startup(StartupError),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Io(error) => write!(f, "cannot run it: {error}"),
            RunError::TimedOut(limit) => write!(f, "killed after {} s", limit.as_secs()),
            RunError::Failed { status, stderr } => write!(f, "failed ({status}): {stderr}"),
            RunError::NoFigures => write!(f, "it printed no result lines"),
            RunError::Startup(error) => error.fmt(f),
        }
    }
}

/// Runs `experiment` on `peer` with `command` (the program and its leading arguments) and
/// returns the peer's result lines of it.
pub(super) fn run_one(
    command: &[String],
    peer: Peer,
    experiment: Experiment,
    options: &Options,
) -> Result<Vec<ResultLine>, RunError> {
    let Some((program, leading)) = command.split_first() else {
        return Err(RunError::NoFigures);
    };
    let mut child = Command::new(program);
    child.args(leading);
    if peer.program() == Program::Python {
        child.arg(peer.name());
    }
    child
        .arg(experiment.name())
        .args(["--cores", &options.cores.to_string()]);
    if options.quick {
        child.arg("--quick");
    }
    let finished = run_with_limit(child, time_limit(options))?;
    if !finished.status.success() {
        return Err(RunError::Failed {
            status: finished.status,
            stderr: last_line(&finished.stderr),
        });
    }
    let lines: Vec<ResultLine> = parse_lines(&String::from_utf8_lossy(&finished.stdout))
        .into_iter()
        .filter(|line| line.model == peer.name() && line.workload == experiment.name())
        .collect();
    if lines.is_empty() {
        return Err(RunError::NoFigures);
    }
    Ok(lines)
}

/// Times fresh processes of `peer`'s program with the `startup` experiment, from spawn to its
/// answer line, as the lab times its own models' ([`startup::exec_to_result`]); returns the
/// median as the peer's result line `<peer> startup exec_to_result_us <median> us`.
pub(super) fn time_startup(
    command: &[String],
    peer: Peer,
    options: &Options,
) -> Result<Vec<ResultLine>, RunError> {
    let Some((program, leading)) = command.split_first() else {
        return Err(RunError::NoFigures);
    };
    let program = interpreter(program, peer.program());
    let child = || {
        let mut child = Command::new(&program);
        if peer.program() == Program::Python {
            // `startup.py <peer>` beside experiments.py: CPython compiles its main script on
            // every start, and experiments.py's size and imports are no part of a peer's start
            // (peers/experiments/startup.py says more). `-S`: no `site`, whose `.pth` files
            // here import third-party packages at every start (this machine's certificate
            // set-up, ~50 ms of CPU): a cost of the machine's site-packages, not of CPython.
            child.arg("-S");
            for script in leading {
                child.arg(Path::new(script).with_file_name("startup.py"));
            }
            child.arg(peer.name());
        } else {
            child.args(leading).arg(Experiment::Startup.name());
        }
        child
    };
    let runs = startup::runs(&experiments::Options {
        quick: options.quick,
        cores: options.cores,
    });
    let median = startup::exec_to_result(peer.name(), runs, child).map_err(RunError::Startup)?;
    let line = ResultLine::new(
        peer.name(),
        Experiment::Startup.name(),
        "exec_to_result_us",
        median.as_secs_f64() * 1e6,
        "us",
    )
    .map_err(|_| RunError::NoFigures)?;
    Ok(vec![line])
}

/// The interpreter binary that `program` runs, for timing its start: a launcher in front of it
/// (pyenv's `python3` shim is a bash script that runs `pyenv exec`, ~60 ms of CPU here) is no
/// part of CPython's or Node's start. Asked of the interpreter itself (`sys.executable`,
/// `process.execPath`); `program` when it cannot say.
fn interpreter(program: &str, kind: Program) -> String {
    let ask: &[&str] = match kind {
        Program::Python => &["-S", "-c", "import sys; print(sys.executable)"],
        Program::Node => &["-e", "console.log(process.execPath)"],
        Program::Go => return program.to_owned(),
    };
    Command::new(program)
        .args(ask)
        .env_remove("NODE_EXTRA_CA_CERTS")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .filter(|path| !path.is_empty())
        .unwrap_or_else(|| program.to_owned())
}

/// A finished child: its status and everything it printed.
pub(super) struct Finished {
    pub(super) status: ExitStatus,
    pub(super) stdout: Vec<u8>,
    pub(super) stderr: Vec<u8>,
}

/// Runs `command` to its end, killing it (and failing) once it has run `limit`.
pub(super) fn run_with_limit(mut command: Command, limit: Duration) -> Result<Finished, RunError> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(RunError::Io)?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(RunError::Io)? {
            break Some(status);
        }
        if started.elapsed() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let Some(status) = status else {
        // A grandchild (a pool worker) may still hold the pipes open: the readers are left to
        // end when it does, rather than waited for.
        return Err(RunError::TimedOut(limit));
    };
    Ok(Finished {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// The last non-empty line of a child's stderr, or a note that there was none.
pub(super) fn last_line(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("no message on stderr")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::{last_line, run_with_limit, Command, Duration, Instant, RunError};

    #[test]
    fn a_child_past_its_limit_is_killed() {
        let mut command = Command::new("sleep");
        command.arg("30");
        let started = Instant::now();
        let outcome = run_with_limit(command, Duration::from_millis(200));
        assert!(matches!(outcome, Err(RunError::TimedOut(_))));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_child_within_its_limit_gives_its_output() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo out; echo err >&2; exit 3"]);
        let finished = run_with_limit(command, Duration::from_secs(30)).expect("sh runs");
        assert_eq!(finished.status.code(), Some(3));
        assert_eq!(finished.stdout, b"out\n");
        assert_eq!(last_line(&finished.stderr), "err");
    }

    #[test]
    fn last_line_skips_blank_lines() {
        assert_eq!(last_line(b"first\nlast\n\n"), "last");
        assert_eq!(last_line(b""), "no message on stderr");
    }
}
