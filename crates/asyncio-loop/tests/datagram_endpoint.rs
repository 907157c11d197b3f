//! `create_datagram_endpoint`'s options and their errors, as CPython 3.12's: no address and no
//! family, families that do not match, a path where an IP address is expected and the reverse,
//! a family alone (an unbound socket), a host name, `reuse_port`, a bind conflict; and
//! `pause_reading`/`resume_reading`.

use std::cell::RefCell;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::rc::Rc;

use asyncio_loop::{
    run, sleep, DatagramEndpoint, DatagramProtocol, DatagramTransport, EndpointError, Error,
    EventLoop, Family, SocketName,
};

/// Counts datagrams.
#[derive(Default)]
struct Count(RefCell<usize>);

impl DatagramProtocol for Count {
    fn datagram_received(&self, _data: &[u8], _addr: &SocketName) {
        *self.0.borrow_mut() += 1;
    }
}

/// The endpoint `endpoint` makes, or its error.
fn endpoint(endpoint: DatagramEndpoint) -> Result<(DatagramTransport, Rc<Count>), Error> {
    run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let made = event_loop
            .create_datagram_endpoint(|| Rc::new(Count::default()), endpoint)
            .await;
        if let Ok((transport, _)) = &made {
            transport.close();
        }
        Ok(made)
    })
    .expect("the loop runs")
}

fn endpoint_error(options: DatagramEndpoint) -> Option<EndpointError> {
    match endpoint(options) {
        Err(Error::Exception(error)) => error.downcast_ref::<EndpointError>().copied(),
        _ => None,
    }
}

fn os_error(options: DatagramEndpoint) -> Option<(io::ErrorKind, String)> {
    match endpoint(options) {
        Err(Error::Exception(error)) => error
            .downcast_ref::<io::Error>()
            .map(|error| (error.kind(), error.to_string())),
        _ => None,
    }
}

#[test]
fn options_that_cannot_make_a_socket_are_refused() {
    assert_eq!(
        endpoint_error(DatagramEndpoint::new()),
        Some(EndpointError::UnexpectedAddressFamily)
    );
    let v4: SocketAddr = "127.0.0.1:9".parse().expect("an address");
    let v6: SocketAddr = "[::1]:9".parse().expect("an address");
    assert_eq!(
        endpoint_error(DatagramEndpoint::new().local_addr(v4).remote_addr(v6)),
        Some(EndpointError::NoAddressInformation)
    );
    assert_eq!(
        endpoint_error(DatagramEndpoint::new().remote_addr(v4).family(Family::Unix)),
        Some(EndpointError::StringExpected)
    );
    assert_eq!(
        endpoint_error(
            DatagramEndpoint::new()
                .local_path("/nowhere")
                .family(Family::Inet)
        ),
        Some(EndpointError::TupleExpected)
    );
    assert_eq!(
        os_error(DatagramEndpoint::new().local_addr(v4).family(Family::Inet6)),
        Some((
            io::ErrorKind::Other,
            "getaddrinfo() returned empty list".to_owned()
        ))
    );
}

#[test]
fn a_family_alone_makes_an_unbound_socket_that_can_send() {
    let peer = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let addr = peer.local_addr().expect("bound");
    run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let (transport, _) = event_loop
            .create_datagram_endpoint(
                || Rc::new(Count::default()),
                DatagramEndpoint::new().family(Family::Inet),
            )
            .await?;
        assert_eq!(
            transport.get_extra_info("sockname"),
            Some("0.0.0.0:0".parse().expect("an address"))
        );
        transport
            .sendto(b"unbound", Some(addr.into()))
            .map_err(Error::exception)?;
        let mut buf = [0; 16];
        let n = peer.recv(&mut buf).map_err(Error::exception)?;
        assert_eq!(&buf[..n], b"unbound");
        transport.close();
        Ok(())
    })
    .expect("the scenario completes");
}

#[test]
fn a_taken_port_fails_to_bind_unless_both_reuse_it() {
    let (first, _) =
        endpoint(DatagramEndpoint::new().local_addr(("127.0.0.1", 0))).expect("an endpoint");
    let taken = first.get_extra_info("sockname").expect("bound");
    // Closed (connection_lost ran), so the port is free again only once the socket is gone.
    let holder = UdpSocket::bind(taken).expect("the port is free again");
    let refused = os_error(DatagramEndpoint::new().local_addr(taken));
    assert_eq!(refused.map(|e| e.0), Some(io::ErrorKind::AddrInUse));
    drop(holder);
    run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let reuse = || DatagramEndpoint::new().local_addr(taken).reuse_port(true);
        let (one, _) = event_loop
            .create_datagram_endpoint(|| Rc::new(Count::default()), reuse())
            .await?;
        let (two, _) = event_loop
            .create_datagram_endpoint(|| Rc::new(Count::default()), reuse())
            .await?;
        assert_eq!(one.get_extra_info("sockname"), Some(taken));
        assert_eq!(two.get_extra_info("sockname"), Some(taken));
        one.close();
        two.close();
        Ok(())
    })
    .expect("both bind with SO_REUSEPORT");
}

#[test]
fn a_host_name_is_resolved() {
    let (transport, _) = endpoint(DatagramEndpoint::new().local_addr(("localhost", 0)))
        .expect("an endpoint on localhost");
    let name = transport.get_extra_info("sockname").expect("bound");
    assert!(name.ip().is_loopback(), "{name}");
}

#[test]
fn pause_reading_holds_datagrams_until_resume_reading() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let (transport, count) = event_loop
            .create_datagram_endpoint(
                || Rc::new(Count::default()),
                DatagramEndpoint::new().local_addr(("127.0.0.1", 0)),
            )
            .await?;
        let addr = transport.get_extra_info("sockname").expect("bound");
        let sender = UdpSocket::bind("127.0.0.1:0").map_err(Error::exception)?;
        transport.pause_reading();
        assert!(!transport.is_reading());
        for _ in 0..3 {
            sender.send_to(b"held", addr).map_err(Error::exception)?;
        }
        for _ in 0..3 {
            sleep(0.0).await?;
        }
        assert_eq!(*count.0.borrow(), 0);
        transport.resume_reading();
        // One datagram per pass (the reader runs once per readiness event, after the task's
        // step in the pass the event comes in).
        let mut counts = Vec::new();
        for _ in 0..5 {
            sleep(0.0).await?;
            counts.push(*count.0.borrow());
        }
        assert_eq!(counts, [0, 1, 2, 3, 3]);
        transport.close();
        Ok(())
    })
    .expect("the scenario completes");
}
