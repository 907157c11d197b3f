//! Datagrams arrive whole and in order, each checked byte for byte: a UDP ping-pong of 300
//! datagrams of every size pattern up to the largest IPv4 payload (65507 bytes, under
//! `MAX_SIZE`), each echoed back; and an unconnected Unix datagram endpoint, whose
//! `datagram_received` gives the sender's path.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::os::unix::net::UnixDatagram;
use std::rc::Rc;

use asyncio_loop::{
    run, DatagramEndpoint, DatagramProtocol, DatagramTransport, Error, EventLoop, Future,
    SocketName,
};

mod common;

/// Datagram `i`: its size cycles through small, medium and maximal, its bytes depend on `i`
/// and on the position in it.
fn datagram(i: usize) -> Vec<u8> {
    let size = match i % 4 {
        0 => 1 + i,
        1 => 1400 + i * 7,
        2 => 9000 + i * 31,
        _ => 65507 - i,
    };
    (0..size)
        .map(|j| (j * 31 + i * 7 + j / 251) as u8)
        .collect()
}

const COUNT: usize = 300;

/// Echoes every datagram to its sender, and keeps a copy.
#[derive(Default)]
struct Echo {
    transport: RefCell<Option<DatagramTransport>>,
    received: RefCell<Vec<Vec<u8>>>,
}

impl DatagramProtocol for Echo {
    fn connection_made(&self, transport: &DatagramTransport) {
        *self.transport.borrow_mut() = Some(transport.clone());
    }

    fn datagram_received(&self, data: &[u8], addr: &SocketName) {
        self.received.borrow_mut().push(data.to_vec());
        let transport = self.transport.borrow().clone().expect("made");
        transport.sendto(data, Some(addr.clone())).expect("sent");
    }
}

/// Sends datagram 0, then datagram `i + 1` once the echo of `i` is back and checked.
struct PingPong {
    transport: RefCell<Option<DatagramTransport>>,
    next: RefCell<usize>,
    done: Future<()>,
}

impl DatagramProtocol for PingPong {
    fn connection_made(&self, transport: &DatagramTransport) {
        *self.transport.borrow_mut() = Some(transport.clone());
    }

    fn datagram_received(&self, data: &[u8], _addr: &SocketName) {
        let i = *self.next.borrow();
        assert!(data == datagram(i).as_slice(), "echo {i} differs");
        *self.next.borrow_mut() = i + 1;
        if i + 1 == COUNT {
            let _ = self.done.set_result(());
            return;
        }
        let transport = self.transport.borrow().clone().expect("made");
        transport.sendto(&datagram(i + 1), None).expect("sent");
    }
}

#[test]
fn three_hundred_datagrams_come_back_byte_for_byte() {
    let received = run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let (server, echo) = event_loop
            .create_datagram_endpoint(
                || Rc::new(Echo::default()),
                DatagramEndpoint::new().local_addr(("127.0.0.1", 0)),
            )
            .await?;
        let server_addr: SocketAddr = server.get_extra_info("sockname").expect("bound");
        let done = event_loop.create_future::<()>();
        let finished = done.clone();
        let (client, ping) = event_loop
            .create_datagram_endpoint(
                move || {
                    Rc::new(PingPong {
                        transport: RefCell::new(None),
                        next: RefCell::new(0),
                        done: finished,
                    })
                },
                DatagramEndpoint::new().remote_addr(server_addr),
            )
            .await?;
        client
            .sendto(&datagram(0), None)
            .map_err(Error::exception)?;
        done.await?;
        assert_eq!(*ping.next.borrow(), COUNT);
        client.close();
        server.close();
        let received = echo.received.borrow().clone();
        Ok(received)
    })
    .expect("the echo completes");
    assert_eq!(received.len(), COUNT);
    for (i, data) in received.iter().enumerate() {
        assert!(*data == datagram(i), "datagram {i} differs at the server");
    }
}

/// Records each datagram and its sender.
#[derive(Default)]
struct Recorder {
    received: RefCell<Vec<(Vec<u8>, SocketName)>>,
    arrived: RefCell<Option<Future<()>>>,
}

impl DatagramProtocol for Recorder {
    fn datagram_received(&self, data: &[u8], addr: &SocketName) {
        self.received
            .borrow_mut()
            .push((data.to_vec(), addr.clone()));
        if let Some(arrived) = self.arrived.borrow_mut().take() {
            let _ = arrived.set_result(());
        }
    }
}

#[test]
fn a_unix_endpoint_gets_each_senders_path() {
    let directory = common::TempDir::new("datagram-unix");
    let (endpoint_path, sender_path) = (directory.join("endpoint"), directory.join("sender"));
    // A stale socket file where the endpoint binds: removed first, as CPython does.
    drop(UnixDatagram::bind(&endpoint_path).expect("a stale socket file"));
    let (endpoint, sender) = (endpoint_path.clone(), sender_path.clone());
    let received = run(async move {
        let (endpoint_path, sender_path) = (endpoint, sender);
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let (transport, recorder) = event_loop
            .create_datagram_endpoint(
                || Rc::new(Recorder::default()),
                DatagramEndpoint::new().local_path(&endpoint_path),
            )
            .await?;
        assert_eq!(
            transport.get_extra_info_name("sockname"),
            Some(SocketName::Unix(endpoint_path.clone()))
        );
        assert_eq!(transport.get_extra_info_name("peername"), None);
        let named = UnixDatagram::bind(&sender_path).map_err(Error::exception)?;
        let unnamed = UnixDatagram::unbound().map_err(Error::exception)?;
        for (i, sender) in [&named, &unnamed].into_iter().enumerate() {
            let arrived = event_loop.create_future::<()>();
            *recorder.arrived.borrow_mut() = Some(arrived.clone());
            sender
                .send_to(&datagram(i), &endpoint_path)
                .map_err(Error::exception)?;
            arrived.await?;
        }
        // The endpoint answers the named sender at its path.
        transport
            .sendto(b"reply", Some(SocketName::Unix(sender_path.clone())))
            .map_err(Error::exception)?;
        let mut buf = [0; 16];
        let n = named.recv(&mut buf).map_err(Error::exception)?;
        assert_eq!(&buf[..n], b"reply");
        transport.close();
        let received = recorder.received.borrow().clone();
        Ok(received)
    })
    .expect("the exchange completes");
    assert_eq!(
        received,
        vec![
            (datagram(0), SocketName::Unix(sender_path)),
            (datagram(1), SocketName::Unix("".into())),
        ]
    );
}
