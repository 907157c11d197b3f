//! `asyncio.sleep` (`Lib/asyncio/tasks.py`): a future, and a timer that completes it.
//!
//! CPython's `sleep(delay)` creates a future, `call_later(delay,
//! futures._set_result_unless_cancelled, future, None)`, awaits the future, and cancels the
//! timer in a `finally`. The same objects here, in one allocation of 40 bytes (a 64-byte malloc
//! chunk): the timer handle is its future too, so a sleeping task costs one `Rc` beside its own
//! (the sleepers benchmark parks 100,000 of them at once).
//!
//! ```text
//!   Sleep (the coroutine)             Rc<SleepTimer>: TimerHandle and Future at once
//!   Start ──first poll──► Waiting ──► [ when | event_loop | waiter | scheduled cancelled outcome ]
//!     │                     │           in the loop's heap until due, then the ready queue:
//!     │ delay <= 0          │           run = _set_result_unless_cancelled → wakes the waiter
//!     ▼                     ▼
//!   Zero (tasks.__sleep0)  Done: the timer is cancelled (the `finally`), as on drop
//! ```
//!
//! The future is not a [`FutureCore`](crate::futures::FutureCore) (56 bytes): nothing but the
//! `Sleep` that made it can reach it, so it never has a done-callback other than its awaiter's
//! wake-up, nor an outcome other than `None` or `CancelledError`. It keeps that one wake-up
//! (`waiter`: the task, weakly, as `FutureCore` does, or a foreign executor's waker) and a
//! one-byte outcome. A poll from another task or waker replaces the wake-up, as Rust's
//! `Future::poll` contract asks (a coroutine object of CPython cannot be awaited by two tasks
//! at once either); `FutureCore` would have kept both.
//!
//! The passes are CPython's: the timer fires in one pass (its run completes the future, whose
//! done-callback schedules the task's step), the task resumes in the next. A task cancelled
//! while it sleeps has this future cancelled (it is the task's `_fut_waiter`), resumes with
//! `Error::Cancelled`, and its timer is cancelled then (counted in the heap's cancelled timers).
//!
//! Invariants:
//! - the timer is in the loop's heap at most once, from the first poll until due or cancelled;
//! - a `Sleep` that leaves `Waiting` (done, or dropped) has cancelled its timer;
//! - `waiter` wakes nobody once `outcome` is not `Pending` (completing takes it).

use std::cell::Cell;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use crate::base_events::{EventLoop, LoopInner};
use crate::events::{Ready, ReadyHandle, TimerControl, TimerHandle};
use crate::futures::{Cancellable, Error};
use crate::tasks::{self, Sleep0, TaskControl};

/// The sleep's future: `Future._state`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Pending,
    /// `set_result(None)`.
    Done,
    /// `cancel()`.
    Cancelled,
}

/// Whom the sleep's future wakes when it completes: its done-callback.
enum Waiter {
    /// A task (`Task.__wakeup`), weakly: the loop's task table owns a pending task. A dangling
    /// `Weak` ([`tasks::no_task`]) stands for no one: two variants fit in 16 bytes, three
    /// would not.
    Task(Weak<dyn TaskControl>),
    /// A foreign executor's waker, woken from a `call_soon` handle (boxed to keep this 16
    /// bytes; only a sleep polled outside any task has one).
    Waker(Box<Waker>),
}

/// The timer of a `sleep`, with the future it completes.
struct SleepTimer {
    when: f64,
    event_loop: EventLoop,
    waiter: Cell<Waiter>,
    scheduled: Cell<bool>,
    /// The timer handle's `_cancelled`.
    cancelled: Cell<bool>,
    outcome: Cell<Outcome>,
}

impl SleepTimer {
    /// `Future.set_result` / `Future.cancel` of a pending future: `__schedule_callbacks`.
    /// False (nothing done) when it is done already.
    fn complete(&self, outcome: Outcome) -> bool {
        if self.outcome.get() != Outcome::Pending {
            return false;
        }
        self.outcome.set(outcome);
        match self.waiter.replace(Waiter::Task(tasks::no_task())) {
            Waiter::Task(task) => {
                if let Some(task) = task.upgrade() {
                    self.event_loop.wake_task(task);
                }
            }
            Waiter::Waker(waker) => {
                self.event_loop.call_soon(move || waker.wake());
            }
        }
        true
    }

    /// `Future.__await__` (as `FutureCore::poll_outcome`): the outcome if done; otherwise
    /// the current task (or, outside a task, the waker) is woken when it is, and this future
    /// becomes the task's `_fut_waiter`. A task being cancelled sees `Error::Cancelled`.
    fn poll_outcome(self: &Rc<Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if tasks::take_cancel_throw() {
            return Poll::Ready(Err(Error::Cancelled));
        }
        match self.outcome.get() {
            Outcome::Done => return Poll::Ready(Ok(())),
            Outcome::Cancelled => return Poll::Ready(Err(Error::Cancelled)),
            Outcome::Pending => {}
        }
        let waiter = match tasks::await_future(self.clone()) {
            Some(task) => Waiter::Task(task),
            None => Waiter::Waker(Box::new(cx.waker().clone())),
        };
        drop(self.waiter.replace(waiter));
        Poll::Pending
    }
}

impl ReadyHandle for SleepTimer {
    /// `futures._set_result_unless_cancelled(future, None)`.
    fn run(self: Rc<Self>) {
        // A cancelled future stays cancelled.
        self.complete(Outcome::Done);
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
        Some(self.event_loop.0.clone())
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
        self.complete(Outcome::Cancelled)
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
                    event_loop: event_loop.clone(),
                    waiter: Cell::new(Waiter::Task(tasks::no_task())),
                    scheduled: Cell::new(false),
                    cancelled: Cell::new(false),
                    outcome: Cell::new(Outcome::Pending),
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
                let polled = timer.poll_outcome(cx);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// 40 bytes: with the `Rc`'s counts, a 64-byte malloc chunk (a 96-byte one with a
    /// `FutureCore` inside, before session 9).
    #[test]
    fn a_sleep_timer_fits_a_64_byte_chunk() {
        assert_eq!(std::mem::size_of::<SleepTimer>(), 40);
    }

    /// As in CPython: cancelling a sleeping task cancels the sleep's future, not its timer;
    /// the timer is cancelled (and counted in `_timer_cancelled_count`) by the `finally` of
    /// the step that resumes the task, and the pass after that rebuilds the heap, since more
    /// than half of its more than 100 timers are cancelled.
    #[test]
    fn cancelled_sleepers_cancel_their_timers_in_the_step_that_resumes_them() {
        let event_loop = EventLoop::new();
        let main_loop = event_loop.clone();
        let seen = event_loop
            .run_until_complete(async move {
                let tasks: Vec<_> = (0..200)
                    .map(|_| main_loop.create_task(sleep(10.0)))
                    .collect();
                sleep(0.0).await?;
                let armed = main_loop.scheduled_timers();
                for task in &tasks[..150] {
                    task.cancel();
                }
                let at_cancel = main_loop.cancelled_timers();
                sleep(0.0).await?;
                let resumed = (
                    main_loop.cancelled_timers(),
                    main_loop.scheduled_timers(),
                    tasks[..150].iter().all(|task| task.cancelled()),
                );
                sleep(0.0).await?;
                let purged = (main_loop.cancelled_timers(), main_loop.scheduled_timers());
                Ok((armed, at_cancel, resumed, purged))
            })
            .expect("main completes");
        assert_eq!(seen, (200, 0, (150, 200, true), (0, 50)));
    }
}
