//! Timers for goroutines, after Go's `time` package (Go 1.23+ semantics): `sleep`, `after`,
//! `tick`, [`Timer`] (`NewTimer`, with `stop` and `reset`), [`after_func`] and [`Ticker`].
//! Inside a goroutine they live on the runtime's per-P timer heaps (see `runtime/time.rs`); on a
//! plain thread, on the heap of one helper thread that stands in for the runtime
//! (`time/helper.rs`).
//!
//! ```text
//!   one arming of a timer (a fresh one per `reset`):
//!
//!     ARMED ──fire: CAS──▶ FIRING ──sent (or f started)──▶ FIRED   (a ticker: back to ARMED)
//!       │                    ▲ stop waits out this short step
//!       └──stop: CAS──▶ STOPPED ◀──stop── FIRED
//! ```
//!
//! Invariants:
//! - An arming sends (or starts its function) only from `FIRING`, which it reaches by a CAS from
//!   `ARMED`; `stop` moves it to `STOPPED` by a CAS too, after waiting out a `FIRING` in
//!   progress. So once `stop` returns, that arming sends nothing more (`time/arming.rs`; two
//!   loom models check it).
//! - A channel timer's `stop` and `reset` then take out a value still in the channel, as Go 1.23
//!   does: a receive after them never sees a time from before them, and a timer whose value the
//!   program has not received counts as still running (`stop` returns true).
//! - `reset` and `stop` of one timer are serialized by its lock, which is held only for these
//!   non-blocking steps (no goroutine switch happens under it).
//!
//! `select!`'s timeout case needs none of this: its channel is the select's own, so it arms a
//! bare runtime timer (`select_timeout`) and cancels it when the select is over.

use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use crate::chan::{chan, Receiver, Sender, TrySendError};
use crate::runtime::time::{add_timer, TimerAction, TimerFunc};
use crate::runtime::{current_sched, spawn_detached};

mod arming;
mod helper;

use arming::Arming;

pub use crate::runtime::sleep;

impl std::fmt::Debug for TimerFunc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TimerFunc")
    }
}

fn nanos(d: Duration) -> u64 {
    d.as_nanos().min(u64::MAX as u128) as u64
}

/// An arming, with the runtime timer to cancel in its heap when it is stopped (unset on a
/// plain thread, whose helper thread fires it through the arming, which knows it was stopped).
#[derive(Debug)]
struct Armed {
    arming: Arc<Arming>,
    func: Option<Weak<TimerFunc>>,
}

impl Armed {
    /// [`Arming::stop`], and the runtime timer cancelled so that its heap can drop it early.
    fn stop(&self) -> bool {
        let stopped = self.arming.stop();
        if stopped {
            if let Some(func) = self.func.as_ref().and_then(Weak::upgrade) {
                func.cancel();
            }
        }
        stopped
    }
}

/// What an arming does when it fires.
#[derive(Clone)]
enum Action {
    /// Send the time on the timer's channel (dropped when the channel is full, as Go's tickers
    /// drop ticks for slow receivers); stop for good once every receiver is gone.
    Send(Sender<Instant>),
    /// Start the function in a goroutine of its own (armed on a plain thread: a thread).
    Call(Arc<dyn Fn() + Send + Sync>),
}

impl Action {
    /// Delivers one firing: sends the time (false once every receiver is gone), or hands the
    /// function to `start` (its answer: whether it could be started).
    fn deliver(&self, start: impl FnOnce(Arc<dyn Fn() + Send + Sync>) -> bool) -> bool {
        match self {
            Action::Send(tx) => {
                !matches!(tx.try_send(Instant::now()), Err(TrySendError::Closed(_)))
            }
            Action::Call(f) => start(f.clone()),
        }
    }
}

impl std::fmt::Debug for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Send(_) => f.write_str("Send"),
            Action::Call(_) => f.write_str("Call"),
        }
    }
}

/// Arms `action` to run after `first`, then every `period` if there is one.
fn arm(first: Duration, period: Option<Duration>, action: Action) -> Armed {
    let arming = Arc::new(Arming::new());
    let Some(sched) = current_sched() else {
        // A plain thread has no runtime to keep its timers: the helper thread keeps them.
        helper::arm(arming.clone(), first, period, action);
        return Armed { arming, func: None };
    };
    let period_ns = period.map(nanos);
    // The function holds the arming, and the timer only a weak reference to the function: both
    // are freed once the heap lets go of it (after it fires, or skipped once cancelled).
    let fired = arming.clone();
    let func = TimerFunc::new(move |now| {
        let keep = fired.fire(period_ns.is_some(), || {
            action.deliver(|f| {
                spawn_detached(sched, move || f());
                true
            })
        });
        if keep {
            period_ns.map(|p| now.saturating_add(p.max(1)))
        } else {
            None
        }
    });
    let weak = Arc::downgrade(&func);
    let when = probe::clock::now_ns().saturating_add(nanos(first));
    add_timer(when, TimerAction::Func(func));
    Armed {
        arming,
        func: Some(weak),
    }
}

/// For `select!`'s timeout case: a channel that receives the time once after `d`, and what
/// cancels its timer once the select is over. Nobody else sees the channel, so `Timer`'s
/// no-stale-value bookkeeping would only cost time here.
pub(crate) fn select_timeout(d: Duration) -> (Receiver<Instant>, SelectTimer) {
    let (tx, rx) = chan(1);
    if current_sched().is_none() {
        let arming = Arc::new(Arming::new());
        helper::arm(arming.clone(), d, None, Action::Send(tx));
        return (rx, SelectTimer::Helper(arming));
    }
    let func = TimerFunc::new(move |_now| {
        let _ = tx.try_send(Instant::now());
        None
    });
    let when = probe::clock::now_ns().saturating_add(nanos(d));
    add_timer(when, TimerAction::Func(func.clone()));
    (rx, SelectTimer::Runtime(func))
}

/// The timer of a `select!`'s timeout case, to cancel when the select is over.
pub(crate) enum SelectTimer {
    /// On the runtime's timer heap.
    Runtime(Arc<TimerFunc>),
    /// On the plain threads' helper (its heap drops stopped entries early).
    Helper(Arc<Arming>),
}

impl SelectTimer {
    pub(crate) fn cancel(&self) {
        match self {
            SelectTimer::Runtime(func) => func.cancel(),
            SelectTimer::Helper(arming) => {
                arming.stop();
            }
        }
    }
}

/// A one-shot timer (Go's `time.Timer`): its channel receives the time it fired, or, made by
/// [`after_func`], it starts a function in a goroutine of its own.
///
/// [`stop`](Timer::stop) and [`reset`](Timer::reset) follow Go 1.23: after either returns, a
/// receive never yields a time from before it, and a timer whose time the program has not
/// received yet still counts as running. Both may be called from any goroutine or thread.
#[derive(Debug)]
pub struct Timer {
    rx: Receiver<Instant>,
    action: Action,
    /// The current arming; `reset` replaces it.
    armed: Mutex<Armed>,
}

impl Timer {
    /// A timer that fires once after `d` (Go's `time.NewTimer`).
    pub fn after(d: Duration) -> Timer {
        let (tx, rx) = chan(1);
        Timer::armed(rx, Action::Send(tx), d)
    }

    fn armed(rx: Receiver<Instant>, action: Action, d: Duration) -> Timer {
        let armed = Mutex::new(arm(d, None, action.clone()));
        Timer { rx, action, armed }
    }

    /// The channel the fire time arrives on (Go's `t.C`). A timer made by [`after_func`] never
    /// sends on it.
    pub fn receiver(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// Stops the timer (Go's `Timer.Stop`). Returns true if this call stopped it: it had not
    /// fired, or its time was still waiting in the channel (now taken out). Returns false if it
    /// had fired and its time was received, or was stopped already. For an [`after_func`]
    /// timer, false means the function has been started; `stop` does not wait for it.
    pub fn stop(&self) -> bool {
        let armed = self.armed.lock().unwrap_or_else(PoisonError::into_inner);
        self.stop_locked(&armed)
    }

    /// Re-arms the timer to fire after `d` (Go's `Timer.Reset`), returning what
    /// [`stop`](Timer::stop) would have: whether it was still running. For an [`after_func`]
    /// timer that already started its function, this starts it again later, possibly while
    /// the first call still runs.
    pub fn reset(&self, d: Duration) -> bool {
        let mut armed = self.armed.lock().unwrap_or_else(PoisonError::into_inner);
        let was_running = self.stop_locked(&armed);
        *armed = arm(d, None, self.action.clone());
        was_running
    }

    fn stop_locked(&self, armed: &Armed) -> bool {
        let stopped = armed.stop();
        // A time sent and not received: the timer still counted as running; take it out.
        let stale = matches!(self.action, Action::Send(_)) && self.rx.try_recv().is_ok();
        stopped || stale
    }
}

/// Starts `f` in a goroutine of its own once `d` has passed (Go's `time.AfterFunc`); the
/// returned [`Timer`] can stop or re-arm it. The call happens even if the `Timer` is dropped.
/// Armed on a plain thread, `f` runs on a thread of its own.
pub fn after_func(d: Duration, f: impl Fn() + Send + Sync + 'static) -> Timer {
    // The channel of a function timer never receives (Go's `C` is nil).
    let (tx, rx) = chan(1);
    drop(tx);
    Timer::armed(rx, Action::Call(Arc::new(f)), d)
}

/// A channel that receives the time once, after `d` (Go's `time.After`).
pub fn after(d: Duration) -> Receiver<Instant> {
    let (tx, rx) = chan(1);
    arm(d, None, Action::Send(tx));
    rx
}

/// A channel that receives the time every `period` until it is dropped (Go's `time.Tick`).
/// Ticks a slow receiver misses are dropped, as in Go. A zero period is treated as 1 ns.
pub fn tick(period: Duration) -> Receiver<Instant> {
    let period = period.max(Duration::from_nanos(1));
    let (tx, rx) = chan(1);
    arm(period, Some(period), Action::Send(tx));
    rx
}

/// A ticker that can be stopped and re-armed (Go's `time.Ticker`): its channel receives the
/// time every period. Ticks a slow receiver misses are dropped, as in Go; after
/// [`stop`](Ticker::stop) or [`reset`](Ticker::reset) no tick from before them is received.
/// It ticks until stopped, or until it and every clone of its receiver are dropped.
#[derive(Debug)]
pub struct Ticker {
    rx: Receiver<Instant>,
    tx: Sender<Instant>,
    armed: Mutex<Armed>,
}

impl Ticker {
    /// A ticker that ticks every `period` (Go's `time.NewTicker`).
    ///
    /// # Panics
    ///
    /// On a zero period, as Go's `NewTicker` does.
    pub fn new(period: Duration) -> Ticker {
        assert!(!period.is_zero(), "non-positive interval for Ticker::new");
        let (tx, rx) = chan(1);
        let armed = Mutex::new(arm(period, Some(period), Action::Send(tx.clone())));
        Ticker { rx, tx, armed }
    }

    /// The channel the ticks arrive on (Go's `t.C`).
    pub fn receiver(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// Stops the ticks (Go's `Ticker.Stop`); a tick not yet received is taken out.
    pub fn stop(&self) {
        let armed = self.armed.lock().unwrap_or_else(PoisonError::into_inner);
        self.stop_locked(&armed);
    }

    fn stop_locked(&self, armed: &Armed) {
        armed.stop();
        let _ = self.rx.try_recv();
    }

    /// Stops the ticker and restarts it with `period`: the next tick comes `period` from now
    /// (Go's `Ticker.Reset`).
    ///
    /// # Panics
    ///
    /// On a zero period, as Go's `Reset` does.
    pub fn reset(&self, period: Duration) {
        assert!(!period.is_zero(), "non-positive interval for Ticker::reset");
        let mut armed = self.armed.lock().unwrap_or_else(PoisonError::into_inner);
        self.stop_locked(&armed);
        *armed = arm(period, Some(period), Action::Send(self.tx.clone()));
    }
}
