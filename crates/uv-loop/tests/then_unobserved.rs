//! A `then` whose promise nobody can observe goes back to the spare without settling
//! (src/node/promise.rs, `Derived::run`): only when the program keeps no reference to the
//! derived promise, no reaction waits on it and the handler fulfilled it. Every other derived
//! promise settles as before: one the program holds, one with a reaction whose own promise
//! was dropped, a rejected one (reported when unhandled). A reused object starts pending.

use std::cell::RefCell;
use std::rc::Rc;

use uv_loop::{run, JsError, Promise, RunError};

type Log = Rc<RefCell<Vec<String>>>;

fn log_to(log: &Log, line: impl Into<String>) {
    log.borrow_mut().push(line.into());
}

#[test]
fn a_reaction_on_a_dropped_derived_promise_still_runs() {
    let seen: Log = Rc::default();
    let log = seen.clone();
    let result = run(move || {
        // The middle promise is referenced by nobody but its own job; its reaction (the
        // second `then`) is what observes it.
        let _ = Promise::resolve(1u64)
            .then(|value| value + 1)
            .then(move |value| log_to(&log, format!("second {value}")));
    });
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(*seen.borrow(), ["second 2"]);
}

#[test]
fn a_derived_promise_the_program_keeps_is_fulfilled() {
    let kept: Rc<RefCell<Vec<Promise<u64>>>> = Rc::default();
    let keep = kept.clone();
    let result = run(move || {
        fn step(index: u64, resolved: Promise<()>, keep: Rc<RefCell<Vec<Promise<u64>>>>) {
            if index == 6 {
                return;
            }
            let next = resolved.clone();
            let keep_next = keep.clone();
            // Every other derived promise is kept: the ones in between take the spare.
            let derived = resolved.then(move |()| {
                step(index + 1, next, keep_next);
                index * 10
            });
            if index % 2 == 0 {
                keep.borrow_mut().push(derived);
            }
        }
        step(0, Promise::resolve(()), keep);
    });
    assert!(result.is_ok(), "{result:?}");
    let values: Vec<Option<u64>> = kept
        .borrow()
        .iter()
        .map(|promise| promise.result().and_then(Result::ok))
        .collect();
    assert_eq!(values, [Some(0), Some(20), Some(40)]);
}

#[test]
fn a_promise_reused_after_an_unsettled_recycle_starts_pending() {
    type Kept = Rc<RefCell<Option<Promise<u64>>>>;
    let seen: Log = Rc::default();
    let kept: Kept = Rc::default();
    let (log, keep) = (seen.clone(), kept.clone());
    let result = run(move || {
        fn step(index: u64, resolved: Promise<()>, keep: Kept, log: Log) {
            if index == 4 {
                return;
            }
            let (next, keep_next, log_next) = (resolved.clone(), keep.clone(), log.clone());
            // Dropped at once for 0..3: each goes back unsettled after its handler, and the
            // `then` two steps on takes it again; the last is kept and must settle.
            let derived = resolved.then(move |()| {
                step(index + 1, next, keep_next, log_next);
                index
            });
            log_to(
                &log,
                format!("{index} pending {}", derived.result().is_none()),
            );
            if index == 3 {
                *keep.borrow_mut() = Some(derived);
            }
        }
        step(0, Promise::resolve(()), keep, log);
    });
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        *seen.borrow(),
        [
            "0 pending true",
            "1 pending true",
            "2 pending true",
            "3 pending true"
        ]
    );
    let last = kept
        .borrow_mut()
        .take()
        .and_then(|promise| promise.result());
    assert!(matches!(last, Some(Ok(3))), "{last:?}");
}

#[test]
fn a_dropped_derived_promise_that_rejects_is_unhandled() {
    let result = run(|| {
        let _ = Promise::resolve(())
            .then(|()| ())
            .then_result(|_| Err::<(), _>(JsError::message("nobody listens")));
    });
    match result {
        Err(RunError::UnhandledRejection(error)) => {
            assert_eq!(error.to_string(), "Error: nobody listens")
        }
        other => panic!("expected an unhandled rejection, got {other:?}"),
    }
}

#[test]
fn set_immediate_before_run_creates_the_environment() {
    let lines = std::thread::spawn(|| {
        // No environment on this new thread yet: the first `setImmediate` makes it.
        let seen: Log = Rc::default();
        let (first, log) = (seen.clone(), seen.clone());
        let _ = uv_loop::set_immediate(move || log_to(&first, "immediate"));
        let result = run(move || log_to(&log, "main"));
        assert!(result.is_ok(), "{result:?}");
        let lines = seen.borrow().clone();
        lines
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    assert_eq!(lines, ["main", "immediate"]);
}
