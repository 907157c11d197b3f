//! Shared by the `sock=` tests: the Python scenarios' `refuse`, and unbound sockets made as
//! `socket.socket(family, type)` makes them.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use asyncio_loop::{Error, SockError};
use rustix::net::{AddressFamily, SocketType};

use super::{out, py_bool};

/// `socket.socket(family, kind)`, unbound, and its descriptor's number.
#[allow(dead_code)]
pub fn unbound(family: AddressFamily, kind: SocketType) -> (OwnedFd, RawFd) {
    let sock = rustix::net::socket(family, kind, None).expect("socket()");
    let raw = sock.as_raw_fd();
    (sock, raw)
}

/// The scenarios' `refuse`: what the call that got the socket numbered `raw` gave (CPython's
/// `ValueError` as a [`SockError`], `fd=N` for the number, which must be the socket's), and
/// whether the socket is still open (given back by [`SockError::take_socket`], the same
/// descriptor, still valid).
#[allow(dead_code)]
pub async fn refuse<T>(
    label: &str,
    made: impl std::future::Future<Output = Result<T, Error>>,
    raw: RawFd,
) {
    let error = match made.await {
        Ok(_) => return out(format!("{label}: accepted")),
        Err(error) => error,
    };
    let Error::Exception(exception) = &error else {
        return out(format!("{label}: {error}"));
    };
    let Some(refused) = exception.downcast_ref::<SockError>() else {
        return out(format!("{label}: {error}"));
    };
    let message = refused.to_string();
    if message.contains("fd=") {
        assert!(
            message.contains(&format!("fd={raw},")),
            "the repr names another descriptor than the socket's ({raw}): {message}"
        );
    }
    out(format!(
        "{label}: ValueError {}",
        message.replace(&format!("fd={raw},"), "fd=N,")
    ));
    let sock = refused.take_socket();
    let open = sock
        .as_ref()
        .is_some_and(|sock| sock.as_raw_fd() == raw && rustix::io::fcntl_getfd(sock).is_ok());
    out(format!("{label}: socket still open {}", py_bool(open)));
}

/// Whether the open file behind `fd` is non-blocking (`O_NONBLOCK`, shared by every
/// descriptor of it: a `try_clone` of a socket given away tells whether the loop set it).
#[allow(dead_code)]
pub fn nonblocking(fd: impl std::os::fd::AsFd) -> bool {
    let flags = rustix::fs::fcntl_getfl(fd).expect("fcntl(F_GETFL)");
    flags.contains(rustix::fs::OFlags::NONBLOCK)
}
