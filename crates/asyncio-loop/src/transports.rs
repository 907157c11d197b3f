//! The socket transport: `selector_events._SelectorSocketTransport`; its protocol is
//! [`crate::Protocol`]. What it inherits from `_SelectorTransport` and `_FlowControlMixin`
//! (`close`, `abort`, `_force_close`, `_call_connection_lost`, `pause_reading`, the water
//! marks) is [`SelectorTransport`], in `selector_transport.rs`; this file has the rest.
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
//!   close(), abort(), _force_close(exc), connection_lost: the base's (selector_transport.rs)
//! ```
//!
//! Invariants, beyond the base's (reader, writer, `conn_lost`, `connection_lost` once and last):
//! - the reader is also removed at EOF when `eof_received` keeps the transport open;
//! - no send once `connection_lost` is scheduled (`conn_lost`);
//! - a peer's reset or any socket error becomes `connection_lost(Some(error))`; nothing
//!   panics and no error escapes into the loop.

use std::cell::Cell;
use std::fmt;
use std::io::IoSlice;
use std::rc::Rc;

use crate::base_events::EventLoop;
use crate::futures::Future;
use crate::protocols::Protocol;
use crate::selector_events::Server;
use crate::selector_transport::{
    selector_transport_methods, would_block, SelectorTransport, TransportClass,
    LOG_THRESHOLD_FOR_CONNLOST_WRITES,
};
pub use crate::selector_transport::{WaterMarksError, DEFAULT_HIGH_WATER, MAX_SIZE};
use crate::sockets::Stream;

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

/// `_SelectorSocketTransport`: a TCP or Unix-socket connection driven by the loop's selector.
/// Cloning gives another reference to the same transport.
#[derive(Clone)]
pub struct Transport(SelectorTransport<SelectorSocket>);

selector_transport_methods!(Transport);

/// The subclass `_SelectorSocketTransport` of [`SelectorTransport`].
pub(crate) struct SelectorSocket;

/// `_SelectorSocketTransport`'s own attributes.
pub(crate) struct SocketAttributes {
    /// `_eof`: `write_eof()` was called.
    eof: Cell<bool>,
    /// Bytes of the buffer's front chunk already sent.
    sent_of_front: Cell<usize>,
}

impl TransportClass for SelectorSocket {
    type Socket = Stream;
    type Protocol = dyn Protocol;
    type Chunk = Vec<u8>;
    type Attributes = SocketAttributes;
    type Public = Transport;
    const NAME: &'static str = "_SelectorSocketTransport";
    const READ_READY: &'static str = "_SelectorSocketTransport._read_ready";
    const WRITE_READY: &'static str = "_SelectorSocketTransport._write_ready";

    fn read_ready(transport: &SelectorTransport<Self>) {
        transport.read_ready();
    }

    fn write_ready(transport: &SelectorTransport<Self>) {
        transport.write_ready();
    }

    /// The buffer's size is its bytes' (CPython's `sum(map(len, self._buffer))`): it empties too.
    fn clear_buffer(transport: &SelectorTransport<Self>) {
        let state = &*transport.0;
        state.buffer.borrow_mut().clear();
        state.buffer_size.set(0);
        state.own.sent_of_front.set(0);
    }

    fn public(transport: SelectorTransport<Self>) -> Transport {
        Transport(transport)
    }
}

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
        let own = SocketAttributes {
            eof: Cell::new(false),
            sent_of_front: Cell::new(0),
        };
        Transport(SelectorTransport::init(
            event_loop, sock, protocol, server, own, waiter,
        ))
    }

    /// `write(data)`: send what the socket takes now, buffer the rest. After the connection is
    /// lost, data is dropped (CPython logs "socket.send() raised exception." from the fifth
    /// such write on, here on stderr).
    pub fn write(&self, data: &[u8]) -> Result<(), WriteError> {
        let base = &self.0;
        let state = &*base.0;
        if state.own.eof.get() {
            return Err(WriteError::AfterWriteEof);
        }
        if data.is_empty() {
            return Ok(());
        }
        if state.conn_lost.get() > 0 {
            if state.conn_lost.get() >= LOG_THRESHOLD_FOR_CONNLOST_WRITES {
                eprintln!("asyncio: socket.send() raised exception.");
            }
            state.conn_lost.set(state.conn_lost.get() + 1);
            return Ok(());
        }
        let mut rest = data;
        if state.buffer.borrow().is_empty() {
            let sent = match state.sock.borrow().as_ref() {
                Some(sock) => sock.send(data),
                None => return Ok(()),
            };
            match sent {
                Ok(n) if n == data.len() => return Ok(()),
                Ok(n) => rest = &data[n..],
                Err(error) if would_block(&error) => {}
                Err(error) => {
                    base.fatal_error(error);
                    return Ok(());
                }
            }
            if !base.add_writer() {
                return Ok(());
            }
        }
        state.buffer.borrow_mut().push_back(rest.to_vec());
        state.buffer_size.set(state.buffer_size.get() + rest.len());
        base.maybe_pause_protocol();
        Ok(())
    }

    /// `write_eof()`: shut down the sending side once the buffer is sent.
    pub fn write_eof(&self) {
        let base = &self.0;
        let state = &*base.0;
        if base.is_closing() || state.own.eof.replace(true) {
            return;
        }
        if state.buffer.borrow().is_empty() {
            if let Some(sock) = state.sock.borrow().as_ref() {
                let _ = sock.shutdown_write();
            }
        }
    }

    /// `can_write_eof()`: always true (TCP and Unix sockets).
    pub fn can_write_eof(&self) -> bool {
        true
    }
}

impl SelectorTransport<SelectorSocket> {
    /// `_read_ready__data_received`.
    fn read_ready(&self) {
        self.read_with_loop_buffer(|buf| {
            let received = match self.0.sock.borrow().as_ref() {
                Some(sock) => sock.recv(buf),
                None => return,
            };
            match received {
                Ok(0) => self.read_ready_on_eof(),
                Ok(n) => {
                    if let Some(protocol) = self.protocol() {
                        protocol.data_received(&buf[..n]);
                    }
                }
                Err(error) if would_block(&error) => {}
                Err(error) => self.fatal_error(error),
            }
        });
    }

    /// `_read_ready__on_eof`.
    fn read_ready_on_eof(&self) {
        let keep_open = self
            .protocol()
            .is_some_and(|protocol| protocol.eof_received());
        if keep_open {
            // Still writable, but nothing more to receive.
            self.remove_reader();
        } else {
            self.close();
        }
    }

    /// `_write_ready` (`_write_sendmsg`): one `writev` of the buffered chunks.
    fn write_ready(&self) {
        let state = &*self.0;
        if state.conn_lost.get() > 0 {
            return;
        }
        let sent = {
            let buffer = state.buffer.borrow();
            let skip = state.own.sent_of_front.get();
            let slices: Vec<IoSlice<'_>> = buffer
                .iter()
                .take(IOV_MAX)
                .enumerate()
                .map(|(i, chunk)| IoSlice::new(if i == 0 { &chunk[skip..] } else { chunk }))
                .collect();
            match state.sock.borrow().as_ref() {
                Some(sock) => sock.sendmsg(&slices),
                None => return,
            }
        };
        match sent {
            Ok(n) => self.adjust_leftover_buffer(n),
            Err(error) if would_block(&error) => return,
            Err(error) => {
                self.remove_writer();
                SelectorSocket::clear_buffer(self);
                self.fatal_error(error);
                return;
            }
        }
        self.maybe_resume_protocol();
        if state.buffer.borrow().is_empty() {
            self.remove_writer();
            if self.is_closing() {
                self.call_connection_lost(None);
            } else if state.own.eof.get() {
                if let Some(sock) = state.sock.borrow().as_ref() {
                    let _ = sock.shutdown_write();
                }
            }
        }
    }

    /// `_adjust_leftover_buffer`: drop the `n` bytes sent from the front of the buffer.
    fn adjust_leftover_buffer(&self, mut n: usize) {
        let state = &*self.0;
        let sent_of_front = &state.own.sent_of_front;
        state.buffer_size.set(state.buffer_size.get() - n);
        let mut buffer = state.buffer.borrow_mut();
        while n > 0 {
            let Some(front) = buffer.front() else { break };
            let left = front.len() - sent_of_front.get();
            if n >= left {
                buffer.pop_front();
                sent_of_front.set(0);
                n -= left;
            } else {
                sent_of_front.set(sent_of_front.get() + n);
                n = 0;
            }
        }
    }
}
