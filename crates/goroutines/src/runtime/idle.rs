//! The idle-thread protocol: when to wake a thread, when a thread may spin, and how it sleeps
//! (Go's "Worker thread parking/unparking" in proc.go; Tokio's `idle.rs`).
//!
//! ```text
//!   submitter                              spinning M giving up
//!   ---------                              --------------------
//!   publish work (runq / global)           nmspinning -= 1        (SeqCst RMW)
//!   #StoreLoad                             #StoreLoad
//!   if npidle > 0 && nmspinning == 0       re-check every queue
//!      && CAS nmspinning 0 -> 1:           if work: spin again
//!         wake one M (it spins)            else: Note::sleep
//! ```
//!
//! Invariant: work published while a P is idle is never stranded. Either the submitter sees no
//! spinner and wakes one, or a spinner exists; a spinner that stops decrements first and then
//! looks at every queue, so one of the two sees the other's write (both sides are SeqCst with a
//! #StoreLoad between their write and their read). The loom model below checks this with the
//! real counters and the real `Note`.
//!
//! Spinning Ms are at most half of the busy Ps (`2 * nmspinning < nprocs - npidle`), so a burst of
//! wake-ups cannot have every thread searching at once.

use crate::loom::{fence, AtomicUsize, Condvar, Mutex, Ordering};

/// Counts of idle Ps and spinning Ms.
pub(crate) struct Idle {
    npidle: AtomicUsize,
    nmspinning: AtomicUsize,
}

impl Idle {
    pub(crate) fn new(npidle: usize) -> Idle {
        Idle {
            npidle: AtomicUsize::new(npidle),
            nmspinning: AtomicUsize::new(0),
        }
    }

    /// Whether some P other than the caller's runs goroutines: neither idle nor held by a
    /// spinning M (the condition of Go's `sync_runtime_canSpin`).
    pub(crate) fn another_p_running(&self, nprocs: usize) -> bool {
        nprocs > self.npidle.load(Ordering::Relaxed) + self.nmspinning.load(Ordering::Relaxed) + 1
    }

    pub(crate) fn npidle(&self) -> usize {
        self.npidle.load(Ordering::SeqCst)
    }

    pub(crate) fn nmspinning(&self) -> usize {
        self.nmspinning.load(Ordering::SeqCst)
    }

    /// A P went idle (called under the scheduler lock).
    pub(crate) fn p_idled(&self) {
        self.npidle.fetch_add(1, Ordering::SeqCst);
    }

    /// An idle P was taken (called under the scheduler lock).
    pub(crate) fn p_taken(&self) {
        self.npidle.fetch_sub(1, Ordering::SeqCst);
    }

    /// wakep's test, after the caller published work: true when a P is idle and nobody spins, in
    /// which case the caller has been counted as the one new spinner and must start an M.
    pub(crate) fn should_wake(&self) -> bool {
        fence(Ordering::SeqCst);
        self.npidle.load(Ordering::SeqCst) != 0
            && self.nmspinning.load(Ordering::SeqCst) == 0
            && self
                .nmspinning
                .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
    }

    /// Whether a non-spinning M with nothing to do may start spinning.
    pub(crate) fn may_spin(&self, nprocs: usize) -> bool {
        let busy = nprocs.saturating_sub(self.npidle.load(Ordering::SeqCst));
        2 * self.nmspinning.load(Ordering::SeqCst) < busy
    }

    /// Counts one more spinning M.
    pub(crate) fn begin_spinning(&self) {
        self.nmspinning.fetch_add(1, Ordering::SeqCst);
    }

    /// Counts one spinning M less; true if it was the last. The caller must then re-check every
    /// queue (this is the #StoreLoad side of the protocol) or, if it found work, wake another
    /// spinner when it was the last (Go's `resetspinning`).
    pub(crate) fn end_spinning(&self) -> bool {
        let was = self.nmspinning.fetch_sub(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        was == 1
    }
}

/// A one-shot wake-up token for one thread (Go's `note`): a `wakeup` before the `sleep` is not
/// lost. A mutex and condition variable (futex-based in std), used only when a thread runs out of
/// work, never on a goroutine switch.
pub(crate) struct Note {
    notified: Mutex<bool>,
    cv: Condvar,
}

impl Note {
    pub(crate) fn new() -> Note {
        Note {
            notified: Mutex::new(false),
            cv: Condvar::new(),
        }
    }

    /// Sets the token and wakes the sleeper, if any.
    pub(crate) fn wakeup(&self) {
        *self.notified.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cv.notify_one();
    }

    /// Waits until the token is set, then clears it.
    pub(crate) fn sleep(&self) {
        let mut notified = self.notified.lock().unwrap_or_else(|e| e.into_inner());
        while !*notified {
            notified = self.cv.wait(notified).unwrap_or_else(|e| e.into_inner());
        }
        *notified = false;
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::{Idle, Note};
    use crate::loom::{AtomicUsize, Ordering};
    use loom::sync::Arc;

    /// One P, one spinning M about to give up, one submitter: the work is always taken.
    #[test]
    fn a_spinner_giving_up_never_strands_work() {
        loom::model(|| {
            let idle = Arc::new(Idle::new(0));
            let queue = Arc::new(AtomicUsize::new(0));
            let note = Arc::new(Note::new());
            // The M holds the only P and is counted as spinning.
            idle.begin_spinning();
            let (i, q, n) = (idle.clone(), queue.clone(), note.clone());
            let worker = loom::thread::spawn(move || {
                loop {
                    // Take the one item (a swap reads the latest value, as popping a run queue's
                    // CAS does).
                    if q.swap(0, Ordering::SeqCst) > 0 {
                        return;
                    }
                    // Give up the P, stop spinning, look again.
                    i.p_idled();
                    i.end_spinning();
                    if q.load(Ordering::SeqCst) > 0 {
                        i.p_taken();
                        i.begin_spinning();
                        continue;
                    }
                    n.sleep();
                    // Woken by a submitter that counted us as spinning and gave us the P.
                    i.p_taken();
                }
            });
            queue.fetch_add(1, Ordering::SeqCst);
            if idle.should_wake() {
                note.wakeup();
            }
            worker.join().unwrap();
            assert_eq!(queue.swap(0, Ordering::SeqCst), 0);
        });
    }
}
