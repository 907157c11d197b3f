//! `dgram` against Node: `listening` from the bind lookup's nextTick, send callbacks on a
//! nextTick (Node tries the kernel first) or from the pending phase (a `uv_udp_send` request,
//! `--test-udp-no-try-send`), each datagram a callback of its own in the poll phase, `close`
//! on a nextTick, errors thrown or emitted. Fixtures: `dgram_self_send`, `dgram_no_try_send`,
//! `dgram_exchange`, `dgram_errors`, `dgram_connect`.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use common::{assert_matches_fixture, log, log_exit};
use uv_loop::dgram::{self, DgramError, Socket, SocketOptions, SocketType};
use uv_loop::{next_tick, run, set_immediate, set_timeout, Promise};

fn busy_wait(ms: u64) {
    let end = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < end {}
}

fn describe(error: &DgramError) -> String {
    format!("{} {}", error.code(), error.message())
}

fn sent(result: &Result<usize, DgramError>) -> String {
    match result {
        Ok(n) => format!("null {n}"),
        Err(error) => format!("{} {}", error.code(), error.message()),
    }
}

/// `dgram_self_send`, on a socket made with `options`.
fn self_send(options: SocketOptions) {
    let s = dgram::create_socket_with(options);
    let weak = s.clone();
    s.on_listening(move || {
        log("listening");
        next_tick(|| log("tick from listening"));
        Promise::resolve(()).then(|()| log("microtask from listening"));
        set_immediate(|| log("immediate from listening"));
        set_timeout(|| log("timeout from listening"), 0);
        let port = weak.address().expect("bound").port();
        weak.send(b"hello", port, "127.0.0.1", |result| {
            log(format!("send callback {}", sent(&result)));
            next_tick(|| log("tick from send callback"));
            Promise::resolve(()).then(|()| log("microtask from send callback"));
        })
        .expect("send");
        log("sent");
    });
    let socket = s.clone();
    s.on_message(move |msg, rinfo| {
        let own = rinfo.port == socket.address().expect("bound").port();
        log(format!(
            "message {} {} {} {} own port {own}",
            String::from_utf8_lossy(msg),
            rinfo.address,
            rinfo.family,
            rinfo.size
        ));
        next_tick(|| log("tick from message"));
        Promise::resolve(()).then(|()| log("microtask from message"));
        set_timeout(|| log("timeout from message"), 0);
        let socket = socket.clone();
        set_immediate(move || {
            log("immediate from message");
            socket.close_then(|| log("close callback")).expect("close");
            next_tick(|| log("tick after close"));
            set_immediate(|| log("immediate after close"));
            busy_wait(2);
        });
    });
    s.on_close(|| log("close"));
    s.bind_then(0, "127.0.0.1", || log("bind callback"))
        .expect("bind");
    next_tick(|| {
        log("tick main");
        busy_wait(2);
    });
    Promise::resolve(()).then(|()| log("microtask main"));
    set_immediate(|| log("immediate main"));
    set_timeout(|| log("timeout main"), 0);
    log("sync end");
}

#[test]
fn dgram_self_send() {
    let result = run(|| {
        self_send(SocketOptions {
            socket_type: SocketType::Udp4,
            no_try_send: false,
        })
    });
    log_exit(&result);
    assert_matches_fixture("dgram_self_send");
}

#[test]
fn dgram_no_try_send() {
    let result = run(|| {
        self_send(SocketOptions {
            socket_type: SocketType::Udp4,
            no_try_send: true,
        })
    });
    // The child's exit line, then the parent's (the scenario runs the program as a child).
    log_exit(&result);
    log_exit(&result);
    assert_matches_fixture("dgram_no_try_send");
}

#[test]
fn dgram_exchange() {
    let result = run(|| {
        let a = dgram::create_socket(SocketType::Udp4);
        let b = dgram::create_socket(SocketType::Udp4);
        let ready = Rc::new(Cell::new(0));
        let start = {
            let (a, b) = (a.clone(), b.clone());
            move || {
                ready.set(ready.get() + 1);
                if ready.get() < 2 {
                    return;
                }
                let port = b.address().expect("bound").port();
                for i in 1..=3 {
                    a.send(
                        format!("ping {i}").as_bytes(),
                        port,
                        "127.0.0.1",
                        move |_| log(format!("a sent {i}")),
                    )
                    .expect("send");
                }
                log("a sent 3");
            }
        };
        let start = Rc::new(start);
        let start_a = start.clone();
        a.bind_then(0, "127.0.0.1", move || {
            log("a listening");
            start_a();
        })
        .expect("bind a");
        b.bind_then(0, "127.0.0.1", move || {
            log("b listening");
            start();
        })
        .expect("bind b");
        let (a_port, b_reply) = (a.clone(), b.clone());
        b.on_message(move |msg, rinfo| {
            let from_a = rinfo.port == a_port.address().expect("bound").port();
            let text = String::from_utf8_lossy(msg).into_owned();
            log(format!("b got {text} from a {from_a} size {}", rinfo.size));
            next_tick(|| log("b tick"));
            let n = text[5..].to_owned();
            let reply = format!("pong {n}");
            b_reply
                .send(
                    reply.as_bytes(),
                    rinfo.port,
                    &rinfo.address.to_string(),
                    move |_| log(format!("b replied {n}")),
                )
                .expect("reply");
        });
        let pongs = Rc::new(Cell::new(0));
        let (a_close, b_close) = (a.clone(), b.clone());
        a.on_message(move |msg, _| {
            let text = String::from_utf8_lossy(msg).into_owned();
            log(format!("a got {text}"));
            Promise::resolve(()).then(|()| log("a microtask"));
            set_immediate(move || log(format!("a immediate {text}")));
            pongs.set(pongs.get() + 1);
            if pongs.get() == 3 {
                a_close
                    .close_then(|| log("a close callback"))
                    .expect("close a");
                b_close.close().expect("close b");
                log("closing both");
            }
        });
        a.on_close(|| log("a close"));
        b.on_close(|| {
            log("b close");
            set_immediate(|| log("immediate after close"));
        });
    });
    log_exit(&result);
    assert_matches_fixture("dgram_exchange");
}

#[test]
fn dgram_errors() {
    let result = run(|| {
        let a = dgram::create_socket(SocketType::Udp4);
        let a_in = a.clone();
        a.bind_then(0, "127.0.0.1", move || {
            let a = a_in.clone();
            log("a listening");
            let port = a.address().expect("bound").port();
            if let Err(e) = a.bind(0, "") {
                log(format!("bind again: {}", describe(&e)));
            }
            if let Err(e) = a.disconnect() {
                log(format!("disconnect: {}", describe(&e)));
            }
            if let Err(e) = a.remote_address() {
                log(format!("remoteAddress: {}", describe(&e)));
            }
            let b = dgram::create_socket(SocketType::Udp4);
            let b_in = b.clone();
            b.on_error(move |e| {
                log(format!(
                    "b error {} {} {} {} {}",
                    e.code(),
                    e.syscall().unwrap_or("?"),
                    e.address().unwrap_or("?"),
                    e.port() == Some(port),
                    e.message().replace(&port.to_string(), "PORT")
                ));
                next_tick(|| log("tick after error"));
                b_in.close_then(|| log("b close")).expect("close b");
                a.close_then(|| log("a close")).expect("close a");
                if let Err(e) = a.send(b"x", port, "127.0.0.1", |_| {}) {
                    log(format!("send after close: {}", describe(&e)));
                }
                if let Err(e) = a.close() {
                    log(format!("close again: {}", describe(&e)));
                }
                if let Err(e) = a.address() {
                    log(format!("address after close: {}", describe(&e)));
                }
            });
            b.bind(port, "127.0.0.1").expect("bind b");
            next_tick(|| log("tick after bind"));
            set_immediate(|| log("immediate"));
        })
        .expect("bind a");
    });
    log_exit(&result);
    assert_matches_fixture("dgram_errors");
}

fn connect_then_disconnect(a: Socket, b: Socket) {
    let b_port = b.address().expect("bound").port();
    a.disconnect().expect("disconnect");
    if let Err(e) = a.remote_address() {
        log(format!("remoteAddress: {}", e.code()));
    }
    if let Err(e) = a.disconnect() {
        log(format!("disconnect again: {}", e.code()));
    }
    a.send(b"disconnected", b_port, "127.0.0.1", |_| {
        log("sent after disconnect")
    })
    .expect("send");
    let c = dgram::create_socket(SocketType::Udp4);
    c.on_listening(|| log("c listening"));
    let c_in = c.clone();
    c.send(b"unbound", b_port, "127.0.0.1", move |_| {
        log("c sent");
        c_in.close_then(|| log("c close")).expect("close c");
    })
    .expect("send c");
    log("c queued");
    let left = Rc::new(Cell::new(2));
    let b_in = b.clone();
    b.on_message(move |msg, rinfo| {
        log(format!(
            "b got {} {}",
            String::from_utf8_lossy(msg),
            rinfo.address
        ));
        left.set(left.get() - 1);
        if left.get() == 0 {
            a.close().expect("close a");
            b_in.close_then(|| log("b close")).expect("close b");
        }
    });
}

#[test]
fn dgram_connect() {
    let result = run(|| {
        let a = dgram::create_socket(SocketType::Udp4);
        let b = dgram::create_socket(SocketType::Udp4);
        let (a_in, b_in) = (a.clone(), b.clone());
        b.bind_then(0, "127.0.0.1", move || {
            let port = b_in.address().expect("bound").port();
            let a = a_in.clone();
            let connected = a.clone();
            a.connect(port, "127.0.0.1", move |err| {
                let remote = connected.remote_address().expect("connected").port() == port;
                let err = err.map_or("undefined".to_owned(), |e| describe(&e));
                log(format!("connect callback {err} remote port {remote}"));
                if let Err(e) = connected.connect(port, "127.0.0.1", |_| {}) {
                    log(format!("connect again: {}", describe(&e)));
                }
                if let Err(e) = connected.send(b"x", port, "127.0.0.1", |_| {}) {
                    log(format!("send with address: {}", describe(&e)));
                }
                connected
                    .send_connected(b"connected hello", |result| {
                        log(format!("send callback {}", sent(&result)))
                    })
                    .expect("send");
            })
            .expect("connect");
            a.on_listening(|| log("a listening"));
            log("a connecting");
            next_tick(|| log("tick after connect"));
        })
        .expect("bind b");
        let (a_in, b_in) = (a.clone(), b.clone());
        b.once_message(move |msg, _| {
            log(format!("b got {}", String::from_utf8_lossy(msg)));
            connect_then_disconnect(a_in.clone(), b_in.clone());
        });
    });
    log_exit(&result);
    assert_matches_fixture("dgram_connect");
}

/// `dgram_three_sends`, on a socket made with `options`.
fn three_sends(options: SocketOptions) {
    let a = dgram::create_socket_with(options);
    let a_in = a.clone();
    a.bind_then(0, "127.0.0.1", move || {
        let a = a_in.clone();
        let port = a.address().expect("bound").port();
        for word in ["one", "two", "three"] {
            a.send(word.as_bytes(), port, "127.0.0.1", move |result| {
                log(format!("sent {word} {}", sent(&result)))
            })
            .expect("send");
        }
        next_tick(|| log("tick after sends"));
        set_timeout(|| log("timeout"), 0);
        set_immediate(|| log("immediate"));
        let closer = a.clone();
        a.on_message(move |msg, _| {
            log(format!("got {}", String::from_utf8_lossy(msg)));
            if msg == b"three" {
                closer.close().expect("close");
            }
        });
        busy_wait(2);
    })
    .expect("bind");
}

#[test]
fn dgram_three_sends() {
    let result = run(|| {
        three_sends(SocketOptions {
            socket_type: SocketType::Udp4,
            no_try_send: false,
        })
    });
    log_exit(&result);
    assert_matches_fixture("dgram_three_sends");
}

#[test]
fn dgram_three_sends_no_try_send() {
    let result = run(|| {
        three_sends(SocketOptions {
            socket_type: SocketType::Udp4,
            no_try_send: true,
        })
    });
    // The child's exit line, then the parent's.
    log_exit(&result);
    log_exit(&result);
    assert_matches_fixture("dgram_three_sends_no_try_send");
}

#[test]
fn dgram_recv_budget() {
    let result = run(|| {
        let a = dgram::create_socket(SocketType::Udp4);
        let b = dgram::create_socket(SocketType::Udp4);
        let got = Rc::new(Cell::new(0));
        let (a_close, b_close, count) = (a.clone(), b.clone(), got.clone());
        b.on_message(move |msg, _| {
            count.set(count.get() + 1);
            if count.get() == 1 {
                let count = count.clone();
                set_immediate(move || {
                    log(format!("immediate from first message, got {}", count.get()))
                });
            }
            if count.get() == 100 {
                log(format!("got 100, last {}", String::from_utf8_lossy(msg)));
                a_close.close().expect("close a");
                b_close.close().expect("close b");
            }
        });
        let (a_in, b_in) = (a.clone(), b.clone());
        b.bind_then(0, "127.0.0.1", move || {
            let (a, b, got) = (a_in.clone(), b_in.clone(), got.clone());
            let sender = a.clone();
            a.bind_then(0, "127.0.0.1", move || {
                let port = b.address().expect("bound").port();
                for i in 0..100 {
                    sender
                        .send(format!("d{i}").as_bytes(), port, "127.0.0.1", |_| {})
                        .expect("send");
                }
                let got = got.clone();
                set_immediate(move || log(format!("immediate after sends, got {}", got.get())));
            })
            .expect("bind a");
        })
        .expect("bind b");
    });
    log_exit(&result);
    assert_matches_fixture("dgram_recv_budget");
}
