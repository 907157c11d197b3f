//! sleepers: timers at scale.
//!
//! The main goroutine starts `count` goroutines that each sleep [`SLEEP`], then joins them all. On
//! an ideal runtime the wall time is the sleep itself; what it adds is the cost of arming, firing
//! and waking `count` timers. The lab runs each repetition in a fresh process and reads the
//! process's peak RSS afterwards: every sleeper is parked at once, so the peak shows what
//! `count` parked goroutines with a timer each weigh.

use std::time::Duration;

use asyncio_loop::{Error, EventLoop};
use goroutines::{go, sleep};

/// Sleeping goroutines the benchmark starts.
pub const GOROUTINES: u64 = 100_000;

/// How long each one sleeps.
pub const SLEEP: Duration = Duration::from_millis(100);

/// The goroutines joined: all of them.
pub fn checksum(count: u64) -> u64 {
    count
}

/// Starts `count` goroutines that each sleep [`SLEEP`] on the goroutines runtime, joins them and
/// returns how many joined without panicking. Call it from inside a goroutine.
pub fn goroutines(count: u64) -> u64 {
    let handles: Vec<_> = (0..count).map(|_| go(|| sleep(SLEEP))).collect();
    handles
        .into_iter()
        .map(|handle| u64::from(handle.join().is_ok()))
        .sum()
}

/// Starts `count` asyncio-loop tasks that each `sleep(0.1)` in a new event loop
/// (`asyncio.run`), awaits them all and returns how many finished without an error.
pub fn asyncio_loop(count: u64) -> u64 {
    let seconds = SLEEP.as_secs_f64();
    asyncio_loop::run(async move {
        let event_loop = EventLoop::running().ok_or(Error::Cancelled)?;
        let tasks: Vec<_> = (0..count)
            .map(|_| event_loop.create_task(asyncio_loop::sleep(seconds)))
            .collect();
        let mut joined = 0;
        for task in tasks {
            joined += u64::from(task.await.is_ok());
        }
        Ok(joined)
    })
    .unwrap_or(0)
}

/// Sets `count` uv-loop timeouts of [`SLEEP`] (`setTimeout(cb, 100)`) in a new run and returns
/// how many fired.
pub fn uv_loop(count: u64) -> u64 {
    let fired = std::rc::Rc::new(std::cell::Cell::new(0));
    let counter = fired.clone();
    let delay = SLEEP.as_millis() as u32;
    let result = uv_loop::run(move || {
        for _ in 0..count {
            let counter = counter.clone();
            uv_loop::set_timeout(move || counter.set(counter.get() + 1), delay);
        }
    });
    if result.is_ok() {
        fired.get()
    } else {
        0
    }
}
