//! idle-memory: what a parked goroutine weighs.
//!
//! ```text
//!   main: spawn count ──> each goroutine: started.send(())  ─┐
//!   main: started.recv() × count                             │
//!         sleep 100 ms (the last ones reach gate.recv)       ├─ gate.recv() (parked)
//!         at_rest()  <── the caller reads VmRSS here         │
//!         close gate ──────────────────────────────────────> ┘ wakes with RecvError
//!   main: released.recv() × count                              released.send(())
//! ```
//!
//! The lab reads VmRSS before the runner starts and again in `at_rest`, and divides the growth by
//! the count. The goroutines are not joined through handles: a handle per goroutine would add its
//! own allocation to the figure, which Go's `WaitGroup` does not. Each repetition runs in a fresh
//! process, so earlier work cannot have left memory behind for these goroutines to reuse.

use std::time::Duration;

use goroutines::{chan, go, sleep};

/// Parked goroutines the benchmark starts.
pub const GOROUTINES: u64 = 100_000;

/// How long the main goroutine waits, after the last goroutine said it started, for all of them to
/// reach their receive and park.
pub const SETTLE: Duration = Duration::from_millis(100);

/// The goroutines released when the gate closes: all of them.
pub fn checksum(count: u64) -> u64 {
    count
}

/// Parks `count` goroutines on one unbuffered channel on the goroutines runtime, calls `at_rest`
/// while they are all parked, then closes the channel. Returns how many goroutines it released
/// (the checksum) and what `at_rest` returned. Call it from inside a goroutine.
pub fn goroutines<R>(count: u64, at_rest: impl FnOnce() -> R) -> (u64, R) {
    let (gate_tx, gate_rx) = chan::<()>(0);
    let (started_tx, started_rx) = chan::<()>(0);
    let (released_tx, released_rx) = chan::<()>(0);
    for _ in 0..count {
        let gate = gate_rx.clone();
        let started = started_tx.clone();
        let released = released_tx.clone();
        drop(go(move || {
            if started.send(()).is_err() {
                return;
            }
            drop(started);
            if gate.recv().is_err() {
                let _ = released.send(());
            }
        }));
    }
    drop((gate_rx, started_tx, released_tx));
    let started = started_rx.iter().take(count as usize).count();
    sleep(SETTLE);
    let measured = at_rest();
    gate_tx.close();
    let released = released_rx.iter().take(started).count() as u64;
    (released, measured)
}
