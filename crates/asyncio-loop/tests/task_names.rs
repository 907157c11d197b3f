//! Task names and `all_tasks()` (tasks.py): `all_tasks()` needs a running loop, leaves out done
//! tasks, default names of many tasks follow the process-wide counter (and cost nothing until
//! asked), and the task reports (debug mode's slow steps, the exception handler's `task`) name
//! the task as CPython 3.12's `repr(task)` does.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use asyncio_loop::{
    all_tasks, current_task, run, sleep, Error, EventLoop, NoRunningLoop, TaskFactory,
};

/// `Task-N` numbers are process-wide: the tests of this file take turns (under `cargo test`
/// they would otherwise run on threads side by side and take numbers in between).
static TAKE_TURNS: Mutex<()> = Mutex::new(());

fn take_turn() -> MutexGuard<'static, ()> {
    TAKE_TURNS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn number(name: &str) -> u64 {
    name.strip_prefix("Task-")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{name} is not a default name"))
}

#[test]
fn all_tasks_without_a_running_loop_is_an_error() {
    let _turn = take_turn();
    assert_eq!(all_tasks().err(), Some(NoRunningLoop));
    let event_loop = EventLoop::new();
    let task = event_loop.create_task(async { Ok(()) });
    assert_eq!(
        all_tasks().err(),
        Some(NoRunningLoop),
        "a loop that does not run"
    );
    event_loop
        .run_until_complete(task)
        .expect("the task completes");
    assert_eq!(NoRunningLoop.to_string(), "no running event loop");
}

#[test]
fn a_done_task_is_not_in_all_tasks() {
    let _turn = take_turn();
    let event_loop = EventLoop::new();
    let loop_in_main = event_loop.clone();
    event_loop
        .run_until_complete(async move {
            let done = loop_in_main.create_task_named(async { Ok(()) }, "done-soon");
            let pending = loop_in_main.create_task_named(sleep(1.0), "pending");
            let eager_done = loop_in_main.create_eager_task_named(async { Ok(()) }, "eager-done");
            assert!(eager_done.done());
            let names = || -> Result<Vec<String>, Error> {
                let tasks = all_tasks()?;
                Ok(tasks.iter().map(|task| task.get_name()).collect())
            };
            let main = current_task()
                .map(|task| task.get_name())
                .unwrap_or_default();
            assert_eq!(names()?, [main.as_str(), "done-soon", "pending"]);
            sleep(0.0).await?;
            assert!(done.done());
            assert_eq!(done.get_name(), "done-soon", "a done task keeps its name");
            assert_eq!(names()?, [main.as_str(), "pending"]);
            assert!(all_tasks()?.iter().all(|t| !t.done()));
            pending.cancel();
            sleep(0.0).await?;
            assert_eq!(names()?, [main.as_str()]);
            Ok(())
        })
        .expect("main completes");
}

#[test]
fn default_names_of_many_tasks_count_in_creation_order() {
    let _turn = take_turn();
    const TASKS: u64 = 100_000;
    let event_loop = EventLoop::new();
    let first = event_loop.create_task(async { Ok(()) });
    let mut last = first.clone();
    for i in 1..TASKS {
        last = if i % 1000 == 0 {
            // Created with a name: takes no number.
            event_loop.create_task_named(async { Ok(()) }, format_args!("named-{i}"));
            event_loop.create_task(async { Ok(()) })
        } else {
            event_loop.create_task(async { Ok(()) })
        };
    }
    let first_number = number(&first.get_name());
    assert_eq!(number(&last.get_name()), first_number + TASKS - 1);
    last.set_name("last");
    assert_eq!(last.get_name(), "last");
    event_loop.run_until_complete(last).expect("runs");
}

#[test]
fn set_name_takes_anything_displayable() {
    let _turn = take_turn();
    let event_loop = EventLoop::new();
    let task = event_loop.create_task(async { Ok(()) });
    task.set_name(3.5);
    assert_eq!(task.get_name(), "3.5");
    task.set_name(format_args!("{}-{}", "a", 1));
    assert_eq!(task.get_name(), "a-1");
    assert!(task
        .describe()
        .starts_with("<Task pending name='a-1' coro=<"));
    task.set_name("it's");
    assert!(task
        .describe()
        .starts_with("<Task pending name=\"it's\" coro=<"));
    event_loop.run_until_complete(task.clone()).expect("runs");
    assert!(task
        .describe()
        .starts_with("<Task finished name=\"it's\" coro=<"));
}

#[test]
fn a_slow_step_is_reported_with_the_task_name() {
    let _turn = take_turn();
    let event_loop = EventLoop::new();
    event_loop.set_debug(true);
    let reports = Rc::new(RefCell::new(Vec::<String>::new()));
    let collected = reports.clone();
    event_loop.set_slow_callback_reporter(move |report| {
        collected.borrow_mut().push(report.to_owned());
    });
    let task = event_loop.create_task_named(
        async {
            std::thread::sleep(Duration::from_millis(150));
            sleep(0.0).await
        },
        "blocker",
    );
    event_loop.run_until_complete(task).expect("runs");
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0].starts_with("Executing <Task pending name='blocker' coro=<"),
        "{}",
        reports[0]
    );
}

#[test]
fn the_exception_handler_names_the_task() {
    let _turn = take_turn();
    let contexts = Rc::new(RefCell::new(Vec::<String>::new()));
    let collected = contexts.clone();
    run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        event_loop.set_exception_handler(Some(
            move |_: &EventLoop, context: &asyncio_loop::ExceptionContext| {
                collected
                    .borrow_mut()
                    .push(context.task.clone().unwrap_or_default());
            },
        ));
        // Fails when `asyncio.run`'s shutdown cancels it.
        event_loop.create_task_named(
            async {
                if sleep(10.0).await.is_err() {
                    return Err(Error::exception(std::io::Error::other("stubborn")));
                }
                Ok(())
            },
            "stubborn",
        );
        sleep(0.0).await
    })
    .expect("main completes");
    let contexts = contexts.borrow();
    assert_eq!(contexts.len(), 1, "{contexts:?}");
    assert!(
        contexts[0].starts_with("<Task finished name='stubborn' coro=<"),
        "{}",
        contexts[0]
    );
}

#[test]
fn an_eager_factory_task_runs_its_first_step_under_its_default_name() {
    let _turn = take_turn();
    let event_loop = EventLoop::new();
    event_loop.set_task_factory(TaskFactory::Eager);
    let loop_in_main = event_loop.clone();
    event_loop
        .run_until_complete(async move {
            let seen = Rc::new(RefCell::new(String::new()));
            let inside = seen.clone();
            let task = loop_in_main.create_task_named(
                async move {
                    *inside.borrow_mut() = current_task().map(|t| t.get_name()).unwrap_or_default();
                    Ok(())
                },
                "renamed",
            );
            let main_number = number(&current_task().map(|t| t.get_name()).unwrap_or_default());
            assert_eq!(number(&seen.borrow()), main_number + 1);
            assert_eq!(task.get_name(), "renamed");
            Ok(())
        })
        .expect("main completes");
}

#[test]
fn all_tasks_come_in_creation_order() {
    let _turn = take_turn();
    let event_loop = EventLoop::new();
    let early = event_loop.create_task_named(sleep(1.0), "early");
    let loop_in_main = event_loop.clone();
    event_loop
        .run_until_complete(async move {
            let late = loop_in_main.create_task(sleep(1.0));
            let renamed = loop_in_main.create_task(sleep(1.0));
            renamed.set_name("a-renamed");
            let main = current_task()
                .map(|task| task.get_name())
                .unwrap_or_default();
            let names: Vec<String> = all_tasks()?.iter().map(|task| task.get_name()).collect();
            assert_eq!(
                names,
                [
                    "early".to_owned(),
                    main,
                    late.get_name(),
                    "a-renamed".to_owned()
                ]
            );
            for task in [&early, &late, &renamed] {
                task.cancel();
            }
            Ok(())
        })
        .expect("main completes");
}
