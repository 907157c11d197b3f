//! Network I/O that parks goroutines, not threads: Go's `net` package model behind std's API.
//!
//! ```
//! use std::io::{Read, Write};
//! use goroutines::net::{TcpListener, TcpStream};
//!
//! // SAFETY: these goroutines hold no thread-locals or std guards across blocking calls.
//! let echoed = unsafe {
//!     goroutines::run(|| {
//!         let listener = TcpListener::bind("127.0.0.1:0").unwrap();
//!         let addr = listener.local_addr().unwrap();
//!         goroutines::go(move || {
//!             let (mut conn, _) = listener.accept().unwrap();
//!             let mut buf = [0; 5];
//!             conn.read_exact(&mut buf).unwrap();
//!             conn.write_all(&buf).unwrap();
//!         });
//!         let mut conn = TcpStream::connect(addr).unwrap();
//!         conn.write_all(b"hello").unwrap();
//!         let mut buf = [0; 5];
//!         conn.read_exact(&mut buf).unwrap();
//!         buf
//!     })
//! };
//! assert_eq!(&echoed, b"hello");
//! ```
//!
//! [`TcpListener`], [`TcpStream`], [`UdpSocket`], [`UnixListener`] and [`UnixStream`] have std's
//! methods and semantics (`Read` and `Write` on the stream and on `&stream`, std's timeouts and
//! their errors), so code written for std's blocking sockets, an HTTP parser or a codec over
//! `Read`, runs unchanged on goroutines: it feels synchronous, and a thousand connections cost
//! a thousand parked goroutines, not a thousand threads.
//!
//! # How a read parks
//!
//! ```text
//!   read(buf) --> recv(2) on the non-blocking socket --> data or EOF: return it
//!                   | EAGAIN
//!                   v
//!   first wait ever?  register the fd with this goroutine's runtime (once, edge-triggered)
//!   timeout set?      arm a runtime timer for the deadline (once per read)
//!   PollDesc::wait(Read) --> gopark; the P runs other goroutines
//!                   ^                       |
//!                   |   epoll edge, on whichever idle M polls: READY, goready
//!                   +-----------------------+--> recv(2) again
//! ```
//!
//! Every socket is a non-blocking mio socket. An operation first makes the system call; only on
//! `EAGAIN` does it wait, and after the wait it tries again, until the call succeeds, fails, or
//! the deadline passes. With edge-triggered readiness a wait is safe only after the kernel said
//! "not ready": an edge reports a change, and no change comes for data already there. So a short
//! read returns what it got, and the next read calls `recv` before it ever waits. The race the
//! other way, an edge that arrives after `EAGAIN` but before the goroutine parks, is the
//! descriptor's `READY` token (see `runtime/netpoll.rs`): the edge leaves it, the wait consumes
//! it without parking.
//!
//! # Register once
//!
//! A socket is added to epoll once, for reading and writing, edge-triggered, and stays until it
//! is dropped (Go's model): no `epoll_ctl` per wait, as one-shot or level-triggered registration
//! would need. It is registered lazily, by the first goroutine that has to wait on it, with that
//! goroutine's runtime: a socket may be created anywhere (a listener bound in `main` before
//! [`Runtime::run`](crate::Runtime::run), a stream accepted by one runtime and served by
//! another), and a connection that never has to wait never pays for the registration. Adding an
//! fd to epoll reports the readiness it already has, so data that arrived between the `EAGAIN`
//! and the registration is not missed. Dropping the last handle deregisters the fd, then
//! closes it. A socket stays with the runtime that registered it: it is woken by that runtime's
//! poller, so it must not outlive that runtime's `Runtime` handle while goroutines still use it.
//!
//! # One reader, one writer
//!
//! A descriptor holds one waiting reader and one waiting writer. Handles from `try_clone` share
//! the socket, so each direction has a turn lock (a goroutine-aware [`Mutex`](crate::sync::Mutex),
//! Go's `fdMutex`): a second reader waits for the first to finish, then makes its own call.
//!
//! # Timeouts
//!
//! `set_read_timeout` and `set_write_timeout` bound each later operation, as std's socket
//! options do. On a goroutine the first wait of an operation arms a runtime timer for its
//! deadline; the timer marks the descriptor expired and readies the waiter, which fails with
//! std's error (`WouldBlock`, from `EAGAIN`). The timer holds no goroutine and is disarmed
//! before the operation returns; `deadline.rs` has the protocol and its invariants.
//!
//! # Plain threads
//!
//! On a thread that is not running a goroutine there is nothing to park: the operation waits
//! for readiness in `poll(2)` on its own fd, with the time left to its deadline, and does not
//! register. Such a thread may share a socket with goroutines; each waits its own way.
//!
//! # Accept without descriptors
//!
//! When the process is out of file descriptors, `accept(2)` fails with `EMFILE` at once, whether
//! or not connections wait, and no edge will come to say that a descriptor was freed. Returning
//! the error ends the usual accept loop (`for conn in listener.incoming() { conn?; .. }`);
//! retrying at once spins a core. `accept` sleeps
//! instead, 5 ms doubling to 1 s (Go's `net/http` server), and tries again; the connections wait
//! in the backlog meanwhile. Since `accept(2)` fails with `EMFILE` before it looks at the
//! socket, each round also checks that the listener still listens (`SO_ACCEPTCONN`): one shut
//! down meanwhile ends the wait.
//!
//! # Rejected
//!
//! - Blocking system calls inside [`blocking`](crate::blocking): a thread per waiting
//!   connection, which is what goroutines exist to avoid.
//! - A reactor thread that owns the poller (Tokio's I/O driver): every wake-up crosses threads,
//!   and a busy runtime's readiness waits for that thread. Here any idle M polls.
//! - Deadlines as fields checked on wake-up only: a silent peer never wakes the reader, so
//!   the deadline needs its own timer.

/// `AsRawFd` and `AsFd` for a socket type whose `fd` field is a `NetFd`.
macro_rules! impl_as_fd {
    ($t:ty) => {
        impl std::os::fd::AsRawFd for $t {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.fd.socket().as_raw_fd()
            }
        }

        impl std::os::fd::AsFd for $t {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.fd.socket().as_fd()
            }
        }
    };
}

/// std's timeout methods (`set_read_timeout`, `set_write_timeout`, `read_timeout`,
/// `write_timeout`) for a socket type whose `fd` field is a `NetFd`.
macro_rules! impl_timeouts {
    ($t:ty) => {
        impl $t {
            /// Sets how long each later read (or receive) may wait: one that times out fails
            /// with `WouldBlock`, as std's do on Unix, and leaves the socket usable. None: no
            /// limit; zero: `InvalidInput`.
            pub fn set_read_timeout(
                &self,
                timeout: Option<std::time::Duration>,
            ) -> std::io::Result<()> {
                self.fd
                    .set_timeout(crate::runtime::netpoll::Mode::Read, timeout)
            }

            /// Sets how long each later write (or send) may wait, as
            /// [`set_read_timeout`](Self::set_read_timeout).
            pub fn set_write_timeout(
                &self,
                timeout: Option<std::time::Duration>,
            ) -> std::io::Result<()> {
                self.fd
                    .set_timeout(crate::runtime::netpoll::Mode::Write, timeout)
            }

            /// The read timeout, if any.
            pub fn read_timeout(&self) -> std::io::Result<Option<std::time::Duration>> {
                Ok(self.fd.timeout(crate::runtime::netpoll::Mode::Read))
            }

            /// The write timeout, if any.
            pub fn write_timeout(&self) -> std::io::Result<Option<std::time::Duration>> {
                Ok(self.fd.timeout(crate::runtime::netpoll::Mode::Write))
            }
        }
    };
}

/// `Read` and `Write` on a stream socket type and on a shared reference to it, through
/// `NetFd::io_stream` (so with its drained hint: a stream socket's short read emptied its
/// receive queue, and every later arrival raises an edge), for a type whose `fd` field is a
/// `NetFd` of a mio stream.
macro_rules! impl_stream_io {
    ($t:ty) => {
        impl std::io::Read for &$t {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let len = buf.len();
                self.fd
                    .io_stream(crate::runtime::netpoll::Mode::Read, len, |mut socket| {
                        std::io::Read::read(&mut socket, buf)
                    })
            }

            fn read_vectored(
                &mut self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                let len = bufs.iter().map(|b| b.len()).sum();
                self.fd
                    .io_stream(crate::runtime::netpoll::Mode::Read, len, |mut socket| {
                        std::io::Read::read_vectored(&mut socket, bufs)
                    })
            }
        }

        impl std::io::Write for &$t {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.fd.io_stream(
                    crate::runtime::netpoll::Mode::Write,
                    buf.len(),
                    |mut socket| std::io::Write::write(&mut socket, buf),
                )
            }

            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                let len = bufs.iter().map(|b| b.len()).sum();
                self.fd
                    .io_stream(crate::runtime::netpoll::Mode::Write, len, |mut socket| {
                        std::io::Write::write_vectored(&mut socket, bufs)
                    })
            }

            /// Nothing to flush: writes go straight to the socket.
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        impl std::io::Read for $t {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                std::io::Read::read(&mut &*self, buf)
            }

            fn read_vectored(
                &mut self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                std::io::Read::read_vectored(&mut &*self, bufs)
            }
        }

        impl std::io::Write for $t {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                std::io::Write::write(&mut &*self, buf)
            }

            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                std::io::Write::write_vectored(&mut &*self, bufs)
            }

            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
    };
}

mod deadline;
mod fd;
mod tcp;
mod udp;
mod unix;

use std::io;
use std::net::ToSocketAddrs;
use std::os::fd::AsRawFd;
use std::time::Duration;

pub use std::net::{Shutdown, SocketAddr};

pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixIncoming, UnixListener, UnixStream};

use crate::runtime::netpoll::Mode;
use fd::NetFd;

/// The first pause of `accept` when the process is out of file descriptors (Go's `net/http`).
const ACCEPT_BACKOFF_FIRST: Duration = Duration::from_millis(5);
/// The longest pause; each one doubles up to it.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Listens again with the kernel's largest backlog (`net.core.somaxconn`), as Go listens; std
/// and mio ask for 128. Listening again only changes the backlog.
fn listen_with_full_backlog(listener: &impl AsRawFd) -> io::Result<()> {
    // SAFETY: listen takes a plain fd that `listener` owns and keeps open; a negative backlog
    // means the kernel's maximum.
    if unsafe { libc::listen(listener.as_raw_fd(), -1) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A listener's `accept`: waits for a connection; skips connections reset before they were
/// accepted (as Go does); out of descriptors or socket memory, sleeps 5 ms doubling to 1 s and
/// tries again while the listener still listens (see "Accept without descriptors" above).
fn accept_with_backoff<S: AsRawFd, T>(
    fd: &NetFd<S>,
    mut accept: impl FnMut(&S) -> io::Result<T>,
) -> io::Result<T> {
    let mut backoff = Duration::ZERO;
    loop {
        let accepted = fd.io(Mode::Read, |listener| loop {
            match accept(listener) {
                Err(e) if e.raw_os_error() == Some(libc::ECONNABORTED) => continue,
                result => return result,
            }
        });
        match accepted {
            Ok(accepted) => return Ok(accepted),
            Err(e) if is_out_of_resources(&e) => {
                backoff = if backoff.is_zero() {
                    ACCEPT_BACKOFF_FIRST
                } else {
                    (backoff * 2).min(ACCEPT_BACKOFF_MAX)
                };
                crate::sleep(backoff);
                // Out of descriptors, `accept(2)` fails with EMFILE before it looks at the
                // socket, so a listener shut down meanwhile must be noticed here.
                if !is_listening(fd.socket())? {
                    return Err(io::Error::from_raw_os_error(libc::EINVAL));
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether the socket still listens (`SO_ACCEPTCONN`; cleared by `shutdown(2)`).
fn is_listening(socket: &impl AsRawFd) -> io::Result<bool> {
    let mut listening: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes to `listening`, a c_int that lives across
    // the call, and updates `len`.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ACCEPTCONN,
            (&mut listening as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(listening != 0)
}

/// Out of descriptors (the process's or the system's), or of kernel memory for a socket: errors
/// that time, not the caller, will cure.
fn is_out_of_resources(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// The addresses of `addr`, looked up inside [`blocking`](crate::blocking): a host name may need
/// the system resolver, which blocks its thread.
fn resolve<A: ToSocketAddrs>(addr: A) -> io::Result<A::Iter> {
    crate::blocking(|| addr.to_socket_addrs())
}

/// Runs `f` on each address of `addr` until one succeeds; else the last error (std's rule).
fn each_addr<A: ToSocketAddrs, T>(
    addr: A,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last_error = None;
    for addr in resolve(addr)? {
        match f(addr) {
            Ok(value) => return Ok(value),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any addresses",
        )
    }))
}
