//! Closing channels. The first tests port Go's `test/closedchan.go` (the close test of
//! `test/chan`'s family): receives on a closed channel, through the receive operation, a one-case
//! `select` and a `select` with a dummy case, blocking and non-blocking, drain the buffer and then
//! report the close every time; sends on a closed channel fail. Go panics on such a send; here
//! it returns the value in `SendError`, and closing twice returns false instead of panicking.
//!
//! The rest cover what closedchan.go leaves for later (a note of its own says so): a close wakes
//! every blocked receiver and every blocked sender (which gets its own value back), and the
//! channel closes itself when the last sender drops, or fails every send when the last receiver
//! drops. Blocked goroutines are started from the test thread, which waits until the goroutine
//! dump shows them all parked.

mod common;

use common::{runtime, wait_parked};

use goroutines::{chan, select, Receiver, RecvError, SendError, Sender, TrySendError};

/// How closedchan.go reaches the channel: its `XChan`, `SChan` and `SSChan`.
enum Flavour {
    /// The operations themselves.
    Direct,
    /// One-case `select`s.
    Select,
    /// `select`s with an extra case on a channel that never proceeds (its sender is kept, so
    /// that it is never closed either).
    SelectWithDummy {
        _sender: Sender<bool>,
        dummy: Receiver<bool>,
    },
}

impl Flavour {
    fn all() -> [Flavour; 3] {
        let (dummy_tx, dummy_rx) = chan(0);
        [
            Flavour::Direct,
            Flavour::Select,
            Flavour::SelectWithDummy {
                _sender: dummy_tx,
                dummy: dummy_rx,
            },
        ]
    }

    fn send(&self, c: &Sender<i32>, x: i32) -> Result<(), SendError<i32>> {
        match self {
            Flavour::Direct => c.send(x),
            Flavour::Select => select! { send(c, x) -> r => r },
            Flavour::SelectWithDummy { dummy, .. } => select! {
                send(c, x) -> r => r,
                recv(dummy) -> _ => panic!("dummy"),
            },
        }
    }

    /// None when the send would block.
    fn nbsend(&self, c: &Sender<i32>, x: i32) -> Option<Result<(), SendError<i32>>> {
        match self {
            Flavour::Direct => match c.try_send(x) {
                Ok(()) => Some(Ok(())),
                Err(TrySendError::Closed(x)) => Some(Err(SendError(x))),
                Err(TrySendError::Full(_)) => None,
            },
            Flavour::Select => select! { send(c, x) -> r => Some(r), default => None },
            Flavour::SelectWithDummy { dummy, .. } => select! {
                recv(dummy) -> _ => panic!("dummy"),
                default => None,
                send(c, x) -> r => Some(r),
            },
        }
    }

    fn recv(&self, c: &Receiver<i32>) -> Result<i32, RecvError> {
        match self {
            Flavour::Direct => c.recv(),
            Flavour::Select => select! { recv(c) -> v => v },
            Flavour::SelectWithDummy { dummy, .. } => select! {
                recv(dummy) -> _ => panic!("dummy"),
                recv(c) -> v => v,
            },
        }
    }

    /// None when the receive would block.
    fn nbrecv(&self, c: &Receiver<i32>) -> Option<Result<i32, RecvError>> {
        match self {
            Flavour::Direct => match c.try_recv() {
                Ok(v) => Some(Ok(v)),
                Err(goroutines::TryRecvError::Closed) => Some(Err(RecvError)),
                Err(goroutines::TryRecvError::Empty) => None,
            },
            Flavour::Select => select! { default => None, recv(c) -> v => Some(v) },
            Flavour::SelectWithDummy { dummy, .. } => select! {
                recv(dummy) -> _ => panic!("dummy"),
                default => None,
                recv(c) -> v => Some(v),
            },
        }
    }
}

/// closedchan.go's `test1`: a closed, drained channel.
fn test1(f: &Flavour, tx: &Sender<i32>, rx: &Receiver<i32>) {
    for _ in 0..3 {
        assert_eq!(f.recv(rx), Err(RecvError), "recv on closed");
        // Proceeds without blocking: selected, with the close.
        assert_eq!(
            f.nbrecv(rx),
            Some(Err(RecvError)),
            "non-blocking recv on closed"
        );
    }
    // A send on a closed channel proceeds at once, and fails with its value.
    assert_eq!(
        f.nbsend(tx, 1),
        Some(Err(SendError(1))),
        "non-blocking send on closed"
    );
    // The value was discarded.
    assert_eq!(f.recv(rx), Err(RecvError), "recv after send on closed");
    assert_eq!(f.send(tx, 2), Err(SendError(2)), "send on closed");
    assert_eq!(f.recv(rx), Err(RecvError), "recv after send on closed");
}

/// closedchan.go's `closedsync`.
fn closed_unbuffered() -> (Sender<i32>, Receiver<i32>) {
    let (tx, rx) = chan(0);
    assert!(tx.close());
    (tx, rx)
}

/// closedchan.go's `closedasync`: one value buffered, then closed.
fn closed_buffered() -> (Sender<i32>, Receiver<i32>) {
    let (tx, rx) = chan(2);
    tx.send(1).unwrap();
    assert!(tx.close());
    (tx, rx)
}

#[test]
fn closed_unbuffered_channel_reports_the_close_to_every_receive_and_send() {
    let rt = runtime(2);
    rt.run(|| {
        for f in Flavour::all() {
            let (tx, rx) = closed_unbuffered();
            test1(&f, &tx, &rx);
        }
    });
}

#[test]
fn closed_buffered_channel_yields_its_value_then_reports_the_close() {
    let rt = runtime(2);
    rt.run(|| {
        for f in Flavour::all() {
            // closedchan.go's `testasync1` and `testasync2` (Recv and Recv2 are one operation here).
            let (tx, rx) = closed_buffered();
            assert_eq!(f.recv(&rx), Ok(1), "recv of the buffered value");
            test1(&f, &tx, &rx);
            // `testasync3` and `testasync4`.
            let (tx, rx) = closed_buffered();
            assert_eq!(
                f.nbrecv(&rx),
                Some(Ok(1)),
                "non-blocking recv of the buffered value"
            );
            test1(&f, &tx, &rx);
        }
    });
}

#[test]
fn receivers_drain_the_whole_buffer_before_seeing_the_close() {
    let rt = runtime(2);
    rt.run(|| {
        let (tx, rx) = chan(3);
        for v in ["a", "b", "c"] {
            tx.send(v.to_string()).unwrap();
        }
        assert!(tx.close());
        assert!(rx.is_closed());
        assert_eq!(rx.len(), 3);
        let drained: Vec<String> = rx.iter().collect();
        assert_eq!(drained, ["a", "b", "c"]);
        assert_eq!(rx.recv(), Err(RecvError));
    });
}

#[test]
fn send_on_a_closed_channel_returns_the_value() {
    let rt = runtime(2);
    rt.run(|| {
        let (tx, _rx) = chan(1);
        assert!(tx.close());
        let value = String::from("kept");
        assert_eq!(tx.send(value), Err(SendError(String::from("kept"))));
        match tx.try_send(String::from("kept too")) {
            Err(TrySendError::Closed(v)) => assert_eq!(v, "kept too"),
            other => panic!("try_send on closed: {other:?}"),
        }
    });
}

#[test]
fn closing_twice_returns_false() {
    let (tx, _rx) = chan::<i32>(0);
    let other = tx.clone();
    assert!(tx.close());
    assert!(!tx.close());
    assert!(!other.close());
    assert!(other.is_closed());
}

#[test]
fn close_wakes_every_blocked_receiver() {
    const RECEIVERS: usize = 10;
    const SELECTORS: usize = 5;
    let rt = runtime(2);
    let (tx, rx) = chan::<i32>(0);
    let (_dummy_tx, dummy) = chan::<i32>(0);
    let receivers: Vec<_> = (0..RECEIVERS)
        .map(|_| {
            let rx = rx.clone();
            rt.go(move || rx.recv())
        })
        .collect();
    let selectors: Vec<_> = (0..SELECTORS)
        .map(|_| {
            let (rx, dummy) = (rx.clone(), dummy.clone());
            rt.go(move || {
                select! {
                    recv(dummy) -> _ => panic!("dummy"),
                    recv(rx) -> v => v,
                }
            })
        })
        .collect();
    wait_parked(&rt, "chan receive", RECEIVERS);
    wait_parked(&rt, "select", SELECTORS);
    assert!(tx.close());
    for h in receivers.into_iter().chain(selectors) {
        assert_eq!(h.join().unwrap(), Err(RecvError));
    }
}

#[test]
fn close_wakes_every_blocked_sender_with_its_own_value() {
    const SENDERS: usize = 10;
    let rt = runtime(2);
    let (tx, rx) = chan::<String>(1);
    tx.send("buffered".into()).unwrap();
    let senders: Vec<_> = (0..SENDERS)
        .map(|i| {
            let tx = tx.clone();
            rt.go(move || tx.send(format!("value {i}")))
        })
        .collect();
    wait_parked(&rt, "chan send", SENDERS);
    assert!(tx.close());
    for (i, h) in senders.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), Err(SendError(format!("value {i}"))));
    }
    // The buffered value survives the close; nothing the blocked senders held got in.
    assert_eq!(rx.recv().as_deref(), Ok("buffered"));
    assert_eq!(rx.recv(), Err(RecvError));
}

#[test]
fn dropping_the_last_sender_closes_the_channel_and_wakes_receivers() {
    let rt = runtime(2);
    let (tx, rx) = chan::<i32>(0);
    let second = tx.clone();
    let receiver = {
        let rx = rx.clone();
        rt.go(move || rx.recv())
    };
    wait_parked(&rt, "chan receive", 1);
    drop(tx);
    assert!(!rx.is_closed(), "closed while a sender is left");
    assert!(!receiver.is_finished());
    drop(second);
    assert_eq!(receiver.join().unwrap(), Err(RecvError));
    assert!(rx.is_closed());
}

#[test]
fn dropping_the_last_receiver_fails_every_send_blocked_or_not() {
    let rt = runtime(2);
    let (tx, rx) = chan::<String>(0);
    let senders: Vec<_> = (0..3)
        .map(|i| {
            let tx = tx.clone();
            rt.go(move || tx.send(format!("blocked {i}")))
        })
        .collect();
    wait_parked(&rt, "chan send", 3);
    let second = rx.clone();
    drop(rx);
    assert!(
        senders.iter().all(|h| !h.is_finished()),
        "woken while a receiver is left"
    );
    drop(second);
    for (i, h) in senders.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), Err(SendError(format!("blocked {i}"))));
    }
    assert!(tx.is_closed());
    assert_eq!(tx.send("later".into()), Err(SendError("later".into())));
    assert!(matches!(
        tx.try_send("later".into()),
        Err(TrySendError::Closed(_))
    ));
}
