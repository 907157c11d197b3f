//! The deadline of one operation, and on a goroutine the runtime timer that enforces it (Go's
//! `runtime/netpoll.go` deadline timers, per operation as std's `SO_RCVTIMEO` is).
//!
//! ```text
//!   goroutine                           timer (any M of the runtime, at `when`)
//!   op -> WouldBlock
//!   Deadline::after(timeout)
//!   arm: add_timer(when, expire) ------> expire: lock armed
//!   PollDesc::wait(mode)  ... parked          if armed: pd.set_expired(mode) -> G
//!     <------------------------------------ unlock; goready(G)
//!   TimedOut -> WouldBlock (EAGAIN)
//!   drop: cancel; lock armed; armed = false; pd.set_expired(mode, false); unlock
//! ```
//!
//! Invariants:
//! - The timer function holds no goroutine: only the `&'static PollDesc` (descriptors are never
//!   freed) and the `armed` flag. The goroutine to wake comes out of the descriptor's semaphore,
//!   taken by a swap, so it is readied exactly once, and only while it is parked.
//! - The timer touches the descriptor only while `armed`, under the `armed` lock; the operation
//!   clears `armed`, under that lock, before it returns. Operations borrow the socket, so the
//!   socket (and its registration) outlives every armed timer: a timer can never expire a
//!   descriptor that has been recycled for another socket, whatever its sequence number.
//! - The expired flag is cleared under the same lock, so once an operation returns, no timer of
//!   its own can set the flag again and fail the next operation.
//!
//! A cancelled timer stays in its P's heap until due (`runtime/time.rs`), holding only the small
//! `armed` allocation and the closure, not the socket: a long timeout does not keep an fd open.
//!
//! Why `WouldBlock`: std's timeouts on Unix are `SO_RCVTIMEO`/`SO_SNDTIMEO`, whose expiry is
//! `EAGAIN`, which std reports as `ErrorKind::WouldBlock`. Code written against std (a retry loop,
//! an HTTP server's idle timeout) matches on that kind, so a timeout here is the same
//! `EAGAIN` error. Go says `i/o timeout`; `TimedOut` would be the better name, but not the same
//! behaviour. `connect_timeout` is the exception, as in std: it fails with `TimedOut`.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::runtime::g::goready;
use crate::runtime::netpoll::{Mode, PollDesc};
use crate::runtime::time::{add_timer, TimerAction, TimerFunc};

/// The error an operation fails with when its timeout passes: `EAGAIN`, as std's.
pub(crate) fn timeout_error() -> io::Error {
    io::Error::from_raw_os_error(libc::EAGAIN)
}

/// When one operation must give up, if ever.
pub(crate) struct Deadline {
    /// A `probe::clock` time; None: never.
    when: Option<u64>,
    /// The timer armed by the first goroutine wait of the operation.
    timer: Option<ArmedTimer>,
}

/// A deadline timer and the means to disarm it.
struct ArmedTimer {
    func: Arc<TimerFunc>,
    /// Whether the timer may still expire the descriptor.
    armed: Arc<parking_lot::Mutex<bool>>,
    pd: &'static PollDesc,
    mode: Mode,
}

impl Deadline {
    /// The deadline `timeout` from now.
    pub(crate) fn after(timeout: Option<Duration>) -> Deadline {
        Deadline {
            when: timeout.map(|t| {
                probe::clock::now_ns()
                    .saturating_add(u64::try_from(t.as_nanos()).unwrap_or(u64::MAX))
            }),
            timer: None,
        }
    }

    pub(crate) fn passed(&self) -> bool {
        self.when.is_some_and(|when| probe::clock::now_ns() >= when)
    }

    /// Time left, zero once passed; None without a deadline.
    pub(crate) fn remaining(&self) -> Option<Duration> {
        self.when
            .map(|when| Duration::from_nanos(when.saturating_sub(probe::clock::now_ns())))
    }

    /// On a goroutine about to wait on `pd` for `mode`: arms the timer that expires the wait at
    /// the deadline, once per operation (later waits of the same operation share it).
    pub(crate) fn arm(&mut self, pd: &'static PollDesc, mode: Mode) {
        let Some(when) = self.when else {
            return;
        };
        if self.timer.is_some() {
            return;
        }
        let armed = Arc::new(parking_lot::Mutex::new(true));
        let func = TimerFunc::new({
            let armed = armed.clone();
            move |_now| {
                expire(&armed, pd, mode);
                None
            }
        });
        add_timer(when, TimerAction::Func(func.clone()));
        self.timer = Some(ArmedTimer {
            func,
            armed,
            pd,
            mode,
        });
    }
}

/// The timer function: expires the wait, if the operation still runs.
fn expire(armed: &parking_lot::Mutex<bool>, pd: &'static PollDesc, mode: Mode) {
    let waiter = {
        let armed = armed.lock();
        if !*armed {
            return;
        }
        pd.set_expired(mode, true)
    };
    // Outside the lock: the waiter cannot disarm before it runs, and it runs only after this.
    if let Some(g) = waiter {
        goready(g);
    }
}

impl Drop for ArmedTimer {
    fn drop(&mut self) {
        self.func.cancel();
        let mut armed = self.armed.lock();
        *armed = false;
        // A timer that fired left the flag set; the next operation must start without it.
        self.pd.set_expired(self.mode, false);
    }
}
