//! `uv_run`'s loop body (src/unix/core.c), phase by phase: see the diagram in the parent
//! module.
//!
//! Invariants:
//! - The phases run in libuv's order, each only when its queue has work; a watcher phase runs
//!   the handles in its list when the phase began (`uv__run_idle/prepare/check` move the queue
//!   aside), newest first.
//! - Reads of the loop's state with no callback between them share one borrow: the pending
//!   queue with the idle list, the prepare list with poll's timeout, the pending queue again
//!   with the check list, and the closing list with the clock, the timer heap and the liveness
//!   test. A read is taken early only when the phases before its use run no callback;
//!   otherwise it is read again after them. An iteration that runs only the idle and check
//!   handles (a chain of immediates) thus borrows the state four times.
//!
//! ```text
//!   borrow: pending? idle list ──> [pending] ──> idle ──> borrow: prepare list, timeout
//!     ──> [prepare] ──> poll ──> borrow: pending? check list ──> [pending ×≤8] ──> check
//!     ──> borrow: closing? clock, timers?, alive, stopped ──> [closing, clock] ──> [timers]
//! ```

use super::{run_callback, time, Callback, HandleKind, Loop, LoopState, RunMode};

/// What a watcher phase will run, read with other reads under one borrow of the state.
enum Watchers {
    /// The list is empty: the phase returns at once, as `uv__run_idle` does.
    Empty,
    /// One handle, with its callback.
    One(Callback),
    /// Several handles: [`Loop::run_watcher_list`].
    List,
}

impl LoopState {
    /// `uv__loop_alive`.
    #[inline(always)]
    pub(super) fn alive(&self) -> bool {
        self.active_handles > 0 || self.active_reqs > 0 || !self.closing.is_empty()
    }

    /// `uv_backend_timeout`.
    #[inline(always)]
    pub(super) fn backend_timeout(&mut self) -> i64 {
        if !self.stop_flag
            && (self.active_handles > 0 || self.active_reqs > 0)
            && self.pending.is_empty()
            && self.idle.is_empty()
            && self.closing.is_empty()
        {
            return self.next_timeout();
        }
        0
    }

    /// Poll's timeout in `uv_run`: 0 unless the mode may block.
    #[inline(always)]
    fn poll_timeout(&mut self, can_sleep: bool, mode: RunMode) -> i64 {
        if can_sleep || mode == RunMode::Default {
            self.backend_timeout()
        } else {
            0
        }
    }

    /// The watcher list of `kind`'s phase, as [`Loop::run_planned`] runs it.
    #[inline(always)]
    fn watchers(&self, kind: HandleKind) -> Watchers {
        let list = match kind {
            HandleKind::Idle => &self.idle,
            HandleKind::Prepare => &self.prepare,
            _ => &self.check,
        };
        match list.as_slice() {
            [] => Watchers::Empty,
            [(_, callback)] => Watchers::One(callback.clone()),
            _ => Watchers::List,
        }
    }
}

impl Loop {
    /// Runs the loop (`uv_run`): returns whether it is still alive (non-zero in libuv).
    ///
    /// Each phase checks its own queue inline and calls out only when it has work, so an
    /// iteration with one check handle (a chain of immediates) costs the check callback, the
    /// clock read and a few flag tests; libuv's phases are as cheap when their queues are empty.
    pub fn run(&self, mode: RunMode) -> bool {
        let mut alive = self.alive();
        if !alive {
            self.update_time();
        }
        if mode == RunMode::Default && alive && !self.stop_flag() {
            self.update_time();
            if probe::trace::enabled() {
                self.phase::<true>("timers", Loop::run_timers);
            } else {
                self.run_timers();
            }
        }
        let mut stopped = self.stop_flag();
        while alive && !stopped {
            // Whether a probe trace records this iteration's phases, read once per iteration.
            (alive, stopped) = if probe::trace::enabled() {
                self.iteration::<true>(mode)
            } else {
                self.iteration::<false>(mode)
            };
            if mode != RunMode::Default {
                break;
            }
        }
        self.state_mut().stop_flag = false;
        alive
    }

    /// One pass of `uv_run`'s loop body, from the pending phase to the timers; returns
    /// whether the loop is alive and whether it was stopped, read at the end of the pass.
    ///
    /// Reads that no callback can come between share one borrow of the state: the pending
    /// queue with the idle list, the prepare list with poll's timeout, the pending queue again
    /// with the check list, and the closing list with the clock, the timer heap and the
    /// liveness test. Each later read is taken before the phase that may change it only when
    /// the phases in between run no callback; otherwise it is read again after them.
    #[inline(always)]
    fn iteration<const TRACED: bool>(&self, mode: RunMode) -> (bool, bool) {
        let (can_sleep, idle) = {
            let state = self.state();
            let no_pending = state.pending.is_empty();
            // Read before the pending and idle phases run, as libuv does; only ONCE needs it.
            let can_sleep = mode == RunMode::Once && no_pending && state.idle.is_empty();
            (
                can_sleep,
                no_pending.then(|| state.watchers(HandleKind::Idle)),
            )
        };
        // Each arm runs its own idle phase: a plan moved out of the match is copied through
        // the stack.
        match idle {
            Some(idle) => {
                self.phase::<TRACED>("pending", |_| ());
                self.phase::<TRACED>("idle", |event_loop| {
                    event_loop.run_planned::<TRACED>(HandleKind::Idle, idle)
                });
            }
            None => {
                self.phase::<TRACED>("pending", Loop::run_pending_queue);
                let idle = self.state().watchers(HandleKind::Idle);
                self.phase::<TRACED>("idle", |event_loop| {
                    event_loop.run_planned::<TRACED>(HandleKind::Idle, idle)
                });
            }
        }
        let (prepare, timeout) = {
            let mut state = self.state_mut();
            let prepare = state.watchers(HandleKind::Prepare);
            let timeout =
                matches!(prepare, Watchers::Empty).then(|| state.poll_timeout(can_sleep, mode));
            (prepare, timeout)
        };
        self.phase::<TRACED>("prepare", |event_loop| {
            event_loop.run_planned::<TRACED>(HandleKind::Prepare, prepare)
        });
        let timeout = timeout.unwrap_or_else(|| self.state_mut().poll_timeout(can_sleep, mode));
        self.phase::<TRACED>("poll", |event_loop| event_loop.io_poll(timeout));
        let check = {
            let state = self.state();
            state
                .pending
                .is_empty()
                .then(|| state.watchers(HandleKind::Check))
        };
        // Each arm runs its own check phase: a plan moved out of the match is copied
        // through the stack.
        match check {
            Some(check) => self.phase::<TRACED>("check", |event_loop| {
                event_loop.run_planned::<TRACED>(HandleKind::Check, check)
            }),
            None => {
                for _ in 0..8 {
                    if self.state().pending.is_empty() {
                        break;
                    }
                    self.phase::<TRACED>("pending", Loop::run_pending);
                }
                let check = self.state().watchers(HandleKind::Check);
                self.phase::<TRACED>("check", |event_loop| {
                    event_loop.run_planned::<TRACED>(HandleKind::Check, check)
                });
            }
        }
        // Nothing closing: the clock is read now (no callback comes before it), and with no
        // timer armed the timers phase is empty and liveness is read under the same borrow.
        let tail = {
            let mut state = self.state_mut();
            state.closing.is_empty().then(|| {
                state.time = time::now_ms();
                let timers = !state.timer_heap.is_empty();
                (timers, (!timers).then(|| (state.alive(), state.stop_flag)))
            })
        };
        match tail {
            Some((timers, status)) => {
                self.phase::<TRACED>("closing", |_| ());
                self.phase::<TRACED>("timers", |event_loop| {
                    if timers {
                        event_loop.run_due_timers();
                    }
                });
                status.unwrap_or_else(|| (self.alive(), self.stop_flag()))
            }
            None => {
                self.phase::<TRACED>("closing", Loop::run_closing_handles);
                self.update_time();
                self.phase::<TRACED>("timers", Loop::run_timers);
                (self.alive(), self.stop_flag())
            }
        }
    }

    /// Runs a watcher phase as `plan` (read by [`LoopState::watchers`]) found its list; its
    /// callbacks are traced when `TRACED` (a probe trace was on as the iteration began).
    #[inline(always)]
    fn run_planned<const TRACED: bool>(&self, kind: HandleKind, plan: Watchers) {
        match plan {
            Watchers::Empty => {}
            // One handle: nothing else in the phase can stop it before it runs.
            Watchers::One(callback) if TRACED => run_callback(0, &*callback),
            Watchers::One(callback) => callback(),
            Watchers::List => self.run_watcher_list(kind),
        }
    }
}
