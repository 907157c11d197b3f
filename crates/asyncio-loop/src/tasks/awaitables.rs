//! The awaitables `tasks.py` defines beside `Task`: `__sleep0` (a bare `yield`, which
//! `sleep(0)` is) and `wait_for`.

use std::pin::Pin;
use std::task::{Context, Poll};

use super::current::{current, take_cancel_throw, CURRENT_TASK};
use crate::futures::Error;

/// `tasks.__sleep0`: a bare `yield`; the task's next step is `call_soon`ed.
pub(crate) struct Sleep0 {
    yielded: bool,
}

impl Sleep0 {
    pub(crate) fn new() -> Self {
        Sleep0 { yielded: false }
    }
}

impl std::future::Future for Sleep0 {
    type Output = Result<(), Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if take_cancel_throw() {
            return Poll::Ready(Err(Error::Cancelled));
        }
        if self.yielded {
            return Poll::Ready(Ok(()));
        }
        self.yielded = true;
        match CURRENT_TASK.with(|current| current.borrow().clone()) {
            Some(task) => task.schedule_step(),
            None => cx.waker().wake_by_ref(),
        }
        Poll::Pending
    }
}

/// `asyncio.wait_for(awaitable, timeout)` as in 3.12: `async with timeout(t): return await aw`
/// (see [`Timeout`](crate::Timeout)).
/// The awaitable runs inside the current task; when time runs out the task is cancelled, the
/// awaitable sees `Error::Cancelled`, and the caller gets `Error::Timeout`.
pub async fn wait_for<T, F>(awaitable: F, timeout: f64) -> Result<T, Error>
where
    F: std::future::Future<Output = Result<T, Error>>,
{
    let task = current().ok_or(Error::NoRunningLoop)?;
    if timeout <= 0.0 {
        // `ensure_future(aw)` then `_cancel_and_wait`: the awaitable becomes a task cancelled
        // before its first step, so its body never runs, and the caller resumes three passes
        // later (the task's step, `_release_waiter`, the caller's wake-up). Here the awaitable
        // is dropped unpolled; unlike CPython, a `Task` passed in is not cancelled.
        drop(awaitable);
        for _ in 0..3 {
            Sleep0::new().await?;
        }
        return Err(Error::Timeout);
    }
    crate::timeouts::timeout_at(Some(task.event_loop().time() + timeout))
        .run(awaitable)
        .await
}
