//! `RwLock<T>`, after Go's `sync/rwmutex.go`: a writers' `Mutex`, two semaphores, and two
//! counters.
//!
//! ```text
//!   reader_count   readers holding or waiting         no writer:       0 .. MAX_READERS
//!                  (a writer subtracts MAX_READERS)   writer pending:  -MAX_READERS .. 0
//!   reader_wait    readers a pending writer still waits for (may dip below 0 for a moment)
//!   w              Mutex<()>: held from a writer's `write` to its guard's drop
//!   reader_sem     readers that came while a writer was pending park here
//!   writer_sem     the pending writer parks here until the last reader before it leaves
//!
//!   read:    reader_count += 1; negative ─▶ park on reader_sem (the writer's unlock releases it)
//!   unread:  reader_count -= 1; negative ─▶ reader_wait -= 1; reached 0 ─▶ release writer_sem
//!   write:   lock w; r = readers before (reader_count -= MAX_READERS);
//!            r != 0 and reader_wait += r leaves it != 0 ─▶ park on writer_sem
//!   unwrite: r = (reader_count += MAX_READERS); release reader_sem r times; unlock w
//! ```
//!
//! Invariants:
//! - While a write guard exists, `reader_count < 0` and no read guard exists: the writer
//!   announced itself before waiting for the readers it counted, readers that came later park,
//!   and the writer got past `writer_sem` only once each counted reader had left.
//! - While a writer is pending or writing, `reader_count + MAX_READERS` is the number of
//!   readers holding or waiting; `write` counts those holding into `reader_wait`, and those
//!   that came after wait on `reader_sem` for exactly one token each from the writer's unlock.
//! - The number of readers stays below `MAX_READERS / 2` (a reader beyond that panics as it
//!   leaves), so the two ranges of `reader_count` never meet: leaked guards cannot wrap the
//!   count and let a writer in beside them.
//!
//! Writers are preferred, as in Go: once a writer waits, new readers queue behind it, so a
//! stream of readers cannot starve it. Hence, as Go's documentation warns, a goroutine holding
//! a read guard must not take another: if a writer arrived in between, the second `read` waits
//! for the writer, which waits for the first guard.
//!
//! Memory ordering: every access to the counters is `SeqCst`, as all of Go's atomics are. A
//! reader's increment reads the value a writer's unlock wrote (or waits on `reader_sem`, which
//! that unlock releases after writing), and a writer's decrement reads every earlier reader's
//! departure (or waits on `writer_sem`, which the last departing reader releases after its own
//! read-modify-write of `reader_wait`), so each guard's accesses happen after those of the
//! guards before it.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use super::mutex::{Mutex, MutexGuard};
use super::sema::Sema;
use crate::loom::{AtomicI32, Ordering};
use crate::runtime::g::{fatal, WaitReason};

/// What a writer subtracts from `reader_count` (Go's `rwmutexMaxReaders`).
const MAX_READERS: i32 = 1 << 30;

/// A reader-writer lock for goroutines that owns the data it protects, after Go's
/// `sync.RWMutex`: any number of readers or one writer at a time, and a locker that must wait
/// parks its goroutine (or blocks its plain thread) instead of its OS thread.
///
/// Like this crate's [`Mutex`], its guards may be held across blocking calls of this crate
/// (channel operations, sleeps, other locks), during which the goroutine may move to another
/// OS thread; a `std::sync::RwLock` guard may not, and a `std::sync::RwLock` that must wait
/// blocks the whole thread with every goroutine queued on its P.
///
/// Writers are preferred: once a goroutine waits in [`write`](RwLock::write), later readers
/// wait until it has had the lock, so readers cannot starve writers. So a goroutine that holds
/// a read guard must not ask for another one (a writer arriving in between would deadlock the
/// two), just as Go forbids recursive read locking.
///
/// There is no poisoning: a panic releases the lock as the guard drops.
///
/// ```
/// use std::sync::Arc;
/// use goroutines::sync::RwLock;
///
/// // SAFETY: these goroutines hold no thread-locals or std guards across blocking calls.
/// let sum = unsafe {
///     goroutines::run(|| {
///         let table = Arc::new(RwLock::new(vec![1, 2, 3]));
///         let writer = {
///             let table = table.clone();
///             goroutines::go(move || table.write().push(4))
///         };
///         writer.join().unwrap();
///         let readers: Vec<_> = (0..4)
///             .map(|_| {
///                 let table = table.clone();
///                 goroutines::go(move || table.read().iter().sum::<i32>())
///             })
///             .collect();
///         readers.into_iter().map(|r| r.join().unwrap()).sum::<i32>()
///     })
/// };
/// assert_eq!(sum, 40);
/// ```
pub struct RwLock<T: ?Sized> {
    /// Held by the writer from `write` to its guard's drop (Go's `w`).
    w: Mutex<()>,
    /// The pending writer waits here for the readers before it (Go's `writerSem`).
    writer_sem: Sema,
    /// Readers that came while a writer was pending wait here (Go's `readerSem`).
    reader_sem: Sema,
    /// Readers holding or waiting, minus `MAX_READERS` while a writer is pending or writing.
    reader_count: AtomicI32,
    /// Readers the pending writer still waits for.
    reader_wait: AtomicI32,
    data: UnsafeCell<T>,
}

// SAFETY: a write guard gives one thread `&mut T` at a time, so the lock moves T between
// threads (T: Send); read guards give several threads `&T` at once (T: Sync). The counters and
// semaphores are thread-safe. These are std's `RwLock` bounds.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}
// SAFETY: as for Sync: owning the lock owns T.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}

/// Shared access to the data of a read-locked [`RwLock`]; dropping it unlocks.
///
/// It is `!Send`, as [`MutexGuard`] is: the goroutine (or thread) that locked unlocks.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    not_send: PhantomData<*const ()>,
}

// SAFETY: a shared read guard only gives `&T`.
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}

/// Exclusive access to the data of a write-locked [`RwLock`]; dropping it unlocks.
///
/// It is `!Send` (through the writers' mutex guard it holds).
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    /// Released after the readers are (field drops follow `Drop::drop`), as Go's `Unlock`
    /// unlocks `w` last.
    _writers: MutexGuard<'a, ()>,
}

// SAFETY: a shared write guard only gives `&T`.
unsafe impl<T: ?Sized + Sync> Sync for RwLockWriteGuard<'_, T> {}

impl<T> RwLock<T> {
    /// An unlocked lock holding `value`.
    pub const fn new(value: T) -> RwLock<T> {
        RwLock {
            w: Mutex::new(()),
            writer_sem: Sema::new(),
            reader_sem: Sema::new(),
            reader_count: AtomicI32::new(0),
            reader_wait: AtomicI32::new(0),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock and returns its data.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Locks for reading, parking the goroutine (or blocking the plain thread) while a writer
    /// holds the lock or waits for it (Go's `RLock`).
    ///
    /// # Panics
    ///
    /// When about 2^29 read guards exist at once (only leaked guards can get there).
    #[inline]
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        crate::runtime::preempt_check();
        if self.reader_count.fetch_add(1, Ordering::SeqCst) + 1 < 0 {
            // A writer is pending or writing: its unlock releases one token for us.
            self.reader_sem.acquire(false, WaitReason::RwLockRead);
        }
        self.read_guard()
    }

    /// Locks for reading if that needs no waiting (Go's `TryRLock`): fails while a writer holds
    /// the lock or waits for it.
    ///
    /// # Panics
    ///
    /// As [`read`](RwLock::read).
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        let mut count = self.reader_count.load(Ordering::SeqCst);
        loop {
            if count < 0 {
                return None;
            }
            match self.reader_count.compare_exchange_weak(
                count,
                count + 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return Some(self.read_guard()),
                Err(now) => count = now,
            }
        }
    }

    /// The guard of a reader already counted in; panics, releasing it, if there are too many.
    fn read_guard(&self) -> RwLockReadGuard<'_, T> {
        let guard = RwLockReadGuard {
            lock: self,
            not_send: PhantomData,
        };
        let count = self.reader_count.load(Ordering::Relaxed);
        let readers = if count < 0 {
            count + MAX_READERS
        } else {
            count
        };
        if readers >= MAX_READERS / 2 {
            // Unwinding drops the guard, which counts this reader out again.
            panic!("sync: RwLock has too many readers (leaked read guards?)");
        }
        guard
    }

    /// Locks for writing, parking the goroutine (or blocking the plain thread) until no reader
    /// or writer holds the lock (Go's `Lock`). Readers that arrive meanwhile wait behind it.
    #[inline]
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        crate::runtime::preempt_check();
        // First, resolve competition with other writers.
        let writers = self.w.lock_waiting_as(WaitReason::RwLockWrite);
        // Announce the writer to readers, and count the readers already in.
        let readers = self.reader_count.fetch_sub(MAX_READERS, Ordering::SeqCst);
        if readers != 0 && self.reader_wait.fetch_add(readers, Ordering::SeqCst) + readers != 0 {
            // The last of them to leave releases the token.
            self.writer_sem.acquire(false, WaitReason::RwLockWrite);
        }
        RwLockWriteGuard {
            lock: self,
            _writers: writers,
        }
    }

    /// Locks for writing if that needs no waiting (Go's `TryLock`): fails while any reader or
    /// writer holds the lock or waits for it.
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        let writers = self.w.try_lock()?;
        self.reader_count
            .compare_exchange(0, -MAX_READERS, Ordering::SeqCst, Ordering::SeqCst)
            .ok()?;
        Some(RwLockWriteGuard {
            lock: self,
            _writers: writers,
        })
    }

    /// The data, through a unique borrow: no locking needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// Go's `RUnlock`.
    #[inline]
    fn read_unlock(&self) {
        let count = self.reader_count.fetch_sub(1, Ordering::SeqCst) - 1;
        if count < 0 {
            self.read_unlock_slow(count);
        }
    }

    /// Go's `rUnlockSlow`: a writer is pending; the last reader it waits for lets it in.
    #[cold]
    fn read_unlock_slow(&self, count: i32) {
        if count + 1 == 0 || count + 1 == -MAX_READERS {
            fatal("sync: RwLock read unlock of an unlocked lock");
        }
        if self.reader_wait.fetch_sub(1, Ordering::SeqCst) - 1 == 0 {
            self.writer_sem.release(false);
        }
    }

    /// Go's `Unlock`, less its `w.Unlock()`, which the guard's field does after it.
    fn write_unlock(&self) {
        let readers = self.reader_count.fetch_add(MAX_READERS, Ordering::SeqCst) + MAX_READERS;
        if readers >= MAX_READERS {
            fatal("sync: RwLock write unlock of an unlocked lock");
        }
        // Let in the readers that came while we were pending or writing.
        for _ in 0..readers {
            self.reader_sem.release(false);
        }
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard counts a reader in, so no write guard exists (module invariants):
        // nobody holds `&mut T` while it lives.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.read_unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard is the only writer and no reader is in (module invariants).
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for `deref`; `&mut self` makes this borrow the guard's only one.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.write_unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Leaked read guards cannot wrap the count: a reader (or `try_read`) past `MAX_READERS / 2`
    /// panics and counts itself out, and the lock still works. (Leaking 2^29 guards takes seconds; the
    /// count starts near the limit instead.)
    #[test]
    fn too_many_readers_panic_and_leave_the_count_as_it_was() {
        let lock = RwLock::new(7);
        let leaked = MAX_READERS / 2 - 2;
        lock.reader_count.store(leaked, Ordering::SeqCst);
        let last = lock.read();
        let over = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(lock.read())));
        assert!(over.is_err(), "a reader past the limit got in");
        assert_eq!(lock.reader_count.load(Ordering::SeqCst), leaked + 1);
        let tried =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lock.try_read().is_some()));
        assert!(tried.is_err(), "try_read past the limit got in");
        assert_eq!(lock.reader_count.load(Ordering::SeqCst), leaked + 1);
        assert_eq!(*last, 7);
        drop(last);
        lock.reader_count.store(0, Ordering::SeqCst);
        *lock.write() += 1;
        assert_eq!(*lock.read(), 8);
    }
}
