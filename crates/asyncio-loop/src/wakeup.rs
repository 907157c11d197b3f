//! `call_soon_threadsafe` and the loop's wake-up: CPython's self-pipe (`_write_to_self`,
//! `_read_from_self` in `Lib/asyncio/selector_events.py`), here an eventfd registered with the
//! loop's epoll selector (see [`crate::selector`]).
//!
//! ```text
//!   other thread                              loop thread, _run_once step 3 (select)
//!   ────────────                              ─────────────────────────────────────
//!   call_soon_threadsafe(cb)                  epoll_wait(timeout)   the eventfd is one source
//!     lock; pending.push_back(cb); unlock     eventfd readable: read it (_read_from_self)
//!     was empty: write(eventfd, 1)            then drain pending onto the back of the ready
//!       (_write_to_self)                      queue, before the I/O events and due timers
//! ```
//!
//! Ordering: CPython appends the handle to `_ready` at once (a `deque.append` is atomic under the
//! GIL) and the self-pipe only ends the wait. Here the handle waits in `pending` until the loop
//! thread's next select, which moves it to the back of the ready queue before I/O callbacks and
//! due timers join it, and a pending handle makes that select not block. So a threadsafe
//! callback runs in the first pass after the one during which it was scheduled, never later, as
//! in CPython.
//!
//! Invariants:
//! - `pending` is only drained by the loop thread, in select, and always after the eventfd was
//!   read: a sender writes the eventfd when it finds `pending` empty, so a callback pushed after
//!   a drain always comes with a write the loop has not consumed yet (no lost wake-up; at worst
//!   a spurious one);
//! - `has_pending` is true whenever `pending` is not empty (both change under the lock; the
//!   loop reads the flag without it and takes the lock only when it is set);
//! - `closed` is set once, by `close()` or when the loop is dropped; after it, scheduling fails
//!   and gives the callback back;
//! - a wait with no timer and no I/O source blocks only while some `ThreadsafeLoop` exists (it
//!   could wake the loop); dropping one writes the eventfd, and such a wait re-checks at least
//!   once a second, so the loop stops soon after the last one is gone instead of blocking
//!   forever.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rustix::event::{eventfd, EventfdFlags};

use crate::events::Callback;

type SendCallback = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct State {
    pending: VecDeque<(SendCallback, &'static str)>,
    closed: bool,
}

/// What the loop and every [`ThreadsafeLoop`] share.
pub(crate) struct Wakeup {
    state: Mutex<State>,
    /// `!state.pending.is_empty()`, written under the lock, so that the loop's every pass can
    /// look without taking it.
    has_pending: AtomicBool,
    /// The self-pipe; `None` when the process could not create one (the loop then refuses to
    /// run, with the error its selector kept).
    eventfd: Option<OwnedFd>,
}

impl Wakeup {
    /// A wake-up with its eventfd, or the error that kept it from being created.
    pub(crate) fn new() -> (Self, io::Result<()>) {
        let created = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK);
        let (eventfd, outcome) = match created {
            Ok(fd) => (Some(fd), Ok(())),
            Err(error) => (None, Err(io::Error::from(error))),
        };
        let wakeup = Wakeup {
            state: Mutex::new(State::default()),
            has_pending: AtomicBool::new(false),
            eventfd,
        };
        (wakeup, outcome)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A callback never runs under this lock, so a poisoned lock still holds a valid queue.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The eventfd, for the selector to register.
    pub(crate) fn fd(&self) -> Option<&OwnedFd> {
        self.eventfd.as_ref()
    }

    /// `_write_to_self`: make the selector's wait return. A full counter (EAGAIN) already
    /// means "readable", so a failed write loses nothing.
    fn write_to_self(&self) {
        if let Some(fd) = &self.eventfd {
            let _ = rustix::io::write(fd.as_fd(), &1u64.to_ne_bytes());
        }
    }

    /// `_read_from_self`: reset the eventfd after the selector saw it readable.
    pub(crate) fn read_from_self(&self) {
        if let Some(fd) = &self.eventfd {
            let mut buf = [0u8; 8];
            let _ = rustix::io::read(fd.as_fd(), &mut buf);
        }
    }

    /// Whether callbacks are pending, without taking the lock. One pushed after this load
    /// comes with its eventfd write and is seen by the next pass, as if it came a moment later.
    #[inline]
    pub(crate) fn has_pending(&self) -> bool {
        self.has_pending.load(Ordering::Acquire)
    }

    /// The callbacks pending now, oldest first.
    pub(crate) fn take_pending(&self) -> Vec<(Callback, &'static str)> {
        let mut state = self.lock();
        self.has_pending.store(false, Ordering::Relaxed);
        state
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
        let was_empty = state.pending.is_empty();
        state
            .pending
            .push_back((Box::new(callback), std::any::type_name::<F>()));
        self.0.has_pending.store(true, Ordering::Release);
        drop(state);
        if was_empty {
            self.0.write_to_self();
        }
        Ok(())
    }
}

impl Drop for ThreadsafeLoop {
    fn drop(&mut self) {
        // The last sender (the loop holds the other reference): the loop may be blocking on
        // our behalf; let it re-check `has_senders`. (Two last senders dropped at once may both
        // skip this; the loop's one-second re-check covers that.)
        if Arc::strong_count(&self.0) == 2 {
            self.0.write_to_self();
        }
    }
}
