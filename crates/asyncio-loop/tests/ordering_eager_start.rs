//! 3.12's eager tasks (`loop.set_task_factory(asyncio.eager_task_factory)`): a task's first step
//! runs inside `create_task` with the new task current, nested eager tasks included; a task
//! that never suspends is done when `create_task` returns, and awaiting it, or a gather of such
//! tasks, takes no pass of the loop; a task that suspends goes on as any task.
//! Fixture: `eager_start` in peers/python/asyncio312_orderings.py (recorded with CPython 3.12).

mod common;

use asyncio_loop::{current_task, gather, run, sleep, CurrentTask, Error, EventLoop, TaskFactory};
use common::{assert_matches_fixture, out, py_bool};
use std::rc::Rc;

type Main = Rc<CurrentTask>;

fn is_main(main: &Main) -> &'static str {
    py_bool(current_task().is_some_and(|task| task == **main))
}

async fn quick(name: &'static str, main: Main) -> Result<String, Error> {
    out(format!("{name}-runs current-is-main={}", is_main(&main)));
    Ok(name.to_owned())
}

async fn sleepy(name: &'static str) -> Result<String, Error> {
    out(format!("{name}-starts"));
    sleep(0.0).await?;
    out(format!("{name}-resumes"));
    Ok(name.to_owned())
}

async fn failing() -> Result<String, Error> {
    out("failing-starts");
    Err(Error::exception(std::io::Error::other("boom")))
}

async fn spawner(main: Main) -> Result<String, Error> {
    out("spawner-starts");
    let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
    let inner = event_loop.create_task(quick("inner", main));
    out(format!("spawner-inner-done={}", py_bool(inner.done())));
    sleep(0.0).await?;
    out("spawner-resumes");
    Ok("spawner".to_owned())
}

#[test]
fn eager_start() {
    run(async {
        let main: Main = Rc::new(current_task().ok_or(Error::NoRunningLoop)?);
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        event_loop.set_task_factory(TaskFactory::Eager);
        event_loop.call_soon(|| out("S1"));
        let q = event_loop.create_task(quick("q", main.clone()));
        let result = q.result().and_then(Result::ok).unwrap_or_default();
        out(format!(
            "after-q done={} result={result}",
            py_bool(q.done())
        ));
        let s = event_loop.create_task(sleepy("s"));
        out(format!("after-s done={}", py_bool(s.done())));
        let f = event_loop.create_task(failing());
        let error = match f.result() {
            Some(Err(error)) => error.to_string(),
            other => format!("{other:?}"),
        };
        out(format!(
            "after-failing done={} error={error}",
            py_bool(f.done())
        ));
        let sp = event_loop.create_task(spawner(main.clone()));
        out(format!(
            "after-spawner done={} current-is-main={}",
            py_bool(sp.done()),
            is_main(&main)
        ));
        event_loop.call_soon(|| out("S2"));
        out(format!("awaited {}", q.await?));
        let gathered = gather(vec![
            event_loop.create_task(quick("g1", main.clone())),
            event_loop.create_task(quick("g2", main.clone())),
        ])
        .await?;
        out(format!("gathered ['{}']", gathered.join("', '")));
        out(format!("awaited {}", s.await?));
        out(format!("awaited {}", sp.await?));
        event_loop.set_task_factory(TaskFactory::Default);
        let late = event_loop.create_task(quick("late", main.clone()));
        out(format!("after-late done={}", py_bool(late.done())));
        late.await?;
        out("main-done");
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("eager_start");
}

/// `Task(..., eager_start=True)` outside a running loop is scheduled as any task
/// (`run_until_complete`'s main task on the eager factory).
#[test]
fn an_eager_task_made_before_the_loop_runs_starts_in_the_first_pass() {
    let event_loop = EventLoop::new();
    event_loop.set_task_factory(TaskFactory::Eager);
    let early = event_loop.create_eager_task(async {
        out("early-runs");
        Ok(1)
    });
    assert!(!early.done(), "no step can run before the loop does");
    let value = event_loop
        .run_until_complete(async move {
            out("main-runs");
            early.await
        })
        .expect("main completes");
    assert_eq!(value, 1);
    // The early task was scheduled first, so its step runs before main's.
    common::assert_lines(&["early-runs", "main-runs"]);
}

/// An eager task that suspends is in the task table, so a foreign waker finds it (and a task
/// table that did not hold it would drop it: it would never finish).
#[test]
fn an_eager_task_that_suspends_on_a_foreign_future_is_woken() {
    let value = run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let task = event_loop.create_eager_task(async {
            let mut polled = false;
            std::future::poll_fn(|cx| {
                if polled {
                    std::task::Poll::Ready(())
                } else {
                    polled = true;
                    cx.waker().wake_by_ref();
                    std::task::Poll::Pending
                }
            })
            .await;
            Ok(7)
        });
        assert!(!task.done());
        task.await
    });
    assert_eq!(value.ok(), Some(7));
}
