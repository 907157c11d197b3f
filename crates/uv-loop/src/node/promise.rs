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
//! - A pending promise holds its reactions; a reaction holds the promise it reacts to only
//!   from its settling on (given by `settle`, or by `add_reaction`'s caller when the promise
//!   had settled already), as a PromiseReactionJob gets its argument when it is queued. So a
//!   promise that never settles, once nothing else reaches it, goes with its reactions
//!   (JavaScript's collector frees both; a reaction that held it would make a cycle).
//! - A `then` whose handler fulfilled its promise, when nothing but its own job refers to
//!   that promise and no reaction waits on it, goes back to the spare without settling:
//!   nothing could ever read the value or add a reaction, so the settle is not observable.
//!   A rejection always settles (an unhandled one must be reported).
//!
//! ```text
//!   pending ──resolve(v)──> fulfilled(v) ──> each reaction: microtask(handler(v))
//!      └─────reject(e)───> rejected(e)  ──> each reaction: microtask(handler(Err(e)))
//!                                        └─ no reaction: maybe unhandled (checked after drain)
//! ```
//!
//! Values are Rust values; a reaction receives a clone, so `T: Clone` (a JavaScript value is a
//! reference: wrap large values in `Rc`). A reaction is one allocation: its job, which reads
//! the settled value from the promise when it runs (see the last invariant). A promise
//! object that nothing refers to any more when its work is done (a derived promise nobody
//! kept, after its reaction ran; an awaited promise, when its `await` completes) is reset and
//! kept as the environment's spare ([`super::spare`]): the next promise of the same type
//! takes it instead of allocating.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{Future, IntoFuture};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::ptr::addr_of_mut;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::async_fn::AwaitInTask;
use super::spare::{put_spare, take_spare};
use super::task_queues::{
    enqueue_reaction, enqueue_settled_reaction, once_job, Job, Rejection, SharedJob,
};
use super::{with_env, JsError};

/// `repr(u8)`: a tag of its own, read with one compare, where the niche in `rest`'s capacity
/// that the compiler would use takes a few instructions to decode on every `result`.
#[repr(u8)]
enum State<T> {
    /// The reactions, in the order they were added, each with its `seq` (see
    /// [`Promise::add_reaction`]); the first apart, since most promises get one.
    Pending {
        first: Option<Job>,
        first_seq: u64,
        rest: Vec<(Job, u64)>,
    },
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
    /// Back to a new promise's state, dropping the old value (for [`put_spare`]).
    fn reset(&mut self) {
        let state = self.state.get_mut();
        if matches!(state, State::Fulfilled(_)) && !std::mem::needs_drop::<T>() {
            // A fulfilled value with nothing to drop (a number, `()`): skip the generic drop of
            // the old state; forgetting it leaks nothing.
            std::mem::forget(std::mem::replace(state, PromiseCell::<T>::fresh_state()));
        } else {
            *state = PromiseCell::<T>::fresh_state();
        }
        self.handled.set(false);
        self.resolved.set(false);
    }

    /// Pending, and no reaction was ever added (the reactions never allocated their list).
    #[inline(always)]
    fn is_pending_without_reactions(&mut self) -> bool {
        matches!(self.state.get_mut(), State::Pending { first: None, rest, .. } if rest.capacity() == 0)
    }

    /// [`PromiseCell::reset`] of a promise that [`PromiseCell::is_pending_without_reactions`]:
    /// its state is a fresh one already.
    #[inline(always)]
    fn reset_unsettled(&mut self) {
        if let State::Pending { first_seq, .. } = self.state.get_mut() {
            *first_seq = 0;
        }
        self.handled.set(false);
        self.resolved.set(false);
    }

    #[inline(always)]
    fn fresh_state() -> State<T> {
        State::Pending {
            first: None,
            first_seq: 0,
            rest: Vec::new(),
        }
    }

    fn new() -> PromiseCell<T> {
        PromiseCell {
            state: RefCell::new(PromiseCell::<T>::fresh_state()),
            handled: Cell::new(false),
            resolved: Cell::new(false),
        }
    }
}

/// What a [`Promise`] points at: a plain promise, or one derived by `then`, which is also
/// its own reaction job (one allocation for both).
///
/// # Safety
///
/// An implementor is a `PromiseCell<T>` or a `#[repr(C)]` struct whose first field is its
/// `PromiseCell<T>`: [`Promise::cell`] reads the cell at the object's address, with no call
/// through the vtable (the promise paths ask for the cell several times per reaction).
unsafe trait PromiseObject<T> {
    fn into_rejection(self: Rc<Self>) -> Rc<dyn Rejection>;

    /// Resets the object and keeps it as the environment's spare, when nothing else refers
    /// to it (otherwise just drops this reference).
    fn recycle(self: Rc<Self>);
}

// SAFETY: the object is the cell itself.
unsafe impl<T: Clone + 'static> PromiseObject<T> for PromiseCell<T> {
    fn into_rejection(self: Rc<Self>) -> Rc<dyn Rejection> {
        self
    }

    fn recycle(mut self: Rc<Self>) {
        if let Some(cell) = Rc::get_mut(&mut self) {
            cell.reset();
            put_spare(self);
        }
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
/// outcome and settles itself. `#[repr(C)]` with the cell first: see [`PromiseObject`].
#[repr(C)]
struct Derived<T, S, F> {
    cell: PromiseCell<T>,
    source: RefCell<Option<Promise<S>>>,
    handler: Cell<Option<F>>,
}

// SAFETY: `Derived` is `#[repr(C)]` and its first field is its `PromiseCell<T>`.
unsafe impl<T, S, F> PromiseObject<T> for Derived<T, S, F>
where
    T: Clone + 'static,
    S: Clone + 'static,
    F: FnOnce(Result<S, JsError>, &Promise<T>) -> Option<Result<T, JsError>> + 'static,
{
    fn into_rejection(self: Rc<Self>) -> Rc<dyn Rejection> {
        self
    }

    fn recycle(self: Rc<Self>) {
        Derived::recycle_derived(self);
    }
}

impl<T, S, F> Derived<T, S, F>
where
    T: Clone + 'static,
    S: Clone + 'static,
    F: FnOnce(Result<S, JsError>, &Promise<T>) -> Option<Result<T, JsError>> + 'static,
{
    /// [`PromiseObject::recycle`] with the type known: [`SharedJob::run`] calls it directly
    /// (through the `Promise` it hands the handler, it would be a call through the vtable).
    #[inline(always)]
    fn recycle_derived(mut self: Rc<Self>) {
        if let Some(derived) = Rc::get_mut(&mut self) {
            derived.cell.reset();
            *derived.source.get_mut() = None;
            *derived.handler.get_mut() = None;
            put_spare(self);
        }
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
    F: FnOnce(Result<S, JsError>, &Promise<T>) -> Option<Result<T, JsError>> + 'static,
{
    fn source_settled(&self, source: &dyn Any) {
        if let Some(source) = source.downcast_ref::<Promise<S>>() {
            *self.source.borrow_mut() = Some(source.clone());
        }
    }

    fn run(self: Rc<Self>, _seq: u64) {
        let Some(handler) = self.handler.take() else {
            return;
        };
        // Read in place: a fat `Promise` taken out onto the stack is reloaded wider than it
        // was stored there (a store-forwarding stall on every reaction).
        let outcome = self.source.borrow().as_ref().and_then(Promise::result);
        drop(self.source.take());
        let Some(outcome) = outcome else {
            return;
        };
        // The handler gets the promise as a `Promise<T>` (the type erased) while this job
        // keeps its own `Rc<Self>`: recycled below without a call through the vtable.
        let target: Promise<T> = Promise(self.clone());
        let settled = handler(outcome, &target);
        drop(target);
        let mut this = self;
        match settled {
            Some(Ok(value)) => {
                // Fulfilled, nothing else refers to the promise (a `then` whose promise nobody
                // kept) and no reaction waits on it: nothing can ever add one or read it, so
                // its fulfillment cannot be observed. It goes back to the spare unsettled. A
                // rejection always settles (an unhandled one is reported).
                if let Some(derived) = Rc::get_mut(&mut this) {
                    if derived.cell.is_pending_without_reactions() {
                        // `source` and `handler` were taken above, and only `derive` puts
                        // them back, into the spare: both are `None`.
                        derived.cell.reset_unsettled();
                        put_spare(this);
                        drop(value);
                        return;
                    }
                }
                Promise(this.clone()).settle(Ok(value));
            }
            Some(outcome) => Promise(this.clone()).settle(outcome),
            // The handler resolved the promise itself (`then_promise`, `finally`).
            None => {}
        }
        // Usually the last reference: the object becomes the spare for the next `then` of
        // this type.
        if Rc::strong_count(&this) == 1 {
            this.recycle_derived();
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

impl<T> Promise<T> {
    /// The promise's cell, at the object's address (see [`PromiseObject`]).
    #[inline]
    fn cell(&self) -> &PromiseCell<T> {
        let object: *const dyn PromiseObject<T> = Rc::as_ptr(&self.0);
        // SAFETY: every `PromiseObject<T>` is a `PromiseCell<T>` or starts with one (the
        // trait's contract), so the object's address is its cell's; the `Rc` in `self` keeps
        // it alive for as long as the returned borrow of `self`.
        unsafe { &*object.cast::<PromiseCell<T>>() }
    }
}

impl<T> fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &*self.cell().state.borrow() {
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
    #[inline]
    fn pending() -> Promise<T> {
        if let Some(spare) = take_spare::<PromiseCell<T>>() {
            return Promise(spare);
        }
        // Written in place: `Rc::new(PromiseCell::new())` builds the cell on the stack and
        // copies it, reloading its flags wider than they were stored (a stall, see `derive`).
        let mut uninit = Rc::new(MaybeUninit::<PromiseCell<T>>::uninit());
        let Some(slot) = Rc::get_mut(&mut uninit) else {
            unreachable!("a new Rc has no other reference")
        };
        slot.write(PromiseCell::new());
        // SAFETY: the value was written above.
        Promise(unsafe { uninit.assume_init() })
    }

    /// A pending promise and its resolving functions (`Promise.withResolvers()`).
    #[inline]
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
    #[inline]
    pub fn then<U: Clone + 'static>(
        &self,
        on_fulfilled: impl FnOnce(T) -> U + 'static,
    ) -> Promise<U> {
        self.derive(move |outcome, _: &Promise<U>| Some(outcome.map(on_fulfilled)))
    }

    /// `promise.then(onFulfilled, onRejected)` in one function: it gets the outcome and
    /// returns the derived promise's (an `Err` is a throw inside the handler).
    #[inline]
    pub fn then_result<U: Clone + 'static>(
        &self,
        handler: impl FnOnce(Result<T, JsError>) -> Result<U, JsError> + 'static,
    ) -> Promise<U> {
        self.derive(move |outcome, _: &Promise<U>| Some(handler(outcome)))
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
            Ok(value) => {
                Resolver(target.clone()).resolve_with(on_fulfilled(value));
                None
            }
            Err(error) => Some(Err(error)),
        })
    }

    /// `promise.finally(onFinally)` (V8's `thenFinally` and `catchFinally`): `on_finally` runs
    /// in the reaction job once this promise settles, and the returned promise settles as this
    /// one did in the third microtask after that job (`PromiseResolve(C, onFinally())`'s
    /// `.then(() => value)`, the thenable job, its reaction).
    pub(crate) fn finally(&self, on_finally: impl FnOnce() + 'static) -> Promise<T> {
        self.derive(move |outcome, target: &Promise<T>| {
            on_finally();
            let settled = Promise::resolve(()).then_result(move |_| outcome);
            Resolver(target.clone()).resolve_with(settled);
            None
        })
    }

    /// `PerformPromiseThen` with a derived promise that is its own reaction job.
    #[inline]
    fn derive<U: Clone + 'static>(
        &self,
        handler: impl FnOnce(Result<T, JsError>, &Promise<U>) -> Option<Result<U, JsError>> + 'static,
    ) -> Promise<U> {
        if let Some(mut spare) = take_spare::<Derived<U, T, _>>() {
            if let Some(derived) = Rc::get_mut(&mut spare) {
                *derived.handler.get_mut() = Some(handler);
                if self.add_reaction(Job::new(spare.clone()), 0) {
                    *spare.source.borrow_mut() = Some(self.clone());
                }
                return Promise(spare);
            }
        }
        // The derived promise is written field by field into its allocation. `Rc::new` of the
        // whole struct builds it on the stack and copies it (136 bytes and more) with wide
        // loads of fields just stored narrow: a store-forwarding stall on every `then` on this
        // CPU (AMD EPYC), measured as ~10% of a reaction.
        let mut uninit = Rc::new(MaybeUninit::<Derived<U, T, _>>::uninit());
        let Some(slot) = Rc::get_mut(&mut uninit) else {
            unreachable!("a new Rc has no other reference")
        };
        let derived = slot.as_mut_ptr();
        // SAFETY: `derived` points to the new, unshared allocation's value; each field is
        // written once, in place, before anything reads it.
        unsafe {
            addr_of_mut!((*derived).cell).write(PromiseCell::new());
            addr_of_mut!((*derived).source).write(RefCell::new(None));
            addr_of_mut!((*derived).handler).write(Cell::new(Some(handler)));
        }
        // SAFETY: every field was written above.
        let derived = unsafe { uninit.assume_init() };
        // The source is held from the moment it is settled (here, or by `settle`).
        if self.add_reaction(Job::new(derived.clone()), 0) {
            *derived.source.borrow_mut() = Some(self.clone());
        }
        Promise(derived)
    }

    /// `PerformPromiseThen` without a derived promise: `job` runs as a microtask once this
    /// promise settles (at once if it has). Marks the promise handled. `seq` goes with the
    /// job into the microtask queue and back to it as it runs ([`SharedJob::run`]): a task's
    /// `await` numbers its reactions with it.
    ///
    /// Returns whether the promise was settled already (the job is queued): a job that
    /// reads the outcome takes its reference to the promise then, as `settle` gives it one
    /// otherwise ([`SharedJob::source_settled`]).
    #[inline(always)]
    pub(crate) fn add_reaction(&self, job: Job, seq: u64) -> bool {
        let cell = self.cell();
        cell.handled.set(true);
        let mut state = cell.state.borrow_mut();
        match &mut *state {
            State::Pending {
                first,
                first_seq,
                rest,
            } => {
                if first.is_none() {
                    *first = Some(job);
                    *first_seq = seq;
                } else {
                    rest.push((job, seq));
                }
                false
            }
            _ => {
                drop(state);
                enqueue_reaction(job, seq);
                true
            }
        }
    }

    /// FulfillPromise / RejectPromise: settle and queue the reactions.
    #[inline]
    fn settle(&self, outcome: Result<T, JsError>) {
        let cell = self.cell();
        let rejected = outcome.is_err();
        let (first, first_seq) = {
            let mut state = cell.state.borrow_mut();
            let State::Pending {
                first,
                first_seq,
                rest,
            } = &mut *state
            else {
                return;
            };
            if rest.capacity() != 0 {
                drop(state);
                self.settle_with_many_reactions(outcome);
                return;
            }
            // Most promises get one reaction or none. It is taken out in place (moving the
            // whole pending state out copies it through the stack and then runs its drop
            // glue), which leaves a pending state with no job and a `Vec` that never
            // allocated: forgetting it leaks nothing. The new state is built inside the
            // replace (built first and moved in, it makes a stack copy that this CPU reloads
            // wider than it stored: a store-forwarding stall).
            let reaction = (first.take(), *first_seq);
            match outcome {
                Ok(value) => {
                    std::mem::forget(std::mem::replace(&mut *state, State::Fulfilled(value)))
                }
                Err(error) => {
                    std::mem::forget(std::mem::replace(&mut *state, State::Rejected(error)))
                }
            }
            reaction
        };
        cell.resolved.set(true);
        match first {
            Some(first) => enqueue_settled_reaction(first, first_seq, self),
            None => {
                if rejected && !cell.handled.get() {
                    with_env(|env| {
                        env.queues
                            .reject_with_no_handler(self.0.clone().into_rejection())
                    });
                }
            }
        }
    }

    /// [`Promise::settle`] of a pending promise with more than one reaction.
    #[cold]
    #[inline(never)]
    fn settle_with_many_reactions(&self, outcome: Result<T, JsError>) {
        let cell = self.cell();
        let old = {
            let mut state = cell.state.borrow_mut();
            match outcome {
                Ok(value) => std::mem::replace(&mut *state, State::Fulfilled(value)),
                Err(error) => std::mem::replace(&mut *state, State::Rejected(error)),
            }
        };
        cell.resolved.set(true);
        if let State::Pending {
            first,
            first_seq,
            rest,
        } = old
        {
            for (job, seq) in first.map(|job| (job, first_seq)).into_iter().chain(rest) {
                enqueue_settled_reaction(job, seq, self);
            }
        }
    }
}

impl<T: Clone + 'static> Resolver<T> {
    /// Fulfills the promise with `value`, unless it was already resolved.
    #[inline]
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
            env.queues.enqueue_microtask(once_job(move || {
                let follow = Rc::new(Follow {
                    target,
                    source: RefCell::new(None),
                });
                if other.add_reaction(Job::new(follow.clone()), 0) {
                    *follow.source.borrow_mut() = Some(other);
                }
            }));
        });
    }

    /// The promise this resolves.
    pub fn promise(&self) -> Promise<T> {
        self.0.clone()
    }
}

/// The reaction of [`Resolver::resolve_with`] on the promise followed: settles `target` as
/// the source settled. Like a [`Derived`], it holds the source only once it has settled.
struct Follow<T> {
    target: Promise<T>,
    source: RefCell<Option<Promise<T>>>,
}

impl<T: Clone + 'static> SharedJob for Follow<T> {
    fn source_settled(&self, source: &dyn Any) {
        if let Some(source) = source.downcast_ref::<Promise<T>>() {
            *self.source.borrow_mut() = Some(source.clone());
        }
    }

    fn run(self: Rc<Self>, _seq: u64) {
        let outcome = self.source.take().and_then(|source| source.result());
        if let Some(outcome) = outcome {
            self.target.settle(outcome);
        }
    }
}

/// The future of `promise.await`: ready one microtask after the promise settles (V8's
/// `await` on a native promise, since the 2019 "faster async functions" change).
pub struct PromiseFuture<T> {
    /// `None` once the future has returned `Ready` (the promise went back to the spare).
    promise: Option<Promise<T>>,
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
    fn run(self: Rc<Self>, _seq: u64) {
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
            promise: Some(self),
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

/// Adds the reaction of an `await` of `promise` polled with `waker`: the task itself when
/// `waker` is the polling task's, else an [`AwaitReaction`].
#[inline(always)]
fn register_await<T: Clone + 'static>(promise: &Promise<T>, waker: &Waker) -> AwaitState {
    if let Some((job, seq, await_in_task)) = AwaitInTask::register(waker) {
        promise.add_reaction(job, seq);
        return AwaitState::InTask(await_in_task);
    }
    let reaction = Rc::new(AwaitReaction {
        fired: Cell::new(false),
        waker: RefCell::new(Some(waker.clone())),
    });
    promise.add_reaction(Job::new(reaction.clone()), 0);
    AwaitState::Reaction(reaction)
}

impl<T: Clone + 'static> Future for PromiseFuture<T> {
    type Output = Result<T, JsError>;

    /// Polled again after `Ready`, it stays `Pending` (its promise went back to the spare).
    /// Inlined into the `await`, whose state machine calls it twice per await.
    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let Some(promise) = &this.promise else {
            return Poll::Pending;
        };
        let fired = match &this.state {
            AwaitState::Unregistered => {
                this.state = register_await(promise, cx.waker());
                return Poll::Pending;
            }
            AwaitState::InTask(await_in_task) => match await_in_task.fired() {
                Some(fired) => fired,
                None => {
                    // Moved out of the task that registered it: its reaction resumes that
                    // task, so it waits for a reaction of its own.
                    this.state = register_await(promise, cx.waker());
                    return Poll::Pending;
                }
            },
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
        if !fired {
            return Poll::Pending;
        }
        let Some(outcome) = promise.result() else {
            return Poll::Pending;
        };
        // An awaited promise is mostly referenced by this future alone by now (its resolver
        // was used and dropped): it becomes the spare for the next promise of its type.
        if let Some(promise) = this.promise.take() {
            if Rc::strong_count(&promise.0) == 1 {
                promise.0.recycle();
            }
        }
        Poll::Ready(outcome)
    }
}
