//! `events.once(emitter, name, { signal })` (Node lib/events.js): a promise of the next event.
//!
//! Invariants:
//! - A signal aborted already: the promise is rejected at once with an [`AbortError`] caused
//!   by the signal's reason (the `async` function throws before adding anything).
//! - Otherwise three listeners are added, in this order: a once listener on `name` (it
//!   resolves), a once listener on `error` unless `name` is `error` (it rejects with the
//!   error's payload), and a listener on the signal's `abort` (it rejects with an
//!   [`AbortError`]). Whichever runs first removes the other two, then settles the inner
//!   promise.
//! - `once` is an `async` function that returns the inner promise, so the promise it
//!   returns follows the inner one through NewPromiseResolveThenableJob: it settles one
//!   microtask after the inner one, or two when the event comes before the first microtask
//!   checkpoint after the call (`events_once` fixture).
//!
//! ```text
//!   once(e, name):  e.once(name, resolver)   e.once('error', error_listener)
//!                   signal.add_event_listener(abort_listener)
//!   resolver(a):        off('error', error_listener), signal listener off, resolve(a)
//!   error_listener(x):  off(name, resolver),          signal listener off, reject(x)
//!   abort_listener:     off(name, resolver), off('error', error_listener),
//!                       reject(AbortError { cause: reason })
//!   returned = async promise ──resolve_with──> inner
//! ```
//!
//! Ownership: the emitter and the signal hold the listeners; the listeners hold the shared
//! state, which holds the emitter and the signal weakly: no cycle.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

use super::{error, EventEmitter, Listener, WeakEventEmitter};
use crate::node::abort::WeakSignal;
use crate::{AbortError, AbortListener, AbortSignal, JsError, Promise};

/// The options of [`once`] (`{ signal }`).
#[derive(Clone, Debug, Default)]
pub struct OnceOptions {
    /// `signal`: aborting it rejects the promise with an [`AbortError`] and removes the
    /// listeners.
    pub signal: Option<AbortSignal>,
}

/// What the three listeners share: the emitter, the signal and each other's handles.
struct OnceState<A> {
    emitter: WeakEventEmitter<A>,
    name: String,
    signal: Option<WeakSignal>,
    resolver: Cell<Option<Listener>>,
    error_listener: Cell<Option<Listener>>,
    abort_listener: RefCell<Option<AbortListener>>,
}

impl<A: Clone + fmt::Debug + 'static> OnceState<A> {
    fn remove_resolver(&self) {
        if let (Some(emitter), Some(handle)) = (self.emitter.upgrade(), self.resolver.get()) {
            emitter.off(&self.name, &handle);
        }
    }

    fn remove_error_listener(&self) {
        let handle = self.error_listener.get();
        if let (Some(emitter), Some(handle)) = (self.emitter.upgrade(), handle) {
            emitter.off("error", &handle);
        }
    }

    fn remove_abort_listener(&self) {
        let signal = self.signal.as_ref().and_then(WeakSignal::upgrade);
        let listener = self.abort_listener.borrow().clone();
        if let (Some(signal), Some(listener)) = (signal, listener) {
            signal.remove_event_listener(&listener);
        }
    }
}

/// `events.once(emitter, name, { signal })`: a promise fulfilled with the payload of the next
/// `name` event, rejected with the payload of an `error` event that comes first (as is, when
/// it is a [`JsError`], else as an [`ErrorValue`](super::ErrorValue)), or with an
/// [`AbortError`] when `signal` aborts first.
pub fn once<A: Clone + fmt::Debug + 'static>(
    emitter: &EventEmitter<A>,
    name: &str,
    options: OnceOptions,
) -> Promise<A> {
    let OnceOptions { signal } = options;
    if let Some(reason) = signal.as_ref().and_then(AbortSignal::reason) {
        return Promise::reject(JsError::new(AbortError {
            cause: Some(reason),
        }));
    }
    let (inner, resolve) = Promise::with_resolvers();
    let state = Rc::new(OnceState {
        emitter: emitter.downgrade(),
        name: name.to_owned(),
        signal: signal.as_ref().map(AbortSignal::downgrade),
        resolver: Cell::new(None),
        error_listener: Cell::new(None),
        abort_listener: RefCell::new(None),
    });
    let (shared, resolver) = (state.clone(), resolve.clone());
    let handle = emitter.once(name, move |payload| {
        shared.remove_error_listener();
        shared.remove_abort_listener();
        resolver.resolve(payload.clone());
    });
    state.resolver.set(Some(handle));
    if name != "error" {
        let (shared, resolver) = (state.clone(), resolve.clone());
        let handle = emitter.once("error", move |payload| {
            shared.remove_resolver();
            shared.remove_abort_listener();
            resolver.reject(error::rejection(payload));
        });
        state.error_listener.set(Some(handle));
    }
    if let Some(signal) = &signal {
        let shared = state.clone();
        let listener = signal.add_event_listener(move |signal| {
            shared.remove_resolver();
            shared.remove_error_listener();
            resolve.reject(JsError::new(AbortError {
                cause: signal.reason(),
            }));
        });
        *state.abort_listener.borrow_mut() = Some(listener);
    }
    let (returned, async_resolver) = Promise::with_resolvers();
    async_resolver.resolve_with(inner);
    returned
}
