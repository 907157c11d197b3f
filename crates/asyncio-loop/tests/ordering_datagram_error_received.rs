//! A connected UDP endpoint whose peer port is closed: the ICMP port-unreachable makes the next
//! `recvfrom` fail with `ECONNREFUSED`, which reaches `error_received` one pass after the send;
//! the transport stays open. `sendto` with another address is CPython's `ValueError`, empty data
//! sends nothing (3.12), and after `close` a connected transport drops what it is given, as in
//! CPython. Fixture: `datagram_error_received` in peers/python/asyncio_io_orderings.py.

mod common;

use std::net::{SocketAddr, UdpSocket};

use asyncio_loop::{run, sleep, DatagramEndpoint, Error, EventLoop, SocketName};
use common::datagram::DatagramPrinter;
use common::{assert_matches_fixture, out, py_bool};

#[test]
fn datagram_error_received() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let closed = {
            let probe = UdpSocket::bind("127.0.0.1:0").map_err(Error::exception)?;
            probe.local_addr().map_err(Error::exception)?
        };
        let done = event_loop.create_future::<()>();
        let lost = done.clone();
        let (transport, _) = event_loop
            .create_datagram_endpoint(
                move || DatagramPrinter::new("client", Some(lost), None),
                DatagramEndpoint::new().remote_addr(closed),
            )
            .await?;
        out("created");
        transport.sendto(b"ping", None).map_err(Error::exception)?;
        out("sent ping");
        for i in 0..3 {
            sleep(0.0).await?;
            out(format!("pass {i}"));
        }
        out(format!("is_closing {}", py_bool(transport.is_closing())));
        transport.sendto(b"again", None).map_err(Error::exception)?;
        out("sent again");
        for i in 0..2 {
            sleep(0.0).await?;
            out(format!("pass {i}"));
        }
        let other: SocketAddr = "127.0.0.1:9".parse().expect("an address");
        if let Err(error) = transport.sendto(b"x", Some(SocketName::Inet(other))) {
            let text = error
                .to_string()
                .replace(&closed.port().to_string(), "PORT");
            out(format!("sendto other address ValueError {text}"));
        }
        transport.sendto(b"", None).map_err(Error::exception)?;
        out("sent empty");
        for i in 0..2 {
            sleep(0.0).await?;
            out(format!("pass {i} after empty"));
        }
        transport.close();
        out("closed");
        transport.sendto(b"late", None).map_err(Error::exception)?;
        out("sent late");
        done.await?;
        transport.sendto(b"later", None).map_err(Error::exception)?;
        out(format!(
            "sent later, buffer {}",
            transport.get_write_buffer_size()
        ));
        Ok(())
    })
    .expect("the scenario completes");
    assert_matches_fixture("datagram_error_received");
}
