//! pingpong: the latency of one round trip between two goroutines.
//!
//! ```text
//!   main ──ping (unbuffered)──> echo
//!   main <──pong (unbuffered)── echo        × rounds; main sends 0, 1, 2, ... and sums the echoes
//! ```
//!
//! Each round trip is two rendezvous on unbuffered channels, so each costs two park/ready pairs
//! unless the scheduler hands the value over directly. Run as `pingpong-1p` on one P, both
//! goroutines share a thread and each round trip is pure user-space switching.

use goroutines::{chan, go};

/// Round trips the benchmark runs.
pub const ROUNDS: u64 = 1_000_000;

/// The sum of the echoed values over `rounds` round trips: 0 + 1 + ... + (rounds - 1).
pub fn checksum(rounds: u64) -> u64 {
    super::sum_below(rounds)
}

/// Runs `rounds` round trips on the goroutines runtime and returns the sum of the echoes. Call
/// it from inside a goroutine.
pub fn goroutines(rounds: u64) -> u64 {
    let (ping_tx, ping_rx) = chan::<u64>(0);
    let (pong_tx, pong_rx) = chan::<u64>(0);
    let echo = go(move || {
        for value in ping_rx.iter() {
            if pong_tx.send(value).is_err() {
                break;
            }
        }
    });
    let mut sum = 0;
    for i in 0..rounds {
        if ping_tx.send(i).is_err() {
            break;
        }
        match pong_rx.recv() {
            Ok(value) => sum += value,
            Err(_) => break,
        }
    }
    drop(ping_tx);
    let _ = echo.join();
    sum
}
