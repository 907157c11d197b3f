//! Issue 4 point 3: ten `call_at` at one time come out in heapq's order, which depends on the
//! heap's shape: alone, and with one later timer in the heap (the issue's `0 2 6 5 9 8 7 1 3 4`).
//! Fixture: `call_at_heap_order` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::EventLoop;
use common::{assert_matches_fixture, out};

#[test]
fn call_at_heap_order() {
    let event_loop = EventLoop::new();
    let when = event_loop.time();
    for i in 0..10 {
        event_loop.call_at(when, move || out(format!("alone {i}")));
    }
    let stopper = event_loop.clone();
    event_loop.call_soon(move || stopper.stop());
    event_loop.run_forever().expect("loop runs");

    let when = event_loop.time();
    for i in 0..10 {
        event_loop.call_at(when, move || out(format!("with-later {i}")));
    }
    let stopper = event_loop.clone();
    event_loop.call_at(when + 0.001, move || stopper.stop());
    event_loop.run_forever().expect("loop runs");
    event_loop.close().expect("loop closes");
    assert_matches_fixture("call_at_heap_order");
}
