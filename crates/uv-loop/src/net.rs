//! `net`: TCP servers and sockets on readiness (Node lib/net.js over libuv's `uv_tcp_t`).
//!
//! Invariants:
//! - Every event reaches user code as a callback from the loop (poll phase), with the
//!   nextTick and microtask queues drained after each: one per accepted connection, one per
//!   chunk read, as Node's `onconnection` and `onStreamRead` are each a `MakeCallback`.
//! - A read event reads in chunks of 64 KiB (libuv's `uv__read` allocates 64 KiB per read)
//!   until a chunk comes back short, as `uv__read` does: the socket is empty then, and data
//!   arriving later raises a new epoll edge (one `read` per message, no `EAGAIN` read). After
//!   `resume`, or when the event already reported the peer's close, it reads to `EAGAIN` or
//!   the end, which raise no further edge. At most 32 reads per turn, as `uv__read`: a socket
//!   with more reads on in the next iteration (its pending phase; libuv's level-triggered
//!   epoll reports it in the next poll phase), so immediates and other sockets run between. An empty read is the end of the stream: `end` is
//!   emitted on the next tick and, as Node's sockets are not half-open by default, the socket
//!   then ends its side.
//! - `write` tries the kernel at once (libuv's `uv__write` does) and queues what did not fit;
//!   it returns `false` once 16 KiB or more are queued (`writableHighWaterMark`), and `drain`
//!   is emitted when a queue that returned `false` has been flushed.
//! - `destroy` closes the handle; `close` is emitted from the closing phase, as Node emits it
//!   from the handle's close callback.
//!
//! ```text
//!   listen ─> readable ─> accept until EAGAIN ─> on_connection(socket)       (one callback each)
//!   socket ─> readable ─> read until short   ─> data(chunk)... | EOF: nextTick(end); end()
//!          ─> writable ─> flush queue ─> drain (if asked) | ending & empty: shutdown, destroy
//!   destroy ─> close handle ─> closing phase ─> close(had_error)
//! ```
//!
//! Simplified against Node: `listen` binds synchronously and returns the address; no
//! `setNoDelay`/`setKeepAlive`, timeouts, IPv6-only flags, `cork`, or write callbacks.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;

use mio::net::{TcpListener, TcpStream};

use crate::node::with_env;
use crate::uv::Readiness;
use crate::{next_tick, HandleId};

/// Node's default `writableHighWaterMark` for sockets.
pub const HIGH_WATER_MARK: usize = 16 * 1024;

/// How far a read goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Drain {
    /// Stop after a read that did not fill the buffer: the socket had no more (libuv's
    /// `uv__read`: "Return if we didn't fill the buffer, there is no more data to read").
    /// For a readiness event only: data arriving after that read raises a new edge.
    ToShortRead,
    /// Read until `EAGAIN` or the end of the stream: after `resume` (what arrived while
    /// paused raised its edge then) and when the event already said the peer closed.
    ToEagain,
}

/// libuv's read buffer size.
const READ_CHUNK: usize = 64 * 1024;

/// Reads per event at most: `uv__read`'s `count = 32`, so that one busy socket cannot hold
/// the loop. libuv's level-triggered epoll reports the rest in the next poll phase; here the
/// socket reads on in the next pending phase (see [`Drain`] and `read_into`).
const READS_PER_EVENT: u32 = 32;

thread_local! {
    static READ_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

type ConnectionHandler = Box<dyn FnMut(Socket)>;

/// A TCP server (`net.Server`).
#[derive(Clone)]
pub struct Server(Rc<ServerInner>);

struct ServerInner {
    listener: RefCell<Option<TcpListener>>,
    handle: Cell<Option<HandleId>>,
    on_connection: RefCell<Option<ConnectionHandler>>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("address", &self.address())
            .finish()
    }
}

/// A server that calls `on_connection` with each accepted socket (`net.createServer`).
pub fn create_server(on_connection: impl FnMut(Socket) + 'static) -> Server {
    Server(Rc::new(ServerInner {
        listener: RefCell::new(None),
        handle: Cell::new(None),
        on_connection: RefCell::new(Some(Box::new(on_connection))),
    }))
}

impl Server {
    /// Binds and listens on `addr` (port 0 picks one) and returns the bound address. The
    /// server keeps the loop alive until [`Server::close`].
    pub fn listen(&self, addr: SocketAddr) -> io::Result<SocketAddr> {
        let mut listener = TcpListener::bind(addr)?;
        let bound = listener.local_addr()?;
        // The watcher holds the server, as an active libuv handle keeps its JavaScript object
        // alive; `close` drops the watcher and with it this reference.
        let server = self.clone();
        let id = with_env(|env| {
            env.uv.io_init(
                &mut listener,
                Rc::new(move |_readiness| server.on_readable()),
            )
        })?;
        with_env(|env| env.uv.io_start(id));
        self.0.handle.set(Some(id));
        *self.0.listener.borrow_mut() = Some(listener);
        Ok(bound)
    }

    /// The bound address, once listening (`server.address()`).
    pub fn address(&self) -> Option<SocketAddr> {
        self.0.listener.borrow().as_ref()?.local_addr().ok()
    }

    /// Stops accepting; open sockets stay open (`server.close()`).
    pub fn close(&self) {
        let listener = self.0.listener.borrow_mut().take();
        if let (Some(mut listener), Some(id)) = (listener, self.0.handle.take()) {
            with_env(|env| {
                let _ = env.uv.io_close(id, &mut listener, Box::new(|| {}));
            });
        }
    }

    /// Stops the server from keeping the loop alive (`server.unref()`).
    pub fn unref(&self) {
        if let Some(id) = self.0.handle.get() {
            with_env(|env| env.uv.io_ref(id, false));
        }
    }

    fn on_readable(&self) {
        loop {
            let accepted = match self.0.listener.borrow().as_ref() {
                Some(listener) => listener.accept(),
                None => return,
            };
            match accepted {
                Ok((stream, _peer)) => {
                    let Ok(socket) = Socket::open(stream, false) else {
                        continue;
                    };
                    let callback = self.0.on_connection.borrow_mut().take();
                    if let Some(mut callback) = callback {
                        with_env(|env| env.make_callback(|| callback(socket)));
                        let mut slot = self.0.on_connection.borrow_mut();
                        if slot.is_none() {
                            *slot = Some(callback);
                        }
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                // EMFILE and friends: libuv reports them to the server's callback; Node emits
                // 'error' on the server. Here the pending connection waits for the next edge.
                Err(_) => return,
            }
        }
    }
}

type DataHandler = Box<dyn FnMut(&[u8])>;

#[derive(Default)]
struct Handlers {
    connect: Option<Box<dyn FnOnce()>>,
    data: Option<DataHandler>,
    end: Option<Box<dyn FnOnce()>>,
    drain: Option<Box<dyn FnMut()>>,
    error: Option<Box<dyn FnOnce(io::Error)>>,
    close: Option<Box<dyn FnOnce(bool)>>,
}

struct SocketInner {
    stream: RefCell<Option<TcpStream>>,
    handle: Cell<Option<HandleId>>,
    handlers: RefCell<Handlers>,
    queue: RefCell<VecDeque<Vec<u8>>>,
    /// Bytes of the queue's front already written.
    written: Cell<usize>,
    queued: Cell<usize>,
    need_drain: Cell<bool>,
    connecting: Cell<bool>,
    paused: Cell<bool>,
    read_ended: Cell<bool>,
    ending: Cell<bool>,
    destroyed: Cell<bool>,
    had_error: Cell<bool>,
}

/// A TCP connection (`net.Socket`).
#[derive(Clone)]
pub struct Socket(Rc<SocketInner>);

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("destroyed", &self.0.destroyed.get())
            .finish()
    }
}

/// Connects to `addr` (`net.connect`); `on_connect` runs once connected. A failure is
/// emitted as `error`, then `close`.
pub fn connect(addr: SocketAddr, on_connect: impl FnOnce() + 'static) -> io::Result<Socket> {
    let stream = TcpStream::connect(addr)?;
    let socket = Socket::open(stream, true)?;
    socket.0.handlers.borrow_mut().connect = Some(Box::new(on_connect));
    Ok(socket)
}

impl Socket {
    fn open(mut stream: TcpStream, connecting: bool) -> io::Result<Socket> {
        let inner = Rc::new(SocketInner {
            stream: RefCell::new(None),
            handle: Cell::new(None),
            handlers: RefCell::new(Handlers::default()),
            queue: RefCell::new(VecDeque::new()),
            written: Cell::new(0),
            queued: Cell::new(0),
            need_drain: Cell::new(false),
            connecting: Cell::new(connecting),
            paused: Cell::new(false),
            read_ended: Cell::new(false),
            ending: Cell::new(false),
            destroyed: Cell::new(false),
            had_error: Cell::new(false),
        });
        // The watcher holds the socket until `destroy` closes it (see `Server::listen`).
        let socket = Socket(inner.clone());
        let id = with_env(|env| {
            env.uv.io_init(
                &mut stream,
                Rc::new(move |readiness| socket.on_ready(readiness)),
            )
        })?;
        with_env(|env| env.uv.io_start(id));
        inner.handle.set(Some(id));
        *inner.stream.borrow_mut() = Some(stream);
        Ok(Socket(inner))
    }

    /// Calls `handler` with each chunk received (`socket.on('data')`).
    pub fn on_data(&self, handler: impl FnMut(&[u8]) + 'static) {
        self.0.handlers.borrow_mut().data = Some(Box::new(handler));
    }

    /// Calls `handler` when the peer ended its side (`socket.on('end')`).
    pub fn on_end(&self, handler: impl FnOnce() + 'static) {
        self.0.handlers.borrow_mut().end = Some(Box::new(handler));
    }

    /// Calls `handler` when a full write queue has been flushed (`socket.on('drain')`).
    pub fn on_drain(&self, handler: impl FnMut() + 'static) {
        self.0.handlers.borrow_mut().drain = Some(Box::new(handler));
    }

    /// Calls `handler` with an I/O error; the socket is then destroyed (`socket.on('error')`).
    /// Without a handler, an error is uncaught and ends the run, as in Node.
    pub fn on_error(&self, handler: impl FnOnce(io::Error) + 'static) {
        self.0.handlers.borrow_mut().error = Some(Box::new(handler));
    }

    /// Calls `handler` once the socket is closed, with whether an error closed it
    /// (`socket.on('close')`).
    pub fn on_close(&self, handler: impl FnOnce(bool) + 'static) {
        self.0.handlers.borrow_mut().close = Some(Box::new(handler));
    }

    /// Writes `data`: what the kernel does not take now is queued. Returns `false` when the
    /// queue holds [`HIGH_WATER_MARK`] bytes or more: wait for `drain` before writing more.
    /// Writes after `end` or `destroy` are dropped and return `false`.
    pub fn write(&self, data: &[u8]) -> bool {
        let inner = &self.0;
        if inner.destroyed.get() || inner.ending.get() {
            return false;
        }
        let mut offset = 0;
        if inner.queue.borrow().is_empty() && !inner.connecting.get() {
            match self.write_now(data) {
                Ok(n) => offset = n,
                Err(error) => {
                    self.fail(error);
                    return false;
                }
            }
        }
        if offset < data.len() {
            inner.queue.borrow_mut().push_back(data[offset..].to_vec());
            inner.queued.set(inner.queued.get() + data.len() - offset);
        }
        let below = inner.queued.get() < HIGH_WATER_MARK;
        if !below {
            inner.need_drain.set(true);
        }
        below
    }

    /// Ends this side once the queue is flushed (`socket.end()`).
    pub fn end(&self) {
        if self.0.destroyed.get() || self.0.ending.replace(true) {
            return;
        }
        self.finish_if_flushed();
    }

    /// Stops reading (`socket.pause()`).
    pub fn pause(&self) {
        if !self.0.paused.replace(true) {
            if let Some(id) = self.0.handle.get() {
                with_env(|env| env.uv.io_stop(id));
            }
        }
    }

    /// Reads again (`socket.resume()`): data that arrived meanwhile is read in the next
    /// pending phase.
    pub fn resume(&self) {
        if !self.0.paused.replace(false) {
            return;
        }
        if let Some(id) = self.0.handle.get() {
            with_env(|env| env.uv.io_start(id));
        }
        self.read_in_pending_phase(Drain::ToEagain);
    }

    /// Reads in the next pending phase (libuv's `uv__io_feed`), as a callback from the loop.
    fn read_in_pending_phase(&self, drain: Drain) {
        let socket = self.clone();
        with_env(|env| {
            env.uv.feed_pending(move || {
                with_env(|env| env.make_callback(|| socket.read_available(drain)));
            });
        });
    }

    /// Closes the socket now, dropping queued writes (`socket.destroy()`).
    pub fn destroy(&self) {
        let inner = &self.0;
        if inner.destroyed.replace(true) {
            return;
        }
        inner.queue.borrow_mut().clear();
        inner.queued.set(0);
        let stream = inner.stream.borrow_mut().take();
        if let (Some(mut stream), Some(id)) = (stream, inner.handle.take()) {
            let socket = self.clone();
            with_env(|env| {
                let _ = env.uv.io_close(
                    id,
                    &mut stream,
                    Box::new(move || {
                        let close = socket.0.handlers.borrow_mut().close.take();
                        let had_error = socket.0.had_error.get();
                        *socket.0.handlers.borrow_mut() = Handlers::default();
                        if let Some(close) = close {
                            with_env(|env| env.make_callback(|| close(had_error)));
                        }
                    }),
                );
            });
            // uv_close closes the descriptor at once; only the callback waits.
            drop(stream);
        }
    }

    /// Bytes queued and not yet written (`socket.writableLength`).
    pub fn writable_length(&self) -> usize {
        self.0.queued.get()
    }

    /// The peer's address (`socket.remoteAddress`).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.0.stream.borrow().as_ref()?.peer_addr().ok()
    }

    fn on_ready(&self, readiness: Readiness) {
        with_env(|env| {
            env.make_callback(|| {
                if self.0.connecting.get() && (readiness.writable || readiness.error) {
                    self.finish_connect();
                }
                if readiness.readable || readiness.read_closed {
                    // An end of stream already signalled has no edge of its own to come:
                    // read on to it. Otherwise a short read means the socket is empty.
                    self.read_available(if readiness.read_closed {
                        Drain::ToEagain
                    } else {
                        Drain::ToShortRead
                    });
                }
                if readiness.writable && !self.0.connecting.get() {
                    self.flush();
                }
                if readiness.error && !self.0.destroyed.get() {
                    let error = self
                        .0
                        .stream
                        .borrow()
                        .as_ref()
                        .and_then(|stream| stream.take_error().ok().flatten());
                    if let Some(error) = error {
                        self.fail(error);
                    }
                }
            })
        });
    }

    fn finish_connect(&self) {
        let outcome = match self.0.stream.borrow().as_ref() {
            Some(stream) => match stream.take_error() {
                Ok(Some(error)) | Err(error) => Err(error),
                Ok(None) => stream.peer_addr().map(|_| ()),
            },
            None => return,
        };
        match outcome {
            Ok(()) => {
                self.0.connecting.set(false);
                let connect = self.0.handlers.borrow_mut().connect.take();
                if let Some(connect) = connect {
                    connect();
                }
                self.flush();
            }
            Err(error) if error.kind() == io::ErrorKind::NotConnected => {}
            Err(error) => self.fail(error),
        }
    }

    fn read_available(&self, drain: Drain) {
        // One 64 KiB buffer per thread, taken out while in use (a nested read gets a new one).
        let mut buffer = READ_BUFFER.with(|slot| slot.take());
        buffer.resize(READ_CHUNK, 0);
        self.read_into(&mut buffer, drain);
        READ_BUFFER.with(|slot| slot.replace(buffer));
    }

    fn read_into(&self, buffer: &mut [u8], drain: Drain) {
        let mut budget = READS_PER_EVENT;
        while !self.0.paused.get() && !self.0.destroyed.get() && !self.0.read_ended.get() {
            if budget == 0 {
                // What is left raised its edge already: read it next iteration.
                self.read_in_pending_phase(drain);
                return;
            }
            budget -= 1;
            let read = match self.0.stream.borrow_mut().as_mut() {
                Some(stream) => stream.read(buffer),
                None => return,
            };
            match read {
                Ok(0) => {
                    self.0.read_ended.set(true);
                    let socket = self.clone();
                    next_tick(move || socket.emit_end());
                }
                Ok(n) => {
                    let data = self.0.handlers.borrow_mut().data.take();
                    if let Some(mut data) = data {
                        data(&buffer[..n]);
                        let mut handlers = self.0.handlers.borrow_mut();
                        if handlers.data.is_none() && !self.0.destroyed.get() {
                            handlers.data = Some(data);
                        }
                    }
                    with_env(crate::node::task_queues::run_next_ticks);
                    if n < buffer.len() && drain == Drain::ToShortRead {
                        return;
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    self.fail(error);
                    return;
                }
            }
        }
    }

    fn emit_end(&self) {
        let end = self.0.handlers.borrow_mut().end.take();
        if let Some(end) = end {
            end();
        }
        // allowHalfOpen is false: the readable side's end ends the writable side.
        self.end();
    }

    fn write_now(&self, data: &[u8]) -> io::Result<usize> {
        let mut offset = 0;
        let mut stream = self.0.stream.borrow_mut();
        let Some(stream) = stream.as_mut() else {
            return Err(io::Error::from(io::ErrorKind::NotConnected));
        };
        while offset < data.len() {
            match stream.write(&data[offset..]) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => offset += n,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(offset)
    }

    fn flush(&self) {
        loop {
            let front = self.0.queue.borrow_mut().pop_front();
            let Some(chunk) = front else {
                break;
            };
            let start = self.0.written.get();
            match self.write_now(&chunk[start..]) {
                Ok(n) => {
                    self.0.queued.set(self.0.queued.get() - n);
                    if start + n < chunk.len() {
                        self.0.written.set(start + n);
                        self.0.queue.borrow_mut().push_front(chunk);
                        return;
                    }
                    self.0.written.set(0);
                }
                Err(error) => {
                    self.fail(error);
                    return;
                }
            }
        }
        if self.0.need_drain.replace(false) {
            let drain = self.0.handlers.borrow_mut().drain.take();
            if let Some(mut drain) = drain {
                drain();
                let mut handlers = self.0.handlers.borrow_mut();
                if handlers.drain.is_none() {
                    handlers.drain = Some(drain);
                }
            }
        }
        self.finish_if_flushed();
    }

    fn finish_if_flushed(&self) {
        if !self.0.ending.get() || !self.0.queue.borrow().is_empty() || self.0.destroyed.get() {
            return;
        }
        if let Some(stream) = self.0.stream.borrow().as_ref() {
            let _ = stream.shutdown(Shutdown::Write);
        }
        if self.0.read_ended.get() {
            self.destroy();
        }
    }

    fn fail(&self, error: io::Error) {
        if self.0.destroyed.get() {
            return;
        }
        self.0.had_error.set(true);
        let handler = self.0.handlers.borrow_mut().error.take();
        self.destroy();
        match handler {
            Some(handler) => handler(error),
            None => crate::throw(crate::JsError::new(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `uv__read`'s budget: one turn reads at most 32 times, the rest comes next iteration. A
    /// 1 KiB buffer makes the 256 KiB the client sent while the server was paused take far
    /// more than 32 reads; every byte still arrives, in order.
    #[test]
    fn a_turn_reads_at_most_thirty_two_times_and_the_rest_follows() {
        const TOTAL: usize = 256 * 1024;
        let reads_in_turn = Rc::new(Cell::new(None::<usize>));
        let received = Rc::new(RefCell::new(Vec::<u8>::new()));
        let (turn, got) = (reads_in_turn.clone(), received.clone());
        let result = crate::run(move || {
            let server_slot = Rc::new(RefCell::new(None::<Server>));
            let slot = server_slot.clone();
            let server = create_server(move |socket| {
                socket.pause();
                let chunks = Rc::new(Cell::new(0usize));
                let (counter, sink, closer) = (chunks.clone(), got.clone(), slot.clone());
                socket.on_data(move |chunk| {
                    counter.set(counter.get() + 1);
                    sink.borrow_mut().extend_from_slice(chunk);
                    if sink.borrow().len() == TOTAL {
                        if let Some(server) = closer.borrow_mut().take() {
                            server.close();
                        }
                    }
                });
                let (reader, turn) = (socket.clone(), turn.clone());
                // By then the kernel holds what the client wrote (at least the 64 KiB of the
                // initial receive window).
                crate::set_timeout(
                    move || {
                        reader.resume();
                        reader.read_into(&mut [0; 1024], Drain::ToEagain);
                        turn.set(Some(chunks.get()));
                    },
                    100,
                );
            });
            let addr = server
                .listen("127.0.0.1:0".parse().expect("addr"))
                .expect("listen");
            *server_slot.borrow_mut() = Some(server);
            let client = Rc::new(RefCell::new(None::<Socket>));
            let writer = client.clone();
            let socket = connect(addr, move || {
                if let Some(socket) = writer.borrow().clone() {
                    let payload: Vec<u8> = (0..TOTAL).map(|i| (i % 251) as u8).collect();
                    socket.write(&payload);
                    socket.end();
                }
            })
            .expect("connect");
            *client.borrow_mut() = Some(socket);
        });
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(reads_in_turn.get(), Some(READS_PER_EVENT as usize));
        let received = received.borrow();
        assert_eq!(received.len(), TOTAL);
        assert!(received
            .iter()
            .enumerate()
            .all(|(i, &b)| b == (i % 251) as u8));
    }
}
