//! Handles (libuv's `uv_handle_t`, src/uv-common.c and src/unix/core.c): the slab slot of each
//! handle, its flags and the loop's counts.
//!
//! Invariants:
//! - `active_handles` counts the handles that are both `ACTIVE` and `REF`; `uv_loop_alive`
//!   reads it. Starting, stopping, `ref` and `unref` keep it exact.
//! - A handle id is (slot index, generation): once the close callback has run, the slot is
//!   free and its generation moves on, so an old id finds nothing (`HandleClosed`).
//! - `close` stops the handle at once; its close callback runs in the closing phase (the loop
//!   stays alive until then), after the slot has dropped the handle's callback.
//! - A callback or watcher dropped by the loop is dropped with the state released: it may hold
//!   the last reference to anything, a handle whose drop reads the state among them.
//!
//! ```text
//!   init ──start──> ACTIVE (counted if REF) ──stop──> inactive ──close──> CLOSING ──closing phase──> freed
//! ```

use probe::trace::EventKind;

use super::{
    Callback, HandleClosed, HandleId, HandleKind, Loop, LoopState, Slot, ACTIVE, CLOSING, REF,
};

/// What [`LoopState::finish_close`] takes out of a freed slot.
#[derive(Default)]
pub(super) struct Closed {
    pub(super) close_cb: Option<Box<dyn FnOnce()>>,
    pub(super) callback: Option<Callback>,
}

impl LoopState {
    pub(super) fn slot(&self, id: HandleId) -> Option<&Slot> {
        self.slots
            .get(id.index as usize)
            .filter(|s| s.in_use && s.generation == id.generation)
    }

    pub(super) fn slot_mut(&mut self, id: HandleId) -> Option<&mut Slot> {
        self.slots
            .get_mut(id.index as usize)
            .filter(|s| s.in_use && s.generation == id.generation)
    }

    /// `uv__handle_init`: referenced, inactive.
    pub(super) fn init_handle(&mut self, kind: HandleKind) -> HandleId {
        let slot = Slot {
            generation: 0,
            kind,
            flags: REF,
            callback: None,
            close_cb: None,
            timeout: 0,
            repeat: 0,
            start_id: 0,
            async_pending: None,
            in_use: true,
        };
        match self.free.pop() {
            Some(index) => {
                let old = &mut self.slots[index as usize];
                let generation = old.generation.wrapping_add(1);
                *old = Slot { generation, ..slot };
                HandleId { index, generation }
            }
            None => {
                self.slots.push(slot);
                HandleId {
                    index: (self.slots.len() - 1) as u32,
                    generation: 0,
                }
            }
        }
    }

    /// `uv__handle_start`: active, and counted if referenced.
    pub(super) fn handle_start(&mut self, id: HandleId) {
        let Some(slot) = self.slot_mut(id) else {
            return;
        };
        if slot.flags & ACTIVE != 0 {
            return;
        }
        slot.flags |= ACTIVE;
        if slot.flags & REF != 0 {
            self.active_handles += 1;
        }
    }

    /// `uv__handle_stop`.
    pub(super) fn handle_stop(&mut self, id: HandleId) {
        let Some(slot) = self.slot_mut(id) else {
            return;
        };
        if slot.flags & ACTIVE == 0 {
            return;
        }
        slot.flags &= !ACTIVE;
        if slot.flags & REF != 0 {
            self.active_handles -= 1;
        }
    }

    pub(super) fn handle_ref(&mut self, id: HandleId, referenced: bool) {
        let Some(slot) = self.slot_mut(id) else {
            return;
        };
        let was = slot.flags & REF != 0;
        if was == referenced {
            return;
        }
        let active = slot.flags & ACTIVE != 0;
        if referenced {
            slot.flags |= REF;
        } else {
            slot.flags &= !REF;
        }
        if active {
            if referenced {
                self.active_handles += 1;
            } else {
                self.active_handles -= 1;
            }
        }
    }

    pub(super) fn is_closing(&self, id: HandleId) -> bool {
        self.slot(id).is_none_or(|s| s.flags & CLOSING != 0)
    }

    /// `uv__finish_close`: frees the slot and returns its close callback and its callback,
    /// for the caller to run and to drop once the state is released (a closure dropped may
    /// drop anything, a handle or a loop among them).
    pub(super) fn finish_close(&mut self, id: HandleId) -> Closed {
        let Some(slot) = self.slot_mut(id) else {
            return Closed::default();
        };
        let closed = Closed {
            close_cb: slot.close_cb.take(),
            callback: slot.callback.take(),
        };
        slot.async_pending = None;
        slot.in_use = false;
        self.free.push(id.index);
        closed
    }
}

/// Calls a handle's callback, recorded as a run of "task" `index` (the handle's slot) when a
/// probe trace is on.
#[inline(always)]
pub(crate) fn run_callback(index: u32, callback: &dyn Fn()) {
    if probe::trace::enabled() {
        let task = u64::from(index);
        probe::trace::record(EventKind::RunBegin { task, proc_id: 0 });
        callback();
        probe::trace::record(EventKind::RunEnd { task, proc_id: 0 });
    } else {
        callback();
    }
}

/// The operations every handle type has (`uv_handle_t`): ref counting, activity, close.
/// A handle holds its loop weakly (see the parent module): once the loop is dropped, each
/// operation finds nothing, as on a closed handle.
macro_rules! handle_common {
    ($name:ident) => {
        impl $name {
            /// Makes the handle keep the loop alive while active (`uv_ref`).
            pub fn ref_(&self) {
                if let Some(event_loop) = self.event_loop() {
                    event_loop.state_mut().handle_ref(self.id, true);
                }
            }

            /// Makes the handle not keep the loop alive (`uv_unref`).
            pub fn unref(&self) {
                if let Some(event_loop) = self.event_loop() {
                    event_loop.state_mut().handle_ref(self.id, false);
                }
            }

            /// Whether the handle is referenced (`uv_has_ref`).
            pub fn has_ref(&self) -> bool {
                self.event_loop().is_some_and(|event_loop| {
                    event_loop
                        .state()
                        .slot(self.id)
                        .is_some_and(|s| s.flags & $crate::uv::REF != 0)
                })
            }

            /// Whether the handle is active (`uv_is_active`).
            pub fn is_active(&self) -> bool {
                self.event_loop().is_some_and(|event_loop| {
                    event_loop
                        .state()
                        .slot(self.id)
                        .is_some_and(|s| s.flags & $crate::uv::ACTIVE != 0)
                })
            }

            /// Whether `close` was called (`uv_is_closing`); also true once the loop is gone.
            pub fn is_closing(&self) -> bool {
                self.event_loop()
                    .is_none_or(|event_loop| event_loop.state().is_closing(self.id))
            }

            /// Closes the handle (`uv_close`): stops it now, and runs `close_cb` in the
            /// closing phase of this iteration. A second close is refused.
            pub fn close(&self, close_cb: impl FnOnce() + 'static) -> Result<(), HandleClosed> {
                self.event_loop()
                    .ok_or(HandleClosed)?
                    .close_handle(self.id, Some(Box::new(close_cb)))
            }

            /// The loop this handle belongs to; `None` once every [`Loop`] value is dropped.
            pub fn event_loop(&self) -> Option<Loop> {
                self.event_loop.upgrade().map(Loop::from_inner)
            }
        }
    };
}
pub(crate) use handle_common;

impl Loop {
    pub(crate) fn close_handle(
        &self,
        id: HandleId,
        close_cb: Option<Box<dyn FnOnce()>>,
    ) -> Result<(), HandleClosed> {
        let mut state = self.state_mut();
        if state.is_closing(id) {
            return Err(HandleClosed);
        }
        let kind = state.slot(id).map(|s| s.kind).ok_or(HandleClosed)?;
        let mut watcher = None;
        match kind {
            HandleKind::Timer => state.timer_stop(id),
            HandleKind::Idle => state.watcher_stop(HandleKind::Idle, id),
            HandleKind::Prepare => state.watcher_stop(HandleKind::Prepare, id),
            HandleKind::Check => state.watcher_stop(HandleKind::Check, id),
            HandleKind::Async => {
                state.async_handles.retain(|h| *h != id);
                state.handle_stop(id);
            }
            HandleKind::Io => {
                watcher = state.io_callbacks.remove(&id.index);
                state.handle_stop(id);
            }
        }
        if let Some(slot) = state.slot_mut(id) {
            slot.flags |= CLOSING;
            slot.close_cb = close_cb;
        }
        state.closing.push(id);
        drop(state);
        // The watcher's callback may hold the last reference to anything: dropped with the
        // state released.
        drop(watcher);
        Ok(())
    }
}
