//! `LifoQueue` and `PriorityQueue` (queues.py): the waiting of `Queue` (a putter of a full
//! queue waits for a `get`, getters of an empty one are woken in order), with their own order
//! of items; a `PriorityQueue` gives items that compare equal in heapq's order, not the order
//! they were put in.
//! Fixture: `queue_lifo_priority` in peers/python/asyncio_orderings.py.

mod common;

use std::cmp::Ordering;

use asyncio_loop::{gather, run, sleep, Error, EventLoop, PriorityQueue, Queue};
use common::{assert_matches_fixture, out};

/// A job compared by priority alone, as the Python scenario's `Job.__lt__`.
#[derive(Clone, Debug)]
struct Job {
    priority: u32,
    name: &'static str,
}

impl PartialEq for Job {
    fn eq(&self, other: &Self) -> bool {
        self.priority == other.priority
    }
}

impl Eq for Job {}

impl PartialOrd for Job {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Job {
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority.cmp(&other.priority)
    }
}

async fn getter(queue: PriorityQueue<Job>, name: &'static str) -> Result<(), Error> {
    let job = queue.get().await?;
    out(format!("{name} got {}", job.name));
    Ok(())
}

fn py_list(items: &[&str]) -> String {
    format!("['{}']", items.join("', '"))
}

#[test]
fn queue_lifo_priority() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let lifo = Queue::lifo(2);
        lifo.put_nowait("a").map_err(|_| Error::NoRunningLoop)?;
        lifo.put_nowait("b").map_err(|_| Error::NoRunningLoop)?;
        let putter_queue = lifo.clone();
        let task = event_loop.create_task(async move {
            out("putter-waits");
            putter_queue.put("c").await?;
            out("putter-put");
            Ok(())
        });
        sleep(0.0).await?;
        out(format!("lifo get {}", lifo.get_nowait().unwrap_or("?")));
        sleep(0.0).await?;
        let rest: Vec<&str> = (0..lifo.qsize())
            .map(|_| lifo.get_nowait().unwrap_or("?"))
            .collect();
        out(format!("lifo rest {}", py_list(&rest)));
        task.await?;
        let prio = Queue::priority(0);
        let g1 = event_loop.create_task(getter(prio.clone(), "g1"));
        let g2 = event_loop.create_task(getter(prio.clone(), "g2"));
        sleep(0.0).await?;
        for (priority, name) in [
            (2, "b1"),
            (1, "a1"),
            (3, "c1"),
            (1, "a2"),
            (2, "b2"),
            (1, "a3"),
            (0, "z"),
            (2, "b3"),
            (1, "a4"),
        ] {
            prio.put_nowait(Job { priority, name })
                .map_err(|_| Error::NoRunningLoop)?;
        }
        gather(vec![g1, g2]).await?;
        let rest: Vec<&str> = (0..prio.qsize())
            .map(|_| prio.get_nowait().map_or("?", |job| job.name))
            .collect();
        out(format!("prio rest {}", py_list(&rest)));
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("queue_lifo_priority");
}

/// A `PriorityQueue` is a heap: any sequence of puts comes out sorted.
#[test]
fn a_priority_queue_gives_its_items_smallest_first() {
    let queue = Queue::priority(0);
    let mut state = 12345u64;
    let mut values = Vec::new();
    for _ in 0..500 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let value = (state >> 33) % 50;
        values.push(value);
        assert!(queue.put_nowait(value).is_ok());
    }
    values.sort_unstable();
    let got: Vec<u64> = std::iter::from_fn(|| queue.get_nowait().ok()).collect();
    assert_eq!(got, values);
}
