//! AbortController, AbortSignal and timers/promises by behaviour, as Node 20 shows them
//! (`node -e` with the same programs; the orderings are also in tests/ordering_abort.rs).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use uv_loop::{
    run, set_immediate_promise, set_timeout, set_timeout_promise, AbortController, AbortError,
    AbortSignal, DomException, JsError, Promise, TimerOptions,
};

type Log = Rc<RefCell<Vec<String>>>;

fn new_log() -> Log {
    Rc::default()
}

fn push(log: &Log, line: impl Into<String>) {
    log.borrow_mut().push(line.into());
}

/// A listener that logs `line`.
fn logs(log: &Log, line: &'static str) -> impl FnOnce(&AbortSignal) + 'static {
    let log = log.clone();
    move |_| push(&log, line)
}

fn dom_exception(error: &JsError) -> &DomException {
    error
        .get()
        .downcast_ref::<DomException>()
        .unwrap_or_else(|| panic!("not a DOMException: {error}"))
}

fn with_signal(signal: &AbortSignal) -> TimerOptions {
    TimerOptions {
        signal: Some(signal.clone()),
        ..TimerOptions::default()
    }
}

/// Where a promise's outcome lands.
type Outcome<T> = Rc<RefCell<Option<Result<T, JsError>>>>;

/// What a promise settled with, once the run is over.
fn outcome<T: Clone + 'static>(promise: &Promise<T>) -> Outcome<T> {
    let slot: Outcome<T> = Rc::default();
    let out = slot.clone();
    promise.then_result(move |result| {
        *out.borrow_mut() = Some(result);
        Ok(())
    });
    slot
}

#[test]
fn abort_runs_listeners_at_once_in_order_and_once() {
    let log = new_log();
    let controller = AbortController::new();
    let signal = controller.signal();
    assert!(!signal.aborted());
    assert!(signal.reason().is_none());
    assert!(signal.throw_if_aborted().is_ok());
    for line in ["first", "second", "third"] {
        signal.add_event_listener(logs(&log, line));
    }
    let seen = log.clone();
    signal.add_event_listener(move |signal| {
        push(&seen, format!("aborted inside: {}", signal.aborted()));
    });
    controller.abort(None);
    push(&log, "after abort");
    controller.abort(Some(JsError::message("second reason")));
    assert!(signal
        .reason()
        .is_some_and(|r| r.get().is::<DomException>()));
    signal.add_event_listener(logs(&log, "added after abort"));
    controller.abort(None);
    assert_eq!(
        *log.borrow(),
        [
            "first",
            "second",
            "third",
            "aborted inside: true",
            "after abort"
        ]
    );
    let reason = signal.reason().expect("a reason once aborted");
    assert_eq!(dom_exception(&reason).name(), "AbortError");
    assert_eq!(
        dom_exception(&reason).message(),
        "This operation was aborted"
    );
    assert_eq!(reason.to_string(), "AbortError: This operation was aborted");
    let thrown = signal.throw_if_aborted().expect_err("aborted");
    assert_eq!(thrown.to_string(), reason.to_string());
}

#[test]
fn abort_keeps_the_given_reason() {
    let controller = AbortController::new();
    controller.abort(Some(JsError::message("why")));
    let reason = controller.signal().reason().expect("aborted");
    assert_eq!(reason.error_message(), "why");
    let already = AbortSignal::abort(Some(JsError::message("before")));
    assert!(already.aborted());
    assert_eq!(
        already.reason().map(|r| r.error_message()).as_deref(),
        Some("before")
    );
    let default = AbortSignal::abort(None);
    assert_eq!(
        default.reason().map(|r| r.to_string()).as_deref(),
        Some("AbortError: This operation was aborted")
    );
}

/// Node's EventTarget walks a linked list, reading the next listener before each call:
/// checked with node 20 (`addEventListener` / `removeEventListener` inside listeners).
#[test]
fn listeners_removed_or_added_during_the_dispatch() {
    // Removed before the abort, or by an earlier listener: never runs.
    let log = new_log();
    let controller = AbortController::new();
    let signal = controller.signal();
    let removed_early = signal.add_event_listener(logs(&log, "removed early"));
    let victim: Rc<RefCell<Option<uv_loop::AbortListener>>> = Rc::default();
    let (slot, seen) = (victim.clone(), log.clone());
    signal.add_event_listener(move |signal| {
        push(&seen, "B1");
        if let Some(victim) = slot.borrow().as_ref() {
            signal.remove_event_listener(victim);
        }
        signal.add_event_listener(logs(&seen, "added by B1"));
    });
    *victim.borrow_mut() = Some(signal.add_event_listener(logs(&log, "removed by B1")));
    signal.add_event_listener(logs(&log, "B3"));
    signal.remove_event_listener(&removed_early);
    AbortController::new()
        .signal()
        .remove_event_listener(&removed_early);
    controller.abort(None);
    assert_eq!(*log.borrow(), ["B1", "B3", "added by B1"]);

    // Added by the last listener: the walk has already ended.
    let log = new_log();
    let controller = AbortController::new();
    let seen = log.clone();
    controller.signal().add_event_listener(move |signal| {
        push(&seen, "A1");
        signal.add_event_listener(logs(&seen, "added by the last"));
    });
    controller.abort(None);
    assert_eq!(*log.borrow(), ["A1"]);

    // The last listener removed, then one appended: the walk follows the removed one's link.
    let log = new_log();
    let controller = AbortController::new();
    let signal = controller.signal();
    let last: Rc<RefCell<Option<uv_loop::AbortListener>>> = Rc::default();
    let (slot, seen) = (last.clone(), log.clone());
    signal.add_event_listener(move |signal| {
        push(&seen, "L1");
        if let Some(last) = slot.borrow().as_ref() {
            signal.remove_event_listener(last);
        }
        signal.add_event_listener(logs(&seen, "appended after the removed last"));
    });
    *last.borrow_mut() = Some(signal.add_event_listener(logs(&log, "L2")));
    controller.abort(None);
    assert_eq!(*log.borrow(), ["L1"]);
}

#[test]
fn listeners_are_dropped_when_removed_and_after_the_abort() {
    let controller = AbortController::new();
    let signal = controller.signal();
    let token = Rc::new(());
    let held = token.clone();
    let listener = signal.add_event_listener(move |_| drop(held));
    signal.remove_event_listener(&listener);
    assert_eq!(Rc::strong_count(&token), 1, "a removed listener is dropped");
    let held = token.clone();
    let own = signal.clone();
    signal.add_event_listener(move |_| {
        let _ = (&held, &own);
    });
    controller.abort(None);
    assert_eq!(Rc::strong_count(&token), 1, "listeners go after the abort");
    let held = token.clone();
    signal.add_event_listener(move |_| drop(held));
    assert_eq!(
        Rc::strong_count(&token),
        1,
        "a listener added late is not kept"
    );
}

#[test]
fn any_follows_the_first_source_to_abort() {
    let log = new_log();
    let (a, b) = (AbortController::new(), AbortController::new());
    let any = AbortSignal::any(&[a.signal(), b.signal(), a.signal()]);
    let any_of_any = AbortSignal::any(&[any.clone(), AbortController::new().signal()]);
    a.signal().add_event_listener(logs(&log, "a"));
    any_of_any.add_event_listener(logs(&log, "any of any"));
    any.add_event_listener(logs(&log, "any"));
    b.signal().add_event_listener(logs(&log, "b"));
    a.abort(Some(JsError::message("ra")));
    b.abort(Some(JsError::message("rb")));
    // Node: a's listeners, then its dependants in the order they were made, each once.
    assert_eq!(*log.borrow(), ["a", "any", "any of any", "b"]);
    for signal in [&any, &any_of_any] {
        assert_eq!(
            signal.reason().map(|r| r.error_message()).as_deref(),
            Some("ra")
        );
    }

    // A composite source is flattened: `any of any` depends on `a` itself, after `mid`.
    let log = new_log();
    let a = AbortController::new();
    let any = AbortSignal::any(&[a.signal()]);
    let mid = AbortSignal::any(&[a.signal()]);
    let any_of_any = AbortSignal::any(std::slice::from_ref(&any));
    any.add_event_listener(logs(&log, "any"));
    mid.add_event_listener(logs(&log, "mid"));
    any_of_any.add_event_listener(logs(&log, "any of any"));
    a.abort(None);
    assert_eq!(*log.borrow(), ["any", "mid", "any of any"]);

    let pre = AbortSignal::any(&[
        AbortController::new().signal(),
        AbortSignal::abort(Some(JsError::message("pre"))),
    ]);
    assert_eq!(
        pre.reason().map(|r| r.error_message()).as_deref(),
        Some("pre")
    );
    let empty = AbortSignal::any(&[]);
    assert!(!empty.aborted());
}

#[test]
fn timeout_aborts_with_a_timeout_error_and_does_not_hold_the_loop() {
    let fired = Rc::new(Cell::new(None));
    let seen = fired.clone();
    let started = Instant::now();
    let result = run(move || {
        let signal = AbortSignal::timeout(20);
        signal
            .add_event_listener(move |signal| seen.set(Some((started.elapsed(), signal.reason()))));
        // The promise timer holds the loop until the signal clears it.
        let _ = set_timeout_promise(10_000, (), with_signal(&signal)).catch(|_| ());
    });
    assert!(result.is_ok(), "{result:?}");
    let (elapsed, reason) = fired.take().expect("the timeout signal aborted");
    assert!(
        elapsed >= Duration::from_millis(19),
        "fired after {elapsed:?}"
    );
    let reason = reason.expect("a reason");
    assert_eq!(dom_exception(&reason).name(), "TimeoutError");
    assert_eq!(
        reason.to_string(),
        "TimeoutError: The operation was aborted due to timeout"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the cleared timer held the loop"
    );

    let fired = Rc::new(Cell::new(false));
    let seen = fired.clone();
    let started = Instant::now();
    run(move || {
        AbortSignal::timeout(10_000).add_event_listener(move |_| seen.set(true));
    })
    .expect("run");
    assert!(!fired.get());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "an AbortSignal.timeout held the loop"
    );
}

#[test]
fn promise_timers_resolve_with_their_value() {
    let log = new_log();
    let (timer_log, immediate_log) = (log.clone(), log.clone());
    let started = Instant::now();
    run(move || {
        let signal = AbortController::new().signal();
        set_timeout_promise(10, "timer", with_signal(&signal)).then(move |v| push(&timer_log, v));
        set_immediate_promise("immediate", TimerOptions::default())
            .then(move |v| push(&immediate_log, v));
    })
    .expect("run");
    // Under load the 10 ms timer may be due before the first check phase, in Node too.
    let mut seen = log.borrow().clone();
    seen.sort_unstable();
    assert_eq!(seen, ["immediate", "timer"]);
    assert!(started.elapsed() >= Duration::from_millis(9));
}

#[test]
fn an_abort_rejects_with_an_abort_error_caused_by_the_reason_and_clears_the_timer() {
    let results = Rc::new(RefCell::new(Vec::new()));
    let out = results.clone();
    let started = Instant::now();
    let result = run(move || {
        let controller = AbortController::new();
        let timer = set_timeout_promise(10_000, 1, with_signal(&controller.signal()));
        let immediate = set_immediate_promise(2, with_signal(&controller.signal()));
        out.borrow_mut().push(outcome(&timer));
        out.borrow_mut().push(outcome(&immediate));
        Promise::resolve(()).then(move |()| controller.abort(Some(JsError::message("stop"))));
    });
    assert!(result.is_ok(), "{result:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the aborted timer was not cleared"
    );
    for slot in results.borrow().iter() {
        let error = match slot.borrow_mut().take() {
            Some(Err(error)) => error,
            other => panic!("expected a rejection, got {other:?}"),
        };
        assert_eq!(error.to_string(), "AbortError: The operation was aborted");
        let abort_error = error
            .get()
            .downcast_ref::<AbortError>()
            .expect("an AbortError");
        let cause = abort_error.cause.as_ref().expect("a cause");
        assert_eq!(cause.error_message(), "stop");
        let source = std::error::Error::source(abort_error).expect("cause as source");
        assert_eq!(source.to_string(), "Error: stop");
    }
}

#[test]
fn an_aborted_signal_rejects_at_once_and_arms_no_timer() {
    let seen = Rc::new(RefCell::new(None));
    let out = seen.clone();
    let started = Instant::now();
    run(move || {
        let signal = AbortSignal::abort(None);
        let timer = set_timeout_promise(10_000, (), with_signal(&signal));
        let immediate = set_immediate_promise((), with_signal(&signal));
        *out.borrow_mut() = Some((timer.result(), immediate.result()));
        let _ = (timer.catch(|_| ()), immediate.catch(|_| ()));
    })
    .expect("run");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a timer was armed"
    );
    let Some((Some(Err(timer)), Some(Err(immediate)))) = seen.take() else {
        panic!("both promises are rejected at once");
    };
    for error in [timer, immediate] {
        let abort_error = error
            .get()
            .downcast_ref::<AbortError>()
            .expect("an AbortError");
        let cause = abort_error.cause.as_ref().expect("the reason as cause");
        assert_eq!(dom_exception(cause).name(), "AbortError");
    }
}

#[test]
fn ref_false_does_not_hold_the_loop() {
    let ran = Rc::new(Cell::new(0));
    let (timer_ran, immediate_ran) = (ran.clone(), ran.clone());
    let started = Instant::now();
    run(move || {
        let unref = || TimerOptions {
            ref_: false,
            ..TimerOptions::default()
        };
        set_timeout_promise(10_000, (), unref()).then(move |()| timer_ran.set(1));
        set_immediate_promise((), unref()).then(move |()| immediate_ran.set(2));
    })
    .expect("run");
    assert_eq!(ran.get(), 0, "node exits without running either");
    assert!(started.elapsed() < Duration::from_secs(5));

    // Unreferenced, they still run while something else holds the loop.
    let log = new_log();
    let (timer_log, immediate_log, keeper_log) = (log.clone(), log.clone(), log.clone());
    run(move || {
        let unref = || TimerOptions {
            ref_: false,
            ..TimerOptions::default()
        };
        set_timeout_promise(1, "timer", unref()).then(move |v| push(&timer_log, v));
        set_immediate_promise("immediate", unref()).then(move |v| push(&immediate_log, v));
        set_timeout(move || push(&keeper_log, "keeper"), 30);
    })
    .expect("run");
    // The 1 ms timer and the immediate race at the loop's start, as in Node (`top_level`).
    let mut seen = log.borrow().clone();
    assert_eq!(seen.pop().as_deref(), Some("keeper"));
    seen.sort_unstable();
    assert_eq!(seen, ["immediate", "timer"]);
}

#[test]
fn a_settled_promise_timer_removes_its_listener() {
    let signal = AbortController::new().signal();
    let token = Rc::new(());
    let (value, for_immediate, on) = (token.clone(), token.clone(), signal.clone());
    run(move || {
        let _ = set_timeout_promise(1, value, with_signal(&on));
        let _ = set_immediate_promise(for_immediate, with_signal(&on));
    })
    .expect("run");
    assert_eq!(
        Rc::strong_count(&token),
        1,
        "a listener left on the long-lived signal keeps its promise"
    );
    drop(signal);
}
