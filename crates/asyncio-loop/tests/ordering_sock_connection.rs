//! `create_connection`/`open_connection(sock=)` refuse a socket not `SOCK_STREAM`, and
//! `create_unix_connection`/`open_unix_connection(sock=)` one not `AF_UNIX` `SOCK_STREAM`, with
//! CPython's text; nothing closed (the socket comes back from the error). Then one end of a
//! Unix stream socketpair given to `create_connection_sock` (set non-blocking; CPython takes
//! `AF_UNIX` there too), a TCP socket connected before it is given to `open_connection_sock`,
//! and a socketpair end given to `open_unix_connection_sock`. Fixture: `sock_connection` in
//! peers/python/asyncio_sock_orderings.py.

mod common;

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::rc::Rc;

use asyncio_loop::{
    open_connection_sock, open_unix_connection_sock, run, sleep, Error, EventLoop, Future,
    Protocol, SocketName, Transport,
};
use common::given::{nonblocking, refuse, unbound};
use common::{assert_matches_fixture, out, py_bool, py_bytes};
use rustix::net::{AddressFamily, SocketType};

/// The scenario's `Printer`: prints every callback; `done` gets a result in `connection_lost`.
struct Printer {
    name: &'static str,
    done: Option<Future<()>>,
}

impl Protocol for Printer {
    fn connection_made(&self, _transport: &Transport) {
        out(format!("{} connection_made", self.name));
    }

    fn data_received(&self, data: &[u8]) {
        out(format!("{} data_received {}", self.name, py_bytes(data)));
    }

    fn eof_received(&self) -> bool {
        out(format!("{} eof_received", self.name));
        false
    }

    fn connection_lost(&self, error: Option<Rc<io::Error>>) {
        match error {
            None => out(format!("{} connection_lost None", self.name)),
            Some(error) => out(format!("{} connection_lost {error}", self.name)),
        }
        if let Some(done) = &self.done {
            let _ = done.set_result(());
        }
    }
}

/// Python's `repr` of a `str` address: the path in quotes.
fn py_repr(name: Option<SocketName>) -> String {
    match name {
        Some(SocketName::Unix(path)) => format!("'{}'", path.display()),
        Some(SocketName::Inet(addr)) => addr.to_string(),
        None => "None".to_owned(),
    }
}

/// `sock.recv(100)`.
fn recv(mut sock: impl Read) -> String {
    let mut buf = [0; 100];
    let n = sock.read(&mut buf).expect("recv");
    py_bytes(&buf[..n])
}

#[test]
fn sock_connection() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let idle = || {
            Rc::new(Printer {
                name: "refused",
                done: None,
            })
        };
        let (udp, raw) = unbound(AddressFamily::INET, SocketType::DGRAM);
        let made = event_loop.create_connection_sock(idle, udp);
        refuse("create_connection udp", made, raw).await;
        let (unix, raw) = unbound(AddressFamily::UNIX, SocketType::DGRAM);
        refuse(
            "open_connection unix datagram",
            open_connection_sock(unix),
            raw,
        )
        .await;
        let (tcp, raw) = unbound(AddressFamily::INET, SocketType::STREAM);
        let made = event_loop.create_unix_connection_sock(idle, tcp);
        refuse("create_unix_connection tcp", made, raw).await;
        let (udp, raw) = unbound(AddressFamily::INET, SocketType::DGRAM);
        refuse(
            "open_unix_connection udp",
            open_unix_connection_sock(udp),
            raw,
        )
        .await;

        let (a, mut b) = UnixStream::pair().expect("socketpair");
        let probe = a.try_clone().expect("dup");
        let done = event_loop.create_future::<()>();
        event_loop.call_soon(|| out("call_soon before create_connection"));
        let printer = Rc::new(Printer {
            name: "pair",
            done: Some(done.clone()),
        });
        let (transport, _) = event_loop
            .create_connection_sock(move || printer, a)
            .await?;
        out("create_connection returned");
        assert!(nonblocking(&probe), "the given socket was left blocking");
        drop(probe);
        out(format!(
            "peername {}",
            py_repr(transport.get_extra_info_name("peername"))
        ));
        transport.write(b"hello").map_err(Error::exception)?;
        out(format!("other end got {}", recv(&b)));
        b.write_all(b"back").expect("sendall");
        b.shutdown(Shutdown::Write).expect("shutdown");
        for i in 0..3 {
            sleep(0.0).await?;
            out(format!("pass {i}"));
        }
        transport.close();
        done.await?;
        drop(b);

        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let listener_addr = listener.local_addr().expect("bound");
        let client = TcpStream::connect(listener_addr).expect("connect");
        let (mut conn, _) = listener.accept().expect("accept");
        let (reader, writer) = open_connection_sock(client).await?;
        out(format!(
            "open_connection returned, peername is the listener's {}",
            py_bool(writer.get_extra_info("peername") == Some(listener_addr))
        ));
        conn.write_all(b"line\n").expect("sendall");
        out(format!(
            "client read {}",
            py_bytes(&reader.readline().await?)
        ));
        writer.write(b"reply").map_err(Error::exception)?;
        writer.drain().await?;
        writer.close();
        writer.wait_closed().await?;
        let first = recv(&conn);
        out(format!("peer got {first} then {}", recv(&conn)));
        drop((conn, listener));

        let (a, mut b) = UnixStream::pair().expect("socketpair");
        let (reader, writer) = open_unix_connection_sock(a).await?;
        out("open_unix_connection returned");
        b.write_all(b"unix\n").expect("sendall");
        out(format!(
            "client read {}",
            py_bytes(&reader.readline().await?)
        ));
        writer.close();
        writer.wait_closed().await?;
        out(format!("other end got {}", recv(&b)));
        Ok(())
    })
    .expect("the scenario completes");
    assert_matches_fixture("sock_connection");
}
