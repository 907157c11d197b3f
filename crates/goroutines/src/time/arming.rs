//! One arming of a timer: the state machine that lets `stop` promise that nothing is sent after
//! it returns (see the parent module's diagram). No runtime in here, so loom models it.

use crate::loom::{AtomicU8, Ordering};

/// Waiting to fire.
const ARMED: u8 = 0;
/// Sending its value (or starting its function) now.
const FIRING: u8 = 1;
/// Fired (a one-shot timer).
const FIRED: u8 = 2;
/// Stopped before it fired, or after.
const STOPPED: u8 = 3;

/// The state of one arming (a fresh one per `reset`).
#[derive(Debug)]
pub(crate) struct Arming {
    state: AtomicU8,
}

impl Arming {
    pub(crate) fn new() -> Arming {
        Arming {
            state: AtomicU8::new(ARMED),
        }
    }

    /// The firing step: `send` runs only if the arming is still armed. Returns whether it ran
    /// and the arming stays armed (`periodic`, and `send` asked to go on).
    pub(crate) fn fire(&self, periodic: bool, send: impl FnOnce() -> bool) -> bool {
        if self
            .state
            .compare_exchange(ARMED, FIRING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        let keep = send() && periodic;
        self.state
            .store(if keep { ARMED } else { FIRED }, Ordering::Release);
        keep
    }

    /// Whether it was stopped (by `stop`; a timer's heap drops stopped entries early).
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn is_stopped(&self) -> bool {
        self.state.load(Ordering::Acquire) == STOPPED
    }

    /// Stops this arming; true if it was still armed. Once this returns, `fire` sends nothing:
    /// a send in progress is waited out.
    pub(crate) fn stop(&self) -> bool {
        let mut spins = 0u32;
        loop {
            match self
                .state
                .compare_exchange(ARMED, STOPPED, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(FIRING) => {
                    // A non-blocking send on another thread: wait it out without a goroutine
                    // switch (the caller may hold its timer's lock).
                    spins += 1;
                    pause(spins);
                }
                Err(_) => {
                    self.state.store(STOPPED, Ordering::Release);
                    return false;
                }
            }
        }
    }
}

#[cfg(not(loom))]
fn pause(spins: u32) {
    if spins < 64 {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

#[cfg(loom)]
fn pause(_spins: u32) {
    loom::thread::yield_now();
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::Arming;
    use crate::loom::{AtomicU32, Ordering};
    use loom::sync::Arc;

    /// A one-shot timer fires on one thread while another stops it and then takes out what the
    /// channel holds (`Timer::stop`). In every interleaving nothing is sent after `stop`
    /// returns, and `stop` says true exactly when the send did not happen before it.
    #[test]
    fn nothing_is_sent_after_stop_returns() {
        loom::model(|| {
            let arming = Arc::new(Arming::new());
            // The channel: how many values it holds.
            let channel = Arc::new(AtomicU32::new(0));
            let (a, c) = (arming.clone(), channel.clone());
            let firer = loom::thread::spawn(move || {
                a.fire(false, || {
                    c.fetch_add(1, Ordering::SeqCst);
                    true
                })
            });
            let stopped = arming.stop();
            let stale = channel.swap(0, Ordering::SeqCst);
            firer.join().unwrap();
            assert_eq!(channel.load(Ordering::SeqCst), 0, "a send after stop");
            assert_eq!(stopped, stale == 0, "stop's answer");
        });
    }

    /// A ticker fires twice while it is stopped: no tick after `stop` returns.
    #[test]
    fn a_stopped_ticker_ticks_no_more() {
        loom::model(|| {
            let arming = Arc::new(Arming::new());
            let channel = Arc::new(AtomicU32::new(0));
            let (a, c) = (arming.clone(), channel.clone());
            let firer = loom::thread::spawn(move || {
                for _ in 0..2 {
                    if !a.fire(true, || {
                        c.fetch_add(1, Ordering::SeqCst);
                        true
                    }) {
                        break;
                    }
                }
            });
            arming.stop();
            channel.swap(0, Ordering::SeqCst);
            firer.join().unwrap();
            assert_eq!(channel.load(Ordering::SeqCst), 0, "a tick after stop");
        });
    }
}
