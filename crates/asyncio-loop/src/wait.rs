//! `asyncio.wait`, `asyncio.shield` and `asyncio.as_completed`, after `tasks.wait`, `tasks._wait`,
//! `tasks.shield` and `tasks.as_completed` in `Lib/asyncio/tasks.py` (3.12).
//!
//! ```text
//!   wait(tasks, timeout, return_when):
//!     waiter = create_future(); timeout? call_later(timeout, release waiter)
//!     each task: add_done_callback(_on_completion)
//!       _on_completion: counter -= 1; all done, or FIRST_COMPLETED, or FIRST_EXCEPTION and
//!                       this one failed ─► cancel the timeout; release the waiter
//!     await waiter; finally: cancel the timeout, remove the callbacks
//!     ─► (done, pending), split as the tasks stand then
//!
//!   shield(inner): outer = create_future()
//!     inner done ─► outer gets its outcome, unless outer was cancelled (then nothing)
//!     outer done first (cancelled: its awaiting task was) ─► inner's callback is removed;
//!                                                           inner runs on
//!
//!   as_completed(tasks, timeout): done = Queue(); each task: add_done_callback(_on_completion)
//!     _on_completion: take the task out of todo; done.put_nowait(task)
//!     _on_timeout:    every task still in todo: remove its callback; done.put_nowait(None)
//!     next():         done.get() ─► the task's outcome, or Timeout for a None
//! ```
//!
//! Each release and each outcome passes through a done-callback, so through `call_soon`: `wait`
//! returns two passes after the task that ends it (its callback releases the waiter in one, the
//! waiter's wakes the caller in the next), as in CPython. CPython's `wait` takes a set and
//! returns two sets; here a slice, and the two halves in argument order.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

use crate::base_events::EventLoop;
use crate::events::{Handle, TimerHandle};
use crate::futures::{Error, Future};
use crate::queues::Queue;
use crate::tasks::Task;

/// When [`wait`] returns (asyncio's `FIRST_COMPLETED`, `FIRST_EXCEPTION`, `ALL_COMPLETED`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnWhen {
    /// As soon as any task is done.
    FirstCompleted,
    /// As soon as any task fails (not by cancellation), or when all are done.
    FirstException,
    /// When all are done.
    AllCompleted,
}

/// `ValueError('Set of Tasks/Futures is empty.')`: [`wait`] was given no task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmptyWait;

impl fmt::Display for EmptyWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Set of Tasks/Futures is empty.")
    }
}

impl std::error::Error for EmptyWait {}

/// What `wait` leaves behind however it ends (its `finally`): the timeout cancelled, the
/// completion callbacks removed from tasks still pending.
struct Cleanup<'a, T: Clone + 'static> {
    tasks: &'a [Task<T>],
    callbacks: Vec<Option<Handle>>,
    timeout: Rc<RefCell<Option<TimerHandle>>>,
}

impl<T: Clone + 'static> Drop for Cleanup<'_, T> {
    fn drop(&mut self) {
        if let Some(timeout) = self.timeout.borrow_mut().take() {
            timeout.cancel();
        }
        for (task, handle) in self.tasks.iter().zip(&self.callbacks) {
            if let Some(handle) = handle {
                task.future().remove_done_callback(handle);
            }
        }
    }
}

/// `asyncio.wait(tasks, timeout=timeout, return_when=return_when)`: waits until `return_when`
/// holds or `timeout` seconds pass, and returns the tasks done then and those still pending,
/// each in argument order. It neither cancels nor raises the tasks' errors: a timeout returns
/// with tasks pending. Fails with [`EmptyWait`] (as an exception) when `tasks` is empty, and
/// with `Error::Cancelled` when the calling task is cancelled while it waits.
pub async fn wait<T: Clone + 'static>(
    tasks: &[Task<T>],
    timeout: Option<f64>,
    return_when: ReturnWhen,
) -> Result<(Vec<Task<T>>, Vec<Task<T>>), Error> {
    if tasks.is_empty() {
        return Err(Error::exception(EmptyWait));
    }
    let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
    let waiter: Future<()> = Future::new(&event_loop);
    let timeout_handle = Rc::new(RefCell::new(timeout.map(|delay| {
        let waiter = waiter.clone();
        // `_release_waiter`.
        event_loop.call_later(delay, move || {
            if !waiter.done() {
                let _ = waiter.set_result(());
            }
        })
    })));
    let counter = Rc::new(Cell::new(tasks.len()));
    let callbacks = tasks
        .iter()
        .map(|task| {
            let (waiter, counter, timeout_handle) =
                (waiter.clone(), counter.clone(), timeout_handle.clone());
            let finished = task.clone();
            // `_on_completion`.
            task.future().add_done_callback_handle(move || {
                counter.set(counter.get().saturating_sub(1));
                let failed = !finished.cancelled() && matches!(finished.result(), Some(Err(_)));
                if counter.get() == 0
                    || return_when == ReturnWhen::FirstCompleted
                    || (return_when == ReturnWhen::FirstException && failed)
                {
                    if let Some(timeout) = timeout_handle.borrow_mut().take() {
                        timeout.cancel();
                    }
                    if !waiter.done() {
                        let _ = waiter.set_result(());
                    }
                }
            })
        })
        .collect();
    let cleanup = Cleanup {
        tasks,
        callbacks,
        timeout: timeout_handle,
    };
    let waited = waiter.await;
    drop(cleanup);
    waited?;
    Ok(tasks.iter().cloned().partition(|task| task.done()))
}

/// `asyncio.shield(inner)`: a future with `inner`'s outcome, whose cancellation does not reach
/// `inner`. A task cancelled while it awaits the shield sees `Error::Cancelled`; `inner` runs on
/// and can be awaited again for its result.
pub fn shield<T: Clone + 'static>(inner: &Task<T>) -> Future<T> {
    let event_loop = inner.future().event_loop();
    let outer = Future::new(&event_loop);
    if let Some(outcome) = inner.result() {
        // CPython returns `inner` itself when it is done already: the same outcome at once.
        let _ = match outcome {
            Err(Error::Cancelled) => {
                outer.cancel();
                Ok(())
            }
            Ok(value) => outer.set_result(value),
            Err(error) => outer.set_exception(error),
        };
        return outer;
    }
    let inner_done = {
        let (outer, inner) = (outer.clone(), inner.clone());
        // `_inner_done_callback`.
        move || {
            if outer.cancelled() {
                return;
            }
            match inner.result() {
                Some(Err(Error::Cancelled)) | None => {
                    outer.cancel();
                }
                Some(Ok(value)) => {
                    let _ = outer.set_result(value);
                }
                Some(Err(error)) => {
                    let _ = outer.set_exception(error);
                }
            }
        }
    };
    let handle = inner.future().add_done_callback_handle(inner_done);
    let inner = inner.clone();
    // `_outer_done_callback`.
    outer.add_done_callback(move || {
        if let Some(handle) = handle {
            if !inner.done() {
                inner.future().remove_done_callback(&handle);
            }
        }
    });
    outer
}

/// `as_completed`'s `todo`: the tasks not finished yet, each with its completion callback.
type Todo<T> = Vec<(Task<T>, Option<Handle>)>;

/// What [`as_completed`] hands out: its tasks' outcomes in the order they finish (the
/// generator of coroutines `asyncio.as_completed` returns, one [`next`](AsCompleted::next) per
/// coroutine).
pub struct AsCompleted<T: Clone + 'static> {
    /// Finished tasks in completion order; `None` for each one a timeout gave up on.
    done: Queue<Option<Task<T>>>,
    /// How many `next` calls are left to hand out (`len(todo)` at the start).
    left: usize,
}

/// `asyncio.as_completed(tasks, timeout=timeout)` (3.12): each [`AsCompleted::next`] waits for
/// the next task to finish and gives its outcome; after `timeout` seconds, those not finished
/// give `Error::Timeout` instead. Each task is counted once, even if given twice.
pub fn as_completed<T: Clone + 'static>(tasks: &[Task<T>], timeout: Option<f64>) -> AsCompleted<T> {
    let done: Queue<Option<Task<T>>> = Queue::new(0);
    // `todo = set(fs)`: each task once, with the handle of its completion callback.
    let todo: Rc<RefCell<Todo<T>>> = Rc::new(RefCell::new(Vec::new()));
    let timeout_handle: Rc<RefCell<Option<TimerHandle>>> = Rc::new(RefCell::new(None));
    for task in tasks {
        if todo.borrow().iter().any(|(other, _)| other == task) {
            continue;
        }
        let (todo_ref, done, timeout_handle) = (todo.clone(), done.clone(), timeout_handle.clone());
        let finished = task.clone();
        // `_on_completion` (scheduled through `call_soon`, so never before the push below).
        let handle = task.future().add_done_callback_handle(move || {
            let mut todo = todo_ref.borrow_mut();
            let Some(index) = todo.iter().position(|(task, _)| *task == finished) else {
                return; // `_on_timeout` was here first.
            };
            todo.remove(index);
            let _ = done.put_nowait(Some(finished));
            if todo.is_empty() {
                if let Some(timeout) = timeout_handle.borrow_mut().take() {
                    timeout.cancel();
                }
            }
        });
        todo.borrow_mut().push((task.clone(), handle));
    }
    let left = todo.borrow().len();
    if let Some(delay) = timeout.filter(|_| !todo.borrow().is_empty()) {
        if let Some(event_loop) = EventLoop::running() {
            let (todo, done) = (todo.clone(), done.clone());
            // `_on_timeout`.
            *timeout_handle.borrow_mut() = Some(event_loop.call_later(delay, move || {
                for (task, handle) in todo.borrow_mut().drain(..) {
                    if let Some(handle) = handle {
                        task.future().remove_done_callback(&handle);
                    }
                    let _ = done.put_nowait(None);
                }
            }));
        }
    }
    AsCompleted { done, left }
}

impl<T: Clone + 'static> AsCompleted<T> {
    /// `_wait_for_one`: the outcome of the next task to finish; `Error::Timeout` for one the
    /// timeout gave up on; `None` once every task has been handed out.
    pub async fn next(&mut self) -> Option<Result<T, Error>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(match self.done.get().await {
            Ok(Some(task)) => task.result().unwrap_or(Err(Error::Cancelled)),
            Ok(None) => Err(Error::Timeout),
            Err(error) => Err(error),
        })
    }

    /// How many outcomes are still to be handed out.
    pub fn len(&self) -> usize {
        self.left
    }

    /// Whether every outcome has been handed out.
    pub fn is_empty(&self) -> bool {
        self.left == 0
    }
}
