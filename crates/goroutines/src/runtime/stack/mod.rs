//! Goroutine stacks: fixed-size slots carved from an arena, each with a guard page below it,
//! recycled through per-P caches, and an overflow handler that names the goroutine.
//!
//! Go grows a goroutine's stack by copying it, because its compiler knows every pointer into the
//! stack. Rust cannot move a stack, so a goroutine gets a fixed virtual reservation (default
//! 256 KiB, from the runtime config) and pays in physical memory only for the pages it touches.
//!
//! Invariants:
//! - Every stack handed out has a guard page directly below its lowest usable byte, and the guard
//!   stays in place for as long as the arena is mapped: slots are never unguarded, split or merged.
//! - A carved slot is owned by exactly one [`GStack`] or lies in exactly one free list (a cache's
//!   or the pool's). `GStack` is not `Clone`; dropping one leaks its slot, which is then never
//!   reused (and never unmapped under a coroutine that may still run on it).
//! - A fresh stack costs no physical memory: chunks are `MAP_NORESERVE`, and nothing here writes to
//!   a stack (no pre-faulting, no zeroing). Corosensei's first frame touches the top page only.
//! - The pool holds at most [`pool::POOL_HIGH_WATER`] stacks with their memory still resident;
//!   every stack it holds beyond that has been through `MADV_DONTNEED`.
//! - Arena memory is unmapped only when every slot ever carved is back in the pool (checked when
//!   the pool drops); otherwise it is leaked, since a stack may still be under a suspended coroutine.
//!
//! # Layout
//!
//! The arena grows by chunks, one `mmap` each (`PROT_READ|PROT_WRITE`,
//! `MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE`), of up to 256 slots. Stacks grow down, so each
//! slot's guard page is its lowest page:
//!
//! ```text
//!  one chunk: one mapping (and, with MADV_GUARD_INSTALL, one VMA)
//!  low addresses                                                               high addresses
//!  +-------+---------------------+-------+---------------------+-----+-------+---------------+
//!  | guard |  stack 0 (usable)   | guard |  stack 1 (usable)   | ... | guard |  stack 255    |
//!  +-------+---------------------+-------+---------------------+-----+-------+---------------+
//!  ^       ^                     ^
//!  |       lowest usable byte    base of stack 0 = limit of stack 1
//!  limit of stack 0 (chunk start)
//!  |<------------- slot 0 ------>|<------------- slot 1 ------>|
//!
//!  slot = one guard page + usable size (whole pages, at least 16 KiB, 256 KiB by default)
//!  GStack: limit = slot start (guard included, as corosensei asks), base = slot end;
//!          guard_range() = [limit, limit + page)
//! ```
//!
//! With 256 KiB stacks a chunk is 65 MiB of address space; a million goroutines reserve 260 GB of
//! the 128 TiB user address space and 3,907 chunks. Slots are carved one at a time, when first
//! needed, so a program with ten goroutines installs ten guards.
//!
//! # Why `MADV_GUARD_INSTALL`
//!
//! The classic guard is `mprotect(PROT_NONE)` on one page. It splits the mapping: every stack then
//! costs two VMAs (its guard and its body), and the kernel refuses a process more than
//! `vm.max_map_count` of them (default 65,530). That is a wall at about 32,700 stacks: `mprotect`
//! and `mmap` fail with `ENOMEM`. The `may` crate dies there on its skynet benchmark ("failed to
//! alloc sys stack ... Cannot allocate memory"), and srs, libdill, rethinkdb and tarantool hit the
//! same number; ClickHouse removed its fiber guard pages instead.
//!
//! Linux 6.13 added `madvise(MADV_GUARD_INSTALL)`: a guard marker in the page table entry that
//! faults on any access, without touching the VMA. A chunk with 256 guards stays one VMA, and the
//! kernel merges adjacent chunks: measured on Linux 6.18 (`tests/maps.rs`), 100,000 default stacks
//! add no map at all and 1,000,000 16 KiB stacks add one, where `mprotect` guards stop at 32,747
//! stacks with the default limit. Carving a slot costs one `madvise`, 1 to 2 µs; reusing a free
//! stack is a `Vec::pop` (a fresh corosensei `DefaultStack` costs 14.7 µs). The markers survive
//! `MADV_DONTNEED`. We detect support once, on the first slot any arena carves (`EINVAL` means
//! unsupported), and otherwise fall back to `mprotect`; when that reaches the map limit the
//! [`StackError`] names `vm.max_map_count` and the `sysctl` that raises it.
//!
//! # Caches (Go's `stackcache`)
//!
//! A P allocates and frees through its own [`StackCache`] without a lock. The cache keeps up to
//! 64 stacks; when it reaches 64 it hands the 32 coldest to the global [`StackPool`] in one lock,
//! and when it is empty it takes up to 16 in one lock (Go's `stackcacherelease` and
//! `stackcacherefill` move half of a 32 KiB per-size cache, [go: runtime/stack.go]). Only when the
//! pool is empty too does the arena carve a new slot (one guard syscall, under the arena's own lock,
//! so frees are never blocked behind a syscall).
//!
//! # Resident memory
//!
//! A parked goroutine should cost about one page (target: at most 4.5 KB of RSS each). So memory is
//! never pre-faulted or zeroed here. A stack that went deep keeps its pages while it sits in a
//! cache or among the pool's first [`pool::POOL_HIGH_WATER`] (1,024) free stacks: reuse then costs
//! no page faults. Beyond that mark the pool gives the surplus back with `MADV_DONTNEED`; the slot
//! stays reserved and guarded, and refaults zero pages on its next use. Not in RSS but real: the
//! guard marker needs a page table page per 2 MiB (about 520 bytes per 256 KiB slot, shared with
//! the stack's own first page), and chunks are `MADV_NOHUGEPAGE` so touching one stack never
//! faults a 2 MiB huge page. Measured (`tests/coroutine.rs`): a fresh stack 0 bytes, a parked
//! coroutine 4,135 bytes of RSS plus 515 bytes of page tables. Under `vm.overcommit_memory = 2` the kernel ignores `MAP_NORESERVE`
//! and charges every chunk in full.
//!
//! # Overflow
//!
//! Rust's stack probes touch every page of a large frame in order, so an overflow always faults in
//! the guard page. [`overflow`] installs a `SIGSEGV`/`SIGBUS` handler on an alternate signal stack
//! that compares the fault address with the guard of the goroutine running on this thread (set by
//! the scheduler at each switch), prints `goroutine N stack overflow` and aborts, as Go does.
//! Designs rejected: recovering from the overflow (generator-rs yields out of the handler, which is
//! unsound for code interrupted mid-write); no guard at all (ClickHouse, may in 2018).
//!
//! # Synchronisation
//!
//! This module uses `std::sync` directly, not `crate::loom`: code that switches stacks cannot run
//! under loom, and the pool is never part of a modelled protocol.

mod arena;
mod overflow;
mod pool;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicUsize, Ordering};

use corosensei::stack::{Stack, StackPointer};

pub use self::arena::StackError;
pub(crate) use self::overflow::{ensure_altstack, install_overflow_handler};
pub(crate) use self::pool::{StackCache, StackPool};

/// The smallest usable size a pool hands out; smaller requests are rounded up to it. Corosensei
/// needs 4 KiB, and a signal handler or a panic's unwinder needs more.
pub(crate) const MIN_STACK_SIZE: usize = 16 * 1024;

/// The largest usable size: Go's `maxstacksize` on 64-bit targets. Larger requests are clamped.
pub(crate) const MAX_STACK_SIZE: usize = 1 << 30;

/// One goroutine stack: a slot of the arena, owned. It is the `Stack` a corosensei `Coroutine`
/// runs on, and it comes back from `Coroutine::into_stack` to be freed into a cache or the pool.
///
/// ```text
///   limit               limit + page                                  base
///   |<---- guard ---->|<-------------- usable stack --------------->|
/// ```
#[derive(Debug)]
pub(crate) struct GStack {
    /// Lowest address of the slot: the start of its guard page.
    limit: StackPointer,
    /// One past the highest usable byte; the stack grows down from here.
    base: StackPointer,
}

impl GStack {
    /// The guard page below this stack, as `(lowest address, one past the highest)`. The scheduler
    /// keeps it in the goroutine's G, where the overflow handler looks (`g::running_guard`).
    pub(crate) fn guard_range(&self) -> (usize, usize) {
        let limit = self.limit.get();
        (limit, limit + page_size())
    }

    /// The usable bytes, excluding the guard page.
    pub(crate) fn usable_size(&self) -> usize {
        self.base.get() - self.limit.get() - page_size()
    }

    /// Gives the physical memory of the usable part back to the kernel. The slot stays mapped and
    /// guarded; its next use reads zeros.
    /// Releases the memory of many free stacks, in one system call where the kernel allows.
    fn release_memory_batch(stacks: &[GStack]) {
        let ranges: Vec<(usize, usize)> = stacks
            .iter()
            .map(|s| (s.guard_range().1, s.usable_size()))
            .collect();
        // SAFETY: as in `release_memory`, for each stack: the usable part of an owned free slot.
        if !unsafe { arena::madvise_ranges(&ranges, libc::MADV_DONTNEED) } {
            stacks.iter().for_each(GStack::release_memory);
        }
    }

    fn release_memory(&self) {
        let (_, lowest_usable) = self.guard_range();
        // SAFETY: `[lowest_usable, base)` is the usable part of a slot this handle owns, inside a
        // private anonymous mapping that stays mapped while the handle exists. No coroutine runs
        // on an owned free stack, so no live data is discarded. `MADV_DONTNEED` only drops pages.
        let result = unsafe {
            libc::madvise(
                lowest_usable as *mut libc::c_void,
                self.usable_size(),
                libc::MADV_DONTNEED,
            )
        };
        // The advice can only fail on a bad range, which the arena never produces; a failure would
        // merely keep the pages resident.
        debug_assert_eq!(result, 0, "MADV_DONTNEED on a goroutine stack failed");
    }
}

// SAFETY: the contract of `Stack` is that `[limit, base)` is memory this value owns, with a guard
// page that catches overflows and at least `MIN_STACK_SIZE` (4 KiB) usable bytes, and that `base`
// and `limit` are aligned to `STACK_ALIGNMENT`. A `GStack` is created only by `Arena::carve`, after
// the guard page at `limit` was installed (`MADV_GUARD_INSTALL` or `mprotect(PROT_NONE)`), over a
// slot of `page + usable` bytes with `usable >= MIN_STACK_SIZE` (16 KiB). The slot belongs to this
// handle alone (it is not `Clone`, and a slot is carved once) and stays mapped while it exists
// (the arena is unmapped only when every carved slot is back in the pool). Both addresses are page
// aligned, and the page size is a multiple of `STACK_ALIGNMENT` (16), checked in `Arena::new`.
// `limit` includes the guard page, as the trait asks: corosensei's trap handler tests whether the
// faulting stack pointer lies in `[limit, base)`.
unsafe impl Stack for GStack {
    #[inline]
    fn base(&self) -> StackPointer {
        self.base
    }

    #[inline]
    fn limit(&self) -> StackPointer {
        self.limit
    }
}

/// The system page size, read once.
fn page_size() -> usize {
    static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);
    let cached = PAGE_SIZE.load(Ordering::Relaxed);
    if cached != 0 {
        return cached;
    }
    // SAFETY: `sysconf` has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    // `_SC_PAGESIZE` cannot fail on Linux; 4 KiB is the answer everywhere it could.
    let page = usize::try_from(page)
        .ok()
        .filter(|page| page.is_power_of_two())
        .unwrap_or(4096);
    PAGE_SIZE.store(page, Ordering::Relaxed);
    page
}
