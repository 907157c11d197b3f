//! `Promise.all`, `Promise.allSettled`, `Promise.race` and `Promise.any`, after ECMAScript's
//! `PerformPromiseAll` and its siblings (V8's builtins follow them step for step).
//!
//! ```text
//!   combinator(promises):  result = new promise
//!     each promise p, in order: p.then(onFulfilled, onRejected)   (one reaction job each, queued
//!                                                                  at once for a settled p)
//!     all:        fulfilled: store the value; the last one resolves result with the values
//!                 rejected:  reject result (later settlements are ignored)
//!     allSettled: every outcome stored; the last one resolves result with them all
//!     race:       the first settlement settles result
//!     any:        the first fulfilment resolves result; the last rejection rejects it with an
//!                 AggregateError of every error, in order
//!   no promises:  all and allSettled resolve at once with nothing; any rejects at once; race
//!                 stays pending for ever
//! ```
//!
//! A promise of the list that is already settled queues its reaction job at once, so the
//! combinator's result settles in that job, one microtask after the call, and its own
//! reactions run a microtask later (tests/ordering_promises.rs: `combinators`, recorded from
//! Node). `Promise.resolve(p)` of a native promise is `p` itself, so no tick is added for it.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

use super::promise::Promise;
use super::JsError;

/// The rejection of [`Promise::any`] when every promise was rejected (JavaScript's
/// `AggregateError`): their errors, in the order of the promises.
#[derive(Clone, Debug)]
pub struct AggregateError {
    /// One error per promise, in order.
    pub errors: Vec<JsError>,
}

impl fmt::Display for AggregateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AggregateError: All promises were rejected")
    }
}

impl std::error::Error for AggregateError {}

/// The values of `slots`, all filled by now.
fn filled<V: Clone>(slots: &RefCell<Vec<Option<V>>>) -> Vec<V> {
    slots.borrow_mut().drain(..).flatten().collect()
}

/// The loop of `all` and `allSettled`: each outcome, through `slot`, either fills its slot
/// (the last one resolves the result with them all, in order) or rejects the result at once.
fn collect_all<T: Clone + 'static, V: Clone + 'static>(
    promises: Vec<Promise<T>>,
    slot: impl Fn(Result<T, JsError>) -> Result<V, JsError> + Clone + 'static,
) -> Promise<Vec<V>> {
    let (result, resolver) = Promise::with_resolvers();
    if promises.is_empty() {
        resolver.resolve(Vec::new());
        return result;
    }
    let slots = Rc::new(RefCell::new(vec![None; promises.len()]));
    let remaining = Rc::new(Cell::new(promises.len()));
    for (index, promise) in promises.into_iter().enumerate() {
        let (slots, remaining, resolver, slot) = (
            slots.clone(),
            remaining.clone(),
            resolver.clone(),
            slot.clone(),
        );
        promise.then_result(move |outcome| {
            match slot(outcome) {
                Ok(value) => {
                    slots.borrow_mut()[index] = Some(value);
                    remaining.set(remaining.get() - 1);
                    if remaining.get() == 0 {
                        resolver.resolve(filled(&slots));
                    }
                }
                Err(error) => resolver.reject(error),
            }
            Ok(())
        });
    }
    result
}

impl<T: Clone + 'static> Promise<T> {
    /// `Promise.all(promises)`: fulfilled with every value, in order, once all are fulfilled;
    /// rejected with the first rejection.
    pub fn all(promises: Vec<Promise<T>>) -> Promise<Vec<T>> {
        collect_all(promises, |outcome| outcome)
    }

    /// `Promise.allSettled(promises)`: fulfilled with every outcome, in order, once all are
    /// settled; never rejected.
    pub fn all_settled(promises: Vec<Promise<T>>) -> Promise<Vec<Result<T, JsError>>> {
        collect_all(promises, Ok)
    }

    /// `Promise.race(promises)`: settled as the first of them to settle; pending for ever when
    /// there are none.
    pub fn race(promises: Vec<Promise<T>>) -> Promise<T> {
        let (result, resolver) = Promise::with_resolvers();
        for promise in promises {
            let resolver = resolver.clone();
            promise.then_result(move |outcome| {
                match outcome {
                    Ok(value) => resolver.resolve(value),
                    Err(error) => resolver.reject(error),
                }
                Ok(())
            });
        }
        result
    }

    /// `Promise.any(promises)`: fulfilled with the first value; rejected with an
    /// [`AggregateError`] of every error, in order, once all are rejected (at once when there
    /// are none).
    pub fn any(promises: Vec<Promise<T>>) -> Promise<T> {
        let (result, resolver) = Promise::with_resolvers();
        if promises.is_empty() {
            resolver.reject(JsError::new(AggregateError { errors: Vec::new() }));
            return result;
        }
        let errors = Rc::new(RefCell::new(vec![None; promises.len()]));
        let remaining = Rc::new(Cell::new(promises.len()));
        for (index, promise) in promises.into_iter().enumerate() {
            let (errors, remaining, resolver) =
                (errors.clone(), remaining.clone(), resolver.clone());
            promise.then_result(move |outcome| {
                match outcome {
                    Ok(value) => resolver.resolve(value),
                    Err(error) => {
                        errors.borrow_mut()[index] = Some(error);
                        remaining.set(remaining.get() - 1);
                        if remaining.get() == 0 {
                            resolver.reject(JsError::new(AggregateError {
                                errors: filled(&errors),
                            }));
                        }
                    }
                }
                Ok(())
            });
        }
        result
    }
}
