//! libuv's loop: alive/ref/unref, run modes, watcher counts, close, async and the thread
//! pool (after test/test-loop-alive.c, test-run-once.c, test-run-nowait.c,
//! test-loop-handles.c, test-async.c, test-threadpool.c).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use uv_loop::uv::{
    AsyncHandle, CheckHandle, HandleClosed, IdleHandle, Loop, LoopBusy, LoopOptions, PrepareHandle,
    RunMode, TimerHandle,
};

fn counter() -> (Rc<Cell<u32>>, impl Fn() + Clone) {
    let count = Rc::new(Cell::new(0));
    let inner = count.clone();
    (count, move || inner.set(inner.get() + 1))
}

/// test-loop-alive.c: a fresh loop is not alive; an active timer makes it alive; unref
/// takes that back.
#[test]
fn loop_alive_ref_unref() {
    let event_loop = Loop::new().expect("loop");
    assert!(!event_loop.alive());
    let timer = TimerHandle::new(&event_loop);
    assert!(!event_loop.alive(), "an inactive handle does not count");
    timer.start(|| {}, 100, 0).expect("start");
    assert!(event_loop.alive());
    timer.unref();
    assert!(!event_loop.alive());
    assert!(
        !event_loop.run(RunMode::Default),
        "unreferenced timer: run returns at once"
    );
    timer.ref_();
    assert!(event_loop.alive());
    timer.stop();
    assert!(!event_loop.alive());
}

/// test-run-nowait.c: NOWAIT does not block for a far timer; test-run-once.c: ONCE blocks
/// until the timer fires.
#[test]
fn run_nowait_and_once() {
    let event_loop = Loop::new().expect("loop");
    let timer = TimerHandle::new(&event_loop);
    let (count, bump) = counter();
    timer.start(bump.clone(), 100, 100).expect("start");
    assert!(event_loop.run(RunMode::NoWait));
    assert_eq!(count.get(), 0);
    timer.start(bump, 5, 0).expect("restart");
    let alive = event_loop.run(RunMode::Once);
    assert_eq!(count.get(), 1);
    assert!(!alive);
}

/// Each phase runs its watchers once per iteration; idle keeps poll from blocking; newest
/// started runs first.
#[test]
fn watchers_once_per_iteration_newest_first() {
    let event_loop = Loop::new().expect("loop");
    let order = Rc::new(RefCell::new(Vec::new()));
    let idle = IdleHandle::new(&event_loop);
    let prepare = PrepareHandle::new(&event_loop);
    let check_a = CheckHandle::new(&event_loop);
    let check_b = CheckHandle::new(&event_loop);
    let iterations = Rc::new(Cell::new(0));
    {
        let order = order.clone();
        let iterations = iterations.clone();
        let handles = (
            idle.clone(),
            prepare.clone(),
            check_a.clone(),
            check_b.clone(),
        );
        idle.start(move || {
            order.borrow_mut().push("idle");
            iterations.set(iterations.get() + 1);
            if iterations.get() == 3 {
                handles.0.stop();
                handles.1.stop();
                handles.2.stop();
                handles.3.stop();
            }
        })
        .expect("idle");
    }
    for (handle, name) in [(&check_a, "check-a"), (&check_b, "check-b")] {
        let order = order.clone();
        handle
            .start(move || order.borrow_mut().push(name))
            .expect("check");
    }
    {
        let order = order.clone();
        prepare
            .start(move || order.borrow_mut().push("prepare"))
            .expect("prepare");
    }
    assert!(!event_loop.run(RunMode::Default));
    let expected: Vec<&str> = ["idle", "prepare", "check-b", "check-a"]
        .iter()
        .cycle()
        .take(8)
        .copied()
        .chain(["idle"])
        .collect();
    assert_eq!(*order.borrow(), expected);
}

/// A handle started during its own phase waits for the next iteration.
#[test]
fn check_started_in_check_waits() {
    let event_loop = Loop::new().expect("loop");
    let first = CheckHandle::new(&event_loop);
    let second = CheckHandle::new(&event_loop);
    let (count, bump) = counter();
    let (first_runs, first_bump) = counter();
    {
        let second = second.clone();
        let first_handle = first.clone();
        first
            .start(move || {
                first_bump();
                let bump = bump.clone();
                let second_handle = second.clone();
                let _ = second.start(move || {
                    bump();
                    second_handle.stop();
                });
                first_handle.stop();
            })
            .expect("start");
    }
    let timer = TimerHandle::new(&event_loop);
    timer
        .start(|| {}, 0, 0)
        .expect("timer keeps one more iteration");
    event_loop.run(RunMode::Once);
    assert_eq!((first_runs.get(), count.get()), (1, 0));
    event_loop.run(RunMode::NoWait);
    assert_eq!(count.get(), 1);
}

/// uv_close: close callbacks run in the closing phase, last closed first; the loop stays
/// alive until then; a closed handle refuses to start; close needs all handles closed.
#[test]
fn close_order_and_errors() {
    let event_loop = Loop::new().expect("loop");
    let a = TimerHandle::new(&event_loop);
    let b = IdleHandle::new(&event_loop);
    a.start(|| {}, 1000, 0).expect("start");
    assert_eq!(event_loop.close(), Err(LoopBusy));
    let order = Rc::new(RefCell::new(Vec::new()));
    for (name, result) in [
        ("a", {
            let order = order.clone();
            a.close(move || order.borrow_mut().push("a"))
        }),
        ("b", {
            let order = order.clone();
            b.close(move || order.borrow_mut().push("b"))
        }),
    ] {
        assert!(result.is_ok(), "{name}");
    }
    assert!(event_loop.alive(), "closing handles keep the loop alive");
    assert_eq!(a.close(|| {}), Err(HandleClosed));
    assert!(!event_loop.run(RunMode::Default));
    assert_eq!(*order.borrow(), ["b", "a"]);
    assert_eq!(a.start(|| {}, 1, 0), Err(HandleClosed));
    assert_eq!(event_loop.close(), Ok(()));
}

/// test-async.c: sends from another thread run the callback on the loop thread; sends
/// before it runs are coalesced.
#[test]
fn async_send_from_threads() {
    let event_loop = Loop::new().expect("loop");
    let calls = Rc::new(Cell::new(0));
    let seen = calls.clone();
    let handle_slot: Rc<RefCell<Option<AsyncHandle>>> = Rc::new(RefCell::new(None));
    let slot = handle_slot.clone();
    let sent = Arc::new(AtomicUsize::new(0));
    let handle = AsyncHandle::new(&event_loop, move || {
        seen.set(seen.get() + 1);
        if let Some(handle) = slot.borrow().as_ref() {
            let _ = handle.close(|| {});
        }
    });
    *handle_slot.borrow_mut() = Some(handle.clone());
    let sender = handle.sender();
    let barrier = Arc::new(Barrier::new(2));
    let thread = {
        let barrier = barrier.clone();
        let sent = sent.clone();
        std::thread::spawn(move || {
            barrier.wait();
            for _ in 0..1000 {
                sender.send();
                sent.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    barrier.wait();
    event_loop.run(RunMode::Default);
    thread.join().expect("sender thread");
    assert_eq!(calls.get(), 1, "coalesced into one call, then closed");
    assert_eq!(sent.load(Ordering::Relaxed), 1000);
    handle_slot.borrow_mut().take();
}

/// test-threadpool.c: work runs off the loop thread; after_work runs on it; the request
/// keeps the loop alive.
#[test]
fn queue_work_runs_off_thread() {
    let event_loop = Loop::with_options(LoopOptions {
        threadpool_size: Some(2),
    })
    .expect("loop");
    let loop_thread = std::thread::current().id();
    let results = Rc::new(RefCell::new(Vec::new()));
    for i in 0..10u64 {
        let results = results.clone();
        event_loop.queue_work(
            move || (i * i, std::thread::current().id()),
            move |(square, worker)| {
                assert_eq!(std::thread::current().id(), loop_thread);
                assert_ne!(worker, loop_thread);
                results.borrow_mut().push(square);
            },
        );
    }
    assert!(event_loop.alive());
    assert!(!event_loop.run(RunMode::Default));
    let mut squares = results.borrow().clone();
    squares.sort_unstable();
    assert_eq!(squares, (0..10).map(|i| i * i).collect::<Vec<_>>());
    assert_eq!(event_loop.threadpool_size(), 2);
}
