//! Debug mode (issue 4 point 5): a handle or task step that runs for at least
//! `slow_callback_duration` is reported as CPython reports it, "Executing %s took %.3f seconds",
//! and a blocking call inside a coroutine visibly delays a timer. Bands are wide: the lower
//! bounds are guaranteed by the blocking sleep, the upper ones only catch a wedged loop.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use asyncio_loop::{sleep, Error, EventLoop};

/// A loop in debug mode whose reports are collected instead of printed.
fn debug_loop() -> (EventLoop, Rc<RefCell<Vec<String>>>) {
    let event_loop = EventLoop::new();
    event_loop.set_debug(true);
    let reports = Rc::new(RefCell::new(Vec::new()));
    let collected = reports.clone();
    event_loop.set_slow_callback_reporter(move |report| {
        collected.borrow_mut().push(report.to_string());
    });
    (event_loop, reports)
}

/// The seconds in "Executing ... took 0.200 seconds".
fn seconds_taken(report: &str) -> f64 {
    let took = report.rsplit(" took ").next().expect("has ' took '");
    let seconds = took.strip_suffix(" seconds").expect("ends with ' seconds'");
    assert_eq!(seconds.split('.').nth(1).map(str::len), Some(3), "{report}");
    seconds.parse().expect("a number")
}

#[test]
fn a_blocking_call_in_a_coroutine_delays_a_timer_and_is_reported() {
    let (event_loop, reports) = debug_loop();
    assert!(event_loop.get_debug());
    assert_eq!(event_loop.slow_callback_duration(), 0.1);
    let fired_after = Rc::new(Cell::new(f64::NAN));
    let timer_loop = event_loop.clone();
    let fired = fired_after.clone();
    event_loop
        .run_until_complete(async move {
            let started = timer_loop.time();
            let clock = timer_loop.clone();
            timer_loop.call_later(0.05, move || fired.set(clock.time() - started));
            std::thread::sleep(Duration::from_millis(200));
            sleep(0.1).await?;
            Ok::<_, Error>(())
        })
        .expect("main completes");
    let fired_after = fired_after.get();
    assert!(
        (0.2..5.0).contains(&fired_after),
        "timer fired after {fired_after}"
    );
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0].starts_with("Executing <Task pending name='Task-"),
        "{}",
        reports[0]
    );
    assert!((0.2..5.0).contains(&seconds_taken(&reports[0])));
}

#[test]
fn a_slow_callback_is_reported_as_a_handle() {
    let (event_loop, reports) = debug_loop();
    event_loop.call_soon(|| std::thread::sleep(Duration::from_millis(150)));
    event_loop.call_soon(|| {});
    let stopper = event_loop.clone();
    event_loop.call_soon(move || stopper.stop());
    event_loop.run_forever().expect("the loop runs");
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0].starts_with("Executing <Handle "),
        "{}",
        reports[0]
    );
    assert!(reports[0].contains("()> took "), "{}", reports[0]);
    assert!((0.15..5.0).contains(&seconds_taken(&reports[0])));
}

#[test]
fn a_slow_timer_is_reported_as_a_timer_handle() {
    let (event_loop, reports) = debug_loop();
    event_loop.set_slow_callback_duration(0.05);
    let stopper = event_loop.clone();
    event_loop.call_later(0.001, move || {
        std::thread::sleep(Duration::from_millis(60));
        stopper.stop();
    });
    event_loop.run_forever().expect("the loop runs");
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0].starts_with("Executing <TimerHandle when="),
        "{}",
        reports[0]
    );
}

#[test]
fn without_debug_mode_nothing_is_reported() {
    let (event_loop, reports) = debug_loop();
    event_loop.set_debug(false);
    event_loop.call_soon(|| std::thread::sleep(Duration::from_millis(150)));
    let stopper = event_loop.clone();
    event_loop.call_soon(move || stopper.stop());
    event_loop.run_forever().expect("the loop runs");
    assert!(reports.borrow().is_empty());
}
