//! Addresses with host names: `loop.getaddrinfo` and `_ensure_resolved` (base_events.py), so
//! that `create_connection`, `create_server`, `open_connection` and `start_server` take a host
//! and a port as CPython's do, as well as resolved addresses.
//!
//! ```text
//!   Address::Host(host, port) ─ an IP literal? ──yes──> [that address]     (_ipaddr_info: no
//!                               │                                            system call)
//!                               └─no──> getaddrinfo(host, port) in the default executor
//!                                       (`run_in_executor(None, socket.getaddrinfo, ...)`)
//!   Address::Resolved(addrs)  ────────> addrs, in order (as std's `ToSocketAddrs` for a slice)
//! ```
//!
//! A connection tries each address in turn until one connects (no happy eyeballs, CPython's
//! default); if none does, the error is the one error, or the first when all read the same, or
//! `Multiple exceptions: ...` listing them (3.12's rules without `all_errors`). A server binds
//! every address, each IPv6 one with `IPV6_V6ONLY`, skipping those the system cannot assign.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use crate::base_events::EventLoop;
use crate::futures::Error;

/// Where to connect or listen: resolved addresses, or a host (a name or an IP literal) and a
/// port, resolved when used. `From` a `SocketAddr`, a slice or `Vec` of them, an
/// `(IpAddr, u16)`, or a `(&str, u16)` / `(String, u16)` host and port. For a server, the host
/// `""` means every interface (CPython's `host=None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// Addresses to use as they are, in order.
    Resolved(Vec<SocketAddr>),
    /// A host name or IP literal, and a port.
    Host(String, u16),
}

impl From<SocketAddr> for Address {
    fn from(addr: SocketAddr) -> Self {
        Address::Resolved(vec![addr])
    }
}

impl From<&[SocketAddr]> for Address {
    fn from(addrs: &[SocketAddr]) -> Self {
        Address::Resolved(addrs.to_vec())
    }
}

impl From<Vec<SocketAddr>> for Address {
    fn from(addrs: Vec<SocketAddr>) -> Self {
        Address::Resolved(addrs)
    }
}

impl From<(IpAddr, u16)> for Address {
    fn from((ip, port): (IpAddr, u16)) -> Self {
        Address::Resolved(vec![SocketAddr::new(ip, port)])
    }
}

impl From<(&str, u16)> for Address {
    fn from((host, port): (&str, u16)) -> Self {
        Address::Host(host.to_owned(), port)
    }
}

impl From<(String, u16)> for Address {
    fn from((host, port): (String, u16)) -> Self {
        Address::Host(host, port)
    }
}

impl EventLoop {
    /// `loop.getaddrinfo(host, port, type=SOCK_STREAM)`: the system's resolver, run in the
    /// default executor so that the loop goes on meanwhile. Its error is the resolver's
    /// (`socket.gaierror`), as an `io::Error` exception.
    pub async fn getaddrinfo(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Error> {
        let host = host.to_owned();
        let lookup = self
            .run_in_executor(move || {
                (host.as_str(), port)
                    .to_socket_addrs()
                    .map(Iterator::collect::<Vec<_>>)
                    .map_err(|error| (error.kind(), error.to_string()))
            })
            .map_err(Error::exception)?;
        lookup
            .await?
            .map_err(|(kind, message)| Error::exception(io::Error::new(kind, message)))
    }
}

impl Address {
    /// `_ensure_resolved` for a connection: the addresses to try, in order. Fails with
    /// CPython's `getaddrinfo() returned empty list` when there are none.
    pub(crate) async fn resolve(self, event_loop: &EventLoop) -> Result<Vec<SocketAddr>, Error> {
        let addrs = match self {
            Address::Resolved(addrs) => addrs,
            Address::Host(host, port) => match host.parse::<IpAddr>() {
                Ok(ip) => vec![SocketAddr::new(ip, port)],
                Err(_) => event_loop.getaddrinfo(&host, port).await?,
            },
        };
        if addrs.is_empty() {
            return Err(Error::exception(io::Error::other(
                "getaddrinfo() returned empty list",
            )));
        }
        Ok(addrs)
    }

    /// As [`resolve`](Self::resolve), for a server: the host `""` is every interface, IPv4
    /// and IPv6 (`getaddrinfo(None, port, flags=AI_PASSIVE)`); duplicates are bound once.
    pub(crate) async fn resolve_passive(
        self,
        event_loop: &EventLoop,
    ) -> Result<Vec<SocketAddr>, Error> {
        let mut addrs = match self {
            Address::Host(host, port) if host.is_empty() => vec![
                SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
                SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
            ],
            address => address.resolve(event_loop).await?,
        };
        let mut seen = Vec::with_capacity(addrs.len());
        addrs.retain(|addr| {
            let new = !seen.contains(addr);
            seen.push(*addr);
            new
        });
        Ok(addrs)
    }
}

/// The error of a connection that no address took: the one error, the first when they all
/// read the same, else CPython's `OSError('Multiple exceptions: ...')`.
pub(crate) fn connect_error(errors: Vec<io::Error>) -> Error {
    let mut errors = errors.into_iter();
    let Some(first) = errors.next() else {
        return Error::exception(io::Error::other("getaddrinfo() returned empty list"));
    };
    let rest: Vec<io::Error> = errors.collect();
    let model = first.to_string();
    if rest.iter().all(|error| error.to_string() == model) {
        return Error::exception(first);
    }
    let all: Vec<String> = std::iter::once(model)
        .chain(rest.iter().map(ToString::to_string))
        .collect();
    Error::exception(io::Error::other(format!(
        "Multiple exceptions: {}",
        all.join(", ")
    )))
}

/// Python's `OSError(errno, message)`, whose text is `[Errno N] message`: an error of
/// `error`'s kind with that text; `message` is the system's text (`strerror`) unless given.
pub(crate) fn py_os_error(error: &io::Error, message: Option<String>) -> io::Error {
    let message = message.unwrap_or_else(|| strerror(error));
    match error.raw_os_error() {
        Some(errno) => io::Error::new(error.kind(), format!("[Errno {errno}] {message}")),
        None => io::Error::new(error.kind(), message),
    }
}

/// `os.strerror`: the system's text of an OS error, without Rust's ` (os error N)`.
pub(crate) fn strerror(error: &io::Error) -> String {
    let text = error.to_string();
    match text.rfind(" (os error ") {
        Some(end) if error.raw_os_error().is_some() => text[..end].to_owned(),
        _ => text,
    }
}

/// Python's `repr` of a socket address tuple, for bind errors: `('127.0.0.1', 8080)` or
/// `('::', 8080, 0, 0)`.
pub(crate) fn py_sockaddr(addr: &SocketAddr) -> String {
    match addr {
        SocketAddr::V4(v4) => format!("('{}', {})", v4.ip(), v4.port()),
        SocketAddr::V6(v6) => format!(
            "('{}', {}, {}, {})",
            v6.ip(),
            v6.port(),
            v6.flowinfo(),
            v6.scope_id()
        ),
    }
}
