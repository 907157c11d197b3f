//! `wait_for(aw, 0)`: the awaitable never runs and the caller gets a timeout three passes later.
//! Fixture: `wait_for_zero` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{run, wait_for, Error, EventLoop};
use common::{assert_matches_fixture, out};

fn chain(event_loop: EventLoop, n: u32) {
    out(format!("pass {n}"));
    if n < 4 {
        let next = event_loop.clone();
        event_loop.call_soon(move || chain(next, n + 1));
    }
}

#[test]
fn wait_for_zero() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let chain_loop = event_loop.clone();
        event_loop.call_soon(move || chain(chain_loop, 1));
        let inner = async {
            out("inner-ran");
            Ok(1)
        };
        if let Err(Error::Timeout) = wait_for(inner, 0.0).await {
            out("main-saw-timeout");
        }
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("wait_for_zero");
}
