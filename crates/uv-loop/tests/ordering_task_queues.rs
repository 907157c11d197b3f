//! Issue 5 points 2, 3 and 7: nextTick before promise jobs, the drain loop, `await null`.
//! Fixtures: `top_level`, `tick_promise_nesting`, `await_null` in peers/node/orderings.js.

mod common;

use common::{assert_matches_fixture, log, log_exit};
use uv_loop::{call_async, next_tick, queue_microtask, run, set_immediate, set_timeout, Promise};

#[test]
fn top_level() {
    let result = run(|| {
        log("sync");
        set_timeout(|| log("timeout"), 0);
        set_immediate(|| log("immediate"));
        next_tick(|| log("nextTick"));
        Promise::resolve(()).then(|()| log("promise"));
        queue_microtask(|| log("queueMicrotask"));
        log("sync-end");
    });
    log_exit(&result);
    assert_matches_fixture("top_level");
}

#[test]
fn tick_promise_nesting() {
    let result = run(|| {
        Promise::resolve(()).then(|()| {
            log("p1");
            next_tick(|| log("tick-from-p1"));
        });
        next_tick(|| {
            log("t1");
            Promise::resolve(()).then(|()| log("p-from-t1"));
            next_tick(|| log("t-from-t1"));
        });
        Promise::resolve(()).then(|()| log("p2"));
        next_tick(|| log("t2"));
    });
    log_exit(&result);
    assert_matches_fixture("tick_promise_nesting");
}

#[test]
fn await_null() {
    let result = run(|| {
        call_async(async {
            log("a start");
            Promise::resolve(()).await?;
            log("a after await");
            Ok(())
        });
        Promise::resolve(())
            .then(|()| log("then1"))
            .then(|()| log("then2"));
        next_tick(|| log("tick"));
        log("end");
    });
    log_exit(&result);
    assert_matches_fixture("await_null");
}
