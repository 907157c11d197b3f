//! `call_soon_threadsafe` and the loop's wake-up: CPython's self-pipe (`_write_to_self`,
//! `_read_from_self` in `Lib/asyncio/selector_events.py`), here a `Mutex` and a `Condvar`.
//!
//! ```text
//!   other thread                              loop thread, _run_once step 3 (select)
//!   ────────────                              ─────────────────────────────────────
//!   call_soon_threadsafe(cb)                  lock; while nothing pending and before deadline:
//!     lock; pending.push_back(cb); unlock       condvar.wait_timeout  (the blocking wait)
//!     condvar.notify_one  (_write_to_self)    drain pending onto the back of the ready queue
//! ```
//!
//! Why not a real self-pipe or eventfd: the selector has no I/O sources yet, so its wait is a
//! timed sleep, and a condition variable is the sleep a thread can interrupt without `unsafe`
//! or `libc`. Once sockets exist the wait becomes `poll`/`epoll`, and this becomes an eventfd
//! registered with it; `ThreadsafeLoop`'s contract stays the same.
//!
//! Ordering: CPython appends the handle to `_ready` at once (a `deque.append` is atomic under the
//! GIL) and the self-pipe only ends the wait. Here the handle waits in `pending` until the loop
//! thread's next select, which moves it to the back of the ready queue before due timers join
//! it, and a pending handle makes that select not block. So a threadsafe callback runs in the
//! first pass after the one during which it was scheduled, never later, as in CPython.
//!
//! Invariants:
//! - `pending` is only drained by the loop thread, in select;
//! - `closed` is set once, by `close()` or when the loop is dropped; after it, scheduling fails
//!   and gives the callback back;
//! - `select(None)` blocks only while some `ThreadsafeLoop` exists (it could wake the loop);
//!   dropping one notifies the loop, and a wait with no deadline re-checks at least once a
//!   second, so the loop stops soon after the last one is gone instead of blocking forever.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::events::Callback;

type SendCallback = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct State {
    pending: VecDeque<(SendCallback, &'static str)>,
    closed: bool,
}

/// What the loop and every [`ThreadsafeLoop`] share.
#[derive(Default)]
pub(crate) struct Wakeup {
    state: Mutex<State>,
    condvar: Condvar,
}

impl Wakeup {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A callback never runs under this lock, so a poisoned lock still holds a valid queue.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The selector's wait: until `deadline` (`None`: until a callback arrives or no thread can
    /// send one any more), returning early once a callback is pending. Gives back the pending
    /// callbacks, oldest first.
    pub(crate) fn wait(
        self: &Arc<Self>,
        deadline: Option<Instant>,
    ) -> Vec<(Callback, &'static str)> {
        let mut state = self.lock();
        loop {
            if !state.pending.is_empty() {
                break;
            }
            match deadline {
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    state = self
                        .condvar
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
                None => {
                    if Arc::strong_count(self) == 1 {
                        break;
                    }
                    state = self
                        .condvar
                        .wait_timeout(state, Duration::from_secs(1))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        }
        state
            .pending
            .drain(..)
            .map(|(callback, name)| (callback as Callback, name))
            .collect()
    }

    /// The callbacks pending now, without waiting (the selector's zero timeout).
    pub(crate) fn take_pending(&self) -> Vec<(Callback, &'static str)> {
        self.lock()
            .pending
            .drain(..)
            .map(|(callback, name)| (callback as Callback, name))
            .collect()
    }

    /// Whether some [`ThreadsafeLoop`] could still wake the loop.
    pub(crate) fn has_senders(self: &Arc<Self>) -> bool {
        Arc::strong_count(self) > 1
    }

    /// Refuse callbacks from now on and drop those pending.
    pub(crate) fn close(&self) {
        let pending = {
            let mut state = self.lock();
            state.closed = true;
            std::mem::take(&mut state.pending)
        };
        drop(pending);
    }
}

/// `RuntimeError('Event loop is closed')` from
/// [`ThreadsafeLoop::call_soon_threadsafe`]; gives the callback back.
pub struct LoopClosed<F>(pub F);

impl<F> fmt::Debug for LoopClosed<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoopClosed(..)")
    }
}

impl<F> fmt::Display for LoopClosed<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("event loop is closed")
    }
}

impl<F> std::error::Error for LoopClosed<F> {}

/// The part of an [`EventLoop`](crate::EventLoop) that other threads may use: `Send`, `Sync`,
/// and cheap to clone. Get one with [`EventLoop::threadsafe`](crate::EventLoop::threadsafe).
#[derive(Clone)]
pub struct ThreadsafeLoop(pub(crate) Arc<Wakeup>);

impl ThreadsafeLoop {
    /// `loop.call_soon_threadsafe`: schedule `callback` on the loop's thread and wake the loop
    /// from its wait (`_write_to_self`). Unlike CPython no `Handle` comes back, since a handle
    /// belongs to the loop's thread.
    pub fn call_soon_threadsafe<F>(&self, callback: F) -> Result<(), LoopClosed<F>>
    where
        F: FnOnce() + Send + 'static,
    {
        let mut state = self.0.lock();
        if state.closed {
            return Err(LoopClosed(callback));
        }
        state
            .pending
            .push_back((Box::new(callback), std::any::type_name::<F>()));
        drop(state);
        self.0.condvar.notify_one();
        Ok(())
    }
}

impl Drop for ThreadsafeLoop {
    fn drop(&mut self) {
        // The loop may be blocking forever on our behalf; let it re-check `has_senders`.
        self.0.condvar.notify_one();
    }
}
