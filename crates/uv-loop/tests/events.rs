//! EventEmitter and events.once by behaviour, each as node 20 does it (the orders are also
//! checked line for line against Node in tests/ordering_events.rs).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use uv_loop::events::{self, ErrorValue, EventEmitter, Listener, OnceOptions, UnhandledError};
use uv_loop::{
    next_tick, on_warning, run, AbortController, AbortError, AbortSignal, JsError, Promise,
    RunError,
};

type Log = Rc<RefCell<Vec<String>>>;

fn logger() -> (Log, impl Fn(String) + Clone) {
    let log: Log = Rc::default();
    let out = log.clone();
    (log, move |line| out.borrow_mut().push(line))
}

fn taken(log: &Log) -> Vec<String> {
    log.take()
}

#[test]
fn listeners_run_in_order_and_once_listeners_go() {
    let ee = EventEmitter::<u32>::new();
    let (log, push) = logger();
    let p = push.clone();
    ee.on("x", move |v| p(format!("on {v}")));
    let p = push.clone();
    ee.once("x", move |v| p(format!("once {v}")));
    let p = push.clone();
    ee.prepend_listener("x", move |v| p(format!("prepend {v}")));
    let p = push.clone();
    ee.prepend_once_listener("x", move |v| p(format!("prepend once {v}")));
    assert_eq!(ee.listener_count("x"), 4);
    assert!(ee.emit("x", 1));
    assert_eq!(ee.listener_count("x"), 2);
    assert!(ee.emit("x", 2));
    assert!(!ee.emit("y", 3));
    assert_eq!(
        taken(&log),
        [
            "prepend once 1",
            "prepend 1",
            "on 1",
            "once 1",
            "prepend 2",
            "on 2"
        ]
    );
}

#[test]
fn an_emit_calls_a_copy_of_the_list() {
    let ee = EventEmitter::<()>::new();
    let (log, push) = logger();
    let later: Rc<Cell<Option<Listener>>> = Rc::default();
    let later_once: Rc<Cell<Option<Listener>>> = Rc::default();
    let (weak, l, lo, p) = (
        ee.downgrade(),
        later.clone(),
        later_once.clone(),
        push.clone(),
    );
    ee.on("x", move |_| {
        p("first".into());
        let Some(ee) = weak.upgrade() else { return };
        let removed = [l.get(), lo.get()].map(|h| h.is_some_and(|h| ee.off("x", &h)));
        p(format!("removed {removed:?}"));
        let p = p.clone();
        ee.on("x", move |_| p("added during emit".into()));
    });
    let p = push.clone();
    later.set(Some(ee.on("x", move |_| p("removed during emit".into()))));
    let p = push.clone();
    later_once.set(Some(ee.once("x", move |_| p("removed once".into()))));
    ee.emit("x", ());
    assert_eq!(
        taken(&log),
        [
            "first",
            "removed [true, true]",
            "removed during emit",
            "removed once"
        ]
    );
    ee.emit("x", ());
    assert_eq!(
        taken(&log),
        ["first", "removed [false, false]", "added during emit"]
    );
}

#[test]
fn a_once_listener_runs_once_even_from_a_nested_emit() {
    let ee = EventEmitter::<u32>::new();
    let (log, push) = logger();
    let (weak, p) = (ee.downgrade(), push.clone());
    ee.on("x", move |&v| {
        p(format!("outer {v}"));
        if v == 0 {
            if let Some(ee) = weak.upgrade() {
                ee.emit("x", 1);
            }
        }
    });
    let p = push.clone();
    ee.once("x", move |v| p(format!("once {v}")));
    ee.emit("x", 0);
    assert_eq!(taken(&log), ["outer 0", "outer 1", "once 1"]);
}

#[test]
fn off_takes_the_handle_of_that_emitter_and_event() {
    let (ee, other) = (EventEmitter::<()>::new(), EventEmitter::<()>::new());
    let handle = ee.on("x", |_| {});
    let other_handle = other.on("x", |_| {});
    assert!(!ee.off("y", &handle));
    assert!(!ee.off("x", &other_handle));
    assert_eq!(ee.listener_count("x"), 1);
    assert!(ee.remove_listener("x", &handle));
    assert!(!ee.off("x", &handle));
    assert_eq!(ee.listener_count("x"), 0);
    assert!(ee.event_names().is_empty());
}

#[test]
fn new_listener_comes_before_the_add_and_remove_listener_after_the_removal() {
    let ee = EventEmitter::<()>::new();
    let (log, push) = logger();
    let (weak, p) = (ee.downgrade(), push.clone());
    ee.on_new_listener(move |name, _| {
        let count = weak.upgrade().map_or(0, |ee| ee.listener_count(name));
        p(format!("new {name} (had {count})"));
    });
    let (weak, p) = (ee.downgrade(), push.clone());
    let remover = ee.on_remove_listener(move |name, _| {
        let count = weak.upgrade().map_or(0, |ee| ee.listener_count(name));
        p(format!("removed {name} (has {count})"));
    });
    let handle = ee.on("x", |_| {});
    ee.off("x", &handle);
    ee.once("x", |_| {});
    ee.emit("x", ());
    ee.off("removeListener", &remover);
    ee.on("z", |_| {});
    ee.remove_all_listeners(None);
    assert_eq!(
        taken(&log),
        [
            "new removeListener (had 0)",
            "new x (had 0)",
            "removed x (has 0)",
            "new x (had 0)",
            "removed x (has 0)",
            "new z (had 0)",
        ]
    );
}

#[test]
fn remove_all_listeners_announces_each_last_first_and_remove_listener_last() {
    let ee = EventEmitter::<()>::new();
    let (log, push) = logger();
    let p = push.clone();
    ee.on_remove_listener(move |name, _| p(format!("a: {name}")));
    let p = push.clone();
    let second = ee.on_remove_listener(move |name, _| p(format!("b: {name}")));
    let x = [ee.on("x", |_| {}), ee.on("x", |_| {})];
    let y = ee.on("y", |_| {});
    ee.remove_all_listeners(Some("x"));
    assert_eq!(taken(&log), ["a: x", "b: x", "a: x", "b: x"]);
    let handles: Rc<RefCell<Vec<Listener>>> = Rc::default();
    let h = handles.clone();
    ee.on_remove_listener(move |_, handle| h.borrow_mut().push(*handle));
    ee.remove_all_listeners(None);
    assert_eq!(
        taken(&log),
        [
            "a: y",
            "b: y",
            "a: removeListener",
            "b: removeListener",
            "a: removeListener"
        ]
    );
    assert_eq!(handles.borrow()[0], y);
    assert!(!handles.borrow().contains(&x[0]));
    assert!(!ee.off("removeListener", &second));
    assert!(ee.event_names().is_empty());
}

#[test]
fn event_names_keep_first_add_order_and_a_forgotten_event_comes_back_last() {
    let ee = EventEmitter::<()>::new();
    let a = ee.on("a", |_| {});
    ee.on("b", |_| {});
    ee.on("a", |_| {});
    assert_eq!(ee.event_names(), ["a", "b"]);
    ee.off("a", &a);
    assert_eq!(ee.event_names(), ["a", "b"]);
    ee.remove_all_listeners(Some("a"));
    ee.on("a", |_| {});
    assert_eq!(ee.event_names(), ["b", "a"]);
}

#[test]
fn an_error_with_no_listener_throws_the_error() {
    let (log, push) = logger();
    let result = run(move || {
        let ee = EventEmitter::<JsError>::new();
        let p = push.clone();
        ee.on("error", move |e| {
            p(format!("listener {}", e.error_message()))
        });
        assert!(ee.emit("error", JsError::message("handled")));
        ee.remove_all_listeners(Some("error"));
        next_tick(move || push("never: tick".into()));
        ee.emit("error", JsError::message("boom"));
    });
    match result {
        Err(RunError::Uncaught(error)) => assert_eq!(error.to_string(), "Error: boom"),
        other => panic!("expected the emitted error, uncaught: {other:?}"),
    }
    assert_eq!(taken(&log), ["listener handled"]);
}

#[test]
fn an_error_payload_that_is_no_error_throws_err_unhandled_error() {
    let result = run(|| {
        EventEmitter::<&'static str>::new().emit("error", "str");
    });
    let Err(RunError::Uncaught(error)) = result else {
        panic!("expected ERR_UNHANDLED_ERROR, uncaught: {result:?}");
    };
    assert_eq!(
        error.to_string(),
        "Error [ERR_UNHANDLED_ERROR]: Unhandled error. (\"str\")"
    );
    let unhandled = error.get().downcast_ref::<UnhandledError>();
    let context = unhandled.and_then(|u| u.context.downcast_ref::<&str>());
    assert_eq!(context, Some(&"str"));
}

#[test]
fn too_many_listeners_warn_once_per_list_on_a_next_tick() {
    let (log, push) = logger();
    let result = run(move || {
        let p = push.clone();
        on_warning(move |w| {
            p(format!(
                "{} {:?} {:?}: {}",
                w.name, w.event_name, w.count, w.message
            ))
        });
        let ee = EventEmitter::<()>::new();
        assert_eq!(ee.get_max_listeners(), events::DEFAULT_MAX_LISTENERS);
        let mut handles: Vec<Listener> = (0..11).map(|_| ee.on("a", |_| {})).collect();
        ee.on("a", |_| {});
        push("sync: no warning yet".into());
        for handle in handles.drain(..) {
            ee.off("a", &handle);
        }
        for _ in 0..10 {
            ee.on("a", |_| {});
        }
        ee.set_max_listeners(0);
        for _ in 0..20 {
            ee.on("b", |_| {});
        }
    });
    result.unwrap();
    let message = "Possible EventEmitter memory leak detected. 11 a listeners added to \
                   [EventEmitter]. MaxListeners is 10. Use emitter.setMaxListeners() to \
                   increase limit";
    let warning = format!("MaxListenersExceededWarning Some(\"a\") Some(11): {message}");
    assert_eq!(
        taken(&log),
        ["sync: no warning yet".to_owned(), warning.clone(), warning]
    );
}

fn outcome(log: &impl Fn(String), result: Result<u32, JsError>) {
    log(match result {
        Ok(v) => format!("resolved {v}"),
        Err(e) => match e.get().downcast_ref::<AbortError>() {
            Some(AbortError { cause: Some(c) }) => format!("aborted, cause {}", c.error_message()),
            _ => match e.get().downcast_ref::<ErrorValue>() {
                Some(value) => format!("rejected with value {:?}", value.downcast_ref::<u32>()),
                None => format!("rejected {e}"),
            },
        },
    })
}

/// Logs how `promise` settles.
fn record(promise: Promise<u32>, log: impl Fn(String) + 'static) {
    promise.then_result(move |result| {
        outcome(&log, result);
        Ok(())
    });
}

#[test]
fn events_once_settles_with_the_event_the_error_or_the_abort_and_cleans_up() {
    let (log, push) = logger();
    let result = run(move || {
        let ee = EventEmitter::<u32>::new();
        let controller = AbortController::new();
        let options = || OnceOptions {
            signal: Some(controller.signal()),
        };
        for (name, payload) in [("data", 1), ("error", 2)] {
            record(events::once(&ee, "data", options()), push.clone());
            assert_eq!(
                (ee.listener_count("data"), ee.listener_count("error")),
                (1, 1)
            );
            ee.emit(name, payload);
            assert_eq!(
                (ee.listener_count("data"), ee.listener_count("error")),
                (0, 0)
            );
        }
        record(
            events::once(&ee, "error", OnceOptions::default()),
            push.clone(),
        );
        assert_eq!(ee.listener_count("error"), 1);
        ee.emit("error", 3);
        record(events::once(&ee, "data", options()), push.clone());
        controller.abort(Some(JsError::message("stop")));
        assert_eq!(
            (ee.listener_count("data"), ee.listener_count("error")),
            (0, 0)
        );
        record(events::once(&ee, "data", options()), push.clone());
        assert_eq!(ee.listener_count("data"), 0);
    });
    result.unwrap();
    // The one whose signal was aborted already is rejected at once, so its reaction runs
    // first; the others follow their inner promise through two more microtasks (node 20).
    assert_eq!(
        taken(&log),
        [
            "aborted, cause stop",
            "resolved 1",
            "rejected with value Some(2)",
            "resolved 3",
            "aborted, cause stop",
        ]
    );
}

#[test]
fn events_once_rejects_with_a_js_error_payload_as_is() {
    let (log, push) = logger();
    run(move || {
        let ee = EventEmitter::<JsError>::new();
        events::once(&ee, "data", OnceOptions::default()).catch(move |e| {
            push(e.to_string());
            e
        });
        ee.emit("error", JsError::message("bad"));
    })
    .unwrap();
    assert_eq!(taken(&log), ["Error: bad"]);
}

#[test]
fn pending_once_promises_do_not_keep_the_emitter_or_the_signal_alive() {
    run(|| {
        let ee = EventEmitter::<u32>::new();
        let signal = AbortSignal::any(&[]);
        let _pending = events::once(
            &ee,
            "data",
            OnceOptions {
                signal: Some(signal.clone()),
            },
        );
        let weak = ee.downgrade();
        drop(ee);
        assert!(
            weak.upgrade().is_none(),
            "the emitter outlived its last handle"
        );
    })
    .unwrap();
}
