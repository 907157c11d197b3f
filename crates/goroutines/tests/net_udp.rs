//! UDP between goroutines: an echo server answering clients datagram by datagram, and a receive
//! that times out with std's error kind.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use goroutines::net::UdpSocket;
use goroutines::{go, Builder};

const CLIENTS: usize = 10;
const ROUNDS: usize = 100;

#[test]
fn udp_echo_between_goroutines() {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    let rt = unsafe { Builder::new().procs(2).build() }.unwrap();
    let (echoed, replies) = rt.run(|| {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let server_addr = server.local_addr().unwrap();
        assert_eq!(
            server.peer_addr().unwrap_err().kind(),
            ErrorKind::NotConnected
        );
        let echo = go(move || {
            let mut buf = [0u8; 64];
            for _ in 0..CLIENTS * ROUNDS {
                let (n, from) = server.recv_from(&mut buf).unwrap();
                assert_eq!(server.send_to(&buf[..n], from).unwrap(), n);
            }
            CLIENTS * ROUNDS
        });
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                go(move || {
                    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
                    socket.connect(server_addr).unwrap();
                    assert_eq!(socket.peer_addr().unwrap(), server_addr);
                    // A lost datagram fails the test instead of hanging it.
                    socket
                        .set_read_timeout(Some(Duration::from_secs(10)))
                        .unwrap();
                    let mut buf = [0u8; 64];
                    for round in 0..ROUNDS {
                        let sent = format!("client {client} round {round}");
                        assert_eq!(socket.send(sent.as_bytes()).unwrap(), sent.len());
                        let n = socket.recv(&mut buf).unwrap();
                        assert_eq!(&buf[..n], sent.as_bytes());
                    }
                    ROUNDS
                })
            })
            .collect();
        let replies: usize = clients.into_iter().map(|h| h.join().unwrap()).sum();
        (echo.join().unwrap(), replies)
    });
    assert_eq!(echoed, CLIENTS * ROUNDS);
    assert_eq!(replies, CLIENTS * ROUNDS);
}

#[test]
fn udp_recv_times_out_and_the_socket_still_works() {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    let rt = unsafe { Builder::new().procs(2).build() }.unwrap();
    rt.run(|| {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let timeout = Duration::from_millis(100);
        socket.set_read_timeout(Some(timeout)).unwrap();
        assert_eq!(socket.read_timeout().unwrap(), Some(timeout));
        let mut buf = [0u8; 16];
        let start = Instant::now();
        let err = socket.recv_from(&mut buf).unwrap_err();
        let waited = start.elapsed();
        assert_eq!(err.kind(), ErrorKind::WouldBlock, "{err}");
        assert!(waited >= timeout, "gave up after {waited:?}");
        assert!(
            waited < Duration::from_secs(2),
            "gave up only after {waited:?}"
        );

        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        sender
            .send_to(b"hello", socket.local_addr().unwrap())
            .unwrap();
        socket.set_read_timeout(None).unwrap();
        let (n, from) = socket.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"hello");
        assert_eq!(from, sender.local_addr().unwrap());
    });
}
