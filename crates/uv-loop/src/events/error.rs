//! What an `error` event throws or rejects with: its payload itself when that is a [`JsError`]
//! (JavaScript's `er instanceof Error`), otherwise the payload wrapped, as Rust's throws and
//! rejections are [`JsError`]s where JavaScript's may be any value.

use std::any::Any;
use std::fmt;
use std::rc::Rc;

use crate::JsError;

/// A JavaScript value that is not an `Error`, thrown or rejected: the payload of an `error`
/// event that is not a [`JsError`]. [`events::once`](crate::events::once) rejects with it.
#[derive(Clone)]
pub struct ErrorValue {
    value: Rc<dyn Any>,
    /// `util.inspect(value)`; here the payload's `Debug`.
    inspected: String,
}

impl ErrorValue {
    /// The payload, if it is a `T`.
    pub fn downcast_ref<T: 'static>(&self) -> Option<&T> {
        self.value.downcast_ref()
    }

    /// The payload as Node's `util.inspect` shows it (here, its `Debug`).
    pub fn inspected(&self) -> &str {
        &self.inspected
    }
}

impl fmt::Debug for ErrorValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ErrorValue").field(&self.inspected).finish()
    }
}

impl fmt::Display for ErrorValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inspected)
    }
}

impl std::error::Error for ErrorValue {}

/// Node's `ERR_UNHANDLED_ERROR`: what `emit("error", payload)` throws when no `error` listener
/// is registered and the payload is not a [`JsError`]. `err.context` is the payload.
#[derive(Clone, Debug)]
pub struct UnhandledError {
    /// `err.context`: the payload of the `error` event.
    pub context: ErrorValue,
}

impl UnhandledError {
    /// `err.code`.
    pub const CODE: &'static str = "ERR_UNHANDLED_ERROR";

    /// `err.message`: `Unhandled error. (<payload>)`.
    pub fn message(&self) -> String {
        format!("Unhandled error. ({})", self.context.inspected)
    }
}

impl fmt::Display for UnhandledError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error [{}]: {}", Self::CODE, self.message())
    }
}

impl std::error::Error for UnhandledError {}

/// The `error` event's payload as a thrown value: the payload when it is a [`JsError`],
/// otherwise an [`ErrorValue`] holding a clone of it.
pub(crate) fn error_value<A: Clone + fmt::Debug + 'static>(
    payload: &A,
) -> Result<JsError, ErrorValue> {
    if let Some(error) = (payload as &dyn Any).downcast_ref::<JsError>() {
        return Ok(error.clone());
    }
    Err(ErrorValue {
        value: Rc::new(payload.clone()),
        inspected: format!("{payload:?}"),
    })
}

/// What `emit("error", payload)` throws with no `error` listener.
pub(crate) fn unhandled<A: Clone + fmt::Debug + 'static>(payload: &A) -> JsError {
    match error_value(payload) {
        Ok(error) => error,
        Err(context) => JsError::new(UnhandledError { context }),
    }
}

/// What `events.once` rejects with when `error` comes first.
pub(crate) fn rejection<A: Clone + fmt::Debug + 'static>(payload: &A) -> JsError {
    error_value(payload).unwrap_or_else(JsError::new)
}
