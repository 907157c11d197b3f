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
//! The size is the number of connections; the checksum is the bytes a client gets back, checked,
//! when each connection echoes one message: `connections × 64`. [`client_std`] is that client,
//! on plain threads and std sockets, for tests.

use std::convert::Infallible;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

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
