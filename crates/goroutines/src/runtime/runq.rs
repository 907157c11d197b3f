//! The per-P local run queue: Go's `runq`/`runnext` pair from `runtime/proc.go` (`runqput`,
//! `runqputslow`, `runqget`, `runqdrain`, `runqgrab`, `runqsteal`), with the same algorithm and the
//! same memory orderings.
//!
//! Every P owns one `RunQueue`. The thread that currently holds the P (the *owner*) pushes and pops
//! at will; any other P (a *thief*) may steal half of it. It is a single-producer, multi-consumer
//! ring of `CAPACITY` G pointers plus one `runnext` slot, all lock-free. The queue never looks
//! behind a pointer: what a G is, and who may run it, is the caller's business.
//!
//! # Invariants
//!
//! 1. Only the owner stores to `tail` and to the ring's slots. `head` moves forward only, by CAS,
//!    and anyone may move it: the owner (pop, overflow, drain) or a thief (grab).
//! 2. `tail - head` (wrapping `u32`) is in `0..=CAPACITY`. The queued Gs are the slots
//!    `head..tail`, each index taken modulo `CAPACITY`. Since `CAPACITY` divides 2^32, that index
//!    stays right when the counters wrap.
//! 3. A thief reads its slots first and then claims them with a CAS on `head`. The owner reuses the
//!    slot of index `i` (for index `i + CAPACITY`) only after its load-acquire of `head` has
//!    returned a value past `i`. So a thief whose CAS succeeded has read the values that the owner
//!    published through `tail`. The owner may also claim first and read after, since it is the
//!    only writer of slots.
//! 4. Only the owner stores a non-null `runnext`. Anyone may CAS it back to null, and whoever does
//!    owns the G it held.
//! 5. A G is in at most one place: `runnext` or a slot in `head..tail`. A consumer takes it out with
//!    one successful CAS, so exactly one consumer gets it.
//!
//! ```text
//!                    head: CAS by anyone         tail: stored by the owner only
//!                      |                           |
//!                      v                           v
//!   buf: [ .. | .. | G3 | G4 | G5 | G6 | G7 | .. | .. | .. ]   indices mod CAPACITY
//!                      \______ runnable, oldest first _/
//!
//!   runnext: G8   the owner swaps a G in; the owner or a thief CASes it out
//!
//!   owner pop:   runnext (inherits the time slice), then head -> head + 1
//!   thief grab:  slots head .. head + (n - n/2) copied into its own ring, then one CAS on head
//!   owner push:  slot[tail] = G, then tail -> tail + 1; when full, CAPACITY/2 oldest + G overflow
//! ```
//!
//! # Why a fixed 256 slots
//!
//! This is Go's size. A bounded ring needs no allocation and no memory reclamation: a slot is a
//! word that gets overwritten. When the ring is full, `push` takes the older half off it with one
//! CAS and hands that half, plus the new G, to the caller for the global queue (Go's
//! `runqputslow`). So the global lock is paid once per `CAPACITY / 2` spills, and a busy P keeps
//! its newest work local. Under `--cfg loom` the ring has 4 slots, so that the model checker sees
//! the full and wrap-around cases within a few operations, as Tokio's queue does.
//!
//! # Why copy-then-CAS is sound here
//!
//! A thief copies `n` slots and only then claims them by CASing `head` from `h` to `h + n`.
//! Meanwhile the owner may already be writing a new G into one of those slots, if other consumers
//! moved `head` past it. Go accepts this race: the thief's CAS then fails and the copy is thrown
//! away. In Rust, a plain read that races with a write is undefined behaviour even when the value
//! is discarded, so every slot is an `AtomicPtr` and is accessed with `Relaxed`. On x86-64 and
//! AArch64 those accesses compile to plain moves. When the CAS succeeds, `head` still equals `h`.
//! By invariant 3, the owner has then not written those slots again, and the `tail` load-acquire
//! made their last writes visible. The copy is therefore exact.
//!
//! Orderings, as Go's:
//!
//! | operation                    | head                      | tail                     | slots   |
//! |------------------------------|---------------------------|--------------------------|---------|
//! | push (owner)                 | load-acquire              | own value; store-release | relaxed |
//! | pop, overflow, drain (owner) | load-acquire; CAS-release | own value                | relaxed |
//! | grab (thief, on the victim)  | load-acquire; CAS-release | load-acquire             | relaxed |
//! | steal (thief, on its own)    | load-acquire              | own value; store-release | relaxed |
//!
//! The release on every `head` CAS pairs with the owner's load-acquire in `push`. That is how
//! invariant 3 holds across threads. The load-acquire of `head` before each CAS pairs with the
//! other consumers' CAS-release: it makes the `tail` read next at least the `tail` they saw, so a
//! consistent pair has `head <= tail`. `runnext` is changed only by swap and CAS, both acq-rel,
//! because the G it names moves between threads through it.
//!
//! # Designs rejected
//!
//! - **crossbeam-deque** (the research brief's starting point): a Chase-Lev deque that can grow.
//!   Growing means an old buffer may still be read by a stealer, so it is freed through epoch-based
//!   reclamation. Every steal then pins an epoch, which costs extra atomic read-modify-writes and
//!   fences in the hot path. Tokio left it for that reason. We never need to grow, because the
//!   global queue takes the overflow.
//! - **Tokio's queue** (`multi_thread/queue.rs`): it packs a *steal* head and a *real* head into one
//!   atomic. A thief first claims a range, then copies it, then releases it, and the owner knows not
//!   to overwrite a range still being copied. Tokio needs this because its slots hold owned,
//!   reference-counted task handles. A handle may be read out only after it has been claimed, since
//!   a thrown-away duplicate would have to be dropped and would corrupt the count. Our slots hold
//!   `Copy` raw pointers. A copy that loses the CAS costs nothing and needs no drop, so Go's single
//!   head and one CAS per steal are enough. Go's scheme also allows several thieves at once, where
//!   Tokio's allows one steal in progress at a time.

use std::ptr::{self, NonNull};

use crate::loom::{AtomicPtr, AtomicU32, Ordering};

/// Number of slots in the ring (Go's `len(pp.runq)`).
#[cfg(not(loom))]
pub(crate) const CAPACITY: usize = 256;
/// Number of slots in the ring; 4 under loom, so that models reach the full and wrap-around states.
#[cfg(loom)]
pub(crate) const CAPACITY: usize = 4;

/// `CAPACITY` as the type of the `head` and `tail` counters.
const SLOTS: u32 = CAPACITY as u32;

const _: () = assert!(CAPACITY.is_power_of_two() && CAPACITY >= 2 && CAPACITY <= 1 << 31);

/// One P's local run queue: a lock-free ring of runnable G pointers plus the `runnext` slot.
/// See the module documentation for the protocol.
pub(crate) struct RunQueue<T> {
    /// Index of the oldest queued G. Moved forward by CAS by the owner or a thief.
    head: AtomicU32,
    /// Index one past the newest queued G. Stored only by the owner.
    tail: AtomicU32,
    /// The ring. Slot `i % CAPACITY` holds the G at index `i`, for `i` in `head..tail`.
    buf: [AtomicPtr<T>; CAPACITY],
    /// The G to run next, ahead of the ring, in the current time slice. Null when empty.
    runnext: AtomicPtr<T>,
}

// SAFETY: the queue never dereferences the pointers it stores; it only moves them between threads,
// which is its purpose, and every field is an atomic. Whoever dereferences a G pointer is
// responsible for the G's own thread safety. std's `AtomicPtr<T>` would make this type
// `Send + Sync` for every `T` anyway; saying it here keeps that true whatever the facade's atomics
// are (loom's included) and records why it is sound.
unsafe impl<T> Send for RunQueue<T> {}
// SAFETY: as for `Send`: all shared access goes through atomics, under the protocol described in
// the module documentation.
unsafe impl<T> Sync for RunQueue<T> {}

impl<T> RunQueue<T> {
    /// An empty queue.
    pub(crate) fn new() -> Self {
        RunQueue {
            head: AtomicU32::new(0),
            tail: AtomicU32::new(0),
            buf: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            runnext: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// The ring slot that holds index `index`.
    fn slot(&self, index: u32) -> &AtomicPtr<T> {
        &self.buf[index as usize % CAPACITY]
    }

    /// Reads the G at `index`, which the caller knows is in `head..tail` (or was, and the caller is
    /// about to claim it by CAS). A slot is written only from a `NonNull`, so once inside
    /// `head..tail` it is never null.
    fn occupied_slot(&self, index: u32) -> NonNull<T> {
        NonNull::new(self.slot(index).load(Ordering::Relaxed))
            .expect("run queue: a slot between head and tail holds null")
    }

    /// Claims the Gs at `head..new_head` by moving `head` forward with one CAS. Fails, and claims
    /// nothing, if another consumer moved `head` first.
    fn claim(&self, head: u32, new_head: u32, success: Ordering) -> bool {
        self.head
            .compare_exchange(head, new_head, success, Ordering::Relaxed)
            .is_ok()
    }

    /// Takes `next` out of `runnext` with one CAS. Fails if another consumer took it first.
    fn take_runnext(&self, next: NonNull<T>) -> bool {
        self.runnext
            .compare_exchange(
                next.as_ptr(),
                ptr::null_mut(),
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// Puts `g` on the queue (Go's `runqput`).
    ///
    /// With `next == false`, `g` goes to the tail of the ring. With `next == true`, `g` goes into
    /// `runnext`, and the G that was there, if any, goes to the tail of the ring instead.
    ///
    /// If the ring is full, the `CAPACITY / 2` oldest Gs of the ring and then the G being added to
    /// the ring are appended to `overflow`, in that order (Go's `runqputslow`), and `push` returns
    /// `true`. The caller must then put that batch on the global queue, in order. Otherwise `push`
    /// returns `false` and leaves `overflow` alone.
    ///
    /// # Safety
    ///
    /// Only the owner may call this: the one thread that currently holds the P this queue belongs
    /// to. Two threads calling `push`, `pop`, `drain_into`, or `steal_into` with this queue as
    /// `dst`, at the same time break invariant 1, and Gs get lost or run twice.
    #[doc(alias = "runqput")]
    pub(crate) unsafe fn push(
        &self,
        g: NonNull<T>,
        next: bool,
        overflow: &mut Vec<NonNull<T>>,
    ) -> bool {
        let mut g = g;
        if next {
            // Go loops on a CAS here; a swap is the same exchange in one instruction.
            let old = self.runnext.swap(g.as_ptr(), Ordering::AcqRel);
            match NonNull::new(old) {
                None => return false,
                // Kick the old runnext out to the tail of the ring.
                Some(old) => g = old,
            }
        }
        loop {
            let head = self.head.load(Ordering::Acquire); // synchronize with consumers
            let tail = self.tail.load(Ordering::Relaxed); // only we store it
            if tail.wrapping_sub(head) < SLOTS {
                self.slot(tail).store(g.as_ptr(), Ordering::Relaxed);
                // Makes the slot available for consumption.
                self.tail.store(tail.wrapping_add(1), Ordering::Release);
                return false;
            }
            if self.push_slow(g, head, tail, overflow) {
                return true;
            }
            // A consumer took some Gs meanwhile: the ring is not full, so the put above succeeds.
        }
    }

    /// The full-ring path of `push` (Go's `runqputslow`): moves the older half of the ring and `g`
    /// to `overflow`. Returns `false` if a thief moved `head` first; the ring then has room.
    #[cold]
    fn push_slow(
        &self,
        g: NonNull<T>,
        head: u32,
        tail: u32,
        overflow: &mut Vec<NonNull<T>>,
    ) -> bool {
        let n = tail.wrapping_sub(head) / 2;
        debug_assert_eq!(n, SLOTS / 2, "runqputslow: queue is not full");
        if !self.claim(head, head.wrapping_add(n), Ordering::Release) {
            return false;
        }
        // Go copies before its CAS. Copying after it is equally sound, because only the owner ever
        // writes slots, and it spares undoing the copy when the CAS fails (as Go's `runqdrain`).
        overflow.reserve(n as usize + 1);
        for i in 0..n {
            overflow.push(self.occupied_slot(head.wrapping_add(i)));
        }
        overflow.push(g);
        true
    }

    /// Takes the next G to run (Go's `runqget`): `runnext` first, then the head of the ring.
    ///
    /// The `bool` is Go's `inheritTime`: `true` when the G came from `runnext` and so should run in
    /// the remainder of the current time slice, `false` when it should start a new one.
    ///
    /// # Safety
    ///
    /// Only the owner may call this (see [`RunQueue::push`]).
    #[doc(alias = "runqget")]
    pub(crate) unsafe fn pop(&self) -> Option<(NonNull<T>, bool)> {
        // If the CAS fails, a thief took runnext: only the owner stores a non-null value, so there
        // is nothing to retry.
        if let Some(next) = NonNull::new(self.runnext.load(Ordering::Relaxed)) {
            if self.take_runnext(next) {
                return Some((next, true));
            }
        }
        loop {
            let head = self.head.load(Ordering::Acquire); // synchronize with other consumers
            let tail = self.tail.load(Ordering::Relaxed); // only we store it
            if tail == head {
                return None;
            }
            let g = self.occupied_slot(head);
            if self.claim(head, head.wrapping_add(1), Ordering::Release) {
                return Some((g, false)); // the CAS commits the consume
            }
        }
    }

    /// The G at the head of the ring, which `pop` takes next unless `runnext` is set, if at least
    /// `min_len` Gs wait in the ring; without taking it: a hint, since a thief may take it first.
    ///
    /// # Safety
    ///
    /// Only the owner may call this (see [`RunQueue::push`]).
    pub(crate) unsafe fn peek(&self, min_len: u32) -> Option<NonNull<T>> {
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Relaxed);
        if tail.wrapping_sub(head) < min_len.max(1) {
            return None;
        }
        NonNull::new(self.slot(head).load(Ordering::Relaxed))
    }

    #[cfg(any(test, loom))]
    /// Moves every G of the queue to the end of `out`: `runnext` first, then the ring, oldest first
    /// (Go's `runqdrain`). Used when a P is destroyed or handed over.
    ///
    /// # Safety
    ///
    /// Only the owner may call this (see [`RunQueue::push`]).
    #[doc(alias = "runqdrain")]
    pub(crate) unsafe fn drain_into(&self, out: &mut Vec<NonNull<T>>) {
        if let Some(next) = NonNull::new(self.runnext.load(Ordering::Relaxed)) {
            if self.take_runnext(next) {
                out.push(next);
            }
        }
        loop {
            let head = self.head.load(Ordering::Acquire); // synchronize with other consumers
            let tail = self.tail.load(Ordering::Relaxed);
            let n = tail.wrapping_sub(head);
            if n == 0 {
                return;
            }
            if n > SLOTS {
                continue; // read inconsistent head and tail
            }
            if !self.claim(head, head.wrapping_add(n), Ordering::Release) {
                continue;
            }
            // Claim first, then read, as Go does: once `head` is past them, no thief reads these
            // slots, and only we write them.
            out.reserve(n as usize);
            for i in 0..n {
                out.push(self.occupied_slot(head.wrapping_add(i)));
            }
            return;
        }
    }

    /// Steals from this queue (the victim) into `dst`, the caller's own queue (Go's `runqsteal`).
    ///
    /// Takes the older half of the victim's ring, `n - n/2` Gs, and appends it to `dst`'s ring,
    /// except for the newest of them, which is returned for the caller to run at once. When the
    /// victim's ring is empty and `steal_runnext` is true, takes the victim's `runnext` instead
    /// and returns it. Returns `None` when nothing was taken.
    ///
    /// Go sleeps about 3 µs before taking `runnext` from a P that is running, to give that P the
    /// chance to run the G it has just readied. That sleep belongs to the caller, which knows the
    /// victim P's status. Go sleeps only when the victim's ring is empty, which the caller sees as
    /// [`RunQueue::has_runnext`] with a [`RunQueue::len`] of 1 (`len` counts `runnext`); it then
    /// sleeps and calls this.
    ///
    /// # Panics
    ///
    /// If `dst`'s ring holds more than `CAPACITY / 2` Gs, so that a stolen half might not fit (Go
    /// throws "runqsteal: runq overflow"). Go's thief steals only once its own `runqget` has come
    /// back empty, and so never gets here.
    ///
    /// # Safety
    ///
    /// The caller must be the owner of `dst` (see [`RunQueue::push`]), and `dst` must not be
    /// `self`. Any thread may be the owner of `self`, which is what makes this a steal.
    #[doc(alias = "runqsteal")]
    pub(crate) unsafe fn steal_into(
        &self,
        dst: &RunQueue<T>,
        steal_runnext: bool,
    ) -> Option<NonNull<T>> {
        debug_assert!(
            !ptr::eq(self, dst),
            "runqsteal: stealing from its own queue"
        );
        let dst_tail = dst.tail.load(Ordering::Relaxed); // the caller owns dst
        let dst_head = dst.head.load(Ordering::Acquire); // synchronize with dst's consumers
        assert!(
            dst_tail.wrapping_sub(dst_head) <= SLOTS / 2,
            "runqsteal: runq overflow"
        );
        let n = self.grab(dst, dst_tail, steal_runnext);
        if n == 0 {
            return None;
        }
        let n = n - 1;
        let g = dst.occupied_slot(dst_tail.wrapping_add(n));
        if n > 0 {
            // Makes the stolen Gs available for consumption from dst.
            dst.tail.store(dst_tail.wrapping_add(n), Ordering::Release);
        }
        Some(g)
    }

    /// Copies a batch of Gs from this queue into `dst`'s ring, from index `dst_tail` on, without
    /// publishing them there (Go's `runqgrab`). Returns how many were taken.
    fn grab(&self, dst: &RunQueue<T>, dst_tail: u32, steal_runnext: bool) -> u32 {
        loop {
            let head = self.head.load(Ordering::Acquire); // synchronize with other consumers
            let tail = self.tail.load(Ordering::Acquire); // synchronize with the producer
            let n = tail.wrapping_sub(head);
            let n = n - n / 2;
            if n == 0 {
                if !steal_runnext {
                    return 0;
                }
                let Some(next) = NonNull::new(self.runnext.load(Ordering::Acquire)) else {
                    return 0;
                };
                if !self.take_runnext(next) {
                    continue;
                }
                dst.slot(dst_tail).store(next.as_ptr(), Ordering::Relaxed);
                return 1;
            }
            if n > SLOTS / 2 {
                continue; // read inconsistent head and tail
            }
            // The owner may be overwriting these slots right now if `head` has moved on; then the
            // CAS below fails and the copy is discarded (see "Why copy-then-CAS is sound here").
            // Until `dst.tail` moves, no consumer of `dst` trusts what we write there.
            for i in 0..n {
                let g = self.slot(head.wrapping_add(i)).load(Ordering::Relaxed);
                dst.slot(dst_tail.wrapping_add(i))
                    .store(g, Ordering::Relaxed);
            }
            if self.claim(head, head.wrapping_add(n), Ordering::Release) {
                return n; // the CAS commits the consume
            }
        }
    }

    /// Whether `runnext` holds a G. Any thread; a snapshot. A thief reads this before deciding to
    /// back off and then pass `steal_runnext` to [`RunQueue::steal_into`].
    pub(crate) fn has_runnext(&self) -> bool {
        !self.runnext.load(Ordering::Acquire).is_null()
    }

    /// Number of queued Gs, `runnext` included. Any thread; approximate while others change the
    /// queue.
    pub(crate) fn len(&self) -> usize {
        self.ring_len() + usize::from(self.has_runnext())
    }

    /// Number of Gs in the ring, `runnext` not included. Any thread; approximate while others
    /// change the queue (read by `Runtime::stats`).
    pub(crate) fn ring_len(&self) -> usize {
        let head = self.head.load(Ordering::Acquire);
        let tail = self.tail.load(Ordering::Acquire);
        tail.wrapping_sub(head).min(SLOTS) as usize
    }

    /// Whether the queue, `runnext` included, holds no G (Go's `runqempty`). Any thread.
    ///
    /// It never answers `true` because of this race, which Go's comment describes: G1 sits in
    /// `runnext` with `head == tail`; the owner pushes G2 with `next`, which kicks G1 to the ring;
    /// then the owner pops G2 from `runnext`. Seeing `head == tail` and then a null `runnext`
    /// would wrongly say empty, so the answer counts only if `tail` did not move meanwhile. A
    /// caller that needs this check ordered after its own earlier stores, as in the
    /// spinning-thread protocol, must issue a `SeqCst` fence first.
    #[doc(alias = "runqempty")]
    pub(crate) fn is_empty(&self) -> bool {
        loop {
            let head = self.head.load(Ordering::Acquire);
            let tail = self.tail.load(Ordering::Acquire);
            let runnext = self.runnext.load(Ordering::Acquire);
            if tail == self.tail.load(Ordering::Acquire) {
                return head == tail && runnext.is_null();
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::num::NonZeroUsize;
    use std::sync::atomic::{AtomicBool, AtomicUsize};
    use std::sync::Arc;
    use std::thread;

    /// A G stand-in: a never-dereferenced pointer whose address is `id` (ids start at 1).
    fn g(id: usize) -> NonNull<u64> {
        NonNull::dangling().with_addr(NonZeroUsize::new(id).unwrap())
    }

    fn id(g: NonNull<u64>) -> usize {
        g.addr().get()
    }

    fn ids(gs: &[NonNull<u64>]) -> Vec<usize> {
        gs.iter().map(|&g| id(g)).collect()
    }

    /// Pops everything, as `(id, inherit_time)`.
    fn pop_all(q: &RunQueue<u64>) -> Vec<(usize, bool)> {
        // SAFETY: the test thread owns `q`.
        std::iter::from_fn(|| unsafe { q.pop() }.map(|(g, inherit)| (id(g), inherit))).collect()
    }

    /// Pushes ids `range` to the ring; none may overflow.
    fn push_ring(q: &RunQueue<u64>, range: std::ops::RangeInclusive<usize>) {
        let mut overflow = Vec::new();
        for i in range {
            // SAFETY: the test thread owns `q`.
            assert!(!unsafe { q.push(g(i), false, &mut overflow) });
        }
    }

    #[test]
    fn ring_is_fifo_and_does_not_inherit_time() {
        let q = RunQueue::new();
        push_ring(&q, 1..=10);
        assert_eq!(q.len(), 10);
        let expected: Vec<_> = (1..=10).map(|i| (i, false)).collect();
        assert_eq!(pop_all(&q), expected);
        assert!(q.is_empty());
    }

    #[test]
    fn runnext_goes_first_and_kicks_its_occupant_to_the_tail() {
        let q = RunQueue::new();
        let mut overflow = Vec::new();
        push_ring(&q, 1..=1);
        // SAFETY: the test thread owns `q`.
        unsafe {
            assert!(!q.push(g(2), true, &mut overflow));
            assert!(!q.push(g(3), true, &mut overflow)); // kicks 2 behind 1
        }
        assert!(q.has_runnext());
        assert_eq!(q.len(), 3);
        assert_eq!(pop_all(&q), [(3, true), (1, false), (2, false)]);
        assert!(overflow.is_empty());
    }

    #[test]
    fn peek_shows_the_ring_head_behind_a_long_enough_queue_and_takes_nothing() {
        // SAFETY: the test thread owns `q`.
        let peek = |q: &RunQueue<u64>, min_len| unsafe { q.peek(min_len) }.map(id);
        let q = RunQueue::new();
        assert_eq!(peek(&q, 0), None);
        push_ring(&q, 1..=3);
        assert_eq!(peek(&q, 0), Some(1));
        assert_eq!(peek(&q, 3), Some(1));
        assert_eq!(peek(&q, 4), None);
        // runnext is not the ring: it neither shows nor counts.
        let mut overflow = Vec::new();
        // SAFETY: as above.
        assert!(!unsafe { q.push(g(9), true, &mut overflow) });
        assert_eq!(peek(&q, 4), None);
        assert_eq!(peek(&q, 1), Some(1));
        assert_eq!(q.len(), 4);
        assert_eq!(pop_all(&q), [(9, true), (1, false), (2, false), (3, false)]);
        assert_eq!(peek(&q, 0), None);
    }

    #[test]
    fn full_ring_overflows_its_older_half_then_the_new_g() {
        let q = RunQueue::new();
        push_ring(&q, 1..=CAPACITY);
        let mut overflow = Vec::new();
        // SAFETY: the test thread owns `q`.
        assert!(unsafe { q.push(g(CAPACITY + 1), false, &mut overflow) });
        let mut expected: Vec<_> = (1..=CAPACITY / 2).collect();
        expected.push(CAPACITY + 1);
        assert_eq!(ids(&overflow), expected);
        assert_eq!(q.len(), CAPACITY / 2);
        let rest: Vec<_> = (CAPACITY / 2 + 1..=CAPACITY).map(|i| (i, false)).collect();
        assert_eq!(pop_all(&q), rest);
    }

    #[test]
    fn full_ring_overflows_the_kicked_runnext() {
        let q = RunQueue::new();
        let mut overflow = Vec::new();
        push_ring(&q, 1..=CAPACITY);
        let (old, new) = (CAPACITY + 1, CAPACITY + 2);
        // SAFETY: the test thread owns `q`.
        unsafe {
            assert!(!q.push(g(old), true, &mut overflow));
            assert!(q.push(g(new), true, &mut overflow));
        }
        let mut expected: Vec<_> = (1..=CAPACITY / 2).collect();
        expected.push(old);
        assert_eq!(ids(&overflow), expected);
        assert_eq!(pop_all(&q)[0], (new, true));
    }

    #[test]
    fn counters_wrap_around_u32() {
        let q = RunQueue::new();
        q.head.store(u32::MAX - 2, Ordering::Relaxed);
        q.tail.store(u32::MAX - 2, Ordering::Relaxed);
        push_ring(&q, 1..=CAPACITY);
        assert_eq!(q.len(), CAPACITY);
        let dst = RunQueue::new();
        // SAFETY: the test thread owns both queues; `dst` is empty.
        let stolen = unsafe { q.steal_into(&dst, false) }.map(id);
        assert_eq!(stolen, Some(CAPACITY / 2));
        let rest: Vec<_> = (CAPACITY / 2 + 1..=CAPACITY).map(|i| (i, false)).collect();
        assert_eq!(pop_all(&q), rest);
    }

    #[test]
    fn steal_takes_the_older_half_rounded_up() {
        for queued in [1, 2, 7, 10, CAPACITY] {
            let victim = RunQueue::new();
            let thief = RunQueue::new();
            push_ring(&victim, 1..=queued);
            let taken = queued - queued / 2;
            // SAFETY: the test thread owns both queues; `thief` is empty.
            let stolen = unsafe { victim.steal_into(&thief, true) }.map(id);
            // The newest G taken is returned; the rest wait in the thief's ring, in order.
            assert_eq!(stolen, Some(taken));
            let in_thief: Vec<_> = (1..taken).map(|i| (i, false)).collect();
            assert_eq!(pop_all(&thief), in_thief);
            let left: Vec<_> = (taken + 1..=queued).map(|i| (i, false)).collect();
            assert_eq!(pop_all(&victim), left);
        }
    }

    #[test]
    fn steal_takes_runnext_only_from_an_empty_ring_and_when_asked() {
        let victim = RunQueue::new();
        let thief = RunQueue::new();
        let mut overflow = Vec::new();
        // SAFETY: the test thread owns both queues; `thief` is empty.
        unsafe {
            assert!(!victim.push(g(1), true, &mut overflow));
            assert_eq!(victim.steal_into(&thief, false), None);
            assert!(victim.has_runnext());
            assert_eq!(victim.steal_into(&thief, true).map(id), Some(1));
            assert!(victim.is_empty() && thief.is_empty());
            assert_eq!(victim.steal_into(&thief, true), None);

            push_ring(&victim, 2..=2);
            assert!(!victim.push(g(3), true, &mut overflow));
            assert_eq!(victim.steal_into(&thief, true).map(id), Some(2));
        }
        assert_eq!(pop_all(&victim), [(3, true)]);
    }

    #[test]
    fn drain_takes_runnext_then_the_ring_in_order() {
        let q = RunQueue::new();
        let mut out = vec![g(100)];
        push_ring(&q, 1..=5);
        // SAFETY: the test thread owns `q`.
        unsafe {
            assert!(!q.push(g(6), true, &mut Vec::new()));
            q.drain_into(&mut out);
        }
        assert_eq!(ids(&out), [100, 6, 1, 2, 3, 4, 5]);
        assert!(q.is_empty());
        assert_eq!(q.len(), 0);
    }

    /// One owner pushes (to the ring and to `runnext`) and pops, spilling overflow to its own list;
    /// two thieves steal into their own queues, with and without `runnext`, and pop them dry.
    /// Every G must come out exactly once.
    #[test]
    fn stress_owner_and_two_thieves_see_each_g_exactly_once() {
        const ITEMS: usize = if cfg!(miri) { 2_000 } else { 100_000 };
        let victim = Arc::new(RunQueue::<u64>::new());
        let done = Arc::new(AtomicBool::new(false));
        let started = Arc::new(AtomicUsize::new(0));

        let thieves: Vec<_> = (0..2)
            .map(|t| {
                let victim = Arc::clone(&victim);
                let done = Arc::clone(&done);
                let started = Arc::clone(&started);
                thread::spawn(move || {
                    started.fetch_add(1, Ordering::Release);
                    let own = RunQueue::new();
                    let mut seen = Vec::new();
                    let mut round = 0usize;
                    loop {
                        round += 1;
                        let steal_runnext = (round + t) % 3 == 0;
                        // SAFETY: this thread owns `own`, which it always pops dry before
                        // stealing again.
                        match unsafe { victim.steal_into(&own, steal_runnext) } {
                            Some(g) => {
                                seen.push(id(g));
                                seen.extend(pop_all(&own).into_iter().map(|(i, _)| i));
                            }
                            None if done.load(Ordering::Acquire) => return seen,
                            None => std::hint::spin_loop(),
                        }
                    }
                })
            })
            .collect();

        // Start pushing only once both thieves are running, so that they overlap the owner.
        while started.load(Ordering::Acquire) < 2 {
            std::hint::spin_loop();
        }
        let mut seen = Vec::new();
        let mut overflow = Vec::new();
        for i in 1..=ITEMS {
            // SAFETY: this thread owns `victim`.
            unsafe {
                victim.push(g(i), i % 5 == 0, &mut overflow);
                if i % 2 == 0 {
                    seen.extend(victim.pop().map(|(g, _)| id(g)));
                }
            }
            if i % 512 == 0 {
                // On a machine with fewer cores than threads, let the thieves in.
                thread::yield_now();
            }
        }
        seen.extend(pop_all(&victim).into_iter().map(|(i, _)| i));
        done.store(true, Ordering::Release);
        seen.extend(ids(&overflow));
        for thief in thieves {
            seen.extend(thief.join().unwrap());
        }

        seen.sort_unstable();
        assert_eq!(seen.len(), ITEMS, "some G was lost or seen twice");
        assert!(seen.iter().copied().eq(1..=ITEMS), "some G was seen twice");
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use ::loom::sync::Arc;
    use std::num::NonZeroUsize;

    /// Loom's preemption bound when `LOOM_MAX_PREEMPTIONS` does not set one. Unbounded, the
    /// two-thieves model runs for minutes; with 3 all four models take about a second in release
    /// mode (4: about 5 s, 5: about 25 s).
    const DEFAULT_PREEMPTION_BOUND: usize = 3;

    /// Runs `f` under every interleaving loom explores, within the preemption bound.
    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = ::loom::model::Builder::new();
        builder
            .preemption_bound
            .get_or_insert(DEFAULT_PREEMPTION_BOUND);
        builder.check(f);
    }

    fn g(id: usize) -> NonNull<u64> {
        NonNull::dangling().with_addr(NonZeroUsize::new(id).unwrap())
    }

    /// Pops `q` dry into `seen`.
    ///
    /// # Safety
    ///
    /// The calling thread owns `q`.
    unsafe fn pop_all(q: &RunQueue<u64>, seen: &mut Vec<usize>) {
        // SAFETY: the caller owns `q`.
        while let Some((g, _)) = unsafe { q.pop() } {
            seen.push(g.addr().get());
        }
    }

    /// Spawns a thief that steals once from `victim` into its own queue and pops that dry.
    fn spawn_thief(
        victim: &Arc<RunQueue<u64>>,
        steal_runnext: bool,
    ) -> ::loom::thread::JoinHandle<Vec<usize>> {
        let victim = Arc::clone(victim);
        ::loom::thread::spawn(move || {
            let own = RunQueue::new();
            let mut seen = Vec::new();
            // SAFETY: this thread owns `own`, which is empty.
            unsafe {
                if let Some(g) = victim.steal_into(&own, steal_runnext) {
                    seen.push(g.addr().get());
                }
                pop_all(&own, &mut seen);
            }
            seen
        })
    }

    fn assert_exactly_once(mut seen: Vec<usize>, ids: std::ops::RangeInclusive<usize>) {
        seen.sort_unstable();
        assert!(seen.iter().copied().eq(ids), "lost or duplicated: {seen:?}");
    }

    /// (a) The owner pushes 3 Gs and pops while one thief steals.
    #[test]
    fn push_pop_against_steal() {
        model(|| {
            let victim = Arc::new(RunQueue::new());
            let thief = spawn_thief(&victim, false);
            let mut seen = Vec::new();
            let mut overflow = Vec::new();
            // SAFETY: the model's main thread owns `victim`.
            unsafe {
                for i in 1..=3 {
                    assert!(!victim.push(g(i), false, &mut overflow));
                }
                pop_all(&victim, &mut seen);
            }
            seen.extend(thief.join().unwrap());
            assert_exactly_once(seen, 1..=3);
        });
    }

    /// (b) The owner pushes one G more than the ring holds, so that it overflows unless the thief
    /// got in first, and then drains the queue, while a thief steals. The steal can land between
    /// the owner's look at a full ring and its CAS, and take fewer Gs than the overflow would.
    #[test]
    fn overflow_against_steal() {
        model(|| {
            let victim = Arc::new(RunQueue::new());
            let thief = spawn_thief(&victim, false);
            let mut overflow = Vec::new();
            let mut rest = Vec::new();
            // SAFETY: the model's main thread owns `victim`.
            unsafe {
                for i in 1..=CAPACITY + 1 {
                    if victim.push(g(i), false, &mut overflow) {
                        assert_eq!(overflow.len(), CAPACITY / 2 + 1);
                    }
                }
                victim.drain_into(&mut rest);
            }
            let mut seen: Vec<_> = overflow
                .iter()
                .chain(&rest)
                .map(|g| g.addr().get())
                .collect();
            seen.extend(thief.join().unwrap());
            assert_exactly_once(seen, 1..=CAPACITY + 1);
        });
    }

    /// (c) The owner puts Gs in `runnext` (the second kicks the first to the ring) and pops, while
    /// a thief steals with `steal_runnext`.
    #[test]
    fn runnext_against_steal() {
        model(|| {
            let victim = Arc::new(RunQueue::new());
            let thief = spawn_thief(&victim, true);
            let mut seen = Vec::new();
            let mut overflow = Vec::new();
            // SAFETY: the model's main thread owns `victim`.
            unsafe {
                assert!(!victim.push(g(1), true, &mut overflow));
                assert!(!victim.push(g(2), true, &mut overflow));
                pop_all(&victim, &mut seen);
            }
            seen.extend(thief.join().unwrap());
            assert_exactly_once(seen, 1..=2);
        });
    }

    /// (d) Two thieves steal at once while the owner pushes one more G and pops. Their copies can
    /// overlap, and only one CAS of each overlap may win.
    #[test]
    fn two_thieves_against_owner() {
        model(|| {
            let victim = Arc::new(RunQueue::new());
            let mut overflow = Vec::new();
            // SAFETY: the model's main thread owns `victim`.
            unsafe {
                for i in 1..=3 {
                    assert!(!victim.push(g(i), false, &mut overflow));
                }
            }
            let thieves = [spawn_thief(&victim, true), spawn_thief(&victim, true)];
            let mut seen = Vec::new();
            // SAFETY: the model's main thread owns `victim`.
            unsafe {
                assert!(!victim.push(g(4), true, &mut overflow));
                pop_all(&victim, &mut seen);
            }
            for thief in thieves {
                seen.extend(thief.join().unwrap());
            }
            assert_exactly_once(seen, 1..=4);
        });
    }
}
