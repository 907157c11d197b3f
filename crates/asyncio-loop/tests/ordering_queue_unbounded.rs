//! Unbounded Queue: `put` never waits, getters wake in FIFO order, `join` waits for every
//! `task_done`, and one `task_done` too many is an error.
//! Fixture: `queue_unbounded` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{gather, run, sleep, Error, EventLoop, Queue};
use common::{assert_matches_fixture, out};

async fn getter(name: &'static str, queue: Queue<i32>) -> Result<(), Error> {
    let item = queue.get().await?;
    out(format!("{name}-got {item}"));
    sleep(0.0).await?;
    queue.task_done().expect("one task_done per get");
    out(format!("{name}-task_done"));
    Ok(())
}

#[test]
fn queue_unbounded() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let queue = Queue::<i32>::new(0);
        let mut tasks: Vec<_> = ["g1", "g2", "g3"]
            .into_iter()
            .map(|name| event_loop.create_task(getter(name, queue.clone())))
            .collect();
        sleep(0.0).await?;
        for item in 0..3 {
            queue.put(item).await?;
            out(format!("put {item} full=False"));
            assert!(!queue.full());
        }
        let joined = queue.clone();
        // Python's gather wraps `joiner()` in a task inside the call, before the getters.
        let joiner = event_loop.create_task(async move {
            joined.join().await?;
            out("join-returned");
            Ok(())
        });
        tasks.insert(0, joiner);
        gather(tasks).await?;
        if queue.task_done().is_err() {
            out("task_done ValueError");
        }
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("queue_unbounded");
}
