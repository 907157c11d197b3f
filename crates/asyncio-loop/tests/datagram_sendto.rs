//! `DatagramTransport::sendto` as CPython 3.12's `_SelectorDatagramTransport.sendto`: the
//! address rules of a connected transport, empty data, `sendto` after `close` (a connected
//! transport drops and counts; an unconnected one still sends until `connection_lost`), a
//! system error to `error_received`, and `allow_broadcast`'s unconnected default address.
//! Each peer is a plain non-blocking UDP socket: loopback delivers inside the `sendto` call,
//! so what arrived can be read at once.

use std::cell::RefCell;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::rc::Rc;

use asyncio_loop::{
    run, sleep, DatagramEndpoint, DatagramProtocol, Error, EventLoop, SendtoError, SocketName,
};

/// Records `error_received` and `connection_lost`.
#[derive(Default)]
struct Errors {
    errors: RefCell<Vec<Option<i32>>>,
    lost: RefCell<usize>,
}

impl DatagramProtocol for Errors {
    fn error_received(&self, error: io::Error) {
        self.errors.borrow_mut().push(error.raw_os_error());
    }

    fn connection_lost(&self, _error: Option<Rc<io::Error>>) {
        *self.lost.borrow_mut() += 1;
    }
}

/// A bound non-blocking UDP socket and its address.
fn peer() -> (UdpSocket, SocketAddr) {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_nonblocking(true).expect("non-blocking");
    let addr = sock.local_addr().expect("bound");
    (sock, addr)
}

/// Every datagram waiting on `sock`.
fn arrived(sock: &UdpSocket) -> Vec<Vec<u8>> {
    let mut buf = [0; 2048];
    let mut all = Vec::new();
    while let Ok(n) = sock.recv(&mut buf) {
        all.push(buf[..n].to_vec());
    }
    all
}

#[test]
fn a_connected_transport_takes_its_peers_address_or_none() {
    let (sock, addr) = peer();
    let (other, other_addr) = peer();
    run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let (transport, protocol) = event_loop
            .create_datagram_endpoint(
                || Rc::new(Errors::default()),
                DatagramEndpoint::new().remote_addr(addr),
            )
            .await?;
        let refused = transport.sendto(b"wrong", Some(other_addr.into()));
        assert_eq!(refused, Err(SendtoError::InvalidAddress(addr.into())));
        assert_eq!(
            refused.unwrap_err().to_string(),
            format!(
                "Invalid address: must be None or ('127.0.0.1', {})",
                addr.port()
            )
        );
        transport.sendto(b"none", None).map_err(Error::exception)?;
        transport
            .sendto(b"same", Some(addr.into()))
            .map_err(Error::exception)?;
        // 3.12 sends nothing for empty data (3.13 sends a zero-length datagram).
        transport.sendto(b"", None).map_err(Error::exception)?;
        assert_eq!(arrived(&sock), vec![b"none".to_vec(), b"same".to_vec()]);
        assert!(arrived(&other).is_empty());
        transport.close();
        // Dropped (CPython counts it in _conn_lost), before and after connection_lost.
        transport
            .sendto(b"after close", None)
            .map_err(Error::exception)?;
        sleep(0.0).await?;
        assert_eq!(*protocol.lost.borrow(), 1);
        transport
            .sendto(b"after lost", None)
            .map_err(Error::exception)?;
        assert!(arrived(&sock).is_empty());
        assert!(protocol.errors.borrow().is_empty());
        Ok(())
    })
    .expect("the scenario completes");
}

#[test]
fn an_unconnected_transport_sends_until_connection_lost() {
    let (sock, addr) = peer();
    run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let (transport, protocol) = event_loop
            .create_datagram_endpoint(
                || Rc::new(Errors::default()),
                DatagramEndpoint::new().local_addr(("127.0.0.1", 0)),
            )
            .await?;
        assert_eq!(transport.get_extra_info("peername"), None);
        assert_eq!(
            transport.sendto(b"where", None),
            Err(SendtoError::AddressRequired)
        );
        let path = SocketName::Unix("/nowhere".into());
        assert_eq!(
            transport.sendto(b"path", Some(path)),
            Err(SendtoError::WrongFamily)
        );
        transport.close();
        // CPython checks _conn_lost only for a connected transport: this one still sends.
        transport
            .sendto(b"closing", Some(addr.into()))
            .map_err(Error::exception)?;
        assert_eq!(arrived(&sock), vec![b"closing".to_vec()]);
        sleep(0.0).await?;
        assert_eq!(*protocol.lost.borrow(), 1);
        // CPython's AttributeError on its socket, None by now.
        assert_eq!(
            transport.sendto(b"closed", Some(addr.into())),
            Err(SendtoError::Closed)
        );
        assert!(arrived(&sock).is_empty());
        assert!(!transport.is_reading());
        Ok(())
    })
    .expect("the scenario completes");
}

#[test]
fn a_failed_send_goes_to_error_received_and_the_transport_stays_open() {
    let (sock, addr) = peer();
    run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let (transport, protocol) = event_loop
            .create_datagram_endpoint(
                || Rc::new(Errors::default()),
                DatagramEndpoint::new().local_addr(("127.0.0.1", 0)),
            )
            .await?;
        // An IPv6 destination on an IPv4 socket: EAFNOSUPPORT from sendto(2).
        let v6: SocketAddr = "[::1]:9".parse().expect("an address");
        transport
            .sendto(b"v6", Some(v6.into()))
            .map_err(Error::exception)?;
        assert_eq!(
            *protocol.errors.borrow(),
            vec![Some(rustix::io::Errno::AFNOSUPPORT.raw_os_error())]
        );
        assert!(!transport.is_closing());
        assert_eq!(transport.get_write_buffer_size(), 0);
        transport
            .sendto(b"v4", Some(addr.into()))
            .map_err(Error::exception)?;
        assert_eq!(arrived(&sock), vec![b"v4".to_vec()]);
        transport.close();
        Ok(())
    })
    .expect("the scenario completes");
}

#[test]
fn allow_broadcast_keeps_the_remote_address_without_connecting() {
    let (sock, addr) = peer();
    run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let (transport, _) = event_loop
            .create_datagram_endpoint(
                || Rc::new(Errors::default()),
                DatagramEndpoint::new()
                    .remote_addr(addr)
                    .allow_broadcast(true),
            )
            .await?;
        assert_eq!(transport.get_extra_info("peername"), None);
        transport
            .sendto(b"default", None)
            .map_err(Error::exception)?;
        assert_eq!(
            transport.sendto(
                b"other",
                Some(
                    "127.0.0.1:9"
                        .parse::<SocketAddr>()
                        .expect("an address")
                        .into()
                )
            ),
            Err(SendtoError::InvalidAddress(addr.into()))
        );
        assert_eq!(arrived(&sock), vec![b"default".to_vec()]);
        transport.close();
        Ok(())
    })
    .expect("the scenario completes");
}
