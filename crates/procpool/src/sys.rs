//! The few POSIX calls procpool makes, each wrapped once with its `SAFETY` argument.
//!
//! Everything else in the crate calls these safe wrappers. File descriptors are owned by
//! [`OwnedFd`] from the moment a call returns them, so every error path closes them.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// Turns a `-1` return into the thread's `errno`.
fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

/// A connected pair of Unix stream sockets, both close-on-exec.
pub(crate) fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is a valid array of two ints for the kernel to fill.
    check(unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    })?;
    // SAFETY: the call succeeded, so both are open descriptors that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A pipe `(read end, write end)`, both close-on-exec.
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is a valid array of two ints for the kernel to fill.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: the call succeeded, so both are open descriptors that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Writes to a socket without raising SIGPIPE if the peer is gone (`EPIPE` comes back instead):
/// a library must not rely on its host program ignoring SIGPIPE.
pub(crate) fn send_nosignal(socket: BorrowedFd<'_>, data: &[u8]) -> io::Result<usize> {
    // SAFETY: `data` is valid for reads of `data.len()` bytes for the call's duration.
    let sent = unsafe {
        libc::send(
            socket.as_raw_fd(),
            data.as_ptr().cast(),
            data.len(),
            libc::MSG_NOSIGNAL,
        )
    };
    if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(sent as usize)
    }
}

/// `CLOCK_MONOTONIC` now, in nanoseconds: one clock for every process on the machine, so a
/// worker's readings mean the same to its parent (see `probe::clock` for the conversion).
pub(crate) fn monotonic_ns() -> u64 {
    // SAFETY: an all-zero timespec is a valid value for clock_gettime to overwrite.
    let mut now: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: clock_gettime writes only `now`; CLOCK_MONOTONIC is always available on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    u64::try_from(now.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(now.tv_nsec).unwrap_or(0)
}

/// Makes a write to a closed pipe or socket fail with `EPIPE` instead of killing the process
/// (for procpool's own processes: workers and the fork server).
pub(crate) fn ignore_sigpipe() {
    // SAFETY: setting SIGPIPE's disposition to SIG_IGN installs no handler code.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// Sets or clears `O_NONBLOCK` on `fd`.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>, nonblocking: bool) -> io::Result<()> {
    // SAFETY: F_GETFL on a descriptor the borrow keeps open.
    let flags = check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    let flags = if nonblocking {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    // SAFETY: F_SETFL with flags read from the same descriptor.
    check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags) })?;
    Ok(())
}

/// Clears `FD_CLOEXEC` so that `fd` survives an `exec`.
pub(crate) fn clear_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_SETFD only changes the flags of `fd`; an invalid `fd` gives EBADF.
    check(unsafe { libc::fcntl(fd, libc::F_SETFD, 0) })?;
    Ok(())
}

/// How many threads this process has, from `/proc/self/task`.
pub(crate) fn thread_count() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
}

/// How many threads this process has once any that are exiting are gone.
///
/// `JoinHandle::join` returns when the kernel clears the thread's tid word, which happens during
/// its exit, before it leaves `/proc/self/task`: right after a pool is dropped (its handler
/// thread joined) the thread can still be listed for a few microseconds, and for much longer when
/// the machine is loaded and the exiting thread waits for a CPU. A thread that is exiting
/// disappears by itself, so more than one thread is re-read for up to 500 ms before it counts; a
/// process that really has other threads pays that once, on its way to an error.
pub(crate) fn settled_thread_count() -> io::Result<usize> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
    loop {
        let threads = thread_count()?;
        if threads == 1 || std::time::Instant::now() >= deadline {
            return Ok(threads);
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
}

/// What `fork` returned.
pub(crate) enum Forked {
    /// In the parent: the child's pid.
    Parent(libc::pid_t),
    /// In the child.
    Child,
}

/// Forks the process after checking that it has exactly one thread.
///
/// A fork copies only the calling thread; a lock another thread held (the allocator's, stdout's)
/// stays locked forever in the child. With one thread there is no such lock, so the child may
/// run ordinary Rust code. The check is what makes this function safe.
pub(crate) fn fork_single_threaded() -> Result<Forked, crate::StartError> {
    let threads = settled_thread_count().map_err(crate::StartError::Os)?;
    if threads != 1 {
        return Err(crate::StartError::ForkWithThreads { threads });
    }
    // SAFETY: the process has one thread (checked just above; only this thread could start
    // another in between), so the child inherits no lock held by a thread that no longer exists.
    let pid = check(unsafe { libc::fork() }).map_err(crate::StartError::Os)?;
    Ok(if pid == 0 {
        Forked::Child
    } else {
        Forked::Parent(pid)
    })
}

/// Ends the calling (child) process at once, without running the parent's exit handlers or
/// flushing buffers copied from the parent.
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` is always safe to call; it does not return.
    unsafe { libc::_exit(code) }
}

/// How a process ended, as `multiprocessing.Process.exitcode` says it: the exit status, or
/// minus the signal number.
pub(crate) fn waitpid_exitcode(pid: libc::pid_t, nohang: bool) -> io::Result<Option<i32>> {
    let mut status: libc::c_int = 0;
    let flags = if nohang { libc::WNOHANG } else { 0 };
    loop {
        // SAFETY: `status` is a valid int for the kernel to fill.
        let result = unsafe { libc::waitpid(pid, &mut status, flags) };
        if result == -1 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        if result == 0 {
            return Ok(None);
        }
        return Ok(Some(exitcode_of(status)));
    }
}

/// Converts a wait status into Python's `exitcode` (`os.waitstatus_to_exitcode`).
pub(crate) fn exitcode_of(status: libc::c_int) -> i32 {
    if libc::WIFSIGNALED(status) {
        -libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    }
}

/// Sends `signal` to `pid`; a process already gone is not an error.
pub(crate) fn kill(pid: libc::pid_t, signal: libc::c_int) {
    // SAFETY: kill has no memory effects; a stale pid gives ESRCH, which is ignored.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Fills `buffer` with random bytes from the kernel.
pub(crate) fn random_bytes(buffer: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buffer.len() {
        let rest = &mut buffer[filled..];
        // SAFETY: `rest` is valid for writes of `rest.len()` bytes.
        let got = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if got < 0 {
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
        } else {
            filled += got as usize;
        }
    }
    Ok(())
}

/// One descriptor to wait on, and what it turned out to be ready for.
#[repr(transparent)]
pub(crate) struct PollFd(libc::pollfd);

impl PollFd {
    /// Waits for `fd` to be readable, and writable too if `write` is set.
    pub(crate) fn new(fd: RawFd, write: bool) -> PollFd {
        let events = libc::POLLIN | if write { libc::POLLOUT } else { 0 };
        PollFd(libc::pollfd {
            fd,
            events,
            revents: 0,
        })
    }

    /// Readable, or at end of file, or in error (a read will say which).
    pub(crate) fn readable(&self) -> bool {
        self.0.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0
    }

    /// Writable, or in error (a write will say which).
    pub(crate) fn writable(&self) -> bool {
        self.0.revents & (libc::POLLOUT | libc::POLLERR) != 0
    }
}

/// `poll(2)` over `fds`, `timeout_ms` < 0 waits for ever; `EINTR` counts as a wake-up.
pub(crate) fn poll(fds: &mut [PollFd], timeout_ms: i32) -> io::Result<usize> {
    // SAFETY: `PollFd` is `repr(transparent)` over `pollfd`, and `fds` is valid for
    // `fds.len()` entries.
    let result = unsafe {
        libc::poll(
            fds.as_mut_ptr().cast::<libc::pollfd>(),
            fds.len() as libc::nfds_t,
            timeout_ms,
        )
    };
    if result == -1 {
        let error = io::Error::last_os_error();
        if error.kind() == io::ErrorKind::Interrupted {
            return Ok(0);
        }
        return Err(error);
    }
    Ok(result as usize)
}

/// A descriptor that becomes readable when process `pid` exits (`pidfd_open(2)`, Linux 5.3).
pub(crate) fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the call succeeded, so `fd` is a new open descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Sends `payload` and the descriptors `fds` (SCM_RIGHTS) over a Unix socket in one message.
pub(crate) fn send_with_fds(
    socket: BorrowedFd<'_>,
    payload: &[u8],
    fds: &[RawFd],
) -> io::Result<()> {
    let fds_len = std::mem::size_of_val(fds);
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(fds_len as u32) } as usize;
    let mut control = vec![0u8; space];
    let mut iov = libc::iovec {
        iov_base: payload.as_ptr() as *mut libc::c_void,
        iov_len: payload.len(),
    };
    // SAFETY: an all-zero msghdr is a valid empty message header.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_iov = &mut iov;
    message.msg_iovlen = 1;
    message.msg_control = control.as_mut_ptr().cast();
    message.msg_controllen = space as _;
    // SAFETY: `message` points at `control`, which has room for one header with `fds_len`
    // bytes of data (CMSG_SPACE above), so CMSG_FIRSTHDR is non-null and CMSG_DATA has room
    // for the descriptors copied into it.
    unsafe {
        let header = libc::CMSG_FIRSTHDR(&message);
        (*header).cmsg_level = libc::SOL_SOCKET;
        (*header).cmsg_type = libc::SCM_RIGHTS;
        (*header).cmsg_len = libc::CMSG_LEN(fds_len as u32) as _;
        std::ptr::copy_nonoverlapping(fds.as_ptr().cast::<u8>(), libc::CMSG_DATA(header), fds_len);
    }
    // SAFETY: `message` and everything it points at are valid for the call.
    let sent = unsafe { libc::sendmsg(socket.as_raw_fd(), &message, 0) };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    if sent as usize != payload.len() {
        return Err(io::Error::new(io::ErrorKind::WriteZero, "short sendmsg"));
    }
    Ok(())
}

/// Receives one message of at most `buffer.len()` bytes and up to `max_fds` descriptors.
/// Returns the bytes read and the descriptors, each now owned.
pub(crate) fn recv_with_fds(
    socket: BorrowedFd<'_>,
    buffer: &mut [u8],
    max_fds: usize,
) -> io::Result<(usize, Vec<OwnedFd>)> {
    let fds_len = max_fds * std::mem::size_of::<RawFd>();
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(fds_len as u32) } as usize;
    let mut control = vec![0u8; space];
    let mut iov = libc::iovec {
        iov_base: buffer.as_mut_ptr().cast(),
        iov_len: buffer.len(),
    };
    // SAFETY: an all-zero msghdr is a valid empty message header.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_iov = &mut iov;
    message.msg_iovlen = 1;
    message.msg_control = control.as_mut_ptr().cast();
    message.msg_controllen = space as _;
    // SAFETY: `message` points at `buffer` and `control`, both valid for writes of their lengths.
    let read = unsafe { libc::recvmsg(socket.as_raw_fd(), &mut message, libc::MSG_CMSG_CLOEXEC) };
    if read < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut fds = Vec::new();
    // SAFETY: the kernel filled `message.msg_control` with well-formed headers no longer than
    // `msg_controllen`; CMSG_FIRSTHDR/CMSG_NXTHDR walk them within it, and each SCM_RIGHTS
    // header's data holds `(cmsg_len - CMSG_LEN(0)) / size_of::<RawFd>()` new descriptors, which
    // this process now owns and nothing else refers to.
    unsafe {
        let mut header = libc::CMSG_FIRSTHDR(&message);
        while !header.is_null() {
            if (*header).cmsg_level == libc::SOL_SOCKET && (*header).cmsg_type == libc::SCM_RIGHTS {
                let data_len = (*header).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                let count = data_len / std::mem::size_of::<RawFd>();
                let data = libc::CMSG_DATA(header).cast::<RawFd>();
                for i in 0..count {
                    fds.push(OwnedFd::from_raw_fd(std::ptr::read_unaligned(data.add(i))));
                }
            }
            header = libc::CMSG_NXTHDR(&message, header);
        }
    }
    Ok((read as usize, fds))
}
