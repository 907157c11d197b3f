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

/// `TaskInner::state`'s bits: four flags, and below them `_num_cancels_requested`.
///
/// ```text
///   bit 31          30            29         28           27 .. 0
///   [ custom name | must_cancel | started | scheduled | cancels requested ]
/// ```
///
/// One `u32` instead of four `bool`s and a count keeps a task at 104 bytes, so that its `Rc`
/// (120 bytes) takes a 128-byte malloc chunk instead of a 144-byte one: the sleepers
/// benchmark parks 100,000 tasks. Cancellation requests never come near 2^28.
///
/// `HAS_CUSTOM_NAME`: the task has a custom name in its loop's table ([`crate::task_names`]).
const HAS_CUSTOM_NAME: u32 = 1 << 31;
/// `_must_cancel`: cancel at the next step (no future to cancel when `cancel()` came).
const MUST_CANCEL: u32 = 1 << 30;
/// The first step has run (a task cancelled before it never runs its body).
const STARTED: u32 = 1 << 29;
/// A step is in the ready queue (at most one).
const SCHEDULED: u32 = 1 << 28;
/// `_num_cancels_requested`.
const CANCELS_REQUESTED: u32 = SCHEDULED - 1;

/// The task's coroutine, or, while a step polls it and once the task is done, only the
/// function that names its type (for `describe`). 16 bytes, as the `Option` of the coroutine
/// alone was: the name costs no field of its own.
enum CoroutineSlot<T> {
    Live(Coroutine<T>),
    Gone(fn() -> &'static str),
}

/// What `CoroutineSlot` names for the instant between taking the coroutine out and putting
/// its name in.
fn unnamed() -> &'static str {
    "?"
}

pub(super) struct TaskInner<T> {
    pub(super) id: u64,
    /// Its slot in the loop's task table ([`mod@crate::all_tasks`]); `u32::MAX` before it
    /// has one.
    slot: Cell<u32>,
    /// The flags and count drawn above [`HAS_CUSTOM_NAME`].
    state: Cell<u32>,
    /// The task's future (a `Task` is a `Future`), inline; the loop is its loop.
    pub(super) future: FutureCore<T>,
    coroutine: Cell<CoroutineSlot<T>>,
    fut_waiter: Cell<Option<Rc<dyn Cancellable>>>,
}

impl<T: Clone + 'static> TaskInner<T> {
    /// A task not yet started or scheduled, in no slot of the task table yet.
    pub(super) fn new(event_loop: EventLoop, id: u64, coroutine: Coroutine<T>) -> Self {
        let future = FutureCore::new(&event_loop);
        TaskInner {
            id,
            slot: Cell::new(u32::MAX),
            state: Cell::new(0),
            future,
            coroutine: Cell::new(CoroutineSlot::Live(coroutine)),
            fut_waiter: Cell::new(None),
        }
    }

    /// `Task.__step`.
    pub(super) fn step(self: Rc<Self>) {
        self.set_flag(SCHEDULED, false);
        if self.future.done() {
            return;
        }
        self.fut_waiter.take();
        let cancel_throw = self.flag(MUST_CANCEL);
        if cancel_throw {
            self.set_flag(MUST_CANCEL, false);
            if !self.flag(STARTED) {
                drop(self.take_coroutine());
                self.finish(Err(Error::Cancelled));
                return;
            }
        }
        self.set_flag(STARTED, true);
        let Some(mut coroutine) = self.take_coroutine() else {
            return;
        };
        let event_loop = self.future.event_loop();
        let step_waker = StepWaker::take(self.id, self.slot(), event_loop);
        let mut cx = Context::from_waker(&step_waker.waker);
        let poll = {
            let _entered = EnterTask::new(self.clone(), cancel_throw);
            coroutine.as_mut().poll(&mut cx)
        };
        step_waker.give_back(event_loop);
        match poll {
            Poll::Pending => {
                // What `take_coroutine` left there is a name: nothing to drop.
                std::mem::forget(self.coroutine.replace(CoroutineSlot::Live(coroutine)));
                if self.flag(MUST_CANCEL) {
                    let waiter = self.fut_waiter();
                    if waiter.is_some_and(|waiter| waiter.cancel()) {
                        self.set_flag(MUST_CANCEL, false);
                    }
                }
            }
            Poll::Ready(outcome) => self.finish(outcome),
        }
    }

    /// The coroutine, out of its slot, which keeps its name; `None` if it is gone already.
    fn take_coroutine(&self) -> Option<Coroutine<T>> {
        match self.coroutine.replace(CoroutineSlot::Gone(unnamed)) {
            CoroutineSlot::Live(coroutine) => {
                std::mem::forget(
                    self.coroutine
                        .replace(CoroutineSlot::Gone(coroutine.type_name())),
                );
                Some(coroutine)
            }
            gone => {
                std::mem::forget(self.coroutine.replace(gone));
                None
            }
        }
    }

    /// `std::any::type_name` of the coroutine, alive or gone.
    fn coroutine_name(&self) -> &'static str {
        let slot = self.coroutine.replace(CoroutineSlot::Gone(unnamed));
        let name = match &slot {
            CoroutineSlot::Live(coroutine) => coroutine.type_name(),
            CoroutineSlot::Gone(name) => *name,
        };
        std::mem::forget(self.coroutine.replace(slot));
        name()
    }

    fn slot(&self) -> usize {
        self.slot.get() as usize
    }

    /// Its slot in the task table (a table of 2^32 tasks would take 512 GiB).
    pub(super) fn set_slot(&self, slot: usize) {
        self.slot.set(u32::try_from(slot).unwrap_or(u32::MAX));
    }

    /// `_num_cancels_requested`.
    fn cancels_requested(&self) -> u32 {
        self.state.get() & CANCELS_REQUESTED
    }

    fn set_cancels_requested(&self, count: u32) {
        let flags = self.state.get() & !CANCELS_REQUESTED;
        self.state.set(flags | (count & CANCELS_REQUESTED));
    }

    /// The future the task waits on (its `_fut_waiter`), if any.
    fn fut_waiter(&self) -> Option<Rc<dyn Cancellable>> {
        let waiter = self.fut_waiter.take();
        put_back(&self.fut_waiter, waiter.clone());
        waiter
    }

    fn finish(&self, outcome: Result<T, Error>) {
        self.future.event_loop().task_finished(self.slot(), self.id);
        let must_cancel = self.flag(MUST_CANCEL);
        self.set_flag(MUST_CANCEL, false);
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
        if self.flag(SCHEDULED) || self.future.done() {
            return;
        }
        self.set_flag(SCHEDULED, true);
        // The task itself is its step's handle (see `crate::events`); on a closed loop it
        // never runs, as CPython's `call_soon` there raises.
        let event_loop = self.future.event_loop().clone();
        event_loop.push_ready(self);
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
        self.set_flag(MUST_CANCEL, true);
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
        if self.flag(HAS_CUSTOM_NAME) {
            if let Some(name) = self.future.event_loop().task_name(self.id) {
                return name;
            }
        }
        crate::task_names::default_name(self.id)
    }

    fn set_name(&self, name: String) {
        self.future.event_loop().set_task_name(self.id, name);
        self.set_flag(HAS_CUSTOM_NAME, true);
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
            self.coroutine_name()
        )
    }
}

impl<T> TaskInner<T> {
    fn flag(&self, bit: u32) -> bool {
        self.state.get() & bit != 0
    }

    fn set_flag(&self, bit: u32, on: bool) {
        let state = self.state.get();
        self.state.set(if on { state | bit } else { state & !bit });
    }
}

/// The name leaves the loop's table with the task (see [`crate::task_names`]).
impl<T> Drop for TaskInner<T> {
    fn drop(&mut self) {
        if self.state.get() & HAS_CUSTOM_NAME != 0 {
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

    /// Names cost a task nothing: no field for them, nor for its coroutine's type name; 104
    /// bytes, so that its `Rc` fits a 128-byte malloc chunk (120 bytes and a 144-byte chunk
    /// before session 9).
    #[test]
    fn a_task_has_no_room_for_a_name() {
        assert_eq!(std::mem::size_of::<TaskInner<()>>(), 104);
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
