//! `socket.send`: lib/dgram.js's `send` and `doSend`, and `UDPWrap::Send` (src/udp_wrap.cc),
//! which tries `uv_udp_try_send` before it makes a `uv_udp_send` request. See the parent
//! module for the orderings.

use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

use super::socket::{BindState, ConnectState, SendResult, Socket, SocketType};
use super::DgramError;
use crate::node::with_env;
use crate::{next_tick, throw, JsError};

impl Socket {
    /// `socket.send(msg, port, address, callback)`: one datagram to `address:port` (an empty
    /// address is the loopback address). `callback` gets the bytes sent or the error.
    pub fn send(
        &self,
        msg: &[u8],
        port: u16,
        address: &str,
        callback: impl FnOnce(SendResult) + 'static,
    ) -> Result<(), DgramError> {
        if self.0.connect_state.get() == ConnectState::Connected {
            return Err(DgramError::is_connected());
        }
        if port == 0 {
            return Err(DgramError::bad_port(0));
        }
        self.send_inner(
            msg.to_vec(),
            Some((port, address.to_owned())),
            Box::new(callback),
        )
    }

    /// `socket.send(msg, callback)` on a connected socket. Node reads the missing port as 0
    /// on a socket that is not connected: `ERR_SOCKET_BAD_PORT`.
    pub fn send_connected(
        &self,
        msg: &[u8],
        callback: impl FnOnce(SendResult) + 'static,
    ) -> Result<(), DgramError> {
        if self.0.connect_state.get() != ConnectState::Connected {
            return Err(DgramError::bad_port(0));
        }
        self.send_inner(msg.to_vec(), None, Box::new(callback))
    }

    fn send_inner(
        &self,
        msg: Vec<u8>,
        to: Option<(u16, String)>,
        callback: Box<dyn FnOnce(SendResult)>,
    ) -> Result<(), DgramError> {
        self.handle()?;
        if self.0.bind_state.get() == BindState::Unbound {
            self.bind_inner(0, "", None)?;
        }
        if self.0.bind_state.get() != BindState::Bound {
            let socket = self.clone();
            self.enqueue(Box::new(move || {
                // `this.send(...)` again: it throws on a socket closed meanwhile, from the
                // `listening` emit.
                if let Err(error) = socket.send_inner(msg, to, callback) {
                    throw(JsError::new(error));
                }
            }));
            return Ok(());
        }
        match to {
            None => self.do_send(Ok(None), msg, callback),
            Some((port, address)) => {
                let address = match (address.as_str(), self.0.options.socket_type) {
                    ("", SocketType::Udp4) => "127.0.0.1".to_owned(),
                    ("", SocketType::Udp6) => "::1".to_owned(),
                    _ => address,
                };
                let socket = self.clone();
                self.lookup(&address.clone(), move |ip| {
                    let target = ip.map(|ip| Some((SocketAddr::new(ip, port), address)));
                    socket.do_send(target, msg, callback);
                });
            }
        }
        Ok(())
    }

    /// `doSend` and `UDPWrap::Send`: try the kernel, else make a request.
    fn do_send(
        &self,
        target: Result<Option<(SocketAddr, String)>, DgramError>,
        msg: Vec<u8>,
        callback: Box<dyn FnOnce(SendResult)>,
    ) {
        let target = match target {
            Ok(target) => target,
            Err(error) => {
                next_tick(move || callback(Err(error)));
                return;
            }
        };
        let Ok(handle) = self.handle() else {
            return;
        };
        let addr = target.as_ref().map(|(addr, _)| *addr);
        let (address, port) = match &target {
            Some((addr, address)) => (address.clone(), addr.port()),
            None => (String::new(), 0),
        };
        let to_error =
            move |error: &io::Error| DgramError::with_host_port(error, "send", &address, port);
        if !self.0.options.no_try_send {
            match handle.try_send(&msg, addr) {
                Ok(sent) => {
                    next_tick(move || callback(Ok(sent)));
                    return;
                }
                Err(error) if error.raw_os_error() == Some(libc::EAGAIN) => {}
                Err(error) => {
                    let error = to_error(&error);
                    next_tick(move || callback(Err(error)));
                    return;
                }
            }
        }
        let callback = Rc::new(Cell::new(Some(callback)));
        let to_error = Rc::new(to_error);
        let (on_done, done_callback) = (to_error.clone(), callback.clone());
        let send_cb = Box::new(move |status: io::Result<usize>| {
            let result = status.map_err(|error| on_done(&error));
            if let Some(callback) = done_callback.take() {
                with_env(|env| env.make_callback(|| callback(result)));
            }
        });
        if let Err(error) = handle.send(msg, addr, Some(send_cb)) {
            let error = to_error(&error);
            if let Some(callback) = callback.take() {
                next_tick(move || callback(Err(error)));
            }
        }
    }
}
