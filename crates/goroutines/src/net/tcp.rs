//! TCP: `TcpListener` and `TcpStream`, std's API over `NetFd` (Go's `net.TCPListener` and
//! `net.TCPConn`).

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use super::each_addr;
use super::fd::NetFd;
use crate::runtime::netpoll::Mode;

/// A TCP socket that listens for connections (std's `TcpListener`; Go's `net.TCPListener`).
///
/// `accept` parks the calling goroutine until a connection arrives; on a plain thread it blocks
/// the thread.
pub struct TcpListener {
    fd: Arc<NetFd<mio::net::TcpListener>>,
}

impl TcpListener {
    /// Binds to the first address of `addr` that works and listens, with the backlog capped by
    /// the kernel only (`net.core.somaxconn`, as Go listens; std asks for 128).
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(addr, |addr| {
            let listener = mio::net::TcpListener::bind(addr)?;
            super::listen_with_full_backlog(&listener)?;
            Ok(TcpListener {
                fd: Arc::new(NetFd::new(listener)),
            })
        })
    }

    /// The address it listens on (with the port the system chose for port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd.socket().local_addr()
    }

    /// Waits for a connection and returns it with the peer's address.
    ///
    /// Out of file descriptors (`EMFILE`, `ENFILE`; or of socket memory, `ENOBUFS`, `ENOMEM`),
    /// it neither fails nor spins: it sleeps 5 ms, doubling up to 1 s, and tries again, as Go's
    /// `net/http` server does (which also logs each pause; this logs nothing), so that the
    /// connections wait in the backlog until descriptors are free. A listener shut down
    /// meanwhile (`shutdown(2)` on its fd: the way to stop an `accept` in progress, since a
    /// listener cannot be dropped while borrowed) ends the wait with `EINVAL`, as `accept(2)`
    /// on it would. Any other error is returned at once. A connection that the peer reset
    /// before it was accepted is skipped.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, addr) = super::accept_with_backoff(&self.fd, |listener| listener.accept())?;
        Ok((TcpStream::from_mio(stream), addr))
    }

    /// An endless iterator over `accept`ed connections (their addresses dropped).
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// Another handle to the same listener (one socket, one registration).
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        Ok(TcpListener {
            fd: self.fd.clone(),
        })
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("addr", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl_as_fd!(TcpListener);

/// The connections of a [`TcpListener`], from [`TcpListener::incoming`]; never ends.
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().map(|(stream, _)| stream))
    }
}

/// A TCP connection (std's `TcpStream`; Go's `net.TCPConn`).
///
/// Reads and writes that would block park the calling goroutine until the socket is ready (on a
/// plain thread they block the thread), so code written for std's blocking streams, `Read` and
/// `Write` users included, runs unchanged. Clones share one socket: one reader and one writer
/// proceed at a time, the others wait their turn.
pub struct TcpStream {
    fd: Arc<NetFd<mio::net::TcpStream>>,
}

impl TcpStream {
    fn from_mio(stream: mio::net::TcpStream) -> TcpStream {
        TcpStream {
            fd: Arc::new(NetFd::new(stream)),
        }
    }

    /// Connects to the first address of `addr` that accepts, waiting as long as the system
    /// lets a connection attempt take.
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(addr, |addr| TcpStream::connect_addr(addr, None))
    }

    /// Connects to `addr`, failing with `TimedOut` after `timeout` (zero: `InvalidInput`).
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        if timeout.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set a 0 duration timeout",
            ));
        }
        TcpStream::connect_addr(*addr, Some(timeout))
    }

    /// A non-blocking `connect(2)`, then a wait until the socket is writable and either
    /// connected or failed (mio's recipe for `TcpStream::connect`).
    fn connect_addr(addr: SocketAddr, timeout: Option<Duration>) -> io::Result<TcpStream> {
        let stream = TcpStream::from_mio(mio::net::TcpStream::connect(addr)?);
        let connected = stream.fd.io_with_timeout(Mode::Write, timeout, |socket| {
            if let Some(e) = socket.take_error()? {
                return Err(e);
            }
            match socket.peer_addr() {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                    Err(io::ErrorKind::WouldBlock.into())
                }
                Err(e) => Err(e),
            }
        });
        match connected {
            Ok(()) => Ok(stream),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection timed out",
            )),
            Err(e) => Err(e),
        }
    }

    /// The address of the remote end.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.fd.socket().peer_addr()
    }

    /// The address of the local end.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd.socket().local_addr()
    }

    /// Shuts down the reading half, the writing half (the peer reads end of file), or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.fd.socket().shutdown(how)
    }

    /// Sets `TCP_NODELAY` (Nagle's algorithm off when true).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.fd.socket().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.fd.socket().nodelay()
    }

    /// Another handle to the same connection, sharing its socket, registration and timeouts.
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(TcpStream {
            fd: self.fd.clone(),
        })
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("addr", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl_as_fd!(TcpStream);
impl_timeouts!(TcpStream);
impl_stream_io!(TcpStream);
