//! The socket transport: `Lib/asyncio/transports.py` (`_FlowControlMixin`) and
//! `selector_events._SelectorSocketTransport`; its protocol is [`crate::Protocol`].
//!
//! A transport owns a non-blocking socket and calls its protocol; the protocol calls back
//! `write`/`close`. Every protocol call happens in a loop callback, never inside `write`:
//!
//! ```text
//!   new ─call_soon─► connection_made ─call_soon─► add_reader ─call_soon─► waiter done
//!
//!   _read_ready (fd readable)   recv(256 KiB) ──► data_received(bytes)
//!                               0 bytes ────────► eof_received(): true: stop reading;
//!                                                                 false: close()
//!                               error ──────────► _force_close(error)
//!
//!   write(data)   buffer empty: send now; the rest (or all, on EAGAIN) is buffered and a
//!                 writer is added; buffer > high water (64 KiB): protocol.pause_writing()
//!   _write_ready  writev(buffer); <= low water (16 KiB): protocol.resume_writing();
//!                 empty: remove the writer; closing: connection_lost; eof: shutdown(SHUT_WR)
//!
//!   close()       stop reading; buffer empty: call_soon(connection_lost(None)),
//!                 else when the buffer drains
//!   abort() / _force_close(exc)   drop the buffer, call_soon(connection_lost(exc))
//!                 connection_lost: protocol.connection_lost(exc), close the socket, detach
//!                 from the server; the transport forgets its protocol (breaking the cycle)
//! ```
//!
//! Invariants:
//! - the reader is registered iff the transport is neither closing nor paused nor at EOF
//!   (`is_reading`), after the first pass; the writer iff the write buffer is non-empty;
//! - `conn_lost` counts from the moment `connection_lost` is scheduled: no recv or send after;
//! - `connection_lost` runs exactly once, and last: no protocol call follows it;
//! - a peer's reset or any socket error becomes `connection_lost(Some(error))`; nothing
//!   panics and no error escapes into the loop.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd};
use std::rc::Rc;

use crate::base_events::EventLoop;
use crate::futures::Future;
use crate::protocols::Protocol;
use crate::selector::{IoHandle, EVENT_READ, EVENT_WRITE};
use crate::selector_events::Server;
use crate::sockets::{SocketName, Stream};

/// `_SelectorTransport.max_size`: the most one `recv` reads.
pub const MAX_SIZE: usize = 256 * 1024;

/// `_FlowControlMixin`'s default high-water mark: 64 KiB.
pub const DEFAULT_HIGH_WATER: usize = 64 * 1024;

/// `constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES`.
const LOG_THRESHOLD_FOR_CONNLOST_WRITES: u32 = 5;

/// The most buffers one `writev` takes (`SC_IOV_MAX` on Linux).
const IOV_MAX: usize = 1024;

/// Why [`Transport::write`] refused data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteError {
    /// `RuntimeError('Cannot call write() after write_eof()')`.
    AfterWriteEof,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::AfterWriteEof => f.write_str("cannot call write() after write_eof()"),
        }
    }
}

impl std::error::Error for WriteError {}

/// `ValueError` from [`Transport::set_write_buffer_limits`]: `high >= low >= 0` does not hold.
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

pub(crate) struct TransportInner {
    event_loop: EventLoop,
    sock: RefCell<Option<Stream>>,
    protocol: RefCell<Option<Rc<dyn Protocol>>>,
    buffer: RefCell<VecDeque<Vec<u8>>>,
    /// Bytes of `buffer`'s front chunk already sent.
    sent_of_front: Cell<usize>,
    buffer_size: Cell<usize>,
    closing: Cell<bool>,
    eof: Cell<bool>,
    paused: Cell<bool>,
    conn_lost: Cell<u32>,
    protocol_paused: Cell<bool>,
    high_water: Cell<usize>,
    low_water: Cell<usize>,
    peername: Option<SocketName>,
    sockname: Option<SocketName>,
    server: RefCell<Option<Server>>,
}

/// `_SelectorSocketTransport`: a TCP or Unix-socket connection driven by the loop's selector.
/// Cloning gives another reference to the same transport.
#[derive(Clone)]
pub struct Transport(Rc<TransportInner>);

impl Transport {
    /// `_SelectorSocketTransport.__init__`: takes a connected non-blocking socket, sets
    /// `TCP_NODELAY` on a TCP one, and schedules `connection_made`, the reader and the waiter's result.
    pub(crate) fn new(
        event_loop: &EventLoop,
        sock: Stream,
        protocol: Rc<dyn Protocol>,
        waiter: Option<Future<()>>,
        server: Option<Server>,
    ) -> Transport {
        sock.set_nodelay();
        let peername = sock.peername();
        let sockname = sock.sockname();
        if let Some(server) = &server {
            server.attach();
        }
        let inner = Rc::new(TransportInner {
            event_loop: event_loop.clone(),
            sock: RefCell::new(Some(sock)),
            protocol: RefCell::new(Some(protocol.clone())),
            buffer: RefCell::new(VecDeque::new()),
            sent_of_front: Cell::new(0),
            buffer_size: Cell::new(0),
            closing: Cell::new(false),
            eof: Cell::new(false),
            paused: Cell::new(false),
            conn_lost: Cell::new(0),
            protocol_paused: Cell::new(false),
            high_water: Cell::new(DEFAULT_HIGH_WATER),
            low_water: Cell::new(DEFAULT_HIGH_WATER / 4),
            peername,
            sockname,
            server: RefCell::new(server),
        });
        let transport = Transport(inner);
        let made = transport.clone();
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

    fn inner(&self) -> &TransportInner {
        &self.0
    }

    fn protocol(&self) -> Option<Rc<dyn Protocol>> {
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
            "_SelectorSocketTransport._read_ready",
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

    /// `_read_ready__data_received`.
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
            Some(sock) => sock.recv(&mut buf),
            None => return,
        };
        match received {
            Ok(0) => self.read_ready_on_eof(),
            Ok(n) => {
                if let Some(protocol) = self.protocol() {
                    protocol.data_received(&buf[..n]);
                }
            }
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            Err(error) => self.fatal_error(error),
        }
        *event_loop.0.recv_buffer.borrow_mut() = Some(buf);
    }

    /// `_read_ready__on_eof`.
    fn read_ready_on_eof(&self) {
        let keep_open = self
            .protocol()
            .is_some_and(|protocol| protocol.eof_received());
        if keep_open {
            // Still writable, but nothing more to receive.
            self.remove_io(EVENT_READ);
        } else {
            self.close();
        }
    }

    /// `write(data)`: send what the socket takes now, buffer the rest. After the connection is
    /// lost, data is dropped (CPython logs "socket.send() raised exception." from the fifth
    /// such write on, here on stderr).
    pub fn write(&self, data: &[u8]) -> Result<(), WriteError> {
        let inner = self.inner();
        if inner.eof.get() {
            return Err(WriteError::AfterWriteEof);
        }
        if data.is_empty() {
            return Ok(());
        }
        if inner.conn_lost.get() > 0 {
            if inner.conn_lost.get() >= LOG_THRESHOLD_FOR_CONNLOST_WRITES {
                eprintln!("asyncio: socket.send() raised exception.");
            }
            inner.conn_lost.set(inner.conn_lost.get() + 1);
            return Ok(());
        }
        let mut rest = data;
        if inner.buffer.borrow().is_empty() {
            let sent = match inner.sock.borrow().as_ref() {
                Some(sock) => sock.send(data),
                None => return Ok(()),
            };
            match sent {
                Ok(n) if n == data.len() => return Ok(()),
                Ok(n) => rest = &data[n..],
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) => {}
                Err(error) => {
                    self.fatal_error(error);
                    return Ok(());
                }
            }
            let this = self.clone();
            let handle = IoHandle::new(
                Rc::new(move || this.write_ready()),
                "_SelectorSocketTransport._write_ready",
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
        inner.buffer.borrow_mut().push_back(rest.to_vec());
        inner.buffer_size.set(inner.buffer_size.get() + rest.len());
        self.maybe_pause_protocol();
        Ok(())
    }

    /// `_write_ready` (`_write_sendmsg`): one `writev` of the buffered chunks.
    fn write_ready(&self) {
        let inner = self.inner();
        if inner.conn_lost.get() > 0 {
            return;
        }
        let sent = {
            let buffer = inner.buffer.borrow();
            let skip = inner.sent_of_front.get();
            let slices: Vec<IoSlice<'_>> = buffer
                .iter()
                .take(IOV_MAX)
                .enumerate()
                .map(|(i, chunk)| IoSlice::new(if i == 0 { &chunk[skip..] } else { chunk }))
                .collect();
            match inner.sock.borrow().as_ref() {
                Some(sock) => sock.sendmsg(&slices),
                None => return,
            }
        };
        match sent {
            Ok(n) => self.adjust_leftover_buffer(n),
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                return
            }
            Err(error) => {
                self.remove_io(EVENT_WRITE);
                inner.buffer.borrow_mut().clear();
                inner.buffer_size.set(0);
                inner.sent_of_front.set(0);
                self.fatal_error(error);
                return;
            }
        }
        self.maybe_resume_protocol();
        if inner.buffer.borrow().is_empty() {
            self.remove_io(EVENT_WRITE);
            if inner.closing.get() {
                self.call_connection_lost(None);
            } else if inner.eof.get() {
                if let Some(sock) = inner.sock.borrow().as_ref() {
                    let _ = sock.shutdown_write();
                }
            }
        }
    }

    /// `_adjust_leftover_buffer`: drop the `n` bytes sent from the front of the buffer.
    fn adjust_leftover_buffer(&self, mut n: usize) {
        let inner = self.inner();
        inner.buffer_size.set(inner.buffer_size.get() - n);
        let mut buffer = inner.buffer.borrow_mut();
        while n > 0 {
            let Some(front) = buffer.front() else { break };
            let left = front.len() - inner.sent_of_front.get();
            if n >= left {
                buffer.pop_front();
                inner.sent_of_front.set(0);
                n -= left;
            } else {
                inner.sent_of_front.set(inner.sent_of_front.get() + n);
                n = 0;
            }
        }
    }

    /// `_maybe_pause_protocol`.
    fn maybe_pause_protocol(&self) {
        let inner = self.inner();
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
        let inner = self.inner();
        if inner.protocol_paused.get() && inner.buffer_size.get() <= inner.low_water.get() {
            inner.protocol_paused.set(false);
            if let Some(protocol) = self.protocol() {
                protocol.resume_writing();
            }
        }
    }

    /// `_fatal_error`: an `OSError` on the socket (CPython logs it only in debug mode) closes
    /// the transport at once, and the protocol's `connection_lost` gets the error.
    fn fatal_error(&self, error: io::Error) {
        if self.0.event_loop.get_debug() {
            eprintln!("asyncio: {self:?}: Fatal error on transport: {error}");
        }
        self.force_close(Some(Rc::new(error)));
    }

    /// `_force_close`.
    fn force_close(&self, error: Option<Rc<io::Error>>) {
        let inner = self.inner();
        if inner.conn_lost.get() > 0 {
            return;
        }
        if !inner.buffer.borrow().is_empty() {
            inner.buffer.borrow_mut().clear();
            inner.buffer_size.set(0);
            inner.sent_of_front.set(0);
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

    /// `_call_connection_lost`: the protocol's last call; then the socket is closed, the server
    /// told, and the protocol forgotten.
    fn call_connection_lost(&self, error: Option<Rc<io::Error>>) {
        let inner = self.inner();
        let protocol = inner.protocol.borrow_mut().take();
        if let Some(protocol) = protocol {
            protocol.connection_lost(error);
        }
        // Defensive: nothing may stay registered for a closed fd.
        self.remove_io(EVENT_READ);
        self.remove_io(EVENT_WRITE);
        inner.sock.borrow_mut().take();
        let server = inner.server.borrow_mut().take();
        if let Some(server) = server {
            server.detach();
        }
    }

    /// `close()`: stop reading; once the buffer is sent, `connection_lost(None)`.
    pub fn close(&self) {
        let inner = self.inner();
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

    /// `abort()`: close at once, dropping buffered data.
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

    /// `pause_reading()`: no `data_received` until `resume_reading`.
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

    /// `write_eof()`: shut down the sending side once the buffer is sent.
    pub fn write_eof(&self) {
        let inner = self.inner();
        if inner.closing.get() || inner.eof.replace(true) {
            return;
        }
        if inner.buffer.borrow().is_empty() {
            if let Some(sock) = inner.sock.borrow().as_ref() {
                let _ = sock.shutdown_write();
            }
        }
    }

    /// `can_write_eof()`: always true (TCP and Unix sockets).
    pub fn can_write_eof(&self) -> bool {
        true
    }

    /// `get_write_buffer_size()`: bytes buffered, not yet sent.
    pub fn get_write_buffer_size(&self) -> usize {
        self.0.buffer_size.get()
    }

    /// `get_write_buffer_limits()`: `(low, high)`.
    pub fn get_write_buffer_limits(&self) -> (usize, usize) {
        (self.0.low_water.get(), self.0.high_water.get())
    }

    /// `set_write_buffer_limits(high, low)`: `None` for high means 64 KiB (or 4 × low when low
    /// is given); `None` for low means high / 4.
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

    /// `get_extra_info(name)` for `"peername"` and `"sockname"` of a TCP transport; `None`
    /// for anything else, and for a Unix socket's, whose addresses are paths (see
    /// [`get_extra_info_name`](Self::get_extra_info_name)).
    pub fn get_extra_info(&self, name: &str) -> Option<SocketAddr> {
        match self.get_extra_info_name(name) {
            Some(SocketName::Inet(addr)) => Some(addr),
            _ => None,
        }
    }

    /// `get_extra_info(name)` for `"peername"` and `"sockname"`, of any socket: a TCP
    /// transport's [`SocketName::Inet`], a Unix one's [`SocketName::Unix`] (CPython's `str`: the
    /// path, or the empty path where CPython gives `''`: a client's own `sockname`, a server
    /// connection's `peername`); `None` for anything else, or when the system call failed.
    pub fn get_extra_info_name(&self, name: &str) -> Option<SocketName> {
        match name {
            "peername" => self.0.peername.clone(),
            "sockname" => self.0.sockname.clone(),
            _ => None,
        }
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fd = self
            .0
            .sock
            .borrow()
            .as_ref()
            .map(|sock| sock.as_fd().as_raw_fd());
        f.debug_struct("_SelectorSocketTransport")
            .field("fd", &fd)
            .field("peername", &self.0.peername)
            .field("closing", &self.0.closing.get())
            .field("write_buffer_size", &self.0.buffer_size.get())
            .finish()
    }
}
