//! The public handles: `Task<T>` (asyncio's `Task`, awaitable for its outcome) and
//! `CurrentTask` (`asyncio.current_task()`'s answer), thin wrappers over a task's `TaskInner`
//! and its type-erased `TaskControl`.

use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::current::CURRENT_TASK;
use super::inner::TaskInner;
use super::{Coroutine, TaskControl};
use crate::base_events::EventLoop;
use crate::futures::{Error, Future};

/// asyncio's `Task`: a coroutine scheduled on the loop. Awaiting it gives its outcome.
pub struct Task<T>(Rc<TaskInner<T>>);

impl<T> Clone for Task<T> {
    fn clone(&self) -> Self {
        Task(self.0.clone())
    }
}

/// Tasks compare by identity, as Python's do: clones of one task are equal.
impl<T> PartialEq for Task<T> {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> Eq for Task<T> {}

impl<T: Clone + 'static> Task<T> {
    pub(crate) fn new(event_loop: EventLoop, id: u64, coroutine: Coroutine<T>) -> Self {
        Task(Rc::new(TaskInner::new(event_loop, id, coroutine)))
    }

    /// `Task.__eager_start`: the first step, now, with this task current (the previous current
    /// task, if any, is current again when it returns). The task must be in the loop's task
    /// table already (`_register_eager_task`); the step takes it out if it finishes the task.
    pub(crate) fn eager_start(&self) {
        self.0.clone().step();
    }

    /// The future the task completes.
    pub(crate) fn future(&self) -> Future<T> {
        Future::of(self.0.clone())
    }

    pub(crate) fn control(&self) -> Rc<dyn TaskControl> {
        self.0.clone()
    }

    /// Where the loop's task table keeps it (see [`mod@crate::all_tasks`]).
    pub(crate) fn set_slot(&self, slot: usize) {
        self.0.set_slot(slot);
    }

    /// `Task.cancel`: request cancellation; false when the task is already done.
    pub fn cancel(&self) -> bool {
        TaskControl::cancel(&*self.0)
    }

    /// `Task.cancelling`: cancellation requests not yet withdrawn with `uncancel`.
    pub fn cancelling(&self) -> u32 {
        self.0.cancelling()
    }

    /// `Task.uncancel`.
    pub fn uncancel(&self) -> u32 {
        self.0.uncancel()
    }

    /// `Task.done`.
    pub fn done(&self) -> bool {
        self.0.future.done()
    }

    /// `Task.get_name`: the name given (`create_task_named`, [`set_name`](Self::set_name)),
    /// or `Task-N`, numbered in creation order among the tasks of the process created without
    /// a name.
    pub fn get_name(&self) -> String {
        self.0.name()
    }

    /// `Task.set_name(value)`: the task is called `str(value)` from now on.
    pub fn set_name(&self, value: impl std::fmt::Display) {
        self.0.set_name(value.to_string());
    }

    /// `repr(task)`: `<Task pending name='Task-1' coro=<...>>` (see [`current_task`]'s
    /// [`CurrentTask::describe`]).
    pub fn describe(&self) -> String {
        TaskControl::describe(&*self.0)
    }

    /// `Task.cancelled`.
    pub fn cancelled(&self) -> bool {
        self.0.future.cancelled()
    }

    /// The outcome, or `None` while the task runs.
    pub fn result(&self) -> Option<Result<T, Error>> {
        self.0.future.result()
    }

    /// `Task.add_done_callback`.
    pub fn add_done_callback(&self, callback: impl FnOnce() + 'static) {
        self.0.future.add_done_callback(callback);
    }
}

impl<T: Clone + 'static> std::future::Future for Task<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let task = &self.0;
        task.future.poll_outcome(cx, || task.clone())
    }
}

/// `asyncio.current_task()`, as a handle on its cancellation state. Handles compare by
/// identity (`current_task() is task` in Python): two handles are equal when they name the same
/// task.
pub struct CurrentTask(Rc<dyn TaskControl>);

impl PartialEq for CurrentTask {
    fn eq(&self, other: &Self) -> bool {
        self.0.id() == other.0.id()
    }
}

impl Eq for CurrentTask {}

/// `current_task() is task`.
impl<T> PartialEq<Task<T>> for CurrentTask {
    fn eq(&self, other: &Task<T>) -> bool {
        self.0.id() == other.0.id
    }
}

impl CurrentTask {
    pub(crate) fn from_control(task: Rc<dyn TaskControl>) -> Self {
        CurrentTask(task)
    }

    /// `Task.get_name`.
    pub fn get_name(&self) -> String {
        self.0.name()
    }

    /// `Task.set_name(value)`: `str(value)`.
    pub fn set_name(&self, value: impl std::fmt::Display) {
        self.0.set_name(value.to_string());
    }

    /// `Task.done`.
    pub fn done(&self) -> bool {
        self.0.done()
    }

    /// `repr(task)` as CPython 3.12 prints it: `<Task pending name='Task-1' coro=<...>>`, the
    /// state `pending`, `cancelling`, `cancelled` or `finished`, and the coroutine's Rust type
    /// name where CPython prints `main() running at file:line`.
    pub fn describe(&self) -> String {
        self.0.describe()
    }

    /// `Task.cancel` on the current task.
    pub fn cancel(&self) -> bool {
        self.0.cancel()
    }

    /// `Task.cancelling`.
    pub fn cancelling(&self) -> u32 {
        self.0.cancelling()
    }

    /// `Task.uncancel`.
    pub fn uncancel(&self) -> u32 {
        self.0.uncancel()
    }
}

/// `asyncio.current_task()`: the task whose step is running, if any.
pub fn current_task() -> Option<CurrentTask> {
    CURRENT_TASK.with(|current| current.borrow().clone().map(CurrentTask))
}
