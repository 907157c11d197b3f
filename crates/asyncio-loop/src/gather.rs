//! `asyncio.gather`, after `tasks.gather` and `tasks._GatheringFuture` in `Lib/asyncio/tasks.py`.
//!
//! The outer future gets one done-callback per child (`_done_callback`), each run through
//! `call_soon` when its child finishes; as in 3.12, a child that is already done when the
//! gather starts is counted at once instead (so a gather of finished tasks, such as eager
//! tasks that never suspended, is done without a pass of the loop):
//!
//! ```text
//!   child done ─► outer already done?            yes ─► nothing
//!                 failed and not return_exceptions ─► outer fails with the child's error
//!                 otherwise count it; the last one ─► outer = every outcome, in argument order
//!                                                    (cancelled if the gather was cancelled)
//! ```
//!
//! A failing child fails the gather but does not cancel its siblings: they keep running.
//! Cancelling the gather (its awaiting task is cancelled while it waits) cancels every child
//! instead of the outer future, as `_GatheringFuture.cancel` does; the outer future then ends
//! cancelled once the children have reacted.
//!
//! Invariant: the outer future is completed at most once, by a child's done-callback.

use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::base_events::EventLoop;
use crate::futures::{Cancellable, Error, Future};
use crate::tasks::{self, Task};

/// `_GatheringFuture`: the outer future plus the children that cancelling it cancels.
struct Gathering<T> {
    outer: Future<Vec<Result<T, Error>>>,
    children: Rc<Vec<Task<T>>>,
    cancel_requested: Rc<Cell<bool>>,
}

impl<T: Clone + 'static> Cancellable for Gathering<T> {
    /// `_GatheringFuture.cancel`: cancel the children, not the outer future.
    fn cancel(&self) -> bool {
        if self.outer.done() {
            return false;
        }
        let mut cancelled_any = false;
        for child in self.children.iter() {
            cancelled_any |= child.cancel();
        }
        if cancelled_any {
            self.cancel_requested.set(true);
        }
        cancelled_any
    }
}

impl<T: Clone + 'static> std::future::Future for Gathering<T> {
    type Output = Result<Vec<Result<T, Error>>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut outer = self.outer.clone();
        let poll = Pin::new(&mut outer).poll(cx);
        if poll.is_pending() {
            tasks::set_fut_waiter(Rc::new(Gathering {
                outer: self.outer.clone(),
                children: self.children.clone(),
                cancel_requested: self.cancel_requested.clone(),
            }));
        }
        poll
    }
}

/// `tasks.gather` with its `_done_callback`.
fn gathering<T: Clone + 'static>(
    event_loop: &EventLoop,
    children: Vec<Task<T>>,
    return_exceptions: bool,
) -> Gathering<T> {
    let gathering = Gathering {
        outer: Future::new(event_loop),
        children: Rc::new(children),
        cancel_requested: Rc::new(Cell::new(false)),
    };
    if gathering.children.is_empty() {
        let _ = gathering.outer.set_result(Vec::new());
        return gathering;
    }
    let finished = Rc::new(Cell::new(0usize));
    let done_callback = {
        let outer = gathering.outer.clone();
        let all = gathering.children.clone();
        let cancel_requested = gathering.cancel_requested.clone();
        Rc::new(move |child: &Task<T>| {
            if outer.done() {
                return;
            }
            if !return_exceptions {
                if let Some(Err(error)) = child.result() {
                    let _ = outer.set_exception(error);
                    return;
                }
            }
            finished.set(finished.get() + 1);
            if finished.get() < all.len() {
                return;
            }
            if cancel_requested.get() {
                let _ = outer.set_exception(Error::Cancelled);
                return;
            }
            let results = all
                .iter()
                .map(|task| task.result().unwrap_or(Err(Error::Cancelled)))
                .collect();
            let _ = outer.set_result(results);
        })
    };
    // 3.12: a child already done (one that finished eagerly, or before the gather) is counted
    // now, after the outer future exists, not through a `call_soon`ed callback; when every
    // child is done the gather is done before it is first awaited.
    let mut done_now = Vec::new();
    for child in gathering.children.iter() {
        if child.done() {
            done_now.push(child.clone());
        } else {
            let (done_callback, child_done) = (done_callback.clone(), child.clone());
            child.add_done_callback(move || done_callback(&child_done));
        }
    }
    for child in &done_now {
        done_callback(child);
    }
    gathering
}

/// `asyncio.gather(*children)`: their results in argument order. The first child to fail fails
/// the gather; the other children are not cancelled and keep running. The children's callbacks
/// are attached when the gather is first awaited.
pub async fn gather<T: Clone + 'static>(children: Vec<Task<T>>) -> Result<Vec<T>, Error> {
    let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
    gathering(&event_loop, children, false)
        .await?
        .into_iter()
        .collect()
}

/// `asyncio.gather(*children, return_exceptions=True)`: every child's outcome, in argument order.
pub async fn gather_return_exceptions<T: Clone + 'static>(
    children: Vec<Task<T>>,
) -> Result<Vec<Result<T, Error>>, Error> {
    let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
    gathering(&event_loop, children, true).await
}
