//! `Once`, after Go's `sync/once.go`: a `done` flag read on the fast path, and a [`Mutex`] that
//! the first caller holds while it runs the function, so that every other caller waits for it.
//!
//! ```text
//!   call_once(f): done? ─yes─▶ return                          (one Acquire load, inlined)
//!                  │ no
//!                  ▼
//!                 lock (park as "sync.Once.Do") ─▶ done? ─yes─▶ unlock, return
//!                                                   │ no
//!                                                   ▼
//!                                                  f(); done = true (even if f panics); unlock
//! ```
//!
//! Invariants:
//! - `done` goes from false to true once, under the mutex, after `f` has returned or unwound.
//! - When `call_once` returns, `f` has finished: the fast path sees `done` only after `f`'s
//!   effects (Release store, Acquire load), and slow callers wait on the mutex.
//!
//! Rejected, as Go's comment on `Do` explains: a CAS of `done` from false to true deciding who
//! runs `f`. It picks one runner, but the losers would return while `f` still runs, and
//! `call_once` promises that `f` has finished when it returns.
//!
//! A panicking `f` counts as done, as in Go: the panic goes on to the caller that ran `f`, and
//! every other caller, waiting or later, returns without running its function. (`std`'s `Once`
//! poisons itself instead.)

use std::fmt;

use super::mutex::Mutex;
use crate::loom::{AtomicBool, Ordering};
use crate::runtime::g::WaitReason;

/// Runs a function exactly once, after Go's `sync.Once`; concurrent callers park until it has
/// finished.
///
/// ```
/// use std::sync::Arc;
/// use goroutines::sync::Once;
///
/// static INIT: Once = Once::new();
/// // SAFETY: these goroutines hold no thread-locals or std guards across blocking calls.
/// unsafe {
///     goroutines::run(|| {
///         let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
///         let racers: Vec<_> = (0..8)
///             .map(|_| {
///                 let calls = calls.clone();
///                 goroutines::go(move || {
///                     INIT.call_once(|| {
///                         calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///                     })
///                 })
///             })
///             .collect();
///         racers.into_iter().for_each(|r| r.join().unwrap());
///         assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 1);
///     })
/// };
/// ```
pub struct Once {
    done: AtomicBool,
    mutex: Mutex<()>,
}

impl Once {
    /// A `Once` whose function has not run.
    #[must_use]
    pub const fn new() -> Once {
        Once {
            done: AtomicBool::new(false),
            mutex: Mutex::new(()),
        }
    }

    /// Runs `f` if no call on this `Once` has run its function yet (Go's `Do`); otherwise waits,
    /// parking the goroutine (or blocking the plain thread), until that call has finished, and
    /// returns without running `f`.
    ///
    /// Calling `call_once` on the same `Once` from inside `f` waits forever.
    ///
    /// # Panics
    ///
    /// If `f` panics, the panic continues in this caller; the `Once` counts as done.
    #[inline]
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        if !self.done.load(Ordering::Acquire) {
            self.call_once_slow(f);
        }
    }

    /// Go's `doSlow`.
    #[cold]
    fn call_once_slow<F: FnOnce()>(&self, f: F) {
        let _lock = self.mutex.lock_waiting_as(WaitReason::OnceWait);
        if self.done.load(Ordering::Relaxed) {
            return;
        }
        // Dropped before `_lock`, on return or unwind: done is set before the mutex is free.
        let _mark_done = MarkDone(&self.done);
        f();
    }

    /// Whether a call has run its function to completion (or to its panic).
    #[must_use]
    pub fn is_completed(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }
}

/// Sets `done` when dropped (Go's `defer o.done.Store(1)`).
struct MarkDone<'a>(&'a AtomicBool);

impl Drop for MarkDone<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

impl Default for Once {
    fn default() -> Once {
        Once::new()
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once")
            .field("done", &self.is_completed())
            .finish_non_exhaustive()
    }
}
