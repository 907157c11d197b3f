//! The runtime side of signals (Go's `runtime/sigqueue.go`): one handler for every signal the
//! process catches, one pipe, and one watcher thread that hands caught signals to
//! [`process`](super::process) (the channels and contexts of `notify`) or, for a SIGQUIT that
//! nobody watches, to the goroutine dump.
//!
//! ```text
//!  any thread                        the pipe             watcher thread ("goroutines-signal")
//!  signal n -> on_signal:                                 blocked in read(read end)
//!              DELIVERING += 1
//!              PENDING |= bit(n)
//!              write(WAKE_FD, 1) ---> one byte ------->   wakes; under PROGRESS:
//!              (errno kept)                               pending = PENDING.swap(0), swapped += 1
//!              DELIVERING -= 1                            for each bit n: process(n) or, for an
//!                                                         unwatched SIGQUIT, dump and exit(2)
//!                                                         processed = swapped
//! ```
//!
//! Go's handler queues the signal in the same way (`sigsend`: a bit per signal in `sig.mask`, a
//! note to wake `signal_recv`), because a handler may do only async-signal-safe work: it may not
//! allocate, lock, or touch a channel, whose lock the interrupted thread may hold. A bit per
//! signal coalesces a burst: a signal caught again before the watcher swapped the mask is
//! delivered once, as in Go.
//!
//! Rejected: `signalfd` or `sigwait` on the watcher. Both need the signals blocked in every
//! thread of the process, and threads started before the runtime (the test harness, the
//! program's own, a C library's) keep whatever mask they had, so a signal could still reach one
//! of them and take its default action. A handler catches it on whichever thread it lands.
//!
//! Dispositions, per signal, under `DISPOSITIONS` (Go's `signal_enable`, `signal_disable`,
//! `signal_ignore`, with `fwdSig` as `original`):
//! ```text
//!   untouched ──enable──▶ our handler ──disable──▶ original (SIGQUIT with the dump on: our handler)
//!        │                  ▲    │
//!        └──────ignore──────┼────┴──ignore──▶ SIG_IGN ──disable──▶ original (or the dump)
//!                           └──────enable──────┘
//! ```
//! `original` is what the signal had when this module first touched it, so a `reset` after
//! `ignore` gives back the default (or whatever the program inherited, such as `nohup`'s ignored
//! SIGHUP, or Rust's ignored SIGPIPE), as Go's `Reset` restores the disposition at start-up.
//!
//! Invariants:
//! - The handler touches only `DELIVERING`, `PENDING`, `WAKE_FD` (lock-free atomics), `write`
//!   and `errno`, which it restores: the interrupted code may be between a failing call and its
//!   read of `errno`.
//! - The write end is non-blocking and never closed: a full pipe means the watcher has bytes to
//!   wake it already, so the byte is dropped, and the handler can never block or write to a
//!   reused number.
//! - The handler is installed for a signal only after the watcher runs and `WAKE_FD` is set.
//! - [`wait_until_idle`] returns only after a watcher pass that swapped `PENDING` after every
//!   handler running when it was called had returned: a signal caught before then has been
//!   processed (Go's `signalWaitUntilIdle`, which `Stop` uses). As in Go, a handler that the
//!   kernel has entered but that has not yet counted itself in `DELIVERING` is missed; the
//!   window is a few instructions.
//! - The watcher is counted in `HELPER_THREADS` exactly while no channel or context watches a
//!   signal (`set_watching(false)`): then it can only dump, never feed a goroutine, and the
//!   deadlock check must not wait on it. While something watches, it may wake a goroutine at any
//!   moment, so the check must stand down, as Go's `checkdead` does while `signal_recv` waits.

use std::fs::File;
use std::io::{self, Read};
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::ptr;
// Not the loom facade: a signal handler needs the real atomics, and this module is never built
// under loom.
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use super::signum::{Signal, NSIG};
use crate::runtime::deadlock::HELPER_THREADS;

/// The write end of the pipe, for the handler; -1 until the watcher runs.
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
/// Signals caught since the watcher last looked: bit n-1 for signal n (Go's `sig.mask`).
static PENDING: AtomicU64 = AtomicU64::new(0);
/// Handlers between their first and last instruction (Go's `sig.delivering`).
static DELIVERING: AtomicUsize = AtomicUsize::new(0);

/// What this module did to each signal's disposition.
struct Dispositions {
    /// The watcher thread runs (and `WAKE_FD` is set).
    watcher: bool,
    /// The watcher is counted in `HELPER_THREADS`.
    helper: bool,
    /// SIGQUIT's goroutine dump is on (`Builder::sigquit_dump`).
    dump: bool,
    /// Signals that `ignore` ignores (and neither `enable` nor `disable` has changed since).
    ignoring: u64,
    /// Each signal's disposition when this module first changed it.
    original: [Option<libc::sigaction>; NSIG],
}

static DISPOSITIONS: Mutex<Dispositions> = Mutex::new(Dispositions {
    watcher: false,
    helper: false,
    dump: false,
    ignoring: 0,
    original: [None; NSIG],
});

/// The watcher's passes, for [`wait_until_idle`].
struct Progress {
    /// Passes that have swapped `PENDING`.
    swapped: u64,
    /// The last pass whose signals have all been processed.
    processed: u64,
    /// False once the watcher has stopped (a broken pipe): nobody will make progress.
    alive: bool,
}

static PROGRESS: Mutex<Progress> = Mutex::new(Progress {
    swapped: 0,
    processed: 0,
    alive: true,
});
static PROCESSED: Condvar = Condvar::new();

/// Every update leaves the state consistent before anything that could panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Turns SIGQUIT's goroutine dump on, once per process: the handler catches SIGQUIT from now on,
/// and one that no channel watches dumps. A SIGQUIT that `ignore` ignores stays ignored until
/// `reset`. An error (no file descriptors or threads left) leaves SIGQUIT as it was, and a
/// later call tries again.
pub(crate) fn install_dump() -> io::Result<()> {
    let mut d = lock(&DISPOSITIONS);
    if d.dump {
        return Ok(());
    }
    let quit = Signal::from_raw(libc::SIGQUIT);
    if d.ignoring & quit.bit().unwrap_or(0) == 0 {
        catch(&mut d, quit.as_raw())?;
    }
    d.dump = true;
    Ok(())
}

/// Go's `signal_enable`: `signal` is caught from now on. `signal` is catchable.
pub(super) fn enable(signal: Signal) -> io::Result<()> {
    let mut d = lock(&DISPOSITIONS);
    catch(&mut d, signal.as_raw())
}

/// Go's `signal_disable`: `signal` goes back to its original disposition (SIGQUIT with the dump
/// on: to the dump). Failures leave it as it was: a catchable signal's `sigaction` cannot fail.
pub(super) fn disable(signal: Signal) {
    let mut d = lock(&DISPOSITIONS);
    let n = signal.as_raw();
    d.ignoring &= !signal.bit().unwrap_or(0);
    if n == libc::SIGQUIT && d.dump {
        let _ = catch(&mut d, n);
        return;
    }
    if let Some(original) = d.original[n as usize] {
        // SAFETY: `original` is what `sigaction` gave back for this signal: a valid action.
        unsafe { libc::sigaction(n, &original, ptr::null_mut()) };
    }
}

/// Go's `signal_ignore`: `signal` is ignored from now on (`SIG_IGN`, also by threads the
/// runtime does not know). `signal` is catchable.
pub(super) fn ignore(signal: Signal) {
    let mut d = lock(&DISPOSITIONS);
    let n = signal.as_raw();
    save_original(&mut d, n);
    if set_action(n, libc::SIG_IGN).is_ok() {
        d.ignoring |= signal.bit().unwrap_or(0);
    }
}

/// Go's `signal_ignored`: whether `signal`'s disposition is `SIG_IGN` now.
pub(super) fn ignored(signal: Signal) -> bool {
    current(signal.as_raw()).is_some_and(|action| action.sa_sigaction == libc::SIG_IGN)
}

/// Whether some channel or context watches a signal: then the watcher may feed goroutines and
/// must not count as a helper thread (see the invariants).
pub(super) fn set_watching(watching: bool) {
    let mut d = lock(&DISPOSITIONS);
    if d.watcher && d.helper == watching {
        d.helper = !watching;
        if watching {
            HELPER_THREADS.fetch_sub(1, Ordering::SeqCst);
        } else {
            HELPER_THREADS.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Go's `signalWaitUntilIdle`: returns once every signal caught before the call has been
/// processed (see the invariants).
pub(super) fn wait_until_idle() {
    let fd = WAKE_FD.load(Ordering::Acquire);
    if fd < 0 {
        return;
    }
    while DELIVERING.load(Ordering::SeqCst) != 0 {
        std::thread::yield_now();
    }
    let target = lock(&PROGRESS).swapped + 1;
    wake(fd);
    let mut progress = lock(&PROGRESS);
    while progress.alive && progress.processed < target {
        progress = PROCESSED
            .wait(progress)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

/// Installs the handler for signal `n`, starting the watcher first if it does not run yet.
fn catch(d: &mut Dispositions, n: libc::c_int) -> io::Result<()> {
    if !d.watcher {
        start_watcher(d)?;
    }
    save_original(d, n);
    set_action(n, on_signal as *const () as libc::sighandler_t)?;
    d.ignoring &= !Signal::from_raw(n).bit().unwrap_or(0);
    Ok(())
}

fn start_watcher(d: &mut Dispositions) -> io::Result<()> {
    let (read_end, write_end) = pipe()?;
    std::thread::Builder::new()
        .name("goroutines-signal".into())
        .spawn(move || watch(read_end))?;
    // The thread exists once `spawn` returns: counted from here, so the deadlock check never
    // sees it unaccounted for while nothing watches. `set_watching` adjusts.
    HELPER_THREADS.fetch_add(1, Ordering::SeqCst);
    d.helper = true;
    // Kept open for the life of the process (see the invariants).
    WAKE_FD.store(write_end.into_raw_fd(), Ordering::Release);
    d.watcher = true;
    Ok(())
}

/// Records signal `n`'s disposition the first time this module changes it.
fn save_original(d: &mut Dispositions, n: libc::c_int) {
    if d.original[n as usize].is_none() {
        d.original[n as usize] = current(n);
    }
}

/// Signal `n`'s disposition now, or None if `n` is not a signal.
fn current(n: libc::c_int) -> Option<libc::sigaction> {
    // SAFETY: `sigaction` is a plain C struct of integers, a signal set and a function pointer;
    // all zeros is a valid value.
    let mut old: libc::sigaction = unsafe { mem::zeroed() };
    // SAFETY: a null new action only reads the current one into `old`.
    (unsafe { libc::sigaction(n, ptr::null(), &mut old) } == 0).then_some(old)
}

/// Sets signal `n`'s disposition to `handler`: `on_signal`, `SIG_IGN` or `SIG_DFL`.
fn set_action(n: libc::c_int, handler: libc::sighandler_t) -> io::Result<()> {
    // SAFETY: as in `current`.
    let mut action: libc::sigaction = unsafe { mem::zeroed() };
    action.sa_sigaction = handler;
    // SA_RESTART: system calls the signal interrupts resume instead of failing with EINTR.
    // SA_ONSTACK: on a scheduler thread the handler runs on its alternate stack, not on a
    // goroutine stack that may be nearly full.
    action.sa_flags = libc::SA_RESTART | libc::SA_ONSTACK;
    // SAFETY: `sa_mask` is a valid signal set to initialise. `handler` is SIG_IGN, SIG_DFL, or
    // `on_signal`, which has the one-argument signature that the absence of `SA_SIGINFO`
    // announces and is async-signal-safe.
    let rc = unsafe {
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(n, &action, ptr::null_mut())
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
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

/// Writes one byte to the pipe; a full pipe drops it (the watcher has bytes to wake it).
fn wake(fd: libc::c_int) {
    let byte = [1u8];
    // SAFETY: `write` is async-signal-safe and reads one byte from a live array. The descriptor
    // is the pipe's write end, never closed.
    unsafe { libc::write(fd, byte.as_ptr().cast(), 1) };
}

/// The handler (Go's `sigsend`): marks the signal pending and wakes the watcher.
/// Async-signal-safe: lock-free atomics, `write`, and `errno`.
extern "C" fn on_signal(signal: libc::c_int) {
    DELIVERING.fetch_add(1, Ordering::SeqCst);
    // SAFETY: `__errno_location` returns this thread's errno, valid for the thread's lifetime.
    let errno = unsafe { libc::__errno_location() };
    // SAFETY: as above.
    let saved = unsafe { *errno };
    if let Some(bit) = Signal::from_raw(signal).bit() {
        PENDING.fetch_or(bit, Ordering::SeqCst);
    }
    // The handler is installed only once `WAKE_FD` is set.
    wake(WAKE_FD.load(Ordering::Acquire));
    // SAFETY: as above.
    unsafe { *errno = saved };
    DELIVERING.fetch_sub(1, Ordering::SeqCst);
}

/// The watcher thread (Go's `signal.loop` over `signal_recv`): waits for the handler's bytes,
/// then processes every pending signal, lowest number first.
fn watch(mut read_end: File) {
    let mut bytes = [0u8; 64];
    loop {
        match read_end.read(&mut bytes) {
            Ok(n) if n > 0 => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // The write end is never closed: only a broken descriptor ends the loop.
            _ => break,
        }
        let (pending, pass) = {
            let mut progress = lock(&PROGRESS);
            progress.swapped += 1;
            (PENDING.swap(0, Ordering::SeqCst), progress.swapped)
        };
        for n in 1..NSIG as libc::c_int {
            let signal = Signal::from_raw(n);
            if pending & signal.bit().unwrap_or(0) != 0 {
                deliver(signal);
            }
        }
        lock(&PROGRESS).processed = pass;
        PROCESSED.notify_all();
    }
    lock(&PROGRESS).alive = false;
    PROCESSED.notify_all();
    let mut d = lock(&DISPOSITIONS);
    if d.helper {
        d.helper = false;
        HELPER_THREADS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Hands `signal` to the channels and contexts that watch it; a SIGQUIT that nobody watches
/// dumps the goroutines and exits, if the dump is on (else it was caught in a race with `stop`
/// and is dropped, as Go drops a signal that arrives while its last channel is stopped).
fn deliver(signal: Signal) {
    if super::process(signal) {
        return;
    }
    if signal.as_raw() == libc::SIGQUIT && lock(&DISPOSITIONS).dump {
        crate::runtime::sigquit::dump_and_exit();
    }
}
