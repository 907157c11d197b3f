//! A task cancelled while its next step is already in the ready queue has no future to cancel:
//! `must_cancel` is set, and the cancellation arrives at the await it resumes from.
//! Fixture: `cancel_while_ready` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{current_task, run, sleep, Error, EventLoop};
use common::{assert_matches_fixture, out, py_bool};

#[test]
fn cancel_while_ready() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let task = event_loop.create_task(async {
            out("child-start");
            if let Err(error) = sleep(0.0).await {
                let cancelling = current_task().map_or(0, |task| task.cancelling());
                out(format!("child-saw-cancelled cancelling={cancelling}"));
                return Err(error);
            }
            out("child-not-cancelled");
            Ok(())
        });
        sleep(0.0).await?;
        out(format!("cancel-returned {}", py_bool(task.cancel())));
        let again = task.cancel();
        out(format!(
            "cancel-again-returned {} cancelling={}",
            py_bool(again),
            task.cancelling()
        ));
        if let Err(Error::Cancelled) = task.clone().await {
            out("main-saw-cancelled");
        }
        out(format!(
            "task-cancelled {} cancel-after-done {}",
            py_bool(task.cancelled()),
            py_bool(task.cancel())
        ));
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("cancel_while_ready");
}
