//! immediate-chain: the cost of one trip around Node's event loop.
//!
//! ```text
//!   immediate 0 ──setImmediate──> immediate 1 ──setImmediate──> ... immediate (n - 1)
//! ```
//!
//! Each immediate adds its index to a sum and schedules the next with `setImmediate`; an
//! immediate queued during the check phase runs in the next iteration, so each callback costs
//! one whole loop iteration (timers, idle, prepare, a zero-timeout poll, check). A Node-only
//! workload: `peers/node/bench.js` runs the same.

use std::cell::Cell;
use std::rc::Rc;

/// Immediates the benchmark runs.
pub const CALLBACKS: u64 = 1_000_000;

/// The sum of the immediates' indices: 0 + 1 + ... + (callbacks - 1).
pub fn checksum(callbacks: u64) -> u64 {
    super::sum_below(callbacks)
}

/// Runs a chain of `callbacks` immediates on a new uv-loop run and returns the sum of their
/// indices (0 if the run fails).
pub fn uv_loop(callbacks: u64) -> u64 {
    fn step(index: u64, callbacks: u64, sum: Rc<Cell<u64>>) {
        sum.set(sum.get() + index);
        if index + 1 < callbacks {
            uv_loop::set_immediate(move || step(index + 1, callbacks, sum));
        }
    }
    if callbacks == 0 {
        return 0;
    }
    let sum = Rc::new(Cell::new(0));
    let first = sum.clone();
    match uv_loop::run(move || {
        uv_loop::set_immediate(move || step(0, callbacks, first));
    }) {
        Ok(()) => sum.get(),
        Err(_) => 0,
    }
}
