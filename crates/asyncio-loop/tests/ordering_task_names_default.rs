//! Default names `Task-N` in creation order (tasks.py `_task_name_counter`): a task created with
//! `loop.create_task(coro, name=...)` takes no number, one created with
//! `asyncio.create_task(coro, name=...)` (an unnamed task, then `set_name`) takes one.
//! Fixture: `task_names_default` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{run, Error, EventLoop};
use common::relative_name;
use common::{assert_matches_fixture, count_names_from_current_task, current_name, out};

async fn noop(label: &'static str) -> Result<(), Error> {
    out(format!("{label} runs as {}", current_name()));
    Ok(())
}

#[test]
fn task_names_default() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        count_names_from_current_task();
        out(format!("main is {}", current_name()));
        let t1 = event_loop.create_task(noop("t1"));
        let t2 = event_loop.create_task_named(noop("t2"), "second");
        let t3 = event_loop.create_task(noop("t3"));
        let t4 = event_loop.create_task(noop("t4"));
        t4.set_name("fourth");
        let t5 = event_loop.create_task(noop("t5"));
        let tasks = [("t1", t1), ("t2", t2), ("t3", t3), ("t4", t4), ("t5", t5)];
        for (label, task) in &tasks {
            out(format!("{label} {}", relative_name(&task.get_name())));
        }
        for (_, task) in &tasks {
            task.clone().await?;
        }
        out(format!(
            "t5 after {}",
            relative_name(&tasks[4].1.get_name())
        ));
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("task_names_default");
}
