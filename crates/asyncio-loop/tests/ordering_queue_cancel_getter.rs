//! Queue.get: a getter cancelled after its wake-up passes the wake-up to the next getter
//! (`_wakeup_next` in the `except` clause); a putter cancelled while the queue is full leaves
//! the queue as it was.
//! Fixture: `queue_cancel_getter` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{gather_return_exceptions, run, sleep, Error, EventLoop, Queue};
use common::{assert_matches_fixture, out, py_bool};

async fn getter(name: &'static str, queue: Queue<&'static str>) -> Result<(), Error> {
    match queue.get().await {
        Ok(item) => out(format!("{name}-got {item}")),
        Err(error) => {
            out(format!("{name}-cancelled qsize={}", queue.qsize()));
            return Err(error);
        }
    }
    Ok(())
}

#[test]
fn queue_cancel_getter() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let queue = Queue::<&'static str>::new(1);
        let g1 = event_loop.create_task(getter("g1", queue.clone()));
        let g2 = event_loop.create_task(getter("g2", queue.clone()));
        sleep(0.0).await?;
        queue.put_nowait("a").expect("room for a");
        g1.cancel();
        gather_return_exceptions(vec![g1, g2]).await?;
        queue.put_nowait("b").expect("room for b");
        let put_queue = queue.clone();
        let putter = event_loop.create_task(async move { put_queue.put("c").await });
        sleep(0.0).await?;
        putter.cancel();
        gather_return_exceptions(vec![putter.clone()]).await?;
        out(format!(
            "putter-cancelled {} qsize={} full={}",
            py_bool(putter.cancelled()),
            queue.qsize(),
            py_bool(queue.full())
        ));
        let item = queue.get_nowait().expect("b is queued");
        out(format!(
            "get_nowait {item} empty={}",
            py_bool(queue.empty())
        ));
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("queue_cancel_getter");
}
