//! `Condition`: `notify()` wakes the longest waiter, which returns from `wait()` only with the
//! lock again, after the notifier released it; `notify_all()` wakes the rest in order;
//! `wait_for()` checks its predicate after each wake-up; a waiter cancelled while waiting takes
//! the lock back before it sees the cancellation; `notify` without the lock is refused.
//! Fixture: `condition_notify` in peers/python/asyncio_orderings.py.

mod common;

use std::cell::Cell;
use std::rc::Rc;

use asyncio_loop::{gather, run, sleep, Condition, Error, EventLoop};
use common::{assert_matches_fixture, out, py_bool};

#[test]
fn condition_notify() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let cond = Condition::new();
        let n = Rc::new(Cell::new(0));
        let waiter = |name: &'static str| {
            let (cond, n) = (cond.clone(), n.clone());
            async move {
                cond.acquire().await?;
                out(format!("{name}-waiting"));
                cond.wait().await?;
                out(format!("{name}-woken n={}", n.get()));
                let _ = cond.release();
                Ok(())
            }
        };
        let mut tasks: Vec<_> = ["w1", "w2", "w3"]
            .into_iter()
            .map(|name| event_loop.create_task(waiter(name)))
            .collect();
        tasks.push(event_loop.create_task({
            let (cond, n) = (cond.clone(), n.clone());
            async move {
                cond.acquire().await?;
                out("pred-waiting");
                cond.wait_for(|| n.get() >= 2).await?;
                out(format!("pred-woken n={}", n.get()));
                let _ = cond.release();
                Ok(())
            }
        }));
        sleep(0.0).await?;
        cond.acquire().await?;
        n.set(1);
        let _ = cond.notify(1);
        out("notified-one");
        let _ = cond.release();
        sleep(0.0).await?;
        cond.acquire().await?;
        n.set(2);
        let _ = cond.notify_all();
        out("notified-all");
        let _ = cond.release();
        gather(tasks).await?;

        let cancelled = event_loop.create_task({
            let cond = cond.clone();
            async move {
                cond.acquire().await?;
                let waited = cond.wait().await;
                if let Err(Error::Cancelled) = waited {
                    out(format!(
                        "cancelled-waiter locked={}",
                        py_bool(cond.locked())
                    ));
                }
                let _ = cond.release();
                waited.map(|_| ())
            }
        });
        sleep(0.0).await?;
        cancelled.cancel();
        if let Err(Error::Cancelled) = cancelled.await {
            out(format!("main-saw-cancel locked={}", py_bool(cond.locked())));
        }
        if let Err(error) = cond.notify(1) {
            out(format!("RuntimeError {error}"));
        }
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("condition_notify");
}
