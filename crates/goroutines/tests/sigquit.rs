//! SIGQUIT prints every goroutine with its id, state, wait reason and wait time, then exits with
//! status 2, as a Go program does. Run in a child process (this binary re-run for one test, as
//! rayon's `tests/stack_overflow_crash.rs` does): the child parks goroutines on a channel receive
//! and in a sleep, says `ready`, and the parent sends it SIGQUIT.

mod signal_common;

use std::time::{Duration, Instant};

use goroutines::{chan, goroutine_id, sleep, Runtime};
use signal_common::{disable_core_dumps, run_child_within, Ended, CHILD_ENV};

/// How long the child may take to get ready, and then to exit after SIGQUIT.
const CHILD_LIMIT: Duration = Duration::from_secs(10);

fn runtime() -> Runtime {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    unsafe { goroutines::Builder::new().procs(2).build() }.unwrap()
}

/// Starts, on `rt`, one goroutine parked in a channel receive and one in an hour's sleep, prints
/// their ids (`receiver <id>`, `sleeper <id>`), and returns once the runtime's own dump shows both
/// parked.
fn park_a_receiver_and_a_sleeper(rt: &Runtime) {
    let (tx, rx) = chan::<()>(0);
    // Never sent on nor closed: the process ends by SIGQUIT.
    std::mem::forget(tx);
    rt.go(move || {
        println!("receiver {}", goroutine_id().unwrap());
        let _ = rx.recv();
    });
    rt.go(|| {
        println!("sleeper {}", goroutine_id().unwrap());
        sleep(Duration::from_secs(3600));
    });
    let deadline = Instant::now() + CHILD_LIMIT;
    loop {
        let dump = rt.goroutine_dump();
        if dump.contains("[chan receive") && dump.contains("[sleep") {
            return;
        }
        assert!(Instant::now() < deadline, "never parked:\n{dump}");
        std::thread::yield_now();
    }
}

/// Runs `test` as a child, sends it SIGQUIT once it prints `ready`, and waits for it to exit,
/// killing it if it takes longer than `CHILD_LIMIT` to get ready and `CHILD_LIMIT` more to exit.
fn quit_child(test: &str) -> Ended {
    let mut ready = false;
    let ended = run_child_within(test, 2 * CHILD_LIMIT, |line, pid| {
        if line == "ready" && !ready {
            ready = true;
            // SAFETY: `kill` has no memory-safety preconditions; `pid` is our child, not yet
            // reaped (it is printing, so it has not exited).
            unsafe { libc::kill(pid, libc::SIGQUIT) };
        }
    });
    assert!(ready, "the child never got ready: {}", ended.describe());
    ended
}

/// The wait time in a Go traceback header `goroutine <id> [<reason>, <n> ms]:` in `stderr`, or
/// None if there is no such line.
fn waited_ms(stderr: &str, id: &str, reason: &str) -> Option<u64> {
    let prefix = format!("goroutine {id} [{reason}, ");
    stderr
        .lines()
        .find_map(|l| l.strip_prefix(&prefix)?.strip_suffix(" ms]:")?.parse().ok())
}

/// The id the child printed after `label `.
fn printed_id<'a>(stdout: &'a str, label: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(label)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("the child printed no {label} id:\n{stdout}"))
}

#[test]
fn sigquit_dumps_every_goroutine_and_exits_with_status_2() {
    let name = "sigquit_dumps_every_goroutine_and_exits_with_status_2";
    if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
        disable_core_dumps();
        let rt = runtime();
        park_a_receiver_and_a_sleeper(&rt);
        println!("ready");
        loop {
            std::thread::park();
        }
    }
    let quit = quit_child(name);
    let (stdout, stderr) = (&quit.stdout, &quit.stderr);
    assert_eq!(
        quit.status.code(),
        Some(2),
        "{}; stderr:\n{stderr}",
        quit.status
    );
    assert!(stderr.starts_with("SIGQUIT: quit\n"), "stderr:\n{stderr}");
    let receiver = printed_id(stdout, "receiver");
    let sleeper = printed_id(stdout, "sleeper");
    assert!(
        waited_ms(stderr, receiver, "chan receive").is_some(),
        "no `goroutine {receiver} [chan receive, <n> ms]:` in stderr:\n{stderr}"
    );
    assert!(
        waited_ms(stderr, sleeper, "sleep").is_some(),
        "no `goroutine {sleeper} [sleep, <n> ms]:` in stderr:\n{stderr}"
    );
}

/// With two runtimes, both are dumped, each under a header, since goroutine ids are per runtime.
#[test]
fn sigquit_dumps_every_runtime() {
    let name = "sigquit_dumps_every_runtime";
    if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
        disable_core_dumps();
        let first = runtime();
        let second = runtime();
        park_a_receiver_and_a_sleeper(&first);
        park_a_receiver_and_a_sleeper(&second);
        println!("ready");
        loop {
            std::thread::park();
        }
    }
    let quit = quit_child(name);
    let stderr = &quit.stderr;
    assert_eq!(
        quit.status.code(),
        Some(2),
        "{}; stderr:\n{stderr}",
        quit.status
    );
    let first = stderr.find("runtime 1 of 2:");
    let second = stderr.find("runtime 2 of 2:");
    assert!(
        matches!((first, second), (Some(a), Some(b)) if a < b),
        "stderr:\n{stderr}"
    );
    for reason in ["[chan receive, ", "[sleep, "] {
        assert_eq!(
            stderr.matches(reason).count(),
            2,
            "{reason}: stderr:\n{stderr}"
        );
    }
}
