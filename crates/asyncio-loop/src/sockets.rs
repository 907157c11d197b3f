//! The sockets a transport and a server hold: TCP or Unix (`AF_INET`/`AF_INET6` or `AF_UNIX`,
//! `SOCK_STREAM`), UDP or Unix datagram sockets (`SOCK_DGRAM`), and [`SocketName`], the address
//! `getsockname()`/`getpeername()`/`recvfrom()` give.
//!
//! ```text
//!   Stream   Tcp(TcpStream)   | Unix(UnixStream)     a transport's connected socket
//!   Listener Tcp(TcpListener) | Unix(UnixListener)   a server's listening socket
//!   Datagram Udp(UdpSocket)   | Unix(UnixDatagram)   a datagram transport's socket
//! ```
//!
//! Why an enum and not `Box<dyn ...>` or a generic transport: CPython's transport holds any
//! socket object; here the two kinds are a closed set, so each `recv`/`send` is one `match`
//! on a tag that never changes (the branch predicts perfectly) with no allocation and no
//! indirect call, and `Transport` and `Server` stay one non-generic type each, as the public
//! API had them for TCP alone.

use std::ffi::OsString;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::net::{self as unix, UnixDatagram, UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// A socket's address as `socket.getsockname()` / `getpeername()` give it, from
/// [`Transport::get_extra_info_name`](crate::Transport::get_extra_info_name) and
/// [`Server::socket_names`](crate::Server::socket_names), and the address
/// [`sock_connect`](crate::EventLoop::sock_connect) takes.
///
/// On a Unix socket CPython gives a `str`: the path, or `''` for an unnamed socket (a client's
/// own end, or a server connection's peer); here that is `Unix` with the path, or with the
/// empty path. An abstract name (Linux) is the path whose first byte is NUL, as CPython's
/// `b'\x00name'`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SocketName {
    /// An IPv4 or IPv6 address and port: CPython's `(host, port)` tuple.
    Inet(SocketAddr),
    /// A Unix socket's path; empty for an unnamed socket.
    Unix(PathBuf),
}

impl From<SocketAddr> for SocketName {
    fn from(addr: SocketAddr) -> Self {
        SocketName::Inet(addr)
    }
}

impl From<PathBuf> for SocketName {
    fn from(path: PathBuf) -> Self {
        SocketName::Unix(path)
    }
}

impl From<&Path> for SocketName {
    fn from(path: &Path) -> Self {
        SocketName::Unix(path.to_owned())
    }
}

impl SocketName {
    /// Python's `str` of the address in `f'Connect call failed {address}'`: the tuple's repr,
    /// or the path as it is.
    pub(crate) fn py_str(&self) -> String {
        match self {
            SocketName::Inet(addr) => crate::resolve::py_sockaddr(addr),
            SocketName::Unix(path) => path.to_string_lossy().into_owned(),
        }
    }

    pub(crate) fn from_unix(addr: &unix::SocketAddr) -> SocketName {
        if let Some(path) = addr.as_pathname() {
            return SocketName::Unix(path.to_owned());
        }
        match addr.as_abstract_name() {
            Some(name) => {
                let mut bytes = Vec::with_capacity(name.len() + 1);
                bytes.push(0);
                bytes.extend_from_slice(name);
                SocketName::Unix(PathBuf::from(OsString::from_vec(bytes)))
            }
            None => SocketName::Unix(PathBuf::new()),
        }
    }
}

/// Whether `path` names a socket in the abstract namespace (its first byte is NUL), which has
/// no file: CPython's `path[0] not in (0, '\x00')` check.
pub(crate) fn is_abstract(path: &Path) -> bool {
    path.as_os_str().as_bytes().first() == Some(&0)
}

/// A transport's connected, non-blocking socket.
pub(crate) enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    /// `base_events._set_nodelay`: `TCP_NODELAY` on a TCP socket; nothing on a Unix one.
    pub(crate) fn set_nodelay(&self) {
        if let Stream::Tcp(sock) = self {
            let _ = sock.set_nodelay(true);
        }
    }

    /// `sock.getsockname()`, `None` when it fails.
    pub(crate) fn sockname(&self) -> Option<SocketName> {
        match self {
            Stream::Tcp(sock) => sock.local_addr().ok().map(SocketName::Inet),
            Stream::Unix(sock) => sock.local_addr().ok().map(|a| SocketName::from_unix(&a)),
        }
    }

    /// `sock.getpeername()`, `None` when it fails.
    pub(crate) fn peername(&self) -> Option<SocketName> {
        match self {
            Stream::Tcp(sock) => sock.peer_addr().ok().map(SocketName::Inet),
            Stream::Unix(sock) => sock.peer_addr().ok().map(|a| SocketName::from_unix(&a)),
        }
    }

    #[inline]
    pub(crate) fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(sock) => (&mut &*sock).read(buf),
            Stream::Unix(sock) => (&mut &*sock).read(buf),
        }
    }

    #[inline]
    pub(crate) fn send(&self, data: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(sock) => (&mut &*sock).write(data),
            Stream::Unix(sock) => (&mut &*sock).write(data),
        }
    }

    #[inline]
    pub(crate) fn sendmsg(&self, slices: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(sock) => (&mut &*sock).write_vectored(slices),
            Stream::Unix(sock) => (&mut &*sock).write_vectored(slices),
        }
    }

    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        match self {
            Stream::Tcp(sock) => sock.shutdown(Shutdown::Write),
            Stream::Unix(sock) => sock.shutdown(Shutdown::Write),
        }
    }
}

impl AsFd for Stream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Stream::Tcp(sock) => sock.as_fd(),
            Stream::Unix(sock) => sock.as_fd(),
        }
    }
}

/// A server's listening socket.
pub(crate) enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Listener {
    /// `sock.accept()` and `conn.setblocking(False)`.
    pub(crate) fn accept(&self) -> io::Result<Stream> {
        let conn = match self {
            Listener::Tcp(sock) => Stream::Tcp(sock.accept()?.0),
            Listener::Unix(sock) => Stream::Unix(sock.accept()?.0),
        };
        match &conn {
            Stream::Tcp(sock) => sock.set_nonblocking(true)?,
            Stream::Unix(sock) => sock.set_nonblocking(true)?,
        }
        Ok(conn)
    }

    /// `sock.getsockname()`, `None` when it fails.
    pub(crate) fn sockname(&self) -> Option<SocketName> {
        match self {
            Listener::Tcp(sock) => sock.local_addr().ok().map(SocketName::Inet),
            Listener::Unix(sock) => sock.local_addr().ok().map(|a| SocketName::from_unix(&a)),
        }
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Listener::Tcp(sock) => sock.as_fd(),
            Listener::Unix(sock) => sock.as_fd(),
        }
    }
}

/// A datagram transport's non-blocking socket, bound or connected or neither.
pub(crate) enum Datagram {
    Udp(UdpSocket),
    Unix(UnixDatagram),
}

impl Datagram {
    /// `sock.getsockname()`, `None` when it fails.
    pub(crate) fn sockname(&self) -> Option<SocketName> {
        match self {
            Datagram::Udp(sock) => sock.local_addr().ok().map(SocketName::Inet),
            Datagram::Unix(sock) => sock.local_addr().ok().map(|a| SocketName::from_unix(&a)),
        }
    }

    /// `sock.getpeername()`: `None` when it fails, i.e. when the socket is not connected.
    pub(crate) fn peername(&self) -> Option<SocketName> {
        match self {
            Datagram::Udp(sock) => sock.peer_addr().ok().map(SocketName::Inet),
            Datagram::Unix(sock) => sock.peer_addr().ok().map(|a| SocketName::from_unix(&a)),
        }
    }

    /// Whether `addr` is of this socket's kind (an IP address for UDP, a path for Unix).
    pub(crate) fn takes(&self, addr: &SocketName) -> bool {
        matches!(
            (self, addr),
            (Datagram::Udp(_), SocketName::Inet(_)) | (Datagram::Unix(_), SocketName::Unix(_))
        )
    }

    /// `sock.recvfrom(len(buf))`: one datagram (the rest of a longer one is lost, as
    /// `recvfrom(2)` drops it) and its sender.
    #[inline]
    pub(crate) fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketName)> {
        match self {
            Datagram::Udp(sock) => sock
                .recv_from(buf)
                .map(|(n, addr)| (n, SocketName::Inet(addr))),
            Datagram::Unix(sock) => sock
                .recv_from(buf)
                .map(|(n, addr)| (n, SocketName::from_unix(&addr))),
        }
    }

    /// `sock.send(data)` on a connected socket.
    #[inline]
    pub(crate) fn send(&self, data: &[u8]) -> io::Result<usize> {
        match self {
            Datagram::Udp(sock) => sock.send(data),
            Datagram::Unix(sock) => sock.send(data),
        }
    }

    /// `sock.sendto(data, addr)`; `addr` is of the socket's kind (see [`takes`](Self::takes)).
    #[inline]
    pub(crate) fn send_to(&self, data: &[u8], addr: &SocketName) -> io::Result<usize> {
        match (self, addr) {
            (Datagram::Udp(sock), SocketName::Inet(addr)) => sock.send_to(data, addr),
            (Datagram::Unix(sock), SocketName::Unix(path)) if is_abstract(path) => {
                let name = &path.as_os_str().as_bytes()[1..];
                sock.send_to_addr(data, &unix::SocketAddr::from_abstract_name(name)?)
            }
            (Datagram::Unix(sock), SocketName::Unix(path)) => sock.send_to(data, path),
            _ => Err(io::Error::from(io::ErrorKind::InvalidInput)),
        }
    }
}

impl AsFd for Datagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Datagram::Udp(sock) => sock.as_fd(),
            Datagram::Unix(sock) => sock.as_fd(),
        }
    }
}
