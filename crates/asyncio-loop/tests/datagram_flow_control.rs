//! The flow control of a datagram transport (`_FlowControlMixin` with
//! `_SelectorDatagramTransport`'s `_buffer_size`), at the default water marks (64 KiB / 16 KiB):
//! `pause_writing` exactly once when the buffer goes over the high mark, `resume_writing` exactly
//! once when `_sendto_ready` brings it to the low mark, every datagram delivered once and in
//! order. The peer is a Unix datagram socket that reads only when told: its queue fills and the
//! sender's `send` blocks, which loopback UDP never does on Linux (its datagrams leave the send
//! buffer inside the call, and a full receiver drops them).

use std::cell::RefCell;
use std::os::unix::net::UnixDatagram;
use std::rc::Rc;

use asyncio_loop::{
    run, sleep, DatagramEndpoint, DatagramProtocol, DatagramTransport, Error, EventLoop,
    DEFAULT_HIGH_WATER,
};

mod common;

/// What the protocol saw: each pause and resume with the buffer size at that moment.
#[derive(Default)]
struct Watcher {
    transport: RefCell<Option<DatagramTransport>>,
    events: RefCell<Vec<(&'static str, usize)>>,
}

impl Watcher {
    fn record(&self, event: &'static str) {
        let size = self
            .transport
            .borrow()
            .as_ref()
            .map_or(0, DatagramTransport::get_write_buffer_size);
        self.events.borrow_mut().push((event, size));
    }
}

impl DatagramProtocol for Watcher {
    fn connection_made(&self, transport: &DatagramTransport) {
        *self.transport.borrow_mut() = Some(transport.clone());
    }

    fn pause_writing(&self) {
        self.record("pause");
    }

    fn resume_writing(&self) {
        self.record("resume");
    }

    fn connection_lost(&self, _error: Option<Rc<std::io::Error>>) {
        self.record("lost");
    }
}

const SIZE: usize = 1000;

/// Datagram `i`: its number, then filler.
fn datagram(i: u32) -> Vec<u8> {
    let mut data = i.to_be_bytes().to_vec();
    data.resize(SIZE, (i % 251) as u8);
    data
}

#[test]
fn pause_and_resume_once_each_at_the_default_water_marks() {
    let directory = common::TempDir::new("datagram-flow-control");
    let path = directory.join("peer");
    let peer = UnixDatagram::bind(&path).expect("bind");
    peer.set_nonblocking(true).expect("non-blocking");
    let (events, received, sent) = run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let (transport, watcher) = event_loop
            .create_datagram_endpoint(
                || Rc::new(Watcher::default()),
                DatagramEndpoint::new().remote_path(&path),
            )
            .await?;
        assert_eq!(transport.get_write_buffer_limits(), (16 * 1024, 64 * 1024));
        let mut sent = 0;
        while watcher.events.borrow().is_empty() {
            transport
                .sendto(&datagram(sent), None)
                .map_err(Error::exception)?;
            sent += 1;
        }
        // Over the high-water mark: the first size above it, one datagram more than it holds.
        assert_eq!(
            *watcher.events.borrow(),
            vec![("pause", (DEFAULT_HIGH_WATER / SIZE + 1) * SIZE)]
        );
        // More while paused: buffered, no second pause.
        for _ in 0..5 {
            transport
                .sendto(&datagram(sent), None)
                .map_err(Error::exception)?;
            sent += 1;
        }
        transport.close();
        let mut received = Vec::new();
        let mut buf = [0; 2 * SIZE];
        while watcher.events.borrow().last().map(|e| e.0) != Some("lost") {
            while let Ok(n) = peer.recv(&mut buf) {
                received.push(buf[..n].to_vec());
            }
            sleep(0.0).await?;
        }
        while let Ok(n) = peer.recv(&mut buf) {
            received.push(buf[..n].to_vec());
        }
        let events = watcher.events.borrow().clone();
        Ok((events, received, sent))
    })
    .expect("the scenario completes");
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[0].0, "pause");
    assert_eq!(events[1].0, "resume");
    assert!(events[1].1 <= DEFAULT_HIGH_WATER / 4, "{events:?}");
    // close waited for the buffer: connection_lost once it was empty.
    assert_eq!(events[2], ("lost", 0));
    assert_eq!(received.len(), sent as usize);
    for (i, data) in received.iter().enumerate() {
        assert!(*data == datagram(i as u32), "datagram {i} differs");
    }
}
