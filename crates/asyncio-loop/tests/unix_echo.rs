//! Unix domain sockets: echo through the streams API (`start_unix_server` /
//! `open_unix_connection`) and the Protocol API (`create_unix_server` /
//! `create_unix_connection`), every protocol event counted; a stale socket file replaced, any
//! other file left alone; the file left after the server closes (3.12); the errors as CPython
//! words them. Each test's socket files live in a directory of its own.

mod common;

use std::cell::{Cell, RefCell};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::rc::Rc;

use asyncio_loop::{
    open_unix_connection, run, start_unix_server, Error, EventLoop, Protocol, SocketName, Transport,
};
use common::{echo_lines, TempDir};

/// One client: three lines echoed, then EOF both ways.
async fn echo_three_lines(path: &Path, name: &str) -> Result<Vec<Vec<u8>>, Error> {
    let (reader, writer) = open_unix_connection(path).await?;
    let mut got = Vec::new();
    for i in 0..3 {
        let line = format!("{name} {i}\n");
        writer.write(line.as_bytes()).map_err(Error::exception)?;
        writer.drain().await?;
        got.push(reader.readline().await?);
    }
    writer.write_eof();
    assert!(
        reader.read_all().await?.is_empty(),
        "nothing after the echoes"
    );
    writer.close();
    writer.wait_closed().await?;
    Ok(got)
}

#[test]
fn streams_echo_over_a_unix_socket() {
    let directory = TempDir::new("unix_echo_streams");
    let path = directory.join("echo.sock");
    let server_path = path.clone();
    let got = run(async move {
        let path = server_path;
        let server = start_unix_server(echo_lines, &path).await?;
        assert_eq!(server.socket_names(), [SocketName::Unix(path.clone())]);
        assert!(server.sockets().is_empty(), "no TCP address");
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let (path_a, path_b) = (path.clone(), path.clone());
        let a = event_loop.create_task(async move { echo_three_lines(&path_a, "a").await });
        let b = event_loop.create_task(async move { echo_three_lines(&path_b, "b").await });
        let (a, b) = (a.await?, b.await?);
        server.close();
        server.wait_closed().await?;
        assert!(server.socket_names().is_empty());
        Ok((a, b))
    })
    .expect("the echo completes");
    assert_eq!(got.0, [&b"a 0\n"[..], b"a 1\n", b"a 2\n"]);
    assert_eq!(got.1, [&b"b 0\n"[..], b"b 1\n", b"b 2\n"]);
    assert!(path.exists(), "3.12 leaves the socket file");
}

/// Counts a protocol's calls; the server side writes back what it gets and closes at EOF.
#[derive(Default)]
struct Events {
    made: Cell<u32>,
    received: RefCell<Vec<u8>>,
    eof: Cell<u32>,
    lost: Cell<u32>,
    lost_with_error: Cell<u32>,
    transport: RefCell<Option<Transport>>,
    echo: bool,
    done: RefCell<Option<asyncio_loop::Future<()>>>,
}

struct Counting(Rc<Events>);

impl Protocol for Counting {
    fn connection_made(&self, transport: &Transport) {
        self.0.made.set(self.0.made.get() + 1);
        *self.0.transport.borrow_mut() = Some(transport.clone());
    }

    fn data_received(&self, data: &[u8]) {
        self.0.received.borrow_mut().extend_from_slice(data);
        if self.0.echo {
            if let Some(transport) = self.0.transport.borrow().as_ref() {
                transport.write(data).expect("writable");
            }
        }
    }

    fn eof_received(&self) -> bool {
        self.0.eof.set(self.0.eof.get() + 1);
        false
    }

    fn connection_lost(&self, error: Option<Rc<std::io::Error>>) {
        self.0.lost.set(self.0.lost.get() + 1);
        if error.is_some() {
            self.0.lost_with_error.set(self.0.lost_with_error.get() + 1);
        }
        self.0.transport.borrow_mut().take();
        if let Some(done) = self.0.done.borrow_mut().take() {
            let _ = done.set_result(());
        }
    }
}

#[test]
fn protocol_echo_over_a_unix_socket_counts_every_event() {
    let directory = TempDir::new("unix_echo_protocol");
    let path = directory.join("echo.sock");
    let server_events = Rc::new(Events {
        echo: true,
        ..Events::default()
    });
    let client_events = Rc::new(Events::default());
    let (server_side, client_side) = (server_events.clone(), client_events.clone());
    let message: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let sent = message.clone();
    run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let server = event_loop
            .create_unix_server(move || Rc::new(Counting(server_side.clone())), &path)
            .await?;
        let done = event_loop.create_future::<()>();
        *client_side.done.borrow_mut() = Some(done.clone());
        let (transport, _) = event_loop
            .create_unix_connection(move || Rc::new(Counting(client_side)), &path)
            .await?;
        let peer = SocketName::Unix(path.clone());
        assert_eq!(transport.get_extra_info_name("peername"), Some(peer));
        assert_eq!(
            transport.get_extra_info_name("sockname"),
            Some(SocketName::Unix("".into())),
            "CPython's '': the client's end is unnamed"
        );
        assert_eq!(transport.get_extra_info("peername"), None, "no TCP address");
        transport.write(&sent).map_err(Error::exception)?;
        transport.write_eof();
        done.await?;
        server.close();
        server.wait_closed().await
    })
    .expect("the echo completes");
    for events in [&server_events, &client_events] {
        assert_eq!(events.made.get(), 1);
        assert_eq!(*events.received.borrow(), message);
        assert_eq!(events.eof.get(), 1);
        assert_eq!(events.lost.get(), 1);
        assert_eq!(events.lost_with_error.get(), 0);
    }
}

#[test]
fn a_stale_socket_file_is_replaced_and_any_other_file_is_not() {
    let directory = TempDir::new("unix_stale");
    let (stale, regular) = (directory.join("stale.sock"), directory.join("regular"));
    drop(UnixListener::bind(&stale).expect("a socket file"));
    std::fs::write(&regular, b"keep me").expect("a regular file");
    let (stale_path, regular_path, missing) = (stale, regular.clone(), directory.join("missing"));
    let outcome = run(async move {
        let (stale, regular) = (stale_path, regular_path);
        let refused = open_unix_connection(&stale).await.map(|_| ());
        let server = start_unix_server(echo_lines, &stale).await?;
        let (reader, writer) = open_unix_connection(&stale).await?;
        writer.write(b"fresh\n").map_err(Error::exception)?;
        let echoed = reader.readline().await?;
        writer.close();
        server.close();
        server.wait_closed().await?;
        let not_a_socket = start_unix_server(echo_lines, &regular).await.map(|_| ());
        let missing = open_unix_connection(missing).await.map(|_| ());
        Ok((refused, echoed, not_a_socket, missing))
    })
    .expect("the scenario runs");
    let (refused, echoed, not_a_socket, missing) = outcome;
    let message = |outcome: Result<(), Error>| match outcome {
        Err(Error::Exception(error)) => error.to_string(),
        other => format!("unexpected {other:?}"),
    };
    assert_eq!(message(refused), "[Errno 111] Connection refused");
    assert_eq!(echoed, b"fresh\n");
    assert_eq!(
        message(not_a_socket),
        format!(
            "[Errno 98] Address '{}' is already in use",
            regular.display()
        )
    );
    assert_eq!(std::fs::read(&regular).expect("still there"), b"keep me");
    assert_eq!(message(missing), "[Errno 2] No such file or directory");
}
