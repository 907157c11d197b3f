//! One direction of a socket's wait state: Go's `pollDesc.rg` (or `wg`), a binary semaphore
//! between the goroutine that waits and the poller that reports readiness, plus the count of the
//! events delivered, which lets a stream operation that came back short park without asking the
//! kernel for the `EAGAIN` first (Tokio's readiness tick).
//!
//! ```text
//!   state:  NIL --event--> READY --consume--> NIL
//!           NIL --park(G)--> G --event: ready G--> READY    (close / deadline: G --> NIL)
//!   events: bumped by every event, before `state` changes
//!   closed: set by an event that reports hang-up or error, before `events`; never cleared
//! ```
//!
//! Invariants:
//! - A G is stored only by its own `gopark`'s unlockf (`publish_waiter`, after the switch), and
//!   taken only by a swap or a CAS, so it is readied exactly once.
//! - `clear_if_no_event_since(n)` returns true only if no event was delivered since the snapshot
//!   `n` and the side is not closed, after clearing a pending `READY`. An event that comes later
//!   bumps `events` first and then finds `NIL` (sets `READY`) or the parked G (readies it): the
//!   waiter reads the count with a read-modify-write after its clear, so an event counted after
//!   that read synchronizes with the clear, and a waiter that saw the old count cannot miss it.
//!   The loom model below checks exactly this against data that arrives at any point.
//! - `closed` is final: a read that returns the last bytes before an end of file is short but
//!   leaves the end of file to read, so once a hang-up was reported the hint never applies.

use crate::loom::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

/// Nobody waits and no event is pending.
const NIL: usize = 0;
/// An event arrived that no waiter consumed yet.
const READY: usize = 1;

/// One direction's semaphore. A waiter is named by a nonzero, even address (a G's).
pub(crate) struct PollSem {
    /// `NIL`, `READY` or a parked waiter's address.
    state: AtomicUsize,
    /// Events delivered so far (wrapping).
    events: AtomicU32,
    /// An event reported hang-up or error (final).
    closed: AtomicBool,
}

impl PollSem {
    pub(crate) fn new() -> PollSem {
        PollSem {
            state: AtomicUsize::new(NIL),
            events: AtomicU32::new(0),
            closed: AtomicBool::new(false),
        }
    }

    /// Back to a fresh socket's state, for a recycled descriptor (no one can be waiting).
    pub(crate) fn reset(&self) {
        self.state.store(NIL, Ordering::Relaxed);
        self.closed.store(false, Ordering::Relaxed);
    }

    /// Consumes a pending event, if there is one.
    pub(crate) fn try_consume(&self) -> bool {
        self.state
            .compare_exchange(READY, NIL, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Stores the parking waiter `me` (gopark's unlockf); false when an event arrived meanwhile.
    pub(crate) fn publish_waiter(&self, me: usize) -> bool {
        debug_assert!(me > READY);
        self.state
            .compare_exchange(NIL, me, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// Takes the waiter `me` back out (it saw a close or deadline flag after publishing); false
    /// when someone already took it and will ready it.
    pub(crate) fn withdraw_waiter(&self, me: usize) -> bool {
        self.state
            .compare_exchange(me, NIL, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// After waking: whether an event woke us (consuming it) rather than a close or deadline.
    pub(crate) fn take_event(&self) -> bool {
        self.state.swap(NIL, Ordering::AcqRel) == READY
    }

    /// The poller's side of an event: record a hang-up, count the event, then leave `READY` and
    /// return the parked waiter, if any (Go's `netpollunblock(pd, mode, true)`).
    pub(crate) fn deliver(&self, closed: bool) -> Option<usize> {
        if closed {
            self.closed.store(true, Ordering::SeqCst);
        }
        self.events.fetch_add(1, Ordering::SeqCst);
        self.unblock(true)
    }

    /// Takes the parked waiter, if any; with `ioready`, leaves `READY` for the next wait.
    pub(crate) fn unblock(&self, ioready: bool) -> Option<usize> {
        // SeqCst, as the flag stores of a close or deadline before it (see `PollDesc::wait`).
        // A read-modify-write, not a load, for the same reason as in `clear_if_no_event_since`:
        // finding `READY` returns without a write, and that must not be a stale `READY` that a
        // waiter has since consumed before parking.
        let mut old = self.state.fetch_or(0, Ordering::SeqCst);
        loop {
            if old == READY || (old == NIL && !ioready) {
                return None;
            }
            let new = if ioready { READY } else { NIL };
            match self
                .state
                .compare_exchange(old, new, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return (old > READY).then_some(old),
                Err(now) => old = now,
            }
        }
    }

    /// How many events were delivered: a snapshot to take before an operation's system call.
    pub(crate) fn events(&self) -> u32 {
        self.events.load(Ordering::SeqCst)
    }

    /// Forgets a pending `READY` and says whether no event came since the snapshot `events` and
    /// the side is not closed: then the operation that took the snapshot drained the socket, and
    /// the caller may wait without trying the operation first, as after an `EAGAIN`.
    pub(crate) fn clear_if_no_event_since(&self, events: u32) -> bool {
        if self.closed.load(Ordering::SeqCst) {
            return false;
        }
        let _ = self
            .state
            .compare_exchange(READY, NIL, Ordering::SeqCst, Ordering::SeqCst);
        // A read-modify-write, not a load: it reads the latest count whatever the memory model
        // lets a plain load see, and an event counted after it reads our write and so
        // synchronizes with everything we did before (the cleared `READY` above included). This
        // is the Dekker pattern; the RMW makes it hold without relying on SeqCst loads, which the
        // C++ model (and loom) do not order against an earlier store on another location.
        self.events.fetch_add(0, Ordering::SeqCst) == events
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::PollSem;
    use crate::loom::{AtomicBool, Ordering};
    use loom::sync::Arc;

    /// The waiter's address in the model.
    const ME: usize = 8;

    /// How a reader that uses the drained hint ended.
    #[derive(Debug, PartialEq)]
    enum Reader {
        /// Read the new data.
        Got,
        /// Parked (until the poller readies it).
        Parked,
    }

    /// A reader's short read drained the socket; the kernel then reports an event for data it
    /// already read (stale), new data arrives and is reported. In every interleaving the reader
    /// either reads the new data or parks where the poller finds it: never parked with data
    /// waiting and nobody to wake it.
    #[test]
    fn the_drained_hint_never_parks_past_new_data() {
        loom::model(|| {
            let sem = Arc::new(PollSem::new());
            // The socket's receive queue: true while it holds bytes nobody read.
            let queued = Arc::new(AtomicBool::new(true));
            let (s, q) = (sem.clone(), queued.clone());
            let reader = loom::thread::spawn(move || {
                let snapshot = s.events();
                // The short read: takes whatever is queued.
                q.swap(false, Ordering::SeqCst);
                // The next read, with the hint.
                let mut try_first = !s.clear_if_no_event_since(snapshot);
                for _ in 0..3 {
                    if try_first && q.swap(false, Ordering::SeqCst) {
                        return Reader::Got;
                    }
                    try_first = true;
                    // PollDesc::wait
                    if s.try_consume() {
                        continue;
                    }
                    if s.publish_waiter(ME) {
                        return Reader::Parked;
                    }
                    assert!(s.take_event());
                }
                // Three events for two deliveries cannot happen.
                unreachable!("the reader looped without a new event");
            });
            // The poller reports the bytes the short read takes (stale by the time it runs),
            // then new bytes arrive and are reported.
            let stale = sem.deliver(false);
            queued.store(true, Ordering::SeqCst);
            let fresh = sem.deliver(false);
            let woken = stale == Some(ME) || fresh == Some(ME);
            let ended = reader.join().unwrap();
            if ended == Reader::Parked && !woken {
                assert!(
                    !queued.load(Ordering::SeqCst),
                    "parked with data queued and nobody to wake the reader"
                );
            }
        });
    }

    /// A hang-up reported before the short read: the hint never applies, so the reader tries
    /// the read and finds the end of file instead of parking for good.
    #[test]
    fn a_reported_hang_up_disables_the_hint() {
        loom::model(|| {
            let sem = PollSem::new();
            assert_eq!(sem.deliver(true), None);
            let snapshot = sem.events();
            assert!(!sem.clear_if_no_event_since(snapshot));
        });
    }
}
