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
use goroutines::{chan, go};

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

#[test]
fn a_goroutine_readied_by_one_that_runs_on_is_stolen_by_another_thread() {
    let rt = Arc::new(runtime(2));
    let inside = Arc::clone(&rt);
    let (ran_while_spinning, waited) = rt.run(move || {
        let ran = Arc::new(AtomicBool::new(false));
        let (tx, rx) = chan::<()>(0);
        let flag = Arc::clone(&ran);
        let consumer = go(move || {
            rx.recv().unwrap();
            flag.store(true, Ordering::Release);
        });
        wait_parked(&inside, "chan receive", 1);
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
        (ran_while_spinning, waited)
    });
    assert!(ran_while_spinning, "the consumer did not run in 5 s");
    let stats = rt.stats();
    // Stolen by a thread sysmon woke (a steal), not moved with the whole P after the spinner
    // had run 12 ms (a retake).
    assert!(stats.steals >= 1, "{stats:?}, waited {waited:?}");
    assert_eq!(stats.hog_retakes, 0, "{stats:?}, waited {waited:?}");
}
