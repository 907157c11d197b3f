//! [`notify_context`] (Go's `signal.NotifyContext`): a context cancelled by a signal.
//!
//! Go starts a goroutine that waits on a channel of the signals and cancels the context. Here
//! the context's cancel function is itself the entry in `HANDLERS`, and the watcher thread
//! cancels it: no goroutine, so it works the same from a plain thread, outside any runtime.

use std::error::Error;
use std::fmt;
use std::io;
use std::sync::Arc;

use super::{handlers, stop_entry, Signal, Target};
use crate::context::Context;

/// The cause of a context that [`notify_context`] cancelled: the signal that arrived (Go's
/// `signalError`). Displays as Go's, `interrupt signal received`. Go's also reports itself as
/// `context.Canceled` to `errors.Is`; here the context's `err()` is
/// [`ContextError::Canceled`](crate::context::ContextError::Canceled) and its `cause()` downcasts
/// to this type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalReceived(pub Signal);

impl fmt::Display for SignalReceived {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} signal received", self.0)
    }
}

impl Error for SignalReceived {}

/// Stops a [`notify_context`]: cancels its context (with no cause of its own) and stops
/// relaying its signals, which get back their default action if nothing else watches them (Go's
/// `stop`). Dropping it stops too, as dropping a [`CancelFunc`](crate::context::CancelFunc)
/// cancels. Calling it again does nothing.
#[must_use = "dropping a StopFunc cancels its context and stops its signals at once"]
pub struct StopFunc {
    /// The entry in `HANDLERS`.
    id: u64,
    cancel: Arc<crate::context::CancelCauseFunc>,
}

/// A child of `parent` that is cancelled when one of `signals` arrives (an empty list: any
/// catchable signal), when the returned [`StopFunc`] is called or dropped, or when `parent` is,
/// whichever comes first (Go's `signal.NotifyContext`). A signal cancels it with
/// [`ContextError::Canceled`](crate::context::ContextError::Canceled) and the cause
/// [`SignalReceived`].
///
/// Until `stop`, the signals stay diverted from their default action, even after the first one
/// cancelled the context: a second Ctrl-C does not kill the program until `stop` is called, as
/// in Go. Call `stop` as soon as the work under the context is done.
///
/// Errors only when the first use of signals in the process finds no file descriptor or thread
/// for the watcher.
pub fn notify_context(parent: &Context, signals: &[Signal]) -> io::Result<(Context, StopFunc)> {
    let (ctx, cancel) = parent.with_cancel_cause();
    let cancel = Arc::new(cancel);
    let mut h = handlers();
    let index = h.push(Target::Context(cancel.clone()));
    let id = h.entries[index].id;
    h.add(index, signals)?;
    drop(h);
    Ok((ctx, StopFunc { id, cancel }))
}

impl StopFunc {
    /// Cancels the context and stops relaying its signals; when it returns, no signal will
    /// cancel the context any more (it is cancelled already).
    pub fn stop(&self) {
        self.cancel.cancel(None);
        stop_entry(handlers(), self.id);
    }
}

impl Drop for StopFunc {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for StopFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StopFunc")
    }
}
