//! The UDP handle on its own loop (libuv's test-udp-*.c style): a completed send's callback
//! runs from the pending phase, never inside `send`; a handle that starts reading gets the
//! datagrams that arrived (and were reported by a poll) before it started.

use std::cell::RefCell;
use std::net::{SocketAddr, UdpSocket};
use std::rc::Rc;

use uv_loop::uv::{Loop, PrepareHandle, RunMode, TimerHandle, UdpHandle};

fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().expect("addr")
}

/// `uv_udp_send` on an idle handle writes at once and feeds the watcher: the callback comes
/// in the next pending phase, before that iteration's prepare handles. A second send made
/// while the first is outstanding waits for the write watcher, and is written by the fed
/// pending callback before it runs both callbacks (`uv__udp_io`: `sendmsg`, then
/// `run_completed`).
#[test]
fn completed_sends_run_from_the_pending_phase() {
    let event_loop = Loop::new().expect("loop");
    let log = Rc::new(RefCell::new(Vec::<String>::new()));
    let prepare = PrepareHandle::new(&event_loop);
    let out = log.clone();
    prepare
        .start(move || out.borrow_mut().push("prepare".into()))
        .expect("prepare");
    prepare.unref();
    let handle = UdpHandle::new(&event_loop);
    handle.bind(localhost()).expect("bind");
    let to = handle.local_addr().expect("addr");
    for word in ["one", "two"] {
        let out = log.clone();
        handle
            .send(
                word.as_bytes().to_vec(),
                Some(to),
                Some(Box::new(move |result| {
                    out.borrow_mut()
                        .push(format!("sent {word} {}", result.expect("sent")))
                })),
            )
            .expect("send");
        log.borrow_mut().push(format!("send {word} returned"));
    }
    assert_eq!(handle.send_queue_count(), 2);
    let closer = handle.clone();
    let out = log.clone();
    handle
        .recv_start(Rc::new(move |received| {
            let (data, _) = received.expect("datagram");
            out.borrow_mut()
                .push(format!("got {}", String::from_utf8_lossy(data)));
            if data == b"two" {
                closer.close(|| {}).expect("close");
            }
        }))
        .expect("recv_start");
    event_loop.run(RunMode::Default);
    assert_eq!(
        log.borrow()[..5],
        [
            "send one returned",
            "send two returned",
            "sent one 3",
            "sent two 3",
            "prepare"
        ]
    );
    assert_eq!(log.borrow()[5..], ["got one", "got two"]);
    assert_eq!(handle.send_queue_count(), 0);
}

/// A datagram that arrived while the handle was not reading is reported by the poll then
/// (and ignored); `recv_start` later still gets it, as libuv's level-triggered poll would
/// report it again.
#[test]
fn recv_start_gets_datagrams_a_poll_reported_before() {
    let event_loop = Loop::new().expect("loop");
    let handle = UdpHandle::new(&event_loop);
    handle.bind(localhost()).expect("bind");
    let peer = UdpSocket::bind(localhost()).expect("peer");
    peer.send_to(b"early", handle.local_addr().expect("addr"))
        .expect("send");
    let got = Rc::new(RefCell::new(Vec::<Vec<u8>>::new()));
    // The first poll waits 20 ms and sees the datagram; only then does reading start.
    let start_reading = TimerHandle::new(&event_loop);
    let (reader, sink) = (handle.clone(), got.clone());
    start_reading
        .start(
            move || {
                let (closer, sink) = (reader.clone(), sink.clone());
                reader
                    .recv_start(Rc::new(move |received| {
                        sink.borrow_mut()
                            .push(received.expect("datagram").0.to_vec());
                        let _ = closer.close(|| {});
                    }))
                    .expect("recv_start");
            },
            20,
            0,
        )
        .expect("timer");
    // A guard: without the datagram the test ends after 1 s instead of hanging.
    let guard = TimerHandle::new(&event_loop);
    let closer = handle.clone();
    guard
        .start(
            move || {
                let _ = closer.close(|| {});
            },
            1000,
            0,
        )
        .expect("guard");
    guard.unref();
    handle.set_ref(true);
    event_loop.run(RunMode::Default);
    assert_eq!(*got.borrow(), [b"early".to_vec()]);
}
