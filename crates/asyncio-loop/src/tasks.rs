//! Tasks, after CPython's `Lib/asyncio/tasks.py`: a Rust future driven one poll per step, with
//! `sleep`, `wait_for` and `current_task` (`gather` lives in its own module).
//!
//! A task wraps a coroutine (here a `Future<Output = Result<T, Error>>`). `Task.__step` becomes
//! one `poll`, and it runs as a `call_soon` handle, except the first step of an eager task
//! (3.12's `eager_start`), which runs inside `create_task` (`Task.__eager_start`):
//!
//! ```text
//!   create_task ──call_soon──► step ──poll──► Ready ──► set_result / set_exception / cancel
//!   (eager: step now) ─────────┘
//!                               ▲       │
//!                               │       └──► Pending on a Future: the future is `fut_waiter`,
//!                               │            the task's wake-up is its done-callback
//!                               │
//!        call_soon(step) ◄── wake: a done-callback of `fut_waiter`, `sleep(0)`, or a Waker
//! ```
//!
//! Cancellation (`Task.cancel`): when the task waits on a future, that future is cancelled and the
//! task wakes to find [`Error::Cancelled`] at its await. Otherwise `must_cancel` is set; the next
//! step of a task that never ran drops its body unrun, and the next step of a started task makes
//! the first awaitable it polls return `Error::Cancelled` (CPython's `coro.throw(CancelledError)`
//! at the current await). A coroutine that returns `Err(Error::Cancelled)` leaves its task
//! cancelled.
//!
//! Layout: a task is one `Rc<TaskInner<T>>` that is also its future (the `FutureCore` is a
//! field, as CPython's `Task` subclasses `Future`) and its step's handle in the ready queue (see
//! [`crate::events`]), so `create_task` allocates the task and the boxed coroutine, and a step
//! allocates nothing (its waker is reused while no future keeps a clone: `StepWaker`).
//!
//! Invariants:
//! - a task has at most one step in the ready queue (`scheduled`);
//! - `fut_waiter` is set only while the task is suspended on one of this crate's futures;
//! - the loop's task table holds a task from `create_task` until its future is done.
//!
//! Wakers of foreign futures wake their task from any thread: on the loop's thread directly, from
//! another through `call_soon_threadsafe` (as `asyncio.wrap_future` completes a
//! `concurrent.futures.Future` from its thread). A step whose future kept a clone of its waker
//! lends that waker to the loop's count of what could still wake it (see
//! [`EventLoop::lend_waker`]), so the loop waits for such a wake-up instead of stopping as if
//! nothing could come.

use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::rc::{self, Rc};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, ThreadId};

use crate::base_events::EventLoop;
use crate::cells::put_back;
use crate::events::ReadyHandle;
use crate::futures::{Cancellable, Error, Future, FutureCell, FutureCore};
use crate::wakeup::{ThreadsafeLoop, Wakeup};

type Coroutine<T> = Pin<Box<dyn std::future::Future<Output = Result<T, Error>>>>;

thread_local! {
    /// `tasks._current_tasks` for this thread: the task whose step is running.
    static CURRENT_TASK: RefCell<Option<Rc<dyn TaskControl>>> = const { RefCell::new(None) };
}

/// `_enter_task` / `_leave_task`: makes a task current for one step, and restores the previous
/// one when dropped, even if the step panics.
struct EnterTask(Option<Rc<dyn TaskControl>>);

impl EnterTask {
    fn new(task: Rc<dyn TaskControl>) -> Self {
        EnterTask(CURRENT_TASK.with(|current| current.replace(Some(task))))
    }
}

impl Drop for EnterTask {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT_TASK.with(|current| *current.borrow_mut() = previous);
    }
}

/// The type-erased side of a task that the loop and the awaitables drive.
pub(crate) trait TaskControl {
    fn id(&self) -> u64;
    /// Put one step in the ready queue unless one is there already or the task is done.
    fn schedule_step(self: Rc<Self>);
    /// The first awaitable polled in this step must return `Error::Cancelled`.
    fn take_cancel_throw(&self) -> bool;
    fn set_fut_waiter(&self, waiter: Rc<dyn Cancellable>);
    /// Forget `_fut_waiter` (the loop closes): a task awaiting another holds it strongly, and
    /// two pending tasks awaiting each other would otherwise never be freed.
    fn clear_fut_waiter(&self);
    fn cancel(&self) -> bool;
    fn done(&self) -> bool;
    /// `Task.cancelled()`.
    fn cancelled(&self) -> bool;
    /// `Task.exception()` of a done task: its error unless it was cancelled.
    fn exception(&self) -> Option<Error>;
    fn add_done_callback(&self, callback: Box<dyn FnOnce()>);
    fn cancelling(&self) -> u32;
    fn uncancel(&self) -> u32;
    fn event_loop(&self) -> EventLoop;
    /// `Task.get_name`.
    fn name(&self) -> String;
    /// `Task.set_name` (with `str(value)` done).
    fn set_name(&self, name: String);
    /// `repr(task)`, for debug mode's reports.
    fn describe(&self) -> String;
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

/// The bit of `TaskInner::cancels_and_name_flag` set while the task has a custom name in its
/// loop's table ([`crate::task_names`]); the bits below count `_num_cancels_requested`.
///
/// A flag of its own (a ninth byte after the four `bool`s and the `u32`) would grow every task
/// by 8 bytes of padding; cancellation requests never come near 2^31, and only the cold
/// `cancel`/`cancelling`/`uncancel` read the count.
const HAS_CUSTOM_NAME: u32 = 1 << 31;

struct TaskInner<T> {
    id: u64,
    /// Its slot in the loop's task table ([`crate::all_tasks`]).
    slot: Cell<usize>,
    /// `std::any::type_name` of the coroutine, for `describe` (a function: 8 bytes, not 16).
    coroutine_name: fn() -> &'static str,
    /// The task's future (a `Task` is a `Future`), inline; the loop is its loop.
    future: FutureCore<T>,
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
    /// `Task.__step`.
    fn step(self: Rc<Self>) {
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
struct StepWaker {
    address: Arc<TaskWaker>,
    waker: Waker,
}

thread_local! {
    /// The waker of the last step on this thread, when nothing else holds it.
    static SPARE_WAKER: Cell<Option<StepWaker>> = const { Cell::new(None) };
}

impl StepWaker {
    /// A waker for task `task_id` in `slot` of `event_loop`: the spare one re-addressed, or a
    /// new one. The spare is always `event_loop`'s: one loop runs on a thread at a time, and a
    /// loop that starts drops the spare of the one before ([`forget_spare_waker`]).
    fn take(task_id: u64, slot: usize, event_loop: &EventLoop) -> StepWaker {
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
    fn give_back(self, event_loop: &EventLoop) {
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
    pub(crate) fn new(
        event_loop: EventLoop,
        id: u64,
        coroutine_name: fn() -> &'static str,
        coroutine: Coroutine<T>,
    ) -> Self {
        let future = FutureCore::new(&event_loop);
        Task(Rc::new(TaskInner {
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
        }))
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

    /// Where the loop's task table keeps it (see [`crate::all_tasks`]).
    pub(crate) fn set_slot(&self, slot: usize) {
        self.0.slot.set(slot);
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

/// `tasks.__sleep0`: a bare `yield`; the task's next step is `call_soon`ed.
pub(crate) struct Sleep0 {
    yielded: bool,
}

impl Sleep0 {
    pub(crate) fn new() -> Self {
        Sleep0 { yielded: false }
    }
}

impl std::future::Future for Sleep0 {
    type Output = Result<(), Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if take_cancel_throw() {
            return Poll::Ready(Err(Error::Cancelled));
        }
        if self.yielded {
            return Poll::Ready(Ok(()));
        }
        self.yielded = true;
        match CURRENT_TASK.with(|current| current.borrow().clone()) {
            Some(task) => task.schedule_step(),
            None => cx.waker().wake_by_ref(),
        }
        Poll::Pending
    }
}

/// `asyncio.wait_for(awaitable, timeout)` as in 3.12: `async with timeout(t): return await aw`
/// (see [`Timeout`](crate::Timeout)).
/// The awaitable runs inside the current task; when time runs out the task is cancelled, the
/// awaitable sees `Error::Cancelled`, and the caller gets `Error::Timeout`.
pub async fn wait_for<T, F>(awaitable: F, timeout: f64) -> Result<T, Error>
where
    F: std::future::Future<Output = Result<T, Error>>,
{
    let task = current().ok_or(Error::NoRunningLoop)?;
    if timeout <= 0.0 {
        // `ensure_future(aw)` then `_cancel_and_wait`: the awaitable becomes a task cancelled
        // before its first step, so its body never runs, and the caller resumes three passes
        // later (the task's step, `_release_waiter`, the caller's wake-up). Here the awaitable
        // is dropped unpolled; unlike CPython, a `Task` passed in is not cancelled.
        drop(awaitable);
        for _ in 0..3 {
            Sleep0::new().await?;
        }
        return Err(Error::Timeout);
    }
    crate::timeouts::timeout_at(Some(task.event_loop().time() + timeout))
        .run(awaitable)
        .await
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
