//! `node:dgram`: UDP sockets (Node 20's lib/dgram.js and src/udp_wrap.cc over
//! [`UdpHandle`], libuv's `uv_udp_t`).
//!
//! Invariants (each checked against Node 20: tests/ordering_dgram.rs and tests/dgram.rs):
//! - A socket is an [`EventEmitter`]: `listening`, `message`, `connect`, `error` and `close`
//!   reach their listeners in the order they were added, as Node emits them.
//! - `bind` resolves its address first (`handle.lookup`), even an IP literal: `dns.lookup`
//!   answers a literal on a nextTick, so `listening` comes in the first tick after the
//!   current callback's own, before the microtasks; a hostname goes to the thread pool. Then
//!   the handle binds, starts receiving and emits `listening` (`startListening`).
//! - `send` on an unbound socket binds it to the wildcard address and queues the send until
//!   `listening` (`enqueue`/`clearQueue`); `connect` and `close` wait in that queue too.
//! - A send resolves its address (a nextTick for a literal), then tries the kernel at once
//!   (`UDPWrap::Send` calls `uv_udp_try_send` first): when that succeeds, the callback runs
//!   on a nextTick, with no request made. Only when the kernel says `EAGAIN` (or requests are
//!   outstanding) does the send become a `uv_udp_send` request, whose callback runs when the
//!   handle runs its completed queue (the pending phase, see [`UdpHandle`]). Node's
//!   `--test-udp-no-try-send` skips the first try: [`SocketOptions::no_try_send`].
//! - Each datagram is one `message` emit as a callback from the loop (`OnRecv` is a
//!   `MakeCallback`): nextTicks and microtasks run after each, before the next datagram.
//! - `close` closes the handle at once and emits `close` on a nextTick (`socketCloseNT`),
//!   not from the closing phase. Nothing is emitted after `close` (every later call is an
//!   `Err`), so the listeners are dropped then: a listener that holds its socket (the usual
//!   `socket.on('message', ...)` that replies) would otherwise keep the two alive for ever.
//!   An open socket lives while its handle does: the loop holds the handle, the handle's
//!   receive callback holds the socket. When the loop is dropped with the socket open (a run
//!   that ended on an unreferenced socket, or on an error), the handle is torn down (see
//!   [`crate::uv`]): the socket's listeners go first, then the handle's callbacks.
//! - Synchronous misuse is an `Err` (Node throws): a closed socket is
//!   `ERR_SOCKET_DGRAM_NOT_RUNNING`, a second bind `ERR_SOCKET_ALREADY_BOUND`; a failed bind
//!   or a receive error is an `error` event, thrown when nobody listens.
//!
//! ```text
//!   bind ─> lookup ─(nextTick)─> uv bind ─> recv_start ─> 'listening' ─> queued sends
//!   send ─> lookup ─(nextTick)─> try_send ─ok─> nextTick(callback)
//!                                         └EAGAIN─> uv_udp_send ─> pending phase: callback
//!   readable ─> recvmsg ×≤32 ─> 'message'(data, rinfo) each, ticks and microtasks between
//!   close ─> uv_close ─> nextTick('close')
//! ```
//!
//! Left out: multicast, `reuseAddr`/`ipv6Only`, buffer sizes, `AbortSignal`, sending a list
//! of buffers (send one slice), `sendto`, cluster, and custom `lookup` functions.
//!
//! [`UdpHandle`]: crate::uv::UdpHandle
//! [`EventEmitter`]: crate::EventEmitter

mod connect;
mod error;
mod send;
mod socket;

pub use error::DgramError;
pub use socket::{
    create_socket, create_socket_with, RemoteInfo, SendResult, Socket, SocketOptions, SocketType,
};
