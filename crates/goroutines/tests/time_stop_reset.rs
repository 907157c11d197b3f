//! `Timer::stop` and `Timer::reset`, `after_func` and `Ticker` with Go 1.23's semantics (Go's
//! `time/sleep.go` and `tick.go` documentation): a stopped or re-armed timer never delivers a
//! time from before the call, a time the program has not received still counts as running,
//! `after_func` starts its function in a goroutine, and all of it on goroutines and on plain
//! threads. Waits are events (a receive, a join); the only sleeps let a timer fall due, with
//! margins wide enough for a loaded 2-core machine.

mod common;

use common::runtime;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goroutines::{after_func, chan, sleep, Ticker, Timer};

const SHORT: Duration = Duration::from_millis(5);
const LONG: Duration = Duration::from_secs(3600);
/// Long enough for a timer of `SHORT` to have fired on a loaded machine.
const SETTLE: Duration = Duration::from_millis(100);

/// The four answers of `stop`: running (true), fired and not received (true, and the time is
/// taken out), fired and received (false), stopped already (false). `on_goroutine` picks where
/// the timers are armed.
fn stop_answers(check: impl Fn() + Send + 'static, on_goroutine: bool) {
    if on_goroutine {
        runtime(2).run(check);
    } else {
        check();
    }
}

fn check_stop_answers() {
    let running = Timer::after(LONG);
    assert!(running.stop(), "stop of a running timer");
    assert!(!running.stop(), "second stop");

    let unreceived = Timer::after(SHORT);
    sleep(SETTLE);
    assert!(unreceived.stop(), "stop with the time not yet received");
    assert!(
        unreceived.receiver().try_recv().is_err(),
        "a stale time after stop"
    );

    let received = Timer::after(SHORT);
    received.receiver().recv().unwrap();
    assert!(!received.stop(), "stop after the time was received");
}

#[test]
fn stop_answers_as_go_on_a_goroutine() {
    stop_answers(check_stop_answers, true);
}

#[test]
fn stop_answers_as_go_on_a_plain_thread() {
    stop_answers(check_stop_answers, false);
}

fn check_reset() {
    // Re-armed before it fired: it was running, and fires once, at the new time.
    let timer = Timer::after(LONG);
    let start = Instant::now();
    assert!(timer.reset(SHORT), "reset of a running timer");
    timer.receiver().recv().unwrap();
    assert!(start.elapsed() >= SHORT);
    assert!(start.elapsed() < LONG / 2);

    // Fired and not received: the stale time is dropped; the next one is the new arming's.
    let timer = Timer::after(SHORT);
    sleep(SETTLE);
    let reset_at = Instant::now();
    assert!(timer.reset(SHORT), "reset with the time not yet received");
    let fired = timer.receiver().recv().unwrap();
    assert!(fired >= reset_at, "received a time from before the reset");

    // Fired and received: reset says so and arms it again.
    assert!(!timer.reset(SHORT), "reset after the time was received");
    timer.receiver().recv().unwrap();
    assert!(!timer.stop());
}

#[test]
fn reset_rearms_without_stale_times_on_a_goroutine() {
    runtime(2).run(check_reset);
}

#[test]
fn reset_rearms_without_stale_times_on_a_plain_thread() {
    check_reset();
}

/// `after_func` starts `f` in a goroutine of its own (not on the timer's thread: it may block);
/// `stop` before it fires prevents the call; `reset` after it fired calls it again; dropping
/// the `Timer` does not cancel it.
#[test]
fn after_func_runs_in_its_own_goroutine() {
    let rt = runtime(2);
    rt.run(|| {
        let calls = Arc::new(AtomicU32::new(0));
        let (tx, rx) = chan::<Option<u64>>(0);
        let timer = {
            let (calls, tx) = (calls.clone(), tx.clone());
            after_func(SHORT, move || {
                calls.fetch_add(1, Ordering::SeqCst);
                // A blocking send: fine in a goroutine of its own.
                tx.send(goroutines::goroutine_id()).unwrap();
            })
        };
        let first = rx.recv().unwrap();
        assert!(first.is_some(), "f ran outside a goroutine");
        assert_ne!(first, goroutines::goroutine_id(), "f ran on the caller");
        assert!(!timer.stop(), "stop after f started");
        assert!(!timer.reset(SHORT), "reset after f started");
        rx.recv().unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        let stopped = {
            let calls = calls.clone();
            after_func(SHORT, move || {
                calls.fetch_add(100, Ordering::SeqCst);
            })
        };
        assert!(stopped.stop(), "stop before f started");
        sleep(SETTLE);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "a stopped after_func ran");

        drop(after_func(SHORT, move || tx.send(None).unwrap()));
        assert_eq!(
            rx.recv().unwrap(),
            None,
            "a dropped after_func timer never ran"
        );
    });
}

/// On a plain thread there is no goroutine to start: `f` runs on a thread of its own.
#[test]
fn after_func_on_a_plain_thread_runs_on_a_thread_of_its_own() {
    let (tx, rx) = std::sync::mpsc::channel();
    let timer = after_func(SHORT, move || {
        tx.send(std::thread::current().name().map(str::to_owned))
            .unwrap()
    });
    let name = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(name.as_deref(), Some("goroutines-after-func"));
    assert!(!timer.stop());
}

/// Plain-thread timers share one helper thread: 5,000 timed `select!`s with a ready value and a
/// 10 s timeout each leave at most a few threads more (a thread per timer, as before, left
/// thousands asleep), and the stopped timers are dropped early from the helper's heap.
#[test]
fn plain_thread_timers_share_one_thread() {
    let before = probe::threads::os_threads().unwrap();
    let (tx, rx) = chan::<u32>(1);
    for i in 0..5_000 {
        tx.send(i).unwrap();
        goroutines::select! {
            recv(rx) -> v => assert_eq!(v, Ok(i)),
            default(Duration::from_secs(10)) => panic!("the ready value lost to the timeout"),
        }
    }
    let after = probe::threads::os_threads().unwrap();
    assert!(
        after <= before + 3,
        "{before} threads before, {after} after 5,000 timed selects"
    );
}

/// A `Ticker` ticks, stops (no tick arrives after `stop`, not even one sent before it), and
/// restarts with a new period on `reset`.
fn check_ticker() {
    // Read the clock before arming: a thread held off a core between the two would otherwise
    // start the count late (three ticks were seen 'in' under 15 ms under two CPU hogs).
    let start = Instant::now();
    let ticker = Ticker::new(SHORT);
    for _ in 0..3 {
        ticker.receiver().recv().unwrap();
    }
    assert!(start.elapsed() >= 3 * SHORT);
    sleep(SETTLE);
    ticker.stop();
    sleep(SETTLE);
    assert!(ticker.receiver().try_recv().is_err(), "a tick after stop");
    let reset_at = Instant::now();
    ticker.reset(2 * SHORT);
    let tick = ticker.receiver().recv().unwrap();
    assert!(
        tick >= reset_at + 2 * SHORT,
        "the first tick after reset came early"
    );
    ticker.stop();
}

#[test]
fn ticker_stops_and_resets_on_a_goroutine() {
    runtime(2).run(check_ticker);
}

#[test]
fn ticker_stops_and_resets_on_a_plain_thread() {
    check_ticker();
}

/// Stop racing the timer's own firing, many times on two Ps: the other P's thread fires the
/// timer (it sleeps in the poller until it is due) while this goroutine spins to about that
/// moment and stops it. Whatever `stop` answers, no time is received after it returns; a false
/// answer means the time was received before it, a true one that it was not.
#[test]
fn stop_racing_the_fire_never_leaves_a_stale_time() {
    runtime(2).run(|| {
        let mut outcomes = [0u32; 2];
        for round in 0..1_000u32 {
            // The poller sleeps in whole milliseconds: a 1 ms timer fires 1-2 ms after it is
            // armed, and the stops land across that window.
            let timer = Timer::after(Duration::from_millis(1));
            let due = Instant::now() + Duration::from_micros(1_000 + u64::from(round % 40) * 25);
            while Instant::now() < due {
                std::hint::spin_loop();
            }
            let received = timer.receiver().try_recv().is_ok();
            let stopped = timer.stop();
            assert!(
                !(received && stopped),
                "round {round}: stop said running after the time was received"
            );
            assert!(
                received || stopped,
                "round {round}: stop said fired but nothing was received"
            );
            assert!(
                timer.receiver().try_recv().is_err(),
                "round {round}: stale time"
            );
            outcomes[usize::from(received)] += 1;
        }
        eprintln!(
            "stopped first: {}, received first: {}",
            outcomes[0], outcomes[1]
        );
    });
}
