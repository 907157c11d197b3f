//! `asyncio.run`, after CPython's `Lib/asyncio/runners.py` (`Runner.run`, `Runner.close`).
//!
//! ```text
//!   run(main)
//!   ├─ new loop; task = create_task(main)
//!   ├─ main thread, no SIGINT handler of a loop: install _on_sigint for SIGINT
//!   ├─ run_until_complete(task)
//!   ├─ main ended cancelled after a SIGINT, no cancellation left (uncancel() == 0):
//!   │  KeyboardInterrupt (RunError::Interrupted)
//!   ├─ _on_sigint still installed: SIGINT's default action again
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
//! deterministic; here it is creation order.
//!
//! SIGINT (3.11's `Runner`): `_on_sigint` runs as soon as the loop notices the signal, in the
//! select step (CPython runs it between two bytecodes; a Rust callback cannot be interrupted,
//! so a callback that never returns is never interrupted either). The first SIGINT cancels the
//! main task and wakes the loop (`call_soon_threadsafe(lambda: None)`); when main then ends
//! cancelled, `run` gives [`RunError::Interrupted`] after the shutdown. The second (or the first,
//! once main is done) is KeyboardInterrupt: the pass ends at once, `run_until_complete` gives
//! up, and the shutdown below cancels main and whatever else is left, as CPython's
//! `Runner.__exit__` does before the KeyboardInterrupt leaves `asyncio.run`. SIGINT's default
//! action is back before the shutdown, as CPython restores `default_int_handler` in `run`'s
//! `finally`: a SIGINT during the shutdown ends the process. See [`crate::signals`] for how the
//! signal reaches the loop.

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
    let task = event_loop.create_task(main);
    let interrupt_count = Rc::new(Cell::new(0u32));
    let on_sigint = {
        let (event_loop, task, interrupt_count) =
            (event_loop.clone(), task.clone(), interrupt_count.clone());
        move || {
            // `Runner._on_sigint`.
            interrupt_count.set(interrupt_count.get() + 1);
            if interrupt_count.get() == 1 && !task.done() {
                task.cancel();
                // Wake the loop if it is blocked in select with a long timeout.
                let _ = event_loop.threadsafe().call_soon_threadsafe(|| {});
                return;
            }
            event_loop.interrupt();
        }
    };
    let sigint_installed = event_loop.install_runner_sigint(Rc::new(on_sigint));
    let mut outcome = event_loop.run_until_done(&task.future());
    if let Err(RunError::Failed(Error::Cancelled)) = outcome {
        if interrupt_count.get() > 0 && task.uncancel() == 0 {
            outcome = Err(RunError::Interrupted);
        }
    }
    if sigint_installed {
        event_loop.uninstall_runner_sigint();
    }
    drop(task);
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
