//! The global pool of free stacks and the per-P caches in front of it (Go's `stackpool` and
//! `stackcache`).
//!
//! ```text
//!   P0: StackCache (<= 64) --+                       +-- warm: <= 1,024, pages resident
//!   P1: StackCache (<= 64) --+-- 32 out / 16 in --> StackPool -- surplus: resident until an idle
//!   no P: StackPool::alloc --+   (one lock each)     |             thread calls `scavenge`
//!                                                    +-- released: any number, MADV_DONTNEED'd
//!                                                    |
//!                                           empty -> Arena::carve (own lock, one guard syscall)
//! ```

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::arena::Arena;
#[cfg(test)]
use super::arena::GuardMethod;
use super::{GStack, StackError};

/// Free stacks the pool keeps resident. Above this the surplus it receives is `MADV_DONTNEED`'d
/// by the next `scavenge`, which the scheduler calls from a thread about to go idle (Go's
/// background scavenger), so that a burst of exiting goroutines pays no system call.
pub(crate) const POOL_HIGH_WATER: usize = 1024;

/// A cache that reaches this many stacks gives [`CACHE_RELEASE`] of them to the pool.
pub(crate) const CACHE_CAPACITY: usize = 64;

/// How many stacks a full cache hands to the pool in one lock: half, as Go's `stackcacherelease`.
pub(crate) const CACHE_RELEASE: usize = 32;

/// How many stacks an empty cache takes from the pool in one lock.
pub(crate) const CACHE_REFILL: usize = 16;

/// Free stacks shared by all Ps, and the arena that makes new ones. `Sync`.
#[derive(Debug)]
pub(crate) struct StackPool {
    free: Mutex<FreeStacks>,
    /// Separate from `free`, so that frees never wait behind a carve's system calls.
    arena: Mutex<Arena>,
}

#[derive(Debug, Default)]
struct FreeStacks {
    /// Stacks whose touched pages are still resident; reused first. At most `POOL_HIGH_WATER`.
    warm: Vec<GStack>,
    /// Stacks above the high-water mark, still resident, waiting for `scavenge`.
    surplus: Vec<GStack>,
    /// Stacks whose memory went back to the kernel.
    released: Vec<GStack>,
}

impl FreeStacks {
    fn pop(&mut self) -> Option<GStack> {
        self.warm
            .pop()
            .or_else(|| self.surplus.pop())
            .or_else(|| self.released.pop())
    }
}

impl StackPool {
    /// A pool of stacks with at least `stack_size` usable bytes each (rounded up to whole pages,
    /// at least 16 KiB, at most 1 GiB). Maps nothing until the first allocation.
    pub(crate) fn new(stack_size: usize) -> StackPool {
        StackPool::with_arena(Arena::new(stack_size, None))
    }

    /// As [`StackPool::new`], but guarding every stack with `mprotect` as kernels before 6.13 must.
    #[cfg(test)]
    pub(crate) fn with_mprotect_guards(stack_size: usize) -> StackPool {
        StackPool::with_arena(Arena::new(stack_size, Some(GuardMethod::Mprotect)))
    }

    fn with_arena(arena: Arena) -> StackPool {
        StackPool {
            free: Mutex::new(FreeStacks::default()),
            arena: Mutex::new(arena),
        }
    }

    /// Usable bytes of each stack, after rounding.
    #[cfg(test)]
    pub(crate) fn stack_size(&self) -> usize {
        self.lock_arena().stack_size()
    }

    /// How the guard pages are made; `None` before the first stack is carved. Results record it.
    #[cfg(test)]
    pub(crate) fn guard_method(&self) -> Option<GuardMethod> {
        self.lock_arena().guard_method()
    }

    /// A stack for a caller without a P: a free one if any, else a new slot.
    #[cfg(test)]
    pub(crate) fn alloc(&self) -> Result<GStack, StackError> {
        if let Some(stack) = self.lock_free().pop() {
            return Ok(stack);
        }
        self.lock_arena().carve()
    }

    /// Takes back a stack (from a finished coroutine, via `Coroutine::into_stack`).
    pub(crate) fn free(&self, stack: GStack) {
        let mut free = self.lock_free();
        if free.warm.len() < POOL_HIGH_WATER {
            free.warm.push(stack);
        } else {
            free.surplus.push(stack);
        }
    }

    /// Whether `scavenge` has work. A racy hint: the lock decides.
    pub(crate) fn has_surplus(&self) -> bool {
        !self.lock_free().surplus.is_empty()
    }

    /// Gives the memory of the surplus stacks back to the kernel, in one system call where the
    /// kernel allows; returns how many stacks it released.
    pub(crate) fn scavenge(&self) -> usize {
        let surplus = std::mem::take(&mut self.lock_free().surplus);
        if surplus.is_empty() {
            return 0;
        }
        GStack::release_memory_batch(&surplus);
        let n = surplus.len();
        self.lock_free().released.extend(surplus);
        n
    }

    /// Moves up to `count` free stacks onto `into`, in one lock.
    fn take(&self, into: &mut Vec<GStack>, count: usize) {
        let mut free = self.lock_free();
        for _ in 0..count {
            let Some(stack) = free.pop() else { break };
            into.push(stack);
        }
    }

    /// Moves the first `count` stacks of `from` into the pool: as many as fit under the high-water
    /// mark, the rest as surplus for `scavenge`, in one lock.
    fn put(&self, from: &mut Vec<GStack>, count: usize) {
        let mut free = self.lock_free();
        let warm = count.min(POOL_HIGH_WATER.saturating_sub(free.warm.len()));
        free.warm.extend(from.drain(..warm));
        free.surplus.extend(from.drain(..count - warm));
    }

    /// How many free stacks the pool holds: `(warm, released)`.
    #[cfg(test)]
    pub(crate) fn free_counts(&self) -> (usize, usize) {
        let free = self.lock_free();
        (free.warm.len() + free.surplus.len(), free.released.len())
    }

    // The lists are consistent at every point a panic could occur (a `Vec::push` that fails to
    // grow leaves the vector as it was), so a poisoned lock is used as it is.
    fn lock_free(&self) -> MutexGuard<'_, FreeStacks> {
        self.free.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_arena(&self) -> MutexGuard<'_, Arena> {
        self.arena.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for StackPool {
    /// Unmaps the arena if every stack came back; leaks it otherwise (see `Arena::unmap_if_all_free`).
    fn drop(&mut self) {
        let free = self.free.get_mut().unwrap_or_else(PoisonError::into_inner);
        let arena = self.arena.get_mut().unwrap_or_else(PoisonError::into_inner);
        arena.unmap_if_all_free(free.warm.iter().chain(&free.surplus).chain(&free.released));
    }
}

/// One P's stacks: allocation and free without a lock. Owned by one P at a time, so it is `Send`
/// (it moves with the P) but not `Sync`.
///
/// A cache dropped without [`StackCache::clear`] leaks its stacks, and then the pool its arena.
#[derive(Debug)]
pub(crate) struct StackCache {
    /// The last pushed is the most recently freed, the most likely to be in the CPU's cache.
    stacks: Vec<GStack>,
    not_sync: PhantomData<Cell<()>>,
}

impl StackCache {
    pub(crate) fn new() -> StackCache {
        StackCache {
            stacks: Vec::with_capacity(CACHE_CAPACITY),
            not_sync: PhantomData,
        }
    }

    /// A stack from this cache; when it is empty, refilled from `pool` first (Go's
    /// `stackcacherefill`).
    #[inline]
    pub(crate) fn alloc(&mut self, pool: &StackPool) -> Result<GStack, StackError> {
        match self.stacks.pop() {
            Some(stack) => Ok(stack),
            None => self.alloc_slow(pool),
        }
    }

    #[cold]
    fn alloc_slow(&mut self, pool: &StackPool) -> Result<GStack, StackError> {
        pool.take(&mut self.stacks, CACHE_REFILL);
        match self.stacks.pop() {
            Some(stack) => Ok(stack),
            None => pool.lock_arena().carve(),
        }
    }

    /// Keeps `stack` for this P's next goroutine; at [`CACHE_CAPACITY`] the oldest
    /// [`CACHE_RELEASE`] go to `pool` (Go's `stackcacherelease`).
    #[inline]
    pub(crate) fn free(&mut self, pool: &StackPool, stack: GStack) {
        self.stacks.push(stack);
        if self.stacks.len() >= CACHE_CAPACITY {
            pool.put(&mut self.stacks, CACHE_RELEASE);
        }
    }

    /// Gives every stack to `pool` (Go's `stackcache_clear`): when a P is destroyed.
    #[cfg(test)]
    pub(crate) fn clear(&mut self, pool: &StackPool) {
        let count = self.stacks.len();
        pool.put(&mut self.stacks, count);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.stacks.len()
    }
}

impl Default for StackCache {
    fn default() -> StackCache {
        StackCache::new()
    }
}
