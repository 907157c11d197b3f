//! An echo server on 127.0.0.1:0 with a goroutine per connection, and 1,000 client goroutines,
//! each sending 20 messages of 64 bytes with content of its own and checking every byte that
//! comes back; on 2 Ps and on 1.

use std::io::{Read, Write};

use goroutines::net::{TcpListener, TcpStream};
use goroutines::{chan, go, Builder};

const CLIENTS: usize = 1000;
const MESSAGES: usize = 20;
const SIZE: usize = 64;

/// Message `n` of client `client`: both numbers, then a pattern of both.
fn message(client: usize, n: usize) -> [u8; SIZE] {
    let mut m = [0u8; SIZE];
    m[..4].copy_from_slice(&(client as u32).to_le_bytes());
    m[4..8].copy_from_slice(&(n as u32).to_le_bytes());
    for (i, b) in m[8..].iter_mut().enumerate() {
        *b = (client * 131 + n * 31 + i * 7) as u8;
    }
    m
}

/// Two descriptors per connection (client and server end) and some to spare.
fn raise_fd_limit(needed: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit struct to the valid pointer we pass.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(rc, 0);
    if limit.rlim_cur < needed {
        limit.rlim_cur = needed.min(limit.rlim_max);
        // SAFETY: setrlimit reads one valid rlimit struct.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    }
    assert!(
        limit.rlim_cur >= needed,
        "RLIMIT_NOFILE hard limit {} is below the {needed} descriptors this test needs",
        limit.rlim_max
    );
}

fn echo(procs: usize) {
    raise_fd_limit(2 * CLIENTS as u64 + 64);
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    let rt = unsafe { Builder::new().procs(procs).build() }.unwrap();
    let (client_bytes, server_bytes) = rt.run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (served_tx, served_rx) = chan::<usize>(CLIENTS);
        go(move || {
            for conn in listener.incoming() {
                let mut conn = conn.unwrap();
                let served_tx = served_tx.clone();
                go(move || {
                    let mut buf = [0u8; 1024];
                    let mut echoed = 0;
                    loop {
                        match conn.read(&mut buf) {
                            Ok(0) => break,
                            Ok(n) => {
                                conn.write_all(&buf[..n]).unwrap();
                                echoed += n;
                            }
                            Err(e) => panic!("server read: {e}"),
                        }
                    }
                    served_tx.send(echoed).unwrap();
                });
            }
        });
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                go(move || {
                    let mut conn = TcpStream::connect(addr).unwrap();
                    conn.set_nodelay(true).unwrap();
                    let mut got = [0u8; SIZE];
                    for n in 0..MESSAGES {
                        let sent = message(client, n);
                        conn.write_all(&sent).unwrap();
                        conn.read_exact(&mut got).unwrap();
                        assert_eq!(got, sent, "client {client}, message {n}");
                    }
                    MESSAGES * SIZE
                })
            })
            .collect();
        let client_bytes: usize = clients.into_iter().map(|h| h.join().unwrap()).sum();
        // Each client closed its connection on return: each server goroutine saw end of file.
        let server_bytes: usize = (0..CLIENTS).map(|_| served_rx.recv().unwrap()).sum();
        (client_bytes, server_bytes)
    });
    assert_eq!(client_bytes, CLIENTS * MESSAGES * SIZE);
    assert_eq!(server_bytes, CLIENTS * MESSAGES * SIZE);
}

#[test]
fn echo_1000_connections_2_procs() {
    echo(2);
}

#[test]
fn echo_1000_connections_1_proc() {
    echo(1);
}
