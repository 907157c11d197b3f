//! `TaskGroup.create_task(coro, name=...)`: the child sees its name, and since the group creates
//! the task unnamed and then renames it (3.12's taskgroups.py), a named child takes a `Task-N`
//! number too. Fixture: `taskgroup_names` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{run, sleep, Error, EventLoop, TaskGroup};
use common::{assert_matches_fixture, count_names_from_current_task, current_name, out};
use common::{relative_name, sorted_task_names};

async fn child(label: &'static str) -> Result<(), Error> {
    out(format!("{label} inside sees {}", current_name()));
    sleep(0.0).await
}

#[test]
fn taskgroup_names() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        count_names_from_current_task();
        TaskGroup::run(|tg| async move {
            let first = tg.create_task_named(child("first"), "first-child")?;
            let second = tg.create_task(child("second"))?;
            let third = tg.create_task_named(child("third"), 3)?;
            out(format!(
                "created {} {} {}",
                first.get_name(),
                relative_name(&second.get_name()),
                third.get_name()
            ));
            out(format!("in group: {}", sorted_task_names()?));
            Ok(())
        })
        .await?;
        out(format!("after group: {}", sorted_task_names()?));
        let next = event_loop.create_task(async { sleep(0.0).await });
        out(format!("next {}", relative_name(&next.get_name())));
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("taskgroup_names");
}
