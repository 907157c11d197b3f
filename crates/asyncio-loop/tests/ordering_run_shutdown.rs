//! `asyncio.run`'s shutdown (runners.py): the task left when main returns is cancelled and run
//! to its end, and a callback chain still queued keeps running through the shutdown passes;
//! a leftover task that fails when cancelled goes to the exception handler, and `run` still
//! gives main's value.
//! Fixtures: `run_shutdown` and `run_shutdown_error` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{run, sleep, Error, EventLoop, RunError};
use common::{assert_matches_fixture, out};

fn chain(event_loop: EventLoop, n: u32) {
    out(format!("chain-{n}"));
    if n < 6 {
        let next = event_loop.clone();
        event_loop.call_soon(move || chain(next, n + 1));
    }
}

#[test]
fn run_shutdown() {
    let value = run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        event_loop.create_task(async {
            if let Err(Error::Cancelled) = sleep(10.0).await {
                out("stubborn-cancelled");
                sleep(0.0).await?;
                out("stubborn-cleanup-done");
            }
            Ok("kept")
        });
        sleep(0.0).await?;
        let next = event_loop.clone();
        event_loop.call_soon(move || chain(next, 1));
        out("main-return");
        Ok("main-value")
    })
    .expect("main and the shutdown complete");
    out(value);
    assert_matches_fixture("run_shutdown");
}

#[test]
fn run_shutdown_error() {
    let value = run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        event_loop.set_exception_handler(Some(
            |_: &EventLoop, context: &asyncio_loop::ExceptionContext| {
                let exception = context.exception.as_ref().map(Error::to_string);
                out(format!(
                    "handler: {}: {}",
                    context.message,
                    exception.unwrap_or_default()
                ));
            },
        ));
        event_loop.create_task(async {
            if let Err(Error::Cancelled) = sleep(10.0).await {
                out("failing-cancelled");
            }
            Err::<(), _>(Error::exception(std::io::Error::other("cleanup failed")))
        });
        sleep(0.0).await?;
        out("main-return");
        Ok("main-value")
    })
    .expect("main completes; the task's error goes to the handler");
    out(value);
    assert_matches_fixture("run_shutdown_error");
}

#[test]
fn a_task_that_never_ends_once_cancelled_stops_the_shutdown_with_an_error() {
    let outcome = run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let never = event_loop.create_future::<()>();
        event_loop.create_task(async move {
            let _ = sleep(10.0).await;
            // Swallows the cancellation, then waits on a future nobody completes.
            never.await
        });
        sleep(0.0).await?;
        Ok(1)
    });
    assert!(
        matches!(outcome, Err(RunError::StoppedBeforeComplete)),
        "{outcome:?}"
    );
}
