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
//! - `state` goes from `None` to `Some(_)` once and never back;
//! - `callbacks` is empty once the future is done.

use std::cell::RefCell;
use std::fmt;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::base_events::EventLoop;
use crate::events::HandleLabel;
use crate::tasks;

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
    /// A user callback: `call_soon(callback)`.
    Call(Box<dyn FnOnce()>, &'static str),
    /// A task awaiting the future: schedule its next step (`Task.__wakeup`).
    WakeTask(u64),
    /// A foreign executor awaiting the future: wake its waker from a `call_soon` handle.
    Wake(Waker),
}

pub(crate) struct FutureCore<T> {
    event_loop: EventLoop,
    state: RefCell<Option<Result<T, Error>>>,
    callbacks: RefCell<Vec<DoneCallback>>,
}

/// Something a task can await and cancel: its `_fut_waiter`.
pub(crate) trait Cancellable {
    /// `Future.cancel`; false when already done.
    fn cancel(&self) -> bool;
}

impl<T> FutureCore<T> {
    fn complete(&self, outcome: Result<T, Error>) -> Result<(), InvalidStateError> {
        {
            let mut state = self.state.borrow_mut();
            if state.is_some() {
                return Err(InvalidStateError);
            }
            *state = Some(outcome);
        }
        self.schedule_callbacks();
        Ok(())
    }

    /// `Future.__schedule_callbacks`.
    fn schedule_callbacks(&self) {
        let callbacks = std::mem::take(&mut *self.callbacks.borrow_mut());
        for callback in callbacks {
            match callback {
                DoneCallback::Call(callback, name) => {
                    let label = HandleLabel::Callback(name);
                    self.event_loop.call_soon_labelled(callback, label);
                }
                DoneCallback::WakeTask(id) => self.event_loop.wake_task(id),
                DoneCallback::Wake(waker) => {
                    self.event_loop.call_soon(move || waker.wake());
                }
            }
        }
    }
}

impl<T> Cancellable for FutureCore<T> {
    fn cancel(&self) -> bool {
        self.complete(Err(Error::Cancelled)).is_ok()
    }
}

/// asyncio's `Future`: a result that will exist later. Cloning gives another reference to the
/// same future; awaiting it gives `Ok(result)` or the error it failed with.
pub struct Future<T>(Rc<FutureCore<T>>);

impl<T> Clone for Future<T> {
    fn clone(&self) -> Self {
        Future(self.0.clone())
    }
}

impl<T: Clone + 'static> Future<T> {
    /// `loop.create_future()`.
    pub fn new(event_loop: &EventLoop) -> Self {
        Future(Rc::new(FutureCore {
            event_loop: event_loop.clone(),
            state: RefCell::new(None),
            callbacks: RefCell::new(Vec::new()),
        }))
    }

    /// `Future.done`.
    pub fn done(&self) -> bool {
        self.0.state.borrow().is_some()
    }

    /// `Future.cancelled`.
    pub fn cancelled(&self) -> bool {
        matches!(*self.0.state.borrow(), Some(Err(Error::Cancelled)))
    }

    /// The outcome, or `None` while pending (where `Future.result` raises `InvalidStateError`).
    pub fn result(&self) -> Option<Result<T, Error>> {
        self.0.state.borrow().clone()
    }

    /// `Future.set_result`.
    pub fn set_result(&self, value: T) -> Result<(), InvalidStateError> {
        self.0.complete(Ok(value))
    }

    /// `Future.set_exception`.
    pub fn set_exception(&self, error: Error) -> Result<(), InvalidStateError> {
        self.0.complete(Err(error))
    }

    /// `Future.cancel`: false when the future is already done.
    pub fn cancel(&self) -> bool {
        Cancellable::cancel(&*self.0)
    }

    /// `Future.add_done_callback`: `callback` is `call_soon`ed once the future is done (at once
    /// if it already is).
    pub fn add_done_callback<F: FnOnce() + 'static>(&self, callback: F) {
        if self.done() {
            self.0.event_loop.call_soon(callback);
        } else {
            self.0.callbacks.borrow_mut().push(DoneCallback::Call(
                Box::new(callback),
                std::any::type_name::<F>(),
            ));
        }
    }

    /// Whether `self` and `other` are the same future (Python's `is`, which `deque.remove`
    /// relies on when a waiter removes its own future).
    pub(crate) fn is_same(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    pub(crate) fn as_cancellable(&self) -> Rc<dyn Cancellable> {
        self.0.clone()
    }
}

impl<T: Clone + 'static> std::future::Future for Future<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if tasks::take_cancel_throw() {
            return Poll::Ready(Err(Error::Cancelled));
        }
        if let Some(outcome) = self.result() {
            return Poll::Ready(outcome);
        }
        let callback = match tasks::current_task_id() {
            Some(id) => {
                tasks::set_fut_waiter(self.as_cancellable());
                DoneCallback::WakeTask(id)
            }
            None => DoneCallback::Wake(cx.waker().clone()),
        };
        let mut callbacks = self.0.callbacks.borrow_mut();
        let already = callbacks
            .iter()
            .any(|existing| match (existing, &callback) {
                (DoneCallback::WakeTask(a), DoneCallback::WakeTask(b)) => a == b,
                (DoneCallback::Wake(a), DoneCallback::Wake(b)) => a.will_wake(b),
                _ => false,
            });
        if !already {
            callbacks.push(callback);
        }
        Poll::Pending
    }
}
