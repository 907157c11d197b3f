//! Timers for goroutines: `sleep`, `after`, `tick` and a stoppable `Timer`, after Go's `time`
//! package. Inside a goroutine they live on the runtime's per-P timer heaps (see
//! `runtime/time.rs`); on a plain thread, a helper thread stands in for the runtime.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::chan::{chan, Receiver, Sender, TrySendError};
use crate::runtime::g::current_g;
use crate::runtime::time::{add_timer, TimerAction, TimerFunc};

pub use crate::runtime::sleep;

/// A one-shot timer whose channel receives the time it fired (Go's `time.NewTimer`).
#[derive(Debug)]
pub struct Timer {
    rx: Receiver<Instant>,
    func: Option<Arc<TimerFunc>>,
}

impl std::fmt::Debug for TimerFunc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TimerFunc")
    }
}

fn nanos(d: Duration) -> u64 {
    d.as_nanos().min(u64::MAX as u128) as u64
}

/// Arms `f` to run at `now + first`, re-armed every `period` while `f` returns true.
fn arm(first: Duration, period: Option<Duration>, tx: Sender<Instant>) -> Option<Arc<TimerFunc>> {
    if current_g().is_some() {
        let period_ns = period.map(nanos);
        let func = TimerFunc::new(move |now| {
            match tx.try_send(Instant::now()) {
                Err(TrySendError::Closed(_)) => return None,
                // A full channel drops the tick, as Go's tickers do for slow receivers.
                Ok(()) | Err(TrySendError::Full(_)) => {}
            }
            period_ns.map(|p| now.saturating_add(p.max(1)))
        });
        let when = probe::clock::now_ns().saturating_add(nanos(first));
        add_timer(when, TimerAction::Func(func.clone()));
        Some(func)
    } else {
        // A plain thread has no runtime to keep its timers: a helper thread sleeps instead.
        let spawned = std::thread::Builder::new()
            .name("goroutines-timer".into())
            .spawn(move || {
                std::thread::sleep(first);
                loop {
                    if let Err(TrySendError::Closed(_)) = tx.try_send(Instant::now()) {
                        return;
                    }
                    match period {
                        Some(p) => std::thread::sleep(p),
                        None => return,
                    }
                }
            });
        if let Err(e) = spawned {
            crate::runtime::g::fatal(&format!("cannot start a timer thread: {e}"));
        }
        None
    }
}

impl Timer {
    /// A timer that fires once after `d`.
    pub fn after(d: Duration) -> Timer {
        let (tx, rx) = chan(1);
        let func = arm(d, None, tx);
        Timer { rx, func }
    }

    /// The channel the fire time arrives on.
    pub fn receiver(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// Stops the timer if it has not fired (Go's `Timer.Stop`).
    pub fn stop(&self) {
        if let Some(f) = &self.func {
            f.cancel();
        }
    }
}

/// A channel that receives the time once, after `d` (Go's `time.After`).
pub fn after(d: Duration) -> Receiver<Instant> {
    let (tx, rx) = chan(1);
    arm(d, None, tx);
    rx
}

/// A channel that receives the time every `period` until it is dropped (Go's `time.Tick`).
/// Ticks a slow receiver misses are dropped, as in Go. A zero period is treated as 1 ns.
pub fn tick(period: Duration) -> Receiver<Instant> {
    let period = period.max(Duration::from_nanos(1));
    let (tx, rx) = chan(1);
    arm(period, Some(period), tx);
    rx
}
