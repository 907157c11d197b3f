//! The GIL itself: `take_gil` and `drop_gil` of CPython's `Python/ceval_gil.c` (3.11/3.12).
//!
//! # Invariants
//!
//! - `locked` changes only under `mutex`; at most one thread has `locked == true` set by its own
//!   `take_gil` and not yet cleared by its own `drop_gil`. That thread holds the GIL.
//! - A waiter asks the holder to drop the GIL only after a wait of `interval` on `cond` timed out
//!   while the GIL stayed locked and `switch_number` did not move (nobody switched meanwhile).
//!   So a holder is never asked sooner than one interval after a waiter started waiting.
//! - `gil_drop_request` and `eval_breaker` are set together by the waiter and cleared together by
//!   the thread that next takes the GIL (or by a forced-switch dropper before it waits).
//! - A holder learns of a request only at its check points ([`crate::Python::check`]): one relaxed
//!   load of `eval_breaker`. Work without check points holds the GIL like a long C call.
//! - FORCE_SWITCHING: a thread that drops the GIL while a drop was requested waits on
//!   `switch_cond` until `last_holder` is another thread, so it cannot win the GIL straight back.
//! - No FIFO: a drop wakes one waiter (`notify_one`), and whoever locks `mutex` first while the
//!   GIL is free takes it, a new arrival included. Lock order is `mutex`, then `switch_mutex`.
//!
//! # The protocol
//!
//! ```text
//!   holder H (running, checks at back-edges)      waiter W (take_gil)
//!   ---------------------------------------      ----------------------------------------
//!                                                 lock mutex; locked? yes
//!                                                 loop: saved = switch_number
//!                                                       wait cond up to `interval`
//!                                                       timed out, still locked, same
//!                                                       switch_number -> SET_GIL_DROP_REQUEST
//!   check(): eval_breaker? yes
//!   drop_gil: last_holder = H
//!             lock mutex; locked = false; signal cond
//!             gil_drop_request? -> lock switch_mutex
//!               last_holder == H: RESET_GIL_DROP_REQUEST,
//!               wait switch_cond  ...............  wakes: locked = false
//!                                                 lock switch_mutex; locked = true
//!                                                 last_holder = W; ++switch_number
//!               <- woken .........................signal switch_cond
//!   take_gil: locked -> H is now the waiter        unlock; W runs Python
//! ```
//!
//! # Designs rejected
//!
//! - A plain `Mutex` as the GIL: std's futex mutex is unfair (the releasing thread usually wins
//!   it straight back) and parking_lot's hands off fairly every 0.5 ms; neither gives a 5 ms
//!   timeslice that starts only after a request, which is what makes CPython's GIL behave as it
//!   does (the convoy effect included).
//! - A FIFO ticket lock: CPython has no queue; adding one would hide the unfairness that real
//!   programs see.
//!
//! The `gil=off` mode has no `Gil` at all (see [`crate::interpreter`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use probe::trace::{self, EventKind};

use crate::account::ThreadState;

/// CPython's `DEFAULT_INTERVAL`: 5000 µs.
pub(crate) const DEFAULT_INTERVAL_US: u64 = 5000;

/// The fields CPython's `struct _gil_runtime_state` keeps under `mutex`.
#[derive(Debug)]
struct GilState {
    /// Whether some thread holds the GIL.
    locked: bool,
    /// Bumped each time the GIL is taken by a thread other than the last holder.
    switch_number: u64,
}

/// A GIL, as `struct _gil_runtime_state` plus the interpreter's `gil_drop_request` and
/// `eval_breaker`.
#[derive(Debug)]
pub(crate) struct Gil {
    /// `gil->mutex`, guarding `locked` and `switch_number`.
    mutex: Mutex<GilState>,
    /// `gil->cond`: signalled when the GIL is dropped.
    cond: Condvar,
    /// `gil->switch_mutex`: guards changes of `last_holder` (FORCE_SWITCHING).
    switch_mutex: Mutex<()>,
    /// `gil->switch_cond`: signalled when a thread takes the GIL.
    switch_cond: Condvar,
    /// The ident of the thread that last held the GIL; 0 before anyone did.
    last_holder: AtomicU64,
    /// `gil->interval`, in microseconds (`sys.setswitchinterval` stores µs).
    interval_us: AtomicU64,
    /// `ceval->gil_drop_request`: a waiter asks the holder to drop the GIL.
    gil_drop_request: AtomicBool,
    /// `ceval->eval_breaker`: the one flag a check point reads. Here only the drop request sets
    /// it (CPython also ORs in signals, pending calls, GC and async exceptions).
    pub(crate) eval_breaker: AtomicBool,
}

impl Gil {
    /// A free GIL with the default 5 ms interval (`create_gil`).
    pub(crate) fn new() -> Gil {
        Gil {
            mutex: Mutex::new(GilState {
                locked: false,
                switch_number: 0,
            }),
            cond: Condvar::new(),
            switch_mutex: Mutex::new(()),
            switch_cond: Condvar::new(),
            last_holder: AtomicU64::new(0),
            interval_us: AtomicU64::new(DEFAULT_INTERVAL_US),
            gil_drop_request: AtomicBool::new(false),
            eval_breaker: AtomicBool::new(false),
        }
    }

    /// `_PyEval_SetSwitchInterval`.
    pub(crate) fn set_interval_us(&self, microseconds: u64) {
        self.interval_us.store(microseconds, Ordering::Relaxed);
    }

    /// `_PyEval_GetSwitchInterval`.
    pub(crate) fn interval_us(&self) -> u64 {
        self.interval_us.load(Ordering::Relaxed)
    }

    /// Whether a waiter has asked the holder to drop the GIL.
    pub(crate) fn drop_requested(&self) -> bool {
        self.gil_drop_request.load(Ordering::Relaxed)
    }

    /// `SET_GIL_DROP_REQUEST`.
    fn set_drop_request(&self) {
        self.gil_drop_request.store(true, Ordering::Relaxed);
        self.eval_breaker.store(true, Ordering::Relaxed);
    }

    /// `RESET_GIL_DROP_REQUEST`: the breaker is recomputed, and the drop request is all it ORs.
    fn reset_drop_request(&self) {
        self.gil_drop_request.store(false, Ordering::Relaxed);
        self.eval_breaker.store(false, Ordering::Relaxed);
    }

    /// `take_gil`: returns once the calling thread `me` holds the GIL.
    pub(crate) fn take(&self, me: &ThreadState) {
        let mut state = lock(&self.mutex);
        if state.locked {
            state = self.wait_for_drop(state, me);
        }
        // _ready: this lock must be held while changing last_holder (see drop_gil).
        let switch_guard = lock(&self.switch_mutex);
        state.locked = true;
        if self.last_holder.load(Ordering::Relaxed) != me.ident {
            self.last_holder.store(me.ident, Ordering::Relaxed);
            state.switch_number += 1;
        }
        self.switch_cond.notify_one();
        drop(switch_guard);
        if self.drop_requested() {
            self.reset_drop_request();
        }
        // Recorded under `mutex`, as `GilRequest` is: the trace orders takes and requests as the
        // mutex did.
        if trace::enabled() {
            trace::record(EventKind::GilTake);
            trace::record(EventKind::RunBegin {
                task: me.ident,
                proc_id: 0,
            });
        }
        drop(state);
        me.taken();
    }

    /// The waiting loop of `take_gil`, entered with `mutex` held and the GIL locked.
    #[cold]
    fn wait_for_drop<'a>(
        &'a self,
        mut state: MutexGuard<'a, GilState>,
        me: &ThreadState,
    ) -> MutexGuard<'a, GilState> {
        if trace::enabled() {
            trace::record(EventKind::GilRequest);
        }
        let started = probe::clock::now_ns();
        while state.locked {
            let saved_switch_number = state.switch_number;
            let interval = Duration::from_micros(self.interval_us().max(1));
            let (guard, wait) = self
                .cond
                .wait_timeout(state, interval)
                .unwrap_or_else(PoisonError::into_inner);
            state = guard;
            // Timed out and nobody switched meanwhile: ask the holder to drop the GIL.
            if wait.timed_out() && state.locked && state.switch_number == saved_switch_number {
                self.set_drop_request();
                me.requested_drop();
                if trace::enabled() {
                    trace::record(EventKind::Instant {
                        name: "gil drop request",
                    });
                }
            }
        }
        let waited = probe::clock::now_ns().saturating_sub(started);
        me.waited(waited);
        if trace::enabled() {
            trace::record(EventKind::Counter {
                name: "gil wait us",
                value: i64::try_from(waited / 1000).unwrap_or(i64::MAX),
            });
        }
        state
    }

    /// `drop_gil`: the calling thread `me` releases the GIL it holds.
    ///
    /// `exiting` is CPython's `tstate == NULL`: the thread is done with the GIL for good and does
    /// not wait for a forced switch. Returns whether a drop had been requested (a forced switch).
    pub(crate) fn drop(&self, me: &ThreadState, exiting: bool) -> bool {
        let forced = self.drop_requested();
        me.dropped(forced);
        if trace::enabled() {
            trace::record(EventKind::RunEnd {
                task: me.ident,
                proc_id: 0,
            });
            trace::record(EventKind::GilDrop { forced });
        }
        self.last_holder.store(me.ident, Ordering::Relaxed);
        let mut state = lock(&self.mutex);
        state.locked = false;
        self.cond.notify_one();
        drop(state);
        // FORCE_SWITCHING: let the requester in before we may take the GIL again.
        if !exiting && self.drop_requested() {
            let mut switch_guard = lock(&self.switch_mutex);
            if self.last_holder.load(Ordering::Relaxed) == me.ident {
                self.reset_drop_request();
                // CPython waits once; a loop makes a spurious wake-up harmless. It ends: the
                // requester is blocked in take_gil and takes the GIL we just freed (or another
                // thread does), and either one changes last_holder under switch_mutex.
                while self.last_holder.load(Ordering::Relaxed) == me.ident {
                    switch_guard = self
                        .switch_cond
                        .wait(switch_guard)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
        }
        forced
    }
}

/// Locks, ignoring poison: the guarded state is plain data, valid after any panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
