//! `tasks._current_tasks`: the task whose step is running on this thread, set for one step
//! (`_enter_task` / `_leave_task`), and what the awaitables ask of it (`take_cancel_throw`,
//! `await_future`).

use std::cell::RefCell;
use std::rc::{self, Rc};

use super::TaskControl;
use crate::futures::Cancellable;

thread_local! {
    /// `tasks._current_tasks` for this thread: the task whose step is running.
    pub(super) static CURRENT_TASK: RefCell<Option<Rc<dyn TaskControl>>> =
        const { RefCell::new(None) };
}

/// `_enter_task` / `_leave_task`: makes a task current for one step, and restores the previous
/// one when dropped, even if the step panics.
pub(super) struct EnterTask(Option<Rc<dyn TaskControl>>);

impl EnterTask {
    pub(super) fn new(task: Rc<dyn TaskControl>) -> Self {
        EnterTask(CURRENT_TASK.with(|current| current.replace(Some(task))))
    }
}

impl Drop for EnterTask {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT_TASK.with(|current| *current.borrow_mut() = previous);
    }
}

fn with_current<R>(f: impl FnOnce(&Rc<dyn TaskControl>) -> R) -> Option<R> {
    CURRENT_TASK.with(|current| current.borrow().as_ref().map(f))
}

/// The task whose step is running, if any.
pub(crate) fn current() -> Option<Rc<dyn TaskControl>> {
    with_current(Rc::clone)
}

pub(crate) fn take_cancel_throw() -> bool {
    with_current(|task| task.take_cancel_throw()).unwrap_or(false)
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
