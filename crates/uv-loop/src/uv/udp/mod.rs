//! UDP handles: libuv 1.46's `uv_udp_t` (src/unix/udp.c) on an I/O watcher.
//!
//! Invariants:
//! - A send request goes on the write queue. [`UdpHandle::send`] (`uv__udp_send`) writes at
//!   once when no request is outstanding (`send_queue_count == 0`) and no completion is being
//!   run (`UV_HANDLE_UDP_PROCESSING`); otherwise it starts the write watcher and the next
//!   poll that finds the socket writable writes. A written (or failed) request moves to the
//!   write-completed queue, and its callback runs only when the watcher is *fed*
//!   (`uv__io_feed`): in the pending phase that follows (the next iteration's, or this one's
//!   right after poll when the send was made in the poll phase), never inside `send`.
//! - `uv__udp_run_completed` runs the completed callbacks in order with the PROCESSING flag
//!   set, then stops the write watcher once the write queue is empty, and the handle once it
//!   is not reading either: the handle is active while it reads or has requests outstanding.
//!   Every outstanding request also counts as an active request of the loop
//!   (`uv__req_register`), so an unreferenced handle still holds the loop for its sends.
//! - A readable event reads up to 32 datagrams (`uv__udp_recvmsg`'s `count = 32`), one
//!   receive callback each, stopping early at `EAGAIN`, when the callback stops reading or
//!   closes the handle. `EAGAIN` calls nothing here (libuv calls back with `nread == 0` and no
//!   address, which Node ignores).
//! - The handle has no socket until it is bound: [`UdpHandle::bind`], or the implicit bind to
//!   the wildcard address of `send`, `connect` and `recv_start`
//!   (`uv__udp_maybe_deferred_bind`).
//! - `close` closes the socket at once and drops the fed pending entry (`uv__io_close`); in
//!   the closing phase the requests still queued complete with `ECANCELED`, every completed
//!   callback runs (`uv__udp_finish_close`), then the close callback.
//! - The handle holds its loop weakly and the loop holds the handle until close. If the loop
//!   is dropped first, the handle is torn down: its owner's hook runs ([`UdpHandle::on_teardown`],
//!   a `dgram` socket drops its listeners), then the receive callback and the queued requests
//!   are dropped, none called; the socket itself stays for whoever still holds the handle.
//!
//! ```text
//!   send ─> write_queue ─(empty & !PROCESSING: sendmsg now | else POLLOUT, poll: sendmsg)─>
//!           write_completed_queue ─> feed ─> pending phase: run_completed ─> send_cb(status)
//!   readable ─> recvmsg ×≤32 ─> recv_cb(datagram, peer) ...  (budget spent: re-armed)
//! ```
//!
//! Level- against edge-triggered. mio registers edge-triggered; libuv's epoll is
//! level-triggered, so a socket with datagrams left after the budget, or a watcher started on
//! a socket that is already readable or writable, is reported again by the next poll. Here
//! the watcher is re-registered (`EPOLL_CTL_MOD`, [`Loop::io_rearm`]) in those cases, which
//! makes epoll report the current readiness at the next poll: the same phase libuv reports
//! it in. Events for a direction the watcher did not start are ignored, as epoll would not
//! report them to libuv.
//!
//! Left out: `recvmmsg` (Node does not ask for it), multicast, `uv_udp_open`, IPv6-only and
//! `SO_REUSEADDR` binds, and gathering several buffers into one datagram: a request is one
//! buffer, and each request is one `sendmsg` (libuv batches them with `sendmmsg`, with the
//! same completions in the same order).

mod send;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::{Rc, Weak};

use super::{HandleClosed, HandleId, Loop, LoopInner, Readiness};

/// `UV__UDP_DGRAM_MAXSIZE`: the receive buffer for one datagram.
pub const DATAGRAM_MAX_SIZE: usize = 64 * 1024;

/// Datagrams read per readable event at most (`uv__udp_recvmsg`'s `count`).
pub const RECV_PER_EVENT: u32 = 32;

/// A send request's callback: the bytes sent, or the error (`ECANCELED` if the handle was
/// closed first).
pub type SendCallback = Box<dyn FnOnce(io::Result<usize>)>;

/// The receive callback: one datagram and its sender, or a receive error.
pub type RecvCallback = Rc<dyn Fn(io::Result<(&[u8], SocketAddr)>)>;

/// `uv_udp_send_t`.
struct SendRequest {
    data: Vec<u8>,
    /// `None`: the connected peer (`AF_UNSPEC`).
    addr: Option<SocketAddr>,
    /// Bytes sent, or the error; set when the request moves to the completed queue.
    status: io::Result<usize>,
    send_cb: Option<SendCallback>,
}

#[derive(Default)]
struct Flags {
    /// `UV_HANDLE_UDP_CONNECTED`.
    connected: bool,
    /// `UV_HANDLE_UDP_PROCESSING`: `run_completed` is running callbacks.
    processing: bool,
    /// The read watcher is started (`POLLIN` in the watcher's events).
    reading: bool,
    /// The write watcher is started (`POLLOUT`).
    writing: bool,
    /// The watcher sits in the pending queue (`uv__io_feed` queues it once).
    fed: bool,
    /// `uv_close` was called.
    closing: bool,
}

struct UdpInner {
    event_loop: Weak<LoopInner>,
    id: HandleId,
    socket: RefCell<Option<mio::net::UdpSocket>>,
    flags: RefCell<Flags>,
    write_queue: RefCell<VecDeque<SendRequest>>,
    write_completed_queue: RefCell<VecDeque<SendRequest>>,
    /// `send_queue_size`: bytes in requests not yet completed by `run_completed`.
    send_queue_size: Cell<usize>,
    /// `send_queue_count`: requests not yet completed by `run_completed`.
    send_queue_count: Cell<usize>,
    recv_cb: RefCell<Option<RecvCallback>>,
    /// The 64 KiB receive buffer, taken out while a read event runs.
    recv_buffer: RefCell<Vec<u8>>,
    /// What its owner (a `dgram` socket) drops when the loop is dropped with the handle open.
    on_teardown: RefCell<Option<Box<dyn FnOnce()>>>,
}

/// A UDP handle (`uv_udp_t`). Cloning gives another reference to the same handle.
#[derive(Clone)]
pub struct UdpHandle(Rc<UdpInner>);

impl std::fmt::Debug for UdpHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpHandle")
            .field("local", &self.local_addr().ok())
            .finish()
    }
}

/// The watcher is the handle itself: its loop holds it until close, and drops what it holds
/// when the loop is dropped with the handle still open.
impl super::io::IoWatcher for UdpHandle {
    fn ready(&self, readiness: Readiness) {
        self.on_io(readiness);
    }

    fn teardown(&self) {
        let on_teardown = self.0.on_teardown.borrow_mut().take();
        if let Some(on_teardown) = on_teardown {
            on_teardown();
        }
        let recv_cb = self.0.recv_cb.borrow_mut().take();
        let queued = std::mem::take(&mut *self.0.write_queue.borrow_mut());
        let completed = std::mem::take(&mut *self.0.write_completed_queue.borrow_mut());
        // The socket stays, for whoever still holds the handle (its address reads on).
        drop((recv_cb, queued, completed));
    }
}

impl UdpHandle {
    /// A handle with no socket yet (`uv_udp_init`): referenced, inactive.
    pub fn new(event_loop: &Loop) -> UdpHandle {
        let id = event_loop.io_init_unregistered(Rc::new(|_| {}));
        let handle = UdpHandle(Rc::new(UdpInner {
            event_loop: event_loop.inner_weak(),
            id,
            socket: RefCell::new(None),
            flags: RefCell::new(Flags::default()),
            write_queue: RefCell::new(VecDeque::new()),
            write_completed_queue: RefCell::new(VecDeque::new()),
            send_queue_size: Cell::new(0),
            send_queue_count: Cell::new(0),
            recv_cb: RefCell::new(None),
            recv_buffer: RefCell::new(Vec::new()),
            on_teardown: RefCell::new(None),
        }));
        // The watcher holds the handle until close (which drops the watcher's callback), as
        // a libuv handle stays reachable from its loop: queued sends complete even if every
        // other reference is gone. The handle holds its loop weakly, so no cycle outlives
        // the loop.
        let watcher: super::io::IoCallback = Rc::new(handle.clone());
        event_loop
            .state_mut()
            .io_callbacks
            .insert(id.index, (id.generation, watcher));
        handle
    }

    /// Sets what runs when the loop is dropped with this handle open, before the handle
    /// drops its own callbacks: an owner's chance to drop what holds it (listeners).
    pub(crate) fn on_teardown(&self, teardown: impl FnOnce() + 'static) {
        *self.0.on_teardown.borrow_mut() = Some(Box::new(teardown));
    }

    fn event_loop(&self) -> Option<Loop> {
        self.0.event_loop.upgrade().map(Loop::from_inner)
    }

    fn closing(&self) -> io::Result<()> {
        if self.0.flags.borrow().closing {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        Ok(())
    }

    /// Binds to `addr` (`uv_udp_bind`): creates the socket. A handle that has one already
    /// fails with `EINVAL`, as the kernel refuses a second bind.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.closing()?;
        if self.0.socket.borrow().is_some() {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let mut socket = mio::net::UdpSocket::bind(addr)?;
        let event_loop = self.event_loop().ok_or(io::ErrorKind::BrokenPipe)?;
        event_loop.io_register(self.0.id, &mut socket)?;
        *self.0.socket.borrow_mut() = Some(socket);
        Ok(())
    }

    /// `uv__udp_maybe_deferred_bind`: binds to the wildcard address of `addr`'s family unless
    /// bound already.
    fn maybe_deferred_bind(&self, ipv6: bool) -> io::Result<()> {
        if self.0.socket.borrow().is_some() {
            return Ok(());
        }
        let any = if ipv6 {
            SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0))
        } else {
            SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
        };
        self.bind(any)
    }

    /// Connects to `addr` (`uv_udp_connect`): sends without an address go there, and only its
    /// datagrams are received.
    pub fn connect(&self, addr: SocketAddr) -> io::Result<()> {
        self.closing()?;
        if self.0.flags.borrow().connected {
            return Err(io::Error::from_raw_os_error(libc::EISCONN));
        }
        self.maybe_deferred_bind(addr.is_ipv6())?;
        self.with_socket(|socket| socket.connect(addr))?;
        self.0.flags.borrow_mut().connected = true;
        Ok(())
    }

    /// Dissolves the association (`uv_udp_disconnect`: `connect` to an `AF_UNSPEC` address).
    pub fn disconnect(&self) -> io::Result<()> {
        if !self.0.flags.borrow().connected {
            return Err(io::Error::from_raw_os_error(libc::ENOTCONN));
        }
        self.with_socket(|socket| {
            use std::os::fd::AsRawFd;
            let unspecified = libc::sockaddr {
                sa_family: libc::AF_UNSPEC as libc::sa_family_t,
                sa_data: [0; 14],
            };
            // SAFETY: the descriptor is this handle's open socket, borrowed for the call, and
            // the address is a valid `sockaddr` of the length passed; `connect` only reads it.
            let result = unsafe {
                libc::connect(
                    socket.as_raw_fd(),
                    &unspecified,
                    std::mem::size_of::<libc::sockaddr>() as libc::socklen_t,
                )
            };
            let error = io::Error::last_os_error();
            // Linux dissolves the association and still answers EAFNOSUPPORT for some
            // families; libuv ignores that error.
            if result == -1 && error.raw_os_error() != Some(libc::EAFNOSUPPORT) {
                return Err(error);
            }
            Ok(())
        })?;
        self.0.flags.borrow_mut().connected = false;
        Ok(())
    }

    /// Whether the handle is connected (`UV_HANDLE_UDP_CONNECTED`).
    pub fn is_connected(&self) -> bool {
        self.0.flags.borrow().connected
    }

    fn with_socket<R>(
        &self,
        f: impl FnOnce(&mio::net::UdpSocket) -> io::Result<R>,
    ) -> io::Result<R> {
        match self.0.socket.borrow().as_ref() {
            Some(socket) => f(socket),
            None => Err(io::Error::from_raw_os_error(libc::EBADF)),
        }
    }

    /// The bound address (`uv_udp_getsockname`).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.with_socket(|socket| socket.local_addr())
    }

    /// The connected peer (`uv_udp_getpeername`).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.with_socket(|socket| socket.peer_addr())
    }

    /// `SO_BROADCAST` (`uv_udp_set_broadcast`).
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.with_socket(|socket| socket.set_broadcast(on))
    }

    /// The unicast TTL, 1 to 255 (`uv_udp_set_ttl`).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        if !(1..=255).contains(&ttl) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        self.with_socket(|socket| socket.set_ttl(ttl))
    }

    /// Bytes in requests not yet completed (`uv_udp_get_send_queue_size`).
    pub fn send_queue_size(&self) -> usize {
        self.0.send_queue_size.get()
    }

    /// Requests not yet completed (`uv_udp_get_send_queue_count`).
    pub fn send_queue_count(&self) -> usize {
        self.0.send_queue_count.get()
    }

    /// Starts receiving (`uv_udp_recv_start`): `recv_cb` runs in the poll phase with each
    /// datagram. `EALREADY` if receiving already.
    pub fn recv_start(&self, recv_cb: RecvCallback) -> io::Result<()> {
        self.closing()?;
        if self.0.flags.borrow().reading {
            return Err(io::Error::from_raw_os_error(libc::EALREADY));
        }
        self.maybe_deferred_bind(false)?;
        let event_loop = self.event_loop().ok_or(io::ErrorKind::BrokenPipe)?;
        *self.0.recv_cb.borrow_mut() = Some(recv_cb);
        self.0.flags.borrow_mut().reading = true;
        event_loop.io_start(self.0.id);
        // Datagrams that arrived while not reading raised their edge then: ask again.
        self.rearm(&event_loop);
        Ok(())
    }

    /// Stops receiving (`uv_udp_recv_stop`); the handle stays active while sends are
    /// outstanding.
    pub fn recv_stop(&self) {
        let writing = {
            let mut flags = self.0.flags.borrow_mut();
            flags.reading = false;
            flags.writing
        };
        self.0.recv_cb.borrow_mut().take();
        if !writing {
            if let Some(event_loop) = self.event_loop() {
                event_loop.io_stop(self.0.id);
            }
        }
    }

    /// `uv_ref` / `uv_unref`.
    pub fn set_ref(&self, referenced: bool) {
        if let Some(event_loop) = self.event_loop() {
            event_loop.io_ref(self.0.id, referenced);
        }
    }

    /// Whether the handle is referenced (`uv_has_ref`).
    pub fn has_ref(&self) -> bool {
        self.event_loop().is_some_and(|event_loop| {
            event_loop
                .state()
                .slot(self.0.id)
                .is_some_and(|slot| slot.flags & super::REF != 0)
        })
    }

    /// Closes the handle (`uv_close`): the socket now, the callbacks in the closing phase.
    pub fn close(&self, close_cb: impl FnOnce() + 'static) -> Result<(), HandleClosed> {
        if std::mem::replace(&mut self.0.flags.borrow_mut().closing, true) {
            return Err(HandleClosed);
        }
        let event_loop = self.event_loop().ok_or(HandleClosed)?;
        {
            let mut flags = self.0.flags.borrow_mut();
            flags.reading = false;
            flags.writing = false;
        }
        let handle = self.clone();
        let finish: Box<dyn FnOnce()> = Box::new(move || {
            handle.finish_close();
            close_cb();
        });
        let socket = self.0.socket.borrow_mut().take();
        match socket {
            Some(mut socket) => event_loop.io_close(self.0.id, &mut socket, finish),
            None => event_loop.io_close_unregistered(self.0.id, finish),
        }
        // The socket is dropped (closed) here, as `uv__udp_close` closes the descriptor.
    }

    fn rearm(&self, event_loop: &Loop) {
        if let Some(socket) = self.0.socket.borrow_mut().as_mut() {
            // Failing to re-register leaves the socket registered as it was: the next edge
            // still comes.
            let _ = event_loop.io_rearm(self.0.id, socket);
        }
    }

    /// `uv__udp_io`: the read side first, then the write side.
    fn on_io(&self, readiness: Readiness) {
        let (reading, writing) = {
            let flags = self.0.flags.borrow();
            (flags.reading, flags.writing)
        };
        if reading && (readiness.readable || readiness.error) {
            self.recv();
        }
        if writing && (readiness.writable || readiness.error) && self.0.flags.borrow().writing {
            self.on_writable();
        }
    }

    /// `uv__udp_recvmsg`.
    fn recv(&self) {
        let mut buffer = self.0.recv_buffer.take();
        buffer.resize(DATAGRAM_MAX_SIZE, 0);
        self.recv_into(&mut buffer);
        self.0.recv_buffer.replace(buffer);
    }

    fn recv_into(&self, buffer: &mut [u8]) {
        let mut count = RECV_PER_EVENT;
        loop {
            let received = match self.0.socket.borrow().as_ref() {
                Some(socket) => socket.recv_from(buffer),
                None => return,
            };
            let Some(recv_cb) = self.0.recv_cb.borrow().clone() else {
                return;
            };
            match received {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    recv_cb(Err(error));
                    return;
                }
                Ok((n, from)) => recv_cb(Ok((&buffer[..n], from))),
            }
            count -= 1;
            let flags = self.0.flags.borrow();
            if flags.closing || !flags.reading {
                return;
            }
            drop(flags);
            if count == 0 {
                // Datagrams may be left: libuv's level-triggered poll reports them next.
                if let Some(event_loop) = self.event_loop() {
                    self.rearm(&event_loop);
                }
                return;
            }
        }
    }
}
