//! Issue 5 points 1, 4 and 8: callbacks from an fs callback (poll phase): immediates before
//! timers, ticks and microtasks between each; an immediate chain does not starve I/O; a
//! nextTick chain holds back a timer. Fixtures: `fs_callback`, `io_timers_immediates`,
//! `immediate_no_starvation`, `tick_starvation`.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use common::{assert_matches_fixture, log, log_exit};
use uv_loop::{fs, next_tick, run, set_immediate, set_timeout, Promise};

const THIS_FILE: &str = file!();

fn this_file() -> String {
    format!("{}/../../{THIS_FILE}", env!("CARGO_MANIFEST_DIR"))
}

fn busy_wait(ms: u64) {
    let end = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < end {}
}

#[test]
fn fs_callback() {
    let result = run(|| {
        fs::stat(this_file(), |_| {
            set_timeout(|| log("timeout"), 0);
            set_immediate(|| log("immediate"));
            next_tick(|| log("nextTick"));
        });
    });
    log_exit(&result);
    assert_matches_fixture("fs_callback");
}

#[test]
fn io_timers_immediates() {
    let result = run(|| {
        fs::stat(this_file(), |_| {
            set_timeout(
                || {
                    log("t1");
                    next_tick(|| log("n1"));
                    Promise::resolve(()).then(|()| log("p1"));
                },
                0,
            );
            set_timeout(
                || {
                    log("t2");
                    Promise::resolve(()).then(|()| log("p2"));
                },
                0,
            );
            set_immediate(|| {
                log("i1");
                next_tick(|| log("in1"));
                Promise::resolve(()).then(|()| log("ip1"));
                set_immediate(|| log("i3-nested"));
            });
            set_immediate(|| log("i2"));
            busy_wait(2);
        });
    });
    log_exit(&result);
    assert_matches_fixture("io_timers_immediates");
}

#[test]
fn immediate_no_starvation() {
    fn step(done: Rc<Cell<bool>>, count: Rc<Cell<u64>>) {
        count.set(count.get() + 1);
        if done.get() {
            log("chain-stopped");
            return;
        }
        if count.get() > 1_000_000 {
            log("starved");
            return;
        }
        set_immediate(move || step(done, count));
    }
    let result = run(|| {
        let done = Rc::new(Cell::new(false));
        let count = Rc::new(Cell::new(0));
        let flag = done.clone();
        fs::stat(this_file(), move |_| {
            flag.set(true);
            log("stat");
        });
        set_immediate(move || step(done, count));
    });
    log_exit(&result);
    assert_matches_fixture("immediate_no_starvation");
}

#[test]
fn tick_starvation() {
    fn tick(n: Rc<Cell<u64>>) {
        n.set(n.get() + 1);
        if n.get() < 100_000 {
            next_tick(move || tick(n));
        } else {
            log(format!("ticks-done {}", n.get()));
        }
    }
    let result = run(|| {
        set_timeout(|| log("timeout"), 0);
        let n = Rc::new(Cell::new(0));
        next_tick(move || tick(n));
    });
    log_exit(&result);
    assert_matches_fixture("tick_starvation");
}
