//! `create_datagram_endpoint` over loopback UDP: an unconnected server echoing with
//! `sendto(data, addr)` and a connected client; when each `connection_made` runs (through
//! `call_soon`: after a callback queued before) and `create_datagram_endpoint` returns, one `datagram_received` per pass (one `recvfrom` per
//! readiness event) beside a `call_soon` marker, sockname/peername, and `close` on both sides,
//! as in CPython. Fixture: `datagram_echo` in peers/python/asyncio_io_orderings.py.

mod common;

use asyncio_loop::{run, sleep, DatagramEndpoint, Error, EventLoop, SocketName};
use common::datagram::DatagramPrinter;
use common::{assert_matches_fixture, out, py_bool};

#[test]
fn datagram_echo() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let server_done = event_loop.create_future::<()>();
        let client_done = event_loop.create_future::<()>();
        let echo = DatagramPrinter::echo("server", Some(server_done.clone()));
        let factory = echo.clone();
        let (server, _) = event_loop
            .create_datagram_endpoint(
                move || factory,
                DatagramEndpoint::new().local_addr(("127.0.0.1", 0)),
            )
            .await?;
        out("server created");
        let server_addr = server.get_extra_info("sockname").expect("bound");
        out(format!(
            "server peername {}",
            server
                .get_extra_info("peername")
                .map_or("None".to_owned(), |addr| addr.to_string())
        ));
        event_loop.call_soon(|| out("call_soon before the client endpoint"));
        let done = client_done.clone();
        let (client, _) = event_loop
            .create_datagram_endpoint(
                move || DatagramPrinter::new("client", Some(done), Some(server_addr.into())),
                DatagramEndpoint::new().remote_addr(server_addr),
            )
            .await?;
        out("client created");
        out(format!(
            "client peername is server {}",
            py_bool(client.get_extra_info("peername") == Some(server_addr))
        ));
        *echo.peer.borrow_mut() = client.get_extra_info_name("sockname");
        event_loop.call_soon(|| out("call_soon marker"));
        client.sendto(b"hello", None).map_err(Error::exception)?;
        out("client sent hello");
        for i in 0..3 {
            sleep(0.0).await?;
            out(format!("pass {i}"));
        }
        client.sendto(b"a", None).map_err(Error::exception)?;
        client
            .sendto(b"b", Some(SocketName::Inet(server_addr)))
            .map_err(Error::exception)?;
        out("client sent a and b");
        for i in 0..5 {
            sleep(0.0).await?;
            out(format!("pass {i}"));
        }
        client.close();
        out(format!(
            "client close is_closing {}",
            py_bool(client.is_closing())
        ));
        server.close();
        out("server close");
        client_done.await?;
        out("client done");
        server_done.await?;
        out("server done");
        Ok(())
    })
    .expect("the scenario completes");
    assert_matches_fixture("datagram_echo");
}
