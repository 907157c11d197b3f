//! echo: a TCP echo server on loopback, driven by one shared load generator.
//!
//! ```text
//!   loadgen (peers/go/loadgen, its own process)        schedlab serve goroutines echo
//!     conns × [ write 64 B -> read 64 B, check ] ----->  accept loop: go(echo) per connection
//!                                                        echo: read up to 64 KiB, write it all
//! ```
//!
//! The server side is the runner: [`serve_goroutines`] accepts connections on a
//! `goroutines::net::TcpListener` and starts one goroutine per connection, which copies what it
//! reads back until EOF ([`echo_goroutines`]): blocking-style code, parked by the netpoller while
//! it waits. The benchmarks `echo-c100` and `echo-c1000` run it in a child process
//! (`schedlab serve goroutines echo`) and drive it with the Go peers' load generator, the same
//! program that drives Go's and Tokio's servers, which checks every byte it gets back (see
//! `lab::bench::echo`).
//!
//! [`serve_asyncio_loop`] is the same server on the asyncio-loop model, written as CPython's
//! streams echo is (`peers/python/echo_servers.py streams`): `start_server` runs
//! [`echo_asyncio_loop`] per connection, which awaits `reader.read(64 KiB)`, writes what it got
//! and awaits `drain()` until EOF, on one thread (`schedlab serve asyncio-loop echo`).
//!
//! [`serve_uv_loop`] is the same server on Node's model (`peers/node/serve_echo.js`): a
//! `data` callback per chunk that writes it back and pauses reading past the high-water mark
//! until `drain`. [`serve_gil_threads`] is CPython's `ThreadingTCPServer`: a Python thread per
//! connection, blocking `recv`/`sendall` with the GIL released around each.
//!
//! The size is the number of connections; the checksum is the bytes a client gets back, checked,
//! when each connection echoes one message: `connections × 64`. [`client_std`] is that client,
//! on plain threads and std sockets, for tests.

use std::convert::Infallible;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use asyncio_loop::{start_server, Error, RunError, StreamReader, StreamWriter};
use goroutines::go;
use goroutines::net::{TcpListener, TcpStream};

/// The message size the load generator sends.
pub const MESSAGE: usize = 64;

/// The server's read buffer (Go's peer and the Tokio peer use the same).
pub const BUFFER: usize = 64 * 1024;

/// The bytes echoed back and checked when each of `connections` echoes one message.
pub fn checksum(connections: u64) -> u64 {
    connections * MESSAGE as u64
}

/// Listens on `addr`, calls `listening` with the address it got, then accepts connections
/// forever, one goroutine each. Returns only if it cannot listen. Call it from inside a goroutine.
///
/// An accept that fails is reported on stderr and retried after 5 ms (the listener itself backs
/// off while the process is out of descriptors).
pub fn serve_goroutines(
    addr: SocketAddr,
    listening: impl FnOnce(SocketAddr),
) -> io::Result<Infallible> {
    let listener = TcpListener::bind(addr)?;
    listening(listener.local_addr()?);
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                go(move || echo_goroutines(stream));
            }
            Err(error) => {
                eprintln!("schedlab: echo server: accept: {error}");
                goroutines::sleep(Duration::from_millis(5));
            }
        }
    }
}

/// Writes back everything `stream` sends until EOF or an error, and returns the bytes echoed.
/// Sets `TCP_NODELAY`, as Go does on every TCP connection.
pub fn echo_goroutines(stream: TcpStream) -> u64 {
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; BUFFER];
    let mut echoed = 0u64;
    let mut stream = &stream;
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return echoed,
            Ok(n) => {
                if stream.write_all(&buf[..n]).is_err() {
                    return echoed;
                }
                echoed += n as u64;
            }
        }
    }
}

/// Listens on `addr` with the asyncio-loop model's `start_server`, calls `listening` with the
/// address it got, then serves forever on this thread ([`echo_asyncio_loop`] per connection).
/// Returns only if it cannot listen (or the loop fails).
pub fn serve_asyncio_loop(
    addr: SocketAddr,
    listening: impl FnOnce(SocketAddr) + 'static,
) -> RunError {
    serve_asyncio_loop_with(addr, listening, || {})
}

/// [`serve_asyncio_loop`], calling `before` inside the running loop first (to start other tasks
/// beside the server).
pub fn serve_asyncio_loop_with(
    addr: SocketAddr,
    listening: impl FnOnce(SocketAddr) + 'static,
    before: impl FnOnce() + 'static,
) -> RunError {
    let served = asyncio_loop::run(async move {
        before();
        let server = start_server(echo_asyncio_loop, addr).await?;
        if let Some(bound) = server.sockets().first() {
            listening(*bound);
        }
        server.serve_forever().await
    });
    match served {
        Err(error) => error,
        Ok(()) => RunError::StoppedBeforeComplete,
    }
}

/// The streams echo: read up to 64 KiB, write it, `drain()`, until EOF. A connection the peer
/// resets ends quietly (the CPython peer catches `ConnectionError` the same way).
pub async fn echo_asyncio_loop(reader: StreamReader, writer: StreamWriter) -> Result<(), Error> {
    loop {
        let data = match reader.read(BUFFER).await {
            Ok(data) if !data.is_empty() => data,
            _ => break,
        };
        if writer.write(&data).is_err() || writer.drain().await.is_err() {
            break;
        }
    }
    writer.close();
    Ok(())
}

/// Listens on `addr` with the uv-loop model's `net.createServer`, calls `listening` with the
/// address it got, then serves forever on this thread ([`echo_uv_loop`] per connection). Returns
/// only when it cannot serve.
pub fn serve_uv_loop(addr: SocketAddr, listening: impl FnOnce(SocketAddr) + 'static) -> io::Error {
    serve_uv_loop_with(addr, listening, || {})
}

/// [`serve_uv_loop`], calling `before` inside the loop's main first (to schedule other work
/// beside the server).
pub fn serve_uv_loop_with(
    addr: SocketAddr,
    listening: impl FnOnce(SocketAddr) + 'static,
    before: impl FnOnce() + 'static,
) -> io::Error {
    let listen_error = std::rc::Rc::new(std::cell::RefCell::new(None));
    let failed = listen_error.clone();
    let ran = uv_loop::run(move || {
        before();
        let server = uv_loop::net::create_server(echo_uv_loop);
        match server.listen(addr) {
            Ok(bound) => listening(bound),
            Err(error) => *failed.borrow_mut() = Some(error),
        }
    });
    let listen_error = listen_error.take();
    match (listen_error, ran) {
        (Some(error), _) => error,
        (None, Err(error)) => io::Error::other(error.to_string()),
        (None, Ok(())) => io::Error::other("the loop ended"),
    }
}

/// Node's echo: on `data`, write the chunk back; when a write queues past the high-water mark,
/// pause reading until `drain` (what `socket.pipe(socket)` does).
pub fn echo_uv_loop(socket: uv_loop::net::Socket) {
    let writer = socket.clone();
    socket.on_data(move |chunk| {
        if !writer.write(chunk) {
            writer.pause();
            let resumer = writer.clone();
            writer.on_drain(move || resumer.resume());
        }
    });
    socket.on_error(|_| {});
}

/// Listens on `addr`, calls `listening`, then serves forever with a Python thread per
/// connection on a gil-threads interpreter ([`echo_gil_threads`]), as `socketserver`'s
/// `ThreadingTCPServer` does. Returns only when it cannot serve.
pub fn serve_gil_threads(addr: SocketAddr, listening: impl FnOnce(SocketAddr)) -> io::Error {
    serve_gil_threads_with(addr, listening, |_| {})
}

/// [`serve_gil_threads`], calling `before` with the server's interpreter first (to start other
/// Python threads beside the server).
pub fn serve_gil_threads_with(
    addr: SocketAddr,
    listening: impl FnOnce(SocketAddr),
    before: impl FnOnce(&gil_threads::Interpreter),
) -> io::Error {
    let interpreter = gil_threads::Interpreter::new(gil_threads::GilMode::On);
    before(&interpreter);
    let listener = match std::net::TcpListener::bind(addr) {
        Ok(listener) => listener,
        Err(error) => return error,
    };
    match listener.local_addr() {
        Ok(bound) => listening(bound),
        Err(error) => return error,
    }
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                if let Err(error) = interpreter.spawn(move |py| echo_gil_threads(py, stream)) {
                    eprintln!("schedlab: echo server: cannot start a thread: {error}");
                }
            }
            Err(error) => {
                eprintln!("schedlab: echo server: accept: {error}");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

/// A Python thread's echo: `recv` and `sendall` (each with the GIL released around the system
/// call, as CPython's socket module does) until EOF; returns the bytes echoed.
pub fn echo_gil_threads(py: gil_threads::Python<'_>, mut stream: std::net::TcpStream) -> u64 {
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; BUFFER];
    let mut echoed = 0u64;
    loop {
        match gil_threads::io::recv(py, &mut stream, &mut buf) {
            Ok(0) | Err(_) => return echoed,
            Ok(n) => {
                if gil_threads::io::sendall(py, &mut stream, &buf[..n]).is_err() {
                    return echoed;
                }
                echoed += n as u64;
            }
        }
    }
}

/// The message connection `connection` sends as its `round`th: a pattern that differs between
/// connections and between messages (the load generator's).
pub fn message(connection: u64, round: u64) -> [u8; MESSAGE] {
    let mut out = [0u8; MESSAGE];
    for (j, byte) in out.iter_mut().enumerate() {
        *byte = (connection * 7 + round * 13 + j as u64) as u8;
    }
    out
}

/// A client on plain threads and std sockets: opens `connections` connections to `addr`, then
/// on each sends one [`MESSAGE`]-byte message and reads the echo back. Returns the bytes that came
/// back equal to what was sent ([`checksum`] when all did).
pub fn client_std(addr: SocketAddr, connections: u64) -> io::Result<u64> {
    let streams = (0..connections)
        .map(|_| {
            let stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
            stream.set_read_timeout(Some(Duration::from_secs(10)))?;
            Ok(stream)
        })
        .collect::<io::Result<Vec<_>>>()?;
    let mut verified = 0u64;
    for (connection, mut stream) in (0u64..).zip(streams) {
        let sent = message(connection, 0);
        stream.write_all(&sent)?;
        let mut got = [0u8; MESSAGE];
        stream.read_exact(&mut got)?;
        verified += sent.iter().zip(&got).filter(|(a, b)| a == b).count() as u64;
    }
    Ok(verified)
}
