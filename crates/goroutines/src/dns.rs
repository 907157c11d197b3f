//! Host name resolution that does not stall a P: the system resolver inside [`blocking`].
//!
//! `getaddrinfo` is a blocking C call: it reads `/etc/hosts`, may load NSS modules, and may send
//! DNS queries and wait for their answers, retrying per `/etc/resolv.conf`. It offers no file
//! descriptor to poll, so a goroutine cannot park on it. Go's cgo resolver makes the same call
//! and wraps it the same way, in `entersyscall`/`exitsyscall`: the goroutine keeps its P while the
//! lookup is quick (a hit in `/etc/hosts`), and sysmon hands the P to another thread when it is
//! not (a query to a slow name server).
//!
//! Rejected: Go's pure-Go resolver, which speaks DNS over the network poller. It parks instead of
//! holding a thread, but it is a DNS client to write and keep correct (search lists, `ndots`,
//! EDNS, TCP fallback, `nsswitch.conf` ordering), and it would answer differently from every other
//! program on the machine whenever NSS is configured with more than files and DNS.
//!
//! Numeric addresses (`127.0.0.1`, `::1`) are parsed here and never reach the resolver, as in Go
//! and std. How long a failed lookup takes is the resolver's business: glibc waits `timeout`
//! seconds (default 5) per name server and `attempts` times (default 2), per `/etc/resolv.conf`;
//! a name that no server can answer fails no sooner. Such a wait holds a thread, not a P.

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use crate::runtime::blocking;

/// Every address `host` resolves to, each with `port` (the `(&str, u16)` form of std's
/// `ToSocketAddrs`, Go's `net.LookupHost` joined with a port).
///
/// `host` is a name (`"localhost"`) or a numeric IPv4 or IPv6 address without brackets. Errors
/// are the resolver's, as std reports them (a name that does not exist gives
/// "failed to lookup address information: ...").
pub fn lookup_host(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    blocking(|| (host, port).to_socket_addrs().map(Iterator::collect))
}

/// Every address of a `"host:port"` string (`"localhost:80"`, `"[::1]:80"`, `"10.0.0.1:80"`):
/// the `&str` form of std's `ToSocketAddrs`.
///
/// A string without a port, or with a port that is not a number, is an `InvalidInput` error.
pub fn lookup_host_str(addr: &str) -> io::Result<Vec<SocketAddr>> {
    if let Ok(addr) = addr.parse::<SocketAddr>() {
        return Ok(vec![addr]);
    }
    blocking(|| addr.to_socket_addrs().map(Iterator::collect))
}
