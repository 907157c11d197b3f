//! Awaits in tasks that JavaScript cannot express (so there is no Node fixture). Two
//! `await`s pending at once in one task (a Rust combinator): each is ready in its own
//! reaction's microtask, not in the first microtask that polls the task after its promise
//! settled. A task is the job of every reaction it adds; it tells its reactions apart by the
//! number each carries. An await moved to another task before it finished waits for a
//! reaction of its own; a reaction that comes after its task finished does nothing.

use std::cell::RefCell;
use std::future::{poll_fn, Future, IntoFuture};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Poll, Waker};

use uv_loop::{call_async, queue_microtask, run, Promise, PromiseFuture};

#[test]
fn each_await_resumes_in_its_own_reaction() {
    let log = Rc::new(RefCell::new(Vec::<String>::new()));
    let out = log.clone();
    let result = run(move || {
        let (first, resolve_first) = Promise::<u32>::with_resolvers();
        let (second, resolve_second) = Promise::<u32>::with_resolvers();
        let task_log = out.clone();
        call_async(async move {
            let mut first = pin!(first.into_future());
            let mut second = pin!(second.into_future());
            let (mut first_done, mut second_done) = (false, false);
            poll_fn(|cx| {
                if !first_done {
                    if let Poll::Ready(value) = first.as_mut().poll(cx) {
                        first_done = true;
                        task_log.borrow_mut().push(format!("first {value:?}"));
                    }
                }
                if !second_done {
                    if let Poll::Ready(value) = second.as_mut().poll(cx) {
                        second_done = true;
                        task_log.borrow_mut().push(format!("second {value:?}"));
                    }
                }
                if first_done && second_done {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
            task_log.borrow_mut().push("joined".into());
            Ok(())
        });
        let settle_log = out.clone();
        queue_microtask(move || {
            // Queue: second's reaction, the marker, first's reaction. When second's reaction
            // polls the task, `first` has settled but its reaction has not run: not ready yet.
            resolve_second.resolve(2);
            let marker_log = settle_log.clone();
            queue_microtask(move || marker_log.borrow_mut().push("marker".into()));
            resolve_first.resolve(1);
        });
    });
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        *log.borrow(),
        ["second Ok(2)", "marker", "first Ok(1)", "joined"]
    );
}

#[test]
fn a_dropped_await_does_not_count_for_the_next() {
    let log = Rc::new(RefCell::new(Vec::<String>::new()));
    let out = log.clone();
    let result = run(move || {
        let (abandoned, resolve_abandoned) = Promise::<u32>::with_resolvers();
        let (next, resolve_next) = Promise::<u32>::with_resolvers();
        let task_log = out.clone();
        call_async(async move {
            {
                // Register an await on `abandoned`, then drop it unfinished.
                let mut pending = pin!(abandoned.into_future());
                poll_fn(|cx| {
                    let _ = pending.as_mut().poll(cx);
                    Poll::Ready(())
                })
                .await;
            }
            let value = next.await;
            task_log.borrow_mut().push(format!("next {value:?}"));
            Ok(())
        });
        let settle_log = out.clone();
        queue_microtask(move || {
            // Queue: the abandoned await's reaction, the marker, next's reaction. The first
            // polls the task after `next` settled, but `next` waits for its own reaction.
            resolve_abandoned.resolve(0);
            let marker_log = settle_log.clone();
            queue_microtask(move || marker_log.borrow_mut().push("marker".into()));
            resolve_next.resolve(7);
        });
    });
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(*log.borrow(), ["marker", "next Ok(7)"]);
}

#[test]
fn an_await_moved_to_another_task_resumes_that_task() {
    let log = Rc::new(RefCell::new(Vec::<String>::new()));
    let out = log.clone();
    let result = run(move || {
        let (promise, resolve) = Promise::<u32>::with_resolvers();
        let moved: Rc<RefCell<Option<PromiseFuture<u32>>>> = Rc::new(RefCell::new(None));
        let (give, take) = (moved.clone(), moved);
        // The first task polls the await once (its reaction will resume that task) and hands
        // the future over, unfinished.
        call_async(async move {
            let mut future = promise.into_future();
            poll_fn(|cx| {
                let _ = Pin::new(&mut future).poll(cx);
                Poll::Ready(())
            })
            .await;
            *give.borrow_mut() = Some(future);
            Ok(())
        });
        let task_log = out.clone();
        call_async(async move {
            let future = take.borrow_mut().take();
            if let Some(future) = future {
                let value = future.await;
                task_log.borrow_mut().push(format!("moved {value:?}"));
            }
            Ok(())
        });
        queue_microtask(move || resolve.resolve(5));
    });
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(*log.borrow(), ["moved Ok(5)"]);
}

#[test]
fn a_reaction_after_its_task_finished_leaves_other_tasks_wakeable() {
    let log = Rc::new(RefCell::new(Vec::<String>::new()));
    let out = log.clone();
    let result = run(move || {
        let (abandoned, resolve_abandoned) = Promise::<u32>::with_resolvers();
        // This task registers an await, drops it and finishes: its reaction is still to come.
        call_async(async move {
            let mut pending = pin!(abandoned.into_future());
            poll_fn(|cx| {
                let _ = pending.as_mut().poll(cx);
                Poll::Ready(())
            })
            .await;
            Ok(())
        });
        // The next task takes the finished one's slot and waits for a plain waker's wake.
        let parked: Rc<RefCell<Option<Waker>>> = Rc::new(RefCell::new(None));
        let (park, unpark) = (parked.clone(), parked);
        let task_log = out.clone();
        call_async(async move {
            let mut woken = false;
            poll_fn(|cx| {
                if woken {
                    return Poll::Ready(());
                }
                woken = true;
                *park.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            })
            .await;
            task_log.borrow_mut().push("woken".into());
            Ok(())
        });
        queue_microtask(move || {
            // The finished task's reaction runs first; then the wake must still find the
            // second task in its slot.
            resolve_abandoned.resolve(0);
            queue_microtask(move || {
                let waker = unpark.borrow_mut().take();
                if let Some(waker) = waker {
                    waker.wake();
                }
            });
        });
    });
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(*log.borrow(), ["woken"]);
}
