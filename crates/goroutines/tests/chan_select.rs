//! `select!` semantics, after Go's `test/chan/select.go` (every case's send value is evaluated;
//! ready cases proceed, a `default` runs when none is), `select2.go` (selects do not consume
//! memory), `select3.go` (a select does not pair with itself), and `select5.go` (the generated
//! matrix of send and receive cases, buffered and unbuffered, with and without `default` and
//! dummy cases). Then the timeout case, `default(duration)`, which Go writes as a
//! `case <-time.After(d)`.

mod common;

use common::{runtime, wait_parked};

use std::cell::Cell;
use std::time::{Duration, Instant};

use goroutines::{chan, go, select, Receiver, Sender};

/// Port of select.go. Go disables a case by setting its channel to nil; here a disabled case
/// sends on an unbuffered channel nobody receives from, which never proceeds either.
#[test]
fn send_values_of_every_case_are_evaluated_and_default_runs_when_none_is_ready() {
    let rt = runtime(2);
    rt.run(|| {
        let counter = Cell::new(0u32);
        let shift = Cell::new(0u32);
        let get_value = || {
            counter.set(counter.get() + 1);
            1u32 << shift.get()
        };
        let (never, _never_rx) = chan::<u32>(0);
        let (a, a_rx) = chan(1);
        let (b, b_rx) = chan(1);
        assert_eq!(send(&a, &b, &never, &get_value, &shift), 2, "Send(a, b)");
        let (av, bv) = (a_rx.recv().unwrap(), b_rx.recv().unwrap());
        assert_eq!(av | bv, 3, "bad values {av} {bv}");
        assert_eq!(
            send(&a, &never, &never, &get_value, &shift),
            1,
            "Send(a, nil)"
        );
        assert_eq!(counter.get(), 10, "GetValue calls");
    });
}

/// select.go's `Send`: sends on `a` and `b` until neither is ready, disabling each channel once
/// it has taken a value; returns how many values were sent.
fn send<'a>(
    mut a: &'a Sender<u32>,
    mut b: &'a Sender<u32>,
    never: &'a Sender<u32>,
    get_value: &dyn Fn() -> u32,
    shift: &Cell<u32>,
) -> u32 {
    let mut i = 0;
    loop {
        let proceeded = select! {
            send(a, get_value()) -> r => {
                r.unwrap();
                i += 1;
                a = never;
                true
            }
            send(b, get_value()) -> r => {
                r.unwrap();
                i += 1;
                b = never;
                true
            }
            default => false,
        };
        if !proceeded {
            return i;
        }
        shift.set(shift.get() + 1);
    }
}

/// Port of select2.go: 100,000 selects, after a warm-up of as many, must not grow the process.
/// Go compares heap bytes (1.1e5); without a GC to ask, this compares resident memory, with a
/// bound ten times Go's that 100,000 leaked allocations of even a few bytes would still pass.
#[test]
fn selects_do_not_consume_memory() {
    const N: u32 = 100_000;
    fn rss_bytes() -> u64 {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        // SAFETY: sysconf has no preconditions.
        pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64
    }
    let rt = runtime(2);
    rt.run(|| {
        let (c, c_rx) = chan(0);
        let (_dummy, dummy_rx) = chan::<u32>(0);
        let round = || {
            let c = c.clone();
            let sender = go(move || {
                for _ in 0..N {
                    c.send(1).unwrap();
                }
            });
            for _ in 0..N {
                select! {
                    recv(c_rx) -> v => assert_eq!(v, Ok(1)),
                    recv(dummy_rx) -> _ => panic!("dummy"),
                }
            }
            sender.join().unwrap();
        };
        round();
        let before = rss_bytes();
        round();
        let grown = rss_bytes().saturating_sub(before);
        assert!(
            grown < 1 << 20,
            "{N} selects grew resident memory by {grown} bytes"
        );
    });
}

/// From select3.go: a select with a send and a receive case on the same unbuffered channel must
/// not pair them with each other; alone, it blocks (here: until its timeout).
#[test]
fn select_does_not_pair_with_itself() {
    let rt = runtime(2);
    rt.run(|| {
        let (c_tx, c_rx) = chan::<u32>(0);
        let blocked = select! {
            send(c_tx, 1) -> _ => false,
            recv(c_rx) -> _ => false,
            default(Duration::from_millis(50)) => true,
        };
        assert!(blocked, "the select paired its own send and receive");

        // With a partner, the case that matches it proceeds.
        let partner = {
            let c_rx = c_rx.clone();
            go(move || c_rx.recv())
        };
        let sent = select! {
            send(c_tx, 7) -> r => r.is_ok(),
            recv(c_rx) -> _ => false,
        };
        assert!(sent);
        assert_eq!(partner.join().unwrap(), Ok(7));
    });
}

#[test]
fn two_cases_on_the_same_channel_take_each_value_once() {
    const VALUES: u32 = 10_000;
    let rt = runtime(2);
    rt.run(|| {
        // Receive cases: every buffered value goes to exactly one case, in order, and both cases
        // get some.
        let (tx, rx) = chan(VALUES as usize);
        for v in 0..VALUES {
            tx.send(v).unwrap();
        }
        let mut per_case = [0u32; 2];
        for expected in 0..VALUES {
            let (case, v) = select! {
                recv(rx) -> v => (0, v.unwrap()),
                recv(rx) -> v => (1, v.unwrap()),
            };
            assert_eq!(v, expected);
            per_case[case] += 1;
        }
        assert!(rx.is_empty());
        assert!(
            per_case.iter().all(|&n| n >= VALUES / 10),
            "cases chosen {per_case:?}"
        );

        // Receive cases parked on an unbuffered channel: each value is taken once.
        let (tx, rx) = chan(0);
        let sender = go(move || {
            for v in 0..VALUES {
                tx.send(v).unwrap();
            }
        });
        for expected in 0..VALUES {
            let v = select! {
                recv(rx) -> v => v.unwrap(),
                recv(rx) -> v => v.unwrap(),
            };
            assert_eq!(v, expected);
        }
        sender.join().unwrap();

        // Send cases: each select sends exactly one of its two values.
        let (tx, rx) = chan(2 * VALUES as usize);
        for i in 0..VALUES {
            select! {
                send(tx, 2 * i) -> r => r.unwrap(),
                send(tx, 2 * i + 1) -> r => r.unwrap(),
            }
        }
        drop(tx);
        let sent: Vec<u32> = rx.iter().collect();
        assert_eq!(sent.len(), VALUES as usize);
        for (i, v) in sent.iter().enumerate() {
            assert_eq!(v / 2, i as u32, "select {i} sent {v}");
        }
    });
}

/// A goroutine whose one select loop both receives requests and sends replies: every request
/// arrives and every reply leaves, each in order.
#[test]
fn send_and_receive_cases_proceed_together_in_one_loop() {
    const N: u32 = 10_000;
    let rt = runtime(2);
    rt.run(|| {
        let (in_tx, in_rx) = chan::<u32>(0);
        let (out_tx, out_rx) = chan::<u32>(0);
        let worker = go(move || {
            let (mut received, mut next) = (Vec::new(), 0);
            while received.len() < N as usize || next < N {
                // Once one side is done (its channel would be closed or idle), only the other.
                if next == N {
                    received.push(in_rx.recv().unwrap());
                    continue;
                }
                if received.len() == N as usize {
                    out_tx.send(next).unwrap();
                    next += 1;
                    continue;
                }
                select! {
                    recv(in_rx) -> v => received.push(v.unwrap()),
                    send(out_tx, next) -> r => {
                        r.unwrap();
                        next += 1;
                    }
                }
            }
            received
        });
        let feeder = go(move || {
            for v in 0..N {
                in_tx.send(v).unwrap();
            }
        });
        let drained: Vec<u32> = (0..N).map(|_| out_rx.recv().unwrap()).collect();
        feeder.join().unwrap();
        let received = worker.join().unwrap();
        assert_eq!(received, (0..N).collect::<Vec<_>>());
        assert_eq!(drained, (0..N).collect::<Vec<_>>());
    });
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Send,
    Recv,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Wait {
    Block,
    Default,
    Timeout(Duration),
}

/// Runs one select with `op` on the channel, `wait` as its default case, and dummy cases on
/// channels that never proceed when `dummies` is set. Returns None when the default (or timeout)
/// ran, else what the case sent or received.
fn select_once(
    op: Op,
    tx: &Sender<u32>,
    rx: &Receiver<u32>,
    wait: Wait,
    dummies: bool,
) -> Option<u32> {
    let (dummy_tx, dummy_rx) = chan::<u32>(0);
    macro_rules! run {
        ($($case:tt)*) => {
            match (wait, dummies) {
                (Wait::Block, false) => select! { $($case)* },
                (Wait::Default, false) => select! { $($case)* default => None, },
                (Wait::Timeout(timeout), false) => select! { $($case)* default(timeout) => None, },
                (Wait::Block, true) => select! {
                    recv(dummy_rx) -> _ => panic!("dummy"),
                    $($case)*
                    send(dummy_tx, 0) -> _ => panic!("dummy"),
                },
                (Wait::Default, true) => select! {
                    recv(dummy_rx) -> _ => panic!("dummy"),
                    $($case)*
                    send(dummy_tx, 0) -> _ => panic!("dummy"),
                    default => None,
                },
                (Wait::Timeout(timeout), true) => select! {
                    recv(dummy_rx) -> _ => panic!("dummy"),
                    $($case)*
                    send(dummy_tx, 0) -> _ => panic!("dummy"),
                    default(timeout) => None,
                },
            }
        };
    }
    match op {
        Op::Send => run! { send(tx, 42) -> r => { r.unwrap(); Some(42) } },
        Op::Recv => run! { recv(rx) -> v => { Some(v.unwrap()) } },
    }
}

/// select5.go's matrix: for each operation, buffering, waiting mode and dummy cases, a ready case
/// proceeds with its value and a case that is not ready leaves the channel as it was.
#[test]
fn select_matrix_of_operations_buffers_defaults_and_dummies() {
    let rt = runtime(2);
    rt.run(|| {
        for op in [Op::Send, Op::Recv] {
            for cap in [0, 1] {
                for wait in [Wait::Block, Wait::Default, Wait::Timeout(Duration::ZERO)] {
                    for dummies in [false, true] {
                        let what = format!("{op:?} cap={cap} {wait:?} dummies={dummies}");
                        let (tx, rx) = chan::<u32>(cap);
                        // Not ready: an unbuffered channel without a partner, a full buffer to send
                        // to or an empty one to receive from.
                        if wait != Wait::Block {
                            if cap == 1 && op == Op::Send {
                                tx.send(7).unwrap();
                            }
                            // A short timeout: it must fire.
                            let wait = match wait {
                                Wait::Timeout(_) => Wait::Timeout(Duration::from_millis(20)),
                                w => w,
                            };
                            assert_eq!(select_once(op, &tx, &rx, wait, dummies), None, "{what}");
                            assert_eq!(rx.len(), cap.min(usize::from(op == Op::Send)), "{what}");
                            if cap == 1 && op == Op::Send {
                                assert_eq!(rx.recv(), Ok(7), "{what}");
                            }
                        }
                        // Ready: a value or room in the buffer, else a partner goroutine; for
                        // Default, the partner must be parked first, so it is only buffered.
                        if cap == 0 && wait == Wait::Default {
                            continue;
                        }
                        let partner = match (op, cap) {
                            (Op::Send, 0) => {
                                let rx = rx.clone();
                                Some(go(move || rx.recv().unwrap()))
                            }
                            (Op::Recv, 0) => {
                                let tx = tx.clone();
                                Some(go(move || {
                                    tx.send(42).unwrap();
                                    42
                                }))
                            }
                            (Op::Recv, _) => {
                                tx.send(42).unwrap();
                                None
                            }
                            (Op::Send, _) => None,
                        };
                        // A long timeout: the partner is runnable, so only a lost wake-up, not a
                        // slow machine, lets it fire.
                        let wait = match wait {
                            Wait::Timeout(_) => Wait::Timeout(Duration::from_secs(5)),
                            w => w,
                        };
                        let got = select_once(op, &tx, &rx, wait, dummies);
                        assert_eq!(got, Some(42), "{what}");
                        match partner {
                            Some(p) => assert_eq!(p.join().unwrap(), 42, "{what}"),
                            None if op == Op::Send => assert_eq!(rx.recv(), Ok(42), "{what}"),
                            None => assert!(rx.is_empty(), "{what}"),
                        }
                    }
                }
            }
        }
    });
}

#[test]
fn timeout_fires_after_its_duration() {
    let rt = runtime(2);
    rt.run(|| {
        let (_tx, rx) = chan::<u32>(0);
        for d in [
            Duration::from_millis(1),
            Duration::from_millis(50),
            Duration::from_millis(200),
        ] {
            let start = Instant::now();
            let timed_out = select! {
                recv(rx) -> v => panic!("received {v:?}"),
                default(d) => true,
            };
            let elapsed = start.elapsed();
            assert!(timed_out);
            assert!(elapsed >= d, "timeout of {d:?} fired after {elapsed:?}");
            assert!(
                elapsed < d + Duration::from_secs(2),
                "timeout of {d:?} fired after {elapsed:?}"
            );
        }
    });
}

#[test]
fn timeout_does_not_fire_when_a_value_arrives() {
    const TIMEOUT: Duration = Duration::from_secs(5);
    let rt = runtime(2);
    // A value already there wins at once.
    rt.run(|| {
        let (tx, rx) = chan::<u32>(1);
        tx.send(1).unwrap();
        let start = Instant::now();
        let got = select! {
            recv(rx) -> v => v.ok(),
            default(TIMEOUT) => None,
        };
        assert_eq!(got, Some(1));
        assert!(start.elapsed() < TIMEOUT);
    });
    // A value that arrives while the select is parked wins, and the timeout never fires.
    let (tx, rx) = chan::<u32>(0);
    let selector = rt.go(move || {
        let start = Instant::now();
        let got = select! {
            recv(rx) -> v => v.ok(),
            default(TIMEOUT) => None,
        };
        (got, start.elapsed())
    });
    wait_parked(&rt, "select", 1);
    tx.send(2).unwrap();
    let (got, elapsed) = selector.join().unwrap();
    assert_eq!(got, Some(2));
    assert!(elapsed < TIMEOUT, "took {elapsed:?}");
}
