//! Idle, prepare and check handles (libuv src/unix/loop-watcher.c).
//!
//! Each kind has one list on the loop, run by its phase of `uv_run`. Starting inserts at the
//! head (so the newest handle runs first); starting an active handle does nothing, not even
//! replace its callback. The phase moves the list aside before it calls out (see
//! `Loop::run_watcher_list` and src/uv/run.rs).

use std::rc::{Rc, Weak};

use super::{
    handle_common, Callback, HandleClosed, HandleId, HandleKind, Loop, LoopInner, LoopState, ACTIVE,
};

macro_rules! loop_watcher {
    ($name:ident, $kind:expr, $uv:literal, $phase:literal) => {
        #[doc = concat!("A `", $uv, "` handle: its callback runs once per iteration in the ", $phase, " phase while it is active.")]
        #[derive(Clone, Debug)]
        pub struct $name {
            event_loop: Weak<LoopInner>,
            id: HandleId,
        }

        handle_common!($name);

        impl $name {
            #[doc = concat!("A new, stopped handle (`", $uv, "_init`).")]
            pub fn new(event_loop: &Loop) -> $name {
                let id = event_loop.state_mut().init_handle($kind);
                $name {
                    event_loop: event_loop.inner_weak(),
                    id,
                }
            }

            #[doc = concat!("Starts it (`", $uv, "_start`); a started handle keeps its callback.")]
            pub fn start(&self, callback: impl Fn() + 'static) -> Result<(), HandleClosed> {
                let event_loop = self.event_loop().ok_or(HandleClosed)?;
                let old = event_loop
                    .state_mut()
                    .watcher_start($kind, self.id, Rc::new(callback))?;
                // A callback not kept may hold anything: dropped with the state released.
                drop(old);
                Ok(())
            }

            #[doc = concat!("Stops it (`", $uv, "_stop`).")]
            pub fn stop(&self) {
                if let Some(event_loop) = self.event_loop() {
                    event_loop.state_mut().watcher_stop($kind, self.id);
                }
            }
        }
    };
}

loop_watcher!(IdleHandle, HandleKind::Idle, "uv_idle", "idle");
loop_watcher!(PrepareHandle, HandleKind::Prepare, "uv_prepare", "prepare");
loop_watcher!(CheckHandle, HandleKind::Check, "uv_check", "check");

impl LoopState {
    fn watcher_list(&mut self, kind: HandleKind) -> &mut Vec<(HandleId, Callback)> {
        match kind {
            HandleKind::Idle => &mut self.idle,
            HandleKind::Prepare => &mut self.prepare,
            _ => &mut self.check,
        }
    }

    /// Returns the callback the handle does not keep (its earlier start's, or `callback` when
    /// it is started already), for the caller to drop.
    fn watcher_start(
        &mut self,
        kind: HandleKind,
        id: HandleId,
        callback: Callback,
    ) -> Result<Option<Callback>, HandleClosed> {
        if self.is_closing(id) {
            return Err(HandleClosed);
        }
        let seq = self.watcher_seq;
        let Some(slot) = self.slot_mut(id) else {
            return Err(HandleClosed);
        };
        if slot.flags & ACTIVE != 0 {
            return Ok(Some(callback));
        }
        let old = slot.callback.replace(callback.clone());
        slot.start_id = seq;
        self.watcher_seq += 1;
        self.watcher_list(kind).push((id, callback));
        self.handle_start(id);
        Ok(old)
    }

    pub(super) fn watcher_stop(&mut self, kind: HandleKind, id: HandleId) {
        if self.slot(id).is_none_or(|s| s.flags & ACTIVE == 0) {
            return;
        }
        let list = self.watcher_list(kind);
        if let Some(position) = list.iter().rposition(|(h, _)| *h == id) {
            list.remove(position);
        }
        self.handle_stop(id);
    }
}
