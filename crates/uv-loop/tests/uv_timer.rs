//! libuv's own timer tests, ported from libuv test/test-timer.c (`timer_order`) and
//! test/test-timer-from-check.c (issue 5 point 10). The expected values are those tests'
//! assertions.

use std::cell::RefCell;
use std::rc::Rc;

use uv_loop::uv::{CheckHandle, Loop, PrepareHandle, RunMode, TimerHandle};

type Log = Rc<RefCell<Vec<&'static str>>>;

fn recorder() -> (Log, impl Fn(&'static str) -> Box<dyn Fn()>) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let sink = log.clone();
    let make = move |name: &'static str| -> Box<dyn Fn()> {
        let sink = sink.clone();
        Box::new(move || sink.borrow_mut().push(name))
    };
    (log, make)
}

/// test-timer.c `timer_order`: equal timeouts fire in start order, and in reverse when
/// started in reverse.
#[test]
fn timer_order() {
    let event_loop = Loop::new().expect("loop");
    let first = TimerHandle::new(&event_loop);
    let second = TimerHandle::new(&event_loop);
    let (log, make) = recorder();

    first.start(make("first"), 0, 0).expect("start");
    second.start(make("second"), 0, 0).expect("start");
    assert!(!event_loop.run(RunMode::Default));
    assert_eq!(*log.borrow(), ["first", "second"]);

    log.borrow_mut().clear();
    second.start(make("second"), 0, 0).expect("start");
    first.start(make("first"), 0, 0).expect("start");
    assert!(!event_loop.run(RunMode::Default));
    assert_eq!(*log.borrow(), ["second", "first"]);
}

/// test-timer-from-check.c: a check callback restarts the timer and starts a prepare
/// handle; the prepare callback runs (next iteration) before the timer fires.
#[test]
fn timer_from_check() {
    let event_loop = Loop::new().expect("loop");
    let prepare = PrepareHandle::new(&event_loop);
    let check = CheckHandle::new(&event_loop);
    let timer = TimerHandle::new(&event_loop);
    let events: Rc<RefCell<Vec<&'static str>>> = Rc::new(RefCell::new(Vec::new()));
    let timer_cb = {
        let events = events.clone();
        let timer = timer.clone();
        Rc::new(move || {
            timer.stop();
            events.borrow_mut().push("timer");
        })
    };
    let prepare_cb = {
        let events = events.clone();
        let prepare = prepare.clone();
        Rc::new(move || {
            prepare.stop();
            events.borrow_mut().push("prepare");
        })
    };
    {
        let events = events.clone();
        let (check_handle, timer, prepare) = (check.clone(), timer.clone(), prepare.clone());
        let (timer_cb, prepare_cb) = (timer_cb.clone(), prepare_cb.clone());
        check
            .start(move || {
                events.borrow_mut().push("check");
                check_handle.stop();
                let timer_cb = timer_cb.clone();
                let prepare_cb = prepare_cb.clone();
                timer.start(move || timer_cb(), 50, 0).expect("timer");
                prepare.start(move || prepare_cb()).expect("prepare");
            })
            .expect("check");
    }
    let first = timer_cb.clone();
    timer.start(move || first(), 50, 0).expect("timer");
    assert!(!event_loop.run(RunMode::Default));
    assert_eq!(*events.borrow(), ["check", "prepare", "timer"]);
}

/// test-timer.c `timer_start_twice` and `timer_again` basics: a restart replaces the first
/// start; `again` on a non-repeating timer does nothing.
#[test]
fn timer_start_twice_and_again() {
    let event_loop = Loop::new().expect("loop");
    let timer = TimerHandle::new(&event_loop);
    let (log, make) = recorder();
    timer.start(make("never"), 100_000, 0).expect("start");
    timer.start(make("fired"), 10, 0).expect("restart");
    assert!(!event_loop.run(RunMode::Default));
    assert_eq!(*log.borrow(), ["fired"]);
    timer.again().expect("again");
    assert!(!timer.is_active(), "again without repeat leaves it stopped");
}

/// A repeating timer re-arms before its callback runs (uv_timer_again in uv__run_timers).
#[test]
fn repeating_timer_counts() {
    let event_loop = Loop::new().expect("loop");
    let timer = TimerHandle::new(&event_loop);
    let count = Rc::new(std::cell::Cell::new(0));
    let seen = count.clone();
    let handle = timer.clone();
    timer
        .start(
            move || {
                assert!(handle.is_active(), "re-armed before the callback");
                seen.set(seen.get() + 1);
                if seen.get() == 5 {
                    handle.stop();
                }
            },
            1,
            1,
        )
        .expect("start");
    assert!(!event_loop.run(RunMode::Default));
    assert_eq!(count.get(), 5);
}
