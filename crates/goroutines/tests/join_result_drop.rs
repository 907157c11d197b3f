//! A goroutine's result, or its panic, is dropped exactly once: by whoever joined it, or by the
//! runtime when nobody will (the handle dropped before or after the goroutine finished). The task
//! keeps the result in uninitialised memory whose presence its state records (`runtime/task.rs`),
//! so a double drop or a leak would show here as a count other than one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goroutines::{chan, go, yield_now, Runtime};

fn runtime() -> Runtime {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    unsafe { goroutines::Builder::new().procs(2).build() }.unwrap()
}

/// Counts its drops in a shared counter.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Yields until `drops` reaches `want` (the goroutine's exit drops its task after it returned),
/// for at most 10 s.
fn wait_for(drops: &AtomicUsize, want: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while drops.load(Ordering::SeqCst) < want && Instant::now() < deadline {
        yield_now();
    }
}

#[test]
fn a_joined_value_is_dropped_once_by_its_owner() {
    let rt = runtime();
    let drops = Arc::new(AtomicUsize::new(0));
    let counter = drops.clone();
    rt.run(move || {
        let value = go(move || Counted(counter)).join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        drop(value);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn a_value_whose_handle_was_dropped_before_it_finished_is_dropped_once() {
    let rt = runtime();
    let drops = Arc::new(AtomicUsize::new(0));
    let counter = drops.clone();
    let seen = drops.clone();
    rt.run(move || {
        let (tx, rx) = chan::<()>(0);
        let handle = go(move || {
            rx.recv().unwrap();
            Counted(counter)
        });
        drop(handle);
        tx.send(()).unwrap();
        wait_for(&seen, 1);
    });
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn a_value_whose_handle_was_dropped_after_it_finished_is_dropped_once() {
    let rt = runtime();
    let drops = Arc::new(AtomicUsize::new(0));
    let counter = drops.clone();
    let seen = drops.clone();
    rt.run(move || {
        let handle = go(move || Counted(counter));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !handle.is_finished() && Instant::now() < deadline {
            yield_now();
        }
        assert!(handle.is_finished());
        drop(handle);
        wait_for(&seen, 1);
    });
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn an_unjoined_panic_payload_is_dropped_once() {
    let rt = runtime();
    let drops = Arc::new(AtomicUsize::new(0));
    let counter = drops.clone();
    let seen = drops.clone();
    rt.run(move || {
        let handle = go(move || -> u32 { std::panic::panic_any(Counted(counter)) });
        drop(handle);
        wait_for(&seen, 1);
    });
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn a_joined_panic_payload_is_dropped_once_by_its_owner() {
    let rt = runtime();
    let drops = Arc::new(AtomicUsize::new(0));
    let counter = drops.clone();
    rt.run(move || {
        let error = go(move || -> u32 { std::panic::panic_any(Counted(counter)) })
            .join()
            .unwrap_err();
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        drop(error);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}
