//! Issue 4 point 4: a task cancelled before its first step never runs its body.
//! Fixture: `cancel_before_start` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{run, Error, EventLoop};
use common::{assert_matches_fixture, out, py_bool};

#[test]
fn cancel_before_start() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let task = event_loop.create_task(async {
            out("body-ran");
            Ok(())
        });
        out(format!("cancel-returned {}", py_bool(task.cancel())));
        if let Err(Error::Cancelled) = task.clone().await {
            out("main-saw-cancelled");
        }
        out(format!("task-cancelled {}", py_bool(task.cancelled())));
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("cancel_before_start");
}
