//! The floor of the echo benchmark: the least a level-triggered epoll echo server can do per
//! round trip on this machine, to set beside `schedlab serve asyncio-loop echo` and uvloop.
//!
//! No event loop, no tasks, no streams: one thread, one epoll set (level-triggered, as CPython's
//! `EpollSelector` and libuv's are), and per readable socket one `recv` into a 64 KiB buffer and
//! one `send` of what it read. That is every system call an echo round trip needs, and the same
//! ones both real servers make (one `recvfrom`/`read`, one `sendto`/`write` per round trip, one
//! `epoll_wait` per batch; `strace -c`, BENCHMARKS.md). A model of asyncio cannot cost less than
//! this; if even this is not 1.5 times uvloop's Protocol server, that target is out of reach here.
//!
//! ```text
//!   epoll_wait(1024 events, block) ─► listener readable: accept until EAGAIN, add each (EPOLLIN)
//!          ▲                        └► socket readable: recv ─► 0 / reset: close
//!          │                                              └─► n bytes: send; a short send keeps
//!          └──────────────────────────────────────────────    the rest and waits for EPOLLOUT
//! ```
//!
//! Invariant: a connection with unsent bytes waits for EPOLLOUT only, and reads again once they
//! are all sent (so it never holds more than one read's worth).
//!
//!     cargo build --release -p asyncio-loop --example echo_floor
//!     target/release/examples/echo_floor [--addr 127.0.0.1:0]     # prints `PORT <n>`, serves until killed

use std::collections::HashMap;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd};

use rustix::buffer::spare_capacity;
use rustix::event::epoll::{self, CreateFlags, Event, EventData, EventFlags};

/// The receive buffer, as CPython's `max_size` (and the streams server's `read(65536)`).
const BUFFER: usize = 64 * 1024;

/// The listener's key in the epoll set; connections use their fd.
const LISTENER: u64 = u64::MAX;

struct Connection {
    stream: TcpStream,
    /// Bytes read but not yet sent (a short send); empty nearly always.
    unsent: Vec<u8>,
}

fn main() {
    if let Err(error) = serve() {
        eprintln!("echo_floor: {error}");
        std::process::exit(1);
    }
}

fn serve() -> io::Result<()> {
    let addr = parse_addr()?;
    let listener = TcpListener::bind(&addr)?;
    listener.set_nonblocking(true)?;
    let epoll = epoll::create(CreateFlags::CLOEXEC)?;
    epoll::add(
        &epoll,
        listener.as_fd(),
        EventData::new_u64(LISTENER),
        EventFlags::IN,
    )?;
    println!("PORT {}", listener.local_addr()?.port());
    let mut connections: HashMap<u64, Connection> = HashMap::new();
    let mut buffer = vec![0u8; BUFFER];
    let mut events: Vec<Event> = Vec::with_capacity(1024);
    loop {
        events.clear();
        match epoll::wait(&epoll, spare_capacity(&mut events), None) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(error) => return Err(error.into()),
        }
        for event in &events {
            // `Event` is packed: copy the key out.
            let key = event.data.u64();
            if key == LISTENER {
                accept_all(&listener, &epoll, &mut connections)?;
                continue;
            }
            let Some(connection) = connections.get_mut(&key) else {
                continue;
            };
            // Unsent bytes go first, whatever the event (an error or hang-up comes without
            // OUT): reading again before they are sent would reorder the echo.
            let open = if connection.unsent.is_empty() {
                echo(connection, &epoll, &mut buffer)
            } else {
                flush(connection, &epoll)
            };
            if !open {
                // Dropping the stream closes it, which also leaves the epoll set.
                connections.remove(&key);
            }
        }
    }
}

/// `--addr HOST:PORT` (default `127.0.0.1:0`).
fn parse_addr() -> io::Result<String> {
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next()) {
        (None, _) => Ok("127.0.0.1:0".to_owned()),
        (Some("--addr"), Some(addr)) => Ok(addr),
        _ => Err(io::Error::new(
            ErrorKind::InvalidInput,
            "usage: echo_floor [--addr HOST:PORT]",
        )),
    }
}

fn accept_all(
    listener: &TcpListener,
    epoll: &impl AsFd,
    connections: &mut HashMap<u64, Connection>,
) -> io::Result<()> {
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(true)?;
                stream.set_nodelay(true)?;
                let key = stream.as_raw_fd() as u64;
                epoll::add(
                    epoll,
                    stream.as_fd(),
                    EventData::new_u64(key),
                    EventFlags::IN,
                )?;
                let unsent = Vec::new();
                connections.insert(key, Connection { stream, unsent });
            }
            Err(error) if error.kind() == ErrorKind::WouldBlock => return Ok(()),
            // A connection reset before it was accepted: skip it.
            Err(error) if error.kind() == ErrorKind::ConnectionAborted => {}
            Err(error) => return Err(error),
        }
    }
}

/// One `recv`, one `send`; false when the connection is done (EOF or an error).
fn echo(connection: &mut Connection, epoll: &impl AsFd, buffer: &mut [u8]) -> bool {
    let read = match connection.stream.read(buffer) {
        Ok(0) => return false,
        Ok(read) => read,
        Err(error) if error.kind() == ErrorKind::WouldBlock => return true,
        Err(_) => return false,
    };
    let sent = match connection.stream.write(&buffer[..read]) {
        Ok(sent) => sent,
        Err(error) if error.kind() == ErrorKind::WouldBlock => 0,
        Err(_) => return false,
    };
    if sent < read {
        connection.unsent.extend_from_slice(&buffer[sent..read]);
        return interest(connection, epoll, EventFlags::OUT);
    }
    true
}

/// The connection became writable with bytes left over: send them, then read again.
fn flush(connection: &mut Connection, epoll: &impl AsFd) -> bool {
    match connection.stream.write(&connection.unsent) {
        Ok(sent) => {
            connection.unsent.drain(..sent);
        }
        Err(error) if error.kind() == ErrorKind::WouldBlock => {}
        Err(_) => return false,
    }
    if connection.unsent.is_empty() {
        return interest(connection, epoll, EventFlags::IN);
    }
    true
}

/// Switches the connection's interest to `flags`; false if epoll refuses.
fn interest(connection: &Connection, epoll: &impl AsFd, flags: EventFlags) -> bool {
    let key = connection.stream.as_raw_fd() as u64;
    epoll::modify(
        epoll,
        connection.stream.as_fd(),
        EventData::new_u64(key),
        flags,
    )
    .is_ok()
}
