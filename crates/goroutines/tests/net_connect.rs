//! Connecting: to a listener, to a port nobody listens on (refused), and to a listener whose
//! backlog is full (no answer: `connect_timeout` fails with `TimedOut`, as std's does), on a
//! goroutine and on a plain thread.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use goroutines::net::{TcpListener, TcpStream};
use goroutines::Builder;

/// An address on which nobody listens (a listener's, after it closed).
fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A listener whose accept queue holds one connection, and that connection: the kernel drops
/// the SYNs of any further one, which then waits for its retransmission, a second away.
fn full_listener() -> (std::net::TcpListener, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: listen takes a plain fd that `listener` owns; it only lowers the backlog.
    assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
    let first = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    (listener, first)
}

/// Every case, on whatever this runs on.
fn connect_cases() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let first = TcpStream::connect(addr).unwrap();
    assert_eq!(first.peer_addr().unwrap(), addr);
    let second = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).unwrap();
    assert_eq!(second.peer_addr().unwrap(), addr);
    for conn in [first, second] {
        assert_eq!(listener.accept().unwrap().1, conn.local_addr().unwrap());
    }

    let err = TcpStream::connect(closed_port()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");

    let (full, _first) = full_listener();
    let timeout = Duration::from_millis(200);
    let start = Instant::now();
    let err = TcpStream::connect_timeout(&full.local_addr().unwrap(), timeout).unwrap_err();
    let waited = start.elapsed();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert!(waited >= timeout, "gave up after {waited:?}");
    assert!(
        waited < Duration::from_secs(2),
        "gave up only after {waited:?}"
    );
}

#[test]
fn connect_on_a_goroutine() {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    let rt = unsafe { Builder::new().procs(2).build() }.unwrap();
    rt.run(connect_cases);
}

#[test]
fn connect_on_a_plain_thread() {
    connect_cases();
}
