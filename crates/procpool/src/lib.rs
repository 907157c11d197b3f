//! CPython's multiprocessing in Rust: worker processes, framed serde IPC, `Pool` and `Executor`,
//! after Lib/multiprocessing (`pool.py`, `process.py`, `popen_*.py`, `forkserver.py`,
//! `connection.py`) and `concurrent/futures/process.py`.
//!
//! ```text
//!   your program                                   worker processes (fork | spawn | forkserver)
//!   ------------                                   ------------------------------------------
//!   procpool::task!{ fn square(x: u64) -> u64 }    the same executable: the same tasks, by name
//!   pool.map(square, 0..100, None)
//!     chunks of 7 (100 items, 4 workers)  ---- frames: 4-byte big-endian length + postcard -->
//!     results in order                    <--- one reply frame per chunk, in the order run ---
//! ```
//!
//! - [`start`]: the three start methods; [`start::forkserver`] with its HMAC-SHA256 handshake
//!   ([`auth`]).
//! - [`task!`]: functions registered by name, since closures cannot cross processes.
//! - [`Pool`]: `map` with pool.py's default chunksize, `imap`, `imap_unordered`, `starmap`,
//!   `apply_async`, `maxtasksperchild`, `close`/`join`/`terminate`. [`Executor`]: `submit`, `map`.
//! - A dead worker breaks the pool ([`BrokenPool`]) instead of hanging it, unlike CPython's
//!   `Pool` (bpo-22393); a panic in a task is that task's error.
//! - [`SharedArray`]: numbers in POSIX shared memory.
//! - Tracing through [`probe::trace`]: process started and exited, every frame's size, and
//!   each worker's task runs, shipped back in its replies and recorded as the worker
//!   process's own events on the parent's clock.
//!
//! A program that uses the spawn start method calls [`main_if_worker`] first thing in `main`.

pub mod auth;
mod error;
mod executor;
mod frame;
mod pool;
pub mod registry;
mod shared_array;
pub mod start;
mod sys;
mod wire;
mod worker;

pub use error::{BrokenPool, GetError, PoolError, SubmitError, TaskError};
pub use executor::{Executor, Future};
pub use frame::{FrameTooLarge, MAX_FRAME_LIMIT};
pub use pool::{
    default_chunksize, AsyncResult, IMapIterator, MapError, MapResult, Pool, PoolOptions,
    StillRunning, DEFAULT_FRAME_LIMIT, PREFETCH_ITEMS, PREFETCH_TASKS,
};
pub use registry::Task;
pub use shared_array::{Element, OutOfBounds, SharedArray, SharedArrayError, SharedArrayHandle};
pub use start::spawn::{set_executable, WORKER_ARG, WORKER_ENV};
pub use start::{ExitStatus, StartError, StartMethod};
pub use wire::RemoteError;

#[doc(hidden)]
pub mod __private {
    pub use inventory;
}

/// If this process was spawned as a worker (or as the fork server), serves and exits;
/// otherwise returns at once.
///
/// Call it first in `main` of every program whose pools use the spawn start method (the
/// program is run again as its own worker: `spawn_main` in CPython's words). It reads
/// [`WORKER_ENV`]; a malformed value is reported on stderr and exits with status 2.
pub fn main_if_worker() {
    if let Some(code) = start::forkserver::main_if_server() {
        std::process::exit(code);
    }
    let Some(value) = std::env::var_os(WORKER_ENV) else {
        return;
    };
    let parsed = value.to_str().and_then(start::spawn::parse_worker_env);
    let Some((fd, frame_limit)) = parsed else {
        eprintln!("procpool: {WORKER_ENV}={value:?} is not <fd>:<frame limit>");
        std::process::exit(2);
    };
    // A socket of ours is a socket; anything else at that number means the variable was set by
    // hand, and a worker must not take ownership of someone else's descriptor.
    if !is_socket(fd) {
        eprintln!("procpool: {WORKER_ENV} names descriptor {fd}, which is not a socket");
        std::process::exit(2);
    }
    // SAFETY: the spawning pool left its end of a socketpair open at `fd` for this process
    // alone (checked above to be a socket); nothing else in this process owns it.
    let socket = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    worker::start_worker_process();
    let code = worker::serve(socket, frame_limit);
    std::process::exit(code)
}

pub(crate) fn is_socket(fd: std::os::fd::RawFd) -> bool {
    // SAFETY: an all-zero `stat` is a valid value for fstat to overwrite.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat only writes `stat`; a bad descriptor gives EBADF.
    let ok = unsafe { libc::fstat(fd, &mut stat) } == 0;
    ok && (stat.st_mode & libc::S_IFMT) == libc::S_IFSOCK
}
