//! pbkdf2-pool: CPU work on libuv's thread pool, and how the pool size shapes completions.
//!
//! Eight `crypto.pbkdf2` jobs (100,000 iterations of HMAC-SHA-512, 64-byte keys) are queued
//! at once on a pool of 1, 2 or 4 threads. The pool is FIFO, so completions come in waves of
//! the pool size (bounded by the cores: this machine has 2), and the wall time shrinks until
//! the pool outnumbers the cores. `peers/node/bench.js` runs the same with
//! `UV_THREADPOOL_SIZE` = 1, 2, 4.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use uv_loop::crypto::{pbkdf2, Digest};
use uv_loop::{run_with, RunOptions};

/// Jobs queued.
pub const JOBS: u64 = 8;

/// PBKDF2 iterations per job.
pub const ITERATIONS: u32 = 100_000;

/// Pool sizes the benchmark compares.
pub const POOL_SIZES: [usize; 3] = [1, 2, 4];

/// The jobs completed with a 64-byte key: all of them.
pub fn checksum(jobs: u64) -> u64 {
    jobs
}

/// What one run at one pool size showed.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Jobs completed with a 64-byte key (the checksum).
    pub checksum: u64,
    /// Milliseconds from queueing to each completion, in completion order.
    pub completions_ms: Vec<f64>,
}

impl Outcome {
    /// Completions within a third of the first job's time of the previous one form one wave.
    pub fn waves(&self) -> u64 {
        let Some(&first) = self.completions_ms.first() else {
            return 0;
        };
        let gap = first / 3.0;
        1 + self
            .completions_ms
            .windows(2)
            .filter(|pair| pair[1] - pair[0] > gap)
            .count() as u64
    }
}

/// Queues `jobs` pbkdf2 jobs on a uv-loop run with a pool of `pool_size` threads.
pub fn uv_loop_with_pool(jobs: u64, pool_size: usize) -> Outcome {
    let completions = Rc::new(RefCell::new(Vec::new()));
    let completed = Rc::new(std::cell::Cell::new(0));
    let options = RunOptions {
        threadpool_size: Some(pool_size),
    };
    let (record, count) = (completions.clone(), completed.clone());
    let result = run_with(options, move || {
        let start = Instant::now();
        for job in 0..jobs {
            let (record, count) = (record.clone(), count.clone());
            let queued = pbkdf2(
                b"password".to_vec(),
                format!("salt{job}").into_bytes(),
                ITERATIONS,
                64,
                Digest::Sha512,
                move |key| {
                    record
                        .borrow_mut()
                        .push(start.elapsed().as_nanos() as f64 / 1e6);
                    if key.len() == 64 {
                        count.set(count.get() + 1);
                    }
                },
            );
            if queued.is_err() {
                return;
            }
        }
    });
    let completions_ms = completions.borrow().clone();
    Outcome {
        checksum: if result.is_ok() { completed.get() } else { 0 },
        completions_ms,
    }
}

/// The runner at the default pool size (4): the jobs completed.
pub fn uv_loop(jobs: u64) -> u64 {
    uv_loop_with_pool(jobs, 4).checksum
}
