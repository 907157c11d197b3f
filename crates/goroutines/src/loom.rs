//! The one sync facade: every atomic and lock the scheduler's lock-free parts use comes from here,
//! so that `RUSTFLAGS="--cfg loom"` swaps them for loom's model-checked versions (as Tokio's
//! `loom/mod.rs` does). Code that switches stacks cannot run under loom; only the queue and the
//! park/wake protocol are modelled.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    fence, AtomicBool, AtomicI32, AtomicI64, AtomicIsize, AtomicPtr, AtomicU32, AtomicU64,
    AtomicU8, AtomicUsize, Ordering,
};
#[cfg(not(loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicBool, AtomicI32, AtomicI64, AtomicIsize, AtomicPtr, AtomicU32, AtomicU64,
    AtomicU8, AtomicUsize, Ordering,
};
#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};
