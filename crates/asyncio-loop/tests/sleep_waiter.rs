//! Who a `sleep` wakes, now that its future keeps one wake-up instead of a `FutureCore`'s list
//! of done-callbacks: a sleep polled outside any task wakes the waker it was polled with (from
//! a `call_soon` handle, one pass after its timer fires); a sleep polled by one task and then
//! awaited by another wakes only the latest (Rust's `Future::poll` contract); and a step's
//! pending `CancelledError`, now a flag of the thread, reaches neither an eager task started
//! inside that step nor the step after it.

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use asyncio_loop::{run, sleep, Error, EventLoop, Sleep};

/// A waker that counts its wake-ups.
#[derive(Default)]
struct CountingWaker(AtomicU32);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn a_sleep_polled_outside_a_task_wakes_its_waker_once_it_is_due() {
    let counter = Arc::new(CountingWaker::default());
    let waker = Waker::from(counter.clone());
    let parked: Rc<RefCell<Option<Sleep>>> = Rc::default();
    let first_poll = Rc::new(Cell::new(None));
    let (polled, parked_in) = (first_poll.clone(), parked.clone());
    let wakes_before_due = run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        // A callback runs in the loop but in no task: the sleep keeps the waker.
        event_loop.call_soon(move || {
            let mut sleeper = sleep(0.02);
            let mut cx = Context::from_waker(&waker);
            polled.set(Some(Pin::new(&mut sleeper).poll(&mut cx).is_pending()));
            *parked_in.borrow_mut() = Some(sleeper);
        });
        sleep(0.0).await?;
        let before = counter.0.load(Ordering::Relaxed);
        sleep(0.1).await?;
        Ok((before, counter))
    })
    .expect("main completes");
    let (before, counter) = wakes_before_due;
    assert_eq!(first_poll.get(), Some(true));
    assert_eq!(before, 0);
    assert_eq!(counter.0.load(Ordering::Relaxed), 1);
    // Done: a poll now gives the outcome, without the loop (it is closed).
    let mut sleeper = parked.borrow_mut().take().expect("the callback ran");
    let waker = Waker::from(counter.clone());
    let polled = Pin::new(&mut sleeper).poll(&mut Context::from_waker(&waker));
    assert!(matches!(polled, Poll::Ready(Ok(()))));
    assert_eq!(counter.0.load(Ordering::Relaxed), 1);
}

#[test]
fn a_sleep_awaited_by_a_second_task_wakes_only_that_task() {
    let handed_over: Rc<RefCell<Option<Sleep>>> = Rc::default();
    let first_polls = Rc::new(Cell::new(0));
    let (hand, polls) = (handed_over.clone(), first_polls.clone());
    let release = Rc::new(Cell::new(false));
    let released = release.clone();
    let waker_slot: Rc<RefCell<Option<Waker>>> = Rc::default();
    let parked_waker = waker_slot.clone();
    let outcome = run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let first = event_loop.create_task(async move {
            let mut sleeper = sleep(0.02);
            poll_fn(|cx| {
                assert!(Pin::new(&mut sleeper).poll(cx).is_pending());
                Poll::Ready(())
            })
            .await;
            *hand.borrow_mut() = Some(sleeper);
            // Pending (without a future of the crate) until released: counts its wake-ups.
            poll_fn(|cx| {
                polls.set(polls.get() + 1);
                if released.get() {
                    Poll::Ready(())
                } else {
                    *parked_waker.borrow_mut() = Some(cx.waker().clone());
                    Poll::Pending
                }
            })
            .await;
            Ok(())
        });
        sleep(0.0).await?;
        let sleeper = handed_over.borrow_mut().take().ok_or(Error::Cancelled)?;
        let second = event_loop.create_task(sleeper);
        second.clone().await?;
        // Two passes for any wake-up of the first task to have run its step.
        sleep(0.0).await?;
        sleep(0.0).await?;
        let polls_after_the_sleep = first_polls.get();
        release.set(true);
        if let Some(waker) = waker_slot.borrow_mut().take() {
            waker.wake();
        }
        first.await?;
        Ok(polls_after_the_sleep)
    });
    assert_eq!(outcome.expect("main completes"), 1);
}

#[test]
fn a_pending_throw_reaches_neither_an_eager_task_started_in_the_step_nor_the_next_step() {
    let log = Rc::new(RefCell::new(Vec::<String>::new()));
    let (logged, out) = (log.clone(), log.clone());
    let resumed = Rc::new(Cell::new(false));
    let resume = resumed.clone();
    let waker_slot: Rc<RefCell<Option<Waker>>> = Rc::default();
    let wake_it = waker_slot.clone();
    run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let spawner = event_loop.clone();
        let task = event_loop.create_task(async move {
            // A future of no crate: resuming from it leaves `CancelledError` pending.
            poll_fn(|cx| {
                if resumed.get() {
                    Poll::Ready(())
                } else {
                    *waker_slot.borrow_mut() = Some(cx.waker().clone());
                    Poll::Pending
                }
            })
            .await;
            let out = logged.clone();
            let eager = spawner.create_eager_task(async move {
                let first = sleep(0.0).await;
                out.borrow_mut()
                    .push(format!("eager-first-await ok={}", first.is_ok()));
                let second = sleep(0.0).await;
                out.borrow_mut()
                    .push(format!("eager-second-await ok={}", second.is_ok()));
                Ok(())
            });
            let mine = sleep(0.0).await;
            logged.borrow_mut().push(format!(
                "task-await cancelled={}",
                matches!(mine, Err(Error::Cancelled))
            ));
            let _ = eager.await;
            mine
        });
        sleep(0.0).await?;
        // The task waits on a foreign future: `cancel()` finds no `_fut_waiter`, so the
        // cancellation is thrown in at the next step.
        resume.set(true);
        if let Some(waker) = wake_it.borrow_mut().take() {
            waker.wake();
        }
        out.borrow_mut().push(format!("cancel={}", task.cancel()));
        let outcome = task.await;
        out.borrow_mut().push(format!(
            "main-saw cancelled={}",
            matches!(outcome, Err(Error::Cancelled))
        ));
        Ok(())
    })
    .expect("main completes");
    assert_eq!(
        *log.borrow(),
        [
            "cancel=true",
            "task-await cancelled=true",
            "eager-first-await ok=true",
            "eager-second-await ok=true",
            "main-saw cancelled=true",
        ]
    );
}
