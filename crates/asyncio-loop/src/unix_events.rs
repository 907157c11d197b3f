//! Unix domain sockets (`Lib/asyncio/unix_events.py`, `_UnixSelectorEventLoop`):
//! `create_unix_connection` and `create_unix_server`. They make the same [`Server`] and
//! [`Transport`] as TCP, over an `AF_UNIX` `SOCK_STREAM` socket (see `crate::sockets`).
//!
//! ```text
//!   create_unix_connection(factory, path)   socket(AF_UNIX), non-blocking; sock_connect(path)
//!                                           (waits for writability only when connect says
//!                                           EAGAIN: the listener's backlog is full); then
//!                                           _create_connection_transport
//!   create_unix_server(factory, path)       not abstract (first byte NUL) and stat(path) is a
//!                                           socket: remove it (a stale socket file; any other
//!                                           file stays, and bind fails); bind; Server;
//!                                           _start_serving (listen(100), add_reader); sleep(0)
//!   create_unix_connection_sock / create_unix_server_sock   CPython's sock=: a socket the
//!                                           caller made, checked to be AF_UNIX and
//!                                           SOCK_STREAM (crate::given_sockets); then as above
//! ```
//!
//! The socket file stays after `Server::close`, as in 3.12: 3.13's `cleanup_socket` (remove
//! the file on close when it is still the one the server bound) is not in 3.12's source.
//! A failure to stat or remove a stale file is reported on stderr (CPython's `logger.error`),
//! and the bind goes on.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::rc::Rc;

use rustix::net::{self as rnet, AddressFamily, SocketFlags, SocketType};

use crate::base_events::EventLoop;
use crate::futures::Error;
use crate::given_sockets::{self, ConnectionSock, ServerSock, Wanted};
use crate::protocols::Protocol;
use crate::resolve::py_os_error;
use crate::selector_events::{ProtocolFactory, Server};
use crate::sock_coroutines::{connect_new_socket, unix_address};
use crate::sockets::{is_abstract, Listener, SocketName, Stream};
use crate::transports::Transport;

impl EventLoop {
    /// `loop.create_unix_connection(protocol_factory, path)`: connect to the Unix socket at
    /// `path` (a first byte NUL names an abstract socket), then make a transport for
    /// `protocol_factory()` and wait until `connection_made` has run. Errors: the system's as
    /// CPython raises them (`[Errno 2] No such file or directory`, `[Errno 111] Connection
    /// refused` for a socket file nobody listens on), or cancellation.
    pub async fn create_unix_connection<P: Protocol + 'static>(
        &self,
        protocol_factory: impl FnOnce() -> Rc<P>,
        path: impl AsRef<Path>,
    ) -> Result<(Transport, Rc<P>), Error> {
        let address = SocketName::Unix(path.as_ref().to_owned());
        let sock = connect_new_socket(self, &address)
            .await?
            .map_err(Error::exception)?;
        self.create_connection_transport(Stream::Unix(UnixStream::from(sock)), protocol_factory)
            .await
    }

    /// `loop.create_unix_server(protocol_factory, path)` (backlog 100): listen on a Unix
    /// socket bound to `path` (a first byte NUL names an abstract socket), after removing a
    /// stale socket file there. The server is serving when this returns, one pass later; the
    /// file stays after [`Server::close`] (3.12). A failed bind is the system's error, or for
    /// `EADDRINUSE` CPython's `[Errno 98] Address '/path' is already in use` (e.g. a file that
    /// is not a socket is there).
    pub async fn create_unix_server<P: Protocol + 'static>(
        &self,
        protocol_factory: impl Fn() -> Rc<P> + 'static,
        path: impl AsRef<Path>,
    ) -> Result<Server, Error> {
        let path = path.as_ref();
        if !is_abstract(path) {
            remove_stale_socket(path);
        }
        let listener =
            bind_unix(path).map_err(|error| Error::exception(bind_error(path, &error)))?;
        let factory: ProtocolFactory = Rc::new(move || protocol_factory() as Rc<dyn Protocol>);
        Server::start(self, vec![Rc::new(Listener::Unix(listener))], factory).await
    }
}

impl EventLoop {
    /// `loop.create_unix_connection(protocol_factory, sock=sock)`: a transport for
    /// `protocol_factory()` on a connected Unix stream socket (one end of
    /// `UnixStream::pair()`, say), once `connection_made` has run. Errors: a
    /// [`SockError`](crate::SockError) (`A UNIX Domain Stream Socket was expected, got
    /// <socket.socket ...>`, the socket given back), or cancellation.
    pub async fn create_unix_connection_sock<P: Protocol + 'static>(
        &self,
        protocol_factory: impl FnOnce() -> Rc<P>,
        sock: impl Into<ConnectionSock>,
    ) -> Result<(Transport, Rc<P>), Error> {
        let checked = given_sockets::check(sock.into().0, Wanted::UnixStream)?;
        self.create_connection_given(checked, protocol_factory)
            .await
    }

    /// `loop.create_unix_server(protocol_factory, sock=sock)` (backlog 100): serve on a Unix
    /// stream socket the caller made (its file, if any, is left alone). Errors: a
    /// [`SockError`](crate::SockError) (`A UNIX Domain Stream Socket was expected, got
    /// <socket.socket ...>`, the socket given back), or `listen`'s.
    pub async fn create_unix_server_sock<P: Protocol + 'static>(
        &self,
        protocol_factory: impl Fn() -> Rc<P> + 'static,
        sock: impl Into<ServerSock>,
    ) -> Result<Server, Error> {
        let checked = given_sockets::check(sock.into().0, Wanted::UnixStream)?;
        self.serve_given(checked, protocol_factory).await
    }
}

/// `if stat.S_ISSOCK(os.stat(path).st_mode): os.remove(path)`; a missing file is fine; any
/// other error: "Unable to check or remove stale UNIX socket".
pub(crate) fn remove_stale_socket(path: &Path) {
    let removed = match std::fs::metadata(path) {
        Ok(metadata) if metadata.file_type().is_socket() => std::fs::remove_file(path),
        Ok(_) => Ok(()),
        Err(error) => Err(error),
    };
    match removed {
        Err(error) if error.kind() != io::ErrorKind::NotFound => {
            eprintln!(
                "asyncio: Unable to check or remove stale UNIX socket {}: {}",
                py_repr_path(path),
                py_os_error(&error, None)
            );
        }
        _ => {}
    }
}

/// `socket(AF_UNIX, SOCK_STREAM)`, non-blocking, bound to `path` (listen comes with
/// `_start_serving`).
fn bind_unix(path: &Path) -> io::Result<UnixListener> {
    let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
    let fd: OwnedFd = rnet::socket_with(AddressFamily::UNIX, SocketType::STREAM, flags, None)?;
    rnet::bind(&fd, &unix_address(path)?)?;
    Ok(UnixListener::from(fd))
}

/// `OSError(errno.EADDRINUSE, f'Address {path!r} is already in use')`; any other error as
/// the system's.
fn bind_error(path: &Path, error: &io::Error) -> io::Error {
    if error.raw_os_error() == Some(rustix::io::Errno::ADDRINUSE.raw_os_error()) {
        let message = format!("Address {} is already in use", py_repr_path(path));
        return py_os_error(error, Some(message));
    }
    py_os_error(error, None)
}

/// Python's `repr` of a path `str`: in single quotes (lossy for bytes that are not UTF-8).
fn py_repr_path(path: &Path) -> String {
    format!("'{}'", path.to_string_lossy())
}
