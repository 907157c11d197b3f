//! `timers/promises`: setTimeout and setImmediate as promises (Node lib/timers/promises.js).
//!
//! Invariants:
//! - A signal aborted already: the promise is rejected at once with an [`AbortError`] whose
//!   cause is the signal's reason, and no timer is armed.
//! - Otherwise a timer (an immediate) is armed exactly as `setTimeout` (`setImmediate`) arms
//!   one, and unreferenced with `ref: false`; it resolves the inner promise with the value.
//! - With a signal, an abort listener clears the timer and rejects the inner promise with an
//!   [`AbortError`] caused by the signal's reason. The promise returned is then
//!   `SafePromisePrototypeFinally(inner, removeListener)` (Node's primordials): it settles as
//!   the inner one did, six microtasks later, and removes the listener on the way. Without a
//!   signal the inner promise is returned, and settles as the timer fires.
//!
//! ```text
//!   inner ──then──> S ──finally(remove listener)──> F ──then──> returned
//!     1 job           1 job, +3 (PromiseResolve.then,            1 job
//!                     the thenable job, its reaction)
//! ```
//!
//! Ownership: the signal holds the listener, which holds the timer and the inner promise's
//! resolver; the `finally` step holds the signal weakly, so nothing here forms a cycle.

use super::abort::{AbortError, AbortSignal};
use super::immediate::{clear_immediate, set_immediate};
use super::promise::{Promise, Resolver};
use super::timers::{clear_timeout, set_timeout};
use super::JsError;

/// The options of [`set_timeout_promise`] and [`set_immediate_promise`]
/// (`{ signal, ref }`).
#[derive(Clone, Debug)]
pub struct TimerOptions {
    /// `signal`: aborting it rejects the promise with an [`AbortError`] and clears the timer.
    pub signal: Option<AbortSignal>,
    /// `ref`: whether the timer keeps the loop alive (default `true`).
    pub ref_: bool,
}

impl Default for TimerOptions {
    fn default() -> TimerOptions {
        TimerOptions {
            signal: None,
            ref_: true,
        }
    }
}

/// `require('timers/promises').setTimeout(delay, value, { signal, ref })`: a promise fulfilled
/// with `value` after `delay` ms (coerced as [`set_timeout`] coerces it), or rejected with an
/// [`AbortError`] when `signal` aborts first.
pub fn set_timeout_promise<T: Clone + 'static>(
    delay: impl Into<f64>,
    value: T,
    options: TimerOptions,
) -> Promise<T> {
    let TimerOptions { signal, ref_ } = options;
    if let Some(reason) = signal.as_ref().and_then(AbortSignal::reason) {
        return Promise::reject(abort_error(Some(reason)));
    }
    let (inner, resolver) = Promise::with_resolvers();
    let resolve = resolver.clone();
    let timeout = set_timeout(move || resolve.resolve(value), delay);
    if !ref_ {
        timeout.unref();
    }
    match signal {
        None => inner,
        Some(signal) => cancel_on_abort(&signal, inner, resolver, move || clear_timeout(&timeout)),
    }
}

/// `require('timers/promises').setImmediate(value, { signal, ref })`: a promise fulfilled with
/// `value` in the check phase, or rejected with an [`AbortError`] when `signal` aborts first.
pub fn set_immediate_promise<T: Clone + 'static>(value: T, options: TimerOptions) -> Promise<T> {
    let TimerOptions { signal, ref_ } = options;
    if let Some(reason) = signal.as_ref().and_then(AbortSignal::reason) {
        return Promise::reject(abort_error(Some(reason)));
    }
    let (inner, resolver) = Promise::with_resolvers();
    let resolve = resolver.clone();
    let immediate = set_immediate(move || resolve.resolve(value));
    if !ref_ {
        immediate.unref();
    }
    match signal {
        None => inner,
        Some(signal) => cancel_on_abort(&signal, inner, resolver, move || {
            clear_immediate(&immediate)
        }),
    }
}

/// `new AbortError(undefined, { cause })`, as a thrown value.
fn abort_error(cause: Option<JsError>) -> JsError {
    JsError::new(AbortError { cause })
}

/// `cancelListenerHandler` on `signal`, and the `finally` that removes it again.
fn cancel_on_abort<T: Clone + 'static>(
    signal: &AbortSignal,
    inner: Promise<T>,
    resolver: Resolver<T>,
    clear: impl FnOnce() + 'static,
) -> Promise<T> {
    let listener = signal.add_event_listener(move |signal| {
        clear();
        resolver.reject(abort_error(signal.reason()));
    });
    let weak = signal.downgrade();
    inner
        .then_result(|outcome| outcome)
        .finally(move || {
            if let Some(signal) = weak.upgrade() {
                signal.remove_event_listener(&listener);
            }
        })
        .then_result(|outcome| outcome)
}
