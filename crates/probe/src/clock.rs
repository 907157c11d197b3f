//! A process-wide monotonic clock in nanoseconds.
//!
//! Every timestamp that schedlab records or compares comes from [`now_ns`], so events recorded on
//! different threads and by different runtimes share one time axis. The anchor is a
//! [`std::time::Instant`] taken on the first call in the process; a value is the time elapsed since
//! that anchor. Reading it costs one `OnceLock` check (a load after the first call) and one
//! `Instant::now()` (a vDSO `clock_gettime(CLOCK_MONOTONIC)` on Linux).
//!
//! `CLOCK_MONOTONIC` is one clock for every process on the machine, but the anchor is each
//! process's own. A process that receives timestamps from another (procpool's parent, from its
//! workers) has them sent as raw `CLOCK_MONOTONIC` readings and moves them onto this clock by
//! the difference between a raw reading and [`now_ns`] taken one after the other.

use std::sync::OnceLock;
use std::time::Instant;

/// The instant that `now_ns() == 0` stands for, fixed by the first call.
static ANCHOR: OnceLock<Instant> = OnceLock::new();

/// Monotonic nanoseconds since the process-wide anchor (set on first use).
///
/// Never decreases within a thread, and values from different threads are comparable. The
/// `u64` holds about 584 years, so it does not wrap.
#[inline]
pub fn now_ns() -> u64 {
    let anchor = ANCHOR.get_or_init(Instant::now);
    // Saturate rather than truncate: 2^64 ns is centuries away, but the cast must not lie.
    u64::try_from(anchor.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::now_ns;

    #[test]
    fn never_decreases() {
        let mut previous = now_ns();
        for _ in 0..10_000 {
            let next = now_ns();
            assert!(next >= previous);
            previous = next;
        }
    }

    #[test]
    fn comparable_across_threads() {
        let before = now_ns();
        let inside = std::thread::spawn(now_ns).join().unwrap();
        let after = now_ns();
        assert!(before <= inside && inside <= after);
    }
}
