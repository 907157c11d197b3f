//! map-chunksize: `Pool.map` of a task that does almost nothing, so that the figure is the
//! pool's own cost per task (chunksize 1) or per item (chunksize 1000).
//!
//! ```text
//!   pool = Pool(workers)              (not timed)
//!   pool.map(add_one, range(items), chunksize)      timed
//!   checksum: sum of x + 1 for x < items = items * (items + 1) / 2
//! ```
//!
//! With chunksize 1 every item is a task: a request frame out, a reply frame back, a pass of the
//! handler's loop. With chunksize 1000 the frames carry a thousand items each and the figure is
//! mostly encoding and decoding. CPython here: 45-50 µs per task and 0.55 µs per item
//! (`peers/python/bench_mp.py`); issue 6's targets are 10 µs and 0.1 µs.

use std::time::{Duration, Instant};

/// Items in the full-size job (the chunksize-1 benchmark runs fewer: see the lab's table).
pub const ITEMS: u64 = 1_000_000;

/// Items the chunksize-1 benchmark maps.
pub const ITEMS_CHUNKSIZE1: u64 = 20_000;

procpool::task! {
    /// The task: x + 1.
    pub fn add_one(x: u64) -> u64 { x + 1 }
}

/// The sum of x + 1 over x < items.
pub fn checksum(items: u64) -> u64 {
    items * (items + 1) / 2
}

/// What one procpool run returns: the checksum and the time of the map alone.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    /// Sum of the results (0 if the pool could not start or the map failed).
    pub checksum: u64,
    /// The map's wall time, pool start-up excluded.
    pub elapsed: Duration,
}

/// Maps `add_one` over `items` items with `chunksize` on a fork pool of `workers`.
pub fn procpool(items: u64, workers: usize, chunksize: usize) -> Outcome {
    let failed = Outcome {
        checksum: 0,
        elapsed: Duration::ZERO,
    };
    let Ok(pool) = procpool::Pool::new(workers) else {
        return failed;
    };
    // One round trip per worker first, so that the figure is the steady state, not the first
    // scheduling of freshly forked processes.
    if pool.map(add_one, 0..workers as u64, Some(1)).is_err() {
        return failed;
    }
    let started = Instant::now();
    let result = pool.map(add_one, 0..items, Some(chunksize));
    let elapsed = started.elapsed();
    match result {
        Ok(values) => Outcome {
            checksum: values.iter().sum(),
            elapsed,
        },
        Err(_) => failed,
    }
}
