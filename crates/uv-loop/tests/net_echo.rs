//! `net`: a server and clients on one loop: every byte echoed back, backpressure through
//! `write`'s return value and `drain`, `end` then `close` on both sides, and the loop ending
//! once the server is closed.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use uv_loop::net::{connect, create_server, Socket};
use uv_loop::run;

fn echo(socket: Socket) {
    let writer = socket.clone();
    socket.on_data(move |chunk| {
        if !writer.write(chunk) {
            writer.pause();
            let resumer = writer.clone();
            writer.on_drain(move || resumer.resume());
        }
    });
}

#[test]
fn echo_sixteen_mebibytes_through_backpressure() {
    const TOTAL: usize = 16 << 20;
    let events = Rc::new(RefCell::new(Vec::<String>::new()));
    let received = Rc::new(Cell::new(0usize));
    let checksum_ok = Rc::new(Cell::new(true));
    let (log, got, ok) = (events.clone(), received.clone(), checksum_ok.clone());
    let result = run(move || {
        let server_log = log.clone();
        let server = create_server(move |socket| {
            server_log.borrow_mut().push("server connection".into());
            let end_log = server_log.clone();
            socket.on_end(move || end_log.borrow_mut().push("server end".into()));
            let close_log = server_log.clone();
            socket.on_close(move |had_error| {
                close_log
                    .borrow_mut()
                    .push(format!("server close {had_error}"))
            });
            echo(socket);
        });
        let addr = server
            .listen("127.0.0.1:0".parse().expect("addr"))
            .expect("listen");
        let client_log = log.clone();
        let client = Rc::new(RefCell::new(None::<Socket>));
        let slot = client.clone();
        let socket = connect(addr, move || {
            client_log.borrow_mut().push("client connect".into());
            let Some(socket) = slot.borrow().clone() else {
                return;
            };
            let payload: Vec<u8> = (0..TOTAL).map(|i| (i % 251) as u8).collect();
            let mut saw_backpressure = false;
            for chunk in payload.chunks(64 * 1024) {
                saw_backpressure |= !socket.write(chunk);
            }
            client_log
                .borrow_mut()
                .push(format!("client backpressure {saw_backpressure}"));
        })
        .expect("connect");
        let data_log = log.clone();
        let closer = socket.clone();
        socket.on_data(move |chunk| {
            let start = got.get();
            for (i, byte) in chunk.iter().enumerate() {
                if *byte != ((start + i) % 251) as u8 {
                    ok.set(false);
                }
            }
            got.set(start + chunk.len());
            if got.get() == TOTAL {
                data_log.borrow_mut().push("client got all".into());
                closer.end();
            }
        });
        let close_log = log.clone();
        socket.on_close(move |had_error| {
            close_log
                .borrow_mut()
                .push(format!("client close {had_error}"));
            server.close();
        });
        *client.borrow_mut() = Some(socket);
    });
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(received.get(), TOTAL);
    assert!(checksum_ok.get(), "every byte came back in order");
    let events = events.borrow().clone();
    for expected in [
        "client connect",
        "server connection",
        "client backpressure true",
        "client got all",
        "server end",
        "server close false",
        "client close false",
    ] {
        assert_eq!(
            events.iter().filter(|e| *e == expected).count(),
            1,
            "{expected} once in {events:?}"
        );
    }
    let position = |name: &str| events.iter().position(|e| e == name);
    assert!(position("server end") < position("server close false"));
    assert!(position("client got all") < position("client close false"));
}

#[test]
fn connect_refused_is_an_error_then_close() {
    let events = Rc::new(RefCell::new(Vec::<String>::new()));
    let log = events.clone();
    let result = run(move || {
        // Bind and drop a listener to find a port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port");
        let never = log.clone();
        let socket = connect(port, move || never.borrow_mut().push("connected".into()))
            .expect("connect starts");
        let error_log = log.clone();
        socket.on_error(move |error| {
            error_log
                .borrow_mut()
                .push(format!("error {:?}", error.kind()))
        });
        let close_log = log.clone();
        socket.on_close(move |had_error| close_log.borrow_mut().push(format!("close {had_error}")));
    });
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(*events.borrow(), ["error ConnectionRefused", "close true"]);
}
