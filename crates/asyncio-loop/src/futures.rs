//! `Future`, after CPython's `Lib/asyncio/futures.py`.
//!
//! A future is pending until `set_result`, `set_exception` or `cancel`; then it is done for good.
//! Done-callbacks never run inline: completing a future hands each callback to `call_soon`, in
//! the order they were added (`Future.__schedule_callbacks`), and a callback added to a future
//! that is already done is `call_soon`ed at once. So the code that completes a future always
//! finishes its step before any callback runs.
//!
//! Awaiting a future from a task registers the task's wake-up as a done-callback and makes the
//! future the task's `_fut_waiter`, so `Task::cancel` cancels it; the task then sees
//! [`Error::Cancelled`] at that await, as a coroutine sees `CancelledError`.
//!
//! Invariants:
//! - `outcome` goes from `None` to `Some(_)` once and never back;
//! - `callbacks` is empty once the future is done.

use std::cell::Cell;
use std::fmt;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use crate::base_events::EventLoop;
use crate::cells::put_back;
use crate::events::Handle;
use crate::tasks::{self, TaskControl};

/// How a future or task failed: asyncio's exceptions.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Error {
    /// `CancelledError`.
    Cancelled,
    /// `TimeoutError`, from [`wait_for`](crate::wait_for).
    Timeout,
    /// There is no running event loop (`RuntimeError('no running event loop')`).
    NoRunningLoop,
    /// Any other exception, raised by user code.
    Exception(Rc<dyn std::error::Error>),
    /// `BaseExceptionGroup('unhandled errors in a TaskGroup', errors)`: the errors of a
    /// [`TaskGroup`](crate::TaskGroup)'s children (and of its body), in the order they happened.
    TaskGroup(Vec<Error>),
}

impl Error {
    /// Wrap a user error as an exception.
    pub fn exception(error: impl std::error::Error + 'static) -> Self {
        Error::Exception(Rc::new(error))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Cancelled => f.write_str("cancelled"),
            Error::Timeout => f.write_str("timed out"),
            Error::NoRunningLoop => f.write_str("no running event loop"),
            Error::Exception(error) => error.fmt(f),
            Error::TaskGroup(errors) => {
                let count = errors.len();
                let plural = if count == 1 { "" } else { "s" };
                write!(
                    f,
                    "unhandled errors in a TaskGroup ({count} sub-exception{plural})"
                )
            }
        }
    }
}

impl std::error::Error for Error {}

/// `InvalidStateError`: the future is already done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidStateError;

impl fmt::Display for InvalidStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid state: the future is already done")
    }
}

impl std::error::Error for InvalidStateError {}

/// What to do with a done-callback when the future completes.
enum DoneCallback {
    /// A user callback: `call_soon` its handle (made when the callback was added).
    Call(Handle),
    /// A task awaiting the future: schedule its next step (`Task.__wakeup`). Weak: the loop's
    /// task table owns a pending task (see [`mod@crate::all_tasks`]).
    WakeTask(Weak<dyn TaskControl>),
    /// A foreign executor awaiting the future: wake its waker from a `call_soon` handle.
    Wake(Waker),
}

impl DoneCallback {
    /// Whether both wake the same task or waker (a task polling a future twice registers once).
    fn wakes_same(&self, other: &DoneCallback) -> bool {
        match (self, other) {
            (DoneCallback::WakeTask(a), DoneCallback::WakeTask(b)) => Weak::ptr_eq(a, b),
            (DoneCallback::Wake(a), DoneCallback::Wake(b)) => a.will_wake(b),
            _ => false,
        }
    }
}

/// A future's done-callbacks, in the order they were added. Nearly every future has at most
/// one (the task awaiting it), so the first is kept inline and only a second one allocates
/// (boxed, so that the whole is no bigger than one callback: 24 bytes).
#[derive(Default)]
enum DoneCallbacks {
    #[default]
    None,
    One(DoneCallback),
    #[allow(
        clippy::box_collection,
        reason = "a Vec inline would make every future 8 bytes bigger for a rare case"
    )]
    Many(Box<Vec<DoneCallback>>),
}

impl DoneCallbacks {
    fn push(&mut self, callback: DoneCallback) {
        *self = match std::mem::take(self) {
            DoneCallbacks::None => DoneCallbacks::One(callback),
            DoneCallbacks::One(first) => DoneCallbacks::Many(Box::new(vec![first, callback])),
            DoneCallbacks::Many(mut all) => {
                all.push(callback);
                DoneCallbacks::Many(all)
            }
        };
    }

    fn any(&self, predicate: impl Fn(&DoneCallback) -> bool) -> bool {
        match self {
            DoneCallbacks::None => false,
            DoneCallbacks::One(first) => predicate(first),
            DoneCallbacks::Many(all) => all.iter().any(predicate),
        }
    }

    /// Drops the user callbacks whose handle is `handle`; returns how many.
    fn remove_call(&mut self, handle: &Handle) -> usize {
        let is_it =
            |callback: &DoneCallback| matches!(callback, DoneCallback::Call(h) if h.same(handle));
        match std::mem::take(self) {
            DoneCallbacks::None => 0,
            DoneCallbacks::One(first) if is_it(&first) => 1,
            DoneCallbacks::One(first) => {
                *self = DoneCallbacks::One(first);
                0
            }
            DoneCallbacks::Many(mut all) => {
                let before = all.len();
                all.retain(|callback| !is_it(callback));
                let removed = before - all.len();
                *self = DoneCallbacks::Many(all);
                removed
            }
        }
    }

    /// Hands each callback to `f`, oldest first.
    fn for_each(self, mut f: impl FnMut(DoneCallback)) {
        match self {
            DoneCallbacks::None => {}
            DoneCallbacks::One(first) => f(first),
            DoneCallbacks::Many(all) => (*all).into_iter().for_each(f),
        }
    }
}

/// The body of a future, which other handles can embed (a task is its future; a `sleep`'s
/// timer is a future too, but a smaller one of its own: see [`crate::sleep()`]). `Cell`s, not
/// `RefCell`s: no borrow flags,
/// 56 bytes in all; each access takes the value out and puts it back, and none calls out
/// while it holds it.
pub(crate) struct FutureCore<T> {
    event_loop: EventLoop,
    /// `None` while pending, then the outcome for good.
    outcome: Cell<Option<Result<T, Error>>>,
    /// In the order they were added; empty once done.
    callbacks: Cell<DoneCallbacks>,
}

/// Something a task can await and cancel: its `_fut_waiter`.
pub(crate) trait Cancellable {
    /// `Future.cancel`; false when already done.
    fn cancel(&self) -> bool;
}

impl<T> FutureCore<T> {
    pub(crate) fn new(event_loop: &EventLoop) -> Self {
        FutureCore {
            event_loop: event_loop.clone(),
            outcome: Cell::new(None),
            callbacks: Cell::new(DoneCallbacks::None),
        }
    }

    /// `f` of the outcome (taken out for the call, then put back).
    fn peek<R>(&self, f: impl FnOnce(&Option<Result<T, Error>>) -> R) -> R {
        let outcome = self.outcome.take();
        let seen = f(&outcome);
        put_back(&self.outcome, outcome);
        seen
    }

    fn push_callback(&self, callback: DoneCallback) {
        let callbacks = match self.callbacks.take() {
            // The common case (the task awaiting it), without `push`'s moves.
            DoneCallbacks::None => DoneCallbacks::One(callback),
            mut callbacks => {
                if !callbacks.any(|existing| existing.wakes_same(&callback)) {
                    callbacks.push(callback);
                }
                callbacks
            }
        };
        put_back(&self.callbacks, callbacks);
    }

    pub(crate) fn event_loop(&self) -> &EventLoop {
        &self.event_loop
    }

    pub(crate) fn done(&self) -> bool {
        self.peek(Option::is_some)
    }

    pub(crate) fn cancelled(&self) -> bool {
        self.peek(|outcome| matches!(outcome, Some(Err(Error::Cancelled))))
    }

    pub(crate) fn result(&self) -> Option<Result<T, Error>>
    where
        T: Clone,
    {
        self.peek(Option::clone)
    }

    pub(crate) fn add_done_callback<F: FnOnce() + 'static>(&self, callback: F) {
        self.add_done_callback_handle(callback);
    }

    /// `add_done_callback`, returning the callback's handle for `remove_done_callback`; None
    /// when the future is done and the callback already scheduled.
    pub(crate) fn add_done_callback_handle<F: FnOnce() + 'static>(
        &self,
        callback: F,
    ) -> Option<Handle> {
        if self.done() {
            self.event_loop.call_soon(callback);
            None
        } else {
            let (handle, _) = Handle::new(callback);
            self.push_callback(DoneCallback::Call(handle.clone()));
            Some(handle)
        }
    }

    /// `Future.remove_done_callback`: the callback of `handle` will not be scheduled; returns
    /// how many were removed (0 once the future is done: its callbacks are scheduled already).
    pub(crate) fn remove_done_callback(&self, handle: &Handle) -> usize {
        let mut callbacks = self.callbacks.take();
        // Not `put_back`: dropping the removed callbacks runs their captures' drops.
        let removed = callbacks.remove_call(handle);
        self.callbacks.set(callbacks);
        removed
    }

    pub(crate) fn complete(&self, outcome: Result<T, Error>) -> Result<(), InvalidStateError> {
        if self.done() {
            return Err(InvalidStateError);
        }
        put_back(&self.outcome, Some(outcome));
        self.schedule_callbacks(self.callbacks.take());
        Ok(())
    }

    /// `Future.__schedule_callbacks`.
    fn schedule_callbacks(&self, callbacks: DoneCallbacks) {
        callbacks.for_each(|callback| match callback {
            DoneCallback::Call(handle) => self.event_loop.call_soon_handle(handle),
            DoneCallback::WakeTask(task) => {
                if let Some(task) = task.upgrade() {
                    self.event_loop.wake_task(task);
                }
            }
            DoneCallback::Wake(waker) => {
                self.event_loop.call_soon(move || waker.wake());
            }
        });
    }

    /// `Future.__await__`: the outcome if done; otherwise the current task (or, outside a
    /// task, the waker) is woken when it is, and `waiter` (this future, as the task can cancel
    /// it) becomes the task's `_fut_waiter`. A task being cancelled sees `Error::Cancelled`.
    pub(crate) fn poll_outcome(
        &self,
        cx: &mut Context<'_>,
        waiter: impl FnOnce() -> Rc<dyn Cancellable>,
    ) -> Poll<Result<T, Error>>
    where
        T: Clone,
    {
        if tasks::take_cancel_throw() {
            return Poll::Ready(Err(Error::Cancelled));
        }
        if let Some(outcome) = self.result() {
            return Poll::Ready(outcome);
        }
        let callback = match tasks::await_future(waiter()) {
            Some(task) => DoneCallback::WakeTask(task),
            None => DoneCallback::Wake(cx.waker().clone()),
        };
        self.push_callback(callback);
        Poll::Pending
    }
}

impl<T> Cancellable for FutureCore<T> {
    fn cancel(&self) -> bool {
        self.complete(Err(Error::Cancelled)).is_ok()
    }
}

/// What a [`Future`] points at: a plain future's body, or a task, which embeds one (CPython's
/// `Task` is a subclass of `Future`; one allocation holds both).
pub(crate) trait FutureCell<T> {
    fn core(&self) -> &FutureCore<T>;
    /// This future as a task's `_fut_waiter`: cancelling it is `Future.cancel`.
    fn as_cancellable(self: Rc<Self>) -> Rc<dyn Cancellable>;
}

impl<T: 'static> FutureCell<T> for FutureCore<T> {
    fn core(&self) -> &FutureCore<T> {
        self
    }

    fn as_cancellable(self: Rc<Self>) -> Rc<dyn Cancellable> {
        self
    }
}

/// asyncio's `Future`: a result that will exist later. Cloning gives another reference to the
/// same future; awaiting it gives `Ok(result)` or the error it failed with.
pub struct Future<T>(Rc<dyn FutureCell<T>>);

impl<T> Clone for Future<T> {
    fn clone(&self) -> Self {
        Future(self.0.clone())
    }
}

impl<T: Clone + 'static> Future<T> {
    /// `loop.create_future()`.
    pub fn new(event_loop: &EventLoop) -> Self {
        Future(Rc::new(FutureCore::new(event_loop)))
    }

    /// The future of a task (see [`FutureCell`]).
    pub(crate) fn of(cell: Rc<dyn FutureCell<T>>) -> Self {
        Future(cell)
    }

    /// `Future.done`.
    pub fn done(&self) -> bool {
        self.0.core().done()
    }

    /// `Future.cancelled`.
    pub fn cancelled(&self) -> bool {
        self.0.core().cancelled()
    }

    /// The outcome, or `None` while pending (where `Future.result` raises `InvalidStateError`).
    pub fn result(&self) -> Option<Result<T, Error>> {
        self.0.core().result()
    }

    /// `Future.set_result`.
    pub fn set_result(&self, value: T) -> Result<(), InvalidStateError> {
        self.0.core().complete(Ok(value))
    }

    /// `Future.set_exception`.
    pub fn set_exception(&self, error: Error) -> Result<(), InvalidStateError> {
        self.0.core().complete(Err(error))
    }

    /// `Future.cancel`: false when the future is already done.
    pub fn cancel(&self) -> bool {
        Cancellable::cancel(self.0.core())
    }

    /// `Future.add_done_callback`: `callback` is `call_soon`ed once the future is done (at once
    /// if it already is).
    pub fn add_done_callback<F: FnOnce() + 'static>(&self, callback: F) {
        self.0.core().add_done_callback(callback);
    }

    /// `add_done_callback`, returning the handle that `remove_done_callback` takes; None when
    /// the future is done (the callback is scheduled already).
    pub(crate) fn add_done_callback_handle<F: FnOnce() + 'static>(
        &self,
        callback: F,
    ) -> Option<crate::events::Handle> {
        self.0.core().add_done_callback_handle(callback)
    }

    /// The loop the future belongs to (`futures._get_loop`).
    pub(crate) fn event_loop(&self) -> EventLoop {
        self.0.core().event_loop().clone()
    }

    /// `Future.remove_done_callback` of the callback added with `handle`.
    pub(crate) fn remove_done_callback(&self, handle: &crate::events::Handle) -> usize {
        self.0.core().remove_done_callback(handle)
    }

    /// Whether `self` and `other` are the same future (Python's `is`, which `deque.remove`
    /// relies on when a waiter removes its own future).
    pub(crate) fn is_same(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    pub(crate) fn as_cancellable(&self) -> Rc<dyn Cancellable> {
        self.0.clone().as_cancellable()
    }

    /// Whether the future belongs to `event_loop`.
    pub(crate) fn belongs_to(&self, event_loop: &EventLoop) -> bool {
        Rc::ptr_eq(&self.0.core().event_loop().0, &event_loop.0)
    }
}

impl Future<()> {
    /// The same allocation as a new pending future, when this one is done and nothing else
    /// holds it (no clone, no weak reference, so no one can see it change); else `None`.
    /// A done future has no callbacks left ([`FutureCore::complete`] took them), so clearing
    /// the outcome leaves it as `create_future` makes one. For waiters that are made and
    /// thrown away at a high rate, as `Queue`'s.
    pub(crate) fn recycle(mut self) -> Option<Self> {
        Rc::get_mut(&mut self.0)?;
        let core = self.0.core();
        match core.outcome.take() {
            None => None,
            // The common case: `set_result(None)` left nothing to drop.
            Some(Ok(())) => Some(self),
            Some(Err(error)) => {
                drop(error);
                Some(self)
            }
        }
    }
}

impl<T: Clone + 'static> std::future::Future for Future<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.core().poll_outcome(cx, || self.as_cancellable())
    }
}
