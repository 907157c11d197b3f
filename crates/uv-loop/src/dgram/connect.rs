//! `socket.connect` and `socket.disconnect`: lib/dgram.js's `connect`, `_connect`,
//! `doConnect` and `disconnect` over `uv_udp_connect`/`uv_udp_disconnect`. `connect` is
//! emitted on a nextTick after the lookup's; a failure goes to the callback (or `error`).

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;

use super::socket::{BindState, ConnectState, Socket, SocketType};
use super::DgramError;
use crate::next_tick;

impl Socket {
    /// `socket.connect(port, address, callback)`: `callback` gets `None` once connected, or
    /// the error (then no `error` event).
    pub fn connect(
        &self,
        port: u16,
        address: &str,
        callback: impl FnOnce(Option<DgramError>) + 'static,
    ) -> Result<(), DgramError> {
        if port == 0 {
            return Err(DgramError::bad_port(0));
        }
        if self.0.connect_state.get() != ConnectState::Disconnected {
            return Err(DgramError::is_connected());
        }
        // Node throws here from its bind's health check, or, on a socket bound before it was
        // closed, a TypeError from the missing handle: both are "not running".
        self.handle()?;
        self.0.connect_state.set(ConnectState::Connecting);
        if self.0.bind_state.get() == BindState::Unbound {
            self.bind_inner(0, "", None)?;
        }
        let address = address.to_owned();
        let callback: Box<dyn FnOnce(Option<DgramError>)> = Box::new(callback);
        if self.0.bind_state.get() != BindState::Bound {
            let socket = self.clone();
            self.enqueue(Box::new(move || {
                socket.connect_now(port, address, callback)
            }));
        } else {
            self.connect_now(port, address, callback);
        }
        Ok(())
    }

    /// `_connect` and `doConnect`.
    fn connect_now(
        &self,
        port: u16,
        address: String,
        callback: Box<dyn FnOnce(Option<DgramError>)>,
    ) {
        let callback = Rc::new(Cell::new(Some(callback)));
        let on_connect = {
            let callback = callback.clone();
            self.0.emitter.once("connect", move |_| {
                if let Some(callback) = callback.take() {
                    callback(None);
                }
            })
        };
        let lookup_address = match (address.as_str(), self.0.options.socket_type) {
            ("", SocketType::Udp4) => "127.0.0.1".to_owned(),
            ("", SocketType::Udp6) => "::1".to_owned(),
            _ => address.clone(),
        };
        let socket = self.clone();
        self.lookup(&lookup_address, move |ip| {
            let Ok(handle) = socket.handle() else {
                return;
            };
            let outcome = ip.and_then(|ip| {
                handle
                    .connect(SocketAddr::new(ip, port))
                    .map_err(|error| DgramError::with_host_port(&error, "connect", &address, port))
            });
            match outcome {
                Ok(()) => {
                    socket.0.connect_state.set(ConnectState::Connected);
                    next_tick(move || socket.emit("connect"));
                }
                Err(error) => {
                    socket.0.connect_state.set(ConnectState::Disconnected);
                    next_tick(move || {
                        socket.0.emitter.remove_listener("connect", &on_connect);
                        match callback.take() {
                            Some(callback) => callback(Some(error)),
                            None => socket.emit_error(error),
                        }
                    });
                }
            }
        });
    }

    /// `socket.disconnect()`.
    pub fn disconnect(&self) -> Result<(), DgramError> {
        if self.0.connect_state.get() != ConnectState::Connected {
            return Err(DgramError::not_connected());
        }
        self.handle()?
            .disconnect()
            .map_err(|error| DgramError::errno_exception(&error, "connect"))?;
        self.0.connect_state.set(ConnectState::Disconnected);
        Ok(())
    }
}
