//! Queue(maxsize=2) with one producer and two consumers: putters wait while full, getters while
//! empty, each woken by `_wakeup_next`; then `join`, `QueueEmpty` and `QueueFull`.
//! Fixture: `queue_bounded` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{gather, run, sleep, Error, EventLoop, Queue, QueueFull};
use common::{assert_matches_fixture, out, py_bool};

fn py_item(item: Option<i32>) -> String {
    item.map_or_else(|| "None".to_string(), |item| item.to_string())
}

async fn producer(queue: Queue<Option<i32>>) -> Result<(), Error> {
    for item in 0..5 {
        out(format!(
            "put-wait {item} qsize={} full={}",
            queue.qsize(),
            py_bool(queue.full())
        ));
        queue.put(Some(item)).await?;
        out(format!("put-done {item}"));
    }
    for _ in 0..2 {
        queue.put(None).await?;
    }
    out("producer-done");
    Ok(())
}

async fn consumer(name: &'static str, queue: Queue<Option<i32>>) -> Result<(), Error> {
    loop {
        let item = queue.get().await?;
        out(format!("{name}-got {}", py_item(item)));
        queue.task_done().expect("one task_done per get");
        if item.is_none() {
            break;
        }
        sleep(0.0).await?;
    }
    out(format!("{name}-done"));
    Ok(())
}

#[test]
fn queue_bounded() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let queue = Queue::<Option<i32>>::new(2);
        out(format!(
            "empty={} full={}",
            py_bool(queue.empty()),
            py_bool(queue.full())
        ));
        if queue.get_nowait().is_err() {
            out("get_nowait QueueEmpty");
        }
        let consumers = vec![
            event_loop.create_task(consumer("c1", queue.clone())),
            event_loop.create_task(consumer("c2", queue.clone())),
        ];
        let producer_task = event_loop.create_task(producer(queue.clone()));
        producer_task.await?;
        out(format!("producer-awaited qsize={}", queue.qsize()));
        queue.join().await?;
        out("join-returned");
        gather(consumers).await?;
        let strings = Queue::<&str>::new(2);
        strings.put_nowait("x").expect("room for x");
        strings.put_nowait("y").expect("room for y");
        if let Err(QueueFull(item)) = strings.put_nowait("z") {
            assert_eq!(item, "z");
            out("put_nowait QueueFull");
        }
        let first = strings.get_nowait().expect("x is queued");
        out(format!("get_nowait {first} qsize={}", strings.qsize()));
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("queue_bounded");
}
