//! `stop()` collects every thread's events, from threads alive or exited, sorted by time.

use std::collections::BTreeMap;
use std::sync::{mpsc, Mutex, MutexGuard, PoisonError};
use std::thread;

use probe::trace::{self, Event, EventKind};

/// The tests in this file share the process-wide recording; they take turns.
fn one_recording_at_a_time() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(PoisonError::into_inner)
}

fn record_tasks(first_task: u64, count: u64) {
    for task in first_task..first_task + count {
        if trace::enabled() {
            trace::record(EventKind::Spawn { task, parent: None });
        }
    }
}

#[test]
fn events_of_three_exited_threads_are_all_collected() {
    let _turn = one_recording_at_a_time();
    trace::start();
    let workers: Vec<_> = (0..3u64)
        .map(|worker| thread::spawn(move || record_tasks(worker * 1000, 100)))
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let events = trace::stop();

    assert_eq!(events.len(), 300);
    assert!(events.windows(2).all(|pair| pair[0].ts_ns <= pair[1].ts_ns));
    let mut tasks_by_thread: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    for event in &events {
        let EventKind::Spawn { task, .. } = event.kind else {
            panic!("unexpected event {event:?}");
        };
        tasks_by_thread.entry(event.thread).or_default().push(task);
    }
    assert_eq!(tasks_by_thread.len(), 3, "three distinct thread ids");
    let mut blocks: Vec<Vec<u64>> = tasks_by_thread.into_values().collect();
    blocks.sort();
    for (worker, tasks) in (0..3u64).zip(blocks) {
        let expected: Vec<u64> = (worker * 1000..worker * 1000 + 100).collect();
        assert_eq!(
            tasks, expected,
            "each thread's events in the order it recorded them"
        );
    }
}

#[test]
fn events_of_a_live_thread_are_collected_and_it_keeps_its_id() {
    let _turn = one_recording_at_a_time();
    let (to_worker, from_main) = mpsc::channel::<Option<u64>>();
    let (to_main, from_worker) = mpsc::channel::<()>();
    let worker = thread::spawn(move || {
        while let Ok(Some(task)) = from_main.recv() {
            record_tasks(task, 1);
            to_main.send(()).unwrap();
        }
    });

    trace::start();
    to_worker.send(Some(1)).unwrap();
    from_worker.recv().unwrap();
    let first: Vec<Event> = trace::stop();

    trace::start();
    to_worker.send(Some(2)).unwrap();
    from_worker.recv().unwrap();
    let second: Vec<Event> = trace::stop();

    to_worker.send(None).unwrap();
    worker.join().unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(second.len(), 1);
    assert_eq!(first[0].thread, second[0].thread);
    assert_eq!(
        second[0].kind,
        EventKind::Spawn {
            task: 2,
            parent: None
        }
    );
}

#[test]
fn start_discards_the_previous_recording() {
    let _turn = one_recording_at_a_time();
    trace::start();
    thread::spawn(|| record_tasks(1, 5)).join().unwrap();
    record_tasks(6, 5);
    trace::start();
    record_tasks(11, 1);
    let events = trace::stop();
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].kind,
        EventKind::Spawn {
            task: 11,
            parent: None
        }
    );
}
