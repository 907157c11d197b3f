//! `tasks._current_tasks`: the task whose step is running on this thread, set for one step
//! (`_enter_task` / `_leave_task`), and what the awaitables ask of it (`take_cancel_throw`,
//! `await_future`).
//!
//! Whether the running step must throw `CancelledError` into its coroutine is a flag of the
//! thread, not of the task: it means something only while the step runs, and every awaitable
//! reads it on every poll, so it is one thread-local `Cell` rather than a borrow of
//! `CURRENT_TASK` and a call through the task's vtable. [`EnterTask`] sets it with the current
//! task and restores both (an eager task's first step runs inside another task's step).

use std::cell::{Cell, RefCell};
use std::rc::{self, Rc};

use super::TaskControl;
use crate::futures::Cancellable;

thread_local! {
    /// `tasks._current_tasks` for this thread: the task whose step is running.
    pub(super) static CURRENT_TASK: RefCell<Option<Rc<dyn TaskControl>>> =
        const { RefCell::new(None) };

    /// The current task's `coro.throw(CancelledError)` is pending: the first awaitable polled
    /// takes it ([`take_cancel_throw`]). False while no step runs.
    static CANCEL_THROW: Cell<bool> = const { Cell::new(false) };
}

/// `_enter_task` / `_leave_task`: makes a task current for one step, and restores the previous
/// one (and its pending throw) when dropped, even if the step panics.
pub(super) struct EnterTask {
    previous: Option<Rc<dyn TaskControl>>,
    previous_cancel_throw: bool,
}

impl EnterTask {
    /// `task` is current; with `cancel_throw`, the first awaitable its step polls gives
    /// `Error::Cancelled`.
    pub(super) fn new(task: Rc<dyn TaskControl>, cancel_throw: bool) -> Self {
        EnterTask {
            previous: CURRENT_TASK.with(|current| current.replace(Some(task))),
            previous_cancel_throw: CANCEL_THROW.replace(cancel_throw),
        }
    }
}

impl Drop for EnterTask {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT_TASK.with(|current| *current.borrow_mut() = previous);
        CANCEL_THROW.set(self.previous_cancel_throw);
    }
}

fn with_current<R>(f: impl FnOnce(&Rc<dyn TaskControl>) -> R) -> Option<R> {
    CURRENT_TASK.with(|current| current.borrow().as_ref().map(f))
}

/// The task whose step is running, if any.
pub(crate) fn current() -> Option<Rc<dyn TaskControl>> {
    with_current(Rc::clone)
}

/// Whether the running step must throw `CancelledError` here (once: it is taken).
#[inline]
pub(crate) fn take_cancel_throw() -> bool {
    CANCEL_THROW.replace(false)
}

pub(crate) fn current_task_id() -> Option<u64> {
    with_current(|task| task.id())
}

pub(crate) fn set_fut_waiter(waiter: Rc<dyn Cancellable>) {
    with_current(|task| task.set_fut_waiter(waiter));
}

/// The current task awaits `waiter`: it becomes the task's `_fut_waiter`, and the task comes
/// back (weakly: the loop's task table owns it) for the future's wake-up callback.
pub(crate) fn await_future(waiter: Rc<dyn Cancellable>) -> Option<rc::Weak<dyn TaskControl>> {
    with_current(|task| {
        task.set_fut_waiter(waiter);
        Rc::downgrade(task)
    })
}
