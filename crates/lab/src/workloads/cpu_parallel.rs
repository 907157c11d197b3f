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
