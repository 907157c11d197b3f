//! Go's `sync` package for goroutines: [`Mutex`], [`RwLock`], [`Cond`], [`WaitGroup`] and
//! [`Once`].
//!
//! They wait the way channels do (`runtime/park.rs`): a goroutine that must wait parks, so its OS
//! thread runs other goroutines meanwhile; a plain OS thread blocks. Goroutines and plain threads
//! may share the same values. Waiting goroutines show in the goroutine dump and in the deadlock
//! report as Go prints them: `[sync.Mutex.Lock]`, `[sync.RWMutex.RLock]`, `[sync.RWMutex.Lock]`,
//! `[sync.Cond.Wait]`, `[sync.WaitGroup.Wait]`, `[sync.Once.Do]`.
//!
//! ```text
//!   Mutex     = state word (LOCKED, WOKEN, STARVING, waiter count) + Sema     mutex.rs
//!   RwLock    = Mutex<()> for writers + reader count and wait + 2 Semas       rwlock.rs
//!   Cond      = ticket counters + lock-protected list of parked waiters        cond.rs
//!   WaitGroup = Arc<state word (counter, waiter count) + Sema>                waitgroup.rs
//!   Once      = done flag + Mutex<()>                                          once.rs
//!   Sema      = token count + lock-protected FIFO/LIFO queue of waiters         sema.rs
//! ```
//!
//! Each type follows Go's source of the same name (Go 1.19+), and the internal `Sema` Go's
//! `runtime/sema.go`, minus its global table: each semaphore owns its wait queue.
//!
//! Why not `std::sync`: a `std::sync::Mutex` that must wait blocks the OS thread, and with it
//! every goroutine queued on that thread's P; and its guard may not be held across a blocking
//! call of this crate (the promise of [`Builder::build`](crate::Builder::build)), because the
//! goroutine may resume on another thread. This crate's [`MutexGuard`] may.

mod cond;
mod mutex;
mod once;
mod rwlock;
mod sema;
mod waitgroup;

pub use cond::Cond;
pub use mutex::{Mutex, MutexGuard};
pub use once::Once;
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use waitgroup::WaitGroup;
