//! UDP: `UdpSocket`, std's API over `NetFd` (Go's `net.UDPConn`).

use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::Arc;

use super::each_addr;
use super::fd::NetFd;
use crate::runtime::netpoll::Mode;

/// A UDP socket (std's `UdpSocket`; Go's `net.UDPConn`).
///
/// Receiving parks the calling goroutine until a datagram arrives, sending until the socket
/// buffer has room; on a plain thread they block the thread. Clones share one socket.
pub struct UdpSocket {
    fd: Arc<NetFd<mio::net::UdpSocket>>,
}

impl UdpSocket {
    /// Binds to the first address of `addr` that works.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(addr, |addr| {
            Ok(UdpSocket {
                fd: Arc::new(NetFd::new(mio::net::UdpSocket::bind(addr)?)),
            })
        })
    }

    /// Sets the default destination of `send` and the only source `recv` accepts: the first
    /// address of `addr` that works.
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        each_addr(addr, |addr| self.fd.socket().connect(addr))
    }

    /// Sends a datagram to the connected address; returns the bytes sent.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.fd.io(Mode::Write, |socket| socket.send(buf))
    }

    /// Receives a datagram from the connected address; returns its length (a datagram longer
    /// than `buf` is cut short).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.fd.io(Mode::Read, |socket| socket.recv(buf))
    }

    /// Sends a datagram to the first address of `addr`; returns the bytes sent.
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        let Some(target) = super::resolve(addr)?.next() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no addresses to send data to",
            ));
        };
        self.fd
            .io(Mode::Write, |socket| socket.send_to(buf, target))
    }

    /// Receives a datagram; returns its length and its sender.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.fd.io(Mode::Read, |socket| socket.recv_from(buf))
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd.socket().local_addr()
    }

    /// The address it is connected to (`NotConnected` before `connect`).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.fd.socket().peer_addr()
    }

    /// Another handle to the same socket, sharing its registration and timeouts.
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            fd: self.fd.clone(),
        })
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("addr", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl_as_fd!(UdpSocket);
impl_timeouts!(UdpSocket);
