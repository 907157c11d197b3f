//! Timers (libuv src/timer.c, 1.46).
//!
//! Invariants:
//! - The heap is ordered by `(timeout, start_id)`: equal due times fire in start order
//!   (test-timer.c `timer_order`). `start_id` comes from `loop->timer_counter`, one per start.
//! - A timer is due when `timeout <= loop.time`; `timeout = loop.time + delay` at start, so a
//!   delay is measured from the cached time, not from the clock.
//! - `run_timers` re-reads the heap minimum after every callback: a 0 ms timer started inside a
//!   timer callback is due at once and runs in the same `run_timers` (libuv 1.46; 1.48 changed
//!   this by moving due timers to a ready queue first, #4250 — Node 20 has 1.46).
//!
//! Stopping a timer does not search the heap: its entry goes stale (its `start_id` no longer
//! matches the handle's) and is dropped when it reaches the top. libuv removes the node from
//! its intrusive heap instead; the order of live timers is the same.
//!
//! ```text
//!   run_timers:  loop { min = heap.top (skipping stale); if min.timeout > time: break;
//!                       stop(min); again(min) /* re-arm if repeating */; min.callback() }
//! ```

use std::cmp::Reverse;
use std::rc::{Rc, Weak};

use super::{
    handle_common, run_callback, HandleClosed, HandleId, HandleKind, Loop, LoopInner, LoopState,
    ACTIVE,
};

/// A timer handle (`uv_timer_t`).
#[derive(Clone, Debug)]
pub struct TimerHandle {
    event_loop: Weak<LoopInner>,
    id: HandleId,
}

handle_common!(TimerHandle);

impl TimerHandle {
    /// A new, stopped timer on `event_loop` (`uv_timer_init`).
    pub fn new(event_loop: &Loop) -> TimerHandle {
        let id = event_loop.state_mut().init_handle(HandleKind::Timer);
        TimerHandle {
            event_loop: event_loop.inner_weak(),
            id,
        }
    }

    /// Starts the timer (`uv_timer_start`): `callback` runs `timeout` ms after the cached loop
    /// time, then every `repeat` ms if `repeat` is not 0. Restarts a started timer.
    pub fn start(
        &self,
        callback: impl Fn() + 'static,
        timeout: u64,
        repeat: u64,
    ) -> Result<(), HandleClosed> {
        self.start_rc(Rc::new(callback), timeout, repeat)
    }

    pub(crate) fn start_rc(
        &self,
        callback: Rc<dyn Fn()>,
        timeout: u64,
        repeat: u64,
    ) -> Result<(), HandleClosed> {
        let event_loop = self.event_loop().ok_or(HandleClosed)?;
        let mut state = event_loop.state_mut();
        if state.is_closing(self.id) {
            return Err(HandleClosed);
        }
        let old = state
            .slot_mut(self.id)
            .and_then(|slot| slot.callback.replace(callback));
        state.timer_start(self.id, timeout, repeat);
        drop(state);
        // The callback replaced may hold anything: dropped with the state released.
        drop(old);
        Ok(())
    }

    /// Stops the timer (`uv_timer_stop`); the callback stays for [`TimerHandle::again`].
    pub fn stop(&self) {
        if let Some(event_loop) = self.event_loop() {
            event_loop.state_mut().timer_stop(self.id);
        }
    }

    /// Restarts a repeating timer with its repeat as the timeout (`uv_timer_again`); does
    /// nothing to a timer without repeat. Fails if the timer was never started.
    pub fn again(&self) -> Result<(), HandleClosed> {
        let event_loop = self.event_loop().ok_or(HandleClosed)?;
        let mut state = event_loop.state_mut();
        match state.slot(self.id) {
            Some(slot) if slot.callback.is_some() => {
                state.timer_again(self.id);
                Ok(())
            }
            _ => Err(HandleClosed),
        }
    }

    /// Sets the repeat interval used from the next time it fires (`uv_timer_set_repeat`).
    pub fn set_repeat(&self, repeat: u64) {
        if let Some(event_loop) = self.event_loop() {
            if let Some(slot) = event_loop.state_mut().slot_mut(self.id) {
                slot.repeat = repeat;
            }
        }
    }

    /// The repeat interval (`uv_timer_get_repeat`).
    pub fn repeat(&self) -> u64 {
        self.event_loop()
            .and_then(|event_loop| event_loop.state().slot(self.id).map(|slot| slot.repeat))
            .unwrap_or(0)
    }

    /// Milliseconds until it is due, 0 if due or stopped (`uv_timer_get_due_in`).
    pub fn due_in(&self) -> u64 {
        let Some(event_loop) = self.event_loop() else {
            return 0;
        };
        let state = event_loop.state();
        match state.slot(self.id) {
            Some(slot) if slot.flags & ACTIVE != 0 => slot.timeout.saturating_sub(state.time),
            _ => 0,
        }
    }
}

impl LoopState {
    pub(super) fn timer_start(&mut self, id: HandleId, timeout: u64, repeat: u64) {
        self.timer_stop(id);
        let due = self.time.saturating_add(timeout);
        let start_id = self.timer_counter;
        self.timer_counter += 1;
        if let Some(slot) = self.slot_mut(id) {
            slot.timeout = due;
            slot.repeat = repeat;
            slot.start_id = start_id;
        }
        self.timer_heap.push(Reverse((due, start_id, id)));
        self.handle_start(id);
    }

    pub(super) fn timer_stop(&mut self, id: HandleId) {
        if self.slot(id).is_some_and(|s| s.flags & ACTIVE != 0) {
            self.handle_stop(id);
        }
    }

    pub(super) fn timer_again(&mut self, id: HandleId) {
        let repeat = self.slot(id).map_or(0, |s| s.repeat);
        if repeat != 0 {
            self.timer_stop(id);
            self.timer_start(id, repeat, repeat);
        }
    }

    /// The live timer with the smallest `(timeout, start_id)`, after dropping stale entries.
    fn timer_min(&mut self) -> Option<(HandleId, u64)> {
        while let Some(Reverse((timeout, start_id, id))) = self.timer_heap.peek().copied() {
            let live = self.slot(id).is_some_and(|s| {
                s.kind == HandleKind::Timer && s.flags & ACTIVE != 0 && s.start_id == start_id
            });
            if live {
                return Some((id, timeout));
            }
            self.timer_heap.pop();
        }
        None
    }

    /// `uv__next_timeout`: ms until the nearest timer, capped at `i32::MAX`; -1 if none.
    pub(super) fn next_timeout(&mut self) -> i64 {
        match self.timer_min() {
            None => -1,
            Some((_, timeout)) if timeout <= self.time => 0,
            Some((_, timeout)) => (timeout - self.time).min(i32::MAX as u64) as i64,
        }
    }
}

impl Loop {
    /// `uv__run_timers` (1.46).
    #[inline(always)]
    pub(super) fn run_timers(&self) {
        if !self.state().timer_heap.is_empty() {
            self.run_due_timers();
        }
    }

    #[inline(never)]
    pub(super) fn run_due_timers(&self) {
        loop {
            let (id, callback) = {
                let mut state = self.state_mut();
                let Some((id, timeout)) = state.timer_min() else {
                    break;
                };
                if timeout > state.time {
                    break;
                }
                state.timer_stop(id);
                state.timer_again(id);
                (id, state.slot(id).and_then(|slot| slot.callback.clone()))
            };
            if let Some(callback) = callback {
                run_callback(id.index, &*callback);
            }
        }
    }
}
