//! I/O watchers: libuv's `uv__io_t` (src/unix/core.c `uv__io_start`/`uv__io_stop`) over epoll,
//! through `mio`.
//!
//! Invariants:
//! - A watcher is a handle of kind `Io` in the loop's slab: active (so the loop stays alive)
//!   from [`Loop::io_start`] to [`Loop::io_stop`] or close, like a reading stream or a
//!   listening server in libuv.
//! - Its epoll token is its slot index + 1 (token 0 is the async wake-up); an event for a
//!   slot closed or reused since is dropped by the generation check.
//! - mio registers edge-triggered (libuv uses level-triggered epoll): a watcher's callback
//!   must leave nothing behind that no new edge will report: read or write until
//!   `WouldBlock` (or, for a stream socket, until a read comes back short: the socket was
//!   empty then, and Linux raises an edge for every arrival after it), or re-arm itself
//!   through the pending queue ([`Loop::feed_pending`]) when it stops early, as Node's
//!   paused streams do.
//! - The loop holds a watcher ([`IoWatcher`]) until close. A watcher still open when the last
//!   [`Loop`] is dropped is torn down ([`IoWatcher::teardown`]): what its handle holds that may
//!   hold the handle goes, and nothing is called.

use std::io;
use std::rc::Rc;

use super::{HandleClosed, HandleId, HandleKind, Loop};

/// What epoll said about a file descriptor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Readiness {
    /// `EPOLLIN`.
    pub readable: bool,
    /// `EPOLLOUT`.
    pub writable: bool,
    /// `EPOLLERR`.
    pub error: bool,
    /// `EPOLLRDHUP` / `EPOLLHUP`: the peer will send nothing more.
    pub read_closed: bool,
    /// `EPOLLHUP` on the write side.
    pub write_closed: bool,
}

impl Readiness {
    pub(super) fn of(event: &mio::event::Event) -> Readiness {
        Readiness {
            readable: event.is_readable(),
            writable: event.is_writable(),
            error: event.is_error(),
            read_closed: event.is_read_closed(),
            write_closed: event.is_write_closed(),
        }
    }
}

/// What a watcher's slot holds: its callback, and what the loop's end asks of it.
pub(crate) trait IoWatcher {
    /// The callback: runs in the poll phase with each event.
    fn ready(&self, readiness: Readiness);

    /// The loop is dropped with this watcher still open (nothing can run on it again): drop
    /// what the handle holds that may hold the handle (its callbacks, queued requests),
    /// calling none of it. A plain callback has nothing beyond itself.
    fn teardown(&self) {}
}

impl<F: Fn(Readiness)> IoWatcher for F {
    fn ready(&self, readiness: Readiness) {
        self(readiness);
    }
}

pub(crate) type IoCallback = Rc<dyn IoWatcher>;

impl Loop {
    /// Registers `source` for reading and writing readiness; `callback` runs in the poll
    /// phase with each event. The watcher starts inactive.
    pub(crate) fn io_init(
        &self,
        source: &mut impl mio::event::Source,
        callback: IoCallback,
    ) -> io::Result<HandleId> {
        let id = self.io_init_unregistered(callback);
        if let Err(error) = self.io_register(id, source) {
            let (watcher, closed) = {
                let mut state = self.state_mut();
                (state.io_callbacks.remove(&id.index), state.finish_close(id))
            };
            drop((watcher, closed.callback));
            return Err(error);
        }
        Ok(id)
    }

    /// A watcher with no descriptor yet (libuv's `uv__io_init` with `fd == -1`, as
    /// `uv_udp_init` leaves a UDP handle until its bind): it can be referenced, unreferenced
    /// and closed; [`Loop::io_register`] gives it its descriptor.
    pub(crate) fn io_init_unregistered(&self, callback: IoCallback) -> HandleId {
        let mut state = self.state_mut();
        let id = state.init_handle(HandleKind::Io);
        state
            .io_callbacks
            .insert(id.index, (id.generation, callback));
        id
    }

    /// Registers `source` as the descriptor of watcher `id`, for reading and writing
    /// readiness.
    pub(crate) fn io_register(
        &self,
        id: HandleId,
        source: &mut impl mio::event::Source,
    ) -> io::Result<()> {
        let token = mio::Token(id.index as usize + 1);
        self.inner.io.borrow().poll.registry().register(
            source,
            token,
            mio::Interest::READABLE | mio::Interest::WRITABLE,
        )?;
        self.inner.io_watchers.set(self.inner.io_watchers.get() + 1);
        Ok(())
    }

    /// Registers `source` again (`EPOLL_CTL_MOD`): epoll checks its readiness afresh, so the
    /// next poll reports what is readable or writable *now* although no new edge came. This
    /// is how a watcher gets libuv's level-triggered report for what it left behind (a read
    /// budget spent, a write watcher started on a writable socket).
    pub(crate) fn io_rearm(
        &self,
        id: HandleId,
        source: &mut impl mio::event::Source,
    ) -> io::Result<()> {
        let token = mio::Token(id.index as usize + 1);
        self.inner.io.borrow().poll.registry().reregister(
            source,
            token,
            mio::Interest::READABLE | mio::Interest::WRITABLE,
        )
    }

    /// Makes the watcher active: it keeps the loop alive while referenced.
    pub(crate) fn io_start(&self, id: HandleId) {
        self.state_mut().handle_start(id);
    }

    /// Makes the watcher inactive; events still reach it until it is closed.
    pub(crate) fn io_stop(&self, id: HandleId) {
        self.state_mut().handle_stop(id);
    }

    /// Unreferences or references the watcher (`uv_unref` / `uv_ref`).
    pub(crate) fn io_ref(&self, id: HandleId, referenced: bool) {
        self.state_mut().handle_ref(id, referenced);
    }

    /// Deregisters `source` and closes the watcher: `close_cb` runs in the closing phase.
    pub(crate) fn io_close(
        &self,
        id: HandleId,
        source: &mut impl mio::event::Source,
        close_cb: Box<dyn FnOnce()>,
    ) -> Result<(), HandleClosed> {
        // Deregistering a socket that is about to be closed cannot fail in a way that matters:
        // closing the descriptor removes it from epoll anyway.
        let _ = self.inner.io.borrow().poll.registry().deregister(source);
        self.close_handle(id, Some(close_cb))?;
        self.inner
            .io_watchers
            .set(self.inner.io_watchers.get().saturating_sub(1));
        Ok(())
    }

    /// Closes a watcher that never got a descriptor ([`Loop::io_init_unregistered`]).
    pub(crate) fn io_close_unregistered(
        &self,
        id: HandleId,
        close_cb: Box<dyn FnOnce()>,
    ) -> Result<(), HandleClosed> {
        self.close_handle(id, Some(close_cb))
    }

    pub(super) fn io_dispatch(&self, token: mio::Token, readiness: Readiness) {
        let Some(index) = token.0.checked_sub(1) else {
            return;
        };
        let callback = {
            let state = self.state();
            match state.io_callbacks.get(&(index as u32)) {
                Some((generation, callback)) => state
                    .slot(HandleId {
                        index: index as u32,
                        generation: *generation,
                    })
                    .map(|_| callback.clone()),
                None => None,
            }
        };
        if let Some(callback) = callback {
            callback.ready(readiness);
        }
    }
}
