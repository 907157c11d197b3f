//! `WaitGroup`, after Go's `sync/waitgroup.go`: one 64-bit state word holding the counter and
//! the number of waiters, and a semaphore ([`Sema`]) the waiters park on.
//!
//! ```text
//!    63                      32 31                       0
//!   +--------------------------+--------------------------+
//!   |  counter (i32, ≥ 0)      |  waiters (u32)           |
//!   +--------------------------+--------------------------+
//!
//!   add(delta): counter += delta by CAS
//!               └─ reached 0 with n waiters: state = 0, release the semaphore n times
//!   wait():     counter == 0 ─▶ return
//!               else waiters += 1 by CAS, then acquire the semaphore (park)
//! ```
//!
//! Invariants:
//! - The counter never goes below zero: an `add` that would make it negative panics and leaves
//!   the state as it was (Go panics too, after the damage; a CAS loop lets us refuse it instead).
//! - Waiters are counted only while the counter is positive: `wait` increments the count by a CAS
//!   that fails if the counter has meanwhile reached zero.
//! - The `add` that brings the counter to zero owns the waiters: nobody else may change the
//!   state until it has reset it to 0 (a concurrent `add` then is Go's "Add called concurrently
//!   with Wait" misuse), and it releases exactly one token per counted waiter, so every waiter
//!   wakes.
//! - Everything a goroutine did before its `done` happens before every `wait` returns: each `add`
//!   is a read-modify-write with release and acquire, so the last one acquires all earlier ones,
//!   and it publishes them through the reset store or the semaphore.

use std::fmt;
use std::sync::Arc;

use super::sema::Sema;
use crate::loom::{AtomicU64, Ordering};
use crate::runtime::g::WaitReason;

const COUNTER_SHIFT: u32 = 32;
const WAITERS_MASK: u64 = (1 << COUNTER_SHIFT) - 1;

/// Waits for a collection of goroutines to finish, after Go's `sync.WaitGroup`.
///
/// The coordinator calls [`add`](WaitGroup::add) with the number of goroutines to wait for; each
/// goroutine calls [`done`](WaitGroup::done) when it finishes; [`wait`](WaitGroup::wait) parks
/// until the counter is back to zero, then every waiter returns. The handle is an `Arc` inside:
/// clone it to move it into goroutines. Works from plain OS threads too.
///
/// As in Go, `add` calls that start from a zero counter must happen before `wait`, and a group
/// reused for another round must see every `wait` of the previous round return first.
///
/// ```
/// use goroutines::sync::WaitGroup;
///
/// // SAFETY: these goroutines hold no thread-locals or std guards across blocking calls.
/// unsafe {
///     goroutines::run(|| {
///         let wg = WaitGroup::new();
///         for _ in 0..10 {
///             wg.add(1);
///             let wg = wg.clone();
///             goroutines::go(move || wg.done());
///         }
///         wg.wait();
///     })
/// };
/// ```
#[derive(Clone)]
pub struct WaitGroup {
    inner: Arc<Inner>,
}

struct Inner {
    /// Counter in the high half, waiters in the low half.
    state: AtomicU64,
    sema: Sema,
}

impl WaitGroup {
    /// A group with a zero counter.
    #[must_use]
    pub fn new() -> WaitGroup {
        WaitGroup {
            inner: Arc::new(Inner {
                state: AtomicU64::new(0),
                sema: Sema::new(),
            }),
        }
    }

    /// Adds `delta`, which may be negative, to the counter (Go's `Add`). When the counter
    /// reaches zero, every goroutine blocked in [`wait`](WaitGroup::wait) is woken. Adding zero
    /// does nothing.
    ///
    /// # Panics
    ///
    /// - `sync: negative WaitGroup counter` if the counter would go below zero; the counter is
    ///   left unchanged.
    /// - `sync: WaitGroup counter overflow` if it would exceed `i32::MAX`; unchanged too.
    /// - `sync: WaitGroup misuse: Add called concurrently with Wait` if a positive `add` starts
    ///   from zero while waiters are being released, or the state changes under the `add` that
    ///   releases them.
    pub fn add(&self, delta: isize) {
        if delta == 0 {
            return;
        }
        let state = &self.inner.state;
        let mut old = state.load(Ordering::Acquire);
        let new = loop {
            let counter = i64::from((old >> COUNTER_SHIFT) as u32);
            let waiters = old & WAITERS_MASK;
            if delta > 0 && counter == 0 && waiters != 0 {
                misuse_concurrent_add();
            }
            let next = counter.saturating_add(delta as i64);
            assert!(next >= 0, "sync: negative WaitGroup counter");
            let Ok(next) = i32::try_from(next) else {
                panic!("sync: WaitGroup counter overflow");
            };
            let new = (u64::from(next.unsigned_abs()) << COUNTER_SHIFT) | waiters;
            match state.compare_exchange_weak(old, new, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break new,
                Err(now) => old = now,
            }
        };
        let waiters = new & WAITERS_MASK;
        if new >> COUNTER_SHIFT > 0 || waiters == 0 {
            return;
        }
        // We brought the counter to zero with waiters counted: nobody else may touch the state
        // now (a waiter that sees a zero counter does not count itself).
        if state.load(Ordering::Relaxed) != new {
            misuse_concurrent_add();
        }
        state.store(0, Ordering::Release);
        for _ in 0..waiters {
            self.inner.sema.release(false);
        }
    }

    /// Subtracts one from the counter (Go's `Done`).
    ///
    /// # Panics
    ///
    /// `sync: negative WaitGroup counter` if the counter is zero; it is left at zero.
    pub fn done(&self) {
        self.add(-1);
    }

    /// Parks the goroutine (or blocks the plain thread) until the counter is zero (Go's `Wait`).
    /// Returns at once if it is zero now.
    ///
    /// # Panics
    ///
    /// `sync: WaitGroup is reused before previous Wait has returned` if, by the time this waiter
    /// runs again, someone has already started the next round with `add`.
    pub fn wait(&self) {
        let state = &self.inner.state;
        let mut old = state.load(Ordering::Acquire);
        loop {
            if old >> COUNTER_SHIFT == 0 {
                return;
            }
            match state.compare_exchange_weak(old, old + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    self.inner.sema.acquire(false, WaitReason::WaitGroupWait);
                    assert!(
                        state.load(Ordering::Acquire) == 0,
                        "sync: WaitGroup is reused before previous Wait has returned"
                    );
                    return;
                }
                Err(now) => old = now,
            }
        }
    }
}

#[cold]
fn misuse_concurrent_add() -> ! {
    panic!("sync: WaitGroup misuse: Add called concurrently with Wait")
}

impl Default for WaitGroup {
    fn default() -> WaitGroup {
        WaitGroup::new()
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.load(Ordering::Relaxed);
        f.debug_struct("WaitGroup")
            .field("counter", &(state >> COUNTER_SHIFT))
            .field("waiters", &(state & WAITERS_MASK))
            .finish()
    }
}
