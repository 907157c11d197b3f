//! `Cond`, after Go's `sync/cond.go` and the `notifyList` of `runtime/sema.go`: waiters take
//! numbered tickets, and each `signal` wakes the holder of the oldest ticket not yet notified.
//!
//! ```text
//!   wait:      t = wait++            (before unlocking the mutex: a signal after the unlock
//!              unlock the mutex       counts this waiter)
//!              lock list; t < notify? ─yes─▶ return (already notified)
//!              enqueue (t, me); park, the list unlocked after the switch; relock the mutex
//!   signal:    wait == notify? ─▶ return (nobody to notify)
//!              lock list; t = notify; t == wait? ─▶ return
//!              notify = t + 1; take the waiter with ticket t off the list, if it got there, wake it
//!   broadcast: wait == notify? ─▶ return
//!              lock list; notify = wait; take every waiter off the list; wake them all
//! ```
//!
//! Invariants:
//! - `notify` only grows (mod 2^32), up to `wait`; every ticket below `notify` has been notified
//!   exactly once, so each waiter is woken once, and signals wake waiters in ticket order.
//! - A waiter whose ticket was notified before it reached the list does not park (its ticket
//!   is below `notify` when it looks, under the list lock); one that parked is taken off the list
//!   under that lock by the notifier that wakes it, and only then woken, so its `CondWaiter`
//!   frame is alive for as long as the list points to it.

use std::collections::VecDeque;
use std::ptr;

use parking_lot::Mutex as ListLock;

use super::mutex::MutexGuard;
use crate::loom::{AtomicU32, Ordering};
use crate::runtime::g::WaitReason;
use crate::runtime::park::{block, Waiter};

/// A waiter parked in [`Cond::wait`] (Go's `sudog` on a `notifyList`), on its own stack.
struct CondWaiter {
    waiter: Waiter,
    ticket: u32,
}

/// A condition variable for goroutines, after Go's `sync.Cond`: goroutines (or plain threads)
/// wait for a change to data guarded by a [`Mutex`](super::Mutex), parking while they wait.
///
/// [`wait`](Cond::wait) unlocks the mutex, parks until [`signal`](Cond::signal) or
/// [`broadcast`](Cond::broadcast), and locks the mutex again; as with every condition variable,
/// check the condition in a loop (or use [`wait_while`](Cond::wait_while)), since another
/// goroutine may have changed the data between the wake-up and the relock. Unlike
/// `std::sync::Condvar`, a wait never ends without a signal or broadcast (no spurious
/// wake-ups), and signals wake waiters in the order they started waiting.
///
/// ```
/// use std::sync::Arc;
/// use goroutines::sync::{Cond, Mutex};
///
/// // SAFETY: these goroutines hold no thread-locals or std guards across blocking calls.
/// let got = unsafe {
///     goroutines::run(|| {
///         let shared = Arc::new((Mutex::new(None), Cond::new()));
///         let producer = {
///             let shared = shared.clone();
///             goroutines::go(move || {
///                 *shared.0.lock() = Some(42);
///                 shared.1.signal();
///             })
///         };
///         let (slot, ready) = &*shared;
///         let value = ready.wait_while(slot.lock(), |value| value.is_none()).unwrap();
///         producer.join().unwrap();
///         value
///     })
/// };
/// assert_eq!(got, 42);
/// ```
pub struct Cond {
    /// The next ticket to hand to a waiter (Go's `notifyList.wait`).
    wait: AtomicU32,
    /// The next ticket to notify (Go's `notifyList.notify`): written under `list`'s lock, read
    /// without it on the fast paths.
    notify: AtomicU32,
    list: ListLock<VecDeque<*const CondWaiter>>,
}

// SAFETY: the raw pointers in `list` are read only under its lock and point to `CondWaiter`s
// whose owners stay parked, their frames alive, until the notifier that took them off the list
// wakes them (module invariants); a `Waiter` is Send and Sync.
unsafe impl Send for Cond {}
// SAFETY: as above; everything else is atomics.
unsafe impl Sync for Cond {}

/// Go's `less`: `a` comes before `b`, with the tickets wrapping around at 2^32.
fn less(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl Cond {
    /// A condition variable with nobody waiting.
    pub const fn new() -> Cond {
        Cond {
            wait: AtomicU32::new(0),
            notify: AtomicU32::new(0),
            list: ListLock::new(VecDeque::new()),
        }
    }

    /// Unlocks the guard's mutex, parks the goroutine (or blocks the plain thread) until a
    /// [`signal`](Cond::signal) or [`broadcast`](Cond::broadcast) reaches it, then locks the
    /// mutex again and returns its guard (Go's `Cond.Wait`).
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        // Take the ticket while still holding the mutex: a signal sent after the unlock counts it.
        let ticket = self.wait.fetch_add(1, Ordering::SeqCst);
        let mutex = guard.mutex();
        drop(guard);
        self.wait_for(ticket);
        mutex.lock()
    }

    /// Waits (as [`wait`](Cond::wait)) for as long as `condition` holds of the data, and returns
    /// the guard once it does not.
    pub fn wait_while<'a, T: ?Sized>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        while condition(&mut *guard) {
            guard = self.wait(guard);
        }
        guard
    }

    /// Go's `notifyListWait`: parks until `ticket` is notified, unless it was already.
    fn wait_for(&self, ticket: u32) {
        let mut list = self.list.lock();
        if less(ticket, self.notify.load(Ordering::SeqCst)) {
            return;
        }
        let me = Waiter::current();
        let entry = CondWaiter {
            waiter: me.clone(),
            ticket,
        };
        list.push_back(ptr::from_ref(&entry));
        block(&me, WaitReason::CondWait, move || drop(list));
        // Woken by the notifier that took `entry` off the list: nothing points to it any more.
    }

    /// Wakes the goroutine (or thread) that has waited longest, if any (Go's `Cond.Signal`).
    /// Holding the mutex while signalling is allowed, not required.
    pub fn signal(&self) {
        if self.wait.load(Ordering::SeqCst) == self.notify.load(Ordering::SeqCst) {
            return;
        }
        let mut list = self.list.lock();
        let ticket = self.notify.load(Ordering::SeqCst);
        if ticket == self.wait.load(Ordering::SeqCst) {
            return;
        }
        self.notify.store(ticket.wrapping_add(1), Ordering::SeqCst);
        // The waiter may not have reached the list yet: then it sees its ticket notified and
        // does not park.
        let found = list.iter().position(|&entry| {
            // SAFETY: pointers on the list are to live `CondWaiter`s (module invariants), and we
            // hold the list's lock.
            unsafe { (*entry).ticket == ticket }
        });
        let Some(entry) = found.and_then(|i| list.remove(i)) else {
            return;
        };
        drop(list);
        // SAFETY: we took it off the list under the lock, so its owner is parked until we wake
        // it below, and its frame is alive.
        let waiter = unsafe { (*entry).waiter.clone() };
        // From here on the owner may run and its frame may be gone: `entry` is not touched again.
        waiter.wake();
    }

    /// Wakes every goroutine (and thread) waiting now (Go's `Cond.Broadcast`).
    pub fn broadcast(&self) {
        if self.wait.load(Ordering::SeqCst) == self.notify.load(Ordering::SeqCst) {
            return;
        }
        let mut list = self.list.lock();
        self.notify
            .store(self.wait.load(Ordering::SeqCst), Ordering::SeqCst);
        let waiters: Vec<Waiter> = list
            .drain(..)
            .map(|entry| {
                // SAFETY: as in `signal`: live entries, under the lock, taken off the list here.
                unsafe { (*entry).waiter.clone() }
            })
            .collect();
        drop(list);
        for waiter in waiters {
            waiter.wake();
        }
    }
}

impl Default for Cond {
    fn default() -> Cond {
        Cond::new()
    }
}

impl std::fmt::Debug for Cond {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cond").finish_non_exhaustive()
    }
}
