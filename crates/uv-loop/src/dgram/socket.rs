//! `dgram.Socket`: lib/dgram.js's state machine (bind state, connect state, the queue of
//! calls made while binding) over a [`UdpHandle`]. See the parent module for the orderings.
//!
//! ```text
//!   bind state:    UNBOUND ─bind─> BINDING ─lookup, uv bind ok─> BOUND
//!                     ^────────── bind failed ('error') ─┘
//!   connect state: DISCONNECTED ─connect─> CONNECTING ─ok─> CONNECTED ─disconnect─┐
//!                     ^──────────────── failed ───────┘          ^────────────────┘
//!   handle:        Some ─close─> None   (every later call: ERR_SOCKET_DGRAM_NOT_RUNNING)
//! ```

use std::cell::{Cell, RefCell};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::rc::{Rc, Weak};

use super::DgramError;
use crate::events::{EventEmitter, Listener};
use crate::node::with_env;
use crate::uv::UdpHandle;
use crate::{next_tick, throw, JsError};

/// `'udp4'` or `'udp6'`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketType {
    /// IPv4; the default address is `0.0.0.0` to bind, `127.0.0.1` to send or connect.
    Udp4,
    /// IPv6; `::` to bind, `::1` to send or connect.
    Udp6,
}

/// `dgram.createSocket(options)`.
#[derive(Clone, Copy, Debug)]
pub struct SocketOptions {
    /// `options.type`.
    pub socket_type: SocketType,
    /// Node's `--test-udp-no-try-send`: every send becomes a `uv_udp_send` request, whose
    /// callback runs from the pending phase, instead of trying the kernel first.
    pub no_try_send: bool,
}

/// `rinfo` of a `message` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteInfo {
    /// `rinfo.address`.
    pub address: IpAddr,
    /// `rinfo.family`: `"IPv4"` or `"IPv6"`.
    pub family: &'static str,
    /// `rinfo.port`.
    pub port: u16,
    /// `rinfo.size`: the datagram's length.
    pub size: usize,
}

/// What the socket's emitter carries.
#[derive(Clone, Debug)]
pub(super) enum Event {
    /// `listening`, `connect` and `close` carry nothing.
    None,
    /// `message`: the datagram and `rinfo`.
    Message(Rc<[u8]>, RemoteInfo),
    /// `error`.
    Error(DgramError),
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum BindState {
    Unbound,
    Binding,
    Bound,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum ConnectState {
    Disconnected,
    Connecting,
    Connected,
}

/// A call made while binding, run once `listening` is emitted (`state.queue`).
pub(super) type Deferred = Box<dyn FnOnce()>;

/// What a send callback gets: the bytes sent, or the error.
pub type SendResult = Result<usize, DgramError>;

pub(super) struct State {
    pub(super) options: SocketOptions,
    /// `state.handle`; `None` once closed.
    pub(super) handle: RefCell<Option<UdpHandle>>,
    pub(super) receiving: Cell<bool>,
    pub(super) bind_state: Cell<BindState>,
    pub(super) connect_state: Cell<ConnectState>,
    /// `state.queue`: calls waiting for `listening`.
    pub(super) queue: RefCell<Option<Vec<Deferred>>>,
    /// The `listening` listener that runs the queue (`onListenSuccess`).
    pub(super) queue_listener: Cell<Option<Listener>>,
    pub(super) emitter: EventEmitter<Event>,
}

/// A UDP socket (`dgram.Socket`). Cloning gives another reference to the same socket.
#[derive(Clone)]
pub struct Socket(pub(super) Rc<State>);

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("type", &self.0.options.socket_type)
            .field("address", &self.address().ok())
            .finish()
    }
}

/// `dgram.createSocket(type)`.
pub fn create_socket(socket_type: SocketType) -> Socket {
    create_socket_with(SocketOptions {
        socket_type,
        no_try_send: false,
    })
}

/// `dgram.createSocket(options)`.
pub fn create_socket_with(options: SocketOptions) -> Socket {
    let handle = with_env(|env| UdpHandle::new(&env.uv));
    let socket = Socket(Rc::new(State {
        options,
        handle: RefCell::new(Some(handle.clone())),
        receiving: Cell::new(false),
        bind_state: Cell::new(BindState::Unbound),
        connect_state: Cell::new(ConnectState::Disconnected),
        queue: RefCell::new(None),
        queue_listener: Cell::new(None),
        emitter: EventEmitter::new(),
    }));
    // The run ended with the socket open (the loop is dropped): nothing is emitted again.
    let weak = socket.weak();
    handle.on_teardown(move || {
        if let Some(state) = weak.upgrade() {
            state.emitter.drop_listeners();
        }
    });
    socket
}

impl Socket {
    pub(super) fn weak(&self) -> Weak<State> {
        Rc::downgrade(&self.0)
    }

    pub(super) fn handle(&self) -> Result<UdpHandle, DgramError> {
        self.0
            .handle
            .borrow()
            .clone()
            .ok_or_else(DgramError::not_running)
    }

    /// `socket.on('listening')`.
    pub fn on_listening(&self, listener: impl Fn() + 'static) -> Listener {
        self.0.emitter.on("listening", move |_| listener())
    }

    /// `socket.on('message')`: the datagram and its sender.
    pub fn on_message(&self, listener: impl Fn(&[u8], &RemoteInfo) + 'static) -> Listener {
        self.0.emitter.on("message", move |event| {
            if let Event::Message(data, rinfo) = event {
                listener(data, rinfo);
            }
        })
    }

    /// `socket.once('message')`.
    pub fn once_message(&self, listener: impl Fn(&[u8], &RemoteInfo) + 'static) -> Listener {
        self.0.emitter.once("message", move |event| {
            if let Event::Message(data, rinfo) = event {
                listener(data, rinfo);
            }
        })
    }

    /// `socket.on('connect')`.
    pub fn on_connect(&self, listener: impl Fn() + 'static) -> Listener {
        self.0.emitter.on("connect", move |_| listener())
    }

    /// `socket.on('error')`. With no `error` listener, an error event is thrown.
    pub fn on_error(&self, listener: impl Fn(&DgramError) + 'static) -> Listener {
        self.0.emitter.on("error", move |event| {
            if let Event::Error(error) = event {
                listener(error);
            }
        })
    }

    /// `socket.on('close')`.
    pub fn on_close(&self, listener: impl Fn() + 'static) -> Listener {
        self.0.emitter.on("close", move |_| listener())
    }

    /// `socket.removeListener(event, listener)`.
    pub fn remove_listener(&self, event: &str, listener: &Listener) -> bool {
        self.0.emitter.remove_listener(event, listener)
    }

    pub(super) fn emit(&self, name: &str) {
        self.0.emitter.emit(name, Event::None);
    }

    /// `emit('error', err)`: the queue's `errorMonitor` listener first, then the listeners;
    /// with none, `err` is thrown, as Node's emit throws an `Error` payload itself.
    pub(super) fn emit_error(&self, error: DgramError) {
        if self.0.queue.borrow_mut().take().is_some() {
            // `onListenError` (an `errorMonitor` listener): the queued calls are dropped,
            // with the `listening` listener that would have run them.
            if let Some(listener) = self.0.queue_listener.take() {
                self.0.emitter.remove_listener("listening", &listener);
            }
        }
        if self.0.emitter.listener_count("error") == 0 {
            throw(JsError::new(error));
        }
        self.0.emitter.emit("error", Event::Error(error));
    }

    /// `socket.bind(port, address)`; an empty address is every interface.
    pub fn bind(&self, port: u16, address: &str) -> Result<(), DgramError> {
        self.bind_inner(port, address, None)
    }

    /// `socket.bind(port, address, callback)`: `callback` is a `listening` listener, removed
    /// (with its `error` companion) by whichever of the two events comes first.
    pub fn bind_then(
        &self,
        port: u16,
        address: &str,
        callback: impl FnOnce() + 'static,
    ) -> Result<(), DgramError> {
        self.bind_inner(port, address, Some(Box::new(callback)))
    }

    pub(super) fn bind_inner(
        &self,
        port: u16,
        address: &str,
        callback: Option<Box<dyn FnOnce()>>,
    ) -> Result<(), DgramError> {
        self.handle()?;
        if self.0.bind_state.get() != BindState::Unbound {
            return Err(DgramError::already_bound());
        }
        self.0.bind_state.set(BindState::Binding);
        if let Some(callback) = callback {
            self.add_bind_callback(callback);
        }
        let address = match (address, self.0.options.socket_type) {
            ("", SocketType::Udp4) => "0.0.0.0".to_owned(),
            ("", SocketType::Udp6) => "::".to_owned(),
            (address, _) => address.to_owned(),
        };
        let socket = self.clone();
        self.lookup(&address, move |result| {
            let Ok(handle) = socket.handle() else {
                return; // closed in the meantime
            };
            let ip = match result {
                Ok(ip) => ip,
                Err(error) => {
                    socket.0.bind_state.set(BindState::Unbound);
                    socket.emit_error(error);
                    return;
                }
            };
            if let Err(error) = handle.bind(SocketAddr::new(ip, port)) {
                let error = DgramError::with_host_port(&error, "bind", &ip.to_string(), port);
                socket.0.bind_state.set(BindState::Unbound);
                socket.emit_error(error);
                return;
            }
            socket.start_listening(&handle);
        });
        Ok(())
    }

    /// `removeListeners` / `onListening` of `Socket.prototype.bind`.
    fn add_bind_callback(&self, callback: Box<dyn FnOnce()>) {
        let handles: Rc<Cell<[Option<Listener>; 2]>> = Rc::new(Cell::new([None, None]));
        let remove = {
            let (weak, handles) = (self.weak(), handles.clone());
            move || {
                if let Some(state) = weak.upgrade() {
                    let [on_error, on_listening] = handles.get();
                    for (name, listener) in [("error", on_error), ("listening", on_listening)] {
                        if let Some(listener) = listener {
                            state.emitter.remove_listener(name, &listener);
                        }
                    }
                }
            }
        };
        let remove_on_error = remove.clone();
        let on_error = self.0.emitter.on("error", move |_| remove_on_error());
        let callback = Cell::new(Some(callback));
        let on_listening = self.0.emitter.on("listening", move |_| {
            remove();
            if let Some(callback) = callback.take() {
                callback();
            }
        });
        handles.set([Some(on_error), Some(on_listening)]);
    }

    /// `startListening`.
    pub(super) fn start_listening(&self, handle: &UdpHandle) {
        let socket = self.clone();
        let started = handle.recv_start(Rc::new(move |received| {
            let event = match received {
                Ok((data, from)) => Ok((Rc::<[u8]>::from(data), from)),
                Err(error) => Err(DgramError::errno_exception(&error, "recvmsg")),
            };
            let socket = socket.clone();
            with_env(|env| {
                env.make_callback(move || match event {
                    Ok((data, from)) => {
                        let rinfo = RemoteInfo {
                            address: from.ip(),
                            family: if from.is_ipv4() { "IPv4" } else { "IPv6" },
                            port: from.port(),
                            size: data.len(),
                        };
                        socket
                            .0
                            .emitter
                            .emit("message", Event::Message(data, rinfo));
                    }
                    Err(error) => socket.emit_error(error),
                })
            });
        }));
        // Node ignores recvStart's result here ("Todo: handle errors").
        drop(started);
        self.0.receiving.set(true);
        self.0.bind_state.set(BindState::Bound);
        self.emit("listening");
    }

    /// `handle.lookup`: `dns.lookup(address, family)`. A literal answers on a nextTick, as
    /// `dns.lookup` does; a hostname is resolved on the thread pool.
    pub(super) fn lookup(
        &self,
        address: &str,
        callback: impl FnOnce(Result<IpAddr, DgramError>) + 'static,
    ) {
        if let Ok(ip) = address.parse::<IpAddr>() {
            next_tick(move || callback(Ok(ip)));
            return;
        }
        let want_v6 = self.0.options.socket_type == SocketType::Udp6;
        let hostname = address.to_owned();
        crate::dns::lookup(address, move |result| {
            let found = result
                .ok()
                .and_then(|ips| ips.into_iter().find(|ip| ip.is_ipv6() == want_v6));
            callback(found.ok_or_else(|| DgramError::not_found(&hostname)));
        });
    }

    /// `enqueue`: runs `call` once `listening` is emitted; a bind error drops it.
    pub(super) fn enqueue(&self, call: Deferred) {
        let mut queue = self.0.queue.borrow_mut();
        if queue.is_none() {
            *queue = Some(Vec::new());
            let weak = self.weak();
            let listener = self.0.emitter.once("listening", move |_| {
                if let Some(state) = weak.upgrade() {
                    // `onListenSuccess`, then `clearQueue`.
                    state.queue_listener.take();
                    let calls = state.queue.borrow_mut().take();
                    for call in calls.into_iter().flatten() {
                        call();
                    }
                }
            });
            self.0.queue_listener.set(Some(listener));
        }
        if let Some(queue) = queue.as_mut() {
            queue.push(call);
        }
    }

    /// `socket.close()`: the handle closes now and `close` is emitted on a nextTick. While
    /// binding, the close waits in the queue.
    pub fn close(&self) -> Result<(), DgramError> {
        if self.0.queue.borrow().is_some() {
            let socket = self.clone();
            self.enqueue(Box::new(move || {
                if let Err(error) = socket.close() {
                    throw(JsError::new(error));
                }
            }));
            return Ok(());
        }
        let handle = self.handle()?;
        self.stop_receiving(&handle);
        // The handle's close callback is Node's `HandleWrap::OnClose`: nothing for UDP.
        let _ = handle.close(|| {});
        self.0.handle.borrow_mut().take();
        let socket = self.clone();
        next_tick(move || {
            socket.emit("close");
            // `close` is the last event (every later call throws): the listeners go, and
            // with them the cycles through those that hold the socket.
            socket.0.emitter.drop_listeners();
        });
        Ok(())
    }

    /// `socket.close(callback)`: `callback` becomes a `close` listener first (even when the
    /// close then fails with `ERR_SOCKET_DGRAM_NOT_RUNNING`).
    pub fn close_then(&self, callback: impl Fn() + 'static) -> Result<(), DgramError> {
        self.on_close(callback);
        self.close()
    }

    pub(super) fn stop_receiving(&self, handle: &UdpHandle) {
        if self.0.receiving.replace(false) {
            handle.recv_stop();
        }
    }

    /// `socket.address()`: the bound address.
    pub fn address(&self) -> Result<SocketAddr, DgramError> {
        self.handle()?
            .local_addr()
            .map_err(|error| DgramError::errno_exception(&error, "getsockname"))
    }

    /// `socket.remoteAddress()`: the connected peer.
    pub fn remote_address(&self) -> Result<SocketAddr, DgramError> {
        let handle = self.handle()?;
        if self.0.connect_state.get() != ConnectState::Connected {
            return Err(DgramError::not_connected());
        }
        handle
            .peer_addr()
            .map_err(|error| DgramError::errno_exception(&error, "getpeername"))
    }

    /// `socket.setBroadcast(flag)`.
    pub fn set_broadcast(&self, flag: bool) -> Result<(), DgramError> {
        self.handle()?
            .set_broadcast(flag)
            .map_err(|error| DgramError::errno_exception(&error, "setBroadcast"))
    }

    /// `socket.setTTL(ttl)`: 1 to 255.
    pub fn set_ttl(&self, ttl: u32) -> Result<u32, DgramError> {
        self.handle()?
            .set_ttl(ttl)
            .map_err(|error| DgramError::errno_exception(&error, "setTTL"))?;
        Ok(ttl)
    }

    /// `socket.ref()`: the socket keeps the loop alive while bound (the default).
    pub fn ref_(&self) -> &Socket {
        if let Some(handle) = self.0.handle.borrow().as_ref() {
            handle.set_ref(true);
        }
        self
    }

    /// `socket.unref()`: the socket does not keep the loop alive.
    pub fn unref(&self) -> &Socket {
        if let Some(handle) = self.0.handle.borrow().as_ref() {
            handle.set_ref(false);
        }
        self
    }

    /// `socket.getSendQueueCount()`: send requests not yet completed.
    pub fn send_queue_count(&self) -> usize {
        self.0
            .handle
            .borrow()
            .as_ref()
            .map_or(0, UdpHandle::send_queue_count)
    }
}
