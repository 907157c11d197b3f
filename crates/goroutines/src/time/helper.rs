//! The timers of plain threads: one helper thread for all of them, sleeping until the earliest
//! (a plain thread has no runtime whose timer heaps could keep them).
//!
//! ```text
//!   arm (any plain thread):  lock; push (when, seq, arming, action); earliest now? notify
//!   helper thread:           lock; loop { pop every due entry: fire its arming (a try_send, or
//!                            start an after_func's function on a thread of its own); a ticker
//!                            still armed goes back in at when + period;
//!                            then wait until the earliest `when`, or for a push }
//! ```
//!
//! Invariants:
//! - An entry fires only through its arming (`Arming::fire`), so a timer stopped or reset
//!   meanwhile sends nothing; a stopped entry just waits in the heap until it is due, and the
//!   heap drops the stopped ones once they are more than half of over 64.
//! - Firing never blocks (a `try_send`, or a thread spawned for a function), so it runs under
//!   the heap's lock.
//! - The deadlock check counts the helper thread as accounted for (`HELPER_THREADS`) exactly
//!   while its heap is empty: a pending timer may still wake a goroutine. The count changes
//!   under the heap's lock, by the thread that makes the heap empty or not empty.
//!
//! Before, each plain-thread timer had a thread of its own that slept until it was due: a plain
//! thread running timed `select!`s in a loop started one thread per select.

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use super::arming::Arming;
use super::Action;
use crate::chan::TrySendError;
use crate::runtime::deadlock::HELPER_THREADS;

/// A far deadline for durations too long to add to `Instant::now()`.
const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

struct Entry {
    when: Instant,
    seq: u64,
    arming: Arc<Arming>,
    period: Option<Duration>,
    action: Action,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.when, self.seq) == (other.when, other.seq)
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    /// Reversed: `BinaryHeap` is a max-heap, the earliest (then the first armed) comes out first.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (other.when, other.seq).cmp(&(self.when, self.seq))
    }
}

#[derive(Default)]
struct Heap {
    entries: BinaryHeap<Entry>,
    seq: u64,
    /// The heap's length when its stopped entries were last counted.
    scanned_len: usize,
}

struct Helper {
    heap: Mutex<Heap>,
    pushed: Condvar,
}

fn lock(helper: &Helper) -> MutexGuard<'_, Heap> {
    // Every update leaves the heap consistent before anything that could panic.
    helper.heap.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The helper, started on first use (counted as accounted for while its heap is empty).
fn helper() -> &'static Helper {
    static HELPER: OnceLock<&'static Helper> = OnceLock::new();
    HELPER.get_or_init(|| {
        let helper: &'static Helper = Box::leak(Box::new(Helper {
            heap: Mutex::new(Heap::default()),
            pushed: Condvar::new(),
        }));
        HELPER_THREADS.fetch_add(1, Ordering::SeqCst);
        let spawned = std::thread::Builder::new()
            .name("goroutines-timer".into())
            .spawn(move || run(helper));
        if let Err(e) = spawned {
            crate::runtime::g::fatal(&format!("cannot start the timer thread: {e}"));
        }
        helper
    })
}

/// Arms `arming` to fire `action` after `first`, then every `period` if there is one.
pub(super) fn arm(arming: Arc<Arming>, first: Duration, period: Option<Duration>, action: Action) {
    let helper = helper();
    let mut heap = lock(helper);
    let when = Instant::now()
        .checked_add(first)
        .unwrap_or_else(|| Instant::now() + FAR);
    push(&mut heap, when, arming, period, action);
    drop(heap);
    helper.pushed.notify_one();
}

fn push(
    heap: &mut Heap,
    when: Instant,
    arming: Arc<Arming>,
    period: Option<Duration>,
    action: Action,
) {
    if heap.entries.is_empty() {
        // A pending timer: the helper is no longer accounted for.
        HELPER_THREADS.fetch_sub(1, Ordering::SeqCst);
    }
    heap.seq += 1;
    let seq = heap.seq;
    heap.entries.push(Entry {
        when,
        seq,
        arming,
        period,
        action,
    });
}

fn pop(heap: &mut Heap) -> Option<Entry> {
    let entry = heap.entries.pop()?;
    if heap.entries.is_empty() {
        HELPER_THREADS.fetch_add(1, Ordering::SeqCst);
    }
    Some(entry)
}

/// The helper thread: fires what is due, then sleeps until the next `when` or a push.
fn run(helper: &'static Helper) {
    let mut heap = lock(helper);
    loop {
        let now = Instant::now();
        while heap.entries.peek().is_some_and(|e| e.when <= now) {
            let Some(entry) = pop(&mut heap) else { break };
            let keep = entry
                .arming
                .fire(entry.period.is_some(), || match &entry.action {
                    Action::Send(tx) => {
                        !matches!(tx.try_send(Instant::now()), Err(TrySendError::Closed(_)))
                    }
                    Action::Call(f) => {
                        let f = f.clone();
                        let spawned = std::thread::Builder::new()
                            .name("goroutines-after-func".into())
                            .spawn(move || f());
                        spawned.is_ok()
                    }
                });
            if let (true, Some(period)) = (keep, entry.period) {
                let when = entry.when.checked_add(period).unwrap_or(now + FAR).max(now);
                push(&mut heap, when, entry.arming, entry.period, entry.action);
            }
        }
        drop_stopped(&mut heap);
        heap = match heap.entries.peek().map(|e| e.when) {
            None => helper
                .pushed
                .wait(heap)
                .unwrap_or_else(PoisonError::into_inner),
            Some(when) => {
                let left = when.saturating_duration_since(Instant::now());
                helper
                    .pushed
                    .wait_timeout(heap, left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
        };
    }
}

/// Drops the stopped entries once they are more than half of over 64 (counted only when the
/// heap has doubled since the last count, which keeps it O(1) per timer armed).
fn drop_stopped(heap: &mut Heap) {
    let len = heap.entries.len();
    if len <= 64 || len < 2 * heap.scanned_len {
        return;
    }
    let stopped = heap
        .entries
        .iter()
        .filter(|e| e.arming.is_stopped())
        .count();
    if stopped * 2 > len {
        heap.entries.retain(|e| !e.arming.is_stopped());
        if heap.entries.is_empty() {
            HELPER_THREADS.fetch_add(1, Ordering::SeqCst);
        }
    }
    heap.scanned_len = heap.entries.len();
}
