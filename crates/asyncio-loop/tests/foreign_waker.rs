//! The waker a task hands to futures that are not this crate's: waking it schedules that task's
//! next step (`Task.__wakeup`), whichever tasks stepped in between (the loop reuses a step's
//! waker only while no future holds a clone of it), and a waker kept past its task's end wakes
//! nothing, even once a new task has taken the old one's place in the loop's task table. From
//! another thread the wake-up arrives through the loop's threadsafe queue, and the loop waits
//! for it while such a waker is held, but not once it is dropped.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use asyncio_loop::{run, sleep, Error, EventLoop, RunError};

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

/// A future completed by another thread, as a channel from a worker thread would be: it holds
/// its waker where that thread can reach it.
#[derive(Clone, Default)]
struct FromThread {
    ready: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl Future for FromThread {
    type Output = Result<(), Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        *self.waker.lock().unwrap() = Some(cx.waker().clone());
        if self.ready.load(Ordering::Acquire) {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }
}

/// The thread wakes the task late, after the loop has run out of everything else to do: the
/// loop waits for it (a lent waker could still wake it), and the wake-up crosses to the loop's
/// thread as a threadsafe callback and steps the task there.
#[test]
fn a_waker_woken_from_another_thread_resumes_its_task() {
    let future = FromThread::default();
    let remote = future.clone();
    let (polled_tx, polled_rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        polled_rx.recv().unwrap();
        // Late on purpose: the loop has nothing else left and must not give up.
        std::thread::sleep(Duration::from_millis(50));
        remote.ready.store(true, Ordering::Release);
        let waker = remote.waker.lock().unwrap().take();
        waker.expect("the task's waker").wake();
    });
    let outcome = run(async move {
        let loop_thread = std::thread::current().id();
        let (inner, tx) = (future.clone(), polled_tx);
        let mut first = true;
        let waiting = std::future::poll_fn(move |cx| {
            let polled = Pin::new(&mut inner.clone()).poll(cx);
            if std::mem::take(&mut first) {
                tx.send(()).unwrap();
            }
            polled
        });
        waiting.await?;
        Ok(std::thread::current().id() == loop_thread)
    });
    worker.join().unwrap();
    assert!(
        matches!(outcome, Ok(true)),
        "the task did not resume on its loop's thread: {outcome:?}"
    );
}

/// A waker lent to another thread that drops it without waking: nothing can wake the task any
/// more, and the loop stops at its next check (within about a second) instead of waiting forever.
#[test]
fn a_lent_waker_dropped_unwoken_lets_the_loop_stop() {
    let future = FromThread::default();
    let remote = future.clone();
    let (polled_tx, polled_rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        polled_rx.recv().unwrap();
        drop(remote.waker.lock().unwrap().take());
    });
    let started = Instant::now();
    let event_loop = EventLoop::new();
    let outcome = event_loop.run_until_complete(async move {
        let mut sent = Some(polled_tx);
        std::future::poll_fn(move |cx| {
            let polled = Pin::new(&mut future.clone()).poll(cx);
            if let Some(tx) = sent.take() {
                tx.send(()).unwrap();
            }
            polled
        })
        .await
    });
    worker.join().unwrap();
    assert!(
        matches!(outcome, Err(RunError::StoppedBeforeComplete)),
        "{outcome:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}
