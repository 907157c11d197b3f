//! yield: one trip through the scheduler and back.
//!
//! A single goroutine calls `yield_now` (Go's `runtime.Gosched`) in a loop: each call puts it on
//! the back of its P's run queue and switches to the scheduler, which finds it again. Run as
//! `yield-1p` on one P there is nobody to steal it; with more Ps, idle threads may. On
//! asyncio-loop the yield is `await sleep(0)`: the task's next step goes to the back of the ready
//! queue and the loop makes one pass.

use goroutines::yield_now;

/// Yields the benchmark makes.
pub const YIELDS: u64 = 10_000_000;

/// The yields made: all of them.
pub fn checksum(yields: u64) -> u64 {
    yields
}

/// Yields `yields` times on the goroutines runtime and returns how many yields it made. Call it
/// from inside a goroutine.
pub fn goroutines(yields: u64) -> u64 {
    let mut made = 0;
    for _ in 0..yields {
        yield_now();
        made += 1;
    }
    made
}

/// Awaits `sleep(0)` (asyncio's bare yield: one pass of the loop) `yields` times in one task of a
/// new event loop and returns how many it made.
pub fn asyncio_loop(yields: u64) -> u64 {
    asyncio_loop::run(async move {
        let mut made = 0;
        for _ in 0..yields {
            asyncio_loop::sleep(0.0).await?;
            made += 1;
        }
        Ok(made)
    })
    .unwrap_or(0)
}
