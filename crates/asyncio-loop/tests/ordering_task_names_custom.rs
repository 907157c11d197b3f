//! Custom names (`create_task(coro, name=...)`, `Task.set_name`) seen from inside the task
//! through `current_task()`, `set_name` of a non-string (`str(42)`), and the name in
//! `repr(task)` (up to its `coro=`) as the task goes pending, cancelling, cancelled, finished.
//! Fixture: `task_names_custom` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{current_task, gather_return_exceptions, run, sleep, Error, EventLoop, Task};
use common::{assert_matches_fixture, out};

fn current_name() -> String {
    current_task().map_or_else(String::new, |task| task.get_name())
}

async fn named(label: &'static str) -> Result<(), Error> {
    out(format!("{label} inside sees {}", current_name()));
    sleep(0.0).await?;
    if let Some(task) = current_task() {
        task.set_name(42);
    }
    out(format!("{label} renamed itself {}", current_name()));
    sleep(0.0).await
}

/// `repr(task).split(" coro=")[0]`.
fn repr_head<T: Clone + 'static>(task: &Task<T>) -> String {
    let repr = task.describe();
    repr.split(" coro=").next().unwrap_or_default().to_owned()
}

#[test]
fn task_names_custom() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let a = event_loop.create_task_named(named("a"), "alpha");
        let b = event_loop.create_task(named("b"));
        b.set_name("beta");
        out(format!("outside a={} b={}", a.get_name(), b.get_name()));
        let c = event_loop.create_task_named(sleep(10.0), "it's");
        out(repr_head(&c));
        sleep(0.0).await?;
        out(format!(
            "after one pass a={} b={}",
            a.get_name(),
            b.get_name()
        ));
        c.cancel();
        out(repr_head(&c));
        gather_return_exceptions(vec![a.clone(), b.clone()]).await?;
        out(format!(
            "after gather a={} b={}",
            a.get_name(),
            b.get_name()
        ));
        out(repr_head(&c));
        out(repr_head(&a));
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("task_names_custom");
}
