//! What the context tests share: their patience, the windows in which nothing may happen, and
//! causes told apart by name.
#![allow(dead_code)]

use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use goroutines::chan::{Receiver, TryRecvError};
use goroutines::context::{Cause, Context};
use goroutines::select;

/// How long an event may take on a loaded machine before a test calls it lost.
pub const PATIENCE: Duration = Duration::from_secs(20);
/// A window in which something that must not happen would have happened (Go's
/// `shortDuration`); it can only let a bug through, never fail a correct run.
pub const WINDOW: Duration = Duration::from_millis(20);
/// Go's `veryLongDuration` and the `forever` of `TestCause`.
pub const FOREVER: Duration = Duration::from_secs(1_000_000);

/// The `done` channel is closed (a receive returns at once with an error).
pub fn is_done(ctx: &Context) -> bool {
    matches!(ctx.done().try_recv(), Err(TryRecvError::Closed))
}

/// The next value on `rx`; fails if none comes within `PATIENCE` or `rx` is closed.
pub fn recv_soon<T>(rx: &Receiver<T>, what: &str) -> T {
    select! {
        recv(rx) -> v => v.unwrap_or_else(|_| panic!("{what}: closed without a value")),
        default(PATIENCE) => panic!("{what}: nothing within {PATIENCE:?}"),
    }
}

/// Nothing arrives on `rx` (and it stays open) for `WINDOW`.
pub fn nothing_within_window<T>(rx: &Receiver<T>, what: &str) {
    select! {
        recv(rx) -> _ => panic!("{what}"),
        default(WINDOW) => {},
    }
}

/// A cause of the tests' own, told apart by its name (Go's `fmt.Errorf("parentCause")`).
#[derive(Debug)]
pub struct Named(pub &'static str);

impl fmt::Display for Named {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Error for Named {}

pub fn named(name: &'static str) -> Cause {
    Arc::new(Named(name))
}
