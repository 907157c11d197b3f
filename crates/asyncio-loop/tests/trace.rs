//! Tracing through probe: a task's creation, each step as a run on the loop's thread, each
//! wake-up with the task that caused it, and the select waits as a phase. One test in this
//! binary: a recording is process-wide.

use asyncio_loop::{run, sleep, Error, EventLoop, Queue};
use probe::trace::{self, EventKind};

#[test]
fn steps_wakes_spawns_and_selects_are_recorded() {
    trace::start();
    let outcome = run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let queue = Queue::<u32>::new(0);
        let consumer_queue = queue.clone();
        let consumer = event_loop.create_task(async move { consumer_queue.get().await });
        sleep(0.0).await?;
        queue.put(7).await?;
        sleep(0.001).await?;
        consumer.await
    });
    let events = trace::stop();
    assert_eq!(outcome.ok(), Some(7));

    let spawned: Vec<(u64, Option<u64>)> = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Spawn { task, parent } => Some((task, parent)),
            _ => None,
        })
        .collect();
    // Then asyncio.run's two shutdown runs, each a task of its own.
    let (main, consumer) = match spawned.as_slice() {
        [(main, None), (consumer, Some(parent)), (_, None), (_, None)] if parent == main => {
            (*main, *consumer)
        }
        other => panic!("spawns {other:?}"),
    };
    let runs = |task| {
        events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::RunBegin { task: t, .. } if t == task))
            .count()
    };
    let ends = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::RunEnd { .. }))
        .count();
    let begins = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::RunBegin { .. }))
        .count();
    assert_eq!(begins, ends, "every run ends");

    assert_eq!(
        runs(consumer),
        2,
        "the consumer: its first step, then the wake-up by put"
    );
    assert!(
        events.iter().any(|e| matches!(
            e.kind,
            EventKind::Wake { task, by: Some(by) } if task == consumer && by == main
        )),
        "main's put woke the consumer"
    );
    let selects = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::PhaseEnter { name: "select" }))
        .count();
    assert!(selects >= 3, "{selects} selects");
    assert!(
        events.iter().all(|e| e.thread == events[0].thread),
        "one thread"
    );
}
