//! The waiter futures of `Queue.get` and `Queue.put`. The queue keeps the future of a wait that
//! ended to be the next wait's (no allocation per wait); a queue used on one loop and then on
//! another must give the second loop's waits futures of the second loop, or nothing wakes them.

use asyncio_loop::{run, Error, EventLoop, Queue};

/// On a new loop (`asyncio.run`): `get` waits on `queue`, a task puts `value`, `get` returns it.
fn get_waiting_for_a_put(queue: &Queue<u32>, value: u32) -> Result<u32, String> {
    let queue = queue.clone();
    run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let producer = event_loop.create_task({
            let queue = queue.clone();
            async move { queue.put(value).await }
        });
        let got = queue.get().await?;
        producer.await?;
        Ok(got)
    })
    .map_err(|error| error.to_string())
}

#[test]
fn a_queue_used_by_one_loop_then_another_wakes_its_getter_on_the_second() {
    let queue = Queue::new(0);
    assert_eq!(get_waiting_for_a_put(&queue, 1), Ok(1));
    assert_eq!(get_waiting_for_a_put(&queue, 2), Ok(2));
    assert_eq!(get_waiting_for_a_put(&queue, 3), Ok(3));
}

#[test]
fn a_bounded_queue_used_by_one_loop_then_another_wakes_its_putter_on_the_second() {
    let queue = Queue::new(1);
    for round in 0..3 {
        let outcome = run({
            let queue = queue.clone();
            async move {
                let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
                queue.put(round).await?;
                // Full: this put waits until the consumer's get makes room.
                let consumer = event_loop.create_task({
                    let queue = queue.clone();
                    async move { queue.get().await }
                });
                queue.put(round + 10).await?;
                let first = consumer.await?;
                let second = queue.get().await?;
                Ok((first, second))
            }
        });
        assert_eq!(
            outcome.map_err(|error| error.to_string()),
            Ok((round, round + 10))
        );
    }
}
