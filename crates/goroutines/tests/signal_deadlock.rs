//! The deadlock check beside `signal::notify`: a goroutine waiting on a channel that a signal
//! will feed is not deadlocked (the watcher thread may wake it, as Go's `signal_recv` may), and
//! once the channel is stopped the same wait is a deadlock again (the watcher can only dump).
//!
//! No libtest harness (`harness = false` in Cargo.toml), as in `deadlock.rs`: the check stands
//! down while any thread of the process might still act, and libtest's main thread is such a
//! thread. So `main` speaks the part of libtest's command line that cargo and nextest use, and a
//! child runs its scenario on the process's main thread, as a real program would.

mod signal_common;

use scenario_harness::ScenarioFn;

use goroutines::signal::{self, Signal, SIGUSR1};
use goroutines::{chan, Runtime};
use signal_common::{kill_child, run_child, CHILD_ENV};

fn runtime() -> Runtime {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    unsafe {
        goroutines::Builder::new()
            .procs(2)
            .deadlock_detection(true)
            .build()
    }
    .unwrap()
}

/// The parent sends SIGUSR1 once the child's goroutine is about to wait; the child must not be
/// reported as deadlocked meanwhile, and gets the signal.
fn waiting_for_a_signal_is_not_a_deadlock(child: bool) {
    if child {
        let got = runtime().run(|| {
            let (tx, rx) = chan::<Signal>(1);
            signal::notify(&tx, &[SIGUSR1]).unwrap();
            println!("ready");
            rx.recv()
        });
        println!("got {:?}", got.unwrap());
        return;
    }
    let ended = run_child("waiting_for_a_signal_is_not_a_deadlock", |line, pid| {
        if line == "ready" {
            kill_child(pid, SIGUSR1);
        }
    });
    assert!(
        ended.status.success() && ended.printed("got SIGUSR1"),
        "{}",
        ended.describe()
    );
}

/// After `stop`, nothing will ever send on the channel: the wait is reported as Go reports it.
fn waiting_after_stop_is_a_deadlock(child: bool) {
    if child {
        runtime().run(|| {
            let (tx, rx) = chan::<Signal>(1);
            signal::notify(&tx, &[SIGUSR1]).unwrap();
            signal::stop(&tx);
            let _ = rx.recv();
        });
        println!("returned");
        return;
    }
    let ended = run_child("waiting_after_stop_is_a_deadlock", |_, _| {});
    assert!(
        ended.status.code() == Some(2)
            && ended
                .stderr
                .starts_with("fatal error: all goroutines are asleep - deadlock!"),
        "{}",
        ended.describe()
    );
}

const TESTS: &[ScenarioFn] = &[
    (
        "waiting_for_a_signal_is_not_a_deadlock",
        waiting_for_a_signal_is_not_a_deadlock,
    ),
    (
        "waiting_after_stop_is_a_deadlock",
        waiting_after_stop_is_a_deadlock,
    ),
];

fn main() {
    scenario_harness::scenarios_main(CHILD_ENV, TESTS);
}
