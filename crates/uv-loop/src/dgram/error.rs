//! The errors `dgram` reports, with Node's codes and messages (lib/internal/errors.js:
//! `ERR_SOCKET_*`, `ErrnoException`, `ExceptionWithHostPort`, `DNSException`).

use std::fmt;
use std::io;
use std::rc::Rc;

/// What went wrong, as Node's `err.code` tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// `ERR_SOCKET_DGRAM_NOT_RUNNING`: the socket was closed.
    NotRunning,
    /// `ERR_SOCKET_ALREADY_BOUND`.
    AlreadyBound,
    /// `ERR_SOCKET_DGRAM_IS_CONNECTED`.
    IsConnected,
    /// `ERR_SOCKET_DGRAM_NOT_CONNECTED`.
    NotConnected,
    /// `ERR_SOCKET_BAD_PORT`: a port of 0 where one is needed.
    BadPort(u32),
    /// A system call failed: `err.errno`, `err.syscall`, and for some the address and port.
    System {
        errno: i32,
        syscall: &'static str,
        address: Option<String>,
        port: Option<u16>,
    },
    /// `dns.lookup` found nothing: `getaddrinfo ENOTFOUND <hostname>`.
    NotFound { hostname: String },
}

/// An error from a `dgram` socket, thrown (returned) or emitted as `'error'`. Cheap to clone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DgramError(Rc<Kind>);

impl DgramError {
    pub(crate) fn not_running() -> DgramError {
        DgramError(Rc::new(Kind::NotRunning))
    }

    pub(crate) fn already_bound() -> DgramError {
        DgramError(Rc::new(Kind::AlreadyBound))
    }

    pub(crate) fn is_connected() -> DgramError {
        DgramError(Rc::new(Kind::IsConnected))
    }

    pub(crate) fn not_connected() -> DgramError {
        DgramError(Rc::new(Kind::NotConnected))
    }

    pub(crate) fn bad_port(port: u32) -> DgramError {
        DgramError(Rc::new(Kind::BadPort(port)))
    }

    pub(crate) fn not_found(hostname: &str) -> DgramError {
        DgramError(Rc::new(Kind::NotFound {
            hostname: hostname.to_owned(),
        }))
    }

    /// `ErrnoException(err, syscall)`.
    pub(crate) fn errno_exception(error: &io::Error, syscall: &'static str) -> DgramError {
        DgramError(Rc::new(Kind::System {
            errno: errno_of(error),
            syscall,
            address: None,
            port: None,
        }))
    }

    /// `ExceptionWithHostPort(err, syscall, address, port)`.
    pub(crate) fn with_host_port(
        error: &io::Error,
        syscall: &'static str,
        address: &str,
        port: u16,
    ) -> DgramError {
        DgramError(Rc::new(Kind::System {
            errno: errno_of(error),
            syscall,
            address: Some(address.to_owned()),
            port: Some(port),
        }))
    }

    /// `err.code`: `ERR_SOCKET_…` for Node's own errors, the errno's name (`EADDRINUSE`) for a
    /// failed system call.
    pub fn code(&self) -> &'static str {
        match &*self.0 {
            Kind::NotRunning => "ERR_SOCKET_DGRAM_NOT_RUNNING",
            Kind::AlreadyBound => "ERR_SOCKET_ALREADY_BOUND",
            Kind::IsConnected => "ERR_SOCKET_DGRAM_IS_CONNECTED",
            Kind::NotConnected => "ERR_SOCKET_DGRAM_NOT_CONNECTED",
            Kind::BadPort(_) => "ERR_SOCKET_BAD_PORT",
            Kind::System { errno, .. } => errno_name(*errno),
            Kind::NotFound { .. } => "ENOTFOUND",
        }
    }

    /// `err.errno` of a failed system call (positive, as Rust reports it; Node's is negated).
    pub fn errno(&self) -> Option<i32> {
        match &*self.0 {
            Kind::System { errno, .. } => Some(*errno),
            _ => None,
        }
    }

    /// `err.syscall`: `bind`, `send`, `connect`, `recvmsg`, `getsockname`, `getaddrinfo`, ….
    pub fn syscall(&self) -> Option<&'static str> {
        match &*self.0 {
            Kind::System { syscall, .. } => Some(syscall),
            Kind::NotFound { .. } => Some("getaddrinfo"),
            _ => None,
        }
    }

    /// `err.address`, where Node sets it.
    pub fn address(&self) -> Option<&str> {
        match &*self.0 {
            Kind::System { address, .. } => address.as_deref(),
            _ => None,
        }
    }

    /// `err.port`, where Node sets it.
    pub fn port(&self) -> Option<u16> {
        match &*self.0 {
            Kind::System { port, .. } => *port,
            _ => None,
        }
    }

    /// `err.message`, as Node writes it.
    pub fn message(&self) -> String {
        match &*self.0 {
            Kind::NotRunning => "Not running".to_owned(),
            Kind::AlreadyBound => "Socket is already bound".to_owned(),
            Kind::IsConnected => "Already connected".to_owned(),
            Kind::NotConnected => "Not connected".to_owned(),
            Kind::BadPort(port) => {
                format!("Port should be > 0 and < 65536. Received type number ({port}).")
            }
            Kind::System {
                syscall,
                address,
                port,
                ..
            } => {
                let code = self.code();
                match (address, port) {
                    (Some(address), Some(port)) if *port > 0 => {
                        format!("{syscall} {code} {address}:{port}")
                    }
                    (Some(address), _) if !address.is_empty() => {
                        format!("{syscall} {code} {address}")
                    }
                    _ => format!("{syscall} {code}"),
                }
            }
            Kind::NotFound { hostname } => format!("getaddrinfo ENOTFOUND {hostname}"),
        }
    }
}

impl fmt::Display for DgramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            Kind::System { .. } | Kind::NotFound { .. } => write!(f, "Error: {}", self.message()),
            _ => write!(f, "Error [{}]: {}", self.code(), self.message()),
        }
    }
}

impl std::error::Error for DgramError {}

fn errno_of(error: &io::Error) -> i32 {
    error.raw_os_error().unwrap_or(libc::EIO)
}

/// The errno names `dgram` meets (libuv's `uv_err_name`).
fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::EACCES => "EACCES",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EAGAIN => "EAGAIN",
        libc::EALREADY => "EALREADY",
        libc::EBADF => "EBADF",
        libc::ECANCELED => "ECANCELED",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::EINVAL => "EINVAL",
        libc::EISCONN => "EISCONN",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::ENOBUFS => "ENOBUFS",
        libc::ENOTCONN => "ENOTCONN",
        libc::EPERM => "EPERM",
        _ => "EIO",
    }
}
