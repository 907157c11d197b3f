//! AbortController, AbortSignal and timers/promises against Node: listeners run at once and in
//! order, dependants after them; an aborted promise timer rejects six microtasks after the
//! abort; a listener's throw comes back from a nextTick. Fixtures: `abort_timers`,
//! `abort_listener_throws`.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::{assert_matches_fixture, log, log_exit};
use uv_loop::{
    next_tick, run, set_immediate_promise, set_timeout, set_timeout_promise, throw,
    AbortController, AbortError, AbortListener, AbortSignal, DomException, JsError, Promise,
    TimerOptions,
};

/// `error.message` of an abort reason: a `DOMException`'s own message, else the `Error`'s.
fn message(error: &JsError) -> String {
    match error.get().downcast_ref::<DomException>() {
        Some(exception) => exception.message().to_owned(),
        None => error.error_message(),
    }
}

/// `error.name` of a rejection or reason.
fn name(error: &JsError) -> String {
    if let Some(exception) = error.get().downcast_ref::<DomException>() {
        return exception.name().to_owned();
    }
    if error.get().is::<AbortError>() {
        return "AbortError".to_owned();
    }
    "Error".to_owned()
}

/// `error.cause` of an [`AbortError`] rejection.
fn cause(error: &JsError) -> JsError {
    match error.get().downcast_ref::<AbortError>() {
        Some(AbortError { cause: Some(cause) }) => cause.clone(),
        _ => panic!("not an AbortError with a cause: {error}"),
    }
}

fn with_signal(signal: &AbortSignal) -> TimerOptions {
    TimerOptions {
        signal: Some(signal.clone()),
        ..TimerOptions::default()
    }
}

fn chain(n: u32) {
    log(format!("m{n}"));
    if n < 8 {
        Promise::resolve(()).then(move |()| chain(n + 1));
    }
}

#[test]
fn abort_timers() {
    let result = run(|| {
        let controller = AbortController::new();
        let signal = controller.signal();
        let other = AbortController::new();
        let any = AbortSignal::any(&[signal.clone(), other.signal()]);
        let any_of_any = AbortSignal::any(std::slice::from_ref(&any));
        let third: Rc<RefCell<Option<AbortListener>>> = Rc::default();
        let third_slot = third.clone();
        signal.add_event_listener(move |signal| {
            log(format!("listener 1 {}", message(&signal.reason().unwrap())));
            if let Some(third) = third_slot.borrow().as_ref() {
                signal.remove_event_listener(third);
            }
            signal.add_event_listener(|_| log("listener added during dispatch"));
            next_tick(|| log("tick from listener 1"));
            Promise::resolve(()).then(|()| log("microtask from listener 1"));
        });
        set_timeout_promise(1000, "never", with_signal(&signal)).then_result(|outcome| {
            match outcome {
                Ok(v) => log(format!("timer resolved {v}")),
                Err(e) => log(format!(
                    "timer rejected {} cause {}",
                    name(&e),
                    message(&cause(&e))
                )),
            }
            Ok(())
        });
        *third.borrow_mut() = Some(signal.add_event_listener(|_| log("listener 3")));
        signal.add_event_listener(|_| log("listener 4"));
        any_of_any.add_event_listener(|s| {
            log(format!(
                "any of any aborted {}",
                message(&s.reason().unwrap())
            ))
        });
        any.add_event_listener(|s| log(format!("any aborted {}", message(&s.reason().unwrap()))));
        set_timeout_promise(1000, "never", with_signal(&any_of_any)).catch(|e| {
            log(format!("any timer rejected cause {}", message(&cause(&e))));
            ""
        });
        set_timeout_promise(1, "one", TimerOptions::default())
            .then(|v| log(format!("promise timer {v}")));
        let (any_seen, signal_seen) = (any.clone(), signal.clone());
        set_timeout(
            move || {
                log("timer 2: abort");
                controller.abort(Some(JsError::message("stop")));
                log(format!(
                    "after abort {} {}",
                    signal_seen.aborted(),
                    any_seen.aborted()
                ));
                signal_seen.add_event_listener(|_| log("never: added after abort"));
                other.abort(None);
                chain(1);
                next_tick(|| log("tick after abort"));
                set_immediate_promise("imm", TimerOptions::default())
                    .then(|v| log(format!("immediate promise {v}")));
                let late = AbortSignal::any(&[other.signal(), signal_seen.clone()]);
                log(format!(
                    "any of aborted {} {}",
                    late.aborted(),
                    name(&late.reason().unwrap())
                ));
                set_timeout_promise(5, "never", with_signal(&late)).catch(|e| {
                    log(format!(
                        "pre-aborted timer rejected cause {}",
                        message(&cause(&e))
                    ));
                    ""
                });
                let timeout = AbortSignal::timeout(5);
                timeout.add_event_listener(|s| {
                    log(format!("timeout aborted {}", name(&s.reason().unwrap())))
                });
                set_timeout_promise(1000, "never", with_signal(&timeout)).catch(|e| {
                    log(format!("timeout timer rejected cause {}", name(&cause(&e))));
                    ""
                });
                AbortSignal::timeout(60000).add_event_listener(|_| log("never: unref"));
            },
            2,
        );
        next_tick(|| log("tick main"));
        Promise::resolve(()).then(|()| log("microtask main"));
        log("sync end");
    });
    log_exit(&result);
    assert_matches_fixture("abort_timers");
}

#[test]
fn abort_listener_throws() {
    let result = run(|| {
        let controller = AbortController::new();
        let signal = controller.signal();
        signal.add_event_listener(|_| {
            log("listener 1");
            throw(JsError::message("from listener"));
        });
        signal.add_event_listener(|_| log("listener 2"));
        next_tick(|| log("tick before abort"));
        controller.abort(None);
        next_tick(|| log("never: tick after abort"));
        log("sync end");
    });
    match &result {
        Err(uv_loop::RunError::Uncaught(error)) => {
            assert_eq!(error.to_string(), "Error: from listener")
        }
        other => panic!("expected the listener's error, uncaught: {other:?}"),
    }
    log_exit(&result);
    assert_matches_fixture("abort_listener_throws");
}
