//! `num_goroutine` counts the goroutines that exist, as Go's `runtime.NumGoroutine`: running,
//! runnable and parked ones, the caller included; a goroutine that has returned no longer
//! counts. From a plain thread it counts every runtime not yet dropped, and 0 without one.
//!
//! The plain-thread count sees every runtime of the process, so the tests of this file run one
//! at a time (`ONE_AT_A_TIME`) and drop their runtimes before the next starts.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use goroutines::{chan, go, num_goroutine, yield_now, Builder, Runtime};

/// Goroutines parked by each test.
const K: usize = 50;
/// How long a count may take to fall back after joins (the join returns just before the
/// goroutine's exit is counted); wide, for a loaded machine.
const SETTLE_LIMIT: Duration = Duration::from_secs(10);

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn runtime(procs: usize) -> Runtime {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    unsafe { Builder::new().procs(procs).build() }.unwrap()
}

/// Yields until `num_goroutine()` is `want`; fails after `SETTLE_LIMIT`.
fn wait_for_count(want: usize) {
    let deadline = Instant::now() + SETTLE_LIMIT;
    while num_goroutine() != want {
        assert!(
            Instant::now() < deadline,
            "num_goroutine() stayed {} where {want} was expected",
            num_goroutine()
        );
        yield_now();
    }
}

#[test]
fn the_main_goroutine_alone_counts_one() {
    let _serial = one_at_a_time();
    for procs in [1, 2] {
        assert_eq!(runtime(procs).run(num_goroutine), 1, "procs {procs}");
    }
}

#[test]
fn parked_goroutines_count_until_they_return() {
    let _serial = one_at_a_time();
    for procs in [1, 2] {
        runtime(procs).run(move || {
            let (ready_tx, ready_rx) = chan::<()>(0);
            let (release_tx, release_rx) = chan::<()>(0);
            let handles: Vec<_> = (0..K)
                .map(|_| {
                    let (ready, release) = (ready_tx.clone(), release_rx.clone());
                    go(move || {
                        ready.send(()).unwrap();
                        // Parks until the channel is closed.
                        assert!(release.recv().is_err());
                    })
                })
                .collect();
            // Started, not yet run: runnable goroutines count.
            assert_eq!(num_goroutine(), 1 + K, "procs {procs}, after the spawns");
            for _ in 0..K {
                ready_rx.recv().unwrap();
            }
            assert_eq!(
                num_goroutine(),
                1 + K,
                "procs {procs}, all parked or parking"
            );
            drop(release_tx);
            for h in handles {
                h.join().unwrap();
            }
            wait_for_count(1);
        });
    }
}

#[test]
fn a_plain_thread_counts_every_live_runtime_and_zero_without_one() {
    let _serial = one_at_a_time();
    assert_eq!(num_goroutine(), 0, "no runtime yet");
    let rt = runtime(2);
    assert_eq!(num_goroutine(), 0, "a runtime without goroutines");
    let (ready_tx, ready_rx) = chan::<()>(0);
    let (release_tx, release_rx) = chan::<()>(0);
    let handles: Vec<_> = (0..K)
        .map(|_| {
            let (ready, release) = (ready_tx.clone(), release_rx.clone());
            rt.go(move || {
                ready.send(()).unwrap();
                assert!(release.recv().is_err());
            })
        })
        .collect();
    for _ in 0..K {
        ready_rx.recv().unwrap();
    }
    assert_eq!(num_goroutine(), K);
    // A second runtime's goroutines count too, from a plain thread.
    let other = runtime(1);
    let (other_release_tx, other_release_rx) = chan::<()>(0);
    let (other_ready_tx, other_ready_rx) = chan::<()>(0);
    let parked = other.go(move || {
        other_ready_tx.send(()).unwrap();
        assert!(other_release_rx.recv().is_err());
    });
    other_ready_rx.recv().unwrap();
    assert_eq!(num_goroutine(), K + 1);
    // From a goroutine, only its own runtime counts.
    assert_eq!(other.go(num_goroutine).join().unwrap(), 2);
    wait_for_count(K + 1);
    // A dropped runtime's goroutines are abandoned, and no longer count.
    drop(other);
    assert_eq!(
        num_goroutine(),
        K,
        "after dropping a runtime with a parked goroutine"
    );
    drop((parked, other_release_tx));
    drop(release_tx);
    for h in handles {
        h.join().unwrap();
    }
    wait_for_count(0);
    rt.go(|| {}).join().unwrap();
    wait_for_count(0);
    drop(rt);
    assert_eq!(num_goroutine(), 0, "every runtime dropped");
}
