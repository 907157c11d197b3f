//! Putting a value back into a `Cell` it was taken from, without the cost of `Cell::set`.
//!
//! The loop's objects keep their state in `Cell`s (no borrow flags) and look at a value by
//! taking it out and putting it back. `Cell::set` drops what the cell held, and the compiler
//! cannot see that this is the empty value `take` left there, so every put-back ran the drop
//! glue of the type: for a future's `Option<Result<T, Error>>` about 30 instructions, on a
//! path (`Future.done()`) that runs several times a task step. [`put_back`] forgets it instead.

use std::cell::Cell;

/// Puts `value` into `cell`, which must hold what `take` left there (its `Default`, which owns
/// nothing): that is forgotten instead of dropped. Used where nothing runs between the `take`
/// and the put-back that could fill the cell; were anything else there, it would be leaked,
/// never freed twice: a mistake costs memory, not soundness.
#[inline]
pub(crate) fn put_back<T: Default>(cell: &Cell<T>, value: T) {
    std::mem::forget(cell.replace(value));
}
