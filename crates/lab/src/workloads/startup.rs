//! startup: how long a pool takes to start and answer its first map, per start method.
//!
//! ```text
//!   timed:  Pool(workers, method) + pool.map(add_one, range(workers), chunksize=1)
//!   then:   pool.terminate(); pool.join()        (not timed)
//!   checksum: 1 + 2 + ... + workers
//! ```
//!
//! The forkserver figure includes starting the fork server, as the first forkserver pool of a
//! CPython program does, so each repetition runs in a fresh process (the lab's
//! `fresh_process`). The spawn figure includes exec-ing the `schedlab` binary once per worker,
//! which enters worker mode at the top of its `main`. CPython here: 23-26 ms (fork),
//! 168-177 ms (forkserver), 153-161 ms (spawn); issue 6's targets are 5, 30 and 30 ms.

use std::time::{Duration, Instant};

use procpool::{Pool, PoolOptions, StartMethod};

use super::map_chunksize::add_one;

/// Workers in the pool.
pub const WORKERS: u64 = 2;

/// 1 + 2 + ... + workers.
pub fn checksum(workers: u64) -> u64 {
    workers * (workers + 1) / 2
}

/// What one start-up returns.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    /// Sum of the first map's results (0 if the pool could not start or the map failed).
    pub checksum: u64,
    /// Start plus first map.
    pub elapsed: Duration,
}

/// Starts a pool of `workers` by `method` and runs its first map.
pub fn procpool(workers: u64, method: StartMethod) -> Outcome {
    let started = Instant::now();
    if method == StartMethod::Forkserver && procpool::start::forkserver::ensure_running().is_err() {
        return Outcome {
            checksum: 0,
            elapsed: started.elapsed(),
        };
    }
    let pool = Pool::with_options(PoolOptions {
        processes: Some(workers as usize),
        start_method: method,
        ..PoolOptions::default()
    });
    let checksum = pool
        .as_ref()
        .ok()
        .and_then(|pool| pool.map(add_one, 0..workers, Some(1)).ok())
        .map_or(0, |values| values.iter().sum());
    let elapsed = started.elapsed();
    drop(pool);
    Outcome { checksum, elapsed }
}
