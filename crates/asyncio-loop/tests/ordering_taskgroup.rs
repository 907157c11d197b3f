//! `TaskGroup` (taskgroups.py): a failing child cancels its siblings and the body, the group
//! gives every error once all children are done, and the parent's `cancelling()` is back to 0;
//! without errors the block waits for every child, including one added by a child, and a group
//! that has ended refuses new tasks.
//! Fixtures: `taskgroup_error` and `taskgroup_ok` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{current_task, run, sleep, Error, TaskGroup, TaskGroupError};
use common::{assert_matches_fixture, group_line, out, py_bool};

/// Python's `str(ValueError(name))`.
fn value_error(name: &str) -> Error {
    Error::exception(std::io::Error::other(name.to_owned()))
}

async fn child(name: &'static str, delay: f64, fail: bool) -> Result<&'static str, Error> {
    if let Err(error) = sleep(delay).await {
        out(format!("{name}-cancelled"));
        return Err(error);
    }
    if fail {
        out(format!("{name}-raises"));
        return Err(value_error(name));
    }
    out(format!("{name}-done"));
    Ok(name)
}

#[test]
fn taskgroup_error() {
    run(async {
        let mut tasks = None;
        let outcome = TaskGroup::run(|tg| {
            let tasks = &mut tasks;
            async move {
                let t1 = tg.create_task(child("a", 0.01, false))?;
                tg.create_task(child("b", 0.02, true))?;
                let t3 = tg.create_task(child("c", 1.0, false))?;
                *tasks = Some((t1, t3));
                out("body-waits");
                if let Err(error) = sleep(1.0).await {
                    out("body-cancelled");
                    return Err(error);
                }
                Ok(())
            }
        })
        .await;
        out(group_line(outcome));
        let (t1, t3) = tasks.ok_or(Error::NoRunningLoop)?;
        out(format!(
            "a={} c-cancelled={}",
            t1.result().and_then(Result::ok).unwrap_or("?"),
            py_bool(t3.cancelled())
        ));
        let cancelling = current_task().map_or(99, |task| task.cancelling());
        out(format!("cancelling {cancelling}"));
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("taskgroup_error");
}

async fn spawner(tg: TaskGroup, name: String, spawn: bool) -> Result<String, Error> {
    out(format!("{name}-start"));
    sleep(0.0).await?;
    if spawn {
        tg.create_task(spawner(tg.clone(), format!("{name}-sub"), false))?;
    }
    out(format!("{name}-end"));
    Ok(name)
}

#[test]
fn taskgroup_ok() {
    run(async {
        let group = TaskGroup::new();
        let (t1, t2) = group
            .run_body(|tg| async move {
                let t1 = tg.create_task(spawner(tg.clone(), "x".into(), true))?;
                let t2 = tg.create_task(spawner(tg.clone(), "y".into(), false))?;
                out("body-end");
                Ok((t1, t2))
            })
            .await?;
        out(format!("after-block {} {}", t1.await?, t2.await?));
        if let Err(error) = group.create_task(spawner(group.clone(), "late".into(), false)) {
            out(format!(
                "RuntimeError {}",
                error
                    .to_string()
                    .replace("TaskGroup", "TaskGroup <TaskGroup>")
            ));
        }
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("taskgroup_ok");
}

#[test]
fn a_group_is_entered_once_and_only_inside_a_task() {
    let group = TaskGroup::new();
    assert_eq!(
        group.create_task(async { Ok(()) }).err(),
        Some(TaskGroupError::NotEntered)
    );
    let entered_twice = run(async {
        let group = TaskGroup::new();
        group.run_body(|_| async { Ok(()) }).await?;
        match group.run_body(|_| async { Ok(()) }).await {
            Err(error) => Ok(error.to_string()),
            Ok(()) => Ok("entered twice".to_owned()),
        }
    });
    assert_eq!(
        entered_twice.ok().as_deref(),
        Some("TaskGroup has already been entered")
    );
}

#[test]
fn cancelling_the_parent_cancels_the_children_and_propagates() {
    let outcome = run(async {
        let parent = current_task().ok_or(Error::NoRunningLoop)?;
        let outcome = TaskGroup::run(|tg| async move {
            let child = tg.create_task(child("slow", 1.0, false))?;
            sleep(0.0).await?;
            parent.cancel();
            sleep(1.0).await?;
            child.await.map(|_| ())
        })
        .await;
        let cancelling = current_task().map_or(99, |task| task.cancelling());
        Ok((format!("{outcome:?}"), cancelling))
    });
    assert_eq!(
        outcome.ok(),
        Some(("Err(Cancelled)".to_owned(), 1)),
        "an outside cancellation stays requested"
    );
}
