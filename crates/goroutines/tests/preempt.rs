//! Fairness without signals (issue 3, DESIGN.md): on one P, a goroutine that computes without
//! blocking cannot starve the others. One that calls `preempt_check` yields when sysmon marks it
//! (after 10 ms); one that makes no runtime call at all loses its P to another thread, and goes
//! on without one until it blocks.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goroutines::{go, preempt_check, sleep, Builder, Runtime};

fn one_p() -> Runtime {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    unsafe { Builder::new().procs(1).build() }.unwrap()
}

/// Ticks every millisecond for `ticks` ticks while `hog` runs; returns the worst lateness.
fn worst_tick_delay(hog: impl FnOnce(Arc<AtomicBool>) + Send + 'static) -> Duration {
    let rt = one_p();
    rt.run(move || {
        let stop = Arc::new(AtomicBool::new(false));
        let hog_stop = stop.clone();
        let hog = go(move || hog(hog_stop));
        let mut worst = Duration::ZERO;
        for _ in 0..100 {
            let t = Instant::now();
            sleep(Duration::from_millis(1));
            worst = worst.max(t.elapsed().saturating_sub(Duration::from_millis(1)));
        }
        stop.store(true, Ordering::Relaxed);
        hog.join().unwrap();
        worst
    })
}

#[test]
fn a_goroutine_that_calls_preempt_check_yields_when_marked() {
    let worst = worst_tick_delay(|stop| {
        let deadline = Instant::now() + Duration::from_secs(3);
        while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
            preempt_check();
        }
    });
    // sysmon marks after 10 ms; wide band for a loaded machine. Without preemption the ticker
    // would wait for the hog's 3 s.
    assert!(
        worst < Duration::from_millis(500),
        "worst tick delay {worst:?}"
    );
}

#[test]
fn a_goroutine_with_no_runtime_call_loses_its_p() {
    let spins = Arc::new(AtomicU64::new(0));
    let counted = spins.clone();
    let worst = worst_tick_delay(move |stop| {
        let deadline = Instant::now() + Duration::from_secs(3);
        // No runtime call at all: only loads and a clock read.
        while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
            counted.fetch_add(1, Ordering::Relaxed);
            std::hint::black_box(());
        }
    });
    assert!(spins.load(Ordering::Relaxed) > 0);
    assert!(
        worst < Duration::from_millis(500),
        "worst tick delay {worst:?}"
    );
}

/// The goroutine that lost its P blocks next in `sleep`, with no P: its timer goes to a P that is
/// idle while every thread has parked. Before `add_timer` woke a thread for that case, nothing
/// ever ran the timer and this hung (every time, here).
#[test]
fn a_goroutine_that_lost_its_p_wakes_from_sleep() {
    let rt = one_p();
    let (woke_tx, woke_rx) = std::sync::mpsc::channel();
    let _hog = rt.go(move || {
        let other_ran = Arc::new(AtomicBool::new(false));
        let ran = other_ran.clone();
        let _other = go(move || ran.store(true, Ordering::Relaxed));
        // On the one P the other goroutine runs only once sysmon has taken the P from this one.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !other_ran.load(Ordering::Relaxed) && Instant::now() < deadline {
            std::hint::black_box(());
        }
        // Time for the thread that ran it to find nothing more and park.
        let settled = Instant::now() + Duration::from_millis(20);
        while Instant::now() < settled {
            std::hint::black_box(());
        }
        sleep(Duration::from_millis(1));
        let _ = woke_tx.send(other_ran.load(Ordering::Relaxed));
    });
    assert_eq!(
        woke_rx.recv_timeout(Duration::from_secs(20)),
        Ok(true),
        "the goroutine did not lose its P (false) or did not wake from its sleep (timeout)"
    );
}
