//! Cancelling a task that awaits a gather cancels every child (`_GatheringFuture.cancel`), and
//! the gather ends cancelled once the children have seen it.
//! Fixture: `gather_cancel` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{gather, run, sleep, Error, EventLoop, Task};
use common::{assert_matches_fixture, out};

fn child(event_loop: &EventLoop, name: &'static str) -> Task<()> {
    event_loop.create_task(async move {
        out(format!("{name}-start"));
        if let Err(error) = sleep(10.0).await {
            out(format!("{name}-saw-cancelled"));
            return Err(error);
        }
        Ok(())
    })
}

#[test]
fn gather_cancel() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let waiter_loop = event_loop.clone();
        let task = event_loop.create_task(async move {
            // Python's gather creates the children's tasks inside the waiter's first step.
            let children = vec![child(&waiter_loop, "c1"), child(&waiter_loop, "c2")];
            if let Err(error) = gather(children).await {
                out("waiter-saw-cancelled");
                return Err(error);
            }
            Ok(())
        });
        sleep(0.0).await?;
        sleep(0.0).await?;
        out(format!(
            "cancel-returned {}",
            if task.cancel() { "True" } else { "False" }
        ));
        if let Err(Error::Cancelled) = task.clone().await {
            out("main-saw-cancelled");
        }
        out(format!(
            "task-cancelled {}",
            if task.cancelled() { "True" } else { "False" }
        ));
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("gather_cancel");
}
