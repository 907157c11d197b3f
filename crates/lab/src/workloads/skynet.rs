//! skynet: atemerev's benchmark of creating, scheduling and joining a million goroutines.
//!
//! ```text
//!                         root (1,000,000 leaves)
//!          /        /          |           \         \
//!     node 0    node 100,000   ...   node 900,000          10 children, each over a tenth
//!     / .. \                                               of its parent's numbers
//!   ...                                                    ...
//!  leaf 0  leaf 1  ...  leaf 999,999                      a leaf sends its own number
//! ```
//!
//! Every inner node makes an unbuffered channel, spawns its ten children with it, receives their
//! ten sums and sends the total to its parent: 1,111,111 goroutines and as many channel
//! rendezvous. The root's sum is 0 + 1 + ... + 999,999 = 499,999,500,000.

use goroutines::{chan, go, Sender};

/// Leaves of the tree the benchmark runs.
pub const LEAVES: u64 = 1_000_000;

/// Children per inner node.
const FAN_OUT: u64 = 10;

/// The root's sum over `leaves` (a power of ten): 0 + 1 + ... + (leaves - 1).
pub fn checksum(leaves: u64) -> u64 {
    super::sum_below(leaves)
}

/// Runs the tree over `leaves` (a power of ten) on the goroutines runtime and returns the root's
/// sum. Call it from inside a goroutine.
pub fn goroutines(leaves: u64) -> u64 {
    let (tx, rx) = chan::<u64>(0);
    go(move || node(tx, 0, leaves));
    rx.recv().unwrap_or(0)
}

/// One node: a leaf sends `num`; an inner node sends the sum of its children's answers.
fn node(parent: Sender<u64>, num: u64, size: u64) {
    if size <= 1 {
        let _ = parent.send(num);
        return;
    }
    let child_size = size / FAN_OUT;
    let (tx, rx) = chan::<u64>(0);
    for i in 0..FAN_OUT {
        let tx = tx.clone();
        go(move || node(tx, num + i * child_size, child_size));
    }
    drop(tx);
    let sum: u64 = rx.iter().take(FAN_OUT as usize).sum();
    let _ = parent.send(sum);
}
