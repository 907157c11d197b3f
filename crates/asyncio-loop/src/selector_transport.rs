//! What the two selector transports share: `selector_events._SelectorTransport` and
//! `transports._FlowControlMixin` (CPython 3.12.1), the base classes of
//! `_SelectorSocketTransport` ([`Transport`], `transports.rs`) and
//! `_SelectorDatagramTransport` ([`DatagramTransport`],
//! `datagram_transport.rs`).
//!
//! ```text
//!   CPython                                  here
//!   _FlowControlMixin     water marks,       SelectorTransport<C>: the state and methods
//!     _maybe_pause/resume_protocol             below, once, generic over C
//!   _SelectorTransport    __init__, close,
//!     abort, _force_close, _fatal_error,
//!     _call_connection_lost, pause/resume_
//!     reading, _add_reader, get_extra_info
//!   ├─ _SelectorSocketTransport              Transport(SelectorTransport<SelectorSocket>)
//!   │    _read_ready, write, _write_ready,     transports.rs
//!   │    write_eof; _eof
//!   └─ _SelectorDatagramTransport            DatagramTransport(SelectorTransport<
//!        _read_ready, sendto, _sendto_ready;     SelectorDatagram>)
//!        _address, _buffer_size                datagram_transport.rs
//! ```
//!
//! A subclass is a marker type implementing [`TransportClass`]: its socket, its protocol trait
//! object, the entry of its write buffer, the attributes its own `__init__` adds, its two
//! selector callbacks, its public type and its class name. The base's algorithms are generic
//! methods of [`SelectorTransport`]; a subclass's own are an inherent `impl` of its
//! instance, `impl SelectorTransport<SelectorSocket>` in its file. Each public transport is a
//! newtype of its instance, and [`selector_transport_methods`] writes the base's public methods
//! on it (`close`, `abort`, the water marks, ...), each a call of the base's, so a user sees one
//! plain type with all its methods and nothing to import. Every call is static: the per-class
//! parts are monomorphised, the newtype of a newtype of an `Rc` is that `Rc`, and the read and
//! write paths hold the same fields as before the split, with no vtable and no extra allocation.
//! One thing here is not CPython's: `read_with_loop_buffer` lends each `_read_ready` the loop's
//! one receive buffer, where CPython allocates a `bytes` per `recv`.
//!
//! Rejected: the public types as aliases of `SelectorTransport<_>`, with no forwarding at all:
//! rustdoc then lists on an alias only the methods of its own `impl` (not `close`, ...), and
//! the crate-private `TransportClass` leaks into a public bound. A trait with provided methods:
//! a user would have to import it to call `close`, or each type would forward anyway. An enum
//! of the two socket kinds would match on every call and hold the larger variant's fields in
//! both.
//!
//! The protocols: CPython's `BaseProtocol` has `connection_made`, `connection_lost`,
//! `pause_writing` and `resume_writing`; [`Protocol`] and [`DatagramProtocol`] each declare
//! their own (they are public traits without a common supertrait), and [`BaseProtocol`] here
//! forwards to them.
//!
//! ```text
//!   init ─call_soon─► connection_made ─call_soon─► add_reader ─call_soon─► waiter done
//!
//!   close()           stop reading; buffer empty: call_soon(_call_connection_lost(None)),
//!                     else the subclass's write callback calls it when the buffer drains
//!   abort()           _force_close(None)
//!   _fatal_error(e)   _force_close(e) (logged in debug mode only: an OSError)
//!   _force_close(e)   drop the buffer, stop reading, call_soon(_call_connection_lost(e))
//!   _call_connection_lost(e)   protocol.connection_lost(e), close the socket, detach from the
//!                     server; the transport forgets its protocol (breaking the cycle)
//! ```
//!
//! Invariants:
//! - the reader is registered iff the transport is neither closing nor paused (`is_reading`,
//!   and for a socket transport not at EOF), after the first pass; the writer iff the write
//!   buffer is non-empty;
//! - `conn_lost` counts from the moment `connection_lost` is scheduled: no recv after;
//! - `connection_lost` runs exactly once, and last: no protocol call follows it;
//! - `protocol_paused` is true between a `pause_writing` and the next `resume_writing`, which
//!   alternate, pause first.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd};
use std::rc::Rc;

use crate::base_events::EventLoop;
use crate::datagram_transport::{DatagramTransport, SelectorDatagram};
use crate::futures::Future;
use crate::protocols::{DatagramProtocol, Protocol};
use crate::selector::{IoHandle, EVENT_READ, EVENT_WRITE};
use crate::selector_events::Server;
use crate::sockets::{Datagram, SocketName, Stream};
use crate::transports::{SelectorSocket, Transport};

/// `_SelectorTransport.max_size`: the most one `recv` reads.
pub const MAX_SIZE: usize = 256 * 1024;

/// `_FlowControlMixin`'s default high-water mark: 64 KiB.
pub const DEFAULT_HIGH_WATER: usize = 64 * 1024;

/// `constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES`.
pub(crate) const LOG_THRESHOLD_FOR_CONNLOST_WRITES: u32 = 5;

/// `ValueError` from `set_write_buffer_limits`
/// ([`Transport`](crate::Transport::set_write_buffer_limits)'s,
/// [`DatagramTransport`](crate::DatagramTransport::set_write_buffer_limits)'s):
/// `high >= low >= 0` does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaterMarksError {
    /// The high-water mark asked for.
    pub high: usize,
    /// The low-water mark asked for.
    pub low: usize,
}

impl fmt::Display for WaterMarksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "high ({}) must be >= low ({}) must be >= 0",
            self.high, self.low
        )
    }
}

impl std::error::Error for WaterMarksError {}

/// What a subclass of `_SelectorTransport` brings; implemented by [`SelectorSocket`] and
/// [`SelectorDatagram`].
pub(crate) trait TransportClass: Sized + 'static {
    /// The socket.
    type Socket: TransportSocket;
    /// The protocol, a trait object.
    type Protocol: ?Sized + BaseProtocol<Self> + 'static;
    /// One entry of `_buffer`.
    type Chunk;
    /// The attributes the subclass's own `__init__` adds.
    type Attributes;
    /// The public transport, a newtype of `SelectorTransport<Self>`.
    type Public: 'static;
    /// `__class__.__name__`, in `Debug`.
    const NAME: &'static str;
    /// The reader's name (`Class._read_ready`), in debug mode's slow-callback reports.
    const READ_READY: &'static str;
    /// The writer's name.
    const WRITE_READY: &'static str;
    /// `_read_ready`: the socket is readable.
    fn read_ready(transport: &SelectorTransport<Self>);
    /// `_write_ready` (`_sendto_ready`): the socket is writable and the buffer not empty.
    fn write_ready(transport: &SelectorTransport<Self>);
    /// `self._buffer.clear()`, as `_force_close` does it.
    fn clear_buffer(transport: &SelectorTransport<Self>);
    /// The public transport of `transport`, as the protocol's `connection_made` gets it.
    fn public(transport: SelectorTransport<Self>) -> Self::Public;
}

/// What the base asks of a socket: its fd and, once at `__init__`, its two names.
pub(crate) trait TransportSocket: AsFd {
    /// `getsockname()`, or `None` when it failed.
    fn sockname(&self) -> Option<SocketName>;
    /// `getpeername()`, or `None` when it failed (not connected).
    fn peername(&self) -> Option<SocketName>;
}

impl TransportSocket for Stream {
    fn sockname(&self) -> Option<SocketName> {
        Stream::sockname(self)
    }

    fn peername(&self) -> Option<SocketName> {
        Stream::peername(self)
    }
}

impl TransportSocket for Datagram {
    fn sockname(&self) -> Option<SocketName> {
        Datagram::sockname(self)
    }

    fn peername(&self) -> Option<SocketName> {
        Datagram::peername(self)
    }
}

/// `protocols.BaseProtocol`: the calls the base makes, whatever the protocol.
pub(crate) trait BaseProtocol<C: TransportClass> {
    /// `connection_made(transport)`.
    fn connection_made(&self, transport: &C::Public);
    /// `connection_lost(exc)`.
    fn connection_lost(&self, error: Option<Rc<io::Error>>);
    /// `pause_writing()`.
    fn pause_writing(&self);
    /// `resume_writing()`.
    fn resume_writing(&self);
}

impl BaseProtocol<SelectorSocket> for dyn Protocol {
    fn connection_made(&self, transport: &Transport) {
        Protocol::connection_made(self, transport);
    }

    fn connection_lost(&self, error: Option<Rc<io::Error>>) {
        Protocol::connection_lost(self, error);
    }

    fn pause_writing(&self) {
        Protocol::pause_writing(self);
    }

    fn resume_writing(&self) {
        Protocol::resume_writing(self);
    }
}

impl BaseProtocol<SelectorDatagram> for dyn DatagramProtocol {
    fn connection_made(&self, transport: &DatagramTransport) {
        DatagramProtocol::connection_made(self, transport);
    }

    fn connection_lost(&self, error: Option<Rc<io::Error>>) {
        DatagramProtocol::connection_lost(self, error);
    }

    fn pause_writing(&self) {
        DatagramProtocol::pause_writing(self);
    }

    fn resume_writing(&self) {
        DatagramProtocol::resume_writing(self);
    }
}

/// The attributes of `_SelectorTransport` and `_FlowControlMixin`, and the subclass's own.
pub(crate) struct State<C: TransportClass> {
    pub(crate) event_loop: EventLoop,
    /// `_sock`: `None` once `_call_connection_lost` has closed it.
    pub(crate) sock: RefCell<Option<C::Socket>>,
    /// `_protocol`: `None` once `connection_lost` has been called.
    pub(crate) protocol: RefCell<Option<Rc<C::Protocol>>>,
    pub(crate) buffer: RefCell<VecDeque<C::Chunk>>,
    /// Bytes buffered: the socket transport's `sum(map(len, self._buffer))`, the datagram
    /// transport's `_buffer_size`.
    pub(crate) buffer_size: Cell<usize>,
    closing: Cell<bool>,
    paused: Cell<bool>,
    pub(crate) conn_lost: Cell<u32>,
    protocol_paused: Cell<bool>,
    high_water: Cell<usize>,
    low_water: Cell<usize>,
    pub(crate) peername: Option<SocketName>,
    sockname: Option<SocketName>,
    /// `_server`: a server's connection detaches from it in `_call_connection_lost`; always
    /// `None` for a datagram transport (CPython passes none).
    server: RefCell<Option<Server>>,
    /// The subclass's own attributes.
    pub(crate) own: C::Attributes,
}

/// `_SelectorTransport` (with `_FlowControlMixin`), generic over its subclass `C`: the field of
/// [`Transport`] and [`DatagramTransport`].
/// Cloning gives another reference to the same transport.
pub(crate) struct SelectorTransport<C: TransportClass>(pub(crate) Rc<State<C>>);

impl<C: TransportClass> Clone for SelectorTransport<C> {
    fn clone(&self) -> Self {
        SelectorTransport(self.0.clone())
    }
}

impl<C: TransportClass> SelectorTransport<C> {
    /// `_SelectorTransport.__init__`, then what both subclasses' `__init__` end with:
    /// schedule `connection_made`, the reader and the waiter's result, in that order.
    pub(crate) fn init(
        event_loop: &EventLoop,
        sock: C::Socket,
        protocol: Rc<C::Protocol>,
        server: Option<Server>,
        own: C::Attributes,
        waiter: Option<Future<()>>,
    ) -> Self {
        let peername = sock.peername();
        let sockname = sock.sockname();
        if let Some(server) = &server {
            server.attach();
        }
        let transport = SelectorTransport(Rc::new(State {
            event_loop: event_loop.clone(),
            sock: RefCell::new(Some(sock)),
            protocol: RefCell::new(Some(protocol.clone())),
            buffer: RefCell::new(VecDeque::new()),
            buffer_size: Cell::new(0),
            closing: Cell::new(false),
            paused: Cell::new(false),
            conn_lost: Cell::new(0),
            protocol_paused: Cell::new(false),
            high_water: Cell::new(DEFAULT_HIGH_WATER),
            low_water: Cell::new(DEFAULT_HIGH_WATER / 4),
            peername,
            sockname,
            server: RefCell::new(server),
            own,
        }));
        let made = C::public(transport.clone());
        event_loop.call_soon(move || protocol.connection_made(&made));
        let reading = transport.clone();
        event_loop.call_soon(move || reading.add_reader());
        if let Some(waiter) = waiter {
            event_loop.call_soon(move || {
                // `futures._set_result_unless_cancelled`.
                let _ = waiter.set_result(());
            });
        }
        transport
    }

    /// `_protocol`, while it is there.
    pub(crate) fn protocol(&self) -> Option<Rc<C::Protocol>> {
        self.0.protocol.borrow().clone()
    }

    /// `_read_ready`'s frame: nothing once `connection_lost` is scheduled; else `read` gets the
    /// loop's receive buffer, [`MAX_SIZE`] bytes allocated once per loop and lent to each read
    /// in turn (CPython's `recv(max_size)` allocates its `bytes` each time).
    pub(crate) fn read_with_loop_buffer(&self, read: impl FnOnce(&mut [u8])) {
        let state = &*self.0;
        if state.conn_lost.get() > 0 {
            return;
        }
        let recv_buffer = &state.event_loop.0.recv_buffer;
        let mut buf = recv_buffer
            .borrow_mut()
            .take()
            .unwrap_or_else(|| vec![0; MAX_SIZE]);
        read(&mut buf);
        *recv_buffer.borrow_mut() = Some(buf);
    }

    /// `_add_reader(fd, self._read_ready)`: only while `is_reading()`.
    fn add_reader(&self) {
        if !self.is_reading() {
            return;
        }
        // The selector holds the transport while it is registered (CPython's bound method).
        let this = self.clone();
        let handle = IoHandle::new(Rc::new(move || C::read_ready(&this)), C::READ_READY);
        let added = match self.0.sock.borrow().as_ref() {
            Some(sock) => self.0.event_loop.add_io(sock.as_fd(), EVENT_READ, handle),
            None => Ok(()),
        };
        if let Err(error) = added {
            self.fatal_error(error);
        }
    }

    /// `_loop._add_writer(fd, self._write_ready)`; false when that failed and the transport is
    /// closing on the error.
    pub(crate) fn add_writer(&self) -> bool {
        let this = self.clone();
        let handle = IoHandle::new(Rc::new(move || C::write_ready(&this)), C::WRITE_READY);
        let added = match self.0.sock.borrow().as_ref() {
            Some(sock) => self.0.event_loop.add_io(sock.as_fd(), EVENT_WRITE, handle),
            None => Ok(()),
        };
        match added {
            Ok(()) => true,
            Err(error) => {
                self.fatal_error(error);
                false
            }
        }
    }

    /// `_loop._remove_reader(fd)`.
    pub(crate) fn remove_reader(&self) {
        self.remove_io(EVENT_READ);
    }

    /// `_loop._remove_writer(fd)`.
    pub(crate) fn remove_writer(&self) {
        self.remove_io(EVENT_WRITE);
    }

    fn remove_io(&self, mask: u8) {
        if let Some(sock) = self.0.sock.borrow().as_ref() {
            self.0.event_loop.remove_io(sock.as_fd(), mask);
        }
    }

    /// `_maybe_pause_protocol`: over the high-water mark, `pause_writing()` once.
    pub(crate) fn maybe_pause_protocol(&self) {
        let state = &*self.0;
        if state.buffer_size.get() <= state.high_water.get() {
            return;
        }
        if !state.protocol_paused.replace(true) {
            if let Some(protocol) = self.protocol() {
                protocol.pause_writing();
            }
        }
    }

    /// `_maybe_resume_protocol`: paused and at or under the low-water mark, `resume_writing()`.
    pub(crate) fn maybe_resume_protocol(&self) {
        let state = &*self.0;
        if state.protocol_paused.get() && state.buffer_size.get() <= state.low_water.get() {
            state.protocol_paused.set(false);
            if let Some(protocol) = self.protocol() {
                protocol.resume_writing();
            }
        }
    }

    /// `_fatal_error`: an `OSError` on the socket (CPython logs it only in debug mode) closes
    /// the transport at once, and the protocol's `connection_lost` gets the error.
    pub(crate) fn fatal_error(&self, error: io::Error) {
        if self.0.event_loop.get_debug() {
            eprintln!("asyncio: {self:?}: Fatal error on transport: {error}");
        }
        self.force_close(Some(Rc::new(error)));
    }

    /// `_force_close`: drop the buffer, stop reading, and schedule `connection_lost`.
    fn force_close(&self, error: Option<Rc<io::Error>>) {
        let state = &*self.0;
        if state.conn_lost.get() > 0 {
            return;
        }
        if !state.buffer.borrow().is_empty() {
            C::clear_buffer(self);
            self.remove_writer();
        }
        if !state.closing.replace(true) {
            self.remove_reader();
        }
        state.conn_lost.set(state.conn_lost.get() + 1);
        let this = self.clone();
        state
            .event_loop
            .call_soon(move || this.call_connection_lost(error));
    }

    /// `_call_connection_lost`: the protocol's last call; then the socket is closed, the server
    /// told, and the protocol forgotten.
    pub(crate) fn call_connection_lost(&self, error: Option<Rc<io::Error>>) {
        let state = &*self.0;
        let protocol = state.protocol.borrow_mut().take();
        if let Some(protocol) = protocol {
            protocol.connection_lost(error);
        }
        // Defensive: nothing may stay registered for a closed fd.
        self.remove_reader();
        self.remove_writer();
        state.sock.borrow_mut().take();
        let server = state.server.borrow_mut().take();
        if let Some(server) = server {
            server.detach();
        }
    }

    /// `close()`: see [`selector_transport_methods`].
    pub(crate) fn close(&self) {
        let state = &*self.0;
        if state.closing.replace(true) {
            return;
        }
        self.remove_reader();
        if state.buffer.borrow().is_empty() {
            state.conn_lost.set(state.conn_lost.get() + 1);
            self.remove_writer();
            let this = self.clone();
            state
                .event_loop
                .call_soon(move || this.call_connection_lost(None));
        }
    }

    /// `abort()`: see [`selector_transport_methods`].
    pub(crate) fn abort(&self) {
        self.force_close(None);
    }

    /// `is_closing()`: see [`selector_transport_methods`].
    pub(crate) fn is_closing(&self) -> bool {
        self.0.closing.get()
    }

    /// `is_reading()`: see [`selector_transport_methods`].
    pub(crate) fn is_reading(&self) -> bool {
        !self.is_closing() && !self.0.paused.get()
    }

    /// `pause_reading()`: see [`selector_transport_methods`].
    pub(crate) fn pause_reading(&self) {
        if !self.is_reading() {
            return;
        }
        self.0.paused.set(true);
        self.remove_reader();
    }

    /// `resume_reading()`: see [`selector_transport_methods`].
    pub(crate) fn resume_reading(&self) {
        if self.0.closing.get() || !self.0.paused.get() {
            return;
        }
        self.0.paused.set(false);
        self.add_reader();
    }

    /// `get_write_buffer_size()`: see [`selector_transport_methods`].
    pub(crate) fn get_write_buffer_size(&self) -> usize {
        self.0.buffer_size.get()
    }

    /// `get_write_buffer_limits()`: see [`selector_transport_methods`].
    pub(crate) fn get_write_buffer_limits(&self) -> (usize, usize) {
        (self.0.low_water.get(), self.0.high_water.get())
    }

    /// `set_write_buffer_limits()`: see [`selector_transport_methods`].
    pub(crate) fn set_write_buffer_limits(
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

    /// `get_extra_info()`: see [`selector_transport_methods`].
    pub(crate) fn get_extra_info(&self, name: &str) -> Option<SocketAddr> {
        match self.get_extra_info_name(name) {
            Some(SocketName::Inet(addr)) => Some(addr),
            _ => None,
        }
    }

    /// `get_extra_info_name()`: see [`selector_transport_methods`].
    pub(crate) fn get_extra_info_name(&self, name: &str) -> Option<SocketName> {
        match name {
            "peername" => self.0.peername.clone(),
            "sockname" => self.0.sockname.clone(),
            _ => None,
        }
    }
}

/// `BlockingIOError` or `InterruptedError`: try again later.
pub(crate) fn would_block(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

impl<C: TransportClass> fmt::Debug for SelectorTransport<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fd = self
            .0
            .sock
            .borrow()
            .as_ref()
            .map(|sock| sock.as_fd().as_raw_fd());
        f.debug_struct(C::NAME)
            .field("fd", &fd)
            .field("peername", &self.0.peername)
            .field("closing", &self.0.closing.get())
            .field("write_buffer_size", &self.0.buffer_size.get())
            .finish()
    }
}

/// The public methods of `_SelectorTransport` and `_FlowControlMixin`, and `Debug`, for a
/// public transport `$transport`, a newtype of [`SelectorTransport`]: written once here,
/// expanded in `transports.rs` and `datagram_transport.rs`. Each forwards to the base's method
/// of the same name, inlined.
macro_rules! selector_transport_methods {
    ($transport:ident) => {
        impl $transport {
            /// `close()`: stop reading; once the buffer is sent, `connection_lost(None)`.
            #[inline]
            pub fn close(&self) {
                self.0.close()
            }

            /// `abort()`: close at once, dropping buffered data.
            #[inline]
            pub fn abort(&self) {
                self.0.abort()
            }

            /// `is_closing()`.
            #[inline]
            pub fn is_closing(&self) -> bool {
                self.0.is_closing()
            }

            /// `is_reading()`.
            #[inline]
            pub fn is_reading(&self) -> bool {
                self.0.is_reading()
            }

            /// `pause_reading()`: no `data_received` (`datagram_received`) until `resume_reading`.
            #[inline]
            pub fn pause_reading(&self) {
                self.0.pause_reading()
            }

            /// `resume_reading()`.
            #[inline]
            pub fn resume_reading(&self) {
                self.0.resume_reading()
            }

            /// `get_write_buffer_size()`: bytes buffered, not yet sent. A datagram transport's, as
            /// CPython's, still counts after `abort` the datagrams it dropped.
            #[inline]
            pub fn get_write_buffer_size(&self) -> usize {
                self.0.get_write_buffer_size()
            }

            /// `get_write_buffer_limits()`: `(low, high)`.
            #[inline]
            pub fn get_write_buffer_limits(&self) -> (usize, usize) {
                self.0.get_write_buffer_limits()
            }

            /// `set_write_buffer_limits(high, low)`: `None` for high means 64 KiB (or 4 × low when
            /// low is given); `None` for low means high / 4.
            #[inline]
            pub fn set_write_buffer_limits(
                &self,
                high: Option<usize>,
                low: Option<usize>,
            ) -> Result<(), $crate::WaterMarksError> {
                self.0.set_write_buffer_limits(high, low)
            }

            /// `get_extra_info(name)` for `"peername"` and `"sockname"` of a TCP or UDP transport;
            /// `None` for anything else, for an unconnected datagram transport's `"peername"`, and
            /// for a Unix socket's, whose addresses are paths (see
            /// [`get_extra_info_name`](Self::get_extra_info_name)).
            #[inline]
            pub fn get_extra_info(&self, name: &str) -> Option<std::net::SocketAddr> {
                self.0.get_extra_info(name)
            }

            /// `get_extra_info(name)` for `"peername"` and `"sockname"`, of any socket: a TCP or
            /// UDP transport's [`SocketName::Inet`](crate::SocketName::Inet), a Unix one's
            /// [`SocketName::Unix`](crate::SocketName::Unix) (CPython's `str`: the path, or the
            /// empty path where CPython gives `''`: a client's own `sockname`, a server
            /// connection's `peername`); `None` for anything else, for an unconnected datagram
            /// transport's `"peername"` (CPython's `None`), or when the system call failed.
            #[inline]
            pub fn get_extra_info_name(&self, name: &str) -> Option<$crate::SocketName> {
                self.0.get_extra_info_name(name)
            }
        }

        impl std::fmt::Debug for $transport {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&self.0, f)
            }
        }
    };
}
pub(crate) use selector_transport_methods;
