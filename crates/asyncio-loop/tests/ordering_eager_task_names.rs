//! Names of 3.12's eager tasks: `loop.create_task(coro, name=...)` on the eager factory runs
//! the first step as `Task-N` and renames the task afterwards (the factory is called without
//! the name), `Task(coro, name=..., eager_start=True)` runs it under its name, and a task in its
//! eager first step is among `all_tasks()`.
//! Fixture: `eager_task_names` in peers/python/asyncio312_orderings.py (recorded with CPython
//! 3.12).

mod common;

use asyncio_loop::{run, sleep, Error, EventLoop, TaskFactory};
use common::{assert_matches_fixture, count_names_from_current_task, current_name, out};
use common::{relative_name, sorted_task_names};

async fn child(label: &'static str) -> Result<(), Error> {
    out(format!(
        "{label} first step as {}; all: {}",
        current_name(),
        sorted_task_names()?
    ));
    sleep(0.0).await?;
    out(format!("{label} later as {}", current_name()));
    Ok(())
}

#[test]
fn eager_task_names() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        count_names_from_current_task();
        event_loop.set_task_factory(TaskFactory::Eager);
        let a = event_loop.create_task_named(child("a"), "alpha");
        out(format!("a is {}", a.get_name()));
        let b = event_loop.create_eager_task_named(child("b"), "beta");
        out(format!("b is {}", b.get_name()));
        let c = event_loop.create_task(child("c"));
        out(format!("c is {}", relative_name(&c.get_name())));
        for task in [a, b, c] {
            task.await?;
        }
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("eager_task_names");
}
