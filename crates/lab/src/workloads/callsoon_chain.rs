//! callsoon-chain: the cost of one trip through an event loop's ready queue.
//!
//! ```text
//!   callback 0 ──call_soon──> callback 1 ──call_soon──> ... callback (n - 1): stop the loop
//! ```
//!
//! Each callback adds its index to a sum and schedules the next with `call_soon`, so the loop
//! runs exactly one callback per `_run_once` pass: what is measured is the pass itself (take the
//! ready queue, run a handle, look at the timer heap). An asyncio-only workload: Go has no loop.

use std::cell::Cell;
use std::rc::Rc;

use asyncio_loop::EventLoop;

/// Callbacks the benchmark runs.
pub const CALLBACKS: u64 = 1_000_000;

/// The sum of the callbacks' indices: 0 + 1 + ... + (callbacks - 1).
pub fn checksum(callbacks: u64) -> u64 {
    super::sum_below(callbacks)
}

/// Runs a chain of `callbacks` callbacks on a new asyncio-loop event loop and returns the sum of
/// their indices (0 if the loop fails).
pub fn asyncio_loop(callbacks: u64) -> u64 {
    if callbacks == 0 {
        return 0;
    }
    let event_loop = EventLoop::new();
    let sum = Rc::new(Cell::new(0));
    let first = (event_loop.clone(), sum.clone());
    event_loop.call_soon(move || step(first.0, 0, callbacks, first.1));
    let ran = event_loop.run_forever().is_ok();
    let closed = event_loop.close().is_ok();
    if ran && closed {
        sum.get()
    } else {
        0
    }
}

fn step(event_loop: EventLoop, index: u64, callbacks: u64, sum: Rc<Cell<u64>>) {
    sum.set(sum.get() + index);
    if index + 1 < callbacks {
        let next = event_loop.clone();
        event_loop.call_soon(move || step(next, index + 1, callbacks, sum));
    } else {
        event_loop.stop();
    }
}
