//! The semaphore under `Mutex` and `WaitGroup`, after Go's `runtime/sema.go` (`semacquire1`,
//! `semrelease1`): a count of available tokens, and a queue of waiters who found it empty.
//!
//! ```text
//!   Sema { count: tokens, nwait: waiters (mirror of queue.len()), queue: lock + [&SemaWaiter..] }
//!   SemaWaiter (on the waiter's stack) { waiter: G or thread, ticket: token already taken for it }
//!
//!   acquire: take a token by CAS ─ok─▶ return
//!              │ none
//!              ▼
//!            lock queue; nwait += 1; try a token again ─ok─▶ nwait -= 1, unlock, return
//!              │ none
//!              ▼
//!            enqueue (front if lifo, else back); park, the queue unlocked after the switch
//!              │ woken
//!              ▼
//!            ticket set, or a token taken by CAS ─▶ return;  else enqueue again
//!
//!   release: count += 1; nwait == 0 ─▶ return
//!            lock queue; pop the front waiter; nwait -= 1; unlock
//!            handoff: take the token for it (ticket = true) and, on a goroutine, yield to it
//!            wake it
//! ```
//!
//! Invariants:
//! - `nwait == queue.len()` whenever the queue lock is free: both change only under it, together.
//! - No lost wake-up. `acquire` raises `nwait` before its last look at `count`; `release` raises
//!   `count` before it reads `nwait`; all four are `SeqCst`, so at least one of the two sees the
//!   other (the store-buffering pattern Go's comments in `semacquire1` describe).
//! - A `SemaWaiter` is on the queue only while its owner is blocked in `acquire`, so its stack
//!   frame is alive. Whoever pops it (under the lock) is the only one who will wake it: it writes
//!   `ticket`, wakes the owner, and never touches the `SemaWaiter` again. The wake (`goready`'s
//!   CAS, or a thread's token) orders the `ticket` write before the owner reads it.
//! - A token is either in `count` or consumed by exactly one acquirer: the ticket of a handoff is
//!   a token the releaser took out of `count` on the waiter's behalf.
//!
//! Go keeps every semaphore's waiters in one global table of 251 balanced trees keyed by address
//! (`semtable`), so that a `sync.Mutex` is 8 bytes and its zero value works. Here each semaphore
//! owns its queue, a `parking_lot` lock beside a `VecDeque`: Rust values have constructors, so
//! there is no address to hash, no table lock shared by unrelated mutexes, and no tree; the cost
//! is a few words per `Mutex` or `WaitGroup`. Go's `sudog.acquiretime` and `releasetime` feed its
//! block and mutex profiles, which this crate does not have, so `SemaWaiter` omits them.

use std::collections::VecDeque;
use std::ptr;

use parking_lot::Mutex as QueueLock;

use crate::loom::{AtomicBool, AtomicU32, Ordering};
use crate::runtime::g::{current_g, WaitReason};
use crate::runtime::park::{block, Waiter};
use crate::runtime::yield_now;

/// A waiter blocked in [`Sema::acquire`] (Go's `sudog`), on its own stack.
struct SemaWaiter {
    waiter: Waiter,
    /// Set by a handoff release: a token was taken for this waiter, which owns it on waking.
    ticket: AtomicBool,
}

/// A counting semaphore whose waiters park (goroutines) or block (plain threads).
pub(crate) struct Sema {
    /// Tokens available now (Go's `*addr`).
    count: AtomicU32,
    /// Waiters queued or about to be (Go's `semaRoot.nwait`), so `release` can skip the lock.
    nwait: AtomicU32,
    queue: QueueLock<VecDeque<*const SemaWaiter>>,
}

// SAFETY: the raw pointers in `queue` are read only under its lock, and point to `SemaWaiter`s
// whose owners stay blocked, their frames alive, until the one thread that popped them wakes them
// (module invariants); a `Waiter` is Send and Sync.
unsafe impl Send for Sema {}
// SAFETY: as above; everything else is atomics.
unsafe impl Sync for Sema {}

impl Sema {
    /// A semaphore with no tokens and no waiters.
    pub(crate) const fn new() -> Sema {
        Sema {
            count: AtomicU32::new(0),
            nwait: AtomicU32::new(0),
            queue: QueueLock::new(VecDeque::new()),
        }
    }

    /// Takes a token if one is available (Go's `cansemacquire`).
    fn try_acquire(&self) -> bool {
        let mut count = self.count.load(Ordering::SeqCst);
        while count > 0 {
            match self.count.compare_exchange_weak(
                count,
                count - 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return true,
                Err(now) => count = now,
            }
        }
        false
    }

    /// Takes a token, waiting for a `release` if there is none (Go's `semacquire1`). A waiter
    /// queues at the front when `lifo` (a `Mutex` waiter that has waited before), else at the
    /// back; `reason` is what the goroutine dump shows while it waits.
    pub(crate) fn acquire(&self, lifo: bool, reason: WaitReason) {
        if self.try_acquire() {
            return;
        }
        let me = Waiter::current();
        let entry = SemaWaiter {
            waiter: me.clone(),
            ticket: AtomicBool::new(false),
        };
        loop {
            let mut queue = self.queue.lock();
            self.nwait.fetch_add(1, Ordering::SeqCst);
            if self.try_acquire() {
                self.nwait.fetch_sub(1, Ordering::SeqCst);
                return;
            }
            if lifo {
                queue.push_front(ptr::from_ref(&entry));
            } else {
                queue.push_back(ptr::from_ref(&entry));
            }
            block(&me, reason, move || drop(queue));
            if entry.ticket.load(Ordering::Relaxed) || self.try_acquire() {
                return;
            }
        }
    }

    /// Adds a token and wakes the first waiter, if any (Go's `semrelease1`). With `handoff`, the
    /// token goes straight to that waiter, so no newcomer can take it first, and a goroutine
    /// caller yields its P to the woken goroutine (Go's direct G handoff, issue 33747).
    pub(crate) fn release(&self, handoff: bool) {
        self.count.fetch_add(1, Ordering::SeqCst);
        if self.nwait.load(Ordering::SeqCst) == 0 {
            return;
        }
        let mut queue = self.queue.lock();
        let Some(entry) = queue.pop_front() else {
            // The waiter that raised `nwait` took the token and left; nobody to wake.
            return;
        };
        self.nwait.fetch_sub(1, Ordering::SeqCst);
        drop(queue);
        // SAFETY: we popped it under the lock, so its owner is blocked until we wake it below
        // and its frame is alive (module invariants).
        let entry = unsafe { &*entry };
        let handed_off = handoff && self.try_acquire();
        if handed_off {
            entry.ticket.store(true, Ordering::Relaxed);
        }
        let waiter = entry.waiter.clone();
        let waiter_is_goroutine = matches!(waiter, Waiter::G(_));
        // From here on the owner may run and its frame may be gone: `entry` is not touched again.
        waiter.wake();
        if handed_off && waiter_is_goroutine && current_g().is_some() {
            // The woken goroutine sits in this P's `runnext`; let it run now, inheriting our
            // time slice, instead of after us.
            yield_now();
        }
    }
}
