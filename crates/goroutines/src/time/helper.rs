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

use std::collections::BinaryHeap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use super::arming::Arming;
use super::Action;
use crate::runtime::deadlock::HELPER_THREADS;
use crate::runtime::time::{purge_cancelled, Due};

/// A far deadline for durations too long to add to `Instant::now()`.
const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// A plain-thread timer in the helper's heap.
struct Pending {
    arming: Arc<Arming>,
    period: Option<Duration>,
    action: Action,
}

type Entry = Due<Instant, Pending>;

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
    heap.entries.push(Due {
        when,
        seq,
        item: Pending {
            arming,
            period,
            action,
        },
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
            let Some(Due { when, item, .. }) = pop(&mut heap) else {
                break;
            };
            let keep = item.arming.fire(item.period.is_some(), || {
                item.action.deliver(|f| {
                    std::thread::Builder::new()
                        .name("goroutines-after-func".into())
                        .spawn(move || f())
                        .is_ok()
                })
            });
            if let (true, Some(period)) = (keep, item.period) {
                let when = when.checked_add(period).unwrap_or(now + FAR).max(now);
                push(&mut heap, when, item.arming, item.period, item.action);
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

/// Drops the stopped entries once they are most of a big heap (the runtime heaps' rule).
fn drop_stopped(heap: &mut Heap) {
    let was_empty = heap.entries.is_empty();
    heap.scanned_len = purge_cancelled(&mut heap.entries, heap.scanned_len, |pending| {
        pending.arming.is_stopped()
    });
    if !was_empty && heap.entries.is_empty() {
        HELPER_THREADS.fetch_add(1, Ordering::SeqCst);
    }
}
