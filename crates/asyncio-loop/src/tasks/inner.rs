//! `TaskInner`: one task's state, `Task.__step`, and cancellation. It is also the task's future
//! (`FutureCell`, with its `FutureCore` inline), its step's handle in the ready queue
//! (`ReadyHandle`), and, type-erased, the `TaskControl` the loop and the awaitables drive.

use std::cell::Cell;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::current::EnterTask;
use super::waker::StepWaker;
use super::{Coroutine, TaskControl};
use crate::base_events::EventLoop;
use crate::cells::put_back;
use crate::events::ReadyHandle;
use crate::futures::{Cancellable, Error, FutureCell, FutureCore};

/// The bit of `TaskInner::cancels_and_name_flag` set while the task has a custom name in its
/// loop's table ([`crate::task_names`]); the bits below count `_num_cancels_requested`.
///
/// A flag of its own (a ninth byte after the four `bool`s and the `u32`) would grow every task
/// by 8 bytes of padding; cancellation requests never come near 2^31, and only the cold
/// `cancel`/`cancelling`/`uncancel` read the count.
const HAS_CUSTOM_NAME: u32 = 1 << 31;

pub(super) struct TaskInner<T> {
    pub(super) id: u64,
    /// Its slot in the loop's task table ([`mod@crate::all_tasks`]).
    pub(super) slot: Cell<usize>,
    /// `std::any::type_name` of the coroutine, for `describe` (a function: 8 bytes, not 16).
    coroutine_name: fn() -> &'static str,
    /// The task's future (a `Task` is a `Future`), inline; the loop is its loop.
    pub(super) future: FutureCore<T>,
    /// `None` while a step polls it, and once the task is done.
    coroutine: Cell<Option<Coroutine<T>>>,
    must_cancel: Cell<bool>,
    cancel_throw: Cell<bool>,
    started: Cell<bool>,
    scheduled: Cell<bool>,
    /// `_num_cancels_requested` below [`HAS_CUSTOM_NAME`], and that flag.
    cancels_and_name_flag: Cell<u32>,
    fut_waiter: Cell<Option<Rc<dyn Cancellable>>>,
}

impl<T: Clone + 'static> TaskInner<T> {
    /// A task not yet started or scheduled, in no slot of the task table yet.
    pub(super) fn new(
        event_loop: EventLoop,
        id: u64,
        coroutine_name: fn() -> &'static str,
        coroutine: Coroutine<T>,
    ) -> Self {
        let future = FutureCore::new(&event_loop);
        TaskInner {
            id,
            slot: Cell::new(usize::MAX),
            coroutine_name,
            future,
            coroutine: Cell::new(Some(coroutine)),
            must_cancel: Cell::new(false),
            cancel_throw: Cell::new(false),
            started: Cell::new(false),
            scheduled: Cell::new(false),
            cancels_and_name_flag: Cell::new(0),
            fut_waiter: Cell::new(None),
        }
    }

    /// `Task.__step`.
    pub(super) fn step(self: Rc<Self>) {
        self.scheduled.set(false);
        if self.future.done() {
            return;
        }
        self.fut_waiter.take();
        if self.must_cancel.replace(false) {
            if !self.started.get() {
                drop(self.coroutine.take());
                self.finish(Err(Error::Cancelled));
                return;
            }
            self.cancel_throw.set(true);
        }
        self.started.set(true);
        let Some(mut coroutine) = self.coroutine.take() else {
            return;
        };
        let event_loop = self.future.event_loop();
        let step_waker = StepWaker::take(self.id, self.slot.get(), event_loop);
        let mut cx = Context::from_waker(&step_waker.waker);
        let poll = {
            let _entered = EnterTask::new(self.clone());
            coroutine.as_mut().poll(&mut cx)
        };
        step_waker.give_back(event_loop);
        self.cancel_throw.set(false);
        match poll {
            Poll::Pending => {
                put_back(&self.coroutine, Some(coroutine));
                if self.must_cancel.get() {
                    let waiter = self.fut_waiter();
                    if waiter.is_some_and(|waiter| waiter.cancel()) {
                        self.must_cancel.set(false);
                    }
                }
            }
            Poll::Ready(outcome) => self.finish(outcome),
        }
    }

    /// `_num_cancels_requested`.
    fn cancels_requested(&self) -> u32 {
        self.cancels_and_name_flag.get() & !HAS_CUSTOM_NAME
    }

    fn set_cancels_requested(&self, count: u32) {
        let flag = self.cancels_and_name_flag.get() & HAS_CUSTOM_NAME;
        self.cancels_and_name_flag
            .set(flag | (count & !HAS_CUSTOM_NAME));
    }

    fn has_custom_name(&self) -> bool {
        self.cancels_and_name_flag.get() & HAS_CUSTOM_NAME != 0
    }

    /// The future the task waits on (its `_fut_waiter`), if any.
    fn fut_waiter(&self) -> Option<Rc<dyn Cancellable>> {
        let waiter = self.fut_waiter.take();
        put_back(&self.fut_waiter, waiter.clone());
        waiter
    }

    fn finish(&self, outcome: Result<T, Error>) {
        self.future
            .event_loop()
            .task_finished(self.slot.get(), self.id);
        let must_cancel = self.must_cancel.replace(false);
        // The future cannot be done yet: only `finish` completes it.
        let _ = match outcome {
            Ok(value) if !must_cancel => self.future.complete(Ok(value)),
            Ok(_) | Err(Error::Cancelled) => self.future.complete(Err(Error::Cancelled)),
            Err(error) => self.future.complete(Err(error)),
        };
    }
}

impl<T: Clone + 'static> TaskControl for TaskInner<T> {
    fn id(&self) -> u64 {
        self.id
    }

    fn schedule_step(self: Rc<Self>) {
        if self.scheduled.get() || self.future.done() {
            return;
        }
        self.scheduled.set(true);
        // The task itself is its step's handle (see `crate::events`); on a closed loop it
        // never runs, as CPython's `call_soon` there raises.
        let event_loop = self.future.event_loop().clone();
        event_loop.push_ready(self);
    }

    fn take_cancel_throw(&self) -> bool {
        self.cancel_throw.replace(false)
    }

    fn set_fut_waiter(&self, waiter: Rc<dyn Cancellable>) {
        self.fut_waiter.set(Some(waiter));
    }

    fn clear_fut_waiter(&self) {
        drop(self.fut_waiter.take());
    }

    /// `Task.cancel`.
    fn cancel(&self) -> bool {
        if self.future.done() {
            return false;
        }
        self.set_cancels_requested(self.cancels_requested() + 1);
        let waiter = self.fut_waiter();
        if waiter.is_some_and(|waiter| waiter.cancel()) {
            return true;
        }
        self.must_cancel.set(true);
        true
    }

    fn done(&self) -> bool {
        self.future.done()
    }

    fn cancelled(&self) -> bool {
        self.future.cancelled()
    }

    fn exception(&self) -> Option<Error> {
        match self.future.result() {
            Some(Err(Error::Cancelled)) | Some(Ok(_)) | None => None,
            Some(Err(error)) => Some(error),
        }
    }

    fn add_done_callback(&self, callback: Box<dyn FnOnce()>) {
        self.future.add_done_callback(callback);
    }

    fn cancelling(&self) -> u32 {
        self.cancels_requested()
    }

    fn uncancel(&self) -> u32 {
        let count = self.cancels_requested().saturating_sub(1);
        self.set_cancels_requested(count);
        count
    }

    fn event_loop(&self) -> EventLoop {
        self.future.event_loop().clone()
    }

    fn name(&self) -> String {
        if self.has_custom_name() {
            if let Some(name) = self.future.event_loop().task_name(self.id) {
                return name;
            }
        }
        crate::task_names::default_name(self.id)
    }

    fn set_name(&self, name: String) {
        self.future.event_loop().set_task_name(self.id, name);
        self.cancels_and_name_flag
            .set(self.cancels_and_name_flag.get() | HAS_CUSTOM_NAME);
    }

    /// `base_tasks._task_repr`: `<Task pending name='Task-1' coro=<...>>`, its state
    /// `pending`, `cancelling` (a cancellation requested and not withdrawn), `cancelled` or
    /// `finished`, its name as `%r` prints a `str`, and the coroutine's Rust type name where
    /// CPython prints `main() running at file:line`. Left out: CPython's `wait_for=<Future
    /// ...>`, `cb=[...]`, `result=`/`exception=` (a Rust value has no `repr`) and `created
    /// at`.
    fn describe(&self) -> String {
        let state = if self.future.cancelled() {
            "cancelled"
        } else if self.future.done() {
            "finished"
        } else if self.cancels_requested() > 0 {
            "cancelling"
        } else {
            "pending"
        };
        format!(
            "<Task {state} name={} coro=<{}>>",
            crate::task_names::python_str_repr(&self.name()),
            (self.coroutine_name)()
        )
    }
}

/// The name leaves the loop's table with the task (see [`crate::task_names`]).
impl<T> Drop for TaskInner<T> {
    fn drop(&mut self) {
        if self.cancels_and_name_flag.get() & HAS_CUSTOM_NAME != 0 {
            self.future.event_loop().forget_task_name(self.id);
        }
    }
}

impl<T: Clone + 'static> FutureCell<T> for TaskInner<T> {
    fn core(&self) -> &FutureCore<T> {
        &self.future
    }

    fn as_cancellable(self: Rc<Self>) -> Rc<dyn Cancellable> {
        self
    }
}

impl<T> Cancellable for TaskInner<T> {
    /// Awaiting a task waits on its future; cancelling that wait cancels the future (as
    /// awaiting the task's future did when it was a separate object).
    fn cancel(&self) -> bool {
        self.future.cancel()
    }
}

impl<T: Clone + 'static> ReadyHandle for TaskInner<T> {
    /// `Task.__step`.
    fn run(self: Rc<Self>) {
        self.step();
    }

    /// A task's step handle is never handed out, so nothing cancels it (`Task.cancel` sets
    /// `must_cancel` instead).
    fn cancelled(&self) -> bool {
        false
    }

    fn describe(&self) -> String {
        TaskControl::describe(self)
    }

    fn trace_task(&self) -> u64 {
        self.id + 1
    }
}

#[cfg(test)]
mod tests {
    use super::TaskInner;
    use crate::EventLoop;

    /// Names cost a task nothing: no field for them (120 bytes before names existed).
    #[test]
    fn a_task_has_no_room_for_a_name() {
        assert_eq!(std::mem::size_of::<TaskInner<()>>(), 120);
    }

    /// Only custom names go in the loop's table (a default name is formatted when asked),
    /// and a custom name leaves the table with its task.
    #[test]
    fn a_dropped_task_takes_its_name_along() {
        let event_loop = EventLoop::new();
        let unnamed = event_loop.create_task(async { Ok(()) });
        let named = event_loop.create_task_named(async { Ok(()) }, "named");
        let renamed = event_loop.create_task(async { Ok(()) });
        assert_eq!(event_loop.custom_task_names(), 1);
        renamed.set_name("renamed");
        event_loop
            .run_until_complete(async { Ok(()) })
            .expect("runs");
        assert!(unnamed.get_name().starts_with("Task-"));
        assert_eq!(event_loop.custom_task_names(), 2);
        drop((named, renamed));
        assert_eq!(event_loop.custom_task_names(), 0);
    }
}
