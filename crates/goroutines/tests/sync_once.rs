//! `sync::Once`: 100 goroutines racing run the function once and all return after it (Go's
//! `TestOnce` in `sync/once_test.go`), and a panicking function counts as done, its panic going
//! to the caller that ran it only (Go's `TestOncePanic`).

mod common;

use common::{runtime, wait_until};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use goroutines::chan;
use goroutines::sync::Once;

/// The first racer's function blocks until the 99 others are parked in `call_once` (as the
/// goroutine dump shows); then it sets the value, and every racer sees it on return.
#[test]
fn racing_goroutines_run_it_once_and_all_see_its_effect() {
    const RACERS: usize = 100;
    let rt = runtime(2);
    let once = Arc::new(Once::new());
    let calls = Arc::new(AtomicUsize::new(0));
    let value = Arc::new(AtomicUsize::new(0));
    let (release_tx, release_rx) = chan::<()>(0);
    let racers: Vec<_> = (0..RACERS)
        .map(|_| {
            let (once, calls, value) = (once.clone(), calls.clone(), value.clone());
            let release_rx = release_rx.clone();
            rt.go(move || {
                once.call_once(|| {
                    calls.fetch_add(1, Ordering::Relaxed);
                    release_rx.recv().unwrap();
                    value.store(42, Ordering::Relaxed);
                });
                // Relaxed suffices: the function finished before `call_once` returned.
                value.load(Ordering::Relaxed)
            })
        })
        .collect();
    wait_until(|| rt.goroutine_dump().matches("[sync.Once.Do").count() == RACERS - 1);
    release_tx.send(()).unwrap();
    for racer in racers {
        assert_eq!(
            racer.join().unwrap(),
            42,
            "call_once returned before the function ended"
        );
    }
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert!(once.is_completed());
}

/// The function panics while 10 goroutines wait: the panic reaches its caller only, the waiters
/// return without running theirs, and later calls run nothing either.
#[test]
fn panic_in_the_function_counts_as_done() {
    const WAITERS: usize = 10;
    let rt = runtime(2);
    let once = Arc::new(Once::new());
    let calls = Arc::new(AtomicUsize::new(0));
    let (started_tx, started_rx) = chan::<()>(0);
    let (release_tx, release_rx) = chan::<()>(0);
    let first = {
        let once = once.clone();
        rt.go(move || {
            once.call_once(|| {
                started_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                panic!("the function failed");
            })
        })
    };
    started_rx.recv().unwrap();
    let waiters: Vec<_> = (0..WAITERS)
        .map(|_| {
            let (once, calls) = (once.clone(), calls.clone());
            rt.go(move || {
                once.call_once(|| {
                    calls.fetch_add(1, Ordering::Relaxed);
                })
            })
        })
        .collect();
    wait_until(|| rt.goroutine_dump().matches("[sync.Once.Do").count() == WAITERS);
    release_tx.send(()).unwrap();
    let error = first.join().unwrap_err();
    assert_eq!(error.message(), Some("the function failed"));
    waiters.into_iter().for_each(|w| w.join().unwrap());
    assert!(once.is_completed());
    once.call_once(|| {
        calls.fetch_add(1, Ordering::Relaxed);
    });
    assert_eq!(calls.load(Ordering::Relaxed), 0);
}
