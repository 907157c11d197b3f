//! A goroutine readied into its readier's empty run queue wakes no thread (`Sched::ready`,
//! Tokio's LIFO-slot rule): a channel ping-pong on two Ps stays on one thread instead of waking
//! the other for every hand-off. The wake-up is deferred, not dropped: a readier that runs on
//! without blocking has the readied goroutine stolen by another thread (sysmon's backstop),
//! long before the 10 ms preemption would have moved it.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{runtime, wait_parked};
use goroutines::{chan, go, yield_now};

const ROUND_TRIPS: u64 = 200_000;

#[test]
fn a_ping_pong_on_two_ps_parks_no_thread_per_hand_off() {
    let rt = Arc::new(runtime(2));
    let before = rt.stats();
    let sum = rt.run(|| {
        let (to_pong, from_ping) = chan::<u64>(0);
        let (to_ping, from_pong) = chan::<u64>(0);
        let pong = go(move || {
            for v in from_ping.iter() {
                to_ping.send(v + 1).unwrap();
            }
        });
        let mut sum = 0;
        for i in 0..ROUND_TRIPS {
            to_pong.send(i).unwrap();
            sum += from_pong.recv().unwrap();
        }
        drop(to_pong);
        pong.join().unwrap();
        sum
    });
    assert_eq!(sum, (1..=ROUND_TRIPS).sum::<u64>());
    let parks = rt.stats().thread_parks - before.thread_parks;
    // Waking the idle P's thread on every hand-off (Go's wakep) parked it 841 times in one run
    // of this test on this machine; deferring the wake-up leaves it parked but for the
    // occasional settle or sysmon round: 38-62 parks in six runs of 2026-11-29 (the bound was
    // 50 until then, and failed half the runs). 250 keeps a wide margin on both sides.
    assert!(
        parks < 250,
        "{parks} thread parks in {ROUND_TRIPS} round trips"
    );
}

/// One try of the test below: a readier that readies a consumer and runs on. Returns the
/// runtime's counters from the send to the consumer's end, and how long the readier spun before
/// the consumer ran.
fn ready_and_run_on() -> (goroutines::Stats, Duration) {
    let rt = Arc::new(runtime(2));
    let inside = Arc::clone(&rt);
    let (before, ran_while_spinning, waited) = rt.run(move || {
        let ran = Arc::new(AtomicBool::new(false));
        let (tx, rx) = chan::<()>(0);
        let flag = Arc::clone(&ran);
        let consumer = go(move || {
            rx.recv().unwrap();
            flag.store(true, Ordering::Release);
        });
        wait_parked(&inside, "chan receive", 1);
        // Counted from here: getting the consumer parked may itself take a steal or a retake.
        let before = inside.stats();
        // A fresh time slice for the spin: polling the dump above made no runtime call, so
        // without this the slice sysmon times could be most of its 10 ms gone already.
        yield_now();
        // The consumer waits in the receive: this send hands the value over and readies it into
        // our empty `runnext`; then we spin without a runtime call, so this P never runs it.
        tx.send(()).unwrap();
        let start = Instant::now();
        while !ran.load(Ordering::Acquire) && start.elapsed() < Duration::from_secs(5) {
            std::hint::spin_loop();
        }
        let waited = start.elapsed();
        let ran_while_spinning = ran.load(Ordering::Acquire);
        consumer.join().unwrap();
        (before, ran_while_spinning, waited)
    });
    assert!(ran_while_spinning, "the consumer did not run in 5 s");
    let after = rt.stats();
    let mut delta = after;
    delta.steals = after.steals - before.steals;
    delta.hog_retakes = after.hog_retakes - before.hog_retakes;
    delta.thread_parks = after.thread_parks - before.thread_parks;
    delta.threads_started = after.threads_started - before.threads_started;
    (delta, waited)
}

/// Stolen by a thread sysmon woke (a steal), not moved with the whole P after the spinner had run
/// 10 ms (a retake). On a loaded machine the woken thread can wait for a core past those 10 ms,
/// and then sysmon retakes the P first (seen under two CPU hogs: one steal and one retake after
/// an 11.4 ms wait; and five tries in a row, 24-357 ms each, while other builds held the cores),
/// so the steal is checked on the best of 10 tries, 100 ms apart so that they span a second of
/// the machine's load rather than one burst of it. A runtime without the backstop moves the
/// consumer by a retake in every try.
#[test]
fn a_goroutine_readied_by_one_that_runs_on_is_stolen_by_another_thread() {
    let mut tries = Vec::new();
    for _ in 0..10 {
        let (stats, waited) = ready_and_run_on();
        if stats.steals >= 1 && stats.hog_retakes == 0 {
            return;
        }
        tries.push(format!("{stats:?}, waited {waited:?}"));
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the consumer was not stolen before a retake in 10 tries: {tries:#?}");
}
