//! Sockets on plain OS threads: they block the thread (in `poll(2)`, without registering), and
//! talk to goroutines as to anyone. A listener bound on the main thread, before any goroutine,
//! is served by a goroutine.

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use goroutines::net::{TcpListener, TcpStream};
use goroutines::{chan, go, Builder};

const MESSAGES: usize = 100;

/// Echoes one connection until end of file; returns the bytes echoed.
fn echo_one(listener: TcpListener) -> usize {
    let (mut conn, _) = listener.accept().unwrap();
    let mut buf = [0u8; 256];
    let mut echoed = 0;
    loop {
        match conn.read(&mut buf).unwrap() {
            0 => return echoed,
            n => {
                conn.write_all(&buf[..n]).unwrap();
                echoed += n;
            }
        }
    }
}

#[test]
fn listener_bound_on_the_main_thread_is_served_by_a_goroutine() {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    let rt = unsafe { Builder::new().procs(2).build() }.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = rt.go(move || echo_one(listener));
    // The main thread is the client.
    let mut conn = TcpStream::connect(addr).unwrap();
    let mut sent_bytes = 0;
    for n in 0..MESSAGES {
        let sent = format!("message {n} from the main thread");
        conn.write_all(sent.as_bytes()).unwrap();
        let mut got = vec![0u8; sent.len()];
        conn.read_exact(&mut got).unwrap();
        assert_eq!(got, sent.as_bytes());
        sent_bytes += sent.len();
    }
    drop(conn);
    assert_eq!(server.join().unwrap(), sent_bytes);
}

#[test]
fn plain_thread_client_talks_to_a_goroutine_server() {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    let rt = unsafe { Builder::new().procs(2).build() }.unwrap();
    let (client_bytes, server_bytes) = rt.run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = go(move || echo_one(listener));
        let (done_tx, done_rx) = chan::<usize>(1);
        std::thread::spawn(move || {
            let mut conn = TcpStream::connect(addr).unwrap();
            // The server says nothing first: a read timeout on a plain thread, std's way.
            let timeout = Duration::from_millis(100);
            conn.set_read_timeout(Some(timeout)).unwrap();
            let start = Instant::now();
            let err = conn.read(&mut [0u8; 8]).unwrap_err();
            let waited = start.elapsed();
            assert_eq!(err.kind(), ErrorKind::WouldBlock, "{err}");
            assert!(waited >= timeout, "gave up after {waited:?}");
            assert!(
                waited < Duration::from_secs(2),
                "gave up only after {waited:?}"
            );
            conn.set_read_timeout(None).unwrap();
            let mut sent_bytes = 0;
            for n in 0..MESSAGES {
                let sent = format!("message {n} from a plain thread");
                conn.write_all(sent.as_bytes()).unwrap();
                let mut got = vec![0u8; sent.len()];
                conn.read_exact(&mut got).unwrap();
                assert_eq!(got, sent.as_bytes());
                sent_bytes += sent.len();
            }
            done_tx.send(sent_bytes).unwrap();
        });
        let client_bytes = done_rx.recv().unwrap();
        (client_bytes, server.join().unwrap())
    });
    assert_eq!(client_bytes, server_bytes);
    assert!(client_bytes > 0);
}
