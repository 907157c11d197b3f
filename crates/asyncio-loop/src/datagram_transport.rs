//! The datagram transport: `selector_events._SelectorDatagramTransport` (3.12.1; the same code
//! as 3.11.7), with what it inherits from `_SelectorTransport` (`close`, `abort`,
//! `_force_close`, `_call_connection_lost`, `pause_reading`) and `_FlowControlMixin` (the water
//! marks); its protocol is [`crate::DatagramProtocol`].
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
//!   close()              stop reading; buffer empty: call_soon(connection_lost(None)), else
//!                        once _sendto_ready empties it
//!   abort()              _force_close(None): drop the buffer, call_soon(connection_lost(None))
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
//! Invariants:
//! - the reader is registered iff the transport is neither closing nor paused (after the
//!   first pass); the writer iff the write buffer is non-empty;
//! - `conn_lost` counts from the moment `connection_lost` is scheduled: no recv after;
//! - `connection_lost` runs exactly once, and last: no protocol call follows it.
//!
//! [`sendto`]: DatagramTransport::sendto

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd};
use std::rc::Rc;

use crate::base_events::EventLoop;
use crate::futures::Future;
use crate::protocols::DatagramProtocol;
use crate::selector::{IoHandle, EVENT_READ, EVENT_WRITE};
use crate::sockets::{Datagram, SocketName};
use crate::transports::{WaterMarksError, DEFAULT_HIGH_WATER, MAX_SIZE};

/// `constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES`.
const LOG_THRESHOLD_FOR_CONNLOST_WRITES: u32 = 5;

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

struct DatagramInner {
    event_loop: EventLoop,
    sock: RefCell<Option<Datagram>>,
    protocol: RefCell<Option<Rc<dyn DatagramProtocol>>>,
    /// `_address`: the remote address given to `create_datagram_endpoint`, if any.
    address: Option<SocketName>,
    buffer: RefCell<VecDeque<(Vec<u8>, Option<SocketName>)>>,
    buffer_size: Cell<usize>,
    closing: Cell<bool>,
    paused: Cell<bool>,
    conn_lost: Cell<u32>,
    protocol_paused: Cell<bool>,
    high_water: Cell<usize>,
    low_water: Cell<usize>,
    peername: Option<SocketName>,
    sockname: Option<SocketName>,
}

/// `_SelectorDatagramTransport`: a UDP or Unix datagram socket driven by the loop's selector,
/// from [`EventLoop::create_datagram_endpoint`]. Cloning gives another reference to the same
/// transport.
#[derive(Clone)]
pub struct DatagramTransport(Rc<DatagramInner>);

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
        let inner = Rc::new(DatagramInner {
            event_loop: event_loop.clone(),
            peername: sock.peername(),
            sockname: sock.sockname(),
            sock: RefCell::new(Some(sock)),
            protocol: RefCell::new(Some(protocol.clone())),
            address,
            buffer: RefCell::new(VecDeque::new()),
            buffer_size: Cell::new(0),
            closing: Cell::new(false),
            paused: Cell::new(false),
            conn_lost: Cell::new(0),
            protocol_paused: Cell::new(false),
            high_water: Cell::new(DEFAULT_HIGH_WATER),
            low_water: Cell::new(DEFAULT_HIGH_WATER / 4),
        });
        let transport = DatagramTransport(inner);
        let made = transport.clone();
        event_loop.call_soon(move || protocol.connection_made(&made));
        let reading = transport.clone();
        event_loop.call_soon(move || reading.add_reader());
        // `futures._set_result_unless_cancelled`.
        event_loop.call_soon(move || {
            let _ = waiter.set_result(());
        });
        transport
    }

    fn protocol(&self) -> Option<Rc<dyn DatagramProtocol>> {
        self.0.protocol.borrow().clone()
    }

    /// `_SelectorTransport._add_reader`: only while `is_reading()`.
    fn add_reader(&self) {
        if !self.is_reading() {
            return;
        }
        // The selector holds the transport while it is registered (CPython's bound method).
        let this = self.clone();
        let handle = IoHandle::new(
            Rc::new(move || this.read_ready()),
            "_SelectorDatagramTransport._read_ready",
        );
        let added = match self.0.sock.borrow().as_ref() {
            Some(sock) => self.0.event_loop.add_io(sock.as_fd(), EVENT_READ, handle),
            None => Ok(()),
        };
        if let Err(error) = added {
            self.fatal_error(error);
        }
    }

    fn remove_io(&self, mask: u8) {
        if let Some(sock) = self.0.sock.borrow().as_ref() {
            self.0.event_loop.remove_io(sock.as_fd(), mask);
        }
    }

    /// `_read_ready`: one `recvfrom` per readable event.
    fn read_ready(&self) {
        if self.0.conn_lost.get() > 0 {
            return;
        }
        let event_loop = &self.0.event_loop;
        let mut buf = event_loop
            .0
            .recv_buffer
            .borrow_mut()
            .take()
            .unwrap_or_else(|| vec![0; MAX_SIZE]);
        let received = match self.0.sock.borrow().as_ref() {
            Some(sock) => sock.recv_from(&mut buf),
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
        *event_loop.0.recv_buffer.borrow_mut() = Some(buf);
    }

    /// `sendto(data, addr=None)`: send one datagram now, or buffer it while the socket would
    /// block. `addr` may be `None` on a connected transport (one made with a remote address),
    /// or that same address; another is [`SendtoError::InvalidAddress`]. Empty `data` sends
    /// nothing (3.12 and 3.11 return early; 3.13 sends a zero-length datagram). A system
    /// error goes to the protocol's `error_received` and the datagram is dropped. After the
    /// connection is lost a connected transport drops the data (CPython logs "socket.send()
    /// raised exception." from the fifth such call on, here on stderr).
    pub fn sendto(&self, data: &[u8], addr: Option<SocketName>) -> Result<(), SendtoError> {
        let inner = &*self.0;
        if data.is_empty() {
            return Ok(());
        }
        let mut addr = addr;
        if let Some(address) = &inner.address {
            if addr.as_ref().is_some_and(|addr| addr != address) {
                return Err(SendtoError::InvalidAddress(address.clone()));
            }
            addr = Some(address.clone());
        }
        if inner.conn_lost.get() > 0 && inner.address.is_some() {
            if inner.conn_lost.get() >= LOG_THRESHOLD_FOR_CONNLOST_WRITES {
                eprintln!("asyncio: socket.send() raised exception.");
            }
            inner.conn_lost.set(inner.conn_lost.get() + 1);
            return Ok(());
        }
        {
            let sock = inner.sock.borrow();
            let Some(sock) = sock.as_ref() else {
                return Err(SendtoError::Closed);
            };
            if inner.peername.is_none() {
                match &addr {
                    None => return Err(SendtoError::AddressRequired),
                    Some(addr) if !sock.takes(addr) => return Err(SendtoError::WrongFamily),
                    Some(_) => {}
                }
            }
        }
        if inner.buffer.borrow().is_empty() {
            // "Attempt to send it right away first."
            match self.send_one(data, addr.as_ref()) {
                Ok(_) => return Ok(()),
                Err(error) if would_block(&error) => {
                    let this = self.clone();
                    let handle = IoHandle::new(
                        Rc::new(move || this.sendto_ready()),
                        "_SelectorDatagramTransport._sendto_ready",
                    );
                    let added = match inner.sock.borrow().as_ref() {
                        Some(sock) => inner.event_loop.add_io(sock.as_fd(), EVENT_WRITE, handle),
                        None => Ok(()),
                    };
                    if let Err(error) = added {
                        self.fatal_error(error);
                        return Ok(());
                    }
                }
                Err(error) => {
                    if let Some(protocol) = self.protocol() {
                        protocol.error_received(error);
                    }
                    return Ok(());
                }
            }
        }
        inner.buffer.borrow_mut().push_back((data.to_vec(), addr));
        inner.buffer_size.set(inner.buffer_size.get() + data.len());
        self.maybe_pause_protocol();
        Ok(())
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
        let inner = &*self.0;
        loop {
            let Some((data, addr)) = inner.buffer.borrow_mut().pop_front() else {
                break;
            };
            inner.buffer_size.set(inner.buffer_size.get() - data.len());
            match self.send_one(&data, addr.as_ref()) {
                Ok(_) => {}
                Err(error) if would_block(&error) => {
                    inner.buffer_size.set(inner.buffer_size.get() + data.len());
                    inner.buffer.borrow_mut().push_front((data, addr));
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
        if inner.buffer.borrow().is_empty() {
            self.remove_io(EVENT_WRITE);
            if inner.closing.get() {
                self.call_connection_lost(None);
            }
        }
    }

    /// `_maybe_pause_protocol`.
    fn maybe_pause_protocol(&self) {
        let inner = &*self.0;
        if inner.buffer_size.get() <= inner.high_water.get() {
            return;
        }
        if !inner.protocol_paused.replace(true) {
            if let Some(protocol) = self.protocol() {
                protocol.pause_writing();
            }
        }
    }

    /// `_maybe_resume_protocol`.
    fn maybe_resume_protocol(&self) {
        let inner = &*self.0;
        if inner.protocol_paused.get() && inner.buffer_size.get() <= inner.low_water.get() {
            inner.protocol_paused.set(false);
            if let Some(protocol) = self.protocol() {
                protocol.resume_writing();
            }
        }
    }

    /// `_fatal_error` for an `OSError` (logged only in debug mode): close at once, and the
    /// protocol's `connection_lost` gets the error.
    fn fatal_error(&self, error: io::Error) {
        if self.0.event_loop.get_debug() {
            eprintln!("asyncio: {self:?}: Fatal error on transport: {error}");
        }
        self.force_close(Some(Rc::new(error)));
    }

    /// `_force_close`: drops the buffered datagrams but, as CPython's, leaves `_buffer_size`.
    fn force_close(&self, error: Option<Rc<io::Error>>) {
        let inner = &*self.0;
        if inner.conn_lost.get() > 0 {
            return;
        }
        if !inner.buffer.borrow().is_empty() {
            inner.buffer.borrow_mut().clear();
            self.remove_io(EVENT_WRITE);
        }
        if !inner.closing.replace(true) {
            self.remove_io(EVENT_READ);
        }
        inner.conn_lost.set(inner.conn_lost.get() + 1);
        let this = self.clone();
        inner
            .event_loop
            .call_soon(move || this.call_connection_lost(error));
    }

    /// `_call_connection_lost`: the protocol's last call; then the socket is closed and the
    /// protocol forgotten (breaking the cycle).
    fn call_connection_lost(&self, error: Option<Rc<io::Error>>) {
        let protocol = self.0.protocol.borrow_mut().take();
        if let Some(protocol) = protocol {
            protocol.connection_lost(error);
        }
        // Defensive: nothing may stay registered for a closed fd.
        self.remove_io(EVENT_READ);
        self.remove_io(EVENT_WRITE);
        self.0.sock.borrow_mut().take();
    }

    /// `close()`: stop receiving; once the buffered datagrams are sent, `connection_lost(None)`.
    pub fn close(&self) {
        let inner = &*self.0;
        if inner.closing.replace(true) {
            return;
        }
        self.remove_io(EVENT_READ);
        if inner.buffer.borrow().is_empty() {
            inner.conn_lost.set(inner.conn_lost.get() + 1);
            self.remove_io(EVENT_WRITE);
            let this = self.clone();
            inner
                .event_loop
                .call_soon(move || this.call_connection_lost(None));
        }
    }

    /// `abort()`: close at once, dropping the buffered datagrams.
    pub fn abort(&self) {
        self.force_close(None);
    }

    /// `is_closing()`.
    pub fn is_closing(&self) -> bool {
        self.0.closing.get()
    }

    /// `is_reading()`.
    pub fn is_reading(&self) -> bool {
        !self.is_closing() && !self.0.paused.get()
    }

    /// `pause_reading()`: no `datagram_received` until `resume_reading`.
    pub fn pause_reading(&self) {
        if !self.is_reading() {
            return;
        }
        self.0.paused.set(true);
        self.remove_io(EVENT_READ);
    }

    /// `resume_reading()`.
    pub fn resume_reading(&self) {
        if self.0.closing.get() || !self.0.paused.get() {
            return;
        }
        self.0.paused.set(false);
        self.add_reader();
    }

    /// `get_write_buffer_size()`: bytes of the datagrams buffered, not yet sent (after
    /// `abort`, still those it dropped, as CPython's).
    pub fn get_write_buffer_size(&self) -> usize {
        self.0.buffer_size.get()
    }

    /// `get_write_buffer_limits()`: `(low, high)`.
    pub fn get_write_buffer_limits(&self) -> (usize, usize) {
        (self.0.low_water.get(), self.0.high_water.get())
    }

    /// `set_write_buffer_limits(high, low)`: as [`Transport`](crate::Transport)'s.
    pub fn set_write_buffer_limits(
        &self,
        high: Option<usize>,
        low: Option<usize>,
    ) -> Result<(), WaterMarksError> {
        let high = high.unwrap_or_else(|| low.map_or(DEFAULT_HIGH_WATER, |low| 4 * low));
        let low = low.unwrap_or(high / 4);
        if high < low {
            return Err(WaterMarksError { high, low });
        }
        self.0.high_water.set(high);
        self.0.low_water.set(low);
        self.maybe_pause_protocol();
        Ok(())
    }

    /// `get_extra_info(name)` for `"peername"` and `"sockname"` of a UDP transport; `None` for
    /// anything else, for an unconnected transport's `"peername"`, and for a Unix socket's
    /// (see [`get_extra_info_name`](Self::get_extra_info_name)).
    pub fn get_extra_info(&self, name: &str) -> Option<SocketAddr> {
        match self.get_extra_info_name(name) {
            Some(SocketName::Inet(addr)) => Some(addr),
            _ => None,
        }
    }

    /// `get_extra_info(name)` for `"peername"` and `"sockname"`, of any socket, as
    /// [`Transport::get_extra_info_name`](crate::Transport::get_extra_info_name): `None` for
    /// an unconnected transport's `"peername"` (CPython's `None`).
    pub fn get_extra_info_name(&self, name: &str) -> Option<SocketName> {
        match name {
            "peername" => self.0.peername.clone(),
            "sockname" => self.0.sockname.clone(),
            _ => None,
        }
    }
}

/// `BlockingIOError` or `InterruptedError`: try again later.
fn would_block(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

impl fmt::Debug for DatagramTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fd = self
            .0
            .sock
            .borrow()
            .as_ref()
            .map(|sock| sock.as_fd().as_raw_fd());
        f.debug_struct("_SelectorDatagramTransport")
            .field("fd", &fd)
            .field("peername", &self.0.peername)
            .field("closing", &self.0.closing.get())
            .field("write_buffer_size", &self.0.buffer_size.get())
            .finish()
    }
}
