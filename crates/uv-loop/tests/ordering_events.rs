//! EventEmitter and events.once against Node: an emit calls a copy of the list, once wrappers
//! remove themselves first, newListener/removeListener at their exact moments, the warning on
//! a nextTick; events.once settles through the async function's extra microtasks, rejects on
//! `error` and on abort; an `error` with no listener ends the process. Fixtures: `events_emit`,
//! `events_once`, `events_error_throws`.

mod common;

use std::cell::Cell;
use std::rc::Rc;

use common::{assert_matches_fixture, log, log_exit};
use uv_loop::events::{self, EventEmitter, Listener, OnceOptions};
use uv_loop::{
    next_tick, on_warning, run, set_immediate, set_timeout, throw, AbortController, AbortError,
    AbortSignal, DomException, JsError, Promise, RunError,
};

fn chain(n: u32) {
    log(format!("m{n}"));
    if n < 5 {
        Promise::resolve(()).then(move |()| chain(n + 1));
    }
}

/// A slot for a handle that a listener added earlier needs.
fn slot() -> Rc<Cell<Option<Listener>>> {
    Rc::new(Cell::new(None))
}

#[test]
fn events_emit() {
    let result = run(|| {
        let ee = EventEmitter::<i32>::new();
        on_warning(|w| {
            log(format!(
                "warning {} {} {}",
                w.name,
                w.event_name.as_deref().unwrap_or("?"),
                w.count.unwrap_or(0)
            ))
        });
        ee.on_new_listener(|name, _| log(format!("newListener {name}")));
        ee.on_remove_listener(|name, _| log(format!("removeListener {name}")));
        let (b, c) = (slot(), slot());
        let (weak, b_in_a, c_in_a) = (ee.downgrade(), b.clone(), c.clone());
        ee.on("x", move |&v| {
            log(format!("a {v}"));
            let Some(ee) = weak.upgrade() else { return };
            if let Some(b) = b_in_a.get() {
                ee.remove_listener("x", &b);
            }
            if let Some(c) = c_in_a.get() {
                ee.remove_listener("x", &c);
            }
            ee.on("x", |w| log(format!("added during emit {w}")));
            next_tick(move || log(format!("tick from a {v}")));
            Promise::resolve(()).then(move |()| log(format!("microtask from a {v}")));
        });
        b.set(Some(ee.on("x", |v| log(format!("b {v}")))));
        c.set(Some(ee.once("x", |v| log(format!("once c {v}")))));
        ee.prepend_listener("x", |v| log(format!("prepended {v}")));
        let weak = ee.downgrade();
        ee.prepend_once_listener("x", move |&v| {
            log(format!("prepended once {v}"));
            if let Some(ee) = weak.upgrade() {
                log(format!("nested emit {}", ee.emit("x", v + 10)));
            }
        });
        log(format!(
            "count {} names {}",
            ee.listener_count("x"),
            ee.event_names().join(",")
        ));
        log(format!("emit 1 {}", ee.emit("x", 1)));
        log(format!("count {}", ee.listener_count("x")));
        log(format!("emit 2 {}", ee.emit("x", 2)));
        log(format!("emit none {}", ee.emit("none", 0)));
        ee.once("error", |e| log(format!("error handled {e}")));
        log(format!("emit error {}", ee.emit("error", 7)));
        ee.set_max_listeners(2);
        for _ in 0..4 {
            ee.on("y", |_| {});
        }
        log(format!(
            "max {} y {}",
            ee.get_max_listeners(),
            ee.listener_count("y")
        ));
        ee.remove_all_listeners(Some("y"));
        for _ in 0..3 {
            ee.on("y", |_| {});
        }
        next_tick(|| log("tick main"));
        ee.remove_all_listeners(None);
        log(format!("names {}", ee.event_names().join(",")));
        log("sync end");
    });
    log_exit(&result);
    assert_matches_fixture("events_emit");
}

/// `String(e)` of an events.once rejection, `e.name + ' cause ' + e.cause.*` for an abort.
fn rejection(error: &JsError) -> String {
    match error.get().downcast_ref::<AbortError>() {
        Some(AbortError { cause: Some(cause) }) => {
            let cause = match cause.get().downcast_ref::<DomException>() {
                Some(exception) => exception.name().to_owned(),
                None => cause.error_message(),
            };
            format!("AbortError cause {cause}")
        }
        _ => error.to_string(),
    }
}

fn with_signal(signal: AbortSignal) -> OnceOptions {
    OnceOptions {
        signal: Some(signal),
    }
}

#[test]
fn events_once() {
    let result = run(|| {
        let ee = EventEmitter::<i32>::new();
        ee.on_remove_listener(|name, _| log(format!("removeListener {name}")));
        events::once(&ee, "ready", OnceOptions::default()).then(|v| log(format!("ready {v}")));
        log(format!(
            "listeners {} {}",
            ee.listener_count("ready"),
            ee.listener_count("error")
        ));
        ee.emit("ready", 1);
        chain(1);
        next_tick(|| log("tick main"));
        let first = ee.clone();
        set_immediate(move || {
            log("immediate 1");
            events::once(&first, "data", OnceOptions::default()).then(|v| log(format!("data {v}")));
            chain(1);
            Promise::resolve(()).then(move |()| {
                Promise::resolve(()).then(move |()| {
                    log(format!("emit data {}", first.emit("data", 2)));
                });
            });
        });
        let second = ee.clone();
        set_immediate(move || {
            log("immediate 2");
            events::once(&second, "data", OnceOptions::default()).then_result(|outcome| {
                match outcome {
                    Ok(v) => log(format!("never: data {v}")),
                    Err(e) => log(format!("rejected {}", rejection(&e))),
                }
                Ok(())
            });
            events::once(&second, "error", OnceOptions::default())
                .then(|v| log(format!("error event {v}")));
            chain(1);
            log(format!("emit error {}", second.emit("error", 9)));
        });
        let third = ee.clone();
        set_immediate(move || {
            log("immediate 3");
            let controller = AbortController::new();
            events::once(&third, "data", with_signal(controller.signal())).then_result(|outcome| {
                match outcome {
                    Ok(v) => log(format!("never: data {v}")),
                    Err(e) => log(format!("rejected {}", rejection(&e))),
                }
                Ok(())
            });
            events::once(&third, "data", with_signal(AbortSignal::abort(None))).catch(|e| {
                log(format!("pre-aborted {}", rejection(&e)));
                0
            });
            log(format!(
                "listeners {} {}",
                third.listener_count("data"),
                third.listener_count("error")
            ));
            chain(1);
            next_tick(move || {
                log("tick: abort");
                controller.abort(Some(JsError::message("stop")));
            });
        });
        set_immediate(move || {
            log(format!(
                "immediate 4 listeners {} {}",
                ee.listener_count("data"),
                ee.listener_count("error")
            ));
        });
        log("sync end");
    });
    log_exit(&result);
    assert_matches_fixture("events_once");
}

#[test]
fn events_error_throws() {
    let result = run(|| {
        let ee = EventEmitter::<JsError>::new();
        ee.once("error", |e| log(format!("handled {}", e.error_message())));
        log(format!(
            "emit {}",
            ee.emit("error", JsError::message("first"))
        ));
        set_timeout(
            move || {
                log("timer");
                next_tick(|| log("never: tick"));
                ee.emit("error", JsError::message("second"));
                log("never: after emit");
                throw(JsError::message("never: the emit threw"));
            },
            0,
        );
        next_tick(|| log("tick main"));
        log("sync end");
    });
    match &result {
        Err(RunError::Uncaught(error)) => assert_eq!(error.to_string(), "Error: second"),
        other => panic!("expected the second error, uncaught: {other:?}"),
    }
    log_exit(&result);
    assert_matches_fixture("events_error_throws");
}
