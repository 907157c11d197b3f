//! Start methods: how a worker process comes to exist (`multiprocessing.context`,
//! `popen_fork.py`, `popen_spawn_posix.py`, `popen_forkserver.py`).
//!
//! ```text
//!   method       the worker is                             needs                        CPython
//!   ----------   ---------------------------------------   --------------------------   -------
//!   fork         a fork() of the pool's process            a single-threaded parent     23-26 ms
//!   spawn        this executable run again, worker mode    main_if_worker() first       153-161
//!   forkserver   a fork() of a helper process, asked over  main_if_worker() first, if   168-177
//!                an authenticated socket; the helper is    the helper must be spawned
//!                forked (one thread) or spawned (more)
//! ```
//! (CPython figures: a pool of 2 workers started and its first map, measured on this machine.)
//!
//! Every method gives the pool the same thing: the parent's end of a Unix stream socket that
//! carries the frames, and a `WorkerProcess`, the pid and an `ExitSource` from which the
//! exit code is read once the socket reports end of file (the worker's end closes only when it
//! exits: it is close-on-exec and no other process holds a copy).
//!
//! Fork in a multithreaded process copies only the calling thread; a lock another thread held
//! stays locked in the child for ever (CPython's threads+fork deadlock, and why 3.14 made
//! forkserver the default). procpool checks `/proc/self/task` before every fork and refuses with
//! [`StartError::ForkWithThreads`] rather than risk it. So a fork pool forks all its workers
//! before it starts its handler thread, and cannot replace one later: `maxtasksperchild` with
//! fork is refused, as `ProcessPoolExecutor` refuses `max_tasks_per_child` with fork in 3.11.

pub(crate) mod fork;
pub mod forkserver;
pub(crate) mod spawn;

use std::io::{self, Read};
use std::os::fd::{OwnedFd, RawFd};

use crate::auth::AuthenticationError;
use crate::sys;

/// How the pool starts its workers (`multiprocessing.get_context(method)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StartMethod {
    /// `fork()` the pool's process; it must have one thread.
    Fork,
    /// Run this executable again in worker mode ([`crate::main_if_worker`]).
    Spawn,
    /// Ask the fork server, forked early ([`forkserver::ensure_running`]), to fork a worker.
    Forkserver,
}

impl StartMethod {
    /// The name `multiprocessing` uses.
    pub fn name(self) -> &'static str {
        match self {
            StartMethod::Fork => "fork",
            StartMethod::Spawn => "spawn",
            StartMethod::Forkserver => "forkserver",
        }
    }

    /// The method called `name`, if any.
    pub fn from_name(name: &str) -> Option<StartMethod> {
        [
            StartMethod::Fork,
            StartMethod::Spawn,
            StartMethod::Forkserver,
        ]
        .into_iter()
        .find(|method| method.name() == name)
    }

    /// The prefix of its workers' names (`ForkPoolWorker-1` ...), as CPython names them.
    pub(crate) fn worker_prefix(self) -> &'static str {
        match self {
            StartMethod::Fork => "ForkPoolWorker",
            StartMethod::Spawn => "SpawnPoolWorker",
            StartMethod::Forkserver => "ForkServerPoolWorker",
        }
    }
}

/// Why a worker (or the fork server) could not be started.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// Fork was asked for while the process has other threads.
    ForkWithThreads {
        /// Threads in the process (from `/proc/self/task`).
        threads: usize,
    },
    /// `maxtasksperchild` needs workers replaced after the handler thread exists: not with fork.
    MaxTasksWithFork,
    /// The fork server is not running and could not be started.
    ForkserverNotRunning,
    /// The fork server refused us, or we it.
    Authentication(AuthenticationError),
    /// The fork server answered something else than a pid.
    ForkserverProtocol,
    /// The executable to spawn could not be found.
    Executable(io::Error),
    /// A system call failed.
    Os(io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::ForkWithThreads { threads } => write!(
                f,
                "cannot fork: the process has {threads} threads, and a forked child would \
                 inherit the locks they hold; create fork pools while single-threaded, or use \
                 the spawn or forkserver start method"
            ),
            StartError::MaxTasksWithFork => write!(
                f,
                "maxtasksperchild is incompatible with the fork start method (a replacement \
                 worker would be forked from the multithreaded pool); use spawn or forkserver"
            ),
            StartError::ForkserverNotRunning => write!(f, "the fork server is not running"),
            StartError::Authentication(error) => write!(f, "fork server handshake: {error}"),
            StartError::ForkserverProtocol => {
                write!(f, "the fork server did not answer with the worker's pid")
            }
            StartError::Executable(error) => {
                write!(f, "cannot find the executable to spawn: {error}")
            }
            StartError::Os(error) => write!(f, "cannot start a process: {error}"),
        }
    }
}

impl std::error::Error for StartError {}

/// Where a worker's exit code comes from once its socket has closed.
pub(crate) enum ExitSource {
    /// Our own child: `waitpid`.
    Child,
    /// A child of the fork server, which writes the exit code to this pipe (CPython's
    /// `child_w` sentinel, `write_signed`).
    Forkserver(OwnedFd),
}

/// A started worker, as the pool holds it.
pub(crate) struct WorkerProcess {
    /// Its pid.
    pub(crate) pid: i32,
    /// How to learn its exit code.
    pub(crate) exit: ExitSource,
}

/// The ways a worker ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// It exited with this status.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
    /// Its status could not be learned (the fork server itself is gone).
    Unknown,
}

impl ExitStatus {
    fn from_exitcode(code: i32) -> ExitStatus {
        if code < 0 {
            ExitStatus::Signal(-code)
        } else {
            ExitStatus::Code(code)
        }
    }
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitStatus::Code(code) => write!(f, "exited with status {code}"),
            ExitStatus::Signal(signal) => {
                let name = match *signal {
                    libc::SIGKILL => " (SIGKILL)",
                    libc::SIGTERM => " (SIGTERM)",
                    libc::SIGSEGV => " (SIGSEGV)",
                    libc::SIGABRT => " (SIGABRT)",
                    libc::SIGINT => " (SIGINT)",
                    libc::SIGBUS => " (SIGBUS)",
                    _ => "",
                };
                write!(f, "was killed by signal {signal}{name}")
            }
            ExitStatus::Unknown => write!(f, "exited (status unknown: the fork server is gone)"),
        }
    }
}

impl WorkerProcess {
    /// Waits for the worker to be gone and says how it ended (its socket has closed).
    pub(crate) fn wait(&mut self) -> ExitStatus {
        match &self.exit {
            ExitSource::Child => match sys::waitpid_exitcode(self.pid, false) {
                Ok(Some(code)) => ExitStatus::from_exitcode(code),
                _ => ExitStatus::Unknown,
            },
            ExitSource::Forkserver(pipe) => {
                let mut file = std::fs::File::from(match pipe.try_clone() {
                    Ok(fd) => fd,
                    Err(_) => return ExitStatus::Unknown,
                });
                let mut code = [0u8; 8];
                match file.read_exact(&mut code) {
                    Ok(()) => ExitStatus::from_exitcode(i64::from_ne_bytes(code) as i32),
                    Err(_) => ExitStatus::Unknown,
                }
            }
        }
    }

    /// Sends `signal` to the worker.
    pub(crate) fn kill(&self, signal: libc::c_int) {
        sys::kill(self.pid, signal);
    }

    /// Whether the worker has exited within `timeout` (its status can then be read by
    /// [`WorkerProcess::wait`] without blocking).
    pub(crate) fn exits_within(&self, timeout: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        match &self.exit {
            ExitSource::Child => loop {
                // `waitid` with WNOWAIT leaves the child waitable for `wait`.
                // SAFETY: an all-zero siginfo_t is a valid value for waitid to overwrite.
                let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
                // SAFETY: waitid fills `info` for our own child and, with WNOWAIT, reaps nothing.
                let result = unsafe {
                    libc::waitid(
                        libc::P_PID,
                        self.pid as libc::id_t,
                        &mut info,
                        libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
                    )
                };
                // SAFETY: reading the pid field of a siginfo_t that waitid filled (or zeroed).
                let exited = result == -1 || unsafe { info.si_pid() } != 0;
                if exited {
                    return true;
                }
                if std::time::Instant::now() >= deadline {
                    return false;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            },
            ExitSource::Forkserver(pipe) => {
                let millis = timeout.as_millis().min(i32::MAX as u128) as i32;
                let mut fds = [sys::PollFd::new(
                    std::os::fd::AsRawFd::as_raw_fd(pipe),
                    false,
                )];
                matches!(sys::poll(&mut fds, millis), Ok(n) if n > 0) && fds[0].readable()
            }
        }
    }
}

/// Starts one worker by `method`; `close_in_child` are parent-only descriptors a forked child
/// must not keep (the other workers' sockets). Returns it and the parent's end of its socket.
pub(crate) fn start(
    method: StartMethod,
    frame_limit: usize,
    close_in_child: &[RawFd],
) -> Result<(WorkerProcess, OwnedFd), StartError> {
    let (process, socket) = match method {
        StartMethod::Fork => fork::start(frame_limit, close_in_child),
        StartMethod::Spawn => spawn::start(frame_limit),
        StartMethod::Forkserver => forkserver::start_worker(frame_limit),
    }?;
    if probe::trace::enabled() {
        probe::trace::record(probe::trace::EventKind::ProcessStart {
            pid: process.pid as u32,
        });
    }
    Ok((process, socket))
}
