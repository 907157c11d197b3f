//! Async handles: waking the loop from other threads (libuv src/unix/async.c).
//!
//! Invariants:
//! - `send` sets the handle's `pending` flag, then the loop's; only the sender that turns the
//!   loop's flag from false to true writes the eventfd, so a burst of sends costs one write.
//! - The loop clears its flag before it reads the handles' flags (both with acquire/release
//!   ordering), so a send that lands meanwhile leaves the loop flag set for the next poll:
//!   no wake-up is lost.
//! - Several sends before the loop looks run the callback once (libuv: "coalesced").
//!
//! ```text
//!   other thread: handle.pending = true ─> loop.pending = true ─> eventfd write (first only)
//!   loop (poll):  loop.pending.swap(false) ─> for each async handle, in init order:
//!                                              if handle.pending.swap(false): callback()
//! ```

use std::fmt;
use std::io;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{handle_common, HandleClosed, HandleId, HandleKind, Loop, LoopInner};

pub(crate) const WAKE_TOKEN: mio::Token = mio::Token(0);

/// The loop's wake-up: a flag and mio's eventfd waker.
pub(crate) struct Wakeup {
    pending: AtomicBool,
    waker: mio::Waker,
}

impl Wakeup {
    pub(crate) fn new(registry: &mio::Registry) -> io::Result<Wakeup> {
        Ok(Wakeup {
            pending: AtomicBool::new(false),
            waker: mio::Waker::new(registry, WAKE_TOKEN)?,
        })
    }

    fn signal(&self) {
        if !self.pending.swap(true, Ordering::AcqRel) {
            // A failed eventfd write leaves the flag set; the next poll with a zero timeout
            // or the next wake-up still sees it.
            let _ = self.waker.wake();
        }
    }

    /// Clears the flag and says whether it was set.
    pub(crate) fn take(&self) -> bool {
        self.pending.load(Ordering::Relaxed) && self.pending.swap(false, Ordering::AcqRel)
    }
}

/// An async handle (`uv_async_t`): its callback runs in the poll phase after some thread
/// called [`AsyncSender::send`]. Active from creation, until closed.
#[derive(Clone)]
pub struct AsyncHandle {
    event_loop: Weak<LoopInner>,
    wakeup: Arc<Wakeup>,
    id: HandleId,
    pending: Arc<AtomicBool>,
}

handle_common!(AsyncHandle);

impl fmt::Debug for AsyncHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncHandle")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The sending side of an [`AsyncHandle`] (`uv_async_send`), for any thread.
#[derive(Clone)]
pub struct AsyncSender {
    pending: Arc<AtomicBool>,
    wakeup: Arc<Wakeup>,
}

impl fmt::Debug for AsyncSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncSender").finish_non_exhaustive()
    }
}

impl AsyncSender {
    /// Wakes the loop and makes it run the handle's callback (`uv_async_send`). Sends made
    /// before the callback runs are coalesced into one call. After the handle is closed, a
    /// send does nothing.
    pub fn send(&self) {
        if !self.pending.swap(true, Ordering::AcqRel) {
            self.wakeup.signal();
        }
    }
}

impl AsyncHandle {
    /// A new active async handle (`uv_async_init`).
    pub fn new(event_loop: &Loop, callback: impl Fn() + 'static) -> AsyncHandle {
        let pending = Arc::new(AtomicBool::new(false));
        let mut state = event_loop.state_mut();
        let id = state.init_handle(HandleKind::Async);
        if let Some(slot) = state.slot_mut(id) {
            slot.callback = Some(Rc::new(callback));
            slot.async_pending = Some(pending.clone());
        }
        state.async_handles.push(id);
        state.handle_start(id);
        drop(state);
        AsyncHandle {
            event_loop: event_loop.inner_weak(),
            wakeup: event_loop.inner.wakeup.clone(),
            id,
            pending,
        }
    }

    /// A sender other threads can use.
    pub fn sender(&self) -> AsyncSender {
        AsyncSender {
            pending: self.pending.clone(),
            wakeup: self.wakeup.clone(),
        }
    }
}

impl Loop {
    /// `uv__async_io`: every async handle with its flag set runs, in init order.
    pub(super) fn async_io(&self) {
        let handles = self.state().async_handles.clone();
        for id in handles {
            let callback = {
                let state = self.state();
                match state.slot(id) {
                    Some(slot) => match &slot.async_pending {
                        Some(pending) if pending.swap(false, Ordering::AcqRel) => {
                            slot.callback.clone()
                        }
                        _ => None,
                    },
                    None => None,
                }
            };
            if let Some(callback) = callback {
                super::run_callback(id.index, &*callback);
            }
        }
    }
}
