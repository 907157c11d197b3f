//! Issue 4 point 3: `call_later(-1, a); call_later(-2, b)` runs b then a
//! (Lib/test/test_asyncio/test_base_events.py, test_call_later_negative_delays).
//! Fixture: `call_later_negative` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::EventLoop;
use common::{assert_matches_fixture, out};

#[test]
fn call_later_negative() {
    let event_loop = EventLoop::new();
    event_loop.call_later(-1.0, || out("a"));
    event_loop.call_later(-2.0, || out("b"));
    let stopper = event_loop.clone();
    event_loop.call_later(0.001, move || stopper.stop());
    event_loop.run_forever().expect("loop runs");
    event_loop.close().expect("loop closes");
    assert_matches_fixture("call_later_negative");
}
