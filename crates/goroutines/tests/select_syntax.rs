//! `select!` accepts crossbeam's syntax: block or expression bodies, with or without a comma
//! after a block, cases in any order, `default` or `default(timeout)` anywhere.

use std::time::Duration;

use goroutines::{chan, select};

#[test]
fn block_bodies_may_be_followed_by_a_comma() {
    let (tx, rx) = chan::<u32>(1);
    tx.send(7).unwrap();
    let got = select! {
        recv(rx) -> v => { v.ok() },
        default => None,
    };
    assert_eq!(got, Some(7));
    let got = select! {
        recv(rx) -> v => { v.ok() }
        default => { None },
    };
    assert_eq!(got, None);
}

#[test]
fn expression_bodies_and_a_timeout_case_in_any_order() {
    let (tx, rx) = chan::<u32>(1);
    let (_keep, never) = chan::<u32>(0);
    let sent = select! {
        default(Duration::from_millis(10)) => false,
        send(tx, 1) -> r => r.is_ok(),
        recv(never) -> _v => false
    };
    assert!(sent);
    assert_eq!(rx.try_recv(), Ok(1));
    let timed_out = select! {
        recv(never) -> _v => false,
        default(Duration::from_millis(10)) => true,
    };
    assert!(timed_out);
}
