//! `asyncio.timeout` and `asyncio.timeout_at`, after CPython's `Lib/asyncio/timeouts.py` (3.11+).
//!
//! A `Timeout` is a scope around an awaitable, run inside the current task. When its deadline
//! passes, the task is cancelled: the awaitable sees [`Error::Cancelled`] at its current await,
//! and if the cancellation comes back out of the scope, the scope turns it into
//! [`Error::Timeout`]. Python writes `async with asyncio.timeout(0.1): await body()`; here it is
//! `timeout(Some(0.1))?.run(body()).await`.
//!
//! ```text
//!   CREATED ──run──► ENTERED ──deadline: task.cancel()──► EXPIRING ──scope ends──► EXPIRED
//!                       │                                                (Cancelled → Timeout
//!                       └───────────── scope ends ─────────► EXITED       if ours alone)
//! ```
//!
//! Invariants:
//! - the deadline handle exists only while ENTERED: `reschedule` replaces it, the deadline
//!   consumes it, leaving the scope cancels it;
//! - the scope answers only for its own cancellation: on leaving an expired scope it calls
//!   `uncancel()`, and turns `Cancelled` into `Timeout` only when the task's `cancelling()` count
//!   is back to what it was on entry. A cancellation requested by someone else (an outer
//!   timeout, a `Task::cancel`) keeps the count above it and propagates as `Cancelled`.
//!
//! A deadline already past is not a special case: `reschedule` then `call_soon`s the expiry,
//! so the awaitable still starts and is cancelled at its first await, as in CPython.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

use crate::base_events::EventLoop;
use crate::events::{Handle, TimerHandle};
use crate::futures::Error;
use crate::tasks::{self, TaskControl};

/// `timeouts._State`; the names are CPython's enum values, which its error messages print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Created,
    Entered,
    Expiring,
    Expired,
    Exited,
}

impl State {
    fn value(self) -> &'static str {
        match self {
            State::Created => "created",
            State::Entered => "active",
            State::Expiring => "expiring",
            State::Expired => "expired",
            State::Exited => "finished",
        }
    }
}

/// The pending expiry: a timer, or a `call_soon` for a deadline already past.
enum Deadline {
    At(TimerHandle),
    Soon(Handle),
}

impl Deadline {
    fn cancel(&self) {
        match self {
            Deadline::At(timer) => timer.cancel(),
            Deadline::Soon(handle) => handle.cancel(),
        }
    }
}

struct TimeoutInner {
    state: Cell<State>,
    when: Cell<Option<f64>>,
    deadline: RefCell<Option<Deadline>>,
    task: RefCell<Option<Rc<dyn TaskControl>>>,
    /// The task's `cancelling()` on entry.
    cancelling: Cell<u32>,
}

/// A timeout scope (`asyncio.Timeout`). Cloning gives another reference to the same scope, so
/// the body can `reschedule` it.
#[derive(Clone)]
pub struct Timeout(Rc<TimeoutInner>);

/// Why a [`Timeout`] refused: CPython raises these as `RuntimeError`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutStateError {
    /// `reschedule` before the scope runs.
    NotEntered,
    /// `run` on a scope that already ran (a scope is entered once).
    AlreadyEntered,
    /// `run` outside a task.
    NotInTask,
    /// `reschedule` once the scope has expired or ended; holds CPython's name of the state.
    Finished(&'static str),
}

impl fmt::Display for TimeoutStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeoutStateError::NotEntered => f.write_str("Timeout has not been entered"),
            TimeoutStateError::AlreadyEntered => f.write_str("Timeout has already been entered"),
            TimeoutStateError::NotInTask => f.write_str("Timeout should be used inside a task"),
            TimeoutStateError::Finished(state) => {
                write!(f, "Cannot change state of {state} Timeout")
            }
        }
    }
}

impl std::error::Error for TimeoutStateError {}

impl From<TimeoutStateError> for Error {
    fn from(error: TimeoutStateError) -> Self {
        Error::exception(error)
    }
}

/// `asyncio.timeout(delay)`: a scope that expires `delay` seconds from now on the running
/// loop's clock; `None` never expires (until rescheduled). Needs a running loop.
pub fn timeout(delay: Option<f64>) -> Result<Timeout, Error> {
    let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
    Ok(timeout_at(delay.map(|delay| event_loop.time() + delay)))
}

/// `asyncio.timeout_at(when)`: a scope that expires at `when` on the loop's clock
/// ([`EventLoop::time`]); `None` never expires (until rescheduled).
pub fn timeout_at(when: Option<f64>) -> Timeout {
    Timeout(Rc::new(TimeoutInner {
        state: Cell::new(State::Created),
        when: Cell::new(when),
        deadline: RefCell::new(None),
        task: RefCell::new(None),
        cancelling: Cell::new(0),
    }))
}

impl Timeout {
    /// `Timeout.when()`: the deadline, on the loop's clock.
    pub fn when(&self) -> Option<f64> {
        self.0.when.get()
    }

    /// `Timeout.expired()`: whether the deadline passed while the scope ran.
    pub fn expired(&self) -> bool {
        matches!(self.0.state.get(), State::Expiring | State::Expired)
    }

    /// `Timeout.reschedule(when)`: move the deadline (`None`: never). Only while the scope runs.
    pub fn reschedule(&self, when: Option<f64>) -> Result<(), TimeoutStateError> {
        match self.0.state.get() {
            State::Entered => {}
            State::Created => return Err(TimeoutStateError::NotEntered),
            state => return Err(TimeoutStateError::Finished(state.value())),
        }
        self.0.when.set(when);
        if let Some(deadline) = self.0.deadline.borrow_mut().take() {
            deadline.cancel();
        }
        let Some(when) = when else {
            return Ok(());
        };
        let Some(event_loop) = EventLoop::running() else {
            // Entered scopes run inside a task, so a loop is running.
            return Ok(());
        };
        let scope = self.clone();
        let expire = move || scope.on_timeout();
        let deadline = if when <= event_loop.time() {
            Deadline::Soon(event_loop.call_soon(expire))
        } else {
            Deadline::At(event_loop.call_at(when, expire))
        };
        *self.0.deadline.borrow_mut() = Some(deadline);
        Ok(())
    }

    /// `async with self: return await body`: runs `body` in the current task under this
    /// deadline. Gives [`Error::Timeout`] when the deadline cancelled the body and the
    /// cancellation came back out; any other outcome of `body` unchanged.
    pub async fn run<T, F>(&self, body: F) -> Result<T, Error>
    where
        F: std::future::Future<Output = Result<T, Error>>,
    {
        self.enter()?;
        let outcome = body.await;
        self.exit(outcome)
    }

    /// `Timeout.__aenter__`.
    fn enter(&self) -> Result<(), TimeoutStateError> {
        if self.0.state.get() != State::Created {
            return Err(TimeoutStateError::AlreadyEntered);
        }
        let task = tasks::current().ok_or(TimeoutStateError::NotInTask)?;
        self.0.state.set(State::Entered);
        self.0.cancelling.set(task.cancelling());
        *self.0.task.borrow_mut() = Some(task);
        self.reschedule(self.0.when.get())
    }

    /// `Timeout.__aexit__`.
    fn exit<T>(&self, outcome: Result<T, Error>) -> Result<T, Error> {
        if let Some(deadline) = self.0.deadline.borrow_mut().take() {
            deadline.cancel();
        }
        let task = self.0.task.borrow_mut().take();
        match self.0.state.get() {
            State::Expiring => {
                self.0.state.set(State::Expired);
                let ours_alone =
                    task.is_some_and(|task| task.uncancel() <= self.0.cancelling.get());
                if ours_alone && matches!(outcome, Err(Error::Cancelled)) {
                    return Err(Error::Timeout);
                }
            }
            State::Entered => self.0.state.set(State::Exited),
            _ => {}
        }
        outcome
    }

    /// `Timeout._on_timeout`: the deadline passed; cancel the task running the scope.
    fn on_timeout(&self) {
        if self.0.state.get() != State::Entered {
            return;
        }
        if let Some(task) = self.0.task.borrow().as_ref() {
            task.cancel();
        }
        self.0.state.set(State::Expiring);
        self.0.deadline.borrow_mut().take();
    }
}

impl fmt::Debug for Timeout {
    /// `<Timeout [active] when=12.5>`, as CPython's `Timeout.__repr__`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.0.state.get();
        match (state, self.0.when.get()) {
            (State::Entered, Some(when)) => {
                write!(f, "<Timeout [{}] when={when:.3}>", state.value())
            }
            (State::Entered, None) => write!(f, "<Timeout [{}] when=None>", state.value()),
            _ => write!(f, "<Timeout [{}]>", state.value()),
        }
    }
}
