//! `create_datagram_endpoint(sock=)`: a socket not `SOCK_DGRAM` refused first (even with other
//! options), then a datagram socket with an address, a family, `reuse_port` or
//! `allow_broadcast` refused with CPython's list of them; nothing closed (the socket comes
//! back from the error). Then a bound UDP socket (an echo server, set non-blocking) and a
//! connected one (its client: `sendto` without an address goes to the peer), and a Unix
//! datagram socket connected to a named one. Fixture: `sock_datagram` in
//! peers/python/asyncio_sock_orderings.py.

mod common;

use std::net::UdpSocket;
use std::os::unix::net::{UnixDatagram, UnixStream};

use asyncio_loop::{run, sleep, DatagramEndpoint, Error, EventLoop, Family, SocketName};
use common::datagram::DatagramPrinter;
use common::given::{nonblocking, refuse, unbound};
use common::{assert_matches_fixture, out, py_bool, py_bytes, TempDir};
use rustix::net::{AddressFamily, SocketType};

#[test]
fn sock_datagram() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let refused = || DatagramPrinter::new("refused", None, None);
        let endpoint = |options: DatagramEndpoint| {
            let event_loop = event_loop.clone();
            async move { event_loop.create_datagram_endpoint(refused, options).await }
        };
        let (tcp, raw) = unbound(AddressFamily::INET, SocketType::STREAM);
        refuse("tcp", endpoint(DatagramEndpoint::new().sock(tcp)), raw).await;
        let (tcp, raw) = unbound(AddressFamily::INET, SocketType::STREAM);
        let options = DatagramEndpoint::new().local_addr(("127.0.0.1", 0));
        refuse("tcp with local_addr", endpoint(options.sock(tcp)), raw).await;
        let (a, b) = UnixStream::pair().expect("socketpair");
        let raw = std::os::fd::AsRawFd::as_raw_fd(&a);
        refuse(
            "unix stream",
            endpoint(DatagramEndpoint::new().sock(std::os::fd::OwnedFd::from(a))),
            raw,
        )
        .await;
        drop(b);
        let (udp, raw) = unbound(AddressFamily::INET, SocketType::DGRAM);
        let options = DatagramEndpoint::new().local_addr(("127.0.0.1", 0));
        refuse("udp with local_addr", endpoint(options.sock(udp)), raw).await;
        let (udp, raw) = unbound(AddressFamily::INET, SocketType::DGRAM);
        let options = DatagramEndpoint::new()
            .remote_addr(("127.0.0.1", 9))
            .family(Family::Inet)
            .reuse_port(true)
            .allow_broadcast(true);
        refuse("udp with the rest", endpoint(options.sock(udp)), raw).await;
        let (udp, raw) = unbound(AddressFamily::INET, SocketType::DGRAM);
        let options = DatagramEndpoint::new()
            .local_addr(("localhost", 0))
            .remote_addr(("127.0.0.1", 9));
        refuse("udp with both addresses", endpoint(options.sock(udp)), raw).await;
        let (udp, raw) = unbound(AddressFamily::INET, SocketType::DGRAM);
        let options = DatagramEndpoint::new().family(Family::Inet6);
        refuse("udp with family", endpoint(options.sock(udp)), raw).await;
        let (unix, raw) = unbound(AddressFamily::UNIX, SocketType::DGRAM);
        let options = DatagramEndpoint::new().local_path("/nonexistent/schedlab.sock");
        refuse(
            "unix datagram with a path",
            endpoint(options.sock(unix)),
            raw,
        )
        .await;

        let server_sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let server_addr = server_sock.local_addr().expect("bound");
        let client_sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
        client_sock.connect(server_addr).expect("connect");
        let client_addr = client_sock.local_addr().expect("bound");
        let probe = server_sock.try_clone().expect("dup");
        let server_done = event_loop.create_future::<()>();
        let client_done = event_loop.create_future::<()>();
        event_loop.call_soon(|| out("call_soon before the server endpoint"));
        let echo = DatagramPrinter::echo("server", Some(server_done.clone()));
        *echo.peer.borrow_mut() = Some(SocketName::Inet(client_addr));
        let factory = echo.clone();
        let (server, _) = event_loop
            .create_datagram_endpoint(move || factory, DatagramEndpoint::new().sock(server_sock))
            .await?;
        out("server created");
        assert!(nonblocking(&probe), "the given socket was left blocking");
        drop(probe);
        out(format!(
            "server sockname is the socket's {} peername {}",
            py_bool(server.get_extra_info("sockname") == Some(server_addr)),
            server
                .get_extra_info("peername")
                .map_or("None".to_owned(), |addr| addr.to_string())
        ));
        let done = client_done.clone();
        let (client, _) = event_loop
            .create_datagram_endpoint(
                move || DatagramPrinter::new("client", Some(done), Some(server_addr.into())),
                DatagramEndpoint::new().sock(client_sock),
            )
            .await?;
        out("client created");
        out(format!(
            "client peername is server {}",
            py_bool(client.get_extra_info("peername") == Some(server_addr))
        ));
        client.sendto(b"ping", None).map_err(Error::exception)?;
        out("client sent ping");
        for i in 0..3 {
            sleep(0.0).await?;
            out(format!("pass {i}"));
        }
        client.close();
        server.close();
        client_done.await?;
        server_done.await?;
        out("udp endpoints closed");

        let directory = TempDir::new("sock-datagram");
        let (path_a, path_b) = (directory.join("a"), directory.join("b"));
        let a = UnixDatagram::bind(&path_a).expect("bind a");
        let b = UnixDatagram::bind(&path_b).expect("bind b");
        a.connect(&path_b).expect("connect");
        let unix_done = event_loop.create_future::<()>();
        let (done, peer) = (unix_done.clone(), SocketName::Unix(path_b.clone()));
        let (unix, _) = event_loop
            .create_datagram_endpoint(
                move || DatagramPrinter::new("unix", Some(done), Some(peer)),
                DatagramEndpoint::new().sock(a),
            )
            .await?;
        out(format!(
            "unix peername is b {}",
            py_bool(unix.get_extra_info_name("peername") == Some(SocketName::Unix(path_b)))
        ));
        unix.sendto(b"to b", None).map_err(Error::exception)?;
        let mut buf = [0; 100];
        let n = b.recv(&mut buf).expect("recv");
        out(format!("b got {}", py_bytes(&buf[..n])));
        b.send_to(b"back", &path_a).expect("send_to");
        for i in 0..2 {
            sleep(0.0).await?;
            out(format!("pass {i}"));
        }
        unix.close();
        unix_done.await?;
        drop(b);
        out("unix endpoint closed");
        Ok(())
    })
    .expect("the scenario completes");
    assert_matches_fixture("sock_datagram");
}
