//! The spawn start method (`popen_spawn_posix.py`): the worker is this executable run again.
//!
//! CPython spawns `python -c 'from multiprocessing.spawn import spawn_main; spawn_main(...)'`
//! with the pipe's descriptor number on the command line. procpool runs the same executable
//! (or the one given to [`crate::set_executable`]) with the argument [`WORKER_ARG`], the
//! environment variable [`WORKER_ENV`] set to `<fd>:<frame limit>`, and the worker's socket left
//! open across `exec` under that number. The program recognises worker mode in its first line,
//! [`crate::main_if_worker`], which serves and exits before `main` does anything else: every
//! task registered in the executable is there, since it is the same executable.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::RwLock;

use super::{ExitSource, StartError, WorkerProcess};
use crate::sys;

/// The environment variable that marks a spawned worker: `<fd>:<frame limit>`.
pub const WORKER_ENV: &str = "PROCPOOL_WORKER";

/// The argument a spawned worker gets (CPython's marker): a program that forgot to call
/// [`crate::main_if_worker`] then meets an argument it does not know and, with any argument
/// parser, stops with a usage error, instead of running its whole `main` as a worker. The
/// worker exits, the pool reports it broken with that exit status.
pub const WORKER_ARG: &str = "--multiprocessing-fork";

static EXECUTABLE: RwLock<Option<PathBuf>> = RwLock::new(None);

/// Sets the executable spawn runs for a worker (`multiprocessing.set_executable`); by default
/// it is [`std::env::current_exe`]. It must call [`crate::main_if_worker`] first thing in main
/// and register the same tasks.
pub fn set_executable(path: impl Into<PathBuf>) {
    let mut executable = EXECUTABLE
        .write()
        .unwrap_or_else(|poison| poison.into_inner());
    *executable = Some(path.into());
}

pub(crate) fn executable() -> Result<PathBuf, StartError> {
    let executable = EXECUTABLE
        .read()
        .unwrap_or_else(|poison| poison.into_inner());
    match &*executable {
        Some(path) => Ok(path.clone()),
        None => std::env::current_exe().map_err(StartError::Executable),
    }
}

/// Spawns one worker.
pub(crate) fn start(frame_limit: usize) -> Result<(WorkerProcess, OwnedFd), StartError> {
    let (parent_end, child_end) = sys::socketpair().map_err(StartError::Os)?;
    let child_fd: RawFd = child_end.as_raw_fd();
    let mut command = Command::new(executable()?);
    command
        .arg(WORKER_ARG)
        .env(WORKER_ENV, format!("{child_fd}:{frame_limit}"))
        .stdin(Stdio::null());
    // SAFETY: the closure runs in the child between fork and exec and calls only fcntl, which
    // is async-signal-safe; it allocates nothing and takes no lock.
    unsafe {
        command.pre_exec(move || sys::clear_cloexec(child_fd));
    }
    let child = command.spawn().map_err(StartError::Os)?;
    drop(child_end);
    Ok((
        WorkerProcess {
            pid: child.id() as i32,
            exit: ExitSource::Child,
        },
        parent_end,
    ))
}

/// The worker's socket and frame limit from [`WORKER_ENV`]'s value.
pub(crate) fn parse_worker_env(value: &str) -> Option<(RawFd, usize)> {
    let (fd, limit) = value.split_once(':')?;
    Some((fd.parse().ok()?, limit.parse().ok()?))
}
