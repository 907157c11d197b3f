//! `asyncio.run`, after CPython's `Lib/asyncio/runners.py` (`Runner.run`, `Runner.close`).
//!
//! ```text
//!   run(main)
//!   ├─ new loop; run_until_complete(main)
//!   └─ close (whatever main did)
//!      ├─ _cancel_all_tasks   cancel every task still pending, run until all are done
//!      │                      (gather(..., return_exceptions=True)); a task that ended with an
//!      │                      error goes to the exception handler
//!      ├─ shutdown_asyncgens  one more run (Rust has no async generators to close: it only
//!      │                      takes its passes, so callbacks still queued keep running)
//!      ├─ shutdown_default_executor
//!      └─ loop.close()
//! ```
//!
//! The shutdown passes matter for ordering: a callback chain still running when `main` returns
//! keeps running, one link per pass, until the last of these runs stops the loop.
//!
//! CPython cancels the leftover tasks in the iteration order of a `WeakSet`, which is not
//! deterministic; here it is creation order. CPython's SIGINT handling (the first Ctrl-C
//! cancels the main task) is not modelled.

use std::cell::Cell;
use std::rc::Rc;

use crate::base_events::{EventLoop, RunError};
use crate::exception_handler::ExceptionContext;
use crate::futures::{Error, Future};

/// `asyncio.run(main)`: a new loop runs `main` to completion, then the runner's shutdown (see
/// the module diagram) and closes the loop. Gives `main`'s outcome; if `main` succeeded but
/// the shutdown could not finish (a task that never ends once cancelled, with nothing left
/// that could wake it), gives [`RunError::StoppedBeforeComplete`].
pub fn run<T, F>(main: F) -> Result<T, RunError>
where
    T: Clone + 'static,
    F: std::future::Future<Output = Result<T, Error>> + 'static,
{
    let event_loop = EventLoop::new();
    let outcome = event_loop.run_until_complete(main);
    let shutdown = shutdown(&event_loop);
    event_loop.close()?;
    let value = outcome?;
    shutdown.map(|()| value)
}

/// `Runner.close` before `loop.close()`.
fn shutdown(event_loop: &EventLoop) -> Result<(), RunError> {
    cancel_all_tasks(event_loop)?;
    // `loop.shutdown_asyncgens()`: no async generators to close.
    event_loop.run_until_complete(async { Ok(()) })?;
    let executor_loop = event_loop.clone();
    event_loop
        .run_until_complete(async move { executor_loop.shutdown_default_executor().await })?;
    Ok(())
}

/// `runners._cancel_all_tasks`.
fn cancel_all_tasks(event_loop: &EventLoop) -> Result<(), RunError> {
    let to_cancel = event_loop.all_tasks();
    if to_cancel.is_empty() {
        return Ok(());
    }
    for task in &to_cancel {
        task.cancel();
    }
    // `gather(*to_cancel, return_exceptions=True)`: each task's done-callback counts it; the
    // last completes the gathering future.
    let gathered = Future::<()>::new(event_loop);
    let remaining = Rc::new(Cell::new(to_cancel.len()));
    for task in &to_cancel {
        let (gathered, remaining) = (gathered.clone(), remaining.clone());
        task.add_done_callback(Box::new(move || {
            remaining.set(remaining.get() - 1);
            if remaining.get() == 0 {
                let _ = gathered.set_result(());
            }
        }));
    }
    event_loop.run_until_done(&gathered)?;
    for task in to_cancel.iter().filter(|task| !task.cancelled()) {
        if let Some(error) = task.exception() {
            event_loop.call_exception_handler(ExceptionContext {
                message: "unhandled exception during asyncio.run() shutdown".to_owned(),
                exception: Some(error),
                task: Some(task.describe()),
            });
        }
    }
    Ok(())
}
