//! Uncaught errors and unhandled rejections end the run as Node's defaults end the process.
//! Fixtures: `uncaught_error`, `unhandled_rejection`, `handled_later`.

mod common;

use common::{assert_matches_fixture, log, log_exit};
use uv_loop::{next_tick, run, set_immediate, set_timeout, throw, JsError, Promise, RunError};

#[test]
fn uncaught_error() {
    let result = run(|| {
        set_timeout(
            || {
                log("timer");
                next_tick(|| log("never-tick"));
                throw(JsError::message("boom"));
            },
            0,
        );
        set_immediate(|| log("immediate"));
    });
    match &result {
        Err(RunError::Uncaught(error)) => assert_eq!(error.to_string(), "Error: boom"),
        other => panic!("expected an uncaught error, got {other:?}"),
    }
    log_exit(&result);
    assert_matches_fixture("uncaught_error");
}

#[test]
fn unhandled_rejection() {
    let result = run(|| {
        let _ = Promise::<()>::reject(JsError::message("nope"));
        next_tick(|| log("tick"));
        Promise::resolve(()).then(|()| log("then"));
        set_timeout(|| log("never-timeout"), 0);
    });
    match &result {
        Err(RunError::UnhandledRejection(error)) => assert_eq!(error.to_string(), "Error: nope"),
        other => panic!("expected an unhandled rejection, got {other:?}"),
    }
    log_exit(&result);
    assert_matches_fixture("unhandled_rejection");
}

#[test]
fn handled_later() {
    let result = run(|| {
        let promise = Promise::<()>::reject(JsError::message("late"));
        next_tick(move || {
            promise.catch(|_| log("caught"));
        });
        set_timeout(|| log("timeout"), 0);
    });
    log_exit(&result);
    assert_matches_fixture("handled_later");
}

#[test]
fn panic_is_reported_and_the_next_run_starts_fresh() {
    let result = run(|| {
        set_immediate(|| panic!("rust panic"));
        set_timeout(|| log("after-panic"), 50);
    });
    match result {
        Err(RunError::Panic(message)) => assert_eq!(message, "rust panic"),
        other => panic!("expected a panic report, got {other:?}"),
    }
    let ran = std::rc::Rc::new(std::cell::Cell::new(0));
    let counter = ran.clone();
    let second = run(move || {
        set_timeout(move || counter.set(counter.get() + 1), 1);
    });
    assert!(second.is_ok());
    assert_eq!(
        ran.get(),
        1,
        "the second run has its own loop and ran its timer only"
    );
}

#[test]
fn nested_run_is_refused() {
    let inner = std::rc::Rc::new(std::cell::RefCell::new(None));
    let slot = inner.clone();
    let result = run(move || {
        *slot.borrow_mut() = Some(run(|| {}));
    });
    assert!(result.is_ok());
    assert!(matches!(
        inner.borrow_mut().take(),
        Some(Err(RunError::AlreadyRunning))
    ));
}
