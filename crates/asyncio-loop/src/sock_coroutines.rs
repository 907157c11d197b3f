//! The loop's socket coroutines (`Lib/asyncio/selector_events.py`): `sock_recv`,
//! `sock_sendall`, `sock_accept` and `sock_connect` on a non-blocking socket.
//!
//! ```text
//!   sock_recv(sock, n)       recv ── data / error ──────────────────────────► return / raise
//!                             └─ EAGAIN: add_reader(_sock_recv); await fut
//!   _sock_recv (readable)    fut done? return; recv ── EAGAIN: wait on ─► fut.set_result(data)
//!   sock_sendall(sock, data) send ── all sent ─► return
//!                             └─ the rest: add_writer(_sock_sendall); await fut
//!   _sock_sendall (writable) fut done? return; send the rest ── all sent ─► fut.set_result
//!                            (the writer stays registered across as many events as it takes)
//!   sock_accept(listener)    accept ── EAGAIN: add_reader(_sock_accept); await fut
//!   sock_connect(sock, addr) connect ── EINPROGRESS / EAGAIN / EINTR: add_writer; await;
//!                            SO_ERROR: "Connect call failed <addr>"
//!   fut done (result, error, cancel): _sock_read_done / _sock_write_done remove the reader /
//!                            writer unless another replaced it since
//! ```
//!
//! As in CPython, the system call runs first and the loop is only asked to wait when it would
//! block; the retries run inside the reader/writer callback, so data is received (and the rest
//! sent) in the pass the event comes in, and the task resumes in the next, as CPython's.
//!
//! The sockets: `sock_recv`, `sock_sendall` and `sock_connect` take any `AsFd` (a
//! `TcpStream`, `UnixStream`, `OwnedFd`, a `socket2::Socket`...) and make the same system calls
//! as CPython's `socket` methods (`recv(2)`, `send(2)`, `connect(2)`) on it, so they work for
//! every stream socket alike; `Read`/`Write` would fit only the std types and would let through
//! files epoll cannot wait on, and no std type is an unconnected socket, which `sock_connect`
//! needs. `sock_accept` takes a [`ListeningSocket`] (`TcpListener`, `UnixListener`) and gives
//! the std type of the connection with its peer's address. Each socket must be non-blocking,
//! as in CPython, which checks it only in debug mode; it is not checked here, and a blocking
//! socket blocks the loop.
//!
//! A retry in a callback needs the socket after the coroutine's borrow of it could end (a
//! selector callback is `'static`), so the slow path duplicates the descriptor (`F_DUPFD_CLOEXEC`,
//! the same open socket) for the callback; `sock_sendall` copies the unsent rest once, where
//! CPython keeps a `memoryview`. The fast path (the first call did it all) costs neither.
//!
//! Invariants:
//! - a reader or writer registered here is removed when the coroutine ends in any way
//!   (result, error, cancellation, or its future dropped), unless another callback replaced it;
//! - the callback touches nothing once the coroutine's future is done (cancelled included).

use std::cell::{Cell, RefCell};
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{self as unix, UnixListener, UnixStream};
use std::rc::Rc;

use rustix::io::Errno;
use rustix::net::{self as rnet, RecvFlags, SendFlags, SocketAddrUnix};

use crate::base_events::EventLoop;
use crate::futures::Error;
use crate::resolve::py_os_error;
use crate::selector::{IoHandle, EVENT_READ, EVENT_WRITE};
use crate::sockets::{is_abstract, SocketName};

/// A listening socket [`EventLoop::sock_accept`] takes: `TcpListener` or `UnixListener`.
pub trait ListeningSocket: AsFd + From<OwnedFd> + sealed::Sealed + 'static {
    /// The connection's socket.
    type Stream: 'static;
    /// The peer's address.
    type Addr: 'static;

    /// `conn, address = sock.accept(); conn.setblocking(False)`.
    fn accept_nonblocking(&self) -> io::Result<(Self::Stream, Self::Addr)>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for std::net::TcpListener {}
    impl Sealed for std::os::unix::net::UnixListener {}
}

impl ListeningSocket for TcpListener {
    type Stream = TcpStream;
    type Addr = SocketAddr;

    fn accept_nonblocking(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (conn, addr) = self.accept()?;
        conn.set_nonblocking(true)?;
        Ok((conn, addr))
    }
}

impl ListeningSocket for UnixListener {
    type Stream = UnixStream;
    type Addr = unix::SocketAddr;

    fn accept_nonblocking(&self) -> io::Result<(UnixStream, unix::SocketAddr)> {
        let (conn, addr) = self.accept()?;
        conn.set_nonblocking(true)?;
        Ok((conn, addr))
    }
}

/// `BlockingIOError` or `InterruptedError`: try again when the socket is ready.
fn would_block(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

/// An `OSError` as CPython raises it (`[Errno N] text`).
fn os_error(error: &io::Error) -> Error {
    Error::exception(py_os_error(error, None))
}

/// A reader or writer this module registered: `_sock_read_done` / `_sock_write_done` when
/// dropped (the coroutine ended in any way): removed unless another replaced it since.
struct Registration<'a> {
    event_loop: &'a EventLoop,
    fd: BorrowedFd<'a>,
    mask: u8,
    handle: Rc<IoHandle>,
}

impl<'a> Registration<'a> {
    /// `_add_reader` / `_add_writer` with `callback`.
    fn add(
        event_loop: &'a EventLoop,
        fd: BorrowedFd<'a>,
        mask: u8,
        callback: impl Fn() + 'static,
        name: &'static str,
    ) -> Result<Self, Error> {
        let handle = IoHandle::new(Rc::new(callback), name);
        event_loop
            .add_io(fd, mask, handle.clone())
            .map_err(Error::exception)?;
        Ok(Registration {
            event_loop,
            fd,
            mask,
            handle,
        })
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        if !self.handle.cancelled() {
            self.event_loop.remove_io(self.fd, self.mask);
        }
    }
}

/// The socket again, for a `'static` callback (see the module's essay).
fn duplicate(fd: BorrowedFd<'_>) -> Result<OwnedFd, Error> {
    rustix::io::fcntl_dupfd_cloexec(fd, 0).map_err(|error| os_error(&error.into()))
}

fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    Ok(rnet::recv(fd, buf, RecvFlags::empty())?.0)
}

/// `send(2)` with `MSG_NOSIGNAL`, as std's sockets send: a closed peer is `EPIPE`, never
/// `SIGPIPE` (CPython ignores `SIGPIPE` process-wide for the same effect).
fn send(fd: BorrowedFd<'_>, data: &[u8]) -> io::Result<usize> {
    Ok(rnet::send(fd, data, SendFlags::NOSIGNAL)?)
}

/// `sock.connect(address)`.
fn connect(fd: BorrowedFd<'_>, address: &SocketName) -> io::Result<()> {
    match address {
        SocketName::Inet(addr) => rnet::connect(fd, addr)?,
        SocketName::Unix(path) => rnet::connect(fd, &unix_address(path)?)?,
    }
    Ok(())
}

/// A path as `AF_UNIX` takes it; a first byte NUL names an abstract socket.
pub(crate) fn unix_address(path: &std::path::Path) -> io::Result<SocketAddrUnix> {
    use std::os::unix::ffi::OsStrExt;
    if is_abstract(path) {
        Ok(SocketAddrUnix::new_abstract_name(
            &path.as_os_str().as_bytes()[1..],
        )?)
    } else {
        Ok(SocketAddrUnix::new(path)?)
    }
}

impl EventLoop {
    /// `loop.sock_recv(sock, n)`: at most `n` bytes from a non-blocking socket, empty at EOF;
    /// waits until it is readable when nothing is there yet. Errors: the system's
    /// (`[Errno 104] Connection reset by peer`), or cancellation, which removes the reader.
    pub async fn sock_recv<S: AsFd + ?Sized>(&self, sock: &S, n: usize) -> Result<Vec<u8>, Error> {
        let mut data = vec![0; n];
        match recv(sock.as_fd(), &mut data) {
            Ok(len) => {
                data.truncate(len);
                return Ok(data);
            }
            Err(error) if would_block(&error) => {}
            Err(error) => return Err(os_error(&error)),
        }
        let fut = self.create_future::<()>();
        let (done, received) = (fut.clone(), Rc::new(RefCell::new(data)));
        let (own_sock, buffer) = (duplicate(sock.as_fd())?, received.clone());
        let _reader = Registration::add(
            self,
            sock.as_fd(),
            EVENT_READ,
            move || {
                if done.done() {
                    return;
                }
                let mut buffer = buffer.borrow_mut();
                match recv(own_sock.as_fd(), &mut buffer) {
                    Ok(len) => {
                        buffer.truncate(len);
                        let _ = done.set_result(());
                    }
                    Err(error) if would_block(&error) => {}
                    Err(error) => {
                        let _ = done.set_exception(os_error(&error));
                    }
                }
            },
            "BaseSelectorEventLoop._sock_recv",
        )?;
        fut.await?;
        Ok(received.take())
    }

    /// `loop.sock_sendall(sock, data)`: sends all of `data` on a non-blocking socket, waiting
    /// for writability as often as it takes. Errors: the system's (`[Errno 32] Broken pipe`;
    /// how much was sent is then unknown, as in CPython), or cancellation, which removes the
    /// writer.
    pub async fn sock_sendall<S: AsFd + ?Sized>(&self, sock: &S, data: &[u8]) -> Result<(), Error> {
        let sent = match send(sock.as_fd(), data) {
            Ok(sent) => sent,
            Err(error) if would_block(&error) => 0,
            Err(error) => return Err(os_error(&error)),
        };
        if sent == data.len() {
            return Ok(());
        }
        let fut = self.create_future::<()>();
        let done = fut.clone();
        let (own_sock, rest, position) = (
            duplicate(sock.as_fd())?,
            data[sent..].to_vec(),
            Cell::new(0),
        );
        let _writer = Registration::add(
            self,
            sock.as_fd(),
            EVENT_WRITE,
            move || {
                if done.done() {
                    // "Future cancellation can be scheduled on previous loop iteration".
                    return;
                }
                match send(own_sock.as_fd(), &rest[position.get()..]) {
                    Ok(sent) => {
                        position.set(position.get() + sent);
                        if position.get() == rest.len() {
                            let _ = done.set_result(());
                        }
                    }
                    Err(error) if would_block(&error) => {}
                    Err(error) => {
                        let _ = done.set_exception(os_error(&error));
                    }
                }
            },
            "BaseSelectorEventLoop._sock_sendall",
        )?;
        fut.await
    }

    /// `loop.sock_accept(sock)`: a connection on a listening, non-blocking socket, made
    /// non-blocking, and its peer's address; waits until one comes. Errors: the system's, or
    /// cancellation, which removes the reader.
    pub async fn sock_accept<L: ListeningSocket>(
        &self,
        sock: &L,
    ) -> Result<(L::Stream, L::Addr), Error> {
        match sock.accept_nonblocking() {
            Ok(accepted) => return Ok(accepted),
            Err(error) if would_block(&error) => {}
            Err(error) => return Err(os_error(&error)),
        }
        let fut = self.create_future::<()>();
        let (done, accepted) = (fut.clone(), Rc::new(Cell::new(None)));
        let (own_sock, slot) = (L::from(duplicate(sock.as_fd())?), accepted.clone());
        // CPython's callback re-adds itself after EAGAIN, replacing the same registration;
        // staying registered does the same.
        let _reader = Registration::add(
            self,
            sock.as_fd(),
            EVENT_READ,
            move || {
                if done.done() {
                    return;
                }
                match own_sock.accept_nonblocking() {
                    Ok(connection) => {
                        slot.set(Some(connection));
                        let _ = done.set_result(());
                    }
                    Err(error) if would_block(&error) => {}
                    Err(error) => {
                        let _ = done.set_exception(os_error(&error));
                    }
                }
            },
            "BaseSelectorEventLoop._sock_accept",
        )?;
        fut.await?;
        accepted
            .take()
            .ok_or_else(|| Error::exception(io::Error::other("sock_accept: no connection")))
    }

    /// `loop.sock_connect(sock, address)`: connects a non-blocking socket (of `address`'s
    /// family: `AF_INET`/`AF_INET6` for [`SocketName::Inet`], `AF_UNIX` for a path), waiting
    /// until the connection is made when it cannot be at once. Errors: the system's, worded as
    /// CPython's (`[Errno 111] Connect call failed ('127.0.0.1', 8080)` after a wait; `[Errno 2]
    /// No such file or directory` at once), or cancellation, which removes the writer. The
    /// address is not resolved (CPython's resolves a host name: see
    /// [`getaddrinfo`](Self::getaddrinfo)).
    pub async fn sock_connect<S: AsFd + ?Sized>(
        &self,
        sock: &S,
        address: impl Into<SocketName>,
    ) -> Result<(), Error> {
        self.sock_connect_fd(sock.as_fd(), &address.into())
            .await?
            .map_err(Error::exception)
    }

    /// `_sock_connect` and `_sock_connect_cb`: the system's error inside (the next address may
    /// be tried); outside, what ends the attempt (cancellation, a closed loop).
    pub(crate) async fn sock_connect_fd(
        &self,
        fd: BorrowedFd<'_>,
        address: &SocketName,
    ) -> Result<io::Result<()>, Error> {
        match connect(fd, address) {
            Ok(()) => return Ok(Ok(())),
            Err(error) if would_block(&error) || in_progress(&error) => {}
            Err(error) => return Ok(Err(py_os_error(&error, None))),
        }
        let connected = self.create_future::<()>();
        let done = connected.clone();
        let writer = Registration::add(
            self,
            fd,
            EVENT_WRITE,
            move || {
                let _ = done.set_result(());
            },
            "BaseSelectorEventLoop._sock_connect_cb",
        )?;
        connected.await?;
        drop(writer);
        match rnet::sockopt::socket_error(fd) {
            Ok(Ok(())) => Ok(Ok(())),
            // `_sock_connect_cb`: `OSError(err, f'Connect call failed {address}')`.
            Ok(Err(error)) | Err(error) => Ok(Err(py_os_error(
                &error.into(),
                Some(format!("Connect call failed {}", address.py_str())),
            ))),
        }
    }
}

/// `EINPROGRESS` or `EALREADY`: the rest of `BlockingIOError`.
fn in_progress(error: &io::Error) -> bool {
    matches!(
        Errno::from_io_error(error),
        Some(Errno::INPROGRESS | Errno::ALREADY)
    )
}

/// A new non-blocking stream socket of `address`'s family, connected to it (create_connection
/// and create_unix_connection): the system's error inside, as [`EventLoop::sock_connect_fd`].
pub(crate) async fn connect_new_socket(
    event_loop: &EventLoop,
    address: &SocketName,
) -> Result<io::Result<OwnedFd>, Error> {
    use rnet::{AddressFamily, SocketFlags, SocketType};
    let family = match address {
        SocketName::Inet(SocketAddr::V4(_)) => AddressFamily::INET,
        SocketName::Inet(SocketAddr::V6(_)) => AddressFamily::INET6,
        SocketName::Unix(_) => AddressFamily::UNIX,
    };
    let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
    let fd = match rnet::socket_with(family, SocketType::STREAM, flags, None) {
        Ok(fd) => fd,
        Err(error) => return Ok(Err(py_os_error(&error.into(), None))),
    };
    Ok(event_loop
        .sock_connect_fd(fd.as_fd(), address)
        .await?
        .map(|()| fd))
}
