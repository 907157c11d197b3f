//! A server and a client Protocol on one loop over loopback: the order of `connection_made`,
//! `data_received`, `eof_received` and `connection_lost` on both sides, and when
//! `create_connection`, `Server::close` and `wait_closed` return, as in CPython.
//! Fixture: `protocol_events` in peers/python/asyncio_io_orderings.py.

mod common;

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

use asyncio_loop::{run, sleep, Error, EventLoop, Future, Protocol, Transport};
use common::{assert_matches_fixture, out, py_bytes};

fn lost(side: &str, error: Option<Rc<io::Error>>) {
    match error {
        None => out(format!("{side} connection_lost None")),
        Some(error) => out(format!("{side} connection_lost {error}")),
    }
}

struct Server {
    transport: RefCell<Option<Transport>>,
}

impl Protocol for Server {
    fn connection_made(&self, transport: &Transport) {
        out("server connection_made");
        *self.transport.borrow_mut() = Some(transport.clone());
    }

    fn data_received(&self, data: &[u8]) {
        out(format!("server data_received {}", py_bytes(data)));
        if let Some(transport) = self.transport.borrow().as_ref() {
            transport
                .write(&data.to_ascii_uppercase())
                .expect("not after write_eof");
        }
    }

    fn eof_received(&self) -> bool {
        out("server eof_received");
        false
    }

    fn connection_lost(&self, error: Option<Rc<io::Error>>) {
        lost("server", error);
        self.transport.borrow_mut().take();
    }
}

struct Client {
    done: Future<()>,
}

impl Protocol for Client {
    fn connection_made(&self, _transport: &Transport) {
        out("client connection_made");
    }

    fn data_received(&self, data: &[u8]) {
        out(format!("client data_received {}", py_bytes(data)));
    }

    fn eof_received(&self) -> bool {
        out("client eof_received");
        false
    }

    fn connection_lost(&self, error: Option<Rc<io::Error>>) {
        lost("client", error);
        let _ = self.done.set_result(());
    }
}

#[test]
fn protocol_events() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let any_port: SocketAddr = "127.0.0.1:0".parse().expect("an address");
        let server = event_loop
            .create_server(
                || {
                    Rc::new(Server {
                        transport: RefCell::new(None),
                    })
                },
                any_port,
            )
            .await?;
        out("server created");
        let done = event_loop.create_future::<()>();
        let client_done = done.clone();
        let (transport, _) = event_loop
            .create_connection(
                move || Rc::new(Client { done: client_done }),
                server.sockets()[0],
            )
            .await?;
        out("create_connection returned");
        transport.write(b"hello").map_err(Error::exception)?;
        out("client wrote hello");
        for i in 0..6 {
            sleep(0.0).await?;
            out(format!("pass {i}"));
        }
        out("client write_eof");
        transport.write_eof();
        done.await?;
        out("client done");
        server.close();
        out("server close returned");
        server.wait_closed().await?;
        out("server wait_closed returned");
        Ok(())
    })
    .expect("the scenario completes");
    assert_matches_fixture("protocol_events");
}
