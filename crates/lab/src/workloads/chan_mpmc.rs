//! chan-mpmc: the throughput of one contended buffered channel.
//!
//! ```text
//!   sender 0: 0, 4, 8, ...  ─┐                        ┌─> receiver 0 ─┐
//!   sender 1: 1, 5, 9, ...  ─┤   chan (cap 1024)      ├─> receiver 1 ─┤  sums, added
//!   sender 2: 2, 6, 10, ... ─┼──> [ v v v ... ] ──────┼─> receiver 2 ─┼─> checksum
//!   sender 3: 3, 7, 11, ... ─┘                        └─> receiver 3 ─┘
//! ```
//!
//! Every number below `messages` is sent exactly once. The main goroutine joins the senders, then
//! closes the channel; receivers drain it and return their sums. The Go peer gives each sender a
//! contiguous block of 2,500,000 numbers; striding instead lets any size split over four senders
//! with the same checksum.

use goroutines::{chan, go};

/// Messages the benchmark sends in all (2,500,000 per sender).
pub const MESSAGES: u64 = 10_000_000;

/// Sending goroutines.
pub const SENDERS: u64 = 4;

/// Receiving goroutines.
pub const RECEIVERS: u64 = 4;

/// The channel's buffer capacity.
pub const CAPACITY: usize = 1024;

/// The sum of every message received: 0 + 1 + ... + (messages - 1).
pub fn checksum(messages: u64) -> u64 {
    super::sum_below(messages)
}

/// Sends the numbers below `messages` through one channel on the goroutines runtime and returns
/// the sum the receivers saw. Call it from inside a goroutine.
pub fn goroutines(messages: u64) -> u64 {
    let (tx, rx) = chan::<u64>(CAPACITY);
    let receivers: Vec<_> = (0..RECEIVERS)
        .map(|_| {
            let rx = rx.clone();
            go(move || rx.iter().sum::<u64>())
        })
        .collect();
    drop(rx);
    let senders: Vec<_> = (0..SENDERS)
        .map(|first| {
            let tx = tx.clone();
            go(move || {
                for value in (first..messages).step_by(SENDERS as usize) {
                    if tx.send(value).is_err() {
                        return;
                    }
                }
            })
        })
        .collect();
    for sender in senders {
        let _ = sender.join();
    }
    tx.close();
    receivers
        .into_iter()
        .map(|receiver| receiver.join().unwrap_or(0))
        .sum()
}
