//! `asyncio.Protocol` and `asyncio.DatagramProtocol` (`Lib/asyncio/protocols.py`): what a
//! stream transport and a datagram transport call.
//!
//! ```text
//!   Protocol          connection_made ─► data_received* ─► eof_received? ─► connection_lost
//!   DatagramProtocol  connection_made ─► (datagram_received | error_received)* ─► connection_lost
//!                     (connection_lost exactly once; pause_writing / resume_writing alternate in
//!                     between, pause first)
//! ```

use std::io;
use std::rc::Rc;

use crate::datagram_transport::DatagramTransport;
use crate::sockets::SocketName;
use crate::transports::Transport;

/// `asyncio.Protocol`: the callbacks of a stream transport. Each is called from a loop callback,
/// in the order `connection_made`, any number of `data_received`, at most one `eof_received`,
/// then `connection_lost` exactly once; `pause_writing`/`resume_writing` alternate, starting
/// with a pause. The defaults do nothing (`eof_received` returns false: close on EOF).
pub trait Protocol {
    /// `connection_made(transport)`: the connection is up; keep the transport to write.
    fn connection_made(&self, transport: &Transport) {
        let _ = transport;
    }

    /// `data_received(data)`: bytes from the peer (at most [`MAX_SIZE`](crate::MAX_SIZE) at a time).
    fn data_received(&self, data: &[u8]) {
        let _ = data;
    }

    /// `eof_received()`: the peer closed its side. Return true to keep the transport open (to
    /// write more), false to have it closed.
    fn eof_received(&self) -> bool {
        false
    }

    /// `connection_lost(exc)`: the connection is closed; `None` for a normal close, else the
    /// socket error (e.g. `ConnectionReset`).
    fn connection_lost(&self, error: Option<Rc<io::Error>>) {
        let _ = error;
    }

    /// `pause_writing()`: the write buffer went over the high-water mark.
    fn pause_writing(&self) {}

    /// `resume_writing()`: the write buffer drained to the low-water mark.
    fn resume_writing(&self) {}
}

/// `asyncio.DatagramProtocol`: the callbacks of a [`DatagramTransport`], from
/// [`EventLoop::create_datagram_endpoint`](crate::EventLoop::create_datagram_endpoint). Each is
/// called from a loop callback, in the order `connection_made`, any number of
/// `datagram_received` and `error_received`, then `connection_lost` exactly once;
/// `pause_writing`/`resume_writing` alternate, starting with a pause. The defaults do nothing.
pub trait DatagramProtocol {
    /// `connection_made(transport)`: the endpoint is ready; keep the transport to send.
    fn connection_made(&self, transport: &DatagramTransport) {
        let _ = transport;
    }

    /// `datagram_received(data, addr)`: one datagram (at most [`MAX_SIZE`](crate::MAX_SIZE)
    /// bytes of it) and its sender's address (for an unnamed Unix socket, the empty path:
    /// CPython's `''`).
    fn datagram_received(&self, data: &[u8], addr: &SocketName) {
        let _ = (data, addr);
    }

    /// `error_received(exc)`: a send or receive failed with this system error; the transport
    /// stays open. On Linux a connected UDP socket gets `ConnectionRefused` here, in the pass
    /// after a datagram to a closed port (the ICMP port-unreachable).
    fn error_received(&self, error: io::Error) {
        let _ = error;
    }

    /// `connection_lost(exc)`: the transport is closed; `None` for `close`/`abort`.
    fn connection_lost(&self, error: Option<Rc<io::Error>>) {
        let _ = error;
    }

    /// `pause_writing()`: the write buffer went over the high-water mark.
    fn pause_writing(&self) {}

    /// `resume_writing()`: the write buffer drained to the low-water mark.
    fn resume_writing(&self) {}
}
