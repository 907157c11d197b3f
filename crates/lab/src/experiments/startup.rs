//! startup: how long a model takes from nothing to its first task's result, in a fresh process.
//!
//! The first task, per model ([`first_result`]): goroutines: build a runtime (its Ps, threads
//! and sysmon) and run one goroutine; asyncio: a new loop runs one coroutine (`asyncio.run`);
//! gil-threads: an interpreter and one Python thread, joined; procpool: `Pool(2)` (fork) and one
//! task's result from a worker; uv-loop: a loop (its thread pool included) that runs one
//! immediate. Each answers 42.
//!
//! Two figures, measured two ways:
//!
//! ```text
//!   startup_us         in this process: the first runtime of the process, from nothing to the
//!                      first task's result (cold: page faults and thread starts paid, as a
//!                      program starting up pays them). Ours alone: a real Go or CPython has
//!                      started its runtime before the program's first line runs.
//!
//!   exec_to_result_us  from outside, the same way for ours and the real systems':
//!                        parent (Rust)                          child, a fresh process
//!                        t0 = now; spawn ──── fork, exec ────►  loader, language runtime,
//!                                                               model runtime, first task,
//!                        first line read ◄─── stdout pipe ────  "<name> startup answer 42 count"
//!                        t1 = now; wait for its exit (not timed)
//!                      the median of R runs (3 quick, 7 full) of t1 - t0.
//! ```
//!
//! The child of ours is this binary, `schedlab __first-result <model>` ([`FIRST_RESULT_COMMAND`]);
//! the real systems' children are the peers' programs with the `startup` experiment
//! (`peers/experiments/`: a goroutine's result sent on a channel in Go; `Pool(2)`'s first
//! `apply_async` result, a `threading.Thread`'s result, `asyncio.run` of one coroutine in
//! CPython, importing only the module each needs; one `setImmediate` in Node), each timed by
//! `schedlab peers` with this module's [`exec_to_result`]. What the two include is the same list:
//! process creation, the dynamic loader, the language's own runtime start (Go's runtime init;
//! CPython's interpreter, `site` and the imports; Node's V8 and bootstrap; Rust's `main` and
//! argument parsing), the model's runtime, one task, and one line written to a pipe. What
//! differs is what each language must do before its first line of program runs, which is the
//! point of comparing them. Start-up costs of this machine's set-up rather than of a runtime
//! are kept out of every child alike: `NODE_EXTRA_CA_CERTS` is removed from the environment
//! (Node parses that certificate file at start), CPython runs with `-S` (the machine's
//! site-packages has `.pth` files that import packages at every start), and the interpreters
//! are run by their own path, not through a launcher such as pyenv's shim (see
//! `peers/child.rs`).

use std::io::{self, BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use probe::result::ResultLine;

use super::{Experiment, ExperimentError, Figures, Options};
use crate::model::Model;

/// The hidden subcommand whose process runs `model`'s first task and prints its answer.
pub const FIRST_RESULT_COMMAND: &str = "__first-result";

/// What every first task answers.
pub const ANSWER: u64 = 42;

/// The metric of the answer line a first-result child prints.
pub const ANSWER_METRIC: &str = "answer";

/// How long one child may take to print its answer before it is killed.
const CHILD_LIMIT: Duration = Duration::from_secs(30);

/// How many fresh processes [`exec_to_result`] times.
pub fn runs(options: &Options) -> usize {
    if options.quick {
        3
    } else {
        7
    }
}

pub(super) fn run(
    mut figures: Figures,
    options: &Options,
) -> Result<Vec<probe::result::ResultLine>, ExperimentError> {
    let started = Instant::now();
    let answer = first_result(figures.model);
    let elapsed = started.elapsed();
    figures.check(answer, ANSWER)?;
    figures.add("startup_us", elapsed.as_secs_f64() * 1e6, "us")?;
    let exe = std::env::current_exe().map_err(ExperimentError::ChildSpawn)?;
    let model = figures.model;
    let median = exec_to_result(model.name(), runs(options), || {
        let mut command = Command::new(&exe);
        command.args([FIRST_RESULT_COMMAND, model.name()]);
        command
    })
    .map_err(ExperimentError::runtime)?;
    figures.add("exec_to_result_us", median.as_secs_f64() * 1e6, "us")?;
    Ok(figures.done())
}

/// Runs `model`'s first task in this process, from nothing, and returns its answer
/// ([`ANSWER`]; 0 when the model's runtime could not start).
pub fn first_result(model: Model) -> u64 {
    match model {
        Model::Goroutines => {
            crate::bench::goroutines::runtime(probe::threads::available_parallelism())
                .map(|runtime| runtime.run(|| ANSWER))
                .unwrap_or(0)
        }
        Model::AsyncioLoop => asyncio_loop::run(async { Ok(ANSWER) }).unwrap_or(0),
        Model::GilThreads => gil_threads::Interpreter::new(gil_threads::GilMode::On)
            .spawn(|_| ANSWER)
            .ok()
            .and_then(|thread| thread.join().ok())
            .unwrap_or(0),
        Model::Procpool => procpool::Pool::new(2)
            .ok()
            .and_then(|pool| pool.apply_async(first_answer, ()).ok()?.get(None).ok())
            .unwrap_or(0),
        Model::UvLoop => {
            let answer = std::rc::Rc::new(std::cell::Cell::new(0));
            let set = answer.clone();
            match uv_loop::run(move || {
                uv_loop::set_immediate(move || set.set(ANSWER));
            }) {
                Ok(()) => answer.get(),
                Err(_) => 0,
            }
        }
    }
}

/// The line a first-result child prints: `<name> startup answer <answer> count`.
pub fn answer_line(
    name: &str,
    answer: u64,
) -> Result<ResultLine, probe::result::InvalidResultLine> {
    ResultLine::new(
        name,
        Experiment::Startup.name(),
        ANSWER_METRIC,
        answer as f64,
        "count",
    )
}

/// Why a fresh process gave no start-up time.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartupError {
    /// It could not be started, read or waited for.
    Io(io::Error),
    /// It printed no line, or did not exit, within the limit, and was killed.
    TimedOut(Duration),
    /// Its first line was not `<name> startup answer 42 count`.
    WrongAnswer(String),
}

impl std::fmt::Display for StartupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartupError::Io(error) => write!(f, "cannot run the start-up child: {error}"),
            StartupError::TimedOut(limit) => write!(
                f,
                "the start-up child did not answer and exit within {} s and was killed",
                limit.as_secs()
            ),
            StartupError::WrongAnswer(line) => {
                write!(
                    f,
                    "the start-up child's first line is not its answer: {line:?}"
                )
            }
        }
    }
}

impl std::error::Error for StartupError {}

/// The median, over `runs` fresh processes made by `command`, of the time from spawning one to
/// reading its first line, which must be the answer line of `name` (see the module essay).
pub fn exec_to_result(
    name: &str,
    runs: usize,
    command: impl Fn() -> Command,
) -> Result<Duration, StartupError> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        times.push(time_to_answer(name, command())?);
    }
    times.sort_unstable();
    Ok(times[times.len() / 2])
}

/// One fresh process: spawn to its first line, checked; then waits for it to exit.
fn time_to_answer(name: &str, mut command: Command) -> Result<Duration, StartupError> {
    // Node reads and parses this file of extra certificates at every start when it is set
    // (this machine sets it: ~50 ms of CPU), whether the program makes a TLS connection or not:
    // a cost of the environment, not of Node.
    command
        .env_remove("NODE_EXTRA_CA_CERTS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let started = Instant::now();
    let mut child = command.spawn().map_err(StartupError::Io)?;
    let Some(stdout) = child.stdout.take() else {
        return Err(finish(child, StartupError::WrongAnswer(String::new())));
    };
    // The first line is read on a thread of its own, so that a child that never prints is
    // killed after the limit instead of hanging the parent.
    let (sent, first_line) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line).map(|_| line);
        let _ = sent.send((read, Instant::now()));
    });
    let (line, read_at) = match first_line.recv_timeout(CHILD_LIMIT) {
        Ok((Ok(line), read_at)) => (line, read_at),
        Ok((Err(error), _)) => return Err(finish(child, StartupError::Io(error))),
        Err(_) => return Err(finish(child, StartupError::TimedOut(CHILD_LIMIT))),
    };
    let elapsed = read_at.duration_since(started);
    let answered = probe::result::parse_lines(&line)
        .first()
        .is_some_and(|parsed| {
            parsed.model == name
                && parsed.workload == Experiment::Startup.name()
                && parsed.metric == ANSWER_METRIC
                && parsed.value == ANSWER as f64
        });
    if !answered {
        return Err(finish(child, StartupError::WrongAnswer(line)));
    }
    // Its exit is not timed, but waited for (a child that lingers is killed at the limit), so
    // the next child starts on a machine this one has left.
    let deadline = Instant::now() + CHILD_LIMIT;
    while child.try_wait().map_err(StartupError::Io)?.is_none() {
        if Instant::now() >= deadline {
            return Err(finish(child, StartupError::TimedOut(CHILD_LIMIT)));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(elapsed)
}

/// Kills and reaps `child`, returning `error`.
fn finish(mut child: Child, error: StartupError) -> StartupError {
    let _ = child.kill();
    let _ = child.wait();
    error
}

procpool::task! {
    /// The first task of the startup experiment.
    pub fn first_answer(_unit: ()) -> u64 { 42 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_that_answers_is_timed_and_one_that_does_not_is_refused() {
        let answer = || {
            let mut command = Command::new("sh");
            command.args(["-c", "echo 'node startup answer 42 count'; echo more"]);
            command
        };
        let time = exec_to_result("node", 3, answer).expect("timed");
        assert!(time > Duration::ZERO && time < CHILD_LIMIT);
        let wrong = || {
            let mut command = Command::new("sh");
            command.args(["-c", "echo 'node startup answer 41 count'"]);
            command
        };
        assert!(matches!(
            exec_to_result("node", 1, wrong),
            Err(StartupError::WrongAnswer(line)) if line.contains("41")
        ));
        let silent = || Command::new("true");
        assert!(matches!(
            exec_to_result("node", 1, silent),
            Err(StartupError::WrongAnswer(line)) if line.is_empty()
        ));
    }

    #[test]
    fn every_model_answers_in_process() {
        // procpool forks, which a multithreaded test process refuses: the main job's child
        // answers for it.
        for model in [
            Model::Goroutines,
            Model::AsyncioLoop,
            Model::GilThreads,
            Model::UvLoop,
        ] {
            assert_eq!(first_result(model), ANSWER, "{}", model.name());
        }
    }
}
