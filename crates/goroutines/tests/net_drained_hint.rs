//! A stream read that returns fewer bytes than asked emptied the socket, so the next read parks
//! at once instead of asking the kernel for the `EAGAIN` first (Tokio's "clear readiness on a
//! short read"); a short write does the same for writes. These tests pin down both halves: the
//! system calls saved (counted by `Stats::net_would_blocks`), and that no byte is ever lost or
//! waited for in vain when data arrives right after the short operation.

use std::io::{Read, Write};

mod common;

use common::runtime;
use goroutines::go;
use goroutines::net::{TcpListener, TcpStream};

/// Request and response, 64 bytes each, over one connection, both ends reading into a larger
/// buffer: every read after the first few comes back short.
#[test]
fn request_response_reads_skip_the_eagain() {
    const ROUND_TRIPS: usize = 1000;
    let rt = runtime(2);
    rt.run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = go(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            loop {
                match conn.read(&mut buf).unwrap() {
                    0 => return,
                    n => conn.write_all(&buf[..n]).unwrap(),
                }
            }
        });
        let mut conn = TcpStream::connect(addr).unwrap();
        let mut buf = [0u8; 4096];
        for i in 0..ROUND_TRIPS {
            let message = [i as u8; 64];
            conn.write_all(&message).unwrap();
            let mut got = 0;
            while got < message.len() {
                let n = conn.read(&mut buf[got..]).unwrap();
                assert_ne!(n, 0, "the server closed at round trip {i}");
                got += n;
            }
            assert_eq!(&buf[..got], &message[..], "round trip {i}");
        }
        drop(conn);
        server.join().unwrap();
    });
    let would_blocks = rt.stats().net_would_blocks;
    // Without the hint each round trip costs both ends one EAGAIN: about 2,000 here.
    assert!(
        would_blocks < (ROUND_TRIPS / 4) as u64,
        "{would_blocks} EAGAINs in {ROUND_TRIPS} round trips"
    );
}

/// 8 MiB through a socket whose buffers fill: the writer's writes come back short and the
/// reader's reads are short, so both wait on the hint again and again; every byte arrives in
/// order, on 1 P and on 2.
#[test]
fn bulk_transfer_through_full_buffers_loses_nothing() {
    const TOTAL: usize = 8 << 20;
    for procs in [1, 2] {
        let rt = runtime(procs);
        let (sent, received) = rt.run(|| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let reader = go(move || {
                let (mut conn, _) = listener.accept().unwrap();
                // An odd size, so that reads end in the middle of the writer's chunks.
                let mut buf = [0u8; 1000];
                let (mut total, mut sum) = (0usize, 0u64);
                loop {
                    match conn.read(&mut buf).unwrap() {
                        0 => return (total, sum),
                        n => {
                            for (k, &b) in buf[..n].iter().enumerate() {
                                assert_eq!(b, pattern(total + k), "byte {}", total + k);
                                sum += u64::from(b);
                            }
                            total += n;
                        }
                    }
                }
            });
            let mut conn = TcpStream::connect(addr).unwrap();
            let chunk_len = 64 * 1024;
            let mut sum = 0u64;
            let mut offset = 0;
            while offset < TOTAL {
                let chunk: Vec<u8> = (offset..offset + chunk_len).map(pattern).collect();
                sum += chunk.iter().map(|&b| u64::from(b)).sum::<u64>();
                conn.write_all(&chunk).unwrap();
                offset += chunk_len;
            }
            drop(conn);
            ((offset, sum), reader.join().unwrap())
        });
        assert_eq!(sent, received, "on {procs} P(s)");
    }
}

fn pattern(i: usize) -> u8 {
    (i % 251) as u8
}
