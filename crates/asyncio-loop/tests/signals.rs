//! Signals, in child processes (this binary re-run for one scenario, as goroutines'
//! `tests/deadlock.rs` does): signal dispositions are process-wide, so each scenario has a
//! process of its own, and a child runs it on the process's main thread, the only one where
//! CPython (and so this crate) handles signals.
//!
//! - `signal_handler_order`: `add_signal_handler`'s callback runs in the loop, behind the callbacks
//!   already queued (fixture `signal_handler_order`, peers/python/asyncio_orderings.py);
//! - `remove_restores_default`, `close_removes_handlers`: afterwards SIGUSR1 kills the child;
//! - `uncatchable_and_invalid_signals`: CPython's errors; a loop off the main thread is refused;
//! - `run_sigint_once`: `asyncio.run`'s first SIGINT cancels main, whose cleanup runs, and run
//!   reports KeyboardInterrupt (fixture `run_sigint_once`); SIGINT's default action is back
//!   afterwards (a SIGINT then kills the child);
//! - `run_sigint_twice`: main ignores the first SIGINT and sleeps an hour; the second ends the
//!   run at once, and the shutdown cancels main (fixture `run_sigint_twice`).
//!
//! This test has no libtest harness (`harness = false` in Cargo.toml): libtest runs a test on a
//! thread of its own, not the main thread. So `main` speaks the small part of libtest's command
//! line that cargo and nextest use (`--list`, `--exact NAME`, name filters: the scenario-harness
//! crate, shared with goroutines' deadlock tests).

mod common;

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use asyncio_loop::{run, sleep, Error, EventLoop, RunError, SignalError};
use common::{assert_matches_fixture, out};
use rustix::process::{getpid, kill_process, Signal};
use scenario_harness::ScenarioPair;
use signal_hook::consts::{SIGINT, SIGKILL, SIGSEGV, SIGSTOP, SIGUSR1, SIGUSR2};

/// Set in a child process to the name of the scenario it runs.
const CHILD_ENV: &str = "ASYNCIO_SIGNALS_TEST_CHILD";
/// How long a child may take before the parent kills it as hung (a hang guard, not a wait).
const CHILD_LIMIT: Duration = Duration::from_secs(30);

/// `os.kill(os.getpid(), sig)`.
fn kill_self(sig: Signal) {
    kill_process(getpid(), sig).expect("kill(getpid())");
}

/// Prints `line` to the child's stdout at once (the parent reads it even if a signal ends us).
fn say(line: &str) {
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{line}").expect("stdout");
    stdout.flush().expect("stdout");
}

/// Runs `scenario` as a child to its end, killing it after `CHILD_LIMIT`.
fn run_child(scenario: &str) -> Output {
    let child = Command::new(std::env::current_exe().expect("current_exe"))
        .env(CHILD_ENV, scenario)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let pid = rustix::process::Pid::from_child(&child);
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let output = child.wait_with_output();
        let _ = tx.send(());
        output
    });
    if rx.recv_timeout(CHILD_LIMIT).is_err() {
        let _ = kill_process(pid, Signal::KILL);
    }
    waiter.join().expect("waiter").expect("wait for child")
}

/// The child's output, for assertion messages.
fn describe(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn assert_child_ok(scenario: &str) {
    let output = run_child(scenario);
    assert!(output.status.success(), "{}", describe(&output));
}

fn assert_child_killed_by(scenario: &str, sig: i32, last_line: &str) {
    let output = run_child(scenario);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.signal(), Some(sig), "{}", describe(&output));
    assert_eq!(
        stdout.lines().last(),
        Some(last_line),
        "{}",
        describe(&output)
    );
}

// --- scenarios, run in the child ---

fn signal_handler_order_child() {
    let event_loop = EventLoop::new();
    let (a_loop, handler_loop) = (event_loop.clone(), event_loop.clone());
    event_loop
        .add_signal_handler(SIGUSR1, move || {
            out("handler");
            let stopper = handler_loop.clone();
            handler_loop.call_soon(move || {
                out("after handler");
                stopper.stop();
            });
        })
        .expect("add_signal_handler");
    event_loop.call_soon(move || {
        out("a: kill SIGUSR1");
        kill_self(Signal::USR1);
        let b_loop = a_loop.clone();
        a_loop.call_soon(move || {
            out("b");
            let c_loop = b_loop.clone();
            b_loop.call_soon(move || {
                out("c");
                c_loop.call_soon(|| out("d"));
            });
        });
    });
    event_loop.run_forever().expect("run_forever");
    let removed = event_loop.remove_signal_handler(SIGUSR1).expect("remove");
    out(format!("removed: {}", common::py_bool(removed)));
    let again = event_loop.remove_signal_handler(SIGUSR1).expect("remove");
    out(format!("removed again: {}", common::py_bool(again)));
    event_loop.close().expect("close");
    assert_matches_fixture("signal_handler_order");
}

fn remove_restores_default_child() {
    let event_loop = EventLoop::new();
    event_loop
        .add_signal_handler(SIGUSR1, || {})
        .expect("add_signal_handler");
    assert!(event_loop.remove_signal_handler(SIGUSR1).expect("remove"));
    say("removed; kill SIGUSR1");
    kill_self(Signal::USR1);
    say("survived SIGUSR1");
}

fn close_removes_handlers_child() {
    let event_loop = EventLoop::new();
    event_loop
        .add_signal_handler(SIGUSR1, || {})
        .expect("add_signal_handler");
    event_loop.close().expect("close");
    say("closed; kill SIGUSR1");
    kill_self(Signal::USR1);
    say("survived SIGUSR1");
}

fn uncatchable_and_invalid_signals_child() {
    let event_loop = EventLoop::new();
    for sig in [SIGKILL, SIGSTOP, SIGSEGV] {
        let error = event_loop.add_signal_handler(sig, || {}).unwrap_err();
        assert!(
            matches!(error, SignalError::CannotBeCaught(s) if s == sig),
            "{error:?}"
        );
        assert_eq!(error.to_string(), format!("sig {sig} cannot be caught"));
    }
    for sig in [0, -1, 32, 33, 65] {
        let error = event_loop.add_signal_handler(sig, || {}).unwrap_err();
        assert!(
            matches!(error, SignalError::InvalidSignal(s) if s == sig),
            "{error:?}"
        );
        assert_eq!(error.to_string(), format!("invalid signal number {sig}"));
        let error = event_loop.remove_signal_handler(sig).unwrap_err();
        assert!(
            matches!(error, SignalError::InvalidSignal(s) if s == sig),
            "{error:?}"
        );
    }
    assert!(!event_loop.remove_signal_handler(SIGUSR2).expect("remove"));
    std::thread::spawn(|| {
        let error = EventLoop::new()
            .add_signal_handler(SIGUSR2, || {})
            .unwrap_err();
        assert!(matches!(error, SignalError::NotMainThread), "{error:?}");
    })
    .join()
    .expect("thread");
    event_loop.close().expect("close");
    let error = event_loop.add_signal_handler(SIGUSR2, || {}).unwrap_err();
    assert!(matches!(error, SignalError::Closed), "{error:?}");
}

/// `_sigint_main` of peers/python/asyncio_orderings.py.
fn sigint_main(twice: bool) {
    let outcome = run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let kill = || {
            out("kill SIGINT");
            kill_self(Signal::INT);
        };
        event_loop.call_soon(kill);
        out("main: sleeping");
        let slept = match sleep(3600.0).await {
            Err(Error::Cancelled) => {
                out("main: cancelled");
                if twice {
                    event_loop.call_soon(kill);
                    out("main: cleanup sleeping");
                    let cleanup = sleep(3600.0).await;
                    out("main: cleanup finally");
                    cleanup
                } else {
                    Err(Error::Cancelled)
                }
            }
            other => other,
        };
        out("main: finally");
        slept
    });
    match outcome {
        Err(RunError::Interrupted) => out("run: KeyboardInterrupt"),
        other => out(format!("run: {other:?}")),
    }
}

fn run_sigint_once_child() {
    sigint_main(false);
    assert_matches_fixture("run_sigint_once");
    say("fixture matched; kill SIGINT");
    kill_self(Signal::INT);
    say("survived SIGINT");
}

fn run_sigint_twice_child() {
    sigint_main(true);
    assert_matches_fixture("run_sigint_twice");
}

// --- the tests, run in the parent ---

fn signal_handler_order() {
    assert_child_ok("signal_handler_order");
}

fn remove_restores_default() {
    assert_child_killed_by("remove_restores_default", SIGUSR1, "removed; kill SIGUSR1");
}

fn close_removes_handlers() {
    assert_child_killed_by("close_removes_handlers", SIGUSR1, "closed; kill SIGUSR1");
}

fn uncatchable_and_invalid_signals() {
    assert_child_ok("uncatchable_and_invalid_signals");
}

fn run_sigint_once() {
    assert_child_killed_by("run_sigint_once", SIGINT, "fixture matched; kill SIGINT");
}

fn run_sigint_twice() {
    assert_child_ok("run_sigint_twice");
}

/// (name, parent side, child side).
const TESTS: &[ScenarioPair] = &[
    (
        "signal_handler_order",
        signal_handler_order,
        signal_handler_order_child,
    ),
    (
        "remove_restores_default",
        remove_restores_default,
        remove_restores_default_child,
    ),
    (
        "close_removes_handlers",
        close_removes_handlers,
        close_removes_handlers_child,
    ),
    (
        "uncatchable_and_invalid_signals",
        uncatchable_and_invalid_signals,
        uncatchable_and_invalid_signals_child,
    ),
    ("run_sigint_once", run_sigint_once, run_sigint_once_child),
    ("run_sigint_twice", run_sigint_twice, run_sigint_twice_child),
];

fn main() {
    scenario_harness::scenarios_main(CHILD_ENV, TESTS);
}
