//! Issue 5 points 5 and 6: one FIFO list per duration; an immediate set in a timer runs
//! before a 0 ms timer set there. Fixtures: `timer_lists`, `timer_callback`.

mod common;

use std::time::{Duration, Instant};

use common::{assert_matches_fixture, log, log_exit};
use uv_loop::{run, set_immediate, set_timeout};

fn busy_wait(ms: u64) {
    let end = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < end {}
}

#[test]
fn timer_lists() {
    let result = run(|| {
        set_timeout(|| log("A"), 1);
        set_timeout(|| log("B"), 0);
        set_timeout(|| log("C"), 2);
        set_timeout(|| log("D"), 0);
        busy_wait(10);
    });
    log_exit(&result);
    assert_matches_fixture("timer_lists");
}

#[test]
fn timer_callback() {
    let result = run(|| {
        set_timeout(
            || {
                log("T1");
                set_timeout(|| log("T-inner"), 0);
                set_immediate(|| log("I-inner"));
            },
            0,
        );
    });
    log_exit(&result);
    assert_matches_fixture("timer_callback");
}
