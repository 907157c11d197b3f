//! Deadlock detection (Go's `checkdead`), in child processes (this binary re-run for one scenario,
//! as rayon's `tests/stack_overflow_crash.rs` does): a program whose every goroutine is blocked for
//! good exits with status 2 and Go's message and goroutine dump (after a scheduler trace under
//! `GODEBUG=schedtrace`); with detection off it stays alive; a goroutine that merely sleeps is
//! not a deadlock.
//!
//! This test has no libtest harness (`harness = false` in Cargo.toml): the check stands down while
//! any thread of the process might still act, and libtest's main thread, waiting for the test
//! thread, is such a thread. So `main` speaks the small part of libtest's command line that cargo
//! and nextest use (`--list`, `--exact NAME`, name filters: the scenario-harness crate), and a
//! child runs its scenario on the process's main thread, as a real program would.

use scenario_harness::ScenarioFn;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use goroutines::{chan, go, goroutine_id, sleep, Runtime};

/// Set in a child process to the name of the test it runs as the child.
const CHILD_ENV: &str = "GOROUTINES_TEST_CHILD";
/// How long a child may take before the parent kills it as hung.
const CHILD_LIMIT: Duration = Duration::from_secs(10);

fn runtime(detection: bool) -> Runtime {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    unsafe {
        goroutines::Builder::new()
            .procs(2)
            .deadlock_detection(detection)
            .build()
    }
    .unwrap()
}

fn spawn_child(test: &str) -> Child {
    spawn_child_with(test, &[])
}

fn spawn_child_with(test: &str, env: &[(&str, &str)]) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .env(CHILD_ENV, test)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs `test` as a child to its end, killing it after `CHILD_LIMIT`. Returns its output and
/// whether it had to be killed.
fn run_child(test: &str) -> (Output, bool) {
    run_child_with(test, &[])
}

/// [`run_child`] with more environment variables.
fn run_child_with(test: &str, env: &[(&str, &str)]) -> (Output, bool) {
    let child = spawn_child_with(test, env);
    let pid = child.id() as libc::pid_t;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output().unwrap()));
    match rx.recv_timeout(CHILD_LIMIT) {
        Ok(out) => (out, false),
        Err(_) => {
            // SAFETY: `kill` has no memory-safety preconditions; `pid` is our child, which the
            // waiting thread has not reaped, since it has not exited.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            (rx.recv().unwrap(), true)
        }
    }
}

/// Checks the child's report: status 2, Go's message, and the main goroutine (whose id the child
/// printed) listed as waiting on a channel receive.
fn assert_reported(test: &str) {
    let (out, killed) = run_child(test);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !killed,
        "deadlock not reported; the child hung.\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert_eq!(out.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(
        stderr.contains("fatal error: all goroutines are asleep - deadlock!"),
        "stderr:\n{stderr}"
    );
    let id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("main goroutine "))
        .unwrap_or_else(|| panic!("the child did not print its goroutine id:\n{stdout}"));
    let header = format!("goroutine {id} [chan receive");
    assert!(
        stderr.lines().any(|l| l.starts_with(&header)),
        "no line starting {header:?} in stderr:\n{stderr}"
    );
    // Each goroutine's "created by": the child by the main goroutine, at the `go` call.
    let child = stdout
        .lines()
        .find_map(|l| l.strip_prefix("child goroutine "))
        .unwrap_or_else(|| panic!("the child did not print its second goroutine:\n{stdout}"));
    let (child_id, rest) = child.split_once(" of ").unwrap();
    let (parent, at) = rest.split_once(" at ").unwrap();
    let created = format!("created by goroutine {parent}\n\t{at}");
    let lines: Vec<&str> = stderr.lines().collect();
    let entry = lines
        .iter()
        .position(|l| l.starts_with(&format!("goroutine {child_id} [chan receive")))
        .unwrap_or_else(|| panic!("goroutine {child_id} not in the dump:\n{stderr}"));
    let after = lines[entry + 1..].join("\n");
    assert!(
        after.starts_with(&created),
        "goroutine {child_id} not {created:?} in stderr:\n{stderr}"
    );
    // The main goroutine was started by a plain thread, in this file.
    let main_entry = lines.iter().position(|l| l.starts_with(&header)).unwrap();
    assert_eq!(
        lines.get(main_entry + 1),
        Some(&"created by a plain thread")
    );
    let main_at = format!("\t{}:", file!());
    assert!(
        lines
            .get(main_entry + 2)
            .is_some_and(|l| l.starts_with(&main_at)),
        "the main goroutine's location is not in {main_at:?}:\n{stderr}"
    );
}

/// The main goroutine starts a goroutine, and both receive on a channel nobody will ever send
/// on. Prints both ids and where the second was started.
fn receive_forever() {
    let main = goroutine_id().unwrap();
    println!("main goroutine {main}");
    let (_tx, rx) = chan::<u32>(0);
    let other = rx.clone();
    let line = line!() + 1;
    let child = go(move || other.recv());
    println!(
        "child goroutine {} of {main} at {}:{line}:",
        child.id(),
        file!()
    );
    let _ = rx.recv();
    unreachable!("nobody sends");
}

fn receive_with_no_sender_is_reported_as_a_deadlock(child: bool) {
    let name = "receive_with_no_sender_is_reported_as_a_deadlock";
    if child {
        runtime(true).run(receive_forever);
        unreachable!("the deadlock exits the process");
    }
    assert_reported(name);
}

fn deadlock_is_reported_when_the_last_plain_thread_blocks_after_the_goroutines(child: bool) {
    let name = "deadlock_is_reported_when_the_last_plain_thread_blocks_after_the_goroutines";
    if child {
        let rt = runtime(true);
        let main = rt.go(receive_forever);
        // This thread still works on something else while the goroutine blocks and the scheduler
        // goes idle; only then does it wait too, and nothing is left to run.
        std::thread::sleep(Duration::from_millis(200));
        let _ = main.join();
        unreachable!("the deadlock exits the process");
    }
    assert_reported(name);
}

fn with_detection_off_a_deadlocked_program_stays_alive(child: bool) {
    let name = "with_detection_off_a_deadlocked_program_stays_alive";
    if child {
        let rt = runtime(false);
        let main = rt.go(receive_forever);
        // Tell the parent once both goroutines are parked: the second one may park while the
        // first still prints its lines.
        while rt.goroutine_dump().matches("[chan receive").count() < 2 {
            std::thread::yield_now();
        }
        println!("parked");
        let _ = main.join();
        unreachable!("nobody sends");
    }
    let mut child = spawn_child(name);
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    // Read to the end, not just to "parked": closing the pipe early fails the child's next write
    // (its main goroutine, still printing after the other one had parked, panicked on the
    // broken pipe and the child exited: this test's failure under load).
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if line.as_deref().is_ok_and(|l| l == "parked") {
                let _ = tx.send(());
            }
        }
    });
    let parked = rx.recv_timeout(CHILD_LIMIT);
    // The check: still alive 500 ms after its only goroutine blocked for good.
    if parked.is_ok() {
        std::thread::sleep(Duration::from_millis(500));
    }
    let alive = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        parked.is_ok(),
        "the child never reported its goroutine parked; stderr:\n{stderr}"
    );
    assert!(
        alive,
        "the child exited ({}); stderr:\n{stderr}",
        out.status
    );
    assert!(!stderr.contains("deadlock"), "stderr:\n{stderr}");
}

fn waiting_on_a_sleeping_goroutine_is_not_a_deadlock(child: bool) {
    let name = "waiting_on_a_sleeping_goroutine_is_not_a_deadlock";
    if child {
        runtime(true).run(|| {
            go(|| sleep(Duration::from_millis(200))).join().unwrap();
            // Also through a channel: the sender sleeps first.
            let (tx, rx) = chan(0);
            go(move || {
                sleep(Duration::from_millis(200));
                tx.send(1).unwrap();
            });
            assert_eq!(rx.recv(), Ok(1));
        });
        println!("finished");
        return;
    }
    let (out, killed) = run_child(name);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!killed, "the child hung; stderr:\n{stderr}");
    assert!(out.status.success(), "{}; stderr:\n{stderr}", out.status);
    assert!(stdout.lines().any(|l| l == "finished"), "stdout:\n{stdout}");
    assert!(!stderr.contains("deadlock"), "stderr:\n{stderr}");
}

/// With park backtraces on (through the environment, as a user turns them on), the report shows
/// each parked goroutine's stack between its header and its "created by": the runtime's park,
/// the channel's receive and the function the goroutine runs, innermost first.
fn parked_stacks_are_reported_when_recorded(child: bool) {
    let name = "parked_stacks_are_reported_when_recorded";
    if child {
        runtime(true).run(receive_forever);
        unreachable!("the deadlock exits the process");
    }
    let (out, killed) = run_child_with(name, &[("GOROUTINES_PARK_BACKTRACE", "1")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!killed, "the child hung; stderr:\n{stderr}");
    assert_eq!(out.status.code(), Some(2), "stderr:\n{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    for prefix in ["main goroutine ", "child goroutine "] {
        let id = stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or_else(|| panic!("no {prefix:?} line in stdout:\n{stdout}"));
        let header = format!("goroutine {id} [chan receive");
        let entry = lines
            .iter()
            .position(|l| l.starts_with(&header))
            .unwrap_or_else(|| panic!("no {header:?} in stderr:\n{stderr}"));
        let stack: Vec<&str> = lines[entry + 1..]
            .iter()
            .take_while(|l| !l.starts_with("created by"))
            .copied()
            .collect();
        let names: Vec<&str> = stack.iter().step_by(2).copied().collect();
        assert!(
            names.first().is_some_and(|n| n.contains("gopark")),
            "goroutine {id}'s stack does not start at the park:\n{stderr}"
        );
        assert!(
            names.iter().any(|n| n.starts_with("goroutines::chan::")),
            "goroutine {id}'s stack has no channel frame:\n{stderr}"
        );
        assert!(
            names.last().is_some_and(|n| n.contains("receive_forever")),
            "goroutine {id}'s stack does not end in its function:\n{stderr}"
        );
        assert!(
            stack.iter().skip(1).step_by(2).all(|l| l.starts_with('\t')),
            "goroutine {id}'s frames are not name and tab-indented location:\n{stderr}"
        );
    }
}

/// With `GODEBUG=schedtrace` on, the report starts with a detailed scheduler trace between Go's
/// `fatal error` line and the goroutine dump, as Go's `startpanic_m` prints it: a header, a line
/// per P, and a line for the main goroutine waiting on its receive.
fn deadlock_report_starts_with_a_scheduler_trace_under_schedtrace(child: bool) {
    let name = "deadlock_report_starts_with_a_scheduler_trace_under_schedtrace";
    if child {
        runtime(true).run(receive_forever);
        unreachable!("the deadlock exits the process");
    }
    // A period longer than the child lives: the only detailed trace is the report's.
    let (out, killed) = run_child_with(name, &[("GODEBUG", "schedtrace=60000")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!killed, "the child hung; stderr:\n{stderr}");
    assert_eq!(out.status.code(), Some(2), "stderr:\n{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    let fatal = lines
        .iter()
        .position(|l| *l == "fatal error: all goroutines are asleep - deadlock!")
        .unwrap_or_else(|| panic!("no deadlock error in stderr:\n{stderr}"));
    let header = lines.get(fatal + 1).copied().unwrap_or_default();
    assert!(
        header.starts_with("SCHED ") && header.contains(" gcwaiting=false "),
        "no detailed trace after the error:\n{stderr}"
    );
    let trace: Vec<&str> = lines[fatal + 2..]
        .iter()
        .take_while(|l| l.starts_with("  "))
        .copied()
        .collect();
    assert_eq!(
        trace.iter().filter(|l| l.starts_with("  P")).count(),
        2,
        "P lines:\n{stderr}"
    );
    let main = stdout
        .lines()
        .find_map(|l| l.strip_prefix("main goroutine "))
        .unwrap_or_else(|| panic!("the child did not print its goroutine id:\n{stdout}"));
    let main_line = format!("  G{main}: status=4(chan receive) m=nil lockedm=nil");
    assert!(
        trace.contains(&main_line.as_str()),
        "no {main_line:?} in the trace:\n{stderr}"
    );
    // Then the dump, after a blank line.
    assert_eq!(lines.get(fatal + 2 + trace.len()), Some(&""), "{stderr}");
}

/// The scenarios, by name.
const TESTS: &[ScenarioFn] = &[
    (
        "receive_with_no_sender_is_reported_as_a_deadlock",
        receive_with_no_sender_is_reported_as_a_deadlock,
    ),
    (
        "deadlock_is_reported_when_the_last_plain_thread_blocks_after_the_goroutines",
        deadlock_is_reported_when_the_last_plain_thread_blocks_after_the_goroutines,
    ),
    (
        "with_detection_off_a_deadlocked_program_stays_alive",
        with_detection_off_a_deadlocked_program_stays_alive,
    ),
    (
        "waiting_on_a_sleeping_goroutine_is_not_a_deadlock",
        waiting_on_a_sleeping_goroutine_is_not_a_deadlock,
    ),
    (
        "parked_stacks_are_reported_when_recorded",
        parked_stacks_are_reported_when_recorded,
    ),
    (
        "deadlock_report_starts_with_a_scheduler_trace_under_schedtrace",
        deadlock_report_starts_with_a_scheduler_trace_under_schedtrace,
    ),
];

fn main() {
    scenario_harness::scenarios_main(CHILD_ENV, TESTS);
}
