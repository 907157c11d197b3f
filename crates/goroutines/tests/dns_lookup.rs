//! `goroutines::dns`: names resolve through the system resolver, numeric addresses without it,
//! malformed input and unknown names fail with an error instead of hanging. The machines these
//! tests run on may have no reachable DNS server, so only `localhost` (from `/etc/hosts`) and
//! numeric addresses are expected to resolve.

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::mpsc;
use std::time::Duration;

use goroutines::{dns, go, Runtime};

/// How long a lookup of a name that does not exist may take. The resolver's own patience decides
/// (glibc: 5 s per server, 2 attempts, by default, per `/etc/resolv.conf`); with no DNS server at
/// all it fails at once. Generous: the bound is there to turn a hang into a failure.
const LOOKUP_LIMIT: Duration = Duration::from_secs(30);

fn runtime() -> Runtime {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    unsafe { goroutines::Builder::new().procs(2).build() }.unwrap()
}

fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip() == IpAddr::V4(Ipv4Addr::LOCALHOST) || addr.ip() == IpAddr::V6(Ipv6Addr::LOCALHOST)
}

#[test]
fn localhost_resolves_to_a_loopback_address_with_the_port() {
    let (by_pair, by_string) = runtime().run(|| {
        (
            dns::lookup_host("localhost", 8080).unwrap(),
            dns::lookup_host_str("localhost:443").unwrap(),
        )
    });
    assert!(!by_pair.is_empty());
    assert!(
        by_pair.iter().all(|a| is_loopback(a) && a.port() == 8080),
        "{by_pair:?}"
    );
    assert!(!by_string.is_empty());
    assert!(
        by_string.iter().all(|a| is_loopback(a) && a.port() == 443),
        "{by_string:?}"
    );
}

#[test]
fn numeric_addresses_resolve_to_themselves() {
    runtime().run(|| {
        let v4: SocketAddr = "10.1.2.3:53".parse().unwrap();
        let v6: SocketAddr = "[2001:db8::1]:53".parse().unwrap();
        assert_eq!(dns::lookup_host("10.1.2.3", 53).unwrap(), [v4]);
        assert_eq!(dns::lookup_host("2001:db8::1", 53).unwrap(), [v6]);
        assert_eq!(dns::lookup_host_str("10.1.2.3:53").unwrap(), [v4]);
        assert_eq!(dns::lookup_host_str("[2001:db8::1]:53").unwrap(), [v6]);
    });
}

#[test]
fn a_string_without_a_valid_port_is_invalid_input() {
    runtime().run(|| {
        for addr in ["localhost", "localhost:http", "localhost:70000"] {
            let err = dns::lookup_host_str(addr).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{addr}: {err}");
        }
    });
}

#[test]
fn an_unknown_name_fails_promptly() {
    let rt = runtime();
    let (tx, rx) = mpsc::channel();
    rt.go(move || {
        let _ = tx.send((
            dns::lookup_host("no-such-host.invalid", 80),
            dns::lookup_host_str("no-such-host.invalid:80"),
        ));
    });
    let (by_pair, by_string) = rx
        .recv_timeout(LOOKUP_LIMIT)
        .unwrap_or_else(|_| panic!("the lookups did not fail within {LOOKUP_LIMIT:?}"));
    assert!(by_pair.is_err(), "{by_pair:?}");
    assert!(by_string.is_err(), "{by_string:?}");
}

#[test]
fn many_goroutines_resolve_at_once() {
    const LOOKUPS: u16 = 100;
    let resolved = runtime().run(|| {
        let lookups: Vec<_> = (0..LOOKUPS)
            .map(|port| go(move || dns::lookup_host("localhost", port)))
            .collect();
        lookups
            .into_iter()
            .zip(0..)
            .filter_map(|(lookup, port)| {
                let addrs = lookup.join().unwrap().ok()?;
                addrs
                    .iter()
                    .all(|a| is_loopback(a) && a.port() == port)
                    .then_some(())
            })
            .count()
    });
    assert_eq!(resolved, usize::from(LOOKUPS));
}

#[test]
fn lookups_work_on_plain_threads() {
    let addrs = dns::lookup_host("localhost", 1).unwrap();
    assert!(
        addrs.iter().all(|a| is_loopback(a) && a.port() == 1),
        "{addrs:?}"
    );
}
