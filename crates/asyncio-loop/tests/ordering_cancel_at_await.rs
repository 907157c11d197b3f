//! Issue 4 point 4: `cancel()` makes the task see a cancellation at its current await, with
//! `cancelling() == 1`. Fixture: `cancel_at_await` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{current_task, run, sleep, Error, EventLoop};
use common::{assert_matches_fixture, out, py_bool};

#[test]
fn cancel_at_await() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let task = event_loop.create_task(async {
            out("child-start");
            if let Err(error) = sleep(10.0).await {
                let cancelling = current_task().map_or(0, |task| task.cancelling());
                out(format!("child-saw-cancelled cancelling={cancelling}"));
                return Err(error);
            }
            Ok(())
        });
        sleep(0.0).await?;
        out(format!("cancel-returned {}", py_bool(task.cancel())));
        if let Err(Error::Cancelled) = task.clone().await {
            out("main-saw-cancelled");
        }
        out(format!("task-cancelled {}", py_bool(task.cancelled())));
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("cancel_at_await");
}
