//! `call_soon_threadsafe` from another OS thread wakes the loop from its blocking wait, as
//! CPython's `_write_to_self` does (`test_base_events.test_call_soon_threadsafe` and friends).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use asyncio_loop::{EventLoop, LoopClosed};

/// Schedules, from the loop's first pass, a signal to `thread`, which then calls
/// `call_soon_threadsafe` with a callback that stops the loop. Returns how long `run_forever`
/// took and whether the callback ran.
fn stop_from_another_thread(event_loop: &EventLoop) -> (Duration, bool) {
    let (loop_running, wait_for_loop) = mpsc::channel();
    event_loop.call_soon(move || loop_running.send(()).expect("the thread waits"));
    let threadsafe = event_loop.threadsafe();
    let ran = Arc::new(AtomicBool::new(false));
    let ran_in_callback = ran.clone();
    let thread = thread::spawn(move || {
        wait_for_loop.recv().expect("the loop signals");
        let scheduled = threadsafe.call_soon_threadsafe(move || {
            ran_in_callback.store(true, Ordering::SeqCst);
            EventLoop::running().expect("runs on the loop").stop();
        });
        assert!(scheduled.is_ok());
    });
    let started = Instant::now();
    event_loop.run_forever().expect("the loop runs");
    let elapsed = started.elapsed();
    thread.join().expect("the thread finishes");
    (elapsed, ran.load(Ordering::SeqCst))
}

#[test]
fn a_callback_from_another_thread_interrupts_a_10_second_timer_wait() {
    let event_loop = EventLoop::new();
    let timer = event_loop.call_later(10.0, || panic!("the 10 s timer must not fire"));
    let (elapsed, ran) = stop_from_another_thread(&event_loop);
    assert!(ran);
    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
    assert!(!timer.cancelled());
    event_loop.close().expect("the loop is stopped");
}

#[test]
fn a_callback_from_another_thread_interrupts_a_wait_with_no_timer() {
    let event_loop = EventLoop::new();
    let (elapsed, ran) = stop_from_another_thread(&event_loop);
    assert!(ran);
    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
}

#[test]
fn a_closed_loop_gives_the_callback_back() {
    let event_loop = EventLoop::new();
    let threadsafe = event_loop.threadsafe();
    event_loop.close().expect("the loop is not running");
    let refused =
        thread::spawn(move || matches!(threadsafe.call_soon_threadsafe(|| {}), Err(LoopClosed(_))));
    assert!(refused.join().expect("the thread finishes"));
}
