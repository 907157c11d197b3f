//! `asyncio.sleep` (`Lib/asyncio/tasks.py`): a future, and a timer that completes it.
//!
//! CPython's `sleep(delay)` creates a future, `call_later(delay,
//! futures._set_result_unless_cancelled, future, None)`, awaits the future, and cancels the
//! timer in a `finally`. The same objects here, in one allocation: the timer handle embeds its
//! future, so a sleeping task costs one `Rc` beside its own (the sleepers benchmark parks
//! 100,000 of them at once).
//!
//! ```text
//!   Sleep (the coroutine)             Rc<SleepTimer>: TimerHandle and Future at once
//!   Start ──first poll──► Waiting ──► [ when | scheduled | cancelled | FutureCore<()> ]
//!     │                     │           in the loop's heap until due, then the ready queue:
//!     │ delay <= 0          │           run = _set_result_unless_cancelled → wakes the task
//!     ▼                     ▼
//!   Zero (tasks.__sleep0)  Done: the timer is cancelled (the `finally`), as on drop
//! ```
//!
//! The passes are CPython's: the timer fires in one pass (its run completes the future, whose
//! done-callback schedules the task's step), the task resumes in the next. A task cancelled
//! while it sleeps has this future cancelled (it is the task's `_fut_waiter`), resumes with
//! `Error::Cancelled`, and its timer is cancelled then (counted in the heap's cancelled timers).
//!
//! Invariants:
//! - the timer is in the loop's heap at most once, from the first poll until due or cancelled;
//! - a `Sleep` that leaves `Waiting` (done, or dropped) has cancelled its timer.

use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::base_events::{EventLoop, LoopInner};
use crate::events::{Ready, ReadyHandle, TimerControl, TimerHandle};
use crate::futures::{Cancellable, Error, FutureCore};
use crate::tasks::Sleep0;

/// The timer of a `sleep`, with the future it completes.
struct SleepTimer {
    when: f64,
    scheduled: Cell<bool>,
    cancelled: Cell<bool>,
    future: FutureCore<()>,
}

impl ReadyHandle for SleepTimer {
    /// `futures._set_result_unless_cancelled(future, None)`.
    fn run(self: Rc<Self>) {
        // A cancelled future stays cancelled.
        let _ = self.future.complete(Ok(()));
    }

    fn cancelled(&self) -> bool {
        self.cancelled.get()
    }

    fn describe(&self) -> String {
        format!(
            "<TimerHandle when={} futures._set_result_unless_cancelled()>",
            self.when
        )
    }
}

impl TimerControl for SleepTimer {
    fn when(&self) -> f64 {
        self.when
    }

    fn scheduled(&self) -> bool {
        self.scheduled.get()
    }

    fn set_scheduled(&self, scheduled: bool) {
        self.scheduled.set(scheduled);
    }

    fn loop_inner(&self) -> Option<Rc<LoopInner>> {
        Some(self.future.event_loop().0.clone())
    }

    fn cancel_callback(&self) -> bool {
        !self.cancelled.replace(true)
    }

    fn into_ready(self: Rc<Self>) -> Ready {
        self
    }
}

impl Cancellable for SleepTimer {
    /// `Task.cancel` cancels the future the task waits on: this one.
    fn cancel(&self) -> bool {
        self.future.cancel()
    }
}

enum SleepState {
    /// Not polled yet.
    Start,
    /// `sleep(0)`: a bare yield.
    Zero(Sleep0),
    /// The timer is armed; awaiting its future.
    Waiting(Rc<SleepTimer>),
    /// Returned its outcome.
    Done,
}

/// The coroutine of [`sleep`]: await it (inside a task) to sleep.
pub struct Sleep {
    delay: f64,
    state: SleepState,
}

/// `asyncio.sleep(delay)`. `sleep(0.0)` (or less) is a bare yield that takes one pass; a positive
/// delay resumes one pass after its timer fires (timer → `set_result` → `call_soon(step)`).
/// Outside a running loop it fails with [`Error::NoRunningLoop`].
pub fn sleep(delay: f64) -> Sleep {
    Sleep {
        delay,
        state: SleepState::Start,
    }
}

impl Sleep {
    /// The `finally: h.cancel()` of `asyncio.sleep`.
    fn cancel_timer(&mut self) {
        if let SleepState::Waiting(timer) = std::mem::replace(&mut self.state, SleepState::Done) {
            TimerHandle::of(timer).cancel();
        }
    }
}

impl std::future::Future for Sleep {
    type Output = Result<(), Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let SleepState::Start = this.state {
            if this.delay <= 0.0 {
                this.state = SleepState::Zero(Sleep0::new());
            } else {
                let Some(event_loop) = EventLoop::running() else {
                    this.state = SleepState::Done;
                    return Poll::Ready(Err(Error::NoRunningLoop));
                };
                // `loop.call_later(delay, ...)`.
                let timer = Rc::new(SleepTimer {
                    when: event_loop.time() + this.delay,
                    scheduled: Cell::new(false),
                    cancelled: Cell::new(false),
                    future: FutureCore::new(&event_loop),
                });
                event_loop.schedule_timer(&TimerHandle::of(timer.clone()));
                this.state = SleepState::Waiting(timer);
            }
        }
        match &mut this.state {
            SleepState::Start | SleepState::Done => Poll::Ready(Ok(())),
            SleepState::Zero(zero) => {
                let polled = Pin::new(zero).poll(cx);
                if polled.is_ready() {
                    this.state = SleepState::Done;
                }
                polled
            }
            SleepState::Waiting(timer) => {
                let polled = timer.future.poll_outcome(cx, || timer.clone());
                if polled.is_ready() {
                    this.cancel_timer();
                }
                polled
            }
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel_timer();
    }
}
