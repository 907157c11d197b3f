//! `dgram` behaviour: datagrams arrive whole and byte for byte, `rinfo` names the sender,
//! `unref` lets the loop end (but an outstanding send request still holds it), a connected
//! socket talks to its peer only, and misuse gives Node's error codes.

use std::cell::{Cell, RefCell};
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use uv_loop::dgram::{self, DgramError, Socket, SocketOptions, SocketType};
use uv_loop::{run, set_timeout};

/// Datagram `i` of [`many_datagrams_arrive_byte_for_byte`]: its length and bytes vary with
/// `i`, up to 9000 bytes.
fn payload(i: usize) -> Vec<u8> {
    let len = (i * 37) % 9000 + 1;
    (0..len).map(|k| (k * 7 + i * 13) as u8).collect()
}

/// Binds `socket` to an ephemeral port on `127.0.0.1`, then runs `then`.
fn bind_local(socket: &Socket, then: impl FnOnce() + 'static) {
    socket.bind_then(0, "127.0.0.1", then).expect("bind");
}

fn port_of(socket: &Socket) -> u16 {
    socket.address().expect("bound").port()
}

/// 2000 datagrams of 1 to 9000 bytes go from `a` to `b`, eight in flight at a time (so the
/// receive buffer never overflows and loopback drops nothing), then one of the largest
/// IPv4 size, 65507 bytes (libuv's 64 KiB receive buffer holds it whole). Each arrives
/// once, in order, equal to what was sent.
#[test]
fn many_datagrams_arrive_byte_for_byte() {
    const COUNT: usize = 2000;
    const WINDOW: usize = 8;
    let received = Rc::new(RefCell::new(Vec::<Vec<u8>>::new()));
    let got = received.clone();
    let result = run(move || {
        let a = dgram::create_socket(SocketType::Udp4);
        let b = dgram::create_socket(SocketType::Udp4);
        let next = Rc::new(Cell::new(0usize));
        let send_next = {
            let (a, b, next) = (a.clone(), b.clone(), next.clone());
            move || {
                let i = next.get();
                next.set(i + 1);
                let data = if i < COUNT {
                    payload(i)
                } else if i == COUNT {
                    vec![0xa5; 65507]
                } else {
                    return;
                };
                a.send(&data, port_of(&b), "127.0.0.1", |result| {
                    assert!(result.is_ok(), "{result:?}");
                })
                .expect("send");
            }
        };
        let send_next = Rc::new(send_next);
        let (on_message, closer_a, closer_b) = (send_next.clone(), a.clone(), b.clone());
        b.on_message(move |msg, rinfo| {
            assert_eq!(rinfo.size, msg.len());
            got.borrow_mut().push(msg.to_vec());
            if got.borrow().len() == COUNT + 1 {
                closer_a.close().expect("close a");
                closer_b.close().expect("close b");
            } else {
                on_message();
            }
        });
        let a_in = a.clone();
        bind_local(&b, move || {
            bind_local(&a_in, move || {
                for _ in 0..WINDOW {
                    send_next();
                }
            })
        });
    });
    assert!(result.is_ok(), "{result:?}");
    let received = received.borrow();
    assert_eq!(received.len(), COUNT + 1);
    for (i, datagram) in received.iter().take(COUNT).enumerate() {
        assert_eq!(datagram, &payload(i), "datagram {i}");
    }
    assert_eq!(received[COUNT], vec![0xa5; 65507]);
}

/// `rinfo` is the sender's bound address, family and port, and the datagram's size; on IPv6
/// the family is `IPv6` (skipped where the host has no `::1`).
#[test]
fn rinfo_names_the_sender() {
    for (socket_type, local, family) in [
        (SocketType::Udp4, "127.0.0.1", "IPv4"),
        (SocketType::Udp6, "::1", "IPv6"),
    ] {
        if socket_type == SocketType::Udp6 && std::net::UdpSocket::bind("[::1]:0").is_err() {
            continue;
        }
        let seen = Rc::new(RefCell::new(None));
        let record = seen.clone();
        let result = run(move || {
            let a = dgram::create_socket(socket_type);
            let b = dgram::create_socket(socket_type);
            let (a_in, b_in) = (a.clone(), b.clone());
            let (a_msg, b_msg) = (a.clone(), b.clone());
            b.on_message(move |msg, rinfo| {
                *record.borrow_mut() = Some((msg.to_vec(), rinfo.clone(), port_of(&a_msg)));
                a_msg.close().expect("close a");
                b_msg.close().expect("close b");
            });
            b.bind_then(0, local, move || {
                let b = b_in.clone();
                let a = a_in.clone();
                a_in.bind_then(0, local, move || {
                    a.send(b"who am I", port_of(&b), local, |_| {})
                        .expect("send");
                })
                .expect("bind a");
            })
            .expect("bind b");
        });
        assert!(result.is_ok(), "{result:?}");
        let seen = seen.borrow();
        let (msg, rinfo, a_port) = seen.as_ref().expect("a datagram arrived");
        assert_eq!(msg, b"who am I");
        assert_eq!(rinfo.address, local.parse::<IpAddr>().expect("ip"));
        assert_eq!(rinfo.family, family);
        assert_eq!(rinfo.port, *a_port);
        assert_eq!(rinfo.size, 8);
    }
}

/// A bound, unreferenced socket does not keep the loop alive: the run ends after
/// `listening`, with the socket still open. Referenced again, it does, until closed.
#[test]
fn unref_lets_the_loop_end_and_ref_holds_it() {
    let listening = Rc::new(Cell::new(false));
    let flag = listening.clone();
    let kept = Rc::new(RefCell::new(None::<Socket>));
    let keep = kept.clone();
    let started = Instant::now();
    let result = run(move || {
        let s = dgram::create_socket(SocketType::Udp4);
        s.unref();
        s.bind_then(0, "127.0.0.1", move || flag.set(true))
            .expect("bind");
        *keep.borrow_mut() = Some(s);
    });
    assert!(result.is_ok(), "{result:?}");
    assert!(listening.get(), "the bind completed in main's ticks");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(kept.borrow().as_ref().expect("socket").address().is_ok());

    let closed_at = Rc::new(Cell::new(None::<Instant>));
    let closed = closed_at.clone();
    let started = Instant::now();
    let result = run(move || {
        let s = dgram::create_socket(SocketType::Udp4);
        s.unref();
        s.ref_();
        bind_local(&s, || {});
        let closer = s.clone();
        set_timeout(
            move || {
                closed.set(Some(Instant::now()));
                closer.close().expect("close");
            },
            30,
        )
        .unref();
    });
    assert!(result.is_ok(), "{result:?}");
    let closed_at = closed_at
        .get()
        .expect("the referenced socket held the loop");
    // The timer runs on the loop's clock, as libuv's: whole milliseconds of the coarse
    // monotonic clock, which lags the precise one by up to a tick, and truncated. So a 30 ms
    // timer may fire up to about 2 ms short of 30 ms by `Instant` (it did once in CI); what the
    // test checks is that the referenced socket held the loop until the timer, not after a
    // zero-length run.
    assert!(
        closed_at - started >= Duration::from_millis(28),
        "the loop ended {:?} after it started",
        closed_at - started
    );
}

/// libuv counts a send request as an active request: an unreferenced socket whose send is
/// a `uv_udp_send` request (`no_try_send`) still holds the loop until the callback has run.
#[test]
fn an_outstanding_send_request_holds_the_loop() {
    let sent = Rc::new(Cell::new(None::<usize>));
    let record = sent.clone();
    let result = run(move || {
        let s = dgram::create_socket_with(SocketOptions {
            socket_type: SocketType::Udp4,
            no_try_send: true,
        });
        s.unref();
        let sender = s.clone();
        bind_local(&s, move || {
            let record = record.clone();
            sender
                .send(b"12345", port_of(&sender), "127.0.0.1", move |result| {
                    record.set(result.ok());
                })
                .expect("send");
        });
    });
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(sent.get(), Some(5));
}

fn code(result: Result<impl Sized, DgramError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(error) => error.code(),
    }
}

/// A connected socket receives from its peer only; `connect` twice, `disconnect` and
/// `remote_address` when not connected, an address on a connected send, no address on an
/// unconnected one, port 0, and anything after `close` are Node's errors.
#[test]
fn connect_and_disconnect_errors() {
    let log = Rc::new(RefCell::new(Vec::<String>::new()));
    let out = log.clone();
    let result = run(move || {
        let a = dgram::create_socket(SocketType::Udp4);
        let b = dgram::create_socket(SocketType::Udp4);
        let stranger = dgram::create_socket(SocketType::Udp4);
        {
            let mut log = out.borrow_mut();
            log.push(code(a.disconnect()).to_owned());
            log.push(code(a.remote_address()).to_owned());
            log.push(code(a.send(b"x", 0, "127.0.0.1", |_| {})).to_owned());
            log.push(code(a.send_connected(b"x", |_| {})).to_owned());
            log.push(code(a.connect(0, "127.0.0.1", |_| {})).to_owned());
        }
        let messages = out.clone();
        a.on_message(move |msg, _| {
            messages
                .borrow_mut()
                .push(format!("a got {}", String::from_utf8_lossy(msg)))
        });
        let (a_in, b_in, stranger_in, out) = (a.clone(), b.clone(), stranger.clone(), out.clone());
        bind_local(&b, move || {
            let (a, b, stranger, out) =
                (a_in.clone(), b_in.clone(), stranger_in.clone(), out.clone());
            let connected = a.clone();
            a.connect(port_of(&b), "127.0.0.1", move |error| {
                assert!(error.is_none(), "{error:?}");
                let a = connected.clone();
                {
                    let mut log = out.borrow_mut();
                    log.push(code(a.connect(port_of(&b), "127.0.0.1", |_| {})).to_owned());
                    log.push(code(a.send(b"x", port_of(&b), "127.0.0.1", |_| {})).to_owned());
                    log.push(format!(
                        "peer is b {}",
                        a.remote_address().expect("peer").port() == port_of(&b)
                    ));
                }
                // The stranger's datagram is filtered by the kernel; b's arrives.
                stranger
                    .send(b"from stranger", port_of(&a), "127.0.0.1", |_| {})
                    .expect("stranger send");
                let (a2, b2, stranger2, out2) =
                    (a.clone(), b.clone(), stranger.clone(), out.clone());
                set_timeout(
                    move || {
                        b2.send(b"from b", port_of(&a2), "127.0.0.1", |_| {})
                            .expect("b send");
                        let (a3, b3, stranger3, out3) =
                            (a2.clone(), b2.clone(), stranger2.clone(), out2.clone());
                        set_timeout(
                            move || {
                                a3.disconnect().expect("disconnect");
                                let mut log = out3.borrow_mut();
                                log.push(code(a3.remote_address()).to_owned());
                                log.push(code(a3.disconnect()).to_owned());
                                for socket in [&a3, &b3, &stranger3] {
                                    socket.close().expect("close");
                                }
                                log.push(code(a3.send(b"x", 9, "127.0.0.1", |_| {})).to_owned());
                                log.push(code(a3.bind(0, "")).to_owned());
                                log.push(code(a3.connect(9, "127.0.0.1", |_| {})).to_owned());
                                log.push(code(a3.address()).to_owned());
                                log.push(code(a3.close()).to_owned());
                            },
                            20,
                        );
                    },
                    20,
                );
            })
            .expect("connect");
        });
    });
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        *log.borrow(),
        [
            "ERR_SOCKET_DGRAM_NOT_CONNECTED",
            "ERR_SOCKET_DGRAM_NOT_CONNECTED",
            "ERR_SOCKET_BAD_PORT",
            "ERR_SOCKET_BAD_PORT",
            "ERR_SOCKET_BAD_PORT",
            "ERR_SOCKET_DGRAM_IS_CONNECTED",
            "ERR_SOCKET_DGRAM_IS_CONNECTED",
            "peer is b true",
            "a got from b",
            "ERR_SOCKET_DGRAM_NOT_CONNECTED",
            "ERR_SOCKET_DGRAM_NOT_CONNECTED",
            "ERR_SOCKET_DGRAM_NOT_RUNNING",
            "ERR_SOCKET_DGRAM_NOT_RUNNING",
            "ERR_SOCKET_DGRAM_NOT_RUNNING",
            "ERR_SOCKET_DGRAM_NOT_RUNNING",
            "ERR_SOCKET_DGRAM_NOT_RUNNING",
        ]
    );
}

/// A bind error with no `error` listener is thrown, as Node's emit throws it: the run ends
/// with it, `EADDRINUSE` and all.
#[test]
fn an_unhandled_bind_error_ends_the_run() {
    let holder = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind holder");
    let port = holder.local_addr().expect("addr").port();
    let result = run(move || {
        let s = dgram::create_socket(SocketType::Udp4);
        s.bind(port, "127.0.0.1").expect("bind starts");
    });
    let error = format!("{result:?}");
    assert!(result.is_err());
    assert!(
        error.contains(&format!("bind EADDRINUSE 127.0.0.1:{port}")),
        "{error}"
    );
}
