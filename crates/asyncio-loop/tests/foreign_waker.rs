//! The waker a task hands to futures that are not this crate's: waking it schedules that task's
//! next step (`Task.__wakeup`), whichever tasks stepped in between (the loop reuses a step's
//! waker only while no future holds a clone of it), and a waker kept past its task's end wakes
//! nothing, even once a new task has taken the old one's place in the loop's task table.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use asyncio_loop::{run, sleep, Error, EventLoop};

/// A future outside the crate: pending until `ready` is set; each poll is counted and keeps
/// a clone of the waker it was given.
#[derive(Clone, Default)]
struct Foreign {
    ready: Rc<Cell<bool>>,
    polls: Rc<Cell<u32>>,
    waker: Rc<RefCell<Option<Waker>>>,
}

impl Future for Foreign {
    type Output = Result<(), Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.polls.set(self.polls.get() + 1);
        *self.waker.borrow_mut() = Some(cx.waker().clone());
        if self.ready.get() {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }
}

impl Foreign {
    fn wake(&self) {
        if let Some(waker) = self.waker.borrow().as_ref() {
            waker.wake_by_ref();
        }
    }
}

#[test]
fn a_woken_waker_resumes_its_own_task_after_other_tasks_stepped() {
    let foreign = Foreign::default();
    let (awaited, steps) = (foreign.clone(), Rc::new(Cell::new(0)));
    let counted = steps.clone();
    let polls = run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let waiting = event_loop.create_task(awaited);
        // Another task takes several steps, each with a waker of its own.
        let busy = event_loop.create_task(async move {
            for _ in 0..5 {
                counted.set(counted.get() + 1);
                sleep(0.0).await?;
            }
            Ok(())
        });
        busy.await?;
        assert_eq!(foreign.polls.get(), 1, "no wake-up yet");
        foreign.ready.set(true);
        foreign.wake();
        waiting.await?;
        Ok(foreign.polls.get())
    })
    .expect("the loop runs");
    assert_eq!(steps.get(), 5);
    assert_eq!(polls, 2, "polled once, then once more after its wake-up");
}

#[test]
fn a_waker_kept_past_its_task_wakes_nothing() {
    let stale = Foreign::default();
    stale.ready.set(true);
    let later = Foreign::default();
    let (first, second) = (stale.clone(), later.clone());
    let (stale_after, later_polls) = run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        // Its task ends at once, and `stale` keeps the waker of that step.
        event_loop.create_task(first).await?;
        // A new task takes the finished one's slot and waits on a future of its own.
        let waiting = event_loop.create_task(second);
        sleep(0.0).await?;
        stale.wake();
        for _ in 0..3 {
            sleep(0.0).await?;
        }
        let later_polls = later.polls.get();
        later.ready.set(true);
        later.wake();
        waiting.await?;
        Ok((stale.polls.get(), later_polls))
    })
    .expect("the loop runs");
    assert_eq!(stale_after, 1);
    assert_eq!(
        later_polls, 1,
        "the stale wake-up did not step the new task"
    );
}
