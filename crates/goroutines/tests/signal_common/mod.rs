//! Helpers for the signal tests (tests/signal_*.rs and tests/sigquit.rs) and for other tests
//! that run a child process (tests/schedtrace.rs). Signals are process-wide, so each scenario
//! runs in a child process (this test binary re-run for one test, as rayon's
//! `tests/stack_overflow_crash.rs` does), which signals itself or is signalled by the parent,
//! and the parent checks how it ended.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use goroutines::signal::Signal;

/// Set in a child process to the name of the test it runs as the child.
pub const CHILD_ENV: &str = "GOROUTINES_TEST_CHILD";
/// How long a child may take before the parent kills it as hung: wide, for a loaded machine.
pub const CHILD_LIMIT: Duration = Duration::from_secs(30);

/// Whether this process is the child that runs `test`.
pub fn is_child(test: &str) -> bool {
    std::env::var(CHILD_ENV).as_deref() == Ok(test)
}

/// How a child ended.
pub struct Ended {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// The parent killed it after its time limit.
    pub hung: bool,
}

impl Ended {
    /// Everything, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "{}{}\nstdout:\n{}\nstderr:\n{}",
            self.status,
            if self.hung { " (hung, killed)" } else { "" },
            self.stdout,
            self.stderr
        )
    }

    /// Whether the child printed `line` as a whole line.
    pub fn printed(&self, line: &str) -> bool {
        self.stdout.lines().any(|l| l == line)
    }
}

/// Runs `test` as a child to its end, calling `on_line` with each line it prints on stdout and
/// its pid (to signal it), and killing it after `CHILD_LIMIT`.
pub fn run_child(test: &str, on_line: impl FnMut(&str, libc::pid_t)) -> Ended {
    run_child_within(test, CHILD_LIMIT, on_line)
}

/// [`run_child`], killing the child after `limit` instead.
pub fn run_child_within(
    test: &str,
    limit: Duration,
    on_line: impl FnMut(&str, libc::pid_t),
) -> Ended {
    run_child_with_env(test, &[], limit, on_line)
}

/// [`run_child_within`], with environment variables set (`Some`) or removed (`None`) in the
/// child.
pub fn run_child_with_env(
    test: &str,
    env: &[(&str, Option<&str>)],
    limit: Duration,
    mut on_line: impl FnMut(&str, libc::pid_t),
) -> Ended {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", test, "--nocapture", "--include-ignored"])
        .env(CHILD_ENV, test)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for &(name, value) in env {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    let mut child = command.spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let (lines_tx, lines_rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stderr_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr_pipe.read_to_string(&mut s);
        s
    });
    let (status_tx, status_rx) = mpsc::channel();
    std::thread::spawn(move || status_tx.send(child.wait().unwrap()));

    let deadline = Instant::now() + limit;
    let mut stdout = String::new();
    // Lines until stdout closes (the child exited) or the deadline passes.
    while let Ok(line) = lines_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        on_line(&line, pid);
        stdout.push_str(&line);
        stdout.push('\n');
    }
    let (status, hung) =
        match status_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(status) => (status, false),
            Err(_) => {
                // SAFETY: `kill` has no memory-safety preconditions; `pid` is our child, which the
                // waiting thread has not reaped, since it has not exited.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                (status_rx.recv().unwrap(), true)
            }
        };
    let stderr = stderr_reader.join().unwrap();
    Ended {
        status,
        stdout,
        stderr,
        hung,
    }
}

/// Sends `signal` to this process with `kill(getpid(), signal)`: any thread may take it.
pub fn kill_self(signal: Signal) {
    // SAFETY: `kill` and `getpid` have no memory-safety preconditions.
    unsafe { libc::kill(libc::getpid(), signal.as_raw()) };
}

/// Sends `signal` to the child `pid`.
pub fn kill_child(pid: libc::pid_t, signal: Signal) {
    // SAFETY: `kill` has no memory-safety preconditions; `pid` is a child that has not been
    // reaped (it is still printing).
    unsafe { libc::kill(pid, signal.as_raw()) };
}

/// No core file if a child dies of SIGQUIT's default action.
pub fn disable_core_dumps() {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit reads one valid rlimit struct.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) };
}

/// Sends `signal` to this thread with `raise`: its handler has run when `raise` returns.
pub fn raise_here(signal: Signal) {
    // SAFETY: `raise` has no memory-safety preconditions.
    unsafe { libc::raise(signal.as_raw()) };
}
