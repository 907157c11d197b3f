//! `dns.lookup`: `getaddrinfo` on the thread pool, as slow I/O (at most half the pool).

use std::io;
use std::net::{IpAddr, ToSocketAddrs};

use crate::node::submit_work;
use crate::uv::WorkKind;

/// Resolves `hostname` with the system resolver (`dns.lookup(hostname, { all: true })`):
/// every address, in the resolver's order.
pub fn lookup(
    hostname: impl Into<String>,
    callback: impl FnOnce(io::Result<Vec<IpAddr>>) + 'static,
) {
    let hostname = hostname.into();
    submit_work(
        WorkKind::SlowIo,
        move || -> io::Result<Vec<IpAddr>> {
            let mut addresses: Vec<IpAddr> = Vec::new();
            for address in (hostname.as_str(), 0).to_socket_addrs()? {
                if !addresses.contains(&address.ip()) {
                    addresses.push(address.ip());
                }
            }
            if addresses.is_empty() {
                return Err(io::Error::new(io::ErrorKind::NotFound, "ENOTFOUND"));
            }
            Ok(addresses)
        },
        callback,
    );
}
