//! Streams (`Lib/asyncio/streams.py`): `open_connection` and `start_server` (TCP), and
//! `open_unix_connection` and `start_unix_server` (Unix sockets), give a [`StreamReader`] and a
//! [`StreamWriter`] over a socket transport, through `StreamReaderProtocol`.
//!
//! ```text
//!   Transport ──data_received──► StreamReaderProtocol ──feed_data──► StreamReader ◄── read*()
//!       ▲      ──eof_received───►   (FlowControlMixin)  ──feed_eof──►
//!       │      ──connection_lost►                       ──set_exception / feed_eof
//!       │      ──pause/resume_writing──► paused; drain waiters woken on resume
//!   StreamWriter: write ─► transport.write; drain ─► _drain_helper: wait while paused;
//!                 close ─► transport.close; wait_closed ─► the protocol's `_closed` future
//! ```
//!
//! Each has a `_sock` twin (`open_connection_sock`, `start_server_sock`, ...) that takes a
//! socket the caller made instead of an address: CPython's `sock=` (see `crate::given_sockets`).
//!
//! `start_server(client_connected_cb, addr)`: for each connection, `connection_made` makes the
//! writer and runs `client_connected_cb(reader, writer)` as a task; if that task fails or is
//! cancelled, the transport is closed (3.12), after the loop's exception handler got "Unhandled
//! exception in client_connected_cb" for a failure.
//!
//! ```
//! use asyncio_loop::{open_connection, run, start_server, Error, StreamReader, StreamWriter};
//!
//! async fn echo(reader: StreamReader, writer: StreamWriter) -> Result<(), Error> {
//!     let line = reader.readline().await?;
//!     writer.write(&line).map_err(Error::exception)?;
//!     writer.drain().await?;
//!     writer.close();
//!     Ok(())
//! }
//!
//! let reply = run(async {
//!     let any_port: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
//!     let server = start_server(echo, any_port).await?;
//!     let (reader, writer) = open_connection(server.sockets()[0]).await?;
//!     writer.write(b"hello\n").map_err(Error::exception)?;
//!     let reply = reader.readline().await?;
//!     server.close();
//!     Ok(reply)
//! })
//! .unwrap();
//! assert_eq!(reply, b"hello\n");
//! ```
//!
//! Invariants:
//! - `drain` returns at once unless the transport paused writing; drain waiters are woken, in
//!   order, by `resume_writing` or by `connection_lost` (with its error, if any);
//! - after `connection_lost`, `drain` fails with `ConnectionResetError('Connection lost')`.

mod reader;
mod writer;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::path::Path;
use std::rc::{Rc, Weak};

pub use reader::{
    IncompleteReadError, LimitOverrunError, StreamError, StreamReader, DEFAULT_LIMIT,
};
pub use writer::StreamWriter;

use crate::base_events::EventLoop;
use crate::exception_handler::ExceptionContext;
use crate::futures::{Error, Future};
use crate::given_sockets::{ConnectionSock, ServerSock};
use crate::protocols::Protocol;
use crate::resolve::Address;
use crate::selector_events::Server;
use crate::transports::Transport;

/// The coroutine `start_server` runs for each connection.
type ClientConnected = Rc<dyn Fn(StreamReader, StreamWriter) -> ClientTask>;
type ClientTask = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Error>>>>;

/// `StreamReaderProtocol` (with `FlowControlMixin`): feeds a [`StreamReader`] from a transport.
pub(crate) struct StreamReaderProtocol {
    this: Weak<StreamReaderProtocol>,
    event_loop: EventLoop,
    reader: RefCell<Option<StreamReader>>,
    client_connected: Option<ClientConnected>,
    closed: Future<()>,
    paused: Cell<bool>,
    drain_waiters: RefCell<VecDeque<Future<()>>>,
    connection_lost: Cell<bool>,
}

impl StreamReaderProtocol {
    fn new(
        event_loop: &EventLoop,
        reader: StreamReader,
        client_connected: Option<ClientConnected>,
    ) -> Rc<Self> {
        Rc::new_cyclic(|this| StreamReaderProtocol {
            this: this.clone(),
            event_loop: event_loop.clone(),
            reader: RefCell::new(Some(reader)),
            client_connected,
            closed: event_loop.create_future(),
            paused: Cell::new(false),
            drain_waiters: RefCell::new(VecDeque::new()),
            connection_lost: Cell::new(false),
        })
    }

    /// `FlowControlMixin._drain_helper`.
    pub(crate) async fn drain_helper(&self) -> Result<(), Error> {
        if self.connection_lost.get() {
            return Err(Error::exception(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "Connection lost",
            )));
        }
        if !self.paused.get() {
            return Ok(());
        }
        let waiter = self.event_loop.create_future::<()>();
        self.drain_waiters.borrow_mut().push_back(waiter.clone());
        let outcome = waiter.clone().await;
        self.drain_waiters
            .borrow_mut()
            .retain(|other| !other.is_same(&waiter));
        outcome
    }

    /// `_get_close_waiter`: the future `connection_lost` completes.
    pub(crate) fn closed(&self) -> Future<()> {
        self.closed.clone()
    }
}

impl Protocol for StreamReaderProtocol {
    fn connection_made(&self, transport: &Transport) {
        let Some(reader) = self.reader.borrow().clone() else {
            return;
        };
        reader.set_transport(transport.clone());
        if let (Some(callback), Some(this)) = (&self.client_connected, self.this.upgrade()) {
            let writer = StreamWriter::new(transport.clone(), this, Some(reader.clone()));
            let task = self.event_loop.create_task(callback(reader, writer));
            let (done, transport) = (task.clone(), transport.clone());
            let event_loop = self.event_loop.clone();
            task.add_done_callback(move || {
                match done.result() {
                    Some(Err(Error::Cancelled)) => {}
                    Some(Err(error)) => event_loop.call_exception_handler(ExceptionContext {
                        message: "Unhandled exception in client_connected_cb".to_owned(),
                        exception: Some(error),
                        task: None,
                    }),
                    _ => return,
                }
                transport.close();
            });
        }
    }

    fn data_received(&self, data: &[u8]) {
        if let Some(reader) = self.reader.borrow().as_ref() {
            reader.feed_data(data);
        }
    }

    fn eof_received(&self) -> bool {
        if let Some(reader) = self.reader.borrow().as_ref() {
            reader.feed_eof();
        }
        true
    }

    fn connection_lost(&self, error: Option<Rc<io::Error>>) {
        let error = error.map(|error| Error::Exception(error as Rc<dyn std::error::Error>));
        if let Some(reader) = self.reader.borrow_mut().take() {
            match &error {
                None => reader.feed_eof(),
                Some(error) => reader.set_exception(error.clone()),
            }
        }
        if !self.closed.done() {
            let _ = match &error {
                None => self.closed.set_result(()),
                Some(error) => self.closed.set_exception(error.clone()),
            };
        }
        // `FlowControlMixin.connection_lost`.
        self.connection_lost.set(true);
        if !self.paused.get() {
            return;
        }
        let waiters: Vec<Future<()>> = self.drain_waiters.borrow().iter().cloned().collect();
        for waiter in waiters {
            if !waiter.done() {
                let _ = match &error {
                    None => waiter.set_result(()),
                    Some(error) => waiter.set_exception(error.clone()),
                };
            }
        }
    }

    fn pause_writing(&self) {
        self.paused.set(true);
    }

    fn resume_writing(&self) {
        self.paused.set(false);
        let waiters: Vec<Future<()>> = self.drain_waiters.borrow().iter().cloned().collect();
        for waiter in waiters {
            if !waiter.done() {
                let _ = waiter.set_result(());
            }
        }
    }
}

/// `asyncio.open_connection(host, port, limit=2**16)`: `addr` is a host and port, or
/// resolved addresses (see [`Address`]), tried in turn.
pub async fn open_connection(
    addr: impl Into<Address>,
) -> Result<(StreamReader, StreamWriter), Error> {
    open_connection_with_limit(addr, DEFAULT_LIMIT).await
}

/// `asyncio.open_connection(host, port, limit=limit)`.
pub async fn open_connection_with_limit(
    addr: impl Into<Address>,
    limit: usize,
) -> Result<(StreamReader, StreamWriter), Error> {
    let (event_loop, reader, protocol) = client_protocol(limit)?;
    let factory_protocol = protocol.clone();
    let (transport, _) = event_loop
        .create_connection(move || factory_protocol, addr)
        .await?;
    Ok(client_streams(transport, protocol, reader))
}

/// `asyncio.open_unix_connection(path, limit=2**16)`: as [`open_connection`], over the Unix
/// socket at `path` ([`EventLoop::create_unix_connection`]).
pub async fn open_unix_connection(
    path: impl AsRef<Path>,
) -> Result<(StreamReader, StreamWriter), Error> {
    open_unix_connection_with_limit(path, DEFAULT_LIMIT).await
}

/// `asyncio.open_unix_connection(path, limit=limit)`.
pub async fn open_unix_connection_with_limit(
    path: impl AsRef<Path>,
    limit: usize,
) -> Result<(StreamReader, StreamWriter), Error> {
    let (event_loop, reader, protocol) = client_protocol(limit)?;
    let factory_protocol = protocol.clone();
    let (transport, _) = event_loop
        .create_unix_connection(move || factory_protocol, path)
        .await?;
    Ok(client_streams(transport, protocol, reader))
}

/// `asyncio.start_server(client_connected_cb, host, port, limit=2**16)`: listens on every
/// address of `addr` (see [`Address`]; the host `""` is every interface);
/// `client_connected_cb(reader, writer)` runs as a task for each connection.
pub async fn start_server<F, C>(
    client_connected_cb: F,
    addr: impl Into<Address>,
) -> Result<Server, Error>
where
    F: Fn(StreamReader, StreamWriter) -> C + 'static,
    C: std::future::Future<Output = Result<(), Error>> + 'static,
{
    start_server_with_limit(client_connected_cb, addr, DEFAULT_LIMIT).await
}

/// `asyncio.start_server(..., limit=limit)`.
pub async fn start_server_with_limit<F, C>(
    client_connected_cb: F,
    addr: impl Into<Address>,
    limit: usize,
) -> Result<Server, Error>
where
    F: Fn(StreamReader, StreamWriter) -> C + 'static,
    C: std::future::Future<Output = Result<(), Error>> + 'static,
{
    let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
    let factory = stream_protocol_factory(&event_loop, client_connected_cb, limit);
    event_loop.create_server(factory, addr).await
}

/// `asyncio.start_unix_server(client_connected_cb, path, limit=2**16)`: as [`start_server`],
/// listening on a Unix socket at `path` ([`EventLoop::create_unix_server`]: a stale socket
/// file there is replaced; the file stays after the server closes, as in 3.12).
pub async fn start_unix_server<F, C>(
    client_connected_cb: F,
    path: impl AsRef<Path>,
) -> Result<Server, Error>
where
    F: Fn(StreamReader, StreamWriter) -> C + 'static,
    C: std::future::Future<Output = Result<(), Error>> + 'static,
{
    start_unix_server_with_limit(client_connected_cb, path, DEFAULT_LIMIT).await
}

/// `asyncio.start_unix_server(..., limit=limit)`.
pub async fn start_unix_server_with_limit<F, C>(
    client_connected_cb: F,
    path: impl AsRef<Path>,
    limit: usize,
) -> Result<Server, Error>
where
    F: Fn(StreamReader, StreamWriter) -> C + 'static,
    C: std::future::Future<Output = Result<(), Error>> + 'static,
{
    let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
    let factory = stream_protocol_factory(&event_loop, client_connected_cb, limit);
    event_loop.create_unix_server(factory, path).await
}

/// `asyncio.open_connection(sock=sock, limit=2**16)`: as [`open_connection`], on a socket
/// already connected (TCP or Unix; [`EventLoop::create_connection_sock`]: a socket that is not
/// `SOCK_STREAM` is refused with a [`SockError`](crate::SockError), which gives it back;
/// outside a running loop the socket is closed with [`Error::NoRunningLoop`]).
pub async fn open_connection_sock(
    sock: impl Into<ConnectionSock>,
) -> Result<(StreamReader, StreamWriter), Error> {
    open_connection_sock_with_limit(sock, DEFAULT_LIMIT).await
}

/// `asyncio.open_connection(sock=sock, limit=limit)`.
pub async fn open_connection_sock_with_limit(
    sock: impl Into<ConnectionSock>,
    limit: usize,
) -> Result<(StreamReader, StreamWriter), Error> {
    let (event_loop, reader, protocol) = client_protocol(limit)?;
    let factory_protocol = protocol.clone();
    let (transport, _) = event_loop
        .create_connection_sock(move || factory_protocol, sock)
        .await?;
    Ok(client_streams(transport, protocol, reader))
}

/// `asyncio.open_unix_connection(sock=sock, limit=2**16)`: as [`open_connection_sock`], for
/// a Unix stream socket ([`EventLoop::create_unix_connection_sock`]).
pub async fn open_unix_connection_sock(
    sock: impl Into<ConnectionSock>,
) -> Result<(StreamReader, StreamWriter), Error> {
    open_unix_connection_sock_with_limit(sock, DEFAULT_LIMIT).await
}

/// `asyncio.open_unix_connection(sock=sock, limit=limit)`.
pub async fn open_unix_connection_sock_with_limit(
    sock: impl Into<ConnectionSock>,
    limit: usize,
) -> Result<(StreamReader, StreamWriter), Error> {
    let (event_loop, reader, protocol) = client_protocol(limit)?;
    let factory_protocol = protocol.clone();
    let (transport, _) = event_loop
        .create_unix_connection_sock(move || factory_protocol, sock)
        .await?;
    Ok(client_streams(transport, protocol, reader))
}

/// `open_connection`'s last lines: the writer over the connected transport, beside the reader.
fn client_streams(
    transport: Transport,
    protocol: Rc<StreamReaderProtocol>,
    reader: StreamReader,
) -> (StreamReader, StreamWriter) {
    let writer = StreamWriter::new(transport, protocol, Some(reader.clone()));
    (reader, writer)
}

/// `open_connection`'s first lines: the running loop, a reader, its protocol.
fn client_protocol(
    limit: usize,
) -> Result<(EventLoop, StreamReader, Rc<StreamReaderProtocol>), Error> {
    let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
    let reader = StreamReader::new(&event_loop, limit);
    let protocol = StreamReaderProtocol::new(&event_loop, reader.clone(), None);
    Ok((event_loop, reader, protocol))
}

/// `asyncio.start_server(client_connected_cb, sock=sock, limit=2**16)`: as [`start_server`],
/// serving on a socket the caller made ([`EventLoop::create_server_sock`]).
pub async fn start_server_sock<F, C>(
    client_connected_cb: F,
    sock: impl Into<ServerSock>,
) -> Result<Server, Error>
where
    F: Fn(StreamReader, StreamWriter) -> C + 'static,
    C: std::future::Future<Output = Result<(), Error>> + 'static,
{
    start_server_sock_with_limit(client_connected_cb, sock, DEFAULT_LIMIT).await
}

/// `asyncio.start_server(client_connected_cb, sock=sock, limit=limit)`.
pub async fn start_server_sock_with_limit<F, C>(
    client_connected_cb: F,
    sock: impl Into<ServerSock>,
    limit: usize,
) -> Result<Server, Error>
where
    F: Fn(StreamReader, StreamWriter) -> C + 'static,
    C: std::future::Future<Output = Result<(), Error>> + 'static,
{
    let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
    let factory = stream_protocol_factory(&event_loop, client_connected_cb, limit);
    event_loop.create_server_sock(factory, sock).await
}

/// `asyncio.start_unix_server(client_connected_cb, sock=sock, limit=2**16)`: as
/// [`start_server_sock`], for a Unix stream socket ([`EventLoop::create_unix_server_sock`]).
pub async fn start_unix_server_sock<F, C>(
    client_connected_cb: F,
    sock: impl Into<ServerSock>,
) -> Result<Server, Error>
where
    F: Fn(StreamReader, StreamWriter) -> C + 'static,
    C: std::future::Future<Output = Result<(), Error>> + 'static,
{
    start_unix_server_sock_with_limit(client_connected_cb, sock, DEFAULT_LIMIT).await
}

/// `asyncio.start_unix_server(client_connected_cb, sock=sock, limit=limit)`.
pub async fn start_unix_server_sock_with_limit<F, C>(
    client_connected_cb: F,
    sock: impl Into<ServerSock>,
    limit: usize,
) -> Result<Server, Error>
where
    F: Fn(StreamReader, StreamWriter) -> C + 'static,
    C: std::future::Future<Output = Result<(), Error>> + 'static,
{
    let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
    let factory = stream_protocol_factory(&event_loop, client_connected_cb, limit);
    event_loop.create_unix_server_sock(factory, sock).await
}

/// `start_server`'s `factory()`: a reader and a `StreamReaderProtocol` running
/// `client_connected_cb` for each connection.
fn stream_protocol_factory<F, C>(
    event_loop: &EventLoop,
    client_connected_cb: F,
    limit: usize,
) -> impl Fn() -> Rc<StreamReaderProtocol> + 'static
where
    F: Fn(StreamReader, StreamWriter) -> C + 'static,
    C: std::future::Future<Output = Result<(), Error>> + 'static,
{
    let callback: ClientConnected =
        Rc::new(move |reader, writer| Box::pin(client_connected_cb(reader, writer)) as ClientTask);
    let factory_loop = event_loop.clone();
    move || {
        let reader = StreamReader::new(&factory_loop, limit);
        StreamReaderProtocol::new(&factory_loop, reader, Some(callback.clone()))
    }
}
