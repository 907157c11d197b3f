//! Tasks, after CPython's `Lib/asyncio/tasks.py`: a Rust future driven one poll per step, with
//! `sleep`, `wait_for` and `current_task` (`gather` lives in its own module).
//!
//! A task wraps a coroutine (here a `Future<Output = Result<T, Error>>`). `Task.__step` becomes
//! one `poll`, and it only ever runs as a `call_soon` handle:
//!
//! ```text
//!   create_task ──call_soon──► step ──poll──► Ready ──► set_result / set_exception / cancel
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
//! Invariants:
//! - a task has at most one step in the ready queue (`scheduled`);
//! - `fut_waiter` is set only while the task is suspended on one of this crate's futures;
//! - the loop's task table holds a task from `create_task` until its future is done.
//!
//! Wakers of foreign futures work on the loop's thread only; a wake from another thread is still
//! lost (routing it through [`ThreadsafeLoop`](crate::ThreadsafeLoop) is left for
//! `run_in_executor`).

use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, ThreadId};

use crate::base_events::EventLoop;
use crate::events::HandleLabel;
use crate::futures::{Cancellable, Error, Future};

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

struct TaskInner<T> {
    id: u64,
    coroutine_name: &'static str,
    event_loop: EventLoop,
    future: Future<T>,
    coroutine: RefCell<Option<Coroutine<T>>>,
    must_cancel: Cell<bool>,
    cancel_throw: Cell<bool>,
    started: Cell<bool>,
    scheduled: Cell<bool>,
    num_cancels_requested: Cell<u32>,
    fut_waiter: RefCell<Option<Rc<dyn Cancellable>>>,
}

impl<T: Clone + 'static> TaskInner<T> {
    /// `Task.__step`.
    fn step(self: Rc<Self>) {
        self.scheduled.set(false);
        if self.future.done() {
            return;
        }
        self.fut_waiter.borrow_mut().take();
        if self.must_cancel.replace(false) {
            if !self.started.get() {
                self.coroutine.borrow_mut().take();
                self.finish(Err(Error::Cancelled));
                return;
            }
            self.cancel_throw.set(true);
        }
        self.started.set(true);
        let Some(mut coroutine) = self.coroutine.borrow_mut().take() else {
            return;
        };
        let waker = Waker::from(Arc::new(TaskWaker {
            task_id: self.id,
            thread: thread::current().id(),
        }));
        let mut cx = Context::from_waker(&waker);
        let poll = {
            let _entered = EnterTask::new(self.clone());
            coroutine.as_mut().poll(&mut cx)
        };
        self.cancel_throw.set(false);
        match poll {
            Poll::Pending => {
                *self.coroutine.borrow_mut() = Some(coroutine);
                if self.must_cancel.get() {
                    let waiter = self.fut_waiter.borrow().clone();
                    if waiter.is_some_and(|waiter| waiter.cancel()) {
                        self.must_cancel.set(false);
                    }
                }
            }
            Poll::Ready(outcome) => self.finish(outcome),
        }
    }

    fn finish(&self, outcome: Result<T, Error>) {
        self.event_loop.task_finished(self.id);
        let must_cancel = self.must_cancel.replace(false);
        // The future cannot be done yet: only `finish` completes it.
        let _ = match outcome {
            Ok(value) if !must_cancel => self.future.set_result(value),
            Ok(_) | Err(Error::Cancelled) => self.future.set_exception(Error::Cancelled),
            Err(error) => self.future.set_exception(error),
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
        let event_loop = self.event_loop.clone();
        let this: Rc<dyn TaskControl> = self.clone();
        let label = HandleLabel::TaskStep(Rc::downgrade(&this));
        event_loop.call_soon_labelled(Box::new(move || self.step()), label);
    }

    fn take_cancel_throw(&self) -> bool {
        self.cancel_throw.replace(false)
    }

    fn set_fut_waiter(&self, waiter: Rc<dyn Cancellable>) {
        *self.fut_waiter.borrow_mut() = Some(waiter);
    }

    /// `Task.cancel`.
    fn cancel(&self) -> bool {
        if self.future.done() {
            return false;
        }
        self.num_cancels_requested
            .set(self.num_cancels_requested.get() + 1);
        let waiter = self.fut_waiter.borrow().clone();
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
        self.num_cancels_requested.get()
    }

    fn uncancel(&self) -> u32 {
        let count = self.num_cancels_requested.get().saturating_sub(1);
        self.num_cancels_requested.set(count);
        count
    }

    fn event_loop(&self) -> EventLoop {
        self.event_loop.clone()
    }

    /// `<Task pending name='Task-1' coro=<...>>`: CPython's shape, with the coroutine's Rust
    /// type name for its `coro=<main() running at file:line>`; names count from 1 per process.
    fn describe(&self) -> String {
        let state = if self.future.done() {
            "finished"
        } else {
            "pending"
        };
        format!(
            "<Task {state} name='Task-{}' coro=<{}>>",
            self.id + 1,
            self.coroutine_name
        )
    }
}

/// The waker a task hands to foreign futures: on the loop's thread, it schedules the task's next
/// step with `call_soon`, as `Task.__wakeup` does.
struct TaskWaker {
    task_id: u64,
    thread: ThreadId,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if thread::current().id() != self.thread {
            return;
        }
        if let Some(event_loop) = EventLoop::running() {
            event_loop.wake_task(self.task_id);
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

impl<T: Clone + 'static> Task<T> {
    pub(crate) fn new(
        event_loop: EventLoop,
        id: u64,
        coroutine_name: &'static str,
        coroutine: Coroutine<T>,
    ) -> Self {
        let future = Future::new(&event_loop);
        Task(Rc::new(TaskInner {
            id,
            coroutine_name,
            event_loop,
            future,
            coroutine: RefCell::new(Some(coroutine)),
            must_cancel: Cell::new(false),
            cancel_throw: Cell::new(false),
            started: Cell::new(false),
            scheduled: Cell::new(false),
            num_cancels_requested: Cell::new(0),
            fut_waiter: RefCell::new(None),
        }))
    }

    /// The future the task completes.
    pub(crate) fn future(&self) -> Future<T> {
        self.0.future.clone()
    }

    pub(crate) fn control(&self) -> Rc<dyn TaskControl> {
        self.0.clone()
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
        let mut future = self.0.future.clone();
        Pin::new(&mut future).poll(cx)
    }
}

/// `asyncio.current_task()`, as a handle on its cancellation state.
pub struct CurrentTask(Rc<dyn TaskControl>);

impl CurrentTask {
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
struct Sleep0 {
    yielded: bool,
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

/// Cancels the timer of a `sleep` when the sleep ends or is dropped (`finally: h.cancel()`).
struct CancelOnDrop(crate::TimerHandle);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// `asyncio.sleep(delay)`. `sleep(0.0)` (or less) is a bare yield that takes one pass; a positive
/// delay resumes one pass after its timer fires (timer → `set_result` → `call_soon(step)`).
pub async fn sleep(delay: f64) -> Result<(), Error> {
    if delay <= 0.0 {
        return Sleep0 { yielded: false }.await;
    }
    let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
    let future = Future::<()>::new(&event_loop);
    let timer_future = future.clone();
    let timer = event_loop.call_later(delay, move || {
        // `futures._set_result_unless_cancelled`: a cancelled future stays cancelled.
        let _ = timer_future.set_result(());
    });
    let _cancel_timer = CancelOnDrop(timer);
    future.await
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
            Sleep0 { yielded: false }.await?;
        }
        return Err(Error::Timeout);
    }
    crate::timeouts::timeout_at(Some(task.event_loop().time() + timeout))
        .run(awaitable)
        .await
}
