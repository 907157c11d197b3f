//! The wakers a step hands its futures: `TaskWaker` schedules the task's next step from any
//! thread, and `StepWaker` keeps one per thread for the next step while no future kept a clone,
//! so that a step costs no allocation for its waker.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Wake, Waker};
use std::thread::{self, ThreadId};

use crate::base_events::EventLoop;
use crate::wakeup::{ThreadsafeLoop, Wakeup};

/// The waker a task hands to foreign futures: it schedules the task's next step with
/// `call_soon`, as `Task.__wakeup` does, on the loop's thread directly and from any other thread
/// through the loop's `call_soon_threadsafe`. It finds the task by its slot in the loop's task
/// table, and only while that slot still holds it.
pub(crate) struct TaskWaker {
    task_id: AtomicU64,
    slot: AtomicUsize,
    thread: ThreadId,
    /// The loop's self-pipe, for wakes from other threads; weak, so that a waker kept after
    /// the loop is gone wakes nothing.
    wakeup: Weak<Wakeup>,
}

impl TaskWaker {
    /// The task it wakes: its slot in the loop's task table, and its id.
    pub(crate) fn task(&self) -> (usize, u64) {
        (
            self.slot.load(Ordering::Relaxed),
            self.task_id.load(Ordering::Relaxed),
        )
    }
}

/// A step's waker with the `Arc` behind it. A step whose futures kept no clone of its waker
/// gives it back, and the next step on the thread re-addresses it to its own task: a step costs
/// neither an allocation nor a reference count for its waker.
pub(super) struct StepWaker {
    address: Arc<TaskWaker>,
    pub(super) waker: Waker,
}

thread_local! {
    /// The waker of the last step on this thread, when nothing else holds it.
    static SPARE_WAKER: Cell<Option<StepWaker>> = const { Cell::new(None) };
}

impl StepWaker {
    /// A waker for task `task_id` in `slot` of `event_loop`: the spare one re-addressed, or a
    /// new one. The spare is always `event_loop`'s: one loop runs on a thread at a time, and a
    /// loop that starts drops the spare of the one before ([`forget_spare_waker`]).
    pub(super) fn take(task_id: u64, slot: usize, event_loop: &EventLoop) -> StepWaker {
        let step = SPARE_WAKER.take().unwrap_or_else(|| {
            let address = Arc::new(TaskWaker {
                task_id: AtomicU64::new(task_id),
                slot: AtomicUsize::new(slot),
                thread: thread::current().id(),
                wakeup: Arc::downgrade(event_loop.wakeup()),
            });
            let waker = Waker::from(address.clone());
            StepWaker { address, waker }
        });
        // Only `step` and its own waker hold `address` (see `give_back`): no one else sees
        // it change.
        step.address.task_id.store(task_id, Ordering::Relaxed);
        step.address.slot.store(slot, Ordering::Relaxed);
        step
    }

    /// Keeps the waker for the next step unless a future kept a clone (which must go on
    /// waking this task, and is lent to the loop's count of what could still wake it).
    pub(super) fn give_back(self, event_loop: &EventLoop) {
        if Arc::strong_count(&self.address) == 2 {
            SPARE_WAKER.set(Some(self));
        } else {
            event_loop.lend_waker(&self.address);
        }
    }
}

/// Drops this thread's spare step waker: a loop that starts running calls it, so that no step
/// of its gets a waker made for another loop.
pub(crate) fn forget_spare_waker() {
    drop(SPARE_WAKER.take());
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let (slot, id) = self.task();
        if thread::current().id() == self.thread {
            if let Some(event_loop) = EventLoop::running() {
                event_loop.wake_task_in_slot(slot, id);
            }
            return;
        }
        // Another thread: the wake-up travels as a threadsafe callback (a closed or dropped
        // loop has nothing left to wake).
        if let Some(wakeup) = self.wakeup.upgrade() {
            let _ = ThreadsafeLoop(wakeup).call_soon_threadsafe(move || {
                if let Some(event_loop) = EventLoop::running() {
                    event_loop.wake_task_in_slot(slot, id);
                }
            });
        }
    }
}
