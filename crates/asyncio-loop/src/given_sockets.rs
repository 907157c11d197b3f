//! `sock=`: a socket the caller made (socket activation, one bound before dropping privileges,
//! one already connected, one end of a socketpair), handed to `create_server`,
//! `create_connection`, `create_datagram_endpoint` and their Unix and stream variants instead
//! of an address (`Lib/asyncio/base_events.py`, `unix_events.py`, 3.12.1; 3.11.7's checks are
//! the same code).
//!
//! ```text
//!   ServerSock      TcpListener | UnixListener | OwnedFd   create_server_sock,
//!                                                          start_server_sock, ... unix ...
//!   ConnectionSock  TcpStream   | UnixStream   | OwnedFd   create_connection_sock,
//!                                                          open_connection_sock, ... unix ...
//!   DatagramSock    UdpSocket   | UnixDatagram | OwnedFd   DatagramEndpoint::sock
//!
//!   check (CPython's order)   SO_TYPE (and SO_DOMAIN for the Unix variants) against what the
//!                             call wants: else SockError with CPython's text and repr(sock)
//!   then                      setblocking(False); the socket belongs to the server/transport
//! ```
//!
//! Each of the three is an owned descriptor: a std socket converts to it, and an `OwnedFd` (a
//! descriptor from systemd, say) is checked at run time as CPython checks `sock.type`, so that
//! a socket of the wrong type gets CPython's `ValueError` text, never a panic. The std types
//! pass the same checks (they cannot fail them, except a TCP socket given to a Unix variant).
//!
//! CPython's errors for an address given with the socket (`host/port and sock can not be
//! specified at the same time`, `path and sock ...`) or for neither (`Neither host/port nor
//! sock were specified`, `host and port was not specified and no sock specified`, `no path and
//! sock were specified`) cannot arise here: the socket is given to its own function, which
//! takes no address. `create_datagram_endpoint` keeps one options value, so its check of the
//! other options (`socket modifier keyword arguments can not be used ...`) is here.
//!
//! Invariants:
//! - a given socket is, at every moment, either the caller's, in a [`SockError`] (open), or
//!   owned by the server or transport made on it: no check closes it;
//! - the checks run before anything else of the call (no pass, no protocol made), in
//!   CPython's order: the type (and family), then the datagram options.
//!
//! A refused socket is not closed (CPython closes nothing it did not make): the
//! [`SockError`] holds it until [`SockError::take_socket`] gives it back, and closes it when
//! dropped. Once the checks pass the socket belongs to what was made on it, and a later
//! failure (`listen` on a connected socket, say) drops it with the server, as CPython's
//! server would close it when collected. Beyond CPython: only `AF_INET`, `AF_INET6` and
//! `AF_UNIX` sockets are taken (the transports here hold those kinds; see `crate::sockets`),
//! any other family is [`SockRejected::UnsupportedFamily`]. The stream functions
//! (`open_connection_sock`, ...) called outside a running loop fail with
//! [`Error::NoRunningLoop`] before the check, and the socket is closed with their arguments.
//! One end of a Unix datagram socketpair is connected here (its transport sends to the peer),
//! where CPython takes its peer's empty name `''` for "not connected" and fails.
//!
//! The fixtures `sock_server`, `sock_connection` and `sock_datagram`
//! (`peers/python/asyncio_sock_orderings.py`) record CPython's messages and events.

use std::cell::RefCell;
use std::fmt;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};

use rustix::net::{self as rnet, sockopt, AddressFamily, SocketAddrUnix, SocketType};

use crate::futures::Error;
use crate::resolve::{py_os_error, py_sockaddr};

/// The socket `create_server(sock=...)` serves on: a `TcpListener`, a `UnixListener`, or an
/// `OwnedFd` of a stream socket (bound, or not: `listen` then picks a port). Listening or not:
/// the server calls `listen(100)`.
#[derive(Debug)]
pub struct ServerSock(pub(crate) OwnedFd);

/// The connected socket `create_connection(sock=...)` makes a transport on: a `TcpStream`, a
/// `UnixStream` (one end of `UnixStream::pair()`, say), or an `OwnedFd` of a stream socket.
#[derive(Debug)]
pub struct ConnectionSock(pub(crate) OwnedFd);

/// The socket `create_datagram_endpoint(sock=...)` uses as it is, connected or not: a
/// `UdpSocket`, a `UnixDatagram`, or an `OwnedFd` of a datagram socket.
#[derive(Debug)]
pub struct DatagramSock(pub(crate) OwnedFd);

macro_rules! from_sockets {
    ($sock:ident: $($from:ty),*) => {$(
        impl From<$from> for $sock {
            fn from(sock: $from) -> Self {
                $sock(OwnedFd::from(sock))
            }
        }
    )*};
}

from_sockets!(ServerSock: TcpListener, UnixListener, OwnedFd);
from_sockets!(ConnectionSock: TcpStream, UnixStream, OwnedFd);
from_sockets!(DatagramSock: UdpSocket, UnixDatagram, OwnedFd);

/// Why a socket given as `sock=` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SockRejected {
    /// `ValueError(f'A Stream Socket was expected, got {sock!r}')`: not `SOCK_STREAM`
    /// (`create_server`, `create_connection`).
    StreamExpected,
    /// `ValueError(f'A UNIX Domain Stream Socket was expected, got {sock!r}')`: not `AF_UNIX`
    /// and `SOCK_STREAM` (`create_unix_server`, `create_unix_connection`).
    UnixStreamExpected,
    /// `ValueError(f'A UDP Socket was expected, got {sock!r}')`: not `SOCK_DGRAM`
    /// (`create_datagram_endpoint`).
    UdpExpected,
    /// `ValueError('socket modifier keyword arguments can not be used when sock is
    /// specified. (local_addr=..., ...)')`: `create_datagram_endpoint` got a socket and an
    /// address, a family, `reuse_port` or `allow_broadcast`.
    ModifiersGiven,
    /// The descriptor is not a socket (CPython's `socket.socket(fileno=fd)` raises
    /// `OSError: [Errno 88] Socket operation on non-socket`).
    NotASocket,
    /// This crate's own: a family other than `AF_INET`, `AF_INET6` and `AF_UNIX`.
    UnsupportedFamily,
}

/// A socket given as `sock=` and refused, with CPython's message; it holds the socket, open,
/// until [`take_socket`](Self::take_socket). It reaches the caller as [`Error::Exception`]:
///
/// ```
/// use std::net::TcpListener;
/// use std::os::fd::OwnedFd;
/// use std::rc::Rc;
///
/// use asyncio_loop::{run, DatagramEndpoint, DatagramProtocol, Error, EventLoop};
/// use asyncio_loop::{RunError, SockError, SockRejected};
///
/// struct Quiet;
/// impl DatagramProtocol for Quiet {}
///
/// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
/// let error = run(async move {
///     let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
///     let endpoint = DatagramEndpoint::new().sock(OwnedFd::from(listener));
///     event_loop.create_datagram_endpoint(|| Rc::new(Quiet), endpoint).await?;
///     Ok(())
/// })
/// .unwrap_err();
/// let RunError::Failed(Error::Exception(error)) = error else { panic!("{error}") };
/// let refused = error.downcast_ref::<SockError>().unwrap();
/// assert_eq!(refused.reason(), SockRejected::UdpExpected);
/// assert!(refused.to_string().starts_with("A UDP Socket was expected, got <socket.socket fd="));
/// let listener = TcpListener::from(refused.take_socket().unwrap()); // still open, listening
/// # let _ = listener;
/// ```
pub struct SockError {
    reason: SockRejected,
    message: String,
    sock: RefCell<Option<OwnedFd>>,
}

impl SockError {
    fn error(reason: SockRejected, message: String, sock: OwnedFd) -> Error {
        Error::exception(SockError {
            reason,
            message,
            sock: RefCell::new(Some(sock)),
        })
    }

    /// Why the socket was refused.
    pub fn reason(&self) -> SockRejected {
        self.reason
    }

    /// The refused socket, open as it was given; `None` once taken.
    pub fn take_socket(&self) -> Option<OwnedFd> {
        self.sock.borrow_mut().take()
    }
}

impl fmt::Display for SockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for SockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SockError")
            .field("reason", &self.reason)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl std::error::Error for SockError {}

/// The kind of socket a call wants.
#[derive(Clone, Copy)]
pub(crate) enum Wanted {
    /// `sock.type == SOCK_STREAM`.
    Stream,
    /// `sock.family == AF_UNIX and sock.type == SOCK_STREAM`.
    UnixStream,
    /// `sock.type == SOCK_DGRAM`.
    Datagram,
}

/// A given socket that passed the checks, and whether it is a Unix one (else `AF_INET` or
/// `AF_INET6`).
pub(crate) struct Checked {
    pub(crate) sock: OwnedFd,
    pub(crate) unix: bool,
}

/// CPython's type check (for the Unix variants, the family too), then this crate's family
/// check. Does not yet set the socket non-blocking: see [`set_nonblocking`].
pub(crate) fn check(sock: OwnedFd, wanted: Wanted) -> Result<Checked, Error> {
    let (family, kind) = match (sockopt::socket_domain(&sock), sockopt::socket_type(&sock)) {
        (Ok(family), Ok(kind)) => (family, kind),
        (Err(error), _) | (_, Err(error)) => {
            let message = py_os_error(&error.into(), None).to_string();
            return Err(SockError::error(SockRejected::NotASocket, message, sock));
        }
    };
    let refused = match wanted {
        Wanted::Stream if kind != SocketType::STREAM => Some(SockRejected::StreamExpected),
        Wanted::UnixStream if family != AddressFamily::UNIX || kind != SocketType::STREAM => {
            Some(SockRejected::UnixStreamExpected)
        }
        Wanted::Datagram if kind != SocketType::DGRAM => Some(SockRejected::UdpExpected),
        _ => None,
    };
    if let Some(reason) = refused {
        let expected = match reason {
            SockRejected::StreamExpected => "A Stream Socket",
            SockRejected::UnixStreamExpected => "A UNIX Domain Stream Socket",
            _ => "A UDP Socket",
        };
        let message = format!("{expected} was expected, got {}", py_repr(sock.as_fd()));
        return Err(SockError::error(reason, message, sock));
    }
    check_family(sock, family)
}

/// `AF_INET`, `AF_INET6` or `AF_UNIX`, else [`SockRejected::UnsupportedFamily`].
fn check_family(sock: OwnedFd, family: AddressFamily) -> Result<Checked, Error> {
    let unix = family == AddressFamily::UNIX;
    if unix || family == AddressFamily::INET || family == AddressFamily::INET6 {
        return Ok(Checked { sock, unix });
    }
    let message = format!(
        "only AF_INET, AF_INET6 and AF_UNIX sockets are supported, got {}",
        py_repr(sock.as_fd())
    );
    Err(SockError::error(
        SockRejected::UnsupportedFamily,
        message,
        sock,
    ))
}

/// `ValueError('socket modifier keyword arguments can not be used when sock is specified.
/// ({problems})')`, `problems` the `name=value` of each option given, in CPython's order.
pub(crate) fn modifiers_given(sock: OwnedFd, problems: &[String]) -> Error {
    let message = format!(
        "socket modifier keyword arguments can not be used when sock is specified. ({})",
        problems.join(", ")
    );
    SockError::error(SockRejected::ModifiersGiven, message, sock)
}

/// `sock.setblocking(False)`.
pub(crate) fn set_nonblocking(sock: &OwnedFd) -> Result<(), Error> {
    rustix::io::ioctl_fionbio(sock, true)
        .map_err(|error| Error::exception(py_os_error(&error.into(), None)))
}

/// Python's `repr(sock)` for `socket.socket(fileno=fd)`: `<socket.socket fd=6, family=2,
/// type=1, proto=6, laddr=('127.0.0.1', 8080), raddr=...>`, the addresses only when known and
/// not empty (an unnamed Unix socket's `''`). The family, type and protocol are the kernel's
/// (`SO_DOMAIN`, `SO_TYPE`, `SO_PROTOCOL`), as `socket.socket(fileno=fd)` reads them.
pub(crate) fn py_repr(fd: BorrowedFd<'_>) -> String {
    let family = sockopt::socket_domain(fd).map_or(0, |family| family.as_raw());
    let kind = sockopt::socket_type(fd).map_or(0, |kind| kind.as_raw());
    let protocol = sockopt::socket_protocol(fd)
        .ok()
        .flatten()
        .map_or(0, |protocol| protocol.as_raw().get());
    let mut repr = format!(
        "<socket.socket fd={}, family={family}, type={kind}, proto={protocol}",
        fd.as_raw_fd()
    );
    if let Some(laddr) = rnet::getsockname(fd).ok().and_then(py_address) {
        repr.push_str(&format!(", laddr={laddr}"));
    }
    if let Some(raddr) = rnet::getpeername(fd).ok().flatten().and_then(py_address) {
        repr.push_str(&format!(", raddr={raddr}"));
    }
    repr.push('>');
    repr
}

/// Python's `str` of a socket address, `None` where Python's is empty or unknown: a tuple, a
/// path, an abstract name as `bytes`.
fn py_address(addr: rnet::SocketAddrAny) -> Option<String> {
    if let Ok(addr) = std::net::SocketAddr::try_from(addr.clone()) {
        return Some(py_sockaddr(&addr));
    }
    let unix = SocketAddrUnix::try_from(addr).ok()?;
    if unix.is_unnamed() {
        return None;
    }
    // rustix reads an unnamed socket's name (the family alone) as the empty abstract name.
    if let Some(name) = unix.abstract_name().filter(|name| !name.is_empty()) {
        let mut bytes = vec![0];
        bytes.extend_from_slice(name);
        return Some(py_bytes(&bytes));
    }
    let path = unix.path_bytes()?;
    (!path.is_empty()).then(|| String::from_utf8_lossy(path).into_owned())
}

/// Python's `repr(bytes)`.
fn py_bytes(data: &[u8]) -> String {
    let mut text = String::from("b'");
    for &byte in data {
        match byte {
            b'\n' => text.push_str("\\n"),
            b'\r' => text.push_str("\\r"),
            b'\t' => text.push_str("\\t"),
            b'\\' => text.push_str("\\\\"),
            b'\'' => text.push_str("\\'"),
            0x20..=0x7e => text.push(byte as char),
            _ => text.push_str(&format!("\\x{byte:02x}")),
        }
    }
    text.push('\'');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_not_a_socket_and_is_given_back() {
        let file = std::fs::File::open("/dev/null").expect("/dev/null");
        let fd = OwnedFd::from(file);
        let raw = fd.as_raw_fd();
        let Err(Error::Exception(error)) = check(fd, Wanted::Stream) else {
            panic!("a file passed the socket check");
        };
        let refused = error.downcast_ref::<SockError>().expect("a SockError");
        assert_eq!(refused.reason(), SockRejected::NotASocket);
        assert_eq!(
            refused.to_string(),
            "[Errno 88] Socket operation on non-socket"
        );
        assert_eq!(refused.take_socket().map(|fd| fd.as_raw_fd()), Some(raw));
    }

    #[test]
    fn repr_shows_the_fd_and_an_abstract_name_as_bytes() {
        let name = format!("schedlab-repr-{}", std::process::id());
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
            .expect("an abstract name");
        let sock = UnixDatagram::bind_addr(&addr).expect("bind");
        assert_eq!(
            py_repr(sock.as_fd()),
            format!(
                "<socket.socket fd={}, family=1, type=2, proto=0, laddr=b'\\x00{name}'>",
                sock.as_raw_fd()
            )
        );
    }
}
