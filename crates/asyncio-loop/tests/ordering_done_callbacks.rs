//! Issue 4 point 2: done-callbacks and nested `call_soon` go through the ready queue.
//! Fixture: `done_callbacks` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{run, sleep, Error, EventLoop};
use common::{assert_matches_fixture, out};

#[test]
fn done_callbacks() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let future = event_loop.create_future::<i32>();
        future.add_done_callback(|| out("done_cb"));
        future.set_result(1).expect("future is pending");
        out("after-set_result");
        let nested_loop = event_loop.clone();
        event_loop.call_soon(move || {
            out("cb1");
            nested_loop.call_soon(|| out("cb1-nested"));
        });
        event_loop.call_soon(|| out("cb2"));
        for _ in 0..3 {
            sleep(0.0).await?;
        }
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("done_callbacks");
}
