//! `loop.sock_recv`, `sock_sendall`, `sock_accept` and `sock_connect` beside a task that
//! prints each pass: ready data without a pass; a waiting `sock_recv` gets its data in its
//! reader, the pass after the send, and resumes in the next; a cancelled `sock_recv` leaves no
//! reader and the data to the next call; `sock_accept` waits for `sock_connect` over loopback,
//! pass by pass as in CPython. Fixture: `sock_calls_order` in
//! peers/python/asyncio_io_orderings.py.

mod common;

use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

use asyncio_loop::{run, sleep, Error, EventLoop};
use common::{assert_matches_fixture, out, py_bool, py_bytes};
use rustix::net::{AddressFamily, SocketFlags, SocketType};

async fn ticker() -> Result<(), Error> {
    for i in 0..10 {
        out(format!("tick {i}"));
        sleep(0.0).await?;
    }
    Ok(())
}

#[test]
fn sock_calls_order() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let (a, b) = UnixStream::pair().map_err(Error::exception)?;
        a.set_nonblocking(true).map_err(Error::exception)?;
        b.set_nonblocking(true).map_err(Error::exception)?;
        let a = Rc::new(a);
        let ticking = event_loop.create_task(ticker());
        event_loop.sock_sendall(&b, b"ready").await?;
        let data = event_loop.sock_recv(&*a, 100).await?;
        out(format!("recv at once {}", py_bytes(&data)));
        let (reading_loop, reading_sock) = (event_loop.clone(), a.clone());
        let reading = event_loop
            .create_task(async move { reading_loop.sock_recv(&*reading_sock, 100).await });
        sleep(0.0).await?;
        out("main sends");
        event_loop.sock_sendall(&b, b"later").await?;
        out("main sent");
        out(format!("recv waited {}", py_bytes(&reading.await?)));
        let (reading_loop, reading_sock) = (event_loop.clone(), a.clone());
        let reading = event_loop
            .create_task(async move { reading_loop.sock_recv(&*reading_sock, 100).await });
        sleep(0.0).await?;
        reading.cancel();
        if let Err(Error::Cancelled) = reading.await {
            out("recv cancelled");
        }
        out(format!(
            "remove_reader {}",
            py_bool(event_loop.remove_reader(a.as_fd()))
        ));
        event_loop.sock_sendall(&b, b"after").await?;
        let data = event_loop.sock_recv(&*a, 100).await?;
        out(format!("recv after cancel {}", py_bytes(&data)));

        let listener = Rc::new(TcpListener::bind("127.0.0.1:0").map_err(Error::exception)?);
        listener.set_nonblocking(true).map_err(Error::exception)?;
        let (accepting_loop, accepting_sock) = (event_loop.clone(), listener.clone());
        let accepting = event_loop.create_task(async move {
            let (conn, peer) = accepting_loop.sock_accept(&*accepting_sock).await?;
            Ok((Rc::new(conn), peer))
        });
        sleep(0.0).await?;
        out("main connects");
        let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
        let client = rustix::net::socket_with(AddressFamily::INET, SocketType::STREAM, flags, None)
            .map_err(|errno| Error::exception(std::io::Error::from(errno)))?;
        let addr = listener.local_addr().map_err(Error::exception)?;
        event_loop.sock_connect(&client, addr).await?;
        out("connected");
        let client = TcpStream::from(client);
        let (_conn, peer) = accepting.await?;
        out(format!(
            "accepted peer is client {}",
            py_bool(client.local_addr().ok() == Some(peer))
        ));
        ticking.await
    })
    .expect("the scenario completes");
    assert_matches_fixture("sock_calls_order");
}
