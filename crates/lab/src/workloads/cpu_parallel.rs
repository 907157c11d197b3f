//! cpu-parallel: a fixed CPU-bound job split among W workers, for the speedup curve.
//!
//! ```text
//!   chunk c (c = 0 .. chunks):  x = c; repeat ITERATIONS_PER_CHUNK times: x = lcg(x)
//!   checksum:                   sum over the chunks of (x >> 33)
//! ```
//!
//! `lcg` is Knuth's MMIX linear congruential step (multiplier 6364136223846793005, increment
//! 1442695040888963407, modulo 2^64): each step depends on the one before (and [`chunk`] keeps
//! the compiler from folding steps together), and the Python peer computes the same numbers with `& (2**64 - 1)`. The
//! chunks are independent: a model with real parallelism finishes W workers' share in 1/W of the
//! time; one under a GIL does not. The size is the number of chunks; the runners hand chunks to
//! workers as each model's users would (threads take them from a shared counter, a process pool
//! maps over them).

/// Chunks in the full-size job.
pub const CHUNKS: u64 = 64;

/// LCG steps in one chunk.
pub const ITERATIONS_PER_CHUNK: u64 = 1_000_000;

/// One step of the generator.
#[inline]
pub fn lcg(x: u64) -> u64 {
    x.wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407)
}

/// Chunk `c`'s contribution to the checksum, computed without check points.
///
/// Each step goes through `black_box`: without it the compiler unrolls the loop and folds
/// consecutive steps into one multiply-add with precomputed constants, and a chunk would no
/// longer be a million steps of work.
pub fn chunk(c: u64) -> u64 {
    let mut x = c;
    for _ in 0..ITERATIONS_PER_CHUNK {
        x = std::hint::black_box(lcg(x));
    }
    x >> 33
}

/// The sum of every chunk's contribution (computes the whole job once, on this thread).
pub fn checksum(chunks: u64) -> u64 {
    (0..chunks).map(chunk).sum()
}

/// Runs the job on `workers` Python threads of a gil-threads interpreter in `mode`: each thread
/// takes the next chunk from a shared counter and runs it as a pure-Python loop runs, with a
/// check point (`py.check()`) at every back-edge. Returns the checksum (0 if a thread could not
/// be started; a chunk lost to a panicked thread is missing from the sum).
pub fn gil_threads(chunks: u64, workers: usize, mode: gil_threads::GilMode) -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    let interpreter = gil_threads::Interpreter::new(mode);
    let next = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::with_capacity(workers);
    for _ in 0..workers {
        let next = Arc::clone(&next);
        let spawned = interpreter.spawn(move |py| {
            let mut sum = 0u64;
            loop {
                let c = next.fetch_add(1, Ordering::Relaxed);
                if c >= chunks {
                    return sum;
                }
                let mut x = c;
                for _ in 0..ITERATIONS_PER_CHUNK {
                    py.check();
                    x = lcg(x);
                }
                sum += x >> 33;
            }
        });
        match spawned {
            Ok(handle) => handles.push(handle),
            Err(_) => return 0,
        }
    }
    handles
        .into_iter()
        .filter_map(|handle| handle.join().ok())
        .sum()
}

procpool::task! {
    /// One chunk of the job, run in a procpool worker process.
    pub fn procpool_chunk(c: u64) -> u64 { chunk(c) }
}

/// Runs the job on a fork pool of `workers` processes with `Pool.map` and its default chunksize
/// (the pool's start-up included, as `with Pool(w) as p: p.map(chunk, range(chunks))` is).
/// Returns the checksum (0 if the pool could not start or the map failed).
pub fn procpool(chunks: u64, workers: usize) -> u64 {
    let Ok(pool) = procpool::Pool::new(workers) else {
        return 0;
    };
    pool.map(procpool_chunk, 0..chunks, None)
        .map_or(0, |values| values.iter().sum())
}
