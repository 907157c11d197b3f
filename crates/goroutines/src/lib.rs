//! goroutines: Go's concurrency model for Rust.
#![allow(dead_code)]

mod loom;
pub(crate) mod runtime;
mod local;
pub mod chan;
#[doc(hidden)]
pub mod select;
pub mod time;

pub use chan::{chan, Receiver, RecvError, SendError, Sender, TryRecvError, TrySendError};
pub use local::LocalKey;
pub use runtime::{
    go, goroutine_id, run, sleep, yield_now, BuildError, Builder, JoinError, JoinHandle, Runtime,
    StackError, Stats,
};
pub use time::{after, tick, Timer};
