//! hog-fairness: how long a CPU hog with no runtime call can keep a ticker from running, on one P.
//!
//! ```text
//!   P0 (the only P):  ticker  sleep(1 ms), sleep(1 ms), ...   records the worst lateness
//!                     hog     spins `spin` with no runtime call, then sets `done`
//! ```
//!
//! The ticker starts first and is asleep in its first tick when the hog starts, so every
//! millisecond of the spin is a millisecond the ticker wants to run. The hog's loop steps a
//! linear congruential generator through `std::hint::black_box` and reads the clock every 1,024
//! steps to stop after `spin`: no call into the runtime, so no scheduling point. A runtime that
//! cannot take the P away from such a loop (Go without asynchronous preemption; goroutines
//! before sysmon hands a hogged P to another thread) delays the ticker by the whole spin; Go's
//! signal-based preemption keeps the delay to tens of milliseconds. Either way the run ends after
//! about `spin`, since the hog stops on its own.
//!
//! Figure: `worst_tick_delay_ms`, the largest time beyond 1 ms that one `sleep(1 ms)` took. The
//! checksum is the goroutines that finished with their checks holding (2): the hog spun at least
//! `spin`, the ticker ticked at least once and no sleep returned early.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goroutines::{chan, go, sleep};

/// How long the benchmark's hog spins, in milliseconds (the workload's size).
pub const SPIN_MS: u64 = 2_000;

/// The ticker's period.
pub const TICK: Duration = Duration::from_millis(1);

/// The goroutines that finish with their checks holding: the hog and the ticker.
pub fn checksum(_spin_ms: u64) -> u64 {
    2
}

/// What one run measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outcome {
    /// [`checksum`]'s value when both goroutines did their part.
    pub checksum: u64,
    /// The largest time beyond [`TICK`] that one tick took.
    pub worst_tick_delay: Duration,
    /// Ticks the ticker made.
    pub ticks: u64,
    /// How long the hog spun.
    pub spun: Duration,
}

/// Runs the hog for `spin_ms` milliseconds beside the ticker on the goroutines runtime. Call it
/// from inside a goroutine of a runtime with one P (with more, the ticker simply runs elsewhere).
pub fn goroutines(spin_ms: u64) -> Outcome {
    let spin = Duration::from_millis(spin_ms);
    let done = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = chan::<()>(1);

    let ticker_done = Arc::clone(&done);
    let ticker = go(move || {
        let _ = started_tx.send(());
        let mut worst = Duration::ZERO;
        let mut ticks = 0u64;
        let mut early = false;
        loop {
            let t0 = Instant::now();
            sleep(TICK);
            let took = t0.elapsed();
            early |= took < TICK;
            worst = worst.max(took.saturating_sub(TICK));
            ticks += 1;
            if ticker_done.load(Ordering::Acquire) {
                break;
            }
        }
        (worst, ticks, early)
    });
    // The ticker is asleep in its first tick before the hog starts.
    let ticker_started = started_rx.recv().is_ok();

    let hog = go(move || {
        let started = Instant::now();
        let mut x = 1u64;
        while started.elapsed() < spin {
            for _ in 0..1024 {
                x = black_box(
                    x.wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407),
                );
            }
        }
        let spun = started.elapsed();
        done.store(true, Ordering::Release);
        (spun, black_box(x))
    });

    let hog = hog.join().ok();
    let ticker = ticker.join().ok();
    let mut outcome = Outcome {
        checksum: 0,
        worst_tick_delay: Duration::ZERO,
        ticks: 0,
        spun: Duration::ZERO,
    };
    if let Some((spun, _)) = hog {
        outcome.spun = spun;
        outcome.checksum += u64::from(spun >= spin);
    }
    if let Some((worst, ticks, early)) = ticker {
        outcome.worst_tick_delay = worst;
        outcome.ticks = ticks;
        outcome.checksum += u64::from(ticker_started && ticks > 0 && !early);
    }
    outcome
}
