//! Read and write timeouts on goroutines: an operation that times out fails with std's error
//! kind (`WouldBlock`, from `EAGAIN`) no sooner than its timeout, and the stream still works
//! afterwards.

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use goroutines::net::{TcpListener, TcpStream};
use goroutines::{chan, go, Builder};

const TIMEOUT: Duration = Duration::from_millis(100);
/// Wide: a loaded 2-core machine may run the timed-out goroutine late.
const LATEST: Duration = Duration::from_secs(2);

fn assert_timed_out(what: &str, result: std::io::Result<usize>, waited: Duration) {
    let err = result.expect_err(what);
    assert_eq!(err.kind(), ErrorKind::WouldBlock, "{what}: {err}");
    assert!(waited >= TIMEOUT, "{what} gave up after {waited:?}");
    assert!(waited < LATEST, "{what} gave up only after {waited:?}");
}

#[test]
fn read_times_out_on_a_silent_peer_and_the_stream_still_works() {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    let rt = unsafe { Builder::new().procs(2).build() }.unwrap();
    rt.run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (speak_tx, speak_rx) = chan::<()>(0);
        let peer = go(move || {
            let (mut conn, _) = listener.accept().unwrap();
            speak_rx.recv().unwrap();
            conn.write_all(b"late").unwrap();
        });
        let mut conn = TcpStream::connect(addr).unwrap();
        assert_eq!(conn.read_timeout().unwrap(), None);
        conn.set_read_timeout(Some(TIMEOUT)).unwrap();
        assert_eq!(conn.read_timeout().unwrap(), Some(TIMEOUT));
        let mut buf = [0u8; 4];
        // Twice: the first expiry must not leave the second read failing at once.
        for round in 0..2 {
            let start = Instant::now();
            let result = conn.read(&mut buf);
            assert_timed_out(&format!("read {round}"), result, start.elapsed());
        }
        speak_tx.send(()).unwrap();
        conn.set_read_timeout(None).unwrap();
        conn.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"late");
        peer.join().unwrap();
    });
}

#[test]
fn write_times_out_on_a_full_buffer_and_the_stream_still_works() {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    let rt = unsafe { Builder::new().procs(2).build() }.unwrap();
    rt.run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (drain_tx, drain_rx) = chan::<usize>(0);
        let peer = go(move || {
            let (mut conn, _) = listener.accept().unwrap();
            // Read nothing until told how much was written, so both buffers fill up.
            let written = drain_rx.recv().unwrap();
            let mut all = vec![0u8; written + 4];
            conn.read_exact(&mut all).unwrap();
            all[written..].to_vec()
        });
        let mut conn = TcpStream::connect(addr).unwrap();
        conn.set_write_timeout(Some(TIMEOUT)).unwrap();
        assert_eq!(conn.write_timeout().unwrap(), Some(TIMEOUT));
        let chunk = vec![7u8; 64 * 1024];
        let mut written = 0;
        loop {
            let start = Instant::now();
            match conn.write(&chunk) {
                Ok(n) => written += n,
                result => {
                    assert_timed_out("write to a full buffer", result, start.elapsed());
                    break;
                }
            }
            assert!(
                written < 1 << 30,
                "1 GiB written to a peer that reads nothing"
            );
        }
        drain_tx.send(written).unwrap();
        conn.set_write_timeout(None).unwrap();
        conn.write_all(b"end!").unwrap();
        assert_eq!(peer.join().unwrap(), b"end!");
    });
}

#[test]
fn a_zero_timeout_is_refused() {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    let rt = unsafe { Builder::new().procs(2).build() }.unwrap();
    rt.run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let conn = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let err = conn.set_read_timeout(Some(Duration::ZERO)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let err = conn.set_write_timeout(Some(Duration::ZERO)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let err = TcpStream::connect_timeout(&listener.local_addr().unwrap(), Duration::ZERO)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(conn.read_timeout().unwrap(), None);
    });
}

/// Deadlines racing readiness: 1 ms read timeouts against a writer that sends one byte at a
/// time with pauses around a millisecond, on 50 connections. A timer that fires as data arrives
/// must neither lose the wake-up (the read would hang) nor the data, nor leave the next read
/// failing at once.
#[test]
fn short_timeouts_racing_data_lose_nothing() {
    const CONNECTIONS: usize = 50;
    const BYTES: usize = 200;
    let timeout = Duration::from_millis(1);
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    let rt = unsafe { Builder::new().procs(2).build() }.unwrap();
    let (received, timeouts) = rt.run(move || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        go(move || {
            for (i, conn) in listener.incoming().enumerate() {
                let mut conn = conn.unwrap();
                go(move || {
                    let mut state = i as u64 + 1;
                    for byte in 0..BYTES {
                        conn.write_all(&[byte as u8]).unwrap();
                        // A pause of 0 to 2 ms (xorshift).
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        goroutines::sleep(Duration::from_micros(state % 2000));
                    }
                });
            }
        });
        let readers: Vec<_> = (0..CONNECTIONS)
            .map(|_| {
                go(move || {
                    let mut conn = TcpStream::connect(addr).unwrap();
                    conn.set_read_timeout(Some(timeout)).unwrap();
                    let (mut next, mut timeouts) = (0usize, 0usize);
                    let mut buf = [0u8; 16];
                    while next < BYTES {
                        let start = Instant::now();
                        match conn.read(&mut buf) {
                            Ok(0) => panic!("end of file after {next} bytes"),
                            Ok(n) => {
                                for &b in &buf[..n] {
                                    assert_eq!(b, next as u8, "byte {next}");
                                    next += 1;
                                }
                            }
                            Err(e) => {
                                assert_eq!(e.kind(), ErrorKind::WouldBlock, "{e}");
                                let waited = start.elapsed();
                                assert!(waited >= timeout, "timed out after {waited:?}");
                                timeouts += 1;
                            }
                        }
                    }
                    (next, timeouts)
                })
            })
            .collect();
        readers
            .into_iter()
            .map(|h| h.join().unwrap())
            .fold((0, 0), |(r, t), (next, timeouts)| (r + next, t + timeouts))
    });
    assert_eq!(received, CONNECTIONS * BYTES);
    // The race was run: most pauses outlast the timeout.
    assert!(timeouts > 0);
}
