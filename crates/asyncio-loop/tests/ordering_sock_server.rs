//! `create_server`/`start_server(sock=)` refuse a socket not `SOCK_STREAM`, and
//! `create_unix_server`/`start_unix_server(sock=)` one not `AF_UNIX` `SOCK_STREAM`, with
//! CPython's text; nothing closed (the socket comes back from the error). Then a bound TCP
//! socket, not yet listening, served by `start_server_sock` (the server listens on it;
//! `Server::close` closes it: a connection is refused after), and a Unix socket bound to a path
//! and listening, served by `start_unix_server_sock` (set non-blocking; the file stays). Fixture: `sock_server`
//! in peers/python/asyncio_sock_orderings.py.

mod common;

use std::os::unix::net::UnixListener;
use std::rc::Rc;

use asyncio_loop::{
    open_connection, open_unix_connection, run, start_server_sock, start_unix_server_sock, Error,
    EventLoop, Protocol, SocketName, StreamReader, StreamWriter,
};
use common::given::{nonblocking, refuse, unbound};
use common::{assert_matches_fixture, out, py_bool, py_bytes, TempDir};
use rustix::net::{AddressFamily, SocketType};

/// `asyncio.Protocol`: does nothing.
struct Idle;

impl Protocol for Idle {}

async fn echo_line(reader: StreamReader, writer: StreamWriter) -> Result<(), Error> {
    let line = reader.readline().await?;
    out(format!("handler read {}", py_bytes(&line)));
    writer
        .write(&line.to_ascii_uppercase())
        .map_err(Error::exception)?;
    writer.drain().await?;
    writer.close();
    writer.wait_closed().await?;
    out("handler closed");
    Ok(())
}

#[test]
fn sock_server() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let idle = || Rc::new(Idle);
        let (udp, raw) = unbound(AddressFamily::INET, SocketType::DGRAM);
        let made = event_loop.create_server_sock(idle, udp);
        refuse("create_server udp", made, raw).await;
        let (unix, raw) = unbound(AddressFamily::UNIX, SocketType::DGRAM);
        refuse(
            "start_server unix datagram",
            start_server_sock(echo_line, unix),
            raw,
        )
        .await;
        let (tcp, raw) = unbound(AddressFamily::INET, SocketType::STREAM);
        let made = event_loop.create_unix_server_sock(idle, tcp);
        refuse("create_unix_server tcp", made, raw).await;
        let (udp, raw) = unbound(AddressFamily::INET, SocketType::DGRAM);
        let made = start_unix_server_sock(echo_line, udp);
        refuse("start_unix_server udp", made, raw).await;
        let (unix, raw) = unbound(AddressFamily::UNIX, SocketType::DGRAM);
        let made = event_loop.create_unix_server_sock(idle, unix);
        refuse("create_unix_server unix datagram", made, raw).await;

        let bound =
            rustix::net::socket(AddressFamily::INET, SocketType::STREAM, None).expect("socket()");
        let any_port: std::net::SocketAddr = "127.0.0.1:0".parse().expect("an address");
        rustix::net::bind(&bound, &any_port).expect("bind");
        let addr = std::net::TcpListener::from(bound.try_clone().expect("dup"))
            .local_addr()
            .expect("bound");
        event_loop.call_soon(|| out("call_soon before start_server"));
        let server = start_server_sock(echo_line, bound).await?;
        out(format!(
            "server started, serving {}",
            py_bool(server.is_serving())
        ));
        out(format!(
            "server socket is the one bound {}",
            py_bool(server.sockets() == [addr])
        ));
        let (reader, writer) = open_connection(addr).await?;
        out("client connected");
        writer.write(b"ping\n").map_err(Error::exception)?;
        out(format!(
            "client read {}",
            py_bytes(&reader.readline().await?)
        ));
        writer.close();
        writer.wait_closed().await?;
        server.close();
        server.wait_closed().await?;
        out("server closed");
        match open_connection(addr).await {
            Ok(_) => out("connected after close"),
            Err(Error::Exception(error))
                if error
                    .downcast_ref::<std::io::Error>()
                    .map(std::io::Error::kind)
                    == Some(std::io::ErrorKind::ConnectionRefused) =>
            {
                out("connection refused after close")
            }
            Err(error) => out(format!("open_connection after close: {error}")),
        }

        let directory = TempDir::new("sock-server");
        let path = directory.join("sock");
        let listening = UnixListener::bind(&path).expect("bind");
        let probe = listening.try_clone().expect("dup");
        let server = start_unix_server_sock(echo_line, listening).await?;
        assert!(nonblocking(&probe), "the given socket was left blocking");
        drop(probe);
        out(format!(
            "unix server socket is path {}",
            py_bool(server.socket_names() == [SocketName::Unix(path.clone())])
        ));
        let (reader, writer) = open_unix_connection(&path).await?;
        writer.write(b"unix\n").map_err(Error::exception)?;
        out(format!(
            "client read {}",
            py_bytes(&reader.readline().await?)
        ));
        writer.close();
        writer.wait_closed().await?;
        server.close();
        server.wait_closed().await?;
        out(format!(
            "unix server closed, socket file left {}",
            py_bool(path.exists())
        ));
        Ok(())
    })
    .expect("the scenario completes");
    assert_matches_fixture("sock_server");
}
