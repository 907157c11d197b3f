//! Flow control and failures on real sockets: `drain` waits while the peer does not read and
//! returns once it does (the transport's 64 KiB / 16 KiB water marks, as `_FlowControlMixin`);
//! a peer's reset reaches the reader, `drain` and `wait_closed` as an error, never a panic.

use std::cell::{Cell, RefCell};
use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener};
use std::rc::Rc;
use std::time::Duration;

use asyncio_loop::{
    open_connection, run, sleep, Error, EventLoop, Protocol, StreamError, Transport,
    DEFAULT_HIGH_WATER,
};

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().expect("an address")
}

/// A server that reads nothing until told to, then counts what it reads.
struct SlowReader {
    transport: Rc<RefCell<Option<Transport>>>,
    received: Rc<Cell<usize>>,
}

impl Protocol for SlowReader {
    fn connection_made(&self, transport: &Transport) {
        transport.pause_reading();
        *self.transport.borrow_mut() = Some(transport.clone());
    }

    fn data_received(&self, data: &[u8]) {
        self.received.set(self.received.get() + data.len());
    }
}

/// More than the kernel's socket buffers hold on loopback here (tcp_wmem max 4 MiB, and a
/// receiver that does not read does not grow its window).
const BIG: usize = 16 * 1024 * 1024;

#[test]
fn drain_waits_while_the_peer_does_not_read_and_returns_once_it_does() {
    let server_transport = Rc::new(RefCell::new(None::<Transport>));
    let received = Rc::new(Cell::new(0));
    let (transport_slot, received_count) = (server_transport.clone(), received.clone());
    run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let server = event_loop
            .create_server(
                move || {
                    Rc::new(SlowReader {
                        transport: transport_slot.clone(),
                        received: received_count.clone(),
                    })
                },
                any_port(),
            )
            .await?;
        let (_reader, writer) = open_connection(server.sockets()[0]).await?;
        // Let the server's connection_made (and its pause_reading) run.
        for _ in 0..4 {
            sleep(0.0).await?;
        }
        assert!(
            server_transport.borrow().is_some(),
            "the server has its connection"
        );
        writer.write(&vec![7u8; BIG]).map_err(Error::exception)?;
        let buffered = writer.transport().get_write_buffer_size();
        assert!(
            buffered > DEFAULT_HIGH_WATER,
            "only {buffered} bytes buffered"
        );
        let draining_writer = writer.clone();
        let drain = event_loop.create_task(async move { draining_writer.drain().await });
        // The peer reads nothing: drain stays blocked however long we wait.
        sleep(0.05).await?;
        assert!(!drain.done(), "drain returned while the peer read nothing");
        assert!(writer.transport().get_write_buffer_size() > DEFAULT_HIGH_WATER);
        // The peer reads: the buffer drains to the low-water mark and drain returns.
        if let Some(transport) = server_transport.borrow().as_ref() {
            transport.resume_reading();
        }
        drain.await?;
        let (low, high) = writer.transport().get_write_buffer_limits();
        assert_eq!((low, high), (DEFAULT_HIGH_WATER / 4, DEFAULT_HIGH_WATER));
        assert!(writer.transport().get_write_buffer_size() <= low);
        writer.close();
        writer.wait_closed().await?;
        // Everything arrives once the writer's buffer is flushed (bounded: 10 s at most).
        for _ in 0..10_000 {
            if received.get() >= BIG {
                break;
            }
            sleep(0.001).await?;
        }
        assert_eq!(received.get(), BIG);
        server.close();
        server.wait_closed().await
    })
    .expect("the scenario completes");
}

/// Is `error` the connection's reset (or the broken pipe a write into a reset socket gives)?
fn is_reset(error: &Error) -> bool {
    match error {
        Error::Exception(error) => error.downcast_ref::<io::Error>().is_some_and(|error| {
            matches!(
                error.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            )
        }),
        _ => false,
    }
}

#[test]
fn a_peer_reset_fails_reads_drain_and_wait_closed_without_a_panic() {
    // The peer: a plain thread that reads one byte and closes with unread data (an RST).
    let listener = TcpListener::bind(any_port()).expect("bind");
    let addr = listener.local_addr().expect("address");
    let peer = std::thread::spawn(move || -> io::Result<()> {
        let (mut stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut one = [0u8; 1];
        stream.read_exact(&mut one)?;
        std::thread::sleep(Duration::from_millis(20));
        Ok(())
    });
    let outcome = run(async move {
        let (reader, writer) = open_connection(addr).await?;
        let mut write_failed = None;
        // Keep writing until the reset surfaces (the peer resets within ~20 ms; bounded at
        // 10,000 rounds of at least 1 ms).
        for _ in 0..10_000 {
            writer.write(&[1u8; 4096]).map_err(Error::exception)?;
            if let Err(error) = writer.drain().await {
                write_failed = Some(error);
                break;
            }
            sleep(0.001).await?;
        }
        let read = reader.read(100).await;
        let closed = writer.wait_closed().await;
        Ok((write_failed, read, closed))
    })
    .expect("the loop survives the reset");
    peer.join()
        .expect("the peer thread")
        .expect("the peer's I/O");
    let (write_failed, read, closed) = outcome;
    let write_failed = write_failed.expect("drain reported the reset");
    assert!(
        is_reset(&write_failed) || write_failed.to_string() == "Connection lost",
        "{write_failed}"
    );
    match read {
        Err(StreamError::Failed(error)) => assert!(is_reset(&error), "{error}"),
        other => panic!("the read should fail with the reset, got {other:?}"),
    }
    assert!(closed.as_ref().is_err_and(is_reset), "{closed:?}");
}

/// A client protocol that counts `pause_writing` / `resume_writing` and completes `resumed` on
/// the first resume.
struct CountingWriter {
    pauses: Rc<Cell<u32>>,
    resumes: Rc<Cell<u32>>,
    resumed: asyncio_loop::Future<()>,
}

impl Protocol for CountingWriter {
    fn pause_writing(&self) {
        self.pauses.set(self.pauses.get() + 1);
    }

    fn resume_writing(&self) {
        self.resumes.set(self.resumes.get() + 1);
        let _ = self.resumed.set_result(());
    }
}

#[test]
fn pause_and_resume_writing_are_called_once_each_across_the_water_marks() {
    let server_transport = Rc::new(RefCell::new(None::<Transport>));
    let (pauses, resumes) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let (pause_count, resume_count) = (pauses.clone(), resumes.clone());
    let transport_slot = server_transport.clone();
    run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let received = Rc::new(Cell::new(0));
        let server = event_loop
            .create_server(
                move || {
                    Rc::new(SlowReader {
                        transport: transport_slot.clone(),
                        received: received.clone(),
                    })
                },
                any_port(),
            )
            .await?;
        let resumed = event_loop.create_future::<()>();
        let protocol_resumed = resumed.clone();
        let (transport, _) = event_loop
            .create_connection(
                move || {
                    Rc::new(CountingWriter {
                        pauses: pause_count,
                        resumes: resume_count,
                        resumed: protocol_resumed,
                    })
                },
                server.sockets()[0],
            )
            .await?;
        for _ in 0..4 {
            sleep(0.0).await?;
        }
        // Below the high-water mark nothing happens; over it, one pause however much is added.
        transport.write(&[0u8; 1024]).map_err(Error::exception)?;
        assert_eq!(pauses.get(), 0);
        for _ in 0..64 {
            transport
                .write(&vec![1u8; BIG / 64])
                .map_err(Error::exception)?;
        }
        assert_eq!(pauses.get(), 1);
        assert!(transport.get_write_buffer_size() > DEFAULT_HIGH_WATER);
        sleep(0.02).await?;
        assert_eq!((pauses.get(), resumes.get()), (1, 0));
        if let Some(peer) = server_transport.borrow().as_ref() {
            peer.resume_reading();
        }
        resumed.await?;
        assert_eq!((pauses.get(), resumes.get()), (1, 1));
        assert!(transport.get_write_buffer_size() <= DEFAULT_HIGH_WATER / 4);
        // Water marks that are not high >= low are refused and change nothing.
        assert_eq!(
            transport.set_write_buffer_limits(Some(10), Some(20)),
            Err(asyncio_loop::WaterMarksError { high: 10, low: 20 })
        );
        assert_eq!(
            transport.get_write_buffer_limits(),
            (DEFAULT_HIGH_WATER / 4, DEFAULT_HIGH_WATER)
        );
        // Only low given: high is 4 x low (transports._FlowControlMixin).
        transport
            .set_write_buffer_limits(None, Some(1000))
            .map_err(Error::exception)?;
        assert_eq!(transport.get_write_buffer_limits(), (1000, 4000));
        transport.close();
        server.close();
        Ok(())
    })
    .expect("the scenario completes");
}

/// A client protocol that counts `connection_lost` calls and whether they carried an error.
struct LostCounter {
    lost: Rc<Cell<u32>>,
    with_error: Rc<Cell<u32>>,
}

impl Protocol for LostCounter {
    fn connection_lost(&self, error: Option<Rc<io::Error>>) {
        self.lost.set(self.lost.get() + 1);
        if error.is_some() {
            self.with_error.set(self.with_error.get() + 1);
        }
    }
}

#[test]
fn abort_drops_the_buffer_and_loses_the_connection_once_close_after_abort_does_nothing() {
    let (lost, with_error) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let (lost_count, error_count) = (lost.clone(), with_error.clone());
    let (lost_seen, error_seen) = (lost.clone(), with_error.clone());
    run(async move {
        let (lost, with_error) = (lost_seen, error_seen);
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let server = event_loop
            .create_server(
                || {
                    Rc::new(SlowReader {
                        transport: Rc::new(RefCell::new(None)),
                        received: Rc::new(Cell::new(0)),
                    })
                },
                any_port(),
            )
            .await?;
        let (transport, _) = event_loop
            .create_connection(
                move || {
                    Rc::new(LostCounter {
                        lost: lost_count,
                        with_error: error_count,
                    })
                },
                server.sockets()[0],
            )
            .await?;
        transport.write(&vec![3u8; BIG]).map_err(Error::exception)?;
        assert!(transport.get_write_buffer_size() > 0);
        transport.abort();
        assert_eq!(transport.get_write_buffer_size(), 0);
        assert!(transport.is_closing());
        transport.close();
        transport.abort();
        // connection_lost comes from a callback, one pass later.
        assert_eq!(lost.get(), 0);
        sleep(0.0).await?;
        sleep(0.0).await?;
        assert_eq!((lost.get(), with_error.get()), (1, 0));
        // Writing to a lost connection is dropped silently (CPython counts, and logs from the
        // fifth such write).
        transport.write(b"late").map_err(Error::exception)?;
        server.close();
        Ok(())
    })
    .expect("the scenario completes");
    assert_eq!((lost.get(), with_error.get()), (1, 0));
}
