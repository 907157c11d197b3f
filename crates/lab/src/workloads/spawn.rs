//! spawn: the cost of a goroutine's whole life, from `go` to `join`.
//!
//! The main goroutine starts `count` empty goroutines in a loop, keeping their join handles, then
//! joins each. The Go peer waits on a `sync.WaitGroup` instead; a join handle is this crate's way
//! to wait for a goroutine, and its allocation is part of what a goroutine costs here.

use goroutines::go;

/// Goroutines the benchmark spawns.
pub const GOROUTINES: u64 = 1_000_000;

/// The goroutines joined: all of them.
pub fn checksum(count: u64) -> u64 {
    count
}

/// Spawns `count` empty goroutines on the goroutines runtime, joins them and returns how many
/// joined without panicking. Call it from inside a goroutine.
pub fn goroutines(count: u64) -> u64 {
    let handles: Vec<_> = (0..count).map(|_| go(|| {})).collect();
    handles
        .into_iter()
        .map(|handle| u64::from(handle.join().is_ok()))
        .sum()
}
