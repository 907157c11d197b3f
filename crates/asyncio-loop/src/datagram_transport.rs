//! The datagram transport: `selector_events._SelectorDatagramTransport` (3.12.1; the same code
//! as 3.11.7); its protocol is [`crate::DatagramProtocol`]. What it inherits from
//! `_SelectorTransport` (`close`, `abort`, `_force_close`, `_call_connection_lost`,
//! `pause_reading`) and `_FlowControlMixin` (the water marks) is [`SelectorTransport`], in
//! `selector_transport.rs`; this file has the rest.
//!
//! ```text
//!   new ─call_soon─► connection_made ─call_soon─► add_reader ─call_soon─► waiter done
//!
//!   _read_ready (fd readable)   one recvfrom(256 KiB) per event ──► datagram_received(data, addr)
//!                               EAGAIN / EINTR: nothing; any other error ──► error_received(exc)
//!
//!   sendto(data, addr)   empty data: nothing (3.12; 3.13 sends a zero-length datagram)
//!                        connected and addr not in (None, the peer): InvalidAddress (ValueError)
//!                        connected and connection lost: dropped and counted
//!                        buffer empty: send / sendto now ── sent: done
//!                                                          EAGAIN: add_writer(_sendto_ready)
//!                                                          error: error_received, dropped
//!                        then (EAGAIN, or buffer not empty) buffer (data, addr); over the high
//!                        water mark (64 KiB): protocol.pause_writing()
//!   _sendto_ready        send the buffered datagrams in order until one would block; an error:
//!                        error_received, that datagram dropped, the rest stays (writer too);
//!                        <= low water: resume_writing(); empty: remove the writer and, closing,
//!                        connection_lost(None) at once
//!
//!   close(), abort(), _force_close(exc), connection_lost: the base's (selector_transport.rs)
//! ```
//!
//! Kept from CPython as it is: `_force_close` empties the buffer but not `_buffer_size`, so
//! [`get_write_buffer_size`](DatagramTransport::get_write_buffer_size) still counts the dropped
//! datagrams after `abort` (3.11 and 3.12 alike); an unconnected transport sends between `close`
//! and `connection_lost` (only a connected one checks `_conn_lost`).
//!
//! Where CPython fails with a Python error rather than an `OSError`, [`sendto`] returns a
//! [`SendtoError`] and the transport stays as it was: no address on an unconnected transport
//! (CPython's `socket.sendto(data, None)` `TypeError` goes to `_fatal_error`, which closes the
//! transport), an address of the wrong family (a path on a UDP socket: `TypeError`, the same),
//! and `sendto` on an unconnected transport after `connection_lost` (CPython's
//! `AttributeError` on its socket, `None` by then).
//!
//! Invariants: the base's (reader, writer, `conn_lost`, `connection_lost` once and last).
//!
//! [`sendto`]: DatagramTransport::sendto

use std::fmt;
use std::io;
use std::rc::Rc;

use crate::base_events::EventLoop;
use crate::futures::Future;
use crate::protocols::DatagramProtocol;
use crate::selector_transport::{
    selector_transport_methods, would_block, SelectorTransport, TransportClass,
    LOG_THRESHOLD_FOR_CONNLOST_WRITES,
};
use crate::sockets::{Datagram, SocketName};

/// Why [`DatagramTransport::sendto`] refused a datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendtoError {
    /// `ValueError(f'Invalid address: must be None or {self._address}')`: a connected
    /// transport was given another address; holds the peer's.
    InvalidAddress(SocketName),
    /// An unconnected transport was given no address.
    AddressRequired,
    /// An address of another family than the socket's (a path on a UDP socket, an IP address
    /// on a Unix one).
    WrongFamily,
    /// An unconnected transport whose `connection_lost` has run.
    Closed,
}

impl fmt::Display for SendtoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendtoError::InvalidAddress(peer) => {
                write!(f, "Invalid address: must be None or {}", peer.py_str())
            }
            SendtoError::AddressRequired => {
                f.write_str("an unconnected transport needs an address")
            }
            SendtoError::WrongFamily => f.write_str("the address is not of the socket's family"),
            SendtoError::Closed => f.write_str("the transport is closed"),
        }
    }
}

impl std::error::Error for SendtoError {}

/// `_SelectorDatagramTransport`: a UDP or Unix datagram socket driven by the loop's selector,
/// from [`EventLoop::create_datagram_endpoint`]. Cloning gives another reference to the same
/// transport.
#[derive(Clone)]
pub struct DatagramTransport(SelectorTransport<SelectorDatagram>);

selector_transport_methods!(DatagramTransport);

/// The subclass `_SelectorDatagramTransport` of [`SelectorTransport`].
pub(crate) struct SelectorDatagram;

/// `_SelectorDatagramTransport`'s own attributes.
pub(crate) struct DatagramAttributes {
    /// `_address`: the remote address given to `create_datagram_endpoint`, if any.
    address: Option<SocketName>,
}

impl TransportClass for SelectorDatagram {
    type Socket = Datagram;
    type Protocol = dyn DatagramProtocol;
    type Chunk = (Vec<u8>, Option<SocketName>);
    type Attributes = DatagramAttributes;
    type Public = DatagramTransport;
    const NAME: &'static str = "_SelectorDatagramTransport";
    const READ_READY: &'static str = "_SelectorDatagramTransport._read_ready";
    const WRITE_READY: &'static str = "_SelectorDatagramTransport._sendto_ready";

    fn read_ready(transport: &SelectorTransport<Self>) {
        transport.read_ready();
    }

    fn write_ready(transport: &SelectorTransport<Self>) {
        transport.sendto_ready();
    }

    /// The datagrams go, but `_buffer_size` stays, as CPython's.
    fn clear_buffer(transport: &SelectorTransport<Self>) {
        transport.0.buffer.borrow_mut().clear();
    }

    fn public(transport: SelectorTransport<Self>) -> DatagramTransport {
        DatagramTransport(transport)
    }
}

impl DatagramTransport {
    /// `_SelectorDatagramTransport.__init__`: schedules `connection_made`, the reader and the
    /// waiter's result, in that order.
    pub(crate) fn new(
        event_loop: &EventLoop,
        sock: Datagram,
        protocol: Rc<dyn DatagramProtocol>,
        address: Option<SocketName>,
        waiter: Future<()>,
    ) -> DatagramTransport {
        let own = DatagramAttributes { address };
        DatagramTransport(SelectorTransport::init(
            event_loop,
            sock,
            protocol,
            None,
            own,
            Some(waiter),
        ))
    }

    /// `sendto(data, addr=None)`: send one datagram now, or buffer it while the socket would
    /// block. `addr` may be `None` on a connected transport (one made with a remote address),
    /// or that same address; another is [`SendtoError::InvalidAddress`]. Empty `data` sends
    /// nothing (3.12 and 3.11 return early; 3.13 sends a zero-length datagram). A system
    /// error goes to the protocol's `error_received` and the datagram is dropped. After the
    /// connection is lost a connected transport drops the data (CPython logs "socket.send()
    /// raised exception." from the fifth such call on, here on stderr).
    pub fn sendto(&self, data: &[u8], addr: Option<SocketName>) -> Result<(), SendtoError> {
        let base = &self.0;
        let state = &*base.0;
        if data.is_empty() {
            return Ok(());
        }
        let mut addr = addr;
        if let Some(address) = &state.own.address {
            if addr.as_ref().is_some_and(|addr| addr != address) {
                return Err(SendtoError::InvalidAddress(address.clone()));
            }
            addr = Some(address.clone());
        }
        if state.conn_lost.get() > 0 && state.own.address.is_some() {
            if state.conn_lost.get() >= LOG_THRESHOLD_FOR_CONNLOST_WRITES {
                eprintln!("asyncio: socket.send() raised exception.");
            }
            state.conn_lost.set(state.conn_lost.get() + 1);
            return Ok(());
        }
        {
            let sock = state.sock.borrow();
            let Some(sock) = sock.as_ref() else {
                return Err(SendtoError::Closed);
            };
            if state.peername.is_none() {
                match &addr {
                    None => return Err(SendtoError::AddressRequired),
                    Some(addr) if !sock.takes(addr) => return Err(SendtoError::WrongFamily),
                    Some(_) => {}
                }
            }
        }
        if state.buffer.borrow().is_empty() {
            // "Attempt to send it right away first."
            match base.send_one(data, addr.as_ref()) {
                Ok(_) => return Ok(()),
                Err(error) if would_block(&error) => {
                    if !base.add_writer() {
                        return Ok(());
                    }
                }
                Err(error) => {
                    if let Some(protocol) = base.protocol() {
                        protocol.error_received(error);
                    }
                    return Ok(());
                }
            }
        }
        state.buffer.borrow_mut().push_back((data.to_vec(), addr));
        state.buffer_size.set(state.buffer_size.get() + data.len());
        base.maybe_pause_protocol();
        Ok(())
    }
}

impl SelectorTransport<SelectorDatagram> {
    /// `_read_ready`: one `recvfrom` per readable event.
    fn read_ready(&self) {
        self.read_with_loop_buffer(|buf| {
            let received = match self.0.sock.borrow().as_ref() {
                Some(sock) => sock.recv_from(buf),
                None => return,
            };
            match received {
                Ok((n, addr)) => {
                    if let Some(protocol) = self.protocol() {
                        protocol.datagram_received(&buf[..n], &addr);
                    }
                }
                Err(error) if would_block(&error) => {}
                Err(error) => {
                    if let Some(protocol) = self.protocol() {
                        protocol.error_received(error);
                    }
                }
            }
        });
    }

    /// `self._sock.send(data)` when the socket has a peer, else `self._sock.sendto(data, addr)`.
    fn send_one(&self, data: &[u8], addr: Option<&SocketName>) -> io::Result<usize> {
        let sock = self.0.sock.borrow();
        let Some(sock) = sock.as_ref() else {
            return Err(io::Error::from(io::ErrorKind::NotConnected));
        };
        match addr {
            Some(addr) if self.0.peername.is_none() => sock.send_to(data, addr),
            _ => sock.send(data),
        }
    }

    /// `_sendto_ready`: the buffered datagrams, in order, until one would block.
    fn sendto_ready(&self) {
        let state = &*self.0;
        loop {
            let Some((data, addr)) = state.buffer.borrow_mut().pop_front() else {
                break;
            };
            state.buffer_size.set(state.buffer_size.get() - data.len());
            match self.send_one(&data, addr.as_ref()) {
                Ok(_) => {}
                Err(error) if would_block(&error) => {
                    state.buffer_size.set(state.buffer_size.get() + data.len());
                    state.buffer.borrow_mut().push_front((data, addr));
                    break;
                }
                Err(error) => {
                    if let Some(protocol) = self.protocol() {
                        protocol.error_received(error);
                    }
                    return;
                }
            }
        }
        self.maybe_resume_protocol();
        if state.buffer.borrow().is_empty() {
            self.remove_writer();
            if self.is_closing() {
                self.call_connection_lost(None);
            }
        }
    }
}
