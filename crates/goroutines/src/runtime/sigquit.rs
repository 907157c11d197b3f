//! The SIGQUIT goroutine dump: on `kill -QUIT` (or Ctrl-\ at a terminal) print every goroutine
//! of every runtime with its id, state, wait reason and wait time, then exit with status 2, as a
//! Go program does.
//!
//! ```text
//!  any thread                    the pipe              watcher thread ("goroutines-sigquit")
//!  SIGQUIT -> on_sigquit:                              blocked in read(read end)
//!             write(WAKE_FD, 1) ---> one byte ------>  wakes
//!             (errno kept)                             "SIGQUIT: quit", goroutine_dump of each
//!             returns                                  live runtime, to stderr; exit(2)
//! ```
//!
//! Go prints its traceback from inside the signal handler, which it can do because its printing
//! allocates nothing and takes no lock. Ours cannot: `goroutine_dump` formats `String`s and locks
//! each runtime's `allgs`, and a signal may land on a thread that holds the allocator's lock or
//! that very mutex, so a dump from the handler could deadlock. Hence the self-pipe trick: the
//! handler does the one async-signal-safe thing, a `write` of one byte to a non-blocking pipe,
//! and a dedicated thread, blocked reading the other end, does the work in ordinary context.
//!
//! Rejected: `signalfd` or `sigwait` on the watcher. Both need SIGQUIT blocked in every thread of
//! the process, and threads started before the runtime (the test harness, the program's own, a C
//! library's) keep whatever mask they had, so the signal could still reach one of them and take
//! its default action (a core dump). A handler catches it on whichever thread it lands.
//!
//! Invariants:
//! - The handler touches only `WAKE_FD` (an atomic load), `write` and `errno`, which it restores:
//!   the interrupted code may be between a failing call and its read of `errno`.
//! - The write end is non-blocking and never closed: a full pipe means a dump is already on its
//!   way, so the byte is dropped, and the handler can never block or write to a reused number.
//! - The handler is installed after the watcher runs and `WAKE_FD` is set, so a SIGQUIT that
//!   arrives the moment it is installed is already handled.
//! - The watcher is counted in `HELPER_THREADS` from before `install` returns to the end of the
//!   process: it is a thread of the process that will never feed a goroutine, and the deadlock
//!   check, which stands down while any thread is unaccounted for, must not wait on it.
//!
//! The runtime takes SIGQUIT over, as Go does, and chains to no previous handler. A program that
//! wants SIGQUIT for itself (a server that reloads on it, say) should not use this dump: turn it
//! off with the `Builder` option for it, before building the first runtime.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Read, Write as _};
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::ptr;
// Not the loom facade: a signal handler needs the real atomic, and this module is never built
// under loom.
use std::sync::atomic::{AtomicI32, Ordering};

use super::deadlock::goroutine_dump;
use super::deadlock::HELPER_THREADS;
use super::proc::{all_runtimes, Sched};

/// The write end of the pipe, for the handler; -1 until the watcher runs.
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
/// Whether the handler is in place; held while installing, so installs do not race.
static HANDLER_INSTALLED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);

/// Starts the watcher thread and installs the SIGQUIT handler, once per process; later calls do
/// nothing. An error (no file descriptors or threads left) leaves SIGQUIT's default action, and a
/// later call tries again.
pub(crate) fn install() -> io::Result<()> {
    let mut installed = HANDLER_INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if *installed {
        return Ok(());
    }
    if WAKE_FD.load(Ordering::Acquire) < 0 {
        let (read_end, write_end) = pipe()?;
        std::thread::Builder::new()
            .name("goroutines-sigquit".into())
            .spawn(move || watch(read_end))?;
        // The thread exists once `spawn` returns, so the deadlock check never sees it
        // unaccounted for after this point.
        HELPER_THREADS.fetch_add(1, Ordering::SeqCst);
        // Kept open for the life of the process (see the invariants).
        WAKE_FD.store(write_end.into_raw_fd(), Ordering::Release);
    }
    // SAFETY: `sigaction` is a plain C struct of integers, a signal set and a function pointer;
    // all zeros is a valid value (SIG_DFL, no flags, empty mask).
    let mut action: libc::sigaction = unsafe { mem::zeroed() };
    action.sa_sigaction = on_sigquit as *const () as libc::sighandler_t;
    // SA_RESTART: system calls the signal interrupts resume instead of failing with EINTR.
    // SA_ONSTACK: on a scheduler thread the handler runs on its alternate stack, not on a
    // goroutine stack that may be nearly full.
    action.sa_flags = libc::SA_RESTART | libc::SA_ONSTACK;
    // SAFETY: `sa_mask` is a valid signal set to initialise; `on_sigquit` has the one-argument
    // signature that the absence of `SA_SIGINFO` announces, and is async-signal-safe.
    let rc = unsafe {
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGQUIT, &action, ptr::null_mut())
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    *installed = true;
    Ok(())
}

/// A pipe whose write end is non-blocking; both ends close on exec.
fn pipe() -> io::Result<(File, OwnedFd)> {
    let mut fds = [-1; 2];
    // SAFETY: `pipe2` writes two descriptors into the two-element array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `pipe2` succeeded, so both are fresh descriptors that nothing else owns.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: `fcntl` on a descriptor we own; F_SETFL takes an int argument.
    if unsafe { libc::fcntl(write_end.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((File::from(read_end), write_end))
}

/// The handler: wakes the watcher. Async-signal-safe: an atomic load, `write`, and `errno`.
extern "C" fn on_sigquit(_signal: libc::c_int) {
    // SAFETY: `__errno_location` returns this thread's errno, valid for the thread's lifetime.
    let errno = unsafe { libc::__errno_location() };
    // SAFETY: as above.
    let saved = unsafe { *errno };
    let wake = [1u8];
    // SAFETY: `write` is async-signal-safe and reads one byte from a live array. The descriptor
    // is the pipe's write end, never closed; the handler is installed only once it is set.
    unsafe { libc::write(WAKE_FD.load(Ordering::Acquire), wake.as_ptr().cast(), 1) };
    // SAFETY: as above.
    unsafe { *errno = saved };
}

/// The watcher thread: waits for the handler's byte, then dumps and exits.
fn watch(mut read_end: File) {
    let mut byte = [0u8; 1];
    // `read_exact` retries reads that a signal interrupts. The write end is never closed, so
    // this returns only with the handler's byte or on a broken descriptor.
    if read_end.read_exact(&mut byte).is_ok() {
        dump_and_exit();
    }
    HELPER_THREADS.fetch_sub(1, Ordering::SeqCst);
}

/// Prints `SIGQUIT: quit` and every live runtime's goroutines on stderr, then exits with status
/// 2, as Go's `dieFromSignal` path does for SIGQUIT.
fn dump_and_exit() -> ! {
    let runtimes: Vec<&'static Sched> = all_runtimes()
        .into_iter()
        .filter(|sched| !sched.shutdown.load(Ordering::Relaxed))
        .collect();
    let mut out = String::from("SIGQUIT: quit\n\n");
    for (i, sched) in runtimes.iter().enumerate() {
        // Goroutine ids are per runtime: say whose they are when there is more than one.
        if runtimes.len() > 1 {
            let _ = writeln!(out, "runtime {} of {}:\n", i + 1, runtimes.len());
        }
        out.push_str(&goroutine_dump(sched));
    }
    let _ = io::stderr().lock().write_all(out.as_bytes());
    super::g::exit_now(2);
}
