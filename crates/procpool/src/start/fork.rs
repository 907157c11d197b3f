//! The fork start method (`popen_fork.py`): the worker is a `fork()` of the pool's process and
//! runs [`crate::worker::serve`] straight away, with every registered task already in memory.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use super::{ExitSource, StartError, WorkerProcess};
use crate::sys::{self, Forked};

/// Forks one worker; refuses if the process has more than one thread.
pub(crate) fn start(
    frame_limit: usize,
    close_in_child: &[RawFd],
) -> Result<(WorkerProcess, OwnedFd), StartError> {
    let (parent_end, child_end) = sys::socketpair().map_err(StartError::Os)?;
    // What is buffered would otherwise be written twice, once by each process
    // (`util._flush_std_streams` before the fork in CPython).
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    match sys::fork_single_threaded()? {
        Forked::Child => {
            drop(parent_end);
            for &fd in close_in_child {
                // SAFETY: these are the parent's ends of other workers' sockets; this child owns
                // its copies and no object in it will use them again (it serves and exits).
                unsafe {
                    libc::close(fd);
                }
            }
            crate::worker::start_worker_process();
            let code = crate::worker::serve(child_end, frame_limit);
            let _ = std::io::stdout().flush();
            let _ = std::io::stderr().flush();
            sys::exit_now(code)
        }
        Forked::Parent(pid) => {
            drop(child_end);
            let _ = parent_end.as_raw_fd();
            Ok((
                WorkerProcess {
                    pid,
                    exit: ExitSource::Child,
                },
                parent_end,
            ))
        }
    }
}
