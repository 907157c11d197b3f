//! promise-chain: the cost of one promise reaction (a microtask).
//!
//! ```text
//!   resolved.then(step 0) ─> step 0: resolved.then(step 1) ─> ... step (n - 1)
//! ```
//!
//! Each reaction adds its index to a sum and attaches the next reaction to one resolved
//! promise, so each costs a `then` (a derived promise and a job) and one microtask turn. The
//! whole chain runs inside one microtask drain. `peers/node/bench.js` runs the same.

use std::cell::Cell;
use std::rc::Rc;

use uv_loop::Promise;

/// Reactions the benchmark runs.
pub const REACTIONS: u64 = 1_000_000;

/// The sum of the reactions' indices: 0 + 1 + ... + (reactions - 1).
pub fn checksum(reactions: u64) -> u64 {
    super::sum_below(reactions)
}

/// Runs a chain of `reactions` promise reactions on a new uv-loop run and returns the sum of
/// their indices (0 if the run fails).
pub fn uv_loop(reactions: u64) -> u64 {
    fn step(index: u64, reactions: u64, resolved: Promise<()>, sum: Rc<Cell<u64>>) {
        sum.set(sum.get() + index);
        if index + 1 < reactions {
            let next = resolved.clone();
            resolved.then(move |()| step(index + 1, reactions, next, sum));
        }
    }
    if reactions == 0 {
        return 0;
    }
    let sum = Rc::new(Cell::new(0));
    let first = sum.clone();
    match uv_loop::run(move || {
        let resolved = Promise::resolve(());
        let next = resolved.clone();
        resolved.then(move |()| step(0, reactions, next, first));
    }) {
        Ok(()) => sum.get(),
        Err(_) => 0,
    }
}
