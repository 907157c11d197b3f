//! A `TaskGroup` on 3.12's eager task factory: a child that finishes in its first step is done
//! with at once (no done-callback is scheduled), and one that fails there cancels the group's
//! body before the body first suspends; the group then reports the error once every child is
//! done, and the parent's `cancelling()` is back to 0.
//! Fixture: `eager_taskgroup` in peers/python/asyncio312_orderings.py (recorded with CPython
//! 3.12).

mod common;

use asyncio_loop::{current_task, run, sleep, Error, EventLoop, TaskFactory, TaskGroup};
use common::{assert_matches_fixture, group_line, out, py_bool};

async fn ok(name: &'static str) -> Result<(), Error> {
    out(format!("{name}-runs"));
    Ok(())
}

async fn boom() -> Result<(), Error> {
    out("boom-runs");
    Err(Error::exception(std::io::Error::other("boom")))
}

async fn slow() -> Result<(), Error> {
    out("slow-starts");
    if let Err(error) = sleep(1.0).await {
        out("slow-cancelled");
        return Err(error);
    }
    Ok(())
}

#[test]
fn eager_taskgroup() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        event_loop.set_task_factory(TaskFactory::Eager);
        event_loop.call_soon(|| out("S1"));
        let body_loop = event_loop.clone();
        let outcome = TaskGroup::run(|tg| async move {
            let a = tg.create_task(ok("a"))?;
            out(format!("after-a done={}", py_bool(a.done())));
            tg.create_task(slow())?;
            out("after-slow");
            tg.create_task(boom())?;
            out("after-boom");
            body_loop.call_soon(|| out("S2"));
            if let Err(error) = sleep(1.0).await {
                out("body-cancelled");
                return Err(error);
            }
            Ok(())
        })
        .await;
        out(group_line(outcome));
        let cancelling = current_task().map_or(99, |task| task.cancelling());
        out(format!("cancelling={cancelling}"));
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("eager_taskgroup");
}
