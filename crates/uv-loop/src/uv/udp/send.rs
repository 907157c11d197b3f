//! The send side of a UDP handle: `uv__udp_send`, `uv_udp_try_send`, `uv__udp_sendmsg`,
//! `uv__udp_run_completed` and `uv__udp_finish_close` (libuv 1.46 src/unix/udp.c). See the
//! parent module for the invariants: a request is written at once only when nothing is
//! outstanding and no completion is running; its callback runs when the handle is fed.

use std::io;
use std::net::SocketAddr;

use super::{SendCallback, SendRequest, UdpHandle};
use crate::uv::Loop;

impl UdpHandle {
    /// Sends `data` to `addr`, or to the connected peer with `None` (`uv_udp_send`). The
    /// callback runs from the pending phase (see the module docs); errors known now
    /// (closing, the implicit bind) are returned and no callback runs.
    pub fn send(
        &self,
        data: Vec<u8>,
        addr: Option<SocketAddr>,
        send_cb: Option<SendCallback>,
    ) -> io::Result<()> {
        self.closing()?;
        if let Some(addr) = addr {
            self.maybe_deferred_bind(addr.is_ipv6())?;
        }
        let event_loop = self.event_loop().ok_or(io::ErrorKind::BrokenPipe)?;
        // Outstanding requests may all sit in the completed queue, the write queue empty.
        let empty_queue = self.0.send_queue_count.get() == 0;
        event_loop.state_mut().active_reqs += 1;
        self.0
            .send_queue_size
            .set(self.0.send_queue_size.get() + data.len());
        self.0
            .send_queue_count
            .set(self.0.send_queue_count.get() + 1);
        self.0.write_queue.borrow_mut().push_back(SendRequest {
            data,
            addr,
            status: Ok(0),
            send_cb,
        });
        event_loop.io_start(self.0.id);
        if empty_queue && !self.0.flags.borrow().processing {
            self.send_queued(&event_loop);
            if !self.0.write_queue.borrow().is_empty() {
                self.start_writing(&event_loop);
            }
        } else {
            self.start_writing(&event_loop);
        }
        Ok(())
    }

    /// Sends `data` now or not at all (`uv_udp_try_send`): `EAGAIN` while requests are
    /// outstanding or the socket buffer is full. Returns the bytes sent.
    pub fn try_send(&self, data: &[u8], addr: Option<SocketAddr>) -> io::Result<usize> {
        self.closing()?;
        if self.0.send_queue_count.get() != 0 {
            return Err(io::Error::from_raw_os_error(libc::EAGAIN));
        }
        if let Some(addr) = addr {
            self.maybe_deferred_bind(addr.is_ipv6())?;
        }
        let sent = self.with_socket(|socket| send_one(socket, data, addr));
        match sent {
            Err(error) if is_full(&error) => Err(io::Error::from_raw_os_error(libc::EAGAIN)),
            other => other,
        }
    }

    /// `uv__udp_finish_close`: queued requests are cancelled, every completed callback runs.
    pub(super) fn finish_close(&self) {
        let cancelled: Vec<SendRequest> = self.0.write_queue.borrow_mut().drain(..).collect();
        for mut request in cancelled {
            request.status = Err(io::Error::from_raw_os_error(libc::ECANCELED));
            self.0.write_completed_queue.borrow_mut().push_back(request);
        }
        self.run_completed();
        self.0.recv_cb.borrow_mut().take();
    }

    fn start_writing(&self, event_loop: &Loop) {
        let was = std::mem::replace(&mut self.0.flags.borrow_mut().writing, true);
        if !was {
            // A socket writable already raises no new edge: ask epoll again.
            self.rearm(event_loop);
        }
    }

    /// `uv__io_feed`: run the write side from the pending phase, once however often fed.
    fn feed(&self, event_loop: &Loop) {
        if std::mem::replace(&mut self.0.flags.borrow_mut().fed, true) {
            return;
        }
        let handle = self.clone();
        event_loop.feed_pending(move || {
            let closing = {
                let mut flags = handle.0.flags.borrow_mut();
                flags.fed = false;
                flags.closing
            };
            // `uv__io_close` took the watcher off the pending queue.
            if !closing {
                handle.on_writable();
            }
        });
    }

    pub(super) fn on_writable(&self) {
        if let Some(event_loop) = self.event_loop() {
            self.send_queued(&event_loop);
        }
        self.run_completed();
    }

    /// `uv__udp_sendmsg`: writes the queue's requests in order until the socket is full.
    fn send_queued(&self, event_loop: &Loop) {
        loop {
            let sent = {
                let queue = self.0.write_queue.borrow();
                let Some(request) = queue.front() else {
                    return;
                };
                match self.0.socket.borrow().as_ref() {
                    Some(socket) => send_one(socket, &request.data, request.addr),
                    None => Err(io::Error::from_raw_os_error(libc::EBADF)),
                }
            };
            if matches!(&sent, Err(error) if is_full(error)) {
                return;
            }
            // A datagram goes whole or not at all: no partial writes to track.
            if let Some(mut request) = self.0.write_queue.borrow_mut().pop_front() {
                request.status = sent;
                self.0.write_completed_queue.borrow_mut().push_back(request);
            }
            self.feed(event_loop);
        }
    }

    /// `uv__udp_run_completed`.
    fn run_completed(&self) {
        self.0.flags.borrow_mut().processing = true;
        loop {
            let request = self.0.write_completed_queue.borrow_mut().pop_front();
            let Some(request) = request else {
                break;
            };
            if let Some(event_loop) = self.event_loop() {
                let mut state = event_loop.state_mut();
                state.active_reqs = state.active_reqs.saturating_sub(1);
            }
            self.0
                .send_queue_size
                .set(self.0.send_queue_size.get() - request.data.len());
            self.0
                .send_queue_count
                .set(self.0.send_queue_count.get() - 1);
            if let Some(send_cb) = request.send_cb {
                send_cb(request.status);
            }
        }
        if self.0.write_queue.borrow().is_empty() {
            let reading = {
                let mut flags = self.0.flags.borrow_mut();
                flags.writing = false;
                flags.reading
            };
            if !reading {
                if let Some(event_loop) = self.event_loop() {
                    event_loop.io_stop(self.0.id);
                }
            }
        }
        self.0.flags.borrow_mut().processing = false;
    }
}

fn send_one(
    socket: &mio::net::UdpSocket,
    data: &[u8],
    addr: Option<SocketAddr>,
) -> io::Result<usize> {
    loop {
        let sent = match addr {
            Some(addr) => socket.send_to(data, addr),
            None => socket.send(data),
        };
        match sent {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// `EAGAIN`, `EWOULDBLOCK` or `ENOBUFS`: the request stays queued.
fn is_full(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::WouldBlock || error.raw_os_error() == Some(libc::ENOBUFS)
}
