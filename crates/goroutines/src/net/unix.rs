//! Unix domain stream sockets: `UnixListener` and `UnixStream`, the API of std's
//! `std::os::unix::net` over `NetFd` (Go's `net.UnixListener` and `net.UnixConn`).
//!
//! They wait as TCP sockets do (see the module documentation): a stream read or write that
//! would block parks the goroutine, `accept` backs off when descriptors run out. Two things
//! differ from TCP, both in `connect`: it never reports "in progress" (the kernel completes a
//! local connection at once), but with the listener's backlog full it fails with `EAGAIN`
//! instead of waiting. std's blocking `connect` would sleep in the kernel until the backlog has
//! room; here the goroutine sleeps 1 ms, doubling to 100 ms, and tries again.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::fd::NetFd;

/// The first pause of `connect` when the listener's backlog is full.
const CONNECT_BACKOFF_FIRST: Duration = Duration::from_millis(1);
/// The longest pause; each one doubles up to it.
const CONNECT_BACKOFF_MAX: Duration = Duration::from_millis(100);

/// A Unix domain socket that listens for connections (std's `UnixListener`; Go's
/// `net.UnixListener`).
///
/// `accept` parks the calling goroutine until a connection arrives; on a plain thread it blocks
/// the thread. As with std's, the socket's file stays when the listener is dropped.
pub struct UnixListener {
    fd: Arc<NetFd<mio::net::UnixListener>>,
}

impl UnixListener {
    /// Creates the socket file at `path` and listens on it, with the kernel's largest backlog.
    /// Fails with `AddrInUse` if the file exists, and with `InvalidInput` for a path longer
    /// than a socket address holds (107 bytes on Linux).
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        let listener = mio::net::UnixListener::bind(path)?;
        super::listen_with_full_backlog(&listener)?;
        Ok(UnixListener {
            fd: Arc::new(NetFd::new(listener)),
        })
    }

    /// Waits for a connection and returns it with the peer's address (usually unnamed). Out of
    /// file descriptors it backs off and tries again, as
    /// [`TcpListener::accept`](super::TcpListener::accept) does.
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, addr) = super::accept_with_backoff(&self.fd, |listener| listener.accept())?;
        Ok((UnixStream::from_mio(stream), addr))
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd.socket().local_addr()
    }

    /// An endless iterator over `accept`ed connections (their addresses dropped).
    pub fn incoming(&self) -> UnixIncoming<'_> {
        UnixIncoming { listener: self }
    }

    /// Another handle to the same listener (one socket, one registration).
    pub fn try_clone(&self) -> io::Result<UnixListener> {
        Ok(UnixListener {
            fd: self.fd.clone(),
        })
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("addr", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl_as_fd!(UnixListener);

/// The connections of a [`UnixListener`], from [`UnixListener::incoming`]; never ends.
#[derive(Debug)]
pub struct UnixIncoming<'a> {
    listener: &'a UnixListener,
}

impl Iterator for UnixIncoming<'_> {
    type Item = io::Result<UnixStream>;

    fn next(&mut self) -> Option<io::Result<UnixStream>> {
        Some(self.listener.accept().map(|(stream, _)| stream))
    }
}

/// A Unix domain stream connection (std's `UnixStream`; Go's `net.UnixConn`).
///
/// Reads and writes that would block park the calling goroutine (on a plain thread they block
/// the thread); `Read` and `Write` are implemented on the stream and on `&stream`. Clones share
/// one socket: one reader and one writer proceed at a time.
pub struct UnixStream {
    fd: Arc<NetFd<mio::net::UnixStream>>,
}

impl UnixStream {
    fn from_mio(stream: mio::net::UnixStream) -> UnixStream {
        UnixStream {
            fd: Arc::new(NetFd::new(stream)),
        }
    }

    /// Connects to the socket at `path`; while its listener's backlog is full, waits (see the
    /// module documentation).
    pub fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let addr = SocketAddr::from_pathname(path)?;
        let mut backoff = Duration::ZERO;
        loop {
            match mio::net::UnixStream::connect_addr(&addr) {
                Ok(stream) => return Ok(UnixStream::from_mio(stream)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    backoff = if backoff.is_zero() {
                        CONNECT_BACKOFF_FIRST
                    } else {
                        (backoff * 2).min(CONNECT_BACKOFF_MAX)
                    };
                    crate::sleep(backoff);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Two connected streams (`socketpair(2)`).
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::from_mio(a), UnixStream::from_mio(b)))
    }

    /// The address of the local end.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd.socket().local_addr()
    }

    /// The address of the remote end.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.fd.socket().peer_addr()
    }

    /// Shuts down the reading half, the writing half (the peer reads end of file), or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.fd.socket().shutdown(how)
    }

    /// Another handle to the same connection, sharing its socket, registration and timeouts.
    pub fn try_clone(&self) -> io::Result<UnixStream> {
        Ok(UnixStream {
            fd: self.fd.clone(),
        })
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("addr", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl_as_fd!(UnixStream);
impl_timeouts!(UnixStream);
impl_stream_io!(UnixStream);
