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
//!
//! Parts:
//!
//! ```text
//!   mod.rs        this essay; `TaskControl`, the type-erased task the loop and awaitables drive
//!   inner.rs      `TaskInner`: state, `__step`, cancellation; its future and ready-queue handle
//!   current.rs    `_current_tasks`: the task whose step runs, and what awaitables ask of it
//!   waker.rs      `TaskWaker` (foreign futures' wake-ups) and `StepWaker` (reused per step)
//!   handles.rs    the public `Task` and `CurrentTask` handles, and `current_task()`
//!   awaitables.rs `__sleep0` and `wait_for`
//! ```

mod awaitables;
mod current;
mod handles;
mod inner;
mod waker;

use std::pin::Pin;
use std::rc::Rc;

use crate::base_events::EventLoop;
use crate::futures::{Cancellable, Error};

pub use awaitables::wait_for;
pub(crate) use awaitables::Sleep0;
pub(crate) use current::{
    await_future, current, current_task_id, set_fut_waiter, take_cancel_throw,
};
pub use handles::{current_task, CurrentTask, Task};
pub(crate) use waker::{forget_spare_waker, TaskWaker};

/// A `Weak` that upgrades to no task, without an allocation (for a wake-up that has no one
/// to wake).
pub(crate) fn no_task() -> std::rc::Weak<dyn TaskControl> {
    std::rc::Weak::<inner::TaskInner<()>>::new()
}

/// A task's coroutine, boxed.
type Coroutine<T> = Pin<Box<dyn NamedCoroutine<T>>>;

/// A coroutine whose vtable also names its type, for `describe` (`coro=<...>`): the name
/// costs the task no field of its own while the coroutine lives (see `CoroutineSlot`).
pub(crate) trait NamedCoroutine<T>: std::future::Future<Output = Result<T, Error>> {
    /// `std::any::type_name` of the coroutine's type.
    fn type_name(&self) -> fn() -> &'static str;
}

impl<T, F: std::future::Future<Output = Result<T, Error>>> NamedCoroutine<T> for F {
    fn type_name(&self) -> fn() -> &'static str {
        std::any::type_name::<F>
    }
}

/// The type-erased side of a task that the loop and the awaitables drive.
pub(crate) trait TaskControl {
    fn id(&self) -> u64;
    /// Put one step in the ready queue unless one is there already or the task is done.
    fn schedule_step(self: Rc<Self>);
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
