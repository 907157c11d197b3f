//! `asyncio.all_tasks()` from main (a set: printed sorted): the pending tasks, main among them;
//! a task drops out once done, whether it finished, failed or was cancelled.
//! Fixture: `all_tasks_pending` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{run, sleep, Error, Event, EventLoop};
use common::sorted_task_names;
use common::{assert_matches_fixture, count_names_from_current_task, out, py_bool};

async fn fails() -> Result<(), Error> {
    sleep(0.0).await?;
    Err(Error::exception(std::io::Error::other("x")))
}

#[test]
fn all_tasks_pending() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        count_names_from_current_task();
        let event = Event::new();
        let quick = event_loop.create_task_named(sleep(0.0), "quick");
        let slow = event_loop.create_task_named(sleep(0.01), "slow");
        let waiting = event.clone();
        let waits = event_loop.create_task_named(async move { waiting.wait().await }, "waits");
        let waiting = event.clone();
        let unnamed = event_loop.create_task(async move { waiting.wait().await });
        let failing = event_loop.create_task_named(fails(), "fails");
        out(format!("created: {}", sorted_task_names()?));
        sleep(0.0).await?;
        out(format!("one pass: {}", sorted_task_names()?));
        sleep(0.0).await?;
        out(format!("two passes: {}", sorted_task_names()?));
        unnamed.cancel();
        out(format!("cancel requested: {}", sorted_task_names()?));
        sleep(0.0).await?;
        out(format!("cancelled: {}", sorted_task_names()?));
        slow.await?;
        out(format!("slow done: {}", sorted_task_names()?));
        event.set();
        waits.await?;
        out(format!("waits done: {}", sorted_task_names()?));
        let failed = matches!(failing.result(), Some(Err(Error::Exception(_))));
        out(format!(
            "done: {} {} {}",
            py_bool(quick.done()),
            py_bool(failed),
            py_bool(unnamed.cancelled())
        ));
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("all_tasks_pending");
}
