//! The write buffer of a datagram transport over a Unix datagram socket whose peer does not
//! read, so that the send blocks once the peer's queue is full (loopback UDP never blocks on
//! Linux): `pause_writing` over the high-water mark; `close` with datagrams buffered waits until
//! they are sent, then `resume_writing` and `connection_lost` in the same callback; `abort`
//! drops them at once (`get_write_buffer_size` still counts them, as CPython's). Fixture:
//! `datagram_close_buffered` in peers/python/asyncio_io_orderings.py.

mod common;

use std::os::unix::net::UnixDatagram;

use asyncio_loop::{run, sleep, DatagramEndpoint, DatagramTransport, Error, EventLoop, SocketName};
use common::datagram::DatagramPrinter;
use common::{assert_matches_fixture, out, py_bool, TempDir};

/// Receive everything queued; how many datagrams.
fn drain(peer: &UnixDatagram) -> usize {
    let mut buf = [0; 4096];
    let mut count = 0;
    while peer.recv(&mut buf).is_ok() {
        count += 1;
    }
    count
}

/// Send 1000-byte datagrams until one is buffered, then four more; how many until buffering.
fn fill(transport: &DatagramTransport) -> usize {
    let mut sent = 0;
    while transport.get_write_buffer_size() == 0 {
        transport.sendto(&[b'x'; 1000], None).expect("connected");
        sent += 1;
    }
    for _ in 0..4 {
        transport.sendto(&[b'y'; 1000], None).expect("connected");
    }
    sent
}

#[test]
fn datagram_close_buffered() {
    let directory = TempDir::new("datagram-close-buffered");
    let path = directory.join("peer");
    run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let peer = UnixDatagram::bind(&path).map_err(Error::exception)?;
        peer.set_nonblocking(true).map_err(Error::exception)?;
        let done = event_loop.create_future::<()>();
        let lost = done.clone();
        let (transport, _) = event_loop
            .create_datagram_endpoint(
                move || DatagramPrinter::new("sender", Some(lost), None),
                DatagramEndpoint::new().remote_path(&path),
            )
            .await?;
        out(format!(
            "peername is path {}",
            py_bool(
                transport.get_extra_info_name("peername") == Some(SocketName::Unix(path.clone()))
            )
        ));
        let sockname = transport.get_extra_info_name("sockname");
        out(format!(
            "sockname {}",
            if sockname == Some(SocketName::Unix("".into())) {
                "''"
            } else {
                "?"
            }
        ));
        transport
            .set_write_buffer_limits(Some(3000), None)
            .map_err(Error::exception)?;
        let sent = fill(&transport);
        out(format!(
            "buffered size={}",
            transport.get_write_buffer_size()
        ));
        transport.close();
        out(format!(
            "close is_closing {}",
            py_bool(transport.is_closing())
        ));
        for i in 0..2 {
            sleep(0.0).await?;
            out(format!("pass {i}"));
        }
        out(format!(
            "peer drained what was sent {}",
            py_bool(drain(&peer) == sent - 1)
        ));
        for i in 0..3 {
            sleep(0.0).await?;
            out(format!("pass {i}"));
        }
        out(format!("peer drained {}", drain(&peer)));
        done.await?;

        let done = event_loop.create_future::<()>();
        let lost = done.clone();
        let (transport, _) = event_loop
            .create_datagram_endpoint(
                move || DatagramPrinter::new("aborted", Some(lost), None),
                DatagramEndpoint::new().remote_path(&path),
            )
            .await?;
        transport
            .set_write_buffer_limits(Some(3000), None)
            .map_err(Error::exception)?;
        let sent = fill(&transport);
        transport.abort();
        out(format!(
            "abort is_closing {} size={}",
            py_bool(transport.is_closing()),
            transport.get_write_buffer_size()
        ));
        done.await?;
        out(format!(
            "peer drained what was sent {}",
            py_bool(drain(&peer) == sent - 1)
        ));
        for i in 0..2 {
            sleep(0.0).await?;
            out(format!("pass {i}"));
        }
        out(format!("peer drained {}", drain(&peer)));
        Ok(())
    })
    .expect("the scenario completes");
    assert_matches_fixture("datagram_close_buffered");
}
