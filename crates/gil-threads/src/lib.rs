//! CPython's threads under the GIL, in Rust: OS threads that run "Python code" only while they
//! hold one global lock, switched exactly as CPython's `Python/ceval_gil.c` switches it.
//!
//! ```text
//!   Interpreter ── spawn(|py| ..) ──> OS thread: take_gil ─ run, py.check() at back-edges ─ drop_gil
//!        │                                         ▲   │ drop request after one switch interval
//!        └── Gil: locked + mutex + cond,           │   ▼
//!            switch_cond (FORCE_SWITCHING),     waiter: timed wait of `interval` (5 ms)
//!            gil_drop_request, eval_breaker
//! ```
//!
//! The user's view is PyO3's: a thread's closure receives a [`Python`] token; [`Python::check`]
//! is the eval-breaker check of a loop back-edge; [`Python::allow_threads`] releases the GIL
//! around blocking work ([`Python::sleep`], [`io::recv`], [`io::sendall`], [`JoinHandle::join`]),
//! and [`release_gil`] does the same for code that holds no token (an event loop's select hook).
//! [`GilMode::Off`] runs the same program without a GIL (PEP 703's free threading), and
//! [`Interpreter::account`] tells, per thread, how long it held the GIL, how long it waited and
//! how often it was forced to switch. Scheduler events go to [`probe::trace`].
//!
//! Files: `gil.rs` (`take_gil`/`drop_gil`, the algorithm and its essay), `python.rs` (the token,
//! attaching and releasing), `interpreter.rs`, `account.rs`, `thread.rs` (join handles), [`io`].

#![forbid(unsafe_code)]

mod account;
mod gil;
mod interpreter;
pub mod io;
mod python;
mod thread;

pub use account::{Account, ThreadAccount};
pub use interpreter::{AttachError, GilMode, Interpreter, ParseGilModeError, SwitchIntervalError};
pub use python::{release_gil, GilReleased, Python};
pub use thread::{JoinError, JoinHandle, SpawnError};
