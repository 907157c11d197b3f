//! Promises whose reactions are microtasks (ECMAScript's Promise as V8 runs it).
//!
//! Invariants:
//! - A promise settles once; later resolves and rejects are ignored (the spec's
//!   `alreadyResolved`).
//! - Each reaction (`then`, `catch`, an `await`) becomes one microtask when the promise
//!   settles, or at once if it already has, in the order the reactions were added.
//! - A handler function's value fulfills the derived promise at once; a promise returned by
//!   the handler ([`Promise::then_promise`]) takes two more microtasks
//!   (NewPromiseResolveThenableJob, then the inner promise's reaction), as in V8.
//! - A rejection with no reaction is reported to the task queues
//!   (`kPromiseRejectWithNoHandler`); adding a reaction later marks it handled.
//!
//! ```text
//!   pending ──resolve(v)──> fulfilled(v) ──> each reaction: microtask(handler(v))
//!      └─────reject(e)───> rejected(e)  ──> each reaction: microtask(handler(Err(e)))
//!                                        └─ no reaction: maybe unhandled (checked after drain)
//! ```
//!
//! Values are Rust values; a reaction receives a clone, so `T: Clone` (a JavaScript value is a
//! reference: wrap large values in `Rc`). A reaction is one allocation: its job, which reads
//! the settled value from the promise when it runs.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::async_fn::AwaitInTask;
use super::task_queues::{Job, Rejection, SharedJob};
use super::{with_env, JsError};

enum State<T> {
    Pending { first: Option<Job>, rest: Vec<Job> },
    Fulfilled(T),
    Rejected(JsError),
}

/// A promise's state (`[[PromiseState]]`, `[[PromiseFulfillReactions]]`, ...).
pub(crate) struct PromiseCell<T> {
    state: RefCell<State<T>>,
    /// `[[PromiseIsHandled]]`.
    handled: Cell<bool>,
    /// The resolving functions were used (`alreadyResolved`).
    resolved: Cell<bool>,
}

impl<T> PromiseCell<T> {
    fn new() -> PromiseCell<T> {
        PromiseCell {
            state: RefCell::new(State::Pending {
                first: None,
                rest: Vec::new(),
            }),
            handled: Cell::new(false),
            resolved: Cell::new(false),
        }
    }
}

/// What a [`Promise`] points at: a plain promise, or one derived by `then`, which is also
/// its own reaction job (one allocation for both).
trait PromiseObject<T> {
    fn cell(&self) -> &PromiseCell<T>;
    fn into_rejection(self: Rc<Self>) -> Rc<dyn Rejection>;
}

impl<T: Clone + 'static> PromiseObject<T> for PromiseCell<T> {
    fn cell(&self) -> &PromiseCell<T> {
        self
    }

    fn into_rejection(self: Rc<Self>) -> Rc<dyn Rejection> {
        self
    }
}

impl<T: Clone + 'static> Rejection for PromiseCell<T> {
    fn handled(&self) -> bool {
        self.handled.get()
    }

    fn reason(&self) -> Option<JsError> {
        match &*self.state.borrow() {
            State::Rejected(error) => Some(error.clone()),
            _ => None,
        }
    }
}

/// The promise `source.then(...)` returns, holding the reaction that settles it: when
/// `source` settles, this object is queued as the microtask, runs `handler` with `source`'s
/// outcome and settles itself.
struct Derived<T, S, F> {
    cell: PromiseCell<T>,
    source: Cell<Option<Promise<S>>>,
    handler: Cell<Option<F>>,
}

impl<T, S, F> PromiseObject<T> for Derived<T, S, F>
where
    T: Clone + 'static,
    S: Clone + 'static,
    F: FnOnce(Result<S, JsError>, &Promise<T>) + 'static,
{
    fn cell(&self) -> &PromiseCell<T> {
        &self.cell
    }

    fn into_rejection(self: Rc<Self>) -> Rc<dyn Rejection> {
        self
    }
}

impl<T, S, F> Rejection for Derived<T, S, F>
where
    T: Clone + 'static,
{
    fn handled(&self) -> bool {
        self.cell.handled()
    }

    fn reason(&self) -> Option<JsError> {
        self.cell.reason()
    }
}

impl<T, S, F> SharedJob for Derived<T, S, F>
where
    T: Clone + 'static,
    S: Clone + 'static,
    F: FnOnce(Result<S, JsError>, &Promise<T>) + 'static,
{
    fn run(self: Rc<Self>) {
        let (Some(source), Some(handler)) = (self.source.take(), self.handler.take()) else {
            return;
        };
        if let Some(outcome) = source.result() {
            drop(source);
            let target: Promise<T> = Promise(self);
            handler(outcome, &target);
        }
    }
}

/// A JavaScript-style promise of a `T` or a [`JsError`].
pub struct Promise<T>(Rc<dyn PromiseObject<T>>);

impl<T> Clone for Promise<T> {
    fn clone(&self) -> Self {
        Promise(self.0.clone())
    }
}

impl<T> fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &*self.0.cell().state.borrow() {
            State::Pending { .. } => "pending",
            State::Fulfilled(_) => "fulfilled",
            State::Rejected(_) => "rejected",
        };
        f.debug_struct("Promise").field("state", &state).finish()
    }
}

/// The resolving functions of a [`Promise`] (`resolve` and `reject` of its executor).
pub struct Resolver<T>(Promise<T>);

impl<T> Clone for Resolver<T> {
    fn clone(&self) -> Self {
        Resolver(self.0.clone())
    }
}

impl<T> fmt::Debug for Resolver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Resolver").field(&self.0).finish()
    }
}

impl<T: Clone + 'static> Promise<T> {
    fn pending() -> Promise<T> {
        Promise(Rc::new(PromiseCell::new()))
    }

    fn cell(&self) -> &PromiseCell<T> {
        self.0.cell()
    }

    /// A pending promise and its resolving functions (`Promise.withResolvers()`).
    pub fn with_resolvers() -> (Promise<T>, Resolver<T>) {
        let promise = Promise::pending();
        (promise.clone(), Resolver(promise))
    }

    /// `new Promise(executor)`: runs `executor` now with the resolving functions.
    pub fn new(executor: impl FnOnce(Resolver<T>)) -> Promise<T> {
        let (promise, resolver) = Promise::with_resolvers();
        executor(resolver);
        promise
    }

    /// A promise fulfilled with `value` (`Promise.resolve(value)`).
    pub fn resolve(value: T) -> Promise<T> {
        let promise = Promise::pending();
        promise.settle(Ok(value));
        promise
    }

    /// A promise rejected with `error` (`Promise.reject(error)`).
    pub fn reject(error: JsError) -> Promise<T> {
        let promise = Promise::pending();
        promise.settle(Err(error));
        promise
    }

    /// The settled value, if any.
    pub fn result(&self) -> Option<Result<T, JsError>> {
        match &*self.cell().state.borrow() {
            State::Pending { .. } => None,
            State::Fulfilled(value) => Some(Ok(value.clone())),
            State::Rejected(error) => Some(Err(error.clone())),
        }
    }

    /// `promise.then(onFulfilled)`: `on_fulfilled` runs as a microtask with the value; a
    /// rejection passes through to the returned promise.
    pub fn then<U: Clone + 'static>(
        &self,
        on_fulfilled: impl FnOnce(T) -> U + 'static,
    ) -> Promise<U> {
        self.derive(move |outcome, target: &Promise<U>| {
            target.settle(outcome.map(on_fulfilled));
        })
    }

    /// `promise.then(onFulfilled, onRejected)` in one function: it gets the outcome and
    /// returns the derived promise's (an `Err` is a throw inside the handler).
    pub fn then_result<U: Clone + 'static>(
        &self,
        handler: impl FnOnce(Result<T, JsError>) -> Result<U, JsError> + 'static,
    ) -> Promise<U> {
        self.derive(move |outcome, target: &Promise<U>| target.settle(handler(outcome)))
    }

    /// `promise.catch(onRejected)`.
    pub fn catch(&self, on_rejected: impl FnOnce(JsError) -> T + 'static) -> Promise<T> {
        self.then_result(move |result| Ok(result.unwrap_or_else(on_rejected)))
    }

    /// `promise.then(v => anotherPromise)`: the derived promise follows the returned one,
    /// two microtasks later than a plain value would (V8's thenable job).
    pub fn then_promise<U: Clone + 'static>(
        &self,
        on_fulfilled: impl FnOnce(T) -> Promise<U> + 'static,
    ) -> Promise<U> {
        self.derive(move |outcome, target: &Promise<U>| match outcome {
            Ok(value) => Resolver(target.clone()).resolve_with(on_fulfilled(value)),
            Err(error) => target.settle(Err(error)),
        })
    }

    /// `PerformPromiseThen` with a derived promise that is its own reaction job.
    fn derive<U: Clone + 'static>(
        &self,
        handler: impl FnOnce(Result<T, JsError>, &Promise<U>) + 'static,
    ) -> Promise<U> {
        let derived = Rc::new(Derived {
            cell: PromiseCell::new(),
            source: Cell::new(Some(self.clone())),
            handler: Cell::new(Some(handler)),
        });
        self.add_reaction(Job::Shared(derived.clone()));
        Promise(derived)
    }

    /// `PerformPromiseThen` without a derived promise: `job` runs as a microtask once this
    /// promise settles (at once if it has). Marks the promise handled.
    pub(crate) fn add_reaction(&self, job: Job) {
        let cell = self.cell();
        cell.handled.set(true);
        let mut state = cell.state.borrow_mut();
        match &mut *state {
            State::Pending { first, rest } => {
                if first.is_none() {
                    *first = Some(job);
                } else {
                    rest.push(job);
                }
            }
            _ => {
                drop(state);
                with_env(|env| env.queues.enqueue_microtask(job));
            }
        }
    }

    /// FulfillPromise / RejectPromise: settle and queue the reactions.
    fn settle(&self, outcome: Result<T, JsError>) {
        let cell = self.cell();
        let rejected = outcome.is_err();
        let new_state = match outcome {
            Ok(value) => State::Fulfilled(value),
            Err(error) => State::Rejected(error),
        };
        let old = {
            let mut state = cell.state.borrow_mut();
            if !matches!(&*state, State::Pending { .. }) {
                return;
            }
            std::mem::replace(&mut *state, new_state)
        };
        cell.resolved.set(true);
        let State::Pending { first, rest } = old else {
            return;
        };
        if first.is_none() && !rejected {
            return;
        }
        with_env(|env| {
            if let Some(first) = first {
                env.queues.enqueue_microtask(first);
                for job in rest {
                    env.queues.enqueue_microtask(job);
                }
            } else if rejected && !cell.handled.get() {
                env.queues
                    .reject_with_no_handler(self.0.clone().into_rejection());
            }
        });
    }
}

impl<T: Clone + 'static> Resolver<T> {
    /// Fulfills the promise with `value`, unless it was already resolved.
    pub fn resolve(&self, value: T) {
        if !self.0.cell().resolved.get() {
            self.0.settle(Ok(value));
        }
    }

    /// Rejects the promise with `error`, unless it was already resolved.
    pub fn reject(&self, error: JsError) {
        if !self.0.cell().resolved.get() {
            self.0.settle(Err(error));
        }
    }

    /// Resolves the promise with another promise: it follows `other`, through
    /// NewPromiseResolveThenableJob (one microtask) and then `other`'s reaction.
    pub fn resolve_with(&self, other: Promise<T>) {
        if self.0.cell().resolved.replace(true) {
            return;
        }
        let target = self.0.clone();
        with_env(|env| {
            env.queues.enqueue_microtask(Job::Once(Box::new(move || {
                let source = other.clone();
                other.add_reaction(Job::Once(Box::new(move || {
                    if let Some(outcome) = source.result() {
                        target.settle(outcome);
                    }
                })));
            })));
        });
    }

    /// The promise this resolves.
    pub fn promise(&self) -> Promise<T> {
        self.0.clone()
    }
}

/// The future of `promise.await`: ready one microtask after the promise settles (V8's
/// `await` on a native promise, since the 2019 "faster async functions" change).
pub struct PromiseFuture<T> {
    promise: Promise<T>,
    state: AwaitState,
}

enum AwaitState {
    Unregistered,
    /// Awaited by the task being polled; its reaction resumes the task.
    InTask(AwaitInTask),
    /// Awaited under some other waker (a combinator, another executor).
    Reaction(Rc<AwaitReaction>),
}

/// The reaction an `await` adds: the job that wakes the task, and the flag the future reads
/// on its next poll, in one allocation.
struct AwaitReaction {
    fired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl SharedJob for AwaitReaction {
    fn run(self: Rc<Self>) {
        self.fired.set(true);
        let waker = self.waker.borrow_mut().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T: Clone + 'static> IntoFuture for Promise<T> {
    type Output = Result<T, JsError>;
    type IntoFuture = PromiseFuture<T>;

    fn into_future(self) -> PromiseFuture<T> {
        PromiseFuture {
            promise: self,
            state: AwaitState::Unregistered,
        }
    }
}

impl<T> fmt::Debug for PromiseFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PromiseFuture")
            .field("promise", &self.promise)
            .finish()
    }
}

impl<T: Clone + 'static> Future for PromiseFuture<T> {
    type Output = Result<T, JsError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fired = match &self.state {
            AwaitState::Unregistered => {
                if let Some((job, await_in_task)) = AwaitInTask::register(cx.waker()) {
                    self.promise.add_reaction(job);
                    self.state = AwaitState::InTask(await_in_task);
                } else {
                    let reaction = Rc::new(AwaitReaction {
                        fired: Cell::new(false),
                        waker: RefCell::new(Some(cx.waker().clone())),
                    });
                    self.promise.add_reaction(Job::Shared(reaction.clone()));
                    self.state = AwaitState::Reaction(reaction);
                }
                return Poll::Pending;
            }
            AwaitState::InTask(await_in_task) => await_in_task.fired(),
            AwaitState::Reaction(reaction) => {
                if !reaction.fired.get() {
                    let mut waker = reaction.waker.borrow_mut();
                    if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        *waker = Some(cx.waker().clone());
                    }
                }
                reaction.fired.get()
            }
        };
        match self.promise.result() {
            Some(outcome) if fired => Poll::Ready(outcome),
            _ => Poll::Pending,
        }
    }
}
