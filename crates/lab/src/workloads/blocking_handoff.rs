//! blocking-handoff: does a blocking call stall the other goroutines of its P?
//!
//! ```text
//!   P0 (the only P):  500 pairs ping-pong over unbuffered channels, counting round trips
//!     baseline        count for 2 × block                       -> rate without the call
//!     during          one more goroutine: blocking(|| thread::sleep(block))
//!                     a sampler woken `block` after the call began -> rate during the call
//! ```
//!
//! `goroutines::blocking` is Go's `entersyscall`/`exitsyscall`: if the call blocks while other
//! goroutines wait, sysmon hands the P to another thread, and the ping-pong goes on at nearly the
//! same rate. A runtime that keeps the P with the blocked thread runs nothing for the whole call.
//! The window "during the call" starts just before the call and ends when a timer `block` later
//! wakes a sampler goroutine: the caller itself may wait for a P after its call returns, which
//! is no part of the call. (The Go peer measures the same with a 200 ms `nanosleep(2)`.)
//!
//! Figure: `throughput_ratio`, the rate during the call over the rate without it. The checksum is
//! the ping-pong goroutines that finished with every echo right: all of them ([`GOROUTINES`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goroutines::{blocking, chan, go, sleep, JoinHandle};

/// The blocking call of the benchmark, in milliseconds (the workload's size).
pub const BLOCK_MS: u64 = 200;

/// Goroutines that ping-pong, in pairs.
pub const GOROUTINES: u64 = 1_000;

/// The ping-pong goroutines that finish with every echo right: all of them.
pub fn checksum(_block_ms: u64) -> u64 {
    GOROUTINES
}

/// What one run measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outcome {
    /// The ping-pong goroutines that finished with every echo right.
    pub checksum: u64,
    /// Round trips per second without the blocking call.
    pub baseline_per_s: f64,
    /// Round trips per second during the blocking call.
    pub during_per_s: f64,
}

impl Outcome {
    /// The rate during the call over the rate without it (0 when there was no baseline).
    pub fn ratio(&self) -> f64 {
        if self.baseline_per_s > 0.0 {
            self.during_per_s / self.baseline_per_s
        } else {
            0.0
        }
    }
}

/// The benchmark's run: [`GOROUTINES`] ping-pong goroutines and a blocking call of `block_ms`
/// milliseconds. Call it from inside a goroutine of a runtime with one P.
pub fn goroutines(block_ms: u64) -> Outcome {
    goroutines_with(GOROUTINES, Duration::from_millis(block_ms))
}

/// [`goroutines()`] with `goroutines` ping-pong goroutines (rounded down to pairs) and a blocking
/// call of `block`; the baseline is counted over twice `block`.
pub fn goroutines_with(goroutines: u64, block: Duration) -> Outcome {
    let round_trips = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut players: Vec<JoinHandle<bool>> = Vec::new();
    for _ in 0..goroutines / 2 {
        let (ping_tx, ping_rx) = chan::<u64>(0);
        let (pong_tx, pong_rx) = chan::<u64>(0);
        // The echo: done right when the pinger closed its channel.
        players.push(go(move || {
            for value in ping_rx.iter() {
                if pong_tx.send(value + 1).is_err() {
                    return false;
                }
            }
            true
        }));
        let round_trips = Arc::clone(&round_trips);
        let stop = Arc::clone(&stop);
        players.push(go(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if ping_tx.send(i).is_err() || pong_rx.recv() != Ok(i + 1) {
                    return false;
                }
                round_trips.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
            true
        }));
    }

    let (c0, t0) = (round_trips.load(Ordering::Relaxed), Instant::now());
    sleep(block * 2);
    let baseline_per_s = per_second(round_trips.load(Ordering::Relaxed) - c0, t0.elapsed());

    let (rate_tx, rate_rx) = chan::<f64>(1);
    let counter = Arc::clone(&round_trips);
    let caller = go(move || {
        let (c0, t0) = (counter.load(Ordering::Relaxed), Instant::now());
        let sampler = go(move || {
            sleep(block.saturating_sub(t0.elapsed()));
            let _ = rate_tx.send(per_second(
                counter.load(Ordering::Relaxed) - c0,
                t0.elapsed(),
            ));
        });
        blocking(|| std::thread::sleep(block));
        sampler
    });
    let during_per_s = rate_rx.recv().unwrap_or(0.0);

    stop.store(true, Ordering::Relaxed);
    let checksum = players
        .into_iter()
        .map(|player| u64::from(player.join().unwrap_or(false)))
        .sum();
    if let Ok(sampler) = caller.join() {
        let _ = sampler.join();
    }
    Outcome {
        checksum,
        baseline_per_s,
        during_per_s,
    }
}

fn per_second(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}
