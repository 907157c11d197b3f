//! Port of Go's `test/chan/nonblock.go`: non-blocking sends and receives (a `select` with a
//! `default` case) on unbuffered and one-slot channels of several element types. A non-blocking
//! receive on an empty channel must not proceed; a non-blocking send succeeds once a receiver is
//! parked (unbuffered) or there is room (buffered); a non-blocking receive succeeds once a sender is
//! parked or a value is buffered. Go retries each operation up to `maxTries` times, pausing on a
//! 10 µs ticker between tries; so do these tests.
//!
//! Go's goroutines signal completion on a `sync` channel; here the join handle is that signal, so
//! that a failed assertion in a goroutine fails the test instead of hanging it. The same scenario
//! also runs through `try_send`/`try_recv`, the non-`select` form of the same operations.

use std::fmt::Debug;
use std::time::{Duration, Instant};

use goroutines::{chan, go, select, tick, yield_now, Receiver, Sender, TryRecvError, TrySendError};

/// Go's `maxTries`.
const MAX_TRIES: u32 = 10_000;

fn runtime() -> goroutines::Runtime {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    unsafe { goroutines::Builder::new().procs(2).build() }.unwrap()
}

/// Go's `sleep`: two ticks of a 10 µs ticker, then three yields.
struct Pause {
    ticker: Receiver<Instant>,
}

impl Pause {
    fn new() -> Pause {
        Pause {
            ticker: tick(Duration::from_micros(10)),
        }
    }

    fn pause(&self) {
        self.ticker.recv().unwrap();
        self.ticker.recv().unwrap();
        yield_now();
        yield_now();
        yield_now();
    }
}

#[derive(Clone, Copy, Debug)]
enum Ops {
    /// `select!` with a `default` case, as Go writes it.
    Select,
    /// `try_send` / `try_recv`.
    Try,
}

/// Sends `v` without blocking; false if the send would block.
fn nonblocking_send<T>(ops: Ops, tx: &Sender<T>, v: T) -> bool {
    match ops {
        Ops::Select => select! {
            send(tx, v) -> r => {
                assert!(r.is_ok(), "send on a closed channel");
                true
            }
            default => false,
        },
        Ops::Try => match tx.try_send(v) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => false,
            Err(TrySendError::Closed(_)) => panic!("send on a closed channel"),
        },
    }
}

/// Receives without blocking; None if the receive would block.
fn nonblocking_recv<T>(ops: Ops, rx: &Receiver<T>) -> Option<T> {
    match ops {
        Ops::Select => select! {
            recv(rx) -> v => Some(v.expect("receive on a closed channel")),
            default => None,
        },
        Ops::Try => match rx.try_recv() {
            Ok(v) => Some(v),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Closed) => panic!("receive on a closed channel"),
        },
    }
}

/// One round of nonblock.go's main loop for one element type: `to_receiver` goes to a parked
/// receiver goroutine (Go's `i32receiver` etc.), `from_sender` comes from a sender goroutine.
fn exchange<T>(ops: Ops, buffer: usize, pause: &Pause, to_receiver: T, from_sender: T)
where
    T: Clone + PartialEq + Debug + Send + 'static,
{
    let (tx, rx) = chan::<T>(buffer);

    // Nothing was sent: a non-blocking receive must not proceed.
    if let Some(v) = nonblocking_recv(ops, &rx) {
        panic!("blocked sender: received {v:?} from an empty channel (buffer={buffer})");
    }

    let receiver = {
        let (rx, expected) = (rx.clone(), to_receiver.clone());
        go(move || assert_eq!(rx.recv().unwrap(), expected, "receiver value"))
    };
    let mut tries = 0;
    while !nonblocking_send(ops, &tx, to_receiver.clone()) {
        tries += 1;
        assert!(
            tries <= MAX_TRIES,
            "receiver: send never proceeded (buffer={buffer}, {ops:?})"
        );
        pause.pause();
    }
    receiver.join().unwrap();

    let sender = {
        let (tx, v) = (tx.clone(), from_sender.clone());
        go(move || tx.send(v).unwrap())
    };
    let sender = if buffer > 0 {
        // The send completes into the buffer without a receiver.
        sender.join().unwrap();
        None
    } else {
        Some(sender)
    };
    let mut tries = 0;
    let got = loop {
        if let Some(v) = nonblocking_recv(ops, &rx) {
            break v;
        }
        tries += 1;
        assert!(
            tries <= MAX_TRIES,
            "sender: receive never proceeded (buffer={buffer}, {ops:?})"
        );
        pause.pause();
    };
    assert_eq!(got, from_sender, "sender value");
    if let Some(sender) = sender {
        sender.join().unwrap();
    }
}

fn nonblock(ops: Ops) {
    let rt = runtime();
    rt.run(move || {
        let pause = Pause::new();
        for buffer in 0..2 {
            exchange::<i32>(ops, buffer, &pause, 123, 234);
            exchange::<i64>(ops, buffer, &pause, 123_456, 234_567);
            exchange::<bool>(ops, buffer, &pause, true, true);
            exchange::<String>(ops, buffer, &pause, "hello".into(), "hello again".into());
        }
    });
}

#[test]
fn select_default_sends_and_receives_only_when_a_partner_or_room_is_there() {
    nonblock(Ops::Select);
}

#[test]
fn try_send_and_try_recv_proceed_only_when_a_partner_or_room_is_there() {
    nonblock(Ops::Try);
}
