//! Echo over loopback through the streams API (`start_server` / `open_connection`) and through
//! the Protocol/Transport API (`create_server` / `create_connection`), on one loop; every
//! protocol event counted.

mod common;

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;

use asyncio_loop::{
    gather, open_connection, run, start_server, Error, EventLoop, Protocol, StreamReader,
    StreamWriter, Transport,
};

use common::echo_lines;

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().expect("an address")
}

#[test]
fn streams_echo_lines_between_two_clients_then_close() {
    let echoed = run(async {
        let server = start_server(echo_lines, any_port()).await?;
        let addr = server.sockets()[0];
        let client = |name: &'static str| async move {
            let (reader, writer) = open_connection(addr).await?;
            let mut got = Vec::new();
            for i in 0..3 {
                writer
                    .write(format!("{name} {i}\n").as_bytes())
                    .map_err(Error::exception)?;
                writer.drain().await?;
                got.push(String::from_utf8_lossy(&reader.readline().await?).into_owned());
            }
            writer.write_eof();
            let rest = reader.read_all().await?;
            assert!(rest.is_empty(), "nothing after the echoes");
            assert!(reader.at_eof());
            writer.close();
            writer.wait_closed().await?;
            Ok(got)
        };
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let a = event_loop.create_task(client("a"));
        let b = event_loop.create_task(client("b"));
        let results = gather(vec![a, b]).await?;
        server.close();
        server.wait_closed().await?;
        assert!(server.sockets().is_empty());
        Ok(results)
    })
    .expect("the echo completes");
    assert_eq!(echoed[0], ["a 0\n", "a 1\n", "a 2\n"]);
    assert_eq!(echoed[1], ["b 0\n", "b 1\n", "b 2\n"]);
}

/// Counts a protocol's calls.
#[derive(Default)]
struct Events {
    made: Cell<u32>,
    received: RefCell<Vec<u8>>,
    eof: Cell<u32>,
    lost: Cell<u32>,
    lost_with_error: Cell<u32>,
}

/// The server side: writes back what it gets; closes on EOF (eof_received returns false).
struct EchoProtocol {
    transport: RefCell<Option<Transport>>,
    events: Rc<Events>,
}

impl Protocol for EchoProtocol {
    fn connection_made(&self, transport: &Transport) {
        self.events.made.set(self.events.made.get() + 1);
        *self.transport.borrow_mut() = Some(transport.clone());
    }

    fn data_received(&self, data: &[u8]) {
        self.events.received.borrow_mut().extend_from_slice(data);
        if let Some(transport) = self.transport.borrow().as_ref() {
            transport.write(data).expect("writable");
        }
    }

    fn eof_received(&self) -> bool {
        self.events.eof.set(self.events.eof.get() + 1);
        false
    }

    fn connection_lost(&self, error: Option<Rc<std::io::Error>>) {
        self.events.lost.set(self.events.lost.get() + 1);
        if error.is_some() {
            self.events
                .lost_with_error
                .set(self.events.lost_with_error.get() + 1);
        }
        self.transport.borrow_mut().take();
    }
}

/// The client side: collects what comes back and completes `done` when the connection is
/// lost.
struct ClientProtocol {
    events: Rc<Events>,
    done: asyncio_loop::Future<()>,
}

impl Protocol for ClientProtocol {
    fn connection_made(&self, _transport: &Transport) {
        self.events.made.set(self.events.made.get() + 1);
    }

    fn data_received(&self, data: &[u8]) {
        self.events.received.borrow_mut().extend_from_slice(data);
    }

    fn eof_received(&self) -> bool {
        self.events.eof.set(self.events.eof.get() + 1);
        false
    }

    fn connection_lost(&self, error: Option<Rc<std::io::Error>>) {
        self.events.lost.set(self.events.lost.get() + 1);
        if error.is_some() {
            self.events
                .lost_with_error
                .set(self.events.lost_with_error.get() + 1);
        }
        let _ = self.done.set_result(());
    }
}

#[test]
fn protocol_echo_counts_every_event_on_both_sides() {
    let server_events = Rc::new(Events::default());
    let client_events = Rc::new(Events::default());
    let (server_side, client_side) = (server_events.clone(), client_events.clone());
    let message: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let sent = message.clone();
    run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let server = event_loop
            .create_server(
                move || {
                    Rc::new(EchoProtocol {
                        transport: RefCell::new(None),
                        events: server_side.clone(),
                    })
                },
                any_port(),
            )
            .await?;
        let done = event_loop.create_future::<()>();
        let client_done = done.clone();
        let (transport, _protocol) = event_loop
            .create_connection(
                move || {
                    Rc::new(ClientProtocol {
                        events: client_side,
                        done: client_done,
                    })
                },
                server.sockets()[0],
            )
            .await?;
        assert_eq!(
            transport.get_extra_info("peername"),
            Some(server.sockets()[0])
        );
        transport.write(&sent).map_err(Error::exception)?;
        transport.write_eof();
        done.await?;
        server.close();
        server.wait_closed().await
    })
    .expect("the echo completes");
    assert_eq!(server_events.made.get(), 1);
    assert_eq!(*server_events.received.borrow(), message);
    assert_eq!(server_events.eof.get(), 1);
    assert_eq!(server_events.lost.get(), 1);
    assert_eq!(server_events.lost_with_error.get(), 0);
    assert_eq!(client_events.made.get(), 1);
    assert_eq!(*client_events.received.borrow(), message);
    assert_eq!(client_events.eof.get(), 1);
    assert_eq!(client_events.lost.get(), 1);
    assert_eq!(client_events.lost_with_error.get(), 0);
}

#[test]
fn a_failing_client_connected_cb_is_reported_and_its_connection_closed() {
    #[derive(Debug)]
    struct HandlerFailed;
    impl std::fmt::Display for HandlerFailed {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("handler failed")
        }
    }
    impl std::error::Error for HandlerFailed {}

    let reports = Rc::new(RefCell::new(Vec::new()));
    let seen = reports.clone();
    run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        event_loop.set_exception_handler(Some(
            move |_: &EventLoop, context: &asyncio_loop::ExceptionContext| {
                let exception = context.exception.as_ref().map(ToString::to_string);
                seen.borrow_mut().push((context.message.clone(), exception));
            },
        ));
        let server = start_server(
            |_reader: StreamReader, _writer: StreamWriter| async {
                Err(Error::exception(HandlerFailed))
            },
            any_port(),
        )
        .await?;
        let (reader, writer) = open_connection(server.sockets()[0]).await?;
        // The server closes the connection: the client reads EOF.
        assert!(reader.read_all().await?.is_empty());
        writer.close();
        server.close();
        server.wait_closed().await
    })
    .expect("the scenario completes");
    assert_eq!(
        *reports.borrow(),
        [(
            "Unhandled exception in client_connected_cb".to_string(),
            Some("handler failed".to_string())
        )]
    );
}

#[test]
fn server_wait_closed_waits_for_its_open_connections() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let server = start_server(echo_lines, any_port()).await?;
        let (reader, writer) = open_connection(server.sockets()[0]).await?;
        writer.write(b"ping\n").map_err(Error::exception)?;
        assert_eq!(reader.readline().await?, b"ping\n");
        server.close();
        assert!(!server.is_serving());
        let waiting = server.clone();
        let closed = event_loop.create_task(async move { waiting.wait_closed().await });
        asyncio_loop::sleep(0.02).await?;
        assert!(
            !closed.done(),
            "wait_closed returned with a connection open"
        );
        // The client leaves: the server's handler sees EOF and closes; then wait_closed returns.
        writer.close();
        closed.await?;
        // Once closed, wait_closed returns at once.
        server.wait_closed().await
    })
    .expect("the scenario completes");
}

#[test]
fn connecting_to_a_closed_port_fails_with_the_os_error() {
    // A port that was just free: bind, note it, close.
    let addr = std::net::TcpListener::bind(any_port())
        .and_then(|listener| listener.local_addr())
        .expect("a free port");
    let outcome = run(async move { open_connection(addr).await.map(|_| ()) });
    match outcome {
        Err(asyncio_loop::RunError::Failed(Error::Exception(error))) => {
            let error = error
                .downcast_ref::<std::io::Error>()
                .expect("an io::Error");
            assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        Err(other) => panic!("expected ConnectionRefused, got {other}"),
        Ok(()) => panic!("expected ConnectionRefused, got a connection"),
    }
}

#[test]
fn a_server_keeps_serving_after_its_handle_is_dropped_until_the_loop_closes() {
    run(async {
        let addr = start_server(echo_lines, any_port()).await?.sockets()[0];
        // The `Server` is gone; the loop still listens (CPython's loop holds the socket too).
        let (reader, writer) = open_connection(addr).await?;
        writer.write(b"still here\n").map_err(Error::exception)?;
        assert_eq!(reader.readline().await?, b"still here\n");
        writer.close();
        writer.wait_closed().await
    })
    .expect("the echo completes");
}
