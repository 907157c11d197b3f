//! Process warnings: `process.emitWarning` and `process.on('warning')` (Node
//! lib/internal/process/warning.js).
//!
//! Invariants:
//! - A warning is never delivered synchronously: [`emit_warning`] queues a nextTick
//!   (`process.nextTick(doEmitWarning, warning)`), which emits `warning` on the process.
//! - Node's own `warning` listener, installed at start-up and so the first, writes
//!   `(node:PID) Name: message` to stderr; here it writes `(uv_loop:PID) Name: message`. Then
//!   the listeners added with [`on_warning`] run, in the order they were added.
//! - The listeners belong to the thread's environment and are dropped with it when
//!   [`run`](super::run) returns.
//!
//! ```text
//!   emit_warning(w) ─> nextTick ─> stderr line ─> on_warning listener 1 ─> listener 2 ...
//! ```
//!
//! The crate emits `MaxListenersExceededWarning` (from [`crate::events`]); other warnings Node
//! emits (`TimeoutOverflowWarning` for a delay above `TIMEOUT_MAX`) are not emitted yet.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use super::task_queues::next_tick;
use super::with_env;

/// A process warning (an `Error` whose `name` says what kind of warning it is).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Warning {
    /// `warning.name`, e.g. `MaxListenersExceededWarning`.
    pub name: String,
    /// `warning.message`.
    pub message: String,
    /// `warning.type` of a `MaxListenersExceededWarning`: the event name.
    pub event_name: Option<String>,
    /// `warning.count` of a `MaxListenersExceededWarning`: the listeners it counted.
    pub count: Option<usize>,
}

impl Warning {
    /// `new Error(message)` with `name` (what `process.emitWarning(message, name)` makes).
    pub fn new(name: impl Into<String>, message: impl Into<String>) -> Warning {
        Warning {
            name: name.into(),
            message: message.into(),
            event_name: None,
            count: None,
        }
    }

    /// The warning `EventEmitter` emits when an event has more than `max` listeners.
    pub(crate) fn max_listeners_exceeded(event_name: &str, count: usize, max: usize) -> Warning {
        Warning {
            name: "MaxListenersExceededWarning".to_owned(),
            message: format!(
                "Possible EventEmitter memory leak detected. {count} {event_name} listeners \
                 added to [EventEmitter]. MaxListeners is {max}. Use emitter.setMaxListeners() \
                 to increase limit"
            ),
            event_name: Some(event_name.to_owned()),
            count: Some(count),
        }
    }
}

type WarningListener = Rc<dyn Fn(&Warning)>;

/// The process's `warning` listeners (besides the one that writes to stderr).
#[derive(Default)]
pub(crate) struct WarningListeners(RefCell<Vec<WarningListener>>);

impl WarningListeners {
    /// Empties the list; the caller drops what it gets outside the borrow.
    pub(crate) fn take_all(&self) -> Vec<WarningListener> {
        self.0.take()
    }
}

/// `process.emitWarning(warning)`: on the next tick, the warning is written to stderr and
/// passed to every [`on_warning`] listener.
pub fn emit_warning(warning: Warning) {
    next_tick(move || do_emit_warning(&warning));
}

/// `process.on('warning', listener)`: `listener` runs with each warning emitted from now on,
/// during this [`run`](super::run).
pub fn on_warning(listener: impl Fn(&Warning) + 'static) {
    with_env(|env| env.warnings.0.borrow_mut().push(Rc::new(listener)));
}

/// `doEmitWarning`: `process.emit('warning', warning)`, listeners copied first.
fn do_emit_warning(warning: &Warning) {
    let line = format!(
        "(uv_loop:{}) {}: {}\n",
        std::process::id(),
        warning.name,
        warning.message
    );
    // Node's `onWarning` writes and ignores a failed write; so does this.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    let listeners: Vec<WarningListener> = with_env(|env| env.warnings.0.borrow().clone());
    for listener in listeners {
        listener(warning);
    }
}
