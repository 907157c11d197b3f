//! A spawned goroutine's function and its result, in one allocation shared by the G (which runs
//! it) and the `JoinHandle` (which waits for it), in the manner of smol's `async-task`.
//!
//! Join is lock-free. `state` moves:
//!
//! ```text
//!   RUNNING --join parks (CAS, after the switch)--> WAITING --complete (swap)--> DONE
//!   RUNNING --complete (swap)------------------------------------------------> DONE
//! ```
//!
//! Invariants: `result` is written only by the goroutine, before it swaps in DONE; `waiter` only
//! by the joiner, before its CAS to WAITING; each side reads the other's cell only after seeing
//! the other's state change (acquire/release on `state`).

use std::cell::UnsafeCell;
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

/// What a G runs.
pub(crate) trait Runnable: Send + Sync {
    fn run(&self);
}

/// The joining side of a task.
pub(crate) struct JoinCore<T> {
    state: AtomicU8,
    result: UnsafeCell<Option<thread::Result<T>>>,
    waiter: UnsafeCell<Option<Waiter>>,
}

pub(crate) struct Task<F, T> {
    core: JoinCore<T>,
    func: UnsafeCell<Option<F>>,
}

/// Access to a task's join side without naming its function type.
pub(crate) trait Joinable<T>: Send + Sync {
    fn core(&self) -> &JoinCore<T>;
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
            core: JoinCore {
                state: AtomicU8::new(RUNNING),
                result: UnsafeCell::new(None),
                waiter: UnsafeCell::new(None),
            },
            func: UnsafeCell::new(Some(f)),
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
        let core = &self.core;
        // SAFETY: before DONE, only this goroutine writes `result` and the joiner does not read it.
        unsafe { *core.result.get() = Some(result) };
        if core.state.swap(DONE, Ordering::AcqRel) == WAITING {
            // SAFETY: the joiner wrote `waiter` before its CAS to WAITING, which we observed.
            if let Some(w) = unsafe { (*core.waiter.get()).take() } {
                w.wake();
            }
        }
    }
}

// SAFETY: see the Sync impl above.
unsafe impl<T: Send> Sync for JoinCore<T> {}
// SAFETY: see the Sync impl above.
unsafe impl<T: Send> Send for JoinCore<T> {}

impl<F, T> Joinable<T> for Task<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    fn core(&self) -> &JoinCore<T> {
        &self.core
    }
}

impl<T> JoinCore<T> {
    pub(crate) fn is_done(&self) -> bool {
        self.state.load(Ordering::Acquire) == DONE
    }

    /// Waits for DONE and takes the result; called once, by the only `JoinHandle`.
    pub(crate) fn join(&self) -> Option<thread::Result<T>> {
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
        if !self.is_done() {
            return None;
        }
        // SAFETY: DONE was observed with acquire: the goroutine wrote `result` and is done with it.
        unsafe { (*self.result.get()).take() }
    }
}
