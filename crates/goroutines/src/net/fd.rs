//! `NetFd`: one socket's side of the network poller, shared by every socket type (Go's
//! `internal/poll.FD`). It owns the non-blocking mio socket, its registration, the two turn locks
//! and the two timeouts, and runs every operation through one loop:
//!
//! ```text
//!   io(mode, op):  take the turn of `mode`
//!                  loop { op(socket): done -> return
//!                                     WouldBlock -> wait(mode), then try again }
//!   wait, goroutine:    register once; arm the deadline timer once; PollDesc::wait(mode)
//!   wait, plain thread: libc::poll(fd, mode, time left)
//!
//!   io_stream(mode, len, op): as io, but an op that moves fewer than len bytes drained the
//!                  socket: remember the poller's event count from before it; the next
//!                  io_stream of mode waits at once if no event came since (no EAGAIN call)
//! ```
//!
//! Invariants:
//! - A wait always follows a `WouldBlock` of the same operation: with edge-triggered readiness
//!   that is the only safe moment to wait, since the edge that ends the wait can only come after
//!   the kernel said "empty" (or "full").
//!   The one exception is `io_stream`'s drained hint (Tokio's "clear readiness on a short read"):
//!   a TCP read that returns fewer bytes than asked emptied the receive queue, so the next read
//!   would only fetch the `EAGAIN`. It may wait instead, provided no event of that direction came
//!   since the short read's system call began (`PollDesc::clear_if_no_event_since`): data that
//!   arrives after the call makes an event later, just as after an `EAGAIN`. This saves one system
//!   call per request on a request-response connection. Datagrams never use it: a short datagram
//!   says nothing about the next one.
//! - One operation per direction at a time (`read_turn`, `write_turn`; Go's `fdMutex` read and
//!   write locks): a `PollDesc` semaphore holds one waiter, and two goroutines reading one
//!   socket through clones would otherwise steal each other's wake-ups.
//! - The registration is made once and never changes until drop; drop deregisters before the
//!   socket closes. No operation is in flight at drop: they all borrow the `NetFd`.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::OnceLock;
use std::time::Duration;

use mio::unix::SourceFd;

use super::deadline::{timeout_error, Deadline};
use crate::loom::{AtomicU64, Ordering};
use crate::runtime::g::{current_g, goready};
use crate::runtime::netpoll::{current_netpoll, Mode, NetPoll, PollDesc};
use crate::sync::{Mutex, MutexGuard};

/// A socket registered with a runtime's poller.
#[derive(Clone, Copy)]
struct Registration {
    netpoll: &'static NetPoll,
    pd: &'static PollDesc,
}

/// A non-blocking socket and everything needed to block on it.
pub(crate) struct NetFd<S: AsRawFd> {
    socket: S,
    /// Set by the first goroutine that has to wait, to its runtime's poller.
    registration: OnceLock<Registration>,
    /// Serialises the (rare) first registrations of a reader and a writer.
    registering: parking_lot::Mutex<()>,
    read_turn: Mutex<()>,
    write_turn: Mutex<()>,
    /// Nanoseconds; 0: no timeout (a zero timeout is refused when set).
    read_timeout: AtomicU64,
    write_timeout: AtomicU64,
    /// `io_stream`'s drained hints, one per direction: `DRAINED | events` when the last
    /// operation came back short with the poller's event count at `events` before it; 0: none.
    /// Read and written only under the direction's turn.
    read_drained: AtomicU64,
    write_drained: AtomicU64,
}

/// Marks a drained hint as set (event counts are 32 bits).
const DRAINED: u64 = 1 << 32;

impl<S: AsRawFd> NetFd<S> {
    pub(crate) fn new(socket: S) -> NetFd<S> {
        NetFd {
            socket,
            registration: OnceLock::new(),
            registering: parking_lot::Mutex::new(()),
            read_turn: Mutex::new(()),
            write_turn: Mutex::new(()),
            read_timeout: AtomicU64::new(0),
            write_timeout: AtomicU64::new(0),
            read_drained: AtomicU64::new(0),
            write_drained: AtomicU64::new(0),
        }
    }

    /// The socket, for calls that never block (addresses, options).
    pub(crate) fn socket(&self) -> &S {
        &self.socket
    }

    fn timeout_slot(&self, mode: Mode) -> &AtomicU64 {
        match mode {
            Mode::Read => &self.read_timeout,
            Mode::Write => &self.write_timeout,
        }
    }

    /// Sets the timeout of each later operation of `mode`, with std's rules: None turns it off,
    /// a zero duration is an `InvalidInput` error.
    pub(crate) fn set_timeout(&self, mode: Mode, timeout: Option<Duration>) -> io::Result<()> {
        let nanos = match timeout {
            None => 0,
            Some(d) if d.is_zero() => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "cannot set a 0 duration timeout",
                ))
            }
            Some(d) => u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1),
        };
        self.timeout_slot(mode).store(nanos, Ordering::Relaxed);
        Ok(())
    }

    pub(crate) fn timeout(&self, mode: Mode) -> Option<Duration> {
        match self.timeout_slot(mode).load(Ordering::Relaxed) {
            0 => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }

    /// Takes the turn of `mode`: one operation per direction at a time.
    fn turn(&self, mode: Mode) -> MutexGuard<'_, ()> {
        match mode {
            Mode::Read => self.read_turn.lock(),
            Mode::Write => self.write_turn.lock(),
        }
    }

    fn drained_slot(&self, mode: Mode) -> &AtomicU64 {
        match mode {
            Mode::Read => &self.read_drained,
            Mode::Write => &self.write_drained,
        }
    }

    /// `io` for a byte stream, where `op` moves at most `len` bytes and returns how many: an
    /// operation that moves fewer drained the socket's queue (reads) or filled its buffer
    /// (writes), and the next one waits for an event before its system call rather than after
    /// an `EAGAIN` (see the module's invariants). Only on a goroutine: a plain thread polls.
    pub(crate) fn io_stream(
        &self,
        mode: Mode,
        len: usize,
        mut op: impl FnMut(&S) -> io::Result<usize>,
    ) -> io::Result<usize> {
        let timeout = self.timeout(mode);
        let _turn = self.turn(mode);
        let hint = self.drained_slot(mode).swap(0, Ordering::Relaxed);
        let pd = match self.registration.get() {
            Some(registration) if current_g().is_some() => registration.pd,
            _ => {
                return match attempt(&self.socket, &mut op) {
                    Some(result) => result,
                    None => self.io_slow(mode, timeout, op),
                }
            }
        };
        let mut deadline = None;
        // Whether the queue may hold something: else wait before trying.
        let mut try_first = hint & DRAINED == 0 || !pd.clear_if_no_event_since(mode, hint as u32);
        loop {
            if try_first {
                let events = pd.events(mode);
                match attempt(&self.socket, &mut op) {
                    Some(Ok(n)) => {
                        if n > 0 && n < len {
                            self.drained_slot(mode)
                                .store(DRAINED | u64::from(events), Ordering::Relaxed);
                        }
                        return Ok(n);
                    }
                    Some(result) => return result,
                    None => count_would_block(),
                }
            }
            try_first = true;
            // The deadline starts at the first wait, as in `io`.
            let deadline = deadline.get_or_insert_with(|| Deadline::after(timeout));
            self.wait(mode, deadline)?;
        }
    }

    /// Runs `op` on the socket until it does not return `WouldBlock`, waiting for readiness of
    /// `mode` in between, for at most the socket's timeout of `mode` (then: a `WouldBlock` error,
    /// as std's timeouts give on Unix).
    #[inline]
    pub(crate) fn io<R>(&self, mode: Mode, op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        self.io_with_timeout(mode, self.timeout(mode), op)
    }

    /// `io` with an explicit timeout instead of the socket's.
    pub(crate) fn io_with_timeout<R>(
        &self,
        mode: Mode,
        timeout: Option<Duration>,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        let _turn = self.turn(mode);
        match attempt(&self.socket, &mut op) {
            Some(result) => result,
            None => self.io_slow(mode, timeout, op),
        }
    }

    /// The rest of `io` once the socket was not ready: the deadline starts now.
    #[cold]
    #[inline(never)]
    fn io_slow<R>(
        &self,
        mode: Mode,
        timeout: Option<Duration>,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        // Dropped on every return, which disarms its timer before `io` returns.
        let mut deadline = Deadline::after(timeout);
        loop {
            count_would_block();
            self.wait(mode, &mut deadline)?;
            if let Some(result) = attempt(&self.socket, &mut op) {
                return result;
            }
        }
    }

    /// Waits until the socket may be ready for `mode`, or the deadline passes.
    fn wait(&self, mode: Mode, deadline: &mut Deadline) -> io::Result<()> {
        if current_g().is_none() {
            return poll_thread(self.socket.as_raw_fd(), mode, deadline);
        }
        if deadline.passed() {
            return Err(timeout_error());
        }
        let registration = self.registration()?;
        deadline.arm(registration.pd, mode);
        match registration.pd.wait(mode) {
            Err(e) if e.kind() == io::ErrorKind::TimedOut => Err(timeout_error()),
            result => result,
        }
    }

    /// The socket's registration, made now with the current goroutine's runtime if it is the
    /// first wait.
    fn registration(&self) -> io::Result<Registration> {
        match self.registration.get() {
            Some(registration) => Ok(*registration),
            None => self.register(),
        }
    }

    #[cold]
    fn register(&self) -> io::Result<Registration> {
        let _registering = self.registering.lock();
        if let Some(registration) = self.registration.get() {
            return Ok(*registration);
        }
        let Some(netpoll) = current_netpoll() else {
            return Err(io::Error::other(
                "net: registering a socket outside a goroutine",
            ));
        };
        // Data that arrived since the `WouldBlock` is not lost: adding an fd to epoll reports the
        // readiness it already has.
        let pd = netpoll.open(&mut SourceFd(&self.socket.as_raw_fd()))?;
        let registration = Registration { netpoll, pd };
        // Cannot fail: we hold `registering`, and found it unset.
        let _ = self.registration.set(registration);
        Ok(registration)
    }
}

impl<S: AsRawFd> Drop for NetFd<S> {
    fn drop(&mut self) {
        if let Some(Registration { netpoll, pd }) = self.registration.get().copied() {
            // Nothing waits (every operation borrows us), but `close` returns whoever it finds.
            for g in netpoll.close(&mut SourceFd(&self.socket.as_raw_fd()), pd) {
                goready(g);
            }
        }
        // `socket` closes the fd after this, once it is out of epoll.
    }
}

/// Runs `op` once, again if a signal interrupted it; None when the socket was not ready (the only
/// outcome after which a wait may follow).
#[inline]
fn attempt<S, R>(socket: &S, op: &mut impl FnMut(&S) -> io::Result<R>) -> Option<io::Result<R>> {
    loop {
        match op(socket) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
            result => return Some(result),
        }
    }
}

/// Counts an operation the kernel answered `EAGAIN` in the runtime's `Stats` (on a goroutine).
fn count_would_block() {
    if let Some(netpoll) = current_netpoll() {
        netpoll.count_would_block();
    }
}

/// A plain thread waits in `poll(2)`, without registering: the thread itself is what blocks.
fn poll_thread(fd: RawFd, mode: Mode, deadline: &Deadline) -> io::Result<()> {
    let events = match mode {
        Mode::Read => libc::POLLIN,
        Mode::Write => libc::POLLOUT,
    };
    loop {
        let timeout_ms = match deadline.remaining() {
            None => -1,
            Some(left) if left.is_zero() => return Err(timeout_error()),
            // Round up: poll must not return before the deadline.
            Some(left) => libc::c_int::try_from(left.as_nanos().div_ceil(1_000_000))
                .unwrap_or(libc::c_int::MAX),
        };
        let mut pollfd = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: poll reads and writes the one pollfd we pass, which lives across the call.
        match unsafe { libc::poll(&mut pollfd, 1, timeout_ms) } {
            // Timed out: the next round sees the deadline passed.
            0 => continue,
            // Ready, or an error or hang-up that the retried operation will report.
            n if n > 0 => return Ok(()),
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}
