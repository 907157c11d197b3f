//! A peer that closes mid-stream: reads return the data, then end of file; writes fail with
//! `BrokenPipe` or `ConnectionReset`; and `shutdown(Write)` gives the peer end of file while the
//! other direction keeps working.

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use goroutines::net::{Shutdown, TcpListener, TcpStream};
use goroutines::{chan, go, yield_now, Builder};

#[test]
fn read_returns_the_data_then_end_of_file() {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    let rt = unsafe { Builder::new().procs(2).build() }.unwrap();
    rt.run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (go_on_tx, go_on_rx) = chan::<()>(0);
        let peer = go(move || {
            let (mut conn, _) = listener.accept().unwrap();
            conn.write_all(b"first").unwrap();
            // The reader is (most likely) parked in its next read when this data and the FIN
            // arrive.
            go_on_rx.recv().unwrap();
            conn.write_all(b"last").unwrap();
        });
        let mut conn = TcpStream::connect(addr).unwrap();
        let mut first = [0u8; 5];
        conn.read_exact(&mut first).unwrap();
        assert_eq!(&first, b"first");
        go_on_tx.send(()).unwrap();
        let mut rest = Vec::new();
        conn.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"last");
        // End of file stays.
        assert_eq!(conn.read(&mut first).unwrap(), 0);
        peer.join().unwrap();
    });
}

#[test]
fn write_fails_once_the_peer_has_closed() {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    let rt = unsafe { Builder::new().procs(2).build() }.unwrap();
    rt.run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = go(move || drop(listener.accept().unwrap()));
        let mut conn = TcpStream::connect(addr).unwrap();
        peer.join().unwrap();
        // The peer's FIN: it has closed.
        assert_eq!(conn.read(&mut [0u8; 1]).unwrap(), 0);
        // The first write reaches a closed socket, which answers with a reset; a later one fails.
        let start = Instant::now();
        let err = loop {
            match conn.write(b"anyone there?") {
                Ok(_) => yield_now(),
                Err(e) => break e,
            }
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "writes to a closed peer keep succeeding"
            );
        };
        assert!(
            matches!(
                err.kind(),
                ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
            ),
            "{err}"
        );
    });
}

#[test]
fn shutdown_write_gives_the_peer_end_of_file() {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    let rt = unsafe { Builder::new().procs(2).build() }.unwrap();
    rt.run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = go(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            // Ends only at the client's shutdown.
            conn.read_to_end(&mut request).unwrap();
            conn.write_all(b"response").unwrap();
            request
        });
        let mut conn = TcpStream::connect(addr).unwrap();
        conn.write_all(b"request").unwrap();
        conn.shutdown(Shutdown::Write).unwrap();
        let mut response = Vec::new();
        conn.read_to_end(&mut response).unwrap();
        assert_eq!(response, b"response");
        assert_eq!(peer.join().unwrap(), b"request");
        let err = conn.write(b"more").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
    });
}
