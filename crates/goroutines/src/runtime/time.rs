//! Timers: a heap per P, run by the scheduler, and the one thread that sleeps until the earliest
//! of them (after Go's `runtime/time.go` and the timer half of `netpoll`).
//!
//! Invariants:
//! - `Timers::next` is the earliest `when` in the heap, or `u64::MAX`; it is written under the heap
//!   lock and read without it, so a reader may see a stale value but the scheduler always
//!   re-checks after taking the lock.
//! - A timer's action runs on an M, outside every heap lock, and never blocks: it readies a
//!   goroutine or does a non-blocking send.
//! - When every M is idle and a timer is pending, exactly one M blocks in the network poller
//!   (`NetPoll::block_until`) until the earliest `when`; adding an earlier timer wakes it (Go's
//!   `netpollBreak`), so it blocks again with the new deadline.
//!
//! Cancelled timers (a select whose timeout did not fire, a stopped ticker) stay in the heap
//! until they are due and are then dropped without running; a heap where more than half of over
//! 64 entries are cancelled is rebuilt.

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Duration;

use super::g::{current_g, gopark, goready, GRef, WaitReason};
use super::proc::current_m;
use crate::loom::{AtomicBool, AtomicU64, AtomicUsize, Mutex, Ordering};

/// What a timer does when it fires.
pub(crate) enum TimerAction {
    /// Ready a goroutine parked in `sleep`.
    Ready(GRef),
    /// Call a function; if it returns `Some(when)`, the timer is re-armed for `when`.
    Func(Arc<TimerFunc>),
}

/// A cancellable timer function (for `after`, `tick` and select timeouts).
pub(crate) struct TimerFunc {
    cancelled: AtomicBool,
    f: Box<dyn Fn(u64) -> Option<u64> + Send + Sync>,
}

impl TimerFunc {
    pub(crate) fn new(f: impl Fn(u64) -> Option<u64> + Send + Sync + 'static) -> Arc<TimerFunc> {
        Arc::new(TimerFunc {
            cancelled: AtomicBool::new(false),
            f: Box::new(f),
        })
    }

    /// Stops the timer; it will not run again.
    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
}

/// A timer heap's entry: `item`, due at `when`, then in the order entries were pushed (`seq`).
/// `BinaryHeap` pops the earliest first. Shared with the plain threads' timer heap
/// (`time/helper.rs`), whose clock is an `Instant`.
pub(crate) struct Due<W, T> {
    pub(crate) when: W,
    pub(crate) seq: u64,
    pub(crate) item: T,
}

impl<W: Ord, T> PartialEq for Due<W, T> {
    fn eq(&self, other: &Self) -> bool {
        (&self.when, self.seq) == (&other.when, other.seq)
    }
}
impl<W: Ord, T> Eq for Due<W, T> {}
impl<W: Ord, T> PartialOrd for Due<W, T> {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl<W: Ord, T> Ord for Due<W, T> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (&other.when, other.seq).cmp(&(&self.when, self.seq))
    }
}

/// Drops the cancelled entries of `heap` when they are more than half of over 64. Counting them
/// is O(n), so it is done only when the heap has doubled since the last count (`scanned_len`,
/// which this returns updated): O(1) per entry pushed.
pub(crate) fn purge_cancelled<W: Ord, T>(
    heap: &mut BinaryHeap<Due<W, T>>,
    scanned_len: usize,
    cancelled: impl Fn(&T) -> bool,
) -> usize {
    if heap.len() <= 64 || heap.len() < 2 * scanned_len {
        return scanned_len;
    }
    let count = heap.iter().filter(|e| cancelled(&e.item)).count();
    if count * 2 > heap.len() {
        heap.retain(|e| !cancelled(&e.item));
    }
    heap.len()
}

impl TimerAction {
    fn cancelled(&self) -> bool {
        matches!(self, TimerAction::Func(f) if f.is_cancelled())
    }
}

/// One P's timers.
pub(crate) struct Timers {
    heap: Mutex<BinaryHeap<Due<u64, TimerAction>>>,
    next: AtomicU64,
    seq: AtomicU64,
    len: AtomicUsize,
    /// Heap size at the last count of cancelled entries (written under the heap lock).
    scanned_len: AtomicUsize,
}

// SAFETY: entries hold GRefs, pointers to Sync Gs that live until process exit.
unsafe impl Send for Timers {}
// SAFETY: as above; the heap is behind a mutex.
unsafe impl Sync for Timers {}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            heap: Mutex::new(BinaryHeap::new()),
            next: AtomicU64::new(u64::MAX),
            seq: AtomicU64::new(0),
            len: AtomicUsize::new(0),
            scanned_len: AtomicUsize::new(0),
        }
    }

    /// The earliest pending `when`, or `u64::MAX`.
    pub(crate) fn next_when(&self) -> u64 {
        self.next.load(Ordering::Acquire)
    }

    /// Pending timers, cancelled ones included.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Adds a timer; returns true when it is now the earliest.
    pub(crate) fn add(&self, when: u64, action: TimerAction) -> bool {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let mut heap = self.heap.lock().unwrap_or_else(|e| e.into_inner());
        heap.push(Due {
            when,
            seq,
            item: action,
        });
        self.len.store(heap.len(), Ordering::Relaxed);
        let earliest = when < self.next.load(Ordering::Relaxed);
        if earliest {
            self.next.store(when, Ordering::Release);
        }
        earliest
    }

    /// Runs every timer due at `now`; returns how many ran.
    pub(crate) fn run_due(&self, now: u64) -> usize {
        if self.next.load(Ordering::Acquire) > now {
            return 0;
        }
        let mut due = Vec::new();
        {
            let mut heap = self.heap.lock().unwrap_or_else(|e| e.into_inner());
            while heap.peek().is_some_and(|e| e.when <= now) {
                if let Some(e) = heap.pop() {
                    due.push(e);
                }
            }
            let scanned = self.scanned_len.load(Ordering::Relaxed);
            let scanned = purge_cancelled(&mut heap, scanned, TimerAction::cancelled);
            self.scanned_len.store(scanned, Ordering::Relaxed);
            self.len.store(heap.len(), Ordering::Relaxed);
            self.next
                .store(heap.peek().map_or(u64::MAX, |e| e.when), Ordering::Release);
        }
        let mut ran = 0;
        for e in due {
            match e.item {
                TimerAction::Ready(g) => {
                    goready(g);
                    ran += 1;
                }
                TimerAction::Func(f) => {
                    if f.is_cancelled() {
                        continue;
                    }
                    ran += 1;
                    if let Some(when) = (f.f)(now) {
                        self.add(when, TimerAction::Func(f));
                    }
                }
            }
        }
        ran
    }
}

/// Arms a timer on the caller's P, held (in the runtime) while the timer goes in: its M will run
/// the timer or hand the P on with it (`handoffp` looks at timers).
///
/// A goroutine that hogged its P may have lost it to sysmon and go on without one (`sysmon.rs`);
/// its timer goes to P 0, which may be idle while every thread parks, none of them watching
/// P 0's timers: a goroutine that slept after losing its P slept for good. So a P-less caller
/// also wakes a thread (Go's `wakeNetPoller` does when no thread waits in the poller), which
/// runs the timer when due, or blocks in the poller until then.
pub(crate) fn add_timer(when: u64, action: TimerAction) {
    let Some(m) = current_m() else {
        super::g::fatal("timer armed outside a scheduler thread")
    };
    let sched = m.sched;
    let mut action = Some(action);
    let mut add_to = |p: &Timers| action.take().is_some_and(|a| p.add(when, a));
    let earliest = match sched.with_own_p(|p| add_to(&p.timers)) {
        Some(earliest) => earliest,
        None => {
            let earliest = add_to(&sched.ps[0].timers);
            sched.wakep();
            earliest
        }
    };
    if earliest {
        sched.netpoll.wake_if_later(when);
    }
}

/// `sleep` on a goroutine: parks until a timer readies it.
pub(crate) fn sleep_goroutine(d: Duration) {
    if d.is_zero() {
        return;
    }
    debug_assert!(current_g().is_some());
    let when = probe::clock::now_ns().saturating_add(d.as_nanos().min(u64::MAX as u128) as u64);
    gopark(WaitReason::Sleep, move |g| {
        add_timer(when, TimerAction::Ready(g));
        true
    });
}
