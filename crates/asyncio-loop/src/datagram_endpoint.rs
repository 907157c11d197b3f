//! `loop.create_datagram_endpoint` (`Lib/asyncio/base_events.py`, 3.12.1; 3.11.7's is the same
//! code; `reuse_address`, disabled since 3.8.1, was removed in 3.11 and is not here) and its
//! options.
//!
//! ```text
//!   no address      family given: one unbound socket of it; none: UnexpectedAddressFamily
//!   Unix (paths)    a stale socket file at local_addr removed (as create_unix_server); one pair
//!   IP addresses    each of local_addr, remote_addr resolved (crate::resolve; an IP literal
//!                   costs no pass); grouped by family in the order first seen, the last
//!                   address of a family winning (CPython's `addr_infos[key][idx] = address`);
//!                   a family missing an address that was asked for is dropped; none left:
//!                   NoAddressInformation
//!   for each (family, local, remote):  socket(SOCK_DGRAM); SO_REUSEPORT; SO_BROADCAST;
//!                   non-blocking; bind(local); connect(remote) unless allow_broadcast (which
//!                   keeps remote as the address sendto defaults to, unconnected); the first
//!                   that works is used; if none: the first error
//!   sock given      SOCK_DGRAM, else SockError; no other option, else SockError;
//!                   non-blocking; remote = None
//!   then            protocol = factory(); DatagramTransport(sock, protocol, remote, waiter);
//!                   await waiter (done two callbacks after connection_made)
//! ```
//!
//! A datagram socket's connect completes inside the system call, so, as in CPython, no pass
//! goes by before the transport is made: the endpoint is ready one pass after the call, once
//! `connection_made` has run. Bind and connect errors are the system's (`[Errno 98] Address
//! already in use`), not wrapped as `create_server`'s are.
//!
//! `sock=` ([`DatagramEndpoint::sock`], `crate::given_sockets`): the socket must be
//! `SOCK_DGRAM` (`A UDP Socket was expected, got <socket.socket ...>`), then no other option
//! may be given (`socket modifier keyword arguments can not be used when sock is specified.
//! (local_addr=..., remote_addr=..., family=..., reuse_port=True, allow_broadcast=True)`, in
//! that order); it is set non-blocking and used as it is, with no default address (a
//! connected socket's `sendto` goes to its peer). Unlike CPython, an end of a Unix datagram
//! socketpair counts as connected: its peer's name is `''`, which CPython's transport takes
//! for "not connected" (its `sendto(data)` then fails with `TypeError`).
//!
//! Left out: `proto` and `flags` (`getaddrinfo` hints), and `family` as a filter
//! inside `getaddrinfo` (it filters what `getaddrinfo` returned; none left is CPython's
//! `getaddrinfo() returned empty list`).

use std::fmt;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::rc::Rc;

use rustix::net::{self as rnet, AddressFamily, SocketFlags, SocketType};

use crate::base_events::EventLoop;
use crate::datagram_transport::DatagramTransport;
use crate::futures::Error;
use crate::given_sockets::{self, DatagramSock, Wanted};
use crate::protocols::DatagramProtocol;
use crate::resolve::Address;
use crate::sock_coroutines::unix_address;
use crate::sockets::{is_abstract, Datagram, SocketName};
use crate::unix_events::remove_stale_socket;

/// An address family, `create_datagram_endpoint`'s `family`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// `AF_INET`: IPv4.
    Inet,
    /// `AF_INET6`: IPv6.
    Inet6,
    /// `AF_UNIX`: Unix datagram sockets, addressed by path.
    Unix,
}

impl Family {
    fn of(addr: &SocketAddr) -> Family {
        match addr {
            SocketAddr::V4(_) => Family::Inet,
            SocketAddr::V6(_) => Family::Inet6,
        }
    }

    fn raw(self) -> AddressFamily {
        match self {
            Family::Inet => AddressFamily::INET,
            Family::Inet6 => AddressFamily::INET6,
            Family::Unix => AddressFamily::UNIX,
        }
    }
}

/// One end of a datagram endpoint, as given.
#[derive(Clone, Debug, PartialEq, Eq)]
enum EndpointAddress {
    Inet(Address),
    Unix(PathBuf),
}

/// `create_datagram_endpoint`'s keyword arguments: where to bind, where to send, and socket
/// options. Built with its methods from [`DatagramEndpoint::new`]:
///
/// ```
/// use asyncio_loop::DatagramEndpoint;
///
/// let options = DatagramEndpoint::new()
///     .local_addr(("127.0.0.1", 0))
///     .allow_broadcast(true);
/// # let _ = options;
/// ```
#[derive(Debug, Default)]
pub struct DatagramEndpoint {
    local: Option<EndpointAddress>,
    remote: Option<EndpointAddress>,
    family: Option<Family>,
    reuse_port: bool,
    allow_broadcast: bool,
    sock: Option<DatagramSock>,
}

impl DatagramEndpoint {
    /// No address, no family, no option (CPython's defaults).
    pub fn new() -> DatagramEndpoint {
        DatagramEndpoint::default()
    }

    /// `local_addr=(host, port)`: bind there (a host name is resolved, see [`Address`]).
    pub fn local_addr(mut self, addr: impl Into<Address>) -> DatagramEndpoint {
        self.local = Some(EndpointAddress::Inet(addr.into()));
        self
    }

    /// `remote_addr=(host, port)`: connect there; `sendto` then defaults to it and takes no
    /// other address.
    pub fn remote_addr(mut self, addr: impl Into<Address>) -> DatagramEndpoint {
        self.remote = Some(EndpointAddress::Inet(addr.into()));
        self
    }

    /// `family=AF_UNIX, local_addr=path`: a Unix datagram socket bound to `path` (a first byte
    /// NUL names an abstract socket), after removing a stale socket file there.
    pub fn local_path(mut self, path: impl Into<PathBuf>) -> DatagramEndpoint {
        self.local = Some(EndpointAddress::Unix(path.into()));
        self.family = Some(Family::Unix);
        self
    }

    /// `family=AF_UNIX, remote_addr=path`: a Unix datagram socket connected to `path`.
    pub fn remote_path(mut self, path: impl Into<PathBuf>) -> DatagramEndpoint {
        self.remote = Some(EndpointAddress::Unix(path.into()));
        self.family = Some(Family::Unix);
        self
    }

    /// `family=`: the socket's family; with addresses, only theirs of this family are used.
    pub fn family(mut self, family: Family) -> DatagramEndpoint {
        self.family = Some(family);
        self
    }

    /// `reuse_port=True`: `SO_REUSEPORT`, so that other sockets may bind the same address.
    pub fn reuse_port(mut self, reuse_port: bool) -> DatagramEndpoint {
        self.reuse_port = reuse_port;
        self
    }

    /// `allow_broadcast=True`: `SO_BROADCAST`; a remote address is then not connected to but
    /// kept as the default destination.
    pub fn allow_broadcast(mut self, allow_broadcast: bool) -> DatagramEndpoint {
        self.allow_broadcast = allow_broadcast;
        self
    }

    /// `sock=`: use this socket as it is (bound, connected, or neither; a `UdpSocket`, a
    /// `UnixDatagram`, or an `OwnedFd` checked to be `SOCK_DGRAM`), set non-blocking. No other
    /// option may be given with it (see [`SockError`](crate::SockError), which gives a refused
    /// socket back). `sendto` sends to its peer if it is connected; the transport has no
    /// default address otherwise.
    pub fn sock(mut self, sock: impl Into<DatagramSock>) -> DatagramEndpoint {
        self.sock = Some(sock.into());
        self
    }

    /// CPython's `problems`: `name=value` for each option given with `sock=`, in the order of
    /// its `opts` dict (`proto` and `flags` are not options here).
    fn modifiers(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (name, addr) in [("local_addr", &self.local), ("remote_addr", &self.remote)] {
            if let Some(value) = addr.as_ref().and_then(EndpointAddress::py_str) {
                problems.push(format!("{name}={value}"));
            }
        }
        if let Some(family) = self.family {
            problems.push(format!("family={}", family.raw().as_raw()));
        }
        if self.reuse_port {
            problems.push("reuse_port=True".to_owned());
        }
        if self.allow_broadcast {
            problems.push("allow_broadcast=True".to_owned());
        }
        problems
    }
}

impl EndpointAddress {
    /// Python's `str` of the argument as a user passes it (`('127.0.0.1', 0)`, a path), or
    /// `None` where Python's value is false (an empty path or list).
    fn py_str(&self) -> Option<String> {
        let tuple = |addr: &SocketAddr| format!("('{}', {})", addr.ip(), addr.port());
        match self {
            EndpointAddress::Inet(Address::Host(host, port)) => Some(format!("('{host}', {port})")),
            EndpointAddress::Inet(Address::Resolved(addrs)) => match addrs.as_slice() {
                [] => None,
                [addr] => Some(tuple(addr)),
                addrs => Some(format!(
                    "[{}]",
                    addrs.iter().map(tuple).collect::<Vec<_>>().join(", ")
                )),
            },
            EndpointAddress::Unix(path) => {
                let path = path.to_string_lossy();
                (!path.is_empty()).then(|| path.into_owned())
            }
        }
    }
}

/// What [`EventLoop::create_datagram_endpoint`] refuses before making a socket (CPython's
/// `ValueError`s and `TypeError`s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointError {
    /// `ValueError('unexpected address family')`: neither an address nor a family.
    UnexpectedAddressFamily,
    /// `ValueError('can not get address information')`: no family has both addresses asked for.
    NoAddressInformation,
    /// `TypeError('string is expected')`: an IP address for a Unix endpoint.
    StringExpected,
    /// `TypeError('2-tuple is expected')`: a path for an IP endpoint.
    TupleExpected,
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndpointError::UnexpectedAddressFamily => "unexpected address family",
            EndpointError::NoAddressInformation => "can not get address information",
            EndpointError::StringExpected => "string is expected",
            EndpointError::TupleExpected => "2-tuple is expected",
        })
    }
}

impl std::error::Error for EndpointError {}

/// One candidate socket: its family, where to bind, where to send.
struct AddressPair {
    family: Family,
    local: Option<SocketName>,
    remote: Option<SocketName>,
}

impl EventLoop {
    /// `loop.create_datagram_endpoint(protocol_factory, local_addr, remote_addr, family,
    /// reuse_port, allow_broadcast)`: a UDP (or Unix datagram) socket as `endpoint` says, and a
    /// [`DatagramTransport`] for `protocol_factory()` on it, returned once `connection_made` has
    /// run (one pass). Errors: an [`EndpointError`], the resolver's, the system's from
    /// `socket`/`bind`/`connect` (the first candidate's, when none worked), a
    /// [`SockError`](crate::SockError) for a socket given with [`DatagramEndpoint::sock`] (not
    /// `SOCK_DGRAM`, or given with another option; the error holds the socket, open), or
    /// cancellation.
    pub async fn create_datagram_endpoint<P: DatagramProtocol + 'static>(
        &self,
        protocol_factory: impl FnOnce() -> Rc<P>,
        endpoint: DatagramEndpoint,
    ) -> Result<(DatagramTransport, Rc<P>), Error> {
        let mut endpoint = endpoint;
        let (sock, remote) = match endpoint.sock.take() {
            Some(sock) => (given_socket(sock, &endpoint)?, None),
            None => self.open_endpoint_socket(&endpoint).await?,
        };
        let protocol = protocol_factory();
        let waiter = self.create_future::<()>();
        let transport =
            DatagramTransport::new(self, sock, protocol.clone(), remote, waiter.clone());
        if let Err(error) = waiter.await {
            transport.close();
            return Err(error);
        }
        Ok((transport, protocol))
    }

    /// The `else` branch of `if sock is not None`: the candidate sockets in turn; the first
    /// that works, with the remote address the transport defaults to.
    async fn open_endpoint_socket(
        &self,
        endpoint: &DatagramEndpoint,
    ) -> Result<(Datagram, Option<SocketName>), Error> {
        let pairs = address_pairs(self, endpoint).await?;
        let mut errors = Vec::new();
        let mut made = None;
        for pair in pairs {
            match self.open_datagram_socket(endpoint, &pair).await? {
                Ok(sock) => {
                    made = Some((sock, pair.remote));
                    break;
                }
                Err(error) => errors.push(error),
            }
        }
        made.ok_or_else(|| {
            let first = errors.into_iter().next();
            Error::exception(
                first.unwrap_or_else(|| io::Error::other("getaddrinfo() returned empty list")),
            )
        })
    }

    /// The `try` block of the candidate loop: socket, options, bind, connect; the system's
    /// error inside (the next candidate may be tried), cancellation outside.
    async fn open_datagram_socket(
        &self,
        endpoint: &DatagramEndpoint,
        pair: &AddressPair,
    ) -> Result<io::Result<Datagram>, Error> {
        let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
        let fd: OwnedFd = match rnet::socket_with(pair.family.raw(), SocketType::DGRAM, flags, None)
        {
            Ok(fd) => fd,
            Err(error) => return Ok(Err(error.into())),
        };
        let prepared = (|| -> io::Result<()> {
            if endpoint.reuse_port {
                rnet::sockopt::set_socket_reuseport(&fd, true)?;
            }
            if endpoint.allow_broadcast {
                rnet::sockopt::set_socket_broadcast(&fd, true)?;
            }
            match &pair.local {
                Some(SocketName::Inet(addr)) => rnet::bind(&fd, addr)?,
                Some(SocketName::Unix(path)) => rnet::bind(&fd, &unix_address(path)?)?,
                None => {}
            }
            Ok(())
        })();
        if let Err(error) = prepared {
            return Ok(Err(error));
        }
        if let Some(remote) = pair.remote.as_ref().filter(|_| !endpoint.allow_broadcast) {
            if let Err(error) = self.sock_connect_fd(fd.as_fd(), remote).await? {
                return Ok(Err(error));
            }
        }
        Ok(Ok(match pair.family {
            Family::Unix => Datagram::Unix(UnixDatagram::from(fd)),
            Family::Inet | Family::Inet6 => Datagram::Udp(UdpSocket::from(fd)),
        }))
    }
}

/// `if sock is not None`: `sock.type` must be `SOCK_DGRAM`, then no other option may be
/// given; `sock.setblocking(False)`.
fn given_socket(sock: DatagramSock, endpoint: &DatagramEndpoint) -> Result<Datagram, Error> {
    let checked = given_sockets::check(sock.0, Wanted::Datagram)?;
    let problems = endpoint.modifiers();
    if !problems.is_empty() {
        return Err(given_sockets::modifiers_given(checked.sock, &problems));
    }
    given_sockets::set_nonblocking(&checked.sock)?;
    Ok(match checked.unix {
        true => Datagram::Unix(UnixDatagram::from(checked.sock)),
        false => Datagram::Udp(UdpSocket::from(checked.sock)),
    })
}

/// `addr_pairs_info`: the candidate sockets, in order.
async fn address_pairs(
    event_loop: &EventLoop,
    endpoint: &DatagramEndpoint,
) -> Result<Vec<AddressPair>, Error> {
    let (local, remote) = (&endpoint.local, &endpoint.remote);
    if local.is_none() && remote.is_none() {
        let family = endpoint
            .family
            .ok_or(Error::exception(EndpointError::UnexpectedAddressFamily))?;
        return Ok(vec![AddressPair {
            family,
            local: None,
            remote: None,
        }]);
    }
    if endpoint.family == Some(Family::Unix) {
        let path = |addr: &Option<EndpointAddress>| match addr {
            None => Ok(None),
            Some(EndpointAddress::Unix(path)) => Ok(Some(path.clone())),
            Some(EndpointAddress::Inet(_)) => Err(Error::exception(EndpointError::StringExpected)),
        };
        let (local, remote) = (path(local)?, path(remote)?);
        if let Some(local) = local.as_deref().filter(|path| !is_abstract(path)) {
            remove_stale_socket(local);
        }
        return Ok(vec![AddressPair {
            family: Family::Unix,
            local: local.map(SocketName::Unix),
            remote: remote.map(SocketName::Unix),
        }]);
    }
    // "join address by (family, protocol)", in the order first seen.
    let mut infos: Vec<(Family, [Option<SocketAddr>; 2])> = Vec::new();
    for (index, addr) in [(0, local), (1, remote)] {
        let address = match addr {
            None => continue,
            Some(EndpointAddress::Inet(address)) => address.clone(),
            Some(EndpointAddress::Unix(_)) => {
                return Err(Error::exception(EndpointError::TupleExpected))
            }
        };
        let resolved: Vec<SocketAddr> = address
            .resolve(event_loop)
            .await?
            .into_iter()
            .filter(|addr| {
                endpoint
                    .family
                    .is_none_or(|family| family == Family::of(addr))
            })
            .collect();
        if resolved.is_empty() {
            return Err(Error::exception(io::Error::other(
                "getaddrinfo() returned empty list",
            )));
        }
        for addr in resolved {
            let family = Family::of(&addr);
            match infos.iter_mut().find(|(key, _)| *key == family) {
                Some((_, pair)) => pair[index] = Some(addr),
                None => {
                    let mut pair = [None, None];
                    pair[index] = Some(addr);
                    infos.push((family, pair));
                }
            }
        }
    }
    // "each addr has to have info for each (family, proto) pair"
    let pairs: Vec<AddressPair> = infos
        .into_iter()
        .filter(|(_, [l, r])| !(local.is_some() && l.is_none() || remote.is_some() && r.is_none()))
        .map(|(family, [l, r])| AddressPair {
            family,
            local: l.map(SocketName::Inet),
            remote: r.map(SocketName::Inet),
        })
        .collect();
    if pairs.is_empty() {
        return Err(Error::exception(EndpointError::NoAddressInformation));
    }
    Ok(pairs)
}
