//! `BaseSelectorEventLoop`'s I/O (`Lib/asyncio/selector_events.py`) and `base_events.Server`,
//! `create_server` and `create_connection` (`Lib/asyncio/base_events.py`).
//!
//! ```text
//!   create_server(factory, addr)   for each address (crate::resolve): socket, SO_REUSEADDR,
//!                                  bind, listen(100); Server; add_reader(listener,
//!                                  _accept_connection); sleep(0)
//!   _accept_connection             up to `backlog` accept()s per event; each connection:
//!                                  create_task(_accept_connection2)
//!   _accept_connection2 (a task)   protocol = factory(); Transport(sock, protocol, waiter);
//!                                  await waiter (set two passes later, after connection_made)
//!   create_connection(factory, addr)  each address in turn (crate::resolve): non-blocking
//!                                  connect; add_writer until writable (sock_connect,
//!                                  crate::sock_coroutines), SO_ERROR; then as
//!                                  _accept_connection2
//!   create_server_sock(factory, sock) / create_connection_sock(factory, sock)
//!                                  CPython's sock=: a socket the caller made, checked to be
//!                                  SOCK_STREAM (crate::given_sockets), non-blocking; then
//!                                  Server / _create_connection_transport as above
//!   (create_unix_server / create_unix_connection: crate::unix_events, the same Server and
//!   Transport over an AF_UNIX socket)
//!
//!   Server: active_count = attached transports; close() stops listening; wait_closed()
//!           returns once closed and every transport has called connection_lost (3.12.1)
//! ```
//!
//! Accept errors: EAGAIN, EINTR and ECONNABORTED end the batch; EMFILE, ENFILE, ENOBUFS and
//! ENOMEM are reported ("socket.accept() out of system resource") and accepting pauses for
//! `ACCEPT_RETRY_DELAY` (1 s); any other error is reported and the batch ends.
//!
//! Invariants:
//! - a listening socket is registered for reading exactly while its server is serving;
//! - `active_count` counts transports of this server whose `connection_lost` has not run;
//! - `wait_closed` waiters are woken once, when the server is closed and `active_count` is 0.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::rc::Rc;

use rustix::net::{self as rnet, AddressFamily, SocketFlags, SocketType};

use crate::base_events::EventLoop;
use crate::exception_handler::ExceptionContext;
use crate::futures::{Error, Future};
use crate::given_sockets::{self, Checked, ConnectionSock, ServerSock, Wanted};
use crate::protocols::Protocol;
use crate::resolve::{connect_error, py_os_error, py_sockaddr, strerror, Address};
use crate::selector::{IoHandle, EVENT_READ, EVENT_WRITE};
use crate::sleep::sleep;
use crate::sock_coroutines::connect_new_socket;
use crate::sockets::{Listener, SocketName, Stream};
use crate::transports::Transport;

/// `create_server`'s default `backlog`.
pub const DEFAULT_BACKLOG: i32 = 100;

/// `constants.ACCEPT_RETRY_DELAY`: seconds before accepting again after running out of fds.
const ACCEPT_RETRY_DELAY: f64 = 1.0;

/// A protocol factory, as `create_server` keeps it.
pub(crate) type ProtocolFactory = Rc<dyn Fn() -> Rc<dyn Protocol>>;

impl EventLoop {
    pub(crate) fn add_io(
        &self,
        fd: BorrowedFd<'_>,
        mask: u8,
        handle: Rc<IoHandle>,
    ) -> io::Result<()> {
        if self.is_closed() {
            return Err(io::Error::other("event loop is closed"));
        }
        match &self.0.selector {
            Ok(selector) => selector.add(fd, mask, handle),
            Err(error) => Err(io::Error::new(error.kind(), error.to_string())),
        }
    }

    /// Removing from a closed loop, or an fd never added, does nothing (CPython returns False).
    pub(crate) fn remove_io(&self, fd: BorrowedFd<'_>, mask: u8) -> bool {
        match &self.0.selector {
            Ok(selector) if !self.is_closed() => selector.remove(fd, mask).unwrap_or(false),
            _ => false,
        }
    }

    /// `loop.add_reader(fd, callback)`: call `callback` in a pass whenever `fd` is readable
    /// (level-triggered), until `remove_reader`. Replaces a reader already registered. Fails as
    /// `epoll_ctl` does (e.g. a regular file: `EPERM`).
    pub fn add_reader(&self, fd: BorrowedFd<'_>, callback: impl Fn() + 'static) -> io::Result<()> {
        let name = std::any::type_name_of_val(&callback);
        self.add_io(fd, EVENT_READ, IoHandle::new(Rc::new(callback), name))
    }

    /// `loop.remove_reader(fd)`: true when a reader was registered.
    pub fn remove_reader(&self, fd: BorrowedFd<'_>) -> bool {
        self.remove_io(fd, EVENT_READ)
    }

    /// `loop.add_writer(fd, callback)`: as [`add_reader`](Self::add_reader), for writability.
    pub fn add_writer(&self, fd: BorrowedFd<'_>, callback: impl Fn() + 'static) -> io::Result<()> {
        let name = std::any::type_name_of_val(&callback);
        self.add_io(fd, EVENT_WRITE, IoHandle::new(Rc::new(callback), name))
    }

    /// `loop.remove_writer(fd)`: true when a writer was registered.
    pub fn remove_writer(&self, fd: BorrowedFd<'_>) -> bool {
        self.remove_io(fd, EVENT_WRITE)
    }

    /// `loop.create_connection(protocol_factory, host, port)`: resolve `addr` (see
    /// [`Address`]), connect to each address in turn until one takes, then make a transport
    /// for `protocol_factory()` and wait until `connection_made` has run. Errors: the
    /// resolver's, or the connections' as CPython words them (`Error::Exception` holding an
    /// [`io::Error`] of the system error's kind: `[Errno 111] Connect call failed ('127.0.0.1',
    /// 8080)`; when several addresses failed differently, `Multiple exceptions: ...`), or
    /// cancellation.
    pub async fn create_connection<P: Protocol + 'static>(
        &self,
        protocol_factory: impl FnOnce() -> Rc<P>,
        addr: impl Into<Address>,
    ) -> Result<(Transport, Rc<P>), Error> {
        let mut errors = Vec::new();
        let mut connected = None;
        for addr in addr.into().resolve(self).await? {
            match connect_new_socket(self, &SocketName::Inet(addr)).await? {
                Ok(sock) => {
                    connected = Some(TcpStream::from(sock));
                    break;
                }
                Err(error) => errors.push(error),
            }
        }
        let Some(sock) = connected else {
            return Err(connect_error(errors));
        };
        self.create_connection_transport(Stream::Tcp(sock), protocol_factory)
            .await
    }

    /// `loop.create_connection(protocol_factory, sock=sock)`: a transport for
    /// `protocol_factory()` on a socket already connected (TCP, or Unix: CPython takes both
    /// here), once `connection_made` has run. Errors: a [`SockError`](crate::SockError) (`A
    /// Stream Socket was expected, got <socket.socket ...>`, the socket given back), or
    /// cancellation.
    pub async fn create_connection_sock<P: Protocol + 'static>(
        &self,
        protocol_factory: impl FnOnce() -> Rc<P>,
        sock: impl Into<ConnectionSock>,
    ) -> Result<(Transport, Rc<P>), Error> {
        let checked = given_sockets::check(sock.into().0, Wanted::Stream)?;
        self.create_connection_given(checked, protocol_factory)
            .await
    }

    /// `_create_connection_transport(sock, ...)` on a given socket that passed its checks:
    /// `sock.setblocking(False)` first.
    pub(crate) async fn create_connection_given<P: Protocol + 'static>(
        &self,
        checked: Checked,
        protocol_factory: impl FnOnce() -> Rc<P>,
    ) -> Result<(Transport, Rc<P>), Error> {
        given_sockets::set_nonblocking(&checked.sock)?;
        let sock = match checked.unix {
            true => Stream::Unix(UnixStream::from(checked.sock)),
            false => Stream::Tcp(TcpStream::from(checked.sock)),
        };
        self.create_connection_transport(sock, protocol_factory)
            .await
    }

    /// `_create_connection_transport`: the protocol and its transport on a connected socket,
    /// once `connection_made` has run.
    pub(crate) async fn create_connection_transport<P: Protocol + 'static>(
        &self,
        sock: Stream,
        protocol_factory: impl FnOnce() -> Rc<P>,
    ) -> Result<(Transport, Rc<P>), Error> {
        let protocol = protocol_factory();
        let waiter = self.create_future::<()>();
        let transport = Transport::new(self, sock, protocol.clone(), Some(waiter.clone()), None);
        if let Err(error) = waiter.await {
            transport.close();
            return Err(error);
        }
        Ok((transport, protocol))
    }

    /// `loop.create_server(protocol_factory, host, port)` (`SO_REUSEADDR`, backlog 100): a
    /// listening socket for each address `addr` resolves to (see [`Address`]; the host `""`
    /// is every interface), each IPv6 one `IPV6_V6ONLY`, addresses the system cannot assign
    /// skipped. The server is serving when this returns, one pass later. A failed bind is
    /// CPython's `error while attempting to bind on address ('127.0.0.1', 8080): address
    /// already in use`.
    pub async fn create_server<P: Protocol + 'static>(
        &self,
        protocol_factory: impl Fn() -> Rc<P> + 'static,
        addr: impl Into<Address>,
    ) -> Result<Server, Error> {
        let mut listeners = Vec::new();
        for addr in addr.into().resolve_passive(self).await? {
            match bind_listener(addr) {
                Ok(listener) => listeners.push(Rc::new(Listener::Tcp(listener))),
                // A family the system lacks: "Assume it's a bad family/type/protocol
                // combination", and "Assume the family is not enabled (bpo-30945)".
                Err(error) if family_unavailable(&error) => {}
                Err(error) => return Err(Error::exception(bind_error(&addr, &error))),
            }
        }
        let factory: ProtocolFactory = Rc::new(move || protocol_factory() as Rc<dyn Protocol>);
        Server::start(self, listeners, factory).await
    }
}

impl EventLoop {
    /// `loop.create_server(protocol_factory, sock=sock)` (backlog 100): serve on a socket the
    /// caller made (TCP or Unix: CPython takes both here), bound or not, listening or not
    /// (`listen(100)` is called). The server is serving when this returns, one pass later;
    /// [`Server::close`] closes the socket. Errors: a [`SockError`](crate::SockError) (`A
    /// Stream Socket was expected, got <socket.socket ...>`, the socket given back), or
    /// `listen`'s or the selector's (the socket is then closed with the server).
    pub async fn create_server_sock<P: Protocol + 'static>(
        &self,
        protocol_factory: impl Fn() -> Rc<P> + 'static,
        sock: impl Into<ServerSock>,
    ) -> Result<Server, Error> {
        let checked = given_sockets::check(sock.into().0, Wanted::Stream)?;
        self.serve_given(checked, protocol_factory).await
    }

    /// `sock.setblocking(False)`, `Server(...)`, `_start_serving`, `sleep(0)` on a given
    /// socket that passed its checks.
    pub(crate) async fn serve_given<P: Protocol + 'static>(
        &self,
        checked: Checked,
        protocol_factory: impl Fn() -> Rc<P> + 'static,
    ) -> Result<Server, Error> {
        given_sockets::set_nonblocking(&checked.sock)?;
        let listener = match checked.unix {
            true => Listener::Unix(UnixListener::from(checked.sock)),
            false => Listener::Tcp(TcpListener::from(checked.sock)),
        };
        let factory: ProtocolFactory = Rc::new(move || protocol_factory() as Rc<dyn Protocol>);
        Server::start(self, vec![Rc::new(listener)], factory).await
    }
}

/// `socket()` refused the family (`EAFNOSUPPORT`), or `bind` the address (`EADDRNOTAVAIL`).
fn family_unavailable(error: &io::Error) -> bool {
    use rustix::io::Errno;
    matches!(
        Errno::from_io_error(error),
        Some(Errno::AFNOSUPPORT | Errno::ADDRNOTAVAIL)
    )
}

/// `OSError(err.errno, 'error while attempting to bind on address %r: %s' % (sa,
/// err.strerror.lower()))`.
fn bind_error(addr: &SocketAddr, error: &io::Error) -> io::Error {
    let message = format!(
        "error while attempting to bind on address {}: {}",
        py_sockaddr(addr),
        strerror(error).to_lowercase()
    );
    py_os_error(error, Some(message))
}

/// socket, `SO_REUSEADDR`, `IPV6_V6ONLY` for IPv6, bind (listen comes with
/// `_start_serving`).
fn bind_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    let family = if addr.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
    let fd = rnet::socket_with(family, SocketType::STREAM, flags, None)?;
    rnet::sockopt::set_socket_reuseaddr(&fd, true)?;
    if addr.is_ipv6() {
        rnet::sockopt::set_ipv6_v6only(&fd, true)?;
    }
    rnet::bind(&fd, &addr)?;
    Ok(TcpListener::from(fd))
}

pub(crate) struct ServerInner {
    event_loop: EventLoop,
    sockets: RefCell<Option<Vec<Rc<Listener>>>>,
    protocol_factory: ProtocolFactory,
    backlog: i32,
    active_count: Cell<usize>,
    waiters: RefCell<Option<Vec<Future<()>>>>,
    serving: Cell<bool>,
    serving_forever: RefCell<Option<Future<()>>>,
}

/// `asyncio.Server` (`base_events.Server`), from [`EventLoop::create_server`] or
/// [`start_server`](crate::start_server). Cloning gives another reference to the same server.
#[derive(Clone)]
pub struct Server(Rc<ServerInner>);

/// Why [`Server::serve_forever`] could not serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServeError {
    /// `RuntimeError('server ... is already being awaited on serve_forever()')`.
    AlreadyServingForever,
    /// `RuntimeError('server ... is closed')`.
    Closed,
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::AlreadyServingForever => {
                f.write_str("server is already being awaited on serve_forever()")
            }
            ServeError::Closed => f.write_str("server is closed"),
        }
    }
}

impl std::error::Error for ServeError {}

impl Server {
    /// `base_events.Server(loop, sockets, protocol_factory, ssl, backlog)` and
    /// `_start_serving`, then one pass: "Skip one loop iteration so that all 'loop.add_reader'
    /// go through."
    pub(crate) async fn start(
        event_loop: &EventLoop,
        listeners: Vec<Rc<Listener>>,
        protocol_factory: ProtocolFactory,
    ) -> Result<Server, Error> {
        let server = Server(Rc::new(ServerInner {
            event_loop: event_loop.clone(),
            sockets: RefCell::new(Some(listeners)),
            protocol_factory,
            backlog: DEFAULT_BACKLOG,
            active_count: Cell::new(0),
            waiters: RefCell::new(Some(Vec::new())),
            serving: Cell::new(false),
            serving_forever: RefCell::new(None),
        }));
        server.start_serving().map_err(Error::exception)?;
        sleep(0.0).await?;
        Ok(server)
    }

    /// `Server._attach`: a transport of this server was made.
    pub(crate) fn attach(&self) {
        self.0.active_count.set(self.0.active_count.get() + 1);
    }

    /// `Server._detach`: a transport of this server is gone.
    pub(crate) fn detach(&self) {
        let count = self.0.active_count.get().saturating_sub(1);
        self.0.active_count.set(count);
        if count == 0 && self.0.sockets.borrow().is_none() {
            self.wakeup();
        }
    }

    /// `Server._wakeup`: wake every `wait_closed`, once.
    fn wakeup(&self) {
        let waiters = self.0.waiters.borrow_mut().take();
        for waiter in waiters.into_iter().flatten() {
            if !waiter.done() {
                let _ = waiter.set_result(());
            }
        }
    }

    /// `Server._start_serving`: listen and add the accept reader to each socket.
    fn start_serving(&self) -> io::Result<()> {
        if self.0.serving.replace(true) {
            return Ok(());
        }
        let sockets = self.0.sockets.borrow().clone().unwrap_or_default();
        for listener in sockets {
            rnet::listen(&*listener, self.0.backlog)?;
            self.add_accept_reader(&listener)?;
        }
        Ok(())
    }

    /// `loop._start_serving`: `add_reader(sock, _accept_connection, ...)`.
    fn add_accept_reader(&self, listener: &Rc<Listener>) -> io::Result<()> {
        // The selector holds the server and its socket while it listens (CPython's handle holds
        // the socket and the server): dropping every `Server` does not stop it; `close` does.
        let (server, sock) = (self.clone(), listener.clone());
        let accept = move || server.accept_connection(&sock);
        let handle = IoHandle::new(Rc::new(accept), "BaseSelectorEventLoop._accept_connection");
        self.0
            .event_loop
            .add_io(listener.as_fd(), EVENT_READ, handle)
    }

    /// `_accept_connection`: up to `backlog` connections per readable event.
    fn accept_connection(&self, listener: &Rc<Listener>) {
        let event_loop = &self.0.event_loop;
        for _ in 0..self.0.backlog {
            let conn = match listener.accept() {
                Ok(accepted) => accepted,
                Err(error) => {
                    use rustix::io::Errno;
                    match Errno::from_io_error(&error) {
                        Some(Errno::MFILE | Errno::NFILE | Errno::NOBUFS | Errno::NOMEM) => {
                            event_loop.call_exception_handler(ExceptionContext {
                                message: "socket.accept() out of system resource".to_owned(),
                                exception: Some(Error::exception(error)),
                                task: None,
                            });
                            event_loop.remove_io(listener.as_fd(), EVENT_READ);
                            let (server, listener) = (self.clone(), listener.clone());
                            event_loop.call_later(ACCEPT_RETRY_DELAY, move || {
                                if server.is_serving() {
                                    let _ = server.add_accept_reader(&listener);
                                }
                            });
                        }
                        _ if matches!(
                            error.kind(),
                            io::ErrorKind::WouldBlock
                                | io::ErrorKind::Interrupted
                                | io::ErrorKind::ConnectionAborted
                        ) => {}
                        // CPython re-raises; the handle's run reports it to the handler.
                        _ => event_loop.call_exception_handler(ExceptionContext {
                            message:
                                "Exception in callback BaseSelectorEventLoop._accept_connection"
                                    .to_owned(),
                            exception: Some(Error::exception(error)),
                            task: None,
                        }),
                    }
                    return;
                }
            };
            let server = self.clone();
            event_loop.create_task(async move {
                server.accept_connection2(conn).await;
                Ok(())
            });
        }
    }

    /// `_accept_connection2`: the protocol and its transport, in a task.
    async fn accept_connection2(self, conn: Stream) {
        let event_loop = self.0.event_loop.clone();
        let protocol = (self.0.protocol_factory)();
        let waiter = event_loop.create_future::<()>();
        let transport = Transport::new(
            &event_loop,
            conn,
            protocol,
            Some(waiter.clone()),
            Some(self),
        );
        if waiter.await.is_err() {
            transport.close();
        }
    }

    /// `Server.is_serving()`.
    pub fn is_serving(&self) -> bool {
        self.0.serving.get()
    }

    /// The TCP addresses the server listens on (`[sock.getsockname() for sock in
    /// server.sockets]`); empty once closed, and for a Unix server (see
    /// [`socket_names`](Self::socket_names)).
    pub fn sockets(&self) -> Vec<SocketAddr> {
        let names = self.socket_names().into_iter();
        names
            .filter_map(|name| match name {
                SocketName::Inet(addr) => Some(addr),
                SocketName::Unix(_) => None,
            })
            .collect()
    }

    /// The addresses the server listens on, TCP or Unix (a Unix server's path); empty once
    /// closed.
    pub fn socket_names(&self) -> Vec<SocketName> {
        self.0
            .sockets
            .borrow()
            .iter()
            .flatten()
            .filter_map(|sock| sock.sockname())
            .collect()
    }

    /// `Server.close()`: stop listening (the listening sockets are closed); connections already
    /// accepted stay open.
    pub fn close(&self) {
        let Some(sockets) = self.0.sockets.borrow_mut().take() else {
            return;
        };
        for sock in &sockets {
            // `loop._stop_serving(sock)`: remove the reader, close the socket.
            self.0.event_loop.remove_io(sock.as_fd(), EVENT_READ);
        }
        drop(sockets);
        self.0.serving.set(false);
        let forever = self.0.serving_forever.borrow_mut().take();
        if let Some(forever) = forever {
            forever.cancel();
        }
        if self.0.active_count.get() == 0 {
            self.wakeup();
        }
    }

    /// `Server.wait_closed()` (3.12.1): returns once the server is closed and every connection
    /// it accepted is gone; at once if that already happened. (3.11 and 3.12.0 returned at once
    /// whenever the server was closed, without waiting for its connections.)
    pub async fn wait_closed(&self) -> Result<(), Error> {
        let waiter = {
            let mut waiters = self.0.waiters.borrow_mut();
            let Some(waiters) = waiters.as_mut() else {
                return Ok(());
            };
            let waiter = self.0.event_loop.create_future::<()>();
            waiters.push(waiter.clone());
            waiter
        };
        waiter.await
    }

    /// `Server.serve_forever()`: serve until the task is cancelled (then close and wait until
    /// closed) or [`close`](Self::close) is called (then `Error::Cancelled`).
    pub async fn serve_forever(&self) -> Result<(), Error> {
        if self.0.serving_forever.borrow().is_some() {
            return Err(Error::exception(ServeError::AlreadyServingForever));
        }
        if self.0.sockets.borrow().is_none() {
            return Err(Error::exception(ServeError::Closed));
        }
        self.start_serving().map_err(Error::exception)?;
        let forever = self.0.event_loop.create_future::<()>();
        *self.0.serving_forever.borrow_mut() = Some(forever.clone());
        let outcome = forever.await;
        self.0.serving_forever.borrow_mut().take();
        if let Err(Error::Cancelled) = outcome {
            self.close();
            self.wait_closed().await?;
        }
        outcome
    }
}
