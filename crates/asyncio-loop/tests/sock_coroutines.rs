//! `loop.sock_recv`, `sock_sendall`, `sock_accept` and `sock_connect` on non-blocking sockets:
//! the system call first (ready data comes back without a pass), then a reader or writer until
//! it succeeds; several megabytes sent across many writability waits; cancellation removes
//! the reader or writer and leaves the data to the next call; round trips over TCP and Unix
//! sockets; a refused connection worded as CPython's.

mod common;

use std::cell::Cell;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::rc::Rc;

use asyncio_loop::{run, sleep, Error, EventLoop};
use common::TempDir;
use rustix::net::{AddressFamily, SocketFlags, SocketType};

fn socketpair() -> (Rc<UnixStream>, Rc<UnixStream>) {
    let (a, b) = UnixStream::pair().expect("a socket pair");
    a.set_nonblocking(true).expect("non-blocking");
    b.set_nonblocking(true).expect("non-blocking");
    (Rc::new(a), Rc::new(b))
}

/// A non-blocking stream socket not yet connected, as `socket.socket(family)` +
/// `setblocking(False)` give.
fn unconnected(family: AddressFamily) -> OwnedFd {
    let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
    rustix::net::socket_with(family, SocketType::STREAM, flags, None).expect("a socket")
}

/// Counts the passes of the loop while it runs (a task that yields each pass).
fn count_passes(event_loop: &EventLoop) -> Rc<Cell<u32>> {
    async fn counting(counter: Rc<Cell<u32>>) -> Result<(), Error> {
        loop {
            sleep(0.0).await?;
            counter.set(counter.get() + 1);
        }
    }
    let passes = Rc::new(Cell::new(0));
    event_loop.create_task(counting(passes.clone()));
    passes
}

#[test]
fn sock_recv_returns_ready_data_at_once_and_otherwise_waits_for_it() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let (a, b) = socketpair();
        let passes = count_passes(&event_loop);
        event_loop.sock_sendall(&*b, b"ready").await?;
        assert_eq!(event_loop.sock_recv(&*a, 100).await?, b"ready");
        assert_eq!(passes.get(), 0, "neither call waited for a pass");

        let (reading_loop, reading_sock) = (event_loop.clone(), a.clone());
        let reading =
            event_loop.create_task(async move { reading_loop.sock_recv(&*reading_sock, 3).await });
        sleep(0.0).await?;
        sleep(0.0).await?;
        assert!(!reading.done(), "nothing to read yet");
        event_loop.sock_sendall(&*b, b"later").await?;
        assert_eq!(reading.await?, b"lat", "at most n bytes");
        assert_eq!(event_loop.sock_recv(&*a, 100).await?, b"er");
        assert!(
            !event_loop.remove_reader(a.as_fd()),
            "the reader went with the call"
        );
        drop(b);
        assert_eq!(event_loop.sock_recv(&*a, 100).await?, b"", "EOF");
        Ok(())
    })
    .expect("the scenario completes");
}

#[test]
fn sock_sendall_of_several_megabytes_waits_for_writability_and_sends_everything() {
    const SIZE: usize = 8 * 1024 * 1024;
    let data: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    let expected = data.clone();
    let (received, received_before_return) = run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let (a, b) = socketpair();
        let progress = Rc::new(Cell::new(0usize));
        let (receiving_loop, seen) = (event_loop.clone(), progress.clone());
        let receiving = event_loop.create_task(async move {
            let mut received = Vec::with_capacity(SIZE);
            while received.len() < SIZE {
                let chunk = receiving_loop.sock_recv(&*b, 256 * 1024).await?;
                assert!(!chunk.is_empty(), "no EOF before the end");
                received.extend_from_slice(&chunk);
                seen.set(received.len());
            }
            Ok(received)
        });
        event_loop.sock_sendall(&*a, &data).await?;
        let received_before_return = progress.get();
        assert!(
            !event_loop.remove_writer(a.as_fd()),
            "the writer went with the call"
        );
        Ok((receiving.await?, received_before_return))
    })
    .expect("the transfer completes");
    assert!(
        received_before_return > 0,
        "sendall returned before the peer read anything: it cannot have waited"
    );
    assert!(received == expected, "every byte, in order");
}

#[test]
fn cancelling_a_waiting_sock_recv_or_sock_sendall_removes_its_reader_or_writer() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let (a, b) = socketpair();
        let (reading_loop, reading_sock) = (event_loop.clone(), a.clone());
        let reading = event_loop
            .create_task(async move { reading_loop.sock_recv(&*reading_sock, 100).await });
        sleep(0.0).await?;
        assert!(reading.cancel());
        assert!(matches!(reading.await, Err(Error::Cancelled)));
        assert!(
            !event_loop.remove_reader(a.as_fd()),
            "the reader was removed"
        );
        event_loop.sock_sendall(&*b, b"after").await?;
        sleep(0.0).await?;
        assert_eq!(
            event_loop.sock_recv(&*a, 100).await?,
            b"after",
            "the cancelled call took nothing"
        );

        let big = vec![7u8; 8 * 1024 * 1024];
        let (writing_loop, writing_sock) = (event_loop.clone(), a.clone());
        let writing = event_loop
            .create_task(async move { writing_loop.sock_sendall(&*writing_sock, &big).await });
        sleep(0.0).await?;
        assert!(!writing.done(), "the peer reads nothing: sendall waits");
        assert!(writing.cancel());
        assert!(matches!(writing.await, Err(Error::Cancelled)));
        assert!(
            !event_loop.remove_writer(a.as_fd()),
            "the writer was removed"
        );
        Ok(())
    })
    .expect("the scenario completes");
}

#[test]
fn sock_accept_and_sock_connect_round_trip_over_tcp() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let listener = Rc::new(TcpListener::bind("127.0.0.1:0").map_err(Error::exception)?);
        listener.set_nonblocking(true).map_err(Error::exception)?;
        let addr = listener.local_addr().map_err(Error::exception)?;
        let (accepting_loop, accepting_sock) = (event_loop.clone(), listener.clone());
        let accepting = event_loop.create_task(async move {
            let (conn, peer) = accepting_loop.sock_accept(&*accepting_sock).await?;
            Ok((Rc::new(conn), peer))
        });
        sleep(0.0).await?;
        assert!(!accepting.done(), "no connection yet: sock_accept waits");
        let client = unconnected(AddressFamily::INET);
        event_loop.sock_connect(&client, addr).await?;
        let client = TcpStream::from(client);
        let (conn, peer) = accepting.await?;
        assert_eq!(Some(peer), client.local_addr().ok());
        event_loop.sock_sendall(&client, b"ping").await?;
        assert_eq!(event_loop.sock_recv(&*conn, 100).await?, b"ping");
        event_loop.sock_sendall(&*conn, b"pong").await?;
        assert_eq!(event_loop.sock_recv(&client, 100).await?, b"pong");
        assert!(!event_loop.remove_reader(listener.as_fd()));

        let closed: SocketAddr = {
            let gone = TcpListener::bind("127.0.0.1:0").map_err(Error::exception)?;
            gone.local_addr().map_err(Error::exception)?
        };
        let refused = event_loop
            .sock_connect(&unconnected(AddressFamily::INET), closed)
            .await;
        let message = match refused {
            Err(Error::Exception(error)) => error.to_string(),
            other => format!("unexpected {other:?}"),
        };
        assert_eq!(
            message,
            format!(
                "[Errno 111] Connect call failed ('127.0.0.1', {})",
                closed.port()
            )
        );
        Ok(())
    })
    .expect("the scenario completes");
}

#[test]
fn sock_accept_and_sock_connect_round_trip_over_a_unix_socket() {
    let directory = TempDir::new("sock_unix");
    let path = directory.join("listener.sock");
    run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let listener = UnixListener::bind(&path).map_err(Error::exception)?;
        listener.set_nonblocking(true).map_err(Error::exception)?;
        let client = unconnected(AddressFamily::UNIX);
        event_loop.sock_connect(&client, path.as_path()).await?;
        let (conn, peer) = event_loop.sock_accept(&listener).await?;
        assert!(peer.is_unnamed(), "CPython's '': the client is unbound");
        event_loop.sock_sendall(&client, b"ping").await?;
        assert_eq!(event_loop.sock_recv(&conn, 100).await?, b"ping");
        event_loop.sock_sendall(&conn, b"pong").await?;
        assert_eq!(event_loop.sock_recv(&client, 100).await?, b"pong");
        Ok(())
    })
    .expect("the scenario completes");
}
