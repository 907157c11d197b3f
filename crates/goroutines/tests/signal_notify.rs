//! `signal::notify`, `stop`, `ignore`, `reset` (Go's `os/signal`), each scenario in a child
//! process since signals are process-wide: delivery to every registered channel, from goroutines
//! of two runtimes and a plain thread; a full channel drops the signal instead of blocking; a
//! dropped channel is pruned; `stop` gives back the default action; `ignore` ignores; a SIGQUIT
//! relayed to a channel does not dump, and dumps (or takes its default action, with the dump
//! off) once stopped.

mod signal_common;

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use goroutines::signal::{self, Signal, SIGQUIT, SIGUSR1, SIGUSR2};
use goroutines::{chan, Runtime, TryRecvError};
use signal_common::{disable_core_dumps, is_child, kill_self, raise_here, run_child};

fn runtime(dump: bool) -> Runtime {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    unsafe {
        goroutines::Builder::new()
            .procs(2)
            .sigquit_dump(dump)
            .build()
    }
    .unwrap()
}

/// Sends `signal` to this process and, if it survives, says so: used where the signal's default
/// action should end the child. The wait only bounds the failure: a fatal signal that `kill`
/// sends to its own process ends it before `kill` returns.
fn kill_self_expecting_death(signal: Signal) {
    kill_self(signal);
    std::thread::sleep(Duration::from_secs(5));
    println!("survived");
}

#[test]
fn notify_delivers_to_every_channel() {
    let name = "notify_delivers_to_every_channel";
    if is_child(name) {
        let runtimes = [runtime(true), runtime(true)];
        // One channel registered on this plain thread, one in a goroutine of each runtime.
        let (tx, rx) = chan::<Signal>(1);
        signal::notify(&tx, &[SIGUSR1]).unwrap();
        let (ready_tx, ready_rx) = chan::<()>(0);
        let waiters: Vec<_> = runtimes
            .iter()
            .map(|rt| {
                let ready_tx = ready_tx.clone();
                rt.go(move || {
                    let (tx, rx) = chan::<Signal>(1);
                    signal::notify(&tx, &[SIGUSR1]).unwrap();
                    ready_tx.send(()).unwrap();
                    rx.recv()
                })
            })
            .collect();
        for _ in &waiters {
            ready_rx.recv().unwrap();
        }
        kill_self(SIGUSR1);
        assert_eq!(rx.recv(), Ok(SIGUSR1));
        for waiter in waiters {
            assert_eq!(waiter.join().unwrap(), Ok(SIGUSR1));
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        println!("delivered to 3");
        return;
    }
    let ended = run_child(name, |_, _| {});
    assert!(
        ended.status.success() && ended.printed("delivered to 3"),
        "{}",
        ended.describe()
    );
}

/// Go's `process` sends with `select { case c <- sig: default: }`: a full channel misses the
/// signal and the watcher goes on to the next channel and the next signal.
#[test]
fn full_channel_drops_the_signal_without_blocking() {
    let name = "full_channel_drops_the_signal_without_blocking";
    if is_child(name) {
        let (full_tx, full_rx) = chan::<Signal>(1);
        let (read_tx, read_rx) = chan::<Signal>(8);
        signal::notify(&full_tx, &[SIGUSR1]).unwrap();
        signal::notify(&read_tx, &[SIGUSR1]).unwrap();
        // Each signal waits for the last to reach `read_rx`, so none coalesces. A watcher that
        // blocked on `full_tx` from the second signal on would never deliver the third.
        for _ in 0..3 {
            kill_self(SIGUSR1);
            assert_eq!(read_rx.recv(), Ok(SIGUSR1));
        }
        assert_eq!(full_rx.try_recv(), Ok(SIGUSR1));
        assert_eq!(full_rx.try_recv(), Err(TryRecvError::Empty));
        println!("dropped");
        return;
    }
    let ended = run_child(name, |_, _| {});
    assert!(
        ended.status.success() && ended.printed("dropped"),
        "{}",
        ended.describe()
    );
}

/// After `stop`, a channel gets no more, and once no channel watches SIGUSR1 its default action
/// (terminate) is back.
#[test]
fn stop_gives_back_the_default_action() {
    let name = "stop_gives_back_the_default_action";
    if is_child(name) {
        let (a_tx, a_rx) = chan::<Signal>(1);
        let (b_tx, b_rx) = chan::<Signal>(1);
        signal::notify(&a_tx, &[SIGUSR1]).unwrap();
        signal::notify(&b_tx, &[SIGUSR1]).unwrap();
        signal::stop(&a_tx);
        kill_self(SIGUSR1);
        assert_eq!(b_rx.recv(), Ok(SIGUSR1));
        assert_eq!(a_rx.try_recv(), Err(TryRecvError::Empty));
        signal::stop(&b_tx);
        println!("stopped");
        kill_self_expecting_death(SIGUSR1);
        return;
    }
    let ended = run_child(name, |_, _| {});
    assert!(
        ended.status.signal() == Some(libc::SIGUSR1) && ended.printed("stopped"),
        "{}",
        ended.describe()
    );
}

/// A channel whose receiver was dropped while registered is pruned at the next signal: the send
/// to it neither panics nor keeps the signal caught once the other channel stops.
#[test]
fn dropped_channel_is_pruned() {
    let name = "dropped_channel_is_pruned";
    if is_child(name) {
        let (live_tx, live_rx) = chan::<Signal>(1);
        signal::notify(&live_tx, &[SIGUSR1]).unwrap();
        let (dead_tx, dead_rx) = chan::<Signal>(1);
        signal::notify(&dead_tx, &[SIGUSR1]).unwrap();
        drop(dead_rx);
        kill_self(SIGUSR1);
        assert_eq!(live_rx.recv(), Ok(SIGUSR1));
        signal::stop(&live_tx);
        println!("stopped");
        kill_self_expecting_death(SIGUSR1);
        drop(dead_tx);
        return;
    }
    let ended = run_child(name, |_, _| {});
    assert!(
        ended.status.signal() == Some(libc::SIGUSR1) && ended.printed("stopped"),
        "{}",
        ended.describe()
    );
}

/// `ignore` ignores and undoes earlier `notify`s (a channel registered later gets the signal,
/// the earlier one does not), `ignored` says so, and `reset` gives back the default action.
/// `raise` runs the handler on this thread before it returns, so an un-ignored SIGUSR1 would be
/// pending before the SIGUSR2 that follows, and processed first.
#[test]
fn ignore_ignores_and_reset_restores() {
    let name = "ignore_ignores_and_reset_restores";
    if is_child(name) {
        let (tx, rx) = chan::<Signal>(2);
        signal::notify(&tx, &[SIGUSR1, SIGUSR2]).unwrap();
        signal::ignore(&[SIGUSR1]);
        assert!(signal::ignored(SIGUSR1));
        assert!(!signal::ignored(SIGUSR2));
        raise_here(SIGUSR1);
        raise_here(SIGUSR2);
        assert_eq!(rx.recv(), Ok(SIGUSR2));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        // Caught again, for the new channel only: `ignore` removed SIGUSR1 from `tx`.
        let (later_tx, later_rx) = chan::<Signal>(1);
        signal::notify(&later_tx, &[SIGUSR1]).unwrap();
        assert!(!signal::ignored(SIGUSR1));
        raise_here(SIGUSR1);
        assert_eq!(later_rx.recv(), Ok(SIGUSR1));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        signal::ignore(&[SIGUSR1]);
        signal::reset(&[SIGUSR1]);
        assert!(!signal::ignored(SIGUSR1));
        println!("reset");
        kill_self_expecting_death(SIGUSR1);
        return;
    }
    let ended = run_child(name, |_, _| {});
    assert!(
        ended.status.signal() == Some(libc::SIGUSR1) && ended.printed("reset"),
        "{}",
        ended.describe()
    );
}

/// A SIGQUIT relayed to a channel does not dump (Go: `Notify` takes SIGQUIT over): the watcher
/// goes on to relay a SIGUSR1 after it. Once the channel stops, the runtime's dump is back.
#[test]
fn sigquit_through_notify_does_not_dump() {
    let name = "sigquit_through_notify_does_not_dump";
    if is_child(name) {
        disable_core_dumps();
        let _rt = runtime(true);
        let (tx, rx) = chan::<Signal>(1);
        let (after_tx, after_rx) = chan::<Signal>(1);
        signal::notify(&tx, &[SIGQUIT]).unwrap();
        signal::notify(&after_tx, &[SIGUSR1]).unwrap();
        kill_self(SIGQUIT);
        assert_eq!(rx.recv(), Ok(SIGQUIT));
        kill_self(SIGUSR1);
        assert_eq!(after_rx.recv(), Ok(SIGUSR1));
        println!("relayed");
        signal::stop(&tx);
        kill_self_expecting_death(SIGQUIT);
        return;
    }
    let ended = run_child(name, |_, _| {});
    assert!(
        ended.status.code() == Some(2)
            && ended.printed("relayed")
            && ended.stderr.matches("SIGQUIT: quit").count() == 1,
        "{}",
        ended.describe()
    );
}

/// With the dump off (`Builder::sigquit_dump(false)`), SIGQUIT is relayed while watched and
/// takes its default action (terminate with a core) once stopped.
#[test]
fn sigquit_with_the_dump_off() {
    let name = "sigquit_with_the_dump_off";
    if is_child(name) {
        disable_core_dumps();
        let _rt = runtime(false);
        let (tx, rx) = chan::<Signal>(1);
        signal::notify(&tx, &[SIGQUIT]).unwrap();
        kill_self(SIGQUIT);
        assert_eq!(rx.recv(), Ok(SIGQUIT));
        println!("relayed");
        signal::stop(&tx);
        kill_self_expecting_death(SIGQUIT);
        return;
    }
    let ended = run_child(name, |_, _| {});
    assert!(
        ended.status.signal() == Some(libc::SIGQUIT)
            && ended.printed("relayed")
            && !ended.stderr.contains("SIGQUIT: quit"),
        "{}",
        ended.describe()
    );
}

/// A burst coalesces: each `raise` marks SIGUSR1 pending, and the watcher delivers it at least
/// once and at most once per `raise`, without blocking on the channel.
#[test]
fn burst_is_delivered_at_least_once() {
    let name = "burst_is_delivered_at_least_once";
    if is_child(name) {
        const BURST: usize = 200;
        let (tx, rx) = chan::<Signal>(BURST);
        let (sync_tx, sync_rx) = chan::<Signal>(1);
        signal::notify(&tx, &[SIGUSR1]).unwrap();
        signal::notify(&sync_tx, &[SIGUSR2]).unwrap();
        for _ in 0..BURST {
            raise_here(SIGUSR1);
        }
        // Signals of one pass go out lowest number first, and SIGUSR2 was caught last.
        raise_here(SIGUSR2);
        assert_eq!(sync_rx.recv(), Ok(SIGUSR2));
        let delivered = rx.try_iter().count();
        assert!((1..=BURST).contains(&delivered), "{delivered}");
        println!("delivered {delivered} of {BURST}");
        return;
    }
    let ended = run_child(name, |_, _| {});
    assert!(ended.status.success(), "{}", ended.describe());
}

#[test]
fn signal_names_print_as_go_prints_them() {
    assert_eq!(signal::SIGINT.to_string(), "interrupt");
    assert_eq!(signal::SIGTERM.to_string(), "terminated");
    assert_eq!(SIGUSR1.to_string(), "user defined signal 1");
    assert_eq!(Signal::from_raw(40).to_string(), "signal 40");
    assert_eq!(format!("{:?}", signal::SIGHUP), "SIGHUP");
    assert!(!signal::ignored(Signal::from_raw(0)));
}
