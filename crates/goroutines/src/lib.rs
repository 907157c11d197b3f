//! Go's concurrency model for Rust: stackful goroutines that read like blocking code, on a G-M-P
//! work-stealing scheduler, with channels, `select!`, timers and `sync`.
//!
//! ```
//! use goroutines::{chan, go};
//!
//! // SAFETY: these goroutines hold no thread-locals or std guards across blocking calls.
//! let sum = unsafe {
//!     goroutines::run(|| {
//!         let (tx, rx) = chan::<u64>(0);
//!         for i in 0..10 {
//!             let tx = tx.clone();
//!             go(move || tx.send(i).unwrap());
//!         }
//!         drop(tx);
//!         rx.iter().sum::<u64>()
//!     })
//! };
//! assert_eq!(sum, 45);
//! ```
//!
//! The parts, named as in Go's runtime so a reader of `proc.go` finds things where they expect:
//! - `runtime::proc`: Gs (goroutines) run on Ms (OS threads) holding Ps (the right to run
//!   goroutines; `Builder::procs` of them). Each P has a 256-slot lock-free run queue and a
//!   `runnext` slot; idle Ps steal half of another's queue.
//! - `runtime::stack`: each goroutine's stack is a slot in an mmap'ed arena with a guard page,
//!   allocated on the goroutine's first run and reused from per-P caches.
//! - [`chan`](mod@chan) and [`select!`]: Go's `hchan` and `selectgo`; blocking parks the goroutine, not the
//!   thread; plain OS threads may use the same channels.
//! - [`time`]: per-P timer heaps; an idle thread sleeps until the next timer. [`context`]:
//!   cancellation (with causes), deadlines and values for the goroutines of one request, with
//!   `after_func` and `without_cancel`; [`errgroup`]: its subtasks, the first error cancelling
//!   the rest.
//! - [`semaphore`]: Go's weighted semaphore (`x/sync/semaphore`), FIFO, cancelled by a context.
//! - [`signal`]: Go's `os/signal`: signals relayed to channels or to a context, ignored, reset.
//! - [`singleflight`]: duplicate call suppression (`x/sync/singleflight`), for `select!` too.
//! - [`sync`]: `Mutex` (with Go's starvation mode), `RwLock` (Go's `RWMutex`, writers preferred),
//!   `Cond`, `WaitGroup`, `Once`.
//!
//! Environment variables, read when a runtime is built, each overridden by its [`Builder`]
//! option:
//! - `GOMAXPROCS=N`: the number of Ps ([`Builder::procs`]); by default, the cores this process
//!   may use.
//! - `GODEBUG`: comma-separated `key=value` settings, as Go's; keys this runtime does not know
//!   are ignored, as Go ignores them.
//!   - `schedtrace=N`: every N ms, sysmon prints Go's one-line scheduler summary to stderr
//!     (`SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=5 ...`; [`Builder::schedtrace`]).
//!   - `scheddetail=1`: with `schedtrace`, each trace adds Go's lines per P, per thread and per
//!     goroutine ([`Builder::scheddetail`]). With either setting, the deadlock report and the
//!     SIGQUIT dump start with such a trace, as Go's crash output does.
//! - `GOROUTINES_PARK_BACKTRACE=1`: goroutine dumps show each parked goroutine's stack
//!   ([`Builder::park_backtraces`]).
//!
//! [`num_goroutine`] counts the goroutines that exist (Go's `runtime.NumGoroutine`).
//!
//! Cargo feature `sanitizer`: tells AddressSanitizer about every stack switch (corosensei's
//! fiber annotations), for builds with `-Zsanitizer=address` only (`scripts/sanitize` in this
//! repository runs the tests so). Without it such a build misreads the first switch.
//!
//! Soundness: goroutines migrate between OS threads, which Rust's thread-local storage does not
//! expect. The hazard is accepted once per program, by the `unsafe` of [`Builder::build`] (or
//! [`run`]), whose `# Safety` section says what must not be held across a blocking call;
//! [`goroutine_local!`] and plain `std::thread`s are the safe ways around it.
#![cfg_attr(loom, allow(dead_code, unused_imports))]

mod loom;

#[cfg(loom)]
#[path = "time/arming.rs"]
mod arming;
#[cfg(loom)]
#[path = "runtime/idle.rs"]
mod idle;
#[cfg(loom)]
#[path = "runtime/runq.rs"]
mod runq;
#[cfg(loom)]
#[path = "runtime/netpoll/sem.rs"]
mod sem;

#[cfg(not(loom))]
pub mod chan;
#[cfg(not(loom))]
pub mod context;
#[cfg(not(loom))]
pub mod dns;
#[cfg(not(loom))]
pub mod errgroup;
#[cfg(not(loom))]
pub mod fs;
#[cfg(not(loom))]
mod local;
#[cfg(not(loom))]
pub mod net;
#[cfg(not(loom))]
pub(crate) mod runtime;
#[cfg(not(loom))]
#[doc(hidden)]
pub mod select;
#[cfg(not(loom))]
pub mod semaphore;
#[cfg(not(loom))]
pub mod signal;
#[cfg(not(loom))]
pub mod singleflight;
#[cfg(not(loom))]
pub mod sync;
#[cfg(not(loom))]
pub mod time;

#[cfg(not(loom))]
pub use chan::{chan, Receiver, RecvError, SendError, Sender, TryRecvError, TrySendError};
#[cfg(not(loom))]
pub use local::LocalKey;
#[cfg(not(loom))]
pub use runtime::{
    blocking, go, goroutine_id, lock_os_thread, num_goroutine, preempt_check, run, sleep,
    unlock_os_thread, yield_now, BuildError, Builder, JoinError, JoinHandle, Runtime, StackError,
    Stats, DEFAULT_STACK_SIZE,
};
#[cfg(not(loom))]
pub use time::{after, after_func, tick, Ticker, Timer};
