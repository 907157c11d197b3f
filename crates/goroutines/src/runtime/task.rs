//! A spawned goroutine's function and its result, in one allocation shared by the G (which runs
//! it) and the `JoinHandle` (which waits for it), in the manner of smol's `async-task`.
//!
//! Join is lock-free. `state` moves:
//!
//! ```text
//!   RUNNING --join parks (CAS, after the switch)--> WAITING --complete (swap)--> DONE
//!   RUNNING --complete (swap)------------------------------------------------> DONE
//!   DONE --join moves the result out--> TAKEN
//! ```
//!
//! Invariants: `result` is written only by the goroutine, before it swaps in DONE, and holds a
//! value exactly while the state is DONE (TAKEN: the joiner moved it out); `waiter` is written
//! only by the joiner, before its CAS to WAITING; each side reads the other's cell only after
//! seeing the other's state change (acquire/release on `state`).
//!
//! # Size
//!
//! One task is allocated per spawn and lives until the goroutine is joined (or, detached, until
//! it exits), so its size is paid by every goroutine alive: 100,000 sleepers hold up to 88,000
//! tasks at their memory peak. The result is a `MaybeUninit` whose presence the state records,
//! not an `Option` (for `T = ()` an `Option<thread::Result<()>>` is 24 bytes, the bare result
//! 16), and the fields sit in the task itself, not in a nested join struct whose padding the
//! function could not use: for a closure that captures nothing the `Arc`'s allocation is 56
//! bytes, a 64-byte malloc chunk, where it was 72 bytes in an 80-byte chunk.

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;

use super::g::WaitReason;
use super::park::{block_if, Waiter};
use crate::loom::{AtomicU8, Ordering};

/// The goroutine has not finished and nobody waits.
const RUNNING: u8 = 0;
/// A joiner parked; `waiter` holds it.
const WAITING: u8 = 1;
/// `result` holds the outcome.
const DONE: u8 = 2;
/// The joiner moved the outcome out of `result`, which is uninitialised again.
const TAKEN: u8 = 3;

/// What a G runs.
pub(crate) trait Runnable: Send + Sync {
    fn run(&self);
}

/// A goroutine's function, its outcome and its joiner (see the module docs).
pub(crate) struct Task<F, T> {
    /// One of RUNNING, WAITING, DONE, TAKEN.
    state: AtomicU8,
    func: UnsafeCell<Option<F>>,
    /// Initialised exactly while `state` is DONE.
    result: UnsafeCell<MaybeUninit<thread::Result<T>>>,
    waiter: UnsafeCell<Option<Waiter>>,
}

/// A task's join side, without naming its function type.
pub(crate) trait Joinable<T>: Send + Sync {
    /// Whether the goroutine has returned or panicked.
    fn is_done(&self) -> bool;

    /// Waits for DONE and takes the result; called once, by the only `JoinHandle`. `None` if
    /// woken before the goroutine finished (a runtime bug).
    fn join(&self) -> Option<thread::Result<T>>;
}

// SAFETY: `func` is taken once, by the goroutine that runs the task; `result` and `waiter` follow
// the state protocol in the module docs; F and T move to the running goroutine and back to the
// joiner, hence the Send bounds.
unsafe impl<F: Send, T: Send> Sync for Task<F, T> {}
// SAFETY: as above.
unsafe impl<F: Send, T: Send> Send for Task<F, T> {}

impl<F, T> Task<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    pub(crate) fn new(f: F) -> Arc<Task<F, T>> {
        Arc::new(Task {
            state: AtomicU8::new(RUNNING),
            func: UnsafeCell::new(Some(f)),
            result: UnsafeCell::new(MaybeUninit::uninit()),
            waiter: UnsafeCell::new(None),
        })
    }
}

impl<F, T> Runnable for Task<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    fn run(&self) {
        // SAFETY: only the goroutine running this task touches `func`, once.
        let Some(f) = (unsafe { (*self.func.get()).take() }) else {
            return;
        };
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        // SAFETY: before DONE, only this goroutine writes `result` and the joiner does not read it;
        // it is uninitialised (the state is not DONE), so nothing is overwritten without a drop.
        unsafe { (*self.result.get()).write(result) };
        if self.state.swap(DONE, Ordering::AcqRel) == WAITING {
            // SAFETY: the joiner wrote `waiter` before its CAS to WAITING, which we observed.
            if let Some(w) = unsafe { (*self.waiter.get()).take() } {
                w.wake();
            }
        }
    }
}

impl<F, T> Joinable<T> for Task<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    fn is_done(&self) -> bool {
        self.state.load(Ordering::Acquire) >= DONE
    }

    fn join(&self) -> Option<thread::Result<T>> {
        if !self.is_done() {
            let me = Waiter::current();
            // SAFETY: while RUNNING, only the joiner touches `waiter`.
            unsafe { *self.waiter.get() = Some(me.clone()) };
            block_if(&me, WaitReason::JoinWait, || {
                self.state
                    .compare_exchange(RUNNING, WAITING, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
            });
        }
        if self.state.load(Ordering::Acquire) != DONE {
            return None;
        }
        // SAFETY: DONE was observed with acquire: the goroutine initialised `result` and is done
        // with it. The state moves to TAKEN before anyone could read it again (only this, the one
        // joiner, does), so the value is moved out exactly once and `Drop` does not drop it.
        let result = unsafe { (*self.result.get()).assume_init_read() };
        self.state.store(TAKEN, Ordering::Relaxed);
        Some(result)
    }
}

impl<F, T> Drop for Task<F, T> {
    /// Drops an outcome nobody joined (a detached goroutine's, or a dropped handle's).
    fn drop(&mut self) {
        if self.state.load(Ordering::Acquire) == DONE {
            // SAFETY: DONE means `result` is initialised and was not moved out (see the module
            // invariants); `&mut self` means no one else can see it any more.
            unsafe { self.result.get_mut().assume_init_drop() };
        }
    }
}
