//! `sync::WaitGroup`: waiting for many goroutines, many waiters (goroutines and a plain thread)
//! all woken, reuse after reaching zero (Go's `TestWaitGroup` in `sync/waitgroup_test.go`), and
//! the negative-counter and overflow panics.

mod common;

use common::{runtime, wait_until};

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use goroutines::sync::WaitGroup;
use goroutines::{chan, go, yield_now, TryRecvError};

#[test]
fn wait_returns_after_1000_goroutines_are_done() {
    const GOROUTINES: usize = 1_000;
    runtime(2).run(|| {
        let wg = WaitGroup::new();
        let finished = Arc::new(AtomicUsize::new(0));
        for _ in 0..GOROUTINES {
            wg.add(1);
            let wg = wg.clone();
            let finished = finished.clone();
            go(move || {
                yield_now();
                finished.fetch_add(1, Ordering::Relaxed);
                wg.done();
            });
        }
        wg.wait();
        // Relaxed suffices: each `done` happens before `wait` returns.
        assert_eq!(finished.load(Ordering::Relaxed), GOROUTINES);
    });
}

/// Ten goroutines, parked in `wait` as the goroutine dump shows, and a plain thread blocked in
/// it all return after one `done` from the main thread.
#[test]
fn every_waiter_wakes_goroutines_and_threads() {
    const WAITERS: usize = 10;
    let rt = runtime(2);
    let wg = WaitGroup::new();
    wg.add(1);
    let waiters: Vec<_> = (0..WAITERS)
        .map(|_| {
            let wg = wg.clone();
            rt.go(move || wg.wait())
        })
        .collect();
    let thread = {
        let wg = wg.clone();
        std::thread::spawn(move || wg.wait())
    };
    wait_until(|| rt.goroutine_dump().matches("[sync.WaitGroup.Wait").count() == WAITERS);
    wg.done();
    waiters.into_iter().for_each(|w| w.join().unwrap());
    thread.join().unwrap();
}

/// Go's `testWaitGroup`: `n` goroutines each `done` one group and wait on a second, which the
/// coordinator counts down one by one; none may pass before the last `done`. Go's `TestWaitGroup`
/// runs it 8 times on the same two groups, so they must be reusable once back at zero.
#[test]
fn reuse_after_reaching_zero() {
    const N: usize = 16;
    runtime(2).run(|| {
        let wg1 = WaitGroup::new();
        let wg2 = WaitGroup::new();
        for _ in 0..8 {
            wg1.add(N as isize);
            wg2.add(N as isize);
            let (exited_tx, exited) = chan(N);
            for _ in 0..N {
                let (wg1, wg2, exited_tx) = (wg1.clone(), wg2.clone(), exited_tx.clone());
                go(move || {
                    wg1.done();
                    wg2.wait();
                    exited_tx.send(true).unwrap();
                });
            }
            wg1.wait();
            for _ in 0..N {
                assert_eq!(
                    exited.try_recv(),
                    Err(TryRecvError::Empty),
                    "released too soon"
                );
                wg2.done();
            }
            for _ in 0..N {
                assert_eq!(exited.recv(), Ok(true));
            }
        }
    });
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

/// Go panics with "sync: negative WaitGroup counter"; so does this, leaving the counter as it
/// was, on a plain thread and in a goroutine.
#[test]
fn negative_counter_panics_and_leaves_the_counter_unchanged() {
    let wg = WaitGroup::new();
    let payload = panic::catch_unwind(AssertUnwindSafe(|| wg.done())).unwrap_err();
    assert_eq!(
        panic_message(&*payload),
        Some("sync: negative WaitGroup counter")
    );
    wg.add(2);
    let payload = panic::catch_unwind(AssertUnwindSafe(|| wg.add(-3))).unwrap_err();
    assert_eq!(
        panic_message(&*payload),
        Some("sync: negative WaitGroup counter")
    );
    wg.add(-2);
    wg.wait();

    let error = runtime(2).run(|| go(|| WaitGroup::new().done()).join().unwrap_err());
    assert_eq!(error.message(), Some("sync: negative WaitGroup counter"));
}

/// A counter past `i32::MAX` (Go's counter width) panics too, leaving the counter unchanged.
#[test]
fn counter_overflow_panics_and_leaves_the_counter_unchanged() {
    let wg = WaitGroup::new();
    wg.add(1);
    let payload = panic::catch_unwind(AssertUnwindSafe(|| wg.add(isize::MAX))).unwrap_err();
    assert_eq!(
        panic_message(&*payload),
        Some("sync: WaitGroup counter overflow")
    );
    wg.done();
    wg.wait();
}
