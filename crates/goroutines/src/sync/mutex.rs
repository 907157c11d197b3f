//! `Mutex<T>`, after Go's `sync/mutex.go` (Go 1.19+): one state word changed by CAS, a
//! semaphore ([`Sema`]) to park on, and two modes.
//!
//! ```text
//!    31                               3      2          1        0
//!   +----------------------------------+----------+--------+--------+
//!   | waiters: parked on the semaphore | STARVING | WOKEN  | LOCKED |
//!   |   or about to park on it         |          |        |        |
//!   +----------------------------------+----------+--------+--------+
//! ```
//!
//! ```text
//!   state                  meaning
//!   0                      unlocked, nobody waiting: `lock` is one CAS
//!   LOCKED                 locked, nobody waiting: `unlock` is one fetch_sub
//!   LOCKED, n waiters      normal mode: `unlock` sets WOKEN, counts one waiter out and wakes it;
//!                          the woken waiter then competes with newcomers
//!   WOKEN (± LOCKED)       a woken waiter, or a spinner that announced itself, is on its way:
//!                          `unlock` wakes no one more
//!   STARVING, n waiters    starvation mode: `unlock` hands the mutex to the first waiter and
//!     (± LOCKED)           newcomers queue at the tail; LOCKED is clear only during a handoff,
//!                          while the mutex still counts as held
//! ```
//!
//! Invariants:
//! - `LOCKED` is set while a guard exists. In starvation mode the mutex is also held, with
//!   `LOCKED` clear, from the `unlock` that hands it over until its receiver sets `LOCKED`.
//! - The waiter count counts lockers that have announced themselves in the state word and have
//!   not yet been picked by an `unlock` (normal mode) or received the mutex (starvation mode); it
//!   never counts a locker twice.
//! - `WOKEN` is set by at most one locker or unlocker at a time, and cleared by the locker that
//!   was woken (or that set it while spinning) on its next successful CAS.
//! - `STARVING` is set only by a waiter that has waited over 1 ms, only while `LOCKED` is set
//!   (an unlock in starvation mode expects a waiter to hand to), and cleared only by a waiter that
//!   received the mutex by handoff.
//!
//! Normal mode (Go's comment, condensed): waiters queue FIFO, but a woken waiter does not own the
//! mutex; it competes with goroutines arriving now, which are already on a CPU and usually win.
//! A waiter that loses goes back to the FRONT of the queue (the semaphore's `lifo`). That keeps
//! throughput high: the mutex passes between running goroutines without a context switch.
//!
//! Starvation mode: a waiter that has waited more than 1 ms sets `STARVING` when it next fails.
//! From then on `unlock` hands the mutex straight to the first waiter (the semaphore's
//! `handoff`, which also yields the P to it), newcomers neither take it nor spin but queue at
//! the tail. The waiter that receives it leaves starvation mode when it was the last waiter or
//! waited under 1 ms: starvation mode costs a context switch per handoff, and two goroutines
//! could otherwise stay in lock-step in it forever.
//!
//! Rejected, as Go's history shows: plain barging, Go's mutex before 1.9, which can starve a
//! waiter for as long as others keep re-locking (golang/go#13086); and a fair lock that hands
//! over on every unlock, which costs a context switch per unlock under contention.
//!
//! Spinning: before queueing, a locker may spin briefly when it could pay off (Go's
//! `sync_runtime_canSpin`): fewer than 4 rounds of 30 `spin_loop` hints, on a multicore machine,
//! on a goroutine whose runtime has more than one P, another of them running (not idle or
//! spinning), and whose own P has nothing else to run. Plain threads never spin.
//!
//! Differences from Go, each what a Rust programmer expects: the mutex owns its data and is
//! unlocked by dropping its guard; the guard is `!Send`, so the goroutine that locked is the one
//! that unlocks (Go allows another goroutine to unlock); there is no poisoning, a panic releases
//! the lock as the guard unwinds.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

use super::sema::Sema;
use crate::loom::{AtomicU32, Ordering};
use crate::runtime::g::{fatal, WaitReason};
use crate::runtime::proc::current_m;

/// Held by a guard (or, in starvation mode, being handed to the first waiter).
const LOCKED: u32 = 1;
/// A locker is awake and about to retry: `unlock` need not wake another.
const WOKEN: u32 = 1 << 1;
/// Starvation mode: `unlock` hands ownership to the first waiter; newcomers queue.
const STARVING: u32 = 1 << 2;
/// The waiter count lives above the three flags.
const WAITER_SHIFT: u32 = 3;
/// One waiter, as a state increment.
const ONE_WAITER: u32 = 1 << WAITER_SHIFT;
/// A waiter that waited longer than this switches the mutex to starvation mode (Go's
/// `starvationThresholdNs`).
const STARVATION_THRESHOLD_NS: u64 = 1_000_000;
/// Spin rounds before queueing (Go's `active_spin`).
const ACTIVE_SPIN: u32 = 4;
/// `spin_loop` hints per round (Go's `active_spin_cnt`).
const ACTIVE_SPIN_COUNT: u32 = 30;

/// A mutual-exclusion lock for goroutines that owns the data it protects, after Go's
/// `sync.Mutex`: a locker that must wait parks its goroutine (or blocks its plain thread) instead
/// of its OS thread, so the thread runs other goroutines meanwhile.
///
/// This is the mutex to hold across blocking calls. A goroutine may keep the guard while it
/// sends on a channel, sleeps, yields or locks another `Mutex`, even though it may resume on
/// another OS thread: the guard belongs to the goroutine, not the thread. A
/// `std::sync::MutexGuard` held that way is forbidden by the promise of
/// [`Builder::build`](crate::Builder::build), and a `std::sync::Mutex` that must wait blocks the
/// whole thread, with every goroutine queued on its P.
///
/// An uncontended `lock` and `unlock` are one atomic read-modify-write each, inlined. Under
/// contention it behaves as Go's mutex: newcomers may barge ahead of woken waiters for
/// throughput, until some waiter has waited over 1 ms; then the mutex passes waiters in FIFO
/// order until the queue drains (see the module source for the state machine).
///
/// Goroutines and plain OS threads may contend on the same `Mutex`. A plain thread that takes
/// it without ever waiting, though, is invisible to the deadlock check: if it holds the mutex
/// while every goroutine waits, the runtime may report a deadlock. Programs that do this build
/// their runtime with [`Builder::deadlock_detection(false)`](crate::Builder::deadlock_detection).
///
/// There is no poisoning: a panic while the guard is held unlocks the mutex as the guard drops.
///
/// ```
/// use std::sync::Arc;
/// use goroutines::sync::Mutex;
///
/// // SAFETY: these goroutines hold no thread-locals or std guards across blocking calls.
/// let total = unsafe {
///     goroutines::run(|| {
///         let counter = Arc::new(Mutex::new(0));
///         let workers: Vec<_> = (0..4)
///             .map(|_| {
///                 let counter = counter.clone();
///                 goroutines::go(move || *counter.lock() += 1)
///             })
///             .collect();
///         workers.into_iter().for_each(|w| w.join().unwrap());
///         let total = *counter.lock();
///         total
///     })
/// };
/// assert_eq!(total, 4);
/// ```
pub struct Mutex<T: ?Sized> {
    state: AtomicU32,
    sema: Sema,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands out access to `data` to one guard at a time, so sharing it between
// threads only moves T's ownership between them: T must be Send, not Sync.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}
// SAFETY: as for Sync; the state word and semaphore are thread-safe.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}

/// Access to the data of a locked [`Mutex`]; dropping it unlocks.
///
/// It is `!Send`: the goroutine (or thread) that locked unlocks. It may be held across any
/// blocking call of this crate, during which the goroutine may move to another OS thread.
///
/// ```compile_fail
/// fn hand_to_another_goroutine<T: Send>(_: T) {}
/// let mutex = goroutines::sync::Mutex::new(0);
/// hand_to_another_goroutine(mutex.lock());
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    not_send: PhantomData<*const ()>,
}

// SAFETY: a shared guard only gives `&T`, so it may be shared when T is Sync.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard holds (for `Cond::wait`, which unlocks and relocks it).
    pub(crate) fn mutex(&self) -> &'a Mutex<T> {
        self.mutex
    }
}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`.
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            state: AtomicU32::new(0),
            sema: Sema::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex and returns its data.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex, parking the goroutine (or blocking the plain thread) until it is free
    /// (Go's `Lock`). Locking a mutex this goroutine already holds waits forever.
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        crate::runtime::preempt_check();
        self.lock_waiting_as(WaitReason::MutexLock)
    }

    /// `lock`, showing `reason` in the goroutine dump while waiting (`Once` waits as
    /// `sync.Once.Do`).
    #[inline]
    pub(crate) fn lock_waiting_as(&self, reason: WaitReason) -> MutexGuard<'_, T> {
        if self
            .state
            .compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_slow(reason);
        }
        MutexGuard {
            mutex: self,
            not_send: PhantomData,
        }
    }

    /// Locks the mutex if that needs no waiting (Go's `TryLock`): fails when it is held or in
    /// starvation mode, where it belongs to the waiters.
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        let old = self.state.load(Ordering::Relaxed);
        if old & (LOCKED | STARVING) != 0 {
            return None;
        }
        // Waiters may be queued, but we are running now and may take it before they wake.
        self.state
            .compare_exchange(old, old | LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| MutexGuard {
                mutex: self,
                not_send: PhantomData,
            })
    }

    /// The data, through a unique borrow: no locking needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// Go's `lockSlow`: spin, or announce ourselves as a waiter and park, until we own it.
    #[cold]
    #[inline(never)]
    fn lock_slow(&self, reason: WaitReason) {
        let mut wait_start: Option<u64> = None;
        let mut starving = false;
        let mut awoke = false;
        let mut spins = 0;
        let mut old = self.state.load(Ordering::Relaxed);
        loop {
            // In starvation mode the mutex goes to the waiters: spinning cannot win it.
            if old & (LOCKED | STARVING) == LOCKED && can_spin(spins) {
                // Set WOKEN so that the unlocker does not wake a waiter we would race with.
                if !awoke
                    && old & WOKEN == 0
                    && old >> WAITER_SHIFT != 0
                    && self
                        .state
                        .compare_exchange(old, old | WOKEN, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                {
                    awoke = true;
                }
                (0..ACTIVE_SPIN_COUNT).for_each(|_| std::hint::spin_loop());
                spins += 1;
                old = self.state.load(Ordering::Relaxed);
                continue;
            }
            let mut new = old;
            // Newcomers do not take a starving mutex: they queue.
            if old & STARVING == 0 {
                new |= LOCKED;
            }
            if old & (LOCKED | STARVING) != 0 {
                new += ONE_WAITER;
            }
            // Switch to starvation mode, but not when the mutex is free: an unlock in
            // starvation mode expects a waiter to hand it to.
            if starving && old & LOCKED != 0 {
                new |= STARVING;
            }
            if awoke {
                // Woken (or we set WOKEN while spinning): clear it, whatever happens next.
                if new & WOKEN == 0 {
                    fatal("sync: inconsistent mutex state");
                }
                new &= !WOKEN;
            }
            match self
                .state
                .compare_exchange(old, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Err(now) => old = now,
                Ok(_) if old & (LOCKED | STARVING) == 0 => return, // took it by CAS
                Ok(_) => {
                    // Waited before: back to the front of the queue.
                    let lifo = wait_start.is_some();
                    let start = *wait_start.get_or_insert_with(probe::clock::now_ns);
                    self.sema.acquire(lifo, reason);
                    starving = starving
                        || probe::clock::now_ns().saturating_sub(start) > STARVATION_THRESHOLD_NS;
                    old = self.state.load(Ordering::Relaxed);
                    if old & STARVING != 0 {
                        self.receive_handoff(old, starving);
                        return;
                    }
                    awoke = true;
                    spins = 0;
                }
            }
        }
    }

    /// In starvation mode the unlocker handed us the mutex without setting LOCKED, and we still
    /// count as a waiter: fix both, and leave starvation mode if we were the last waiter or did
    /// not starve.
    fn receive_handoff(&self, old: u32, starving: bool) {
        if old & (LOCKED | WOKEN) != 0 || old >> WAITER_SHIFT == 0 {
            fatal("sync: inconsistent mutex state");
        }
        let mut delta = LOCKED.wrapping_sub(ONE_WAITER);
        if !starving || old >> WAITER_SHIFT == 1 {
            delta = delta.wrapping_sub(STARVING);
        }
        self.state.fetch_add(delta, Ordering::AcqRel);
    }

    /// Go's `Unlock`: drop the lock bit; the slow path runs only when someone waits or the
    /// mutex is starving.
    #[inline]
    fn unlock(&self) {
        let new = self
            .state
            .fetch_sub(LOCKED, Ordering::Release)
            .wrapping_sub(LOCKED);
        if new != 0 {
            self.unlock_slow(new);
        }
    }

    /// Go's `unlockSlow`: in normal mode wake one waiter unless one is already awake; in
    /// starvation mode hand the mutex to the first waiter.
    #[cold]
    #[inline(never)]
    fn unlock_slow(&self, new: u32) {
        if new.wrapping_add(LOCKED) & LOCKED == 0 {
            fatal("sync: unlock of unlocked mutex");
        }
        if new & STARVING != 0 {
            // LOCKED stays clear; STARVING keeps newcomers out until the waiter sets it.
            self.sema.release(true);
            return;
        }
        let mut old = new;
        loop {
            // No waiters, or a woken or spinning locker, or a new owner: nothing to do. A
            // starvation mode that began after our fetch_sub is not ours to serve.
            if old >> WAITER_SHIFT == 0 || old & (LOCKED | WOKEN | STARVING) != 0 {
                return;
            }
            // Take the right to wake one waiter.
            let woken = (old - ONE_WAITER) | WOKEN;
            match self
                .state
                .compare_exchange(old, woken, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.sema.release(false);
                    return;
                }
                Err(now) => old = now,
            }
        }
    }
}

/// Whether a locker should spin rather than queue (Go's `sync_runtime_canSpin`).
fn can_spin(spins: u32) -> bool {
    static NCPU: OnceLock<usize> = OnceLock::new();
    if spins >= ACTIVE_SPIN || *NCPU.get_or_init(probe::threads::available_parallelism) <= 1 {
        return false;
    }
    let Some(m) = current_m() else {
        return false;
    };
    let Some(p) = m.p() else {
        return false;
    };
    m.sched.ps.len() > 1 && m.sched.another_p_running() && p.runq.is_empty()
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard's existence means this goroutine holds the lock, so no other
        // reference to the data exists but through this guard.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this borrow unique.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
