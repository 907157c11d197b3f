//! Node's timer and immediate API: clearing, intervals, unref, delay coercion.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use uv_loop::{
    clear_immediate, clear_interval, clear_timeout, run, set_immediate, set_interval, set_timeout,
    Timeout,
};

fn counter() -> (Rc<Cell<u32>>, impl Fn() + Clone) {
    let count = Rc::new(Cell::new(0));
    let inner = count.clone();
    (count, move || inner.set(inner.get() + 1))
}

#[test]
fn delays_outside_the_range_become_one_ms() {
    let stored = Rc::new(RefCell::new(Vec::new()));
    let seen = stored.clone();
    run(move || {
        for delay in [0.0, -5.0, f64::NAN, 2_147_483_648.0, 1.9, 20.0] {
            seen.borrow_mut()
                .push(set_timeout(|| {}, delay).idle_timeout());
        }
    })
    .expect("run");
    assert_eq!(*stored.borrow(), [1, 1, 1, 1, 1, 20]);
}

#[test]
fn clear_timeout_and_interval() {
    let (fired, bump) = counter();
    let (ticks, tick) = counter();
    run(move || {
        let cleared = set_timeout(bump.clone(), 5);
        set_timeout(bump, 10);
        clear_timeout(&cleared);
        clear_timeout(&cleared);
        let slot: Rc<RefCell<Option<Timeout>>> = Rc::new(RefCell::new(None));
        let own = slot.clone();
        let ticks_seen = Rc::new(Cell::new(0));
        let interval = set_interval(
            move || {
                tick();
                ticks_seen.set(ticks_seen.get() + 1);
                if ticks_seen.get() == 3 {
                    if let Some(interval) = own.borrow().as_ref() {
                        clear_interval(interval);
                    }
                }
            },
            2,
        );
        *slot.borrow_mut() = Some(interval);
    })
    .expect("run");
    assert_eq!(fired.get(), 1, "the cleared timeout never fires");
    assert_eq!(
        ticks.get(),
        3,
        "the interval cleared itself in its third call"
    );
}

#[test]
fn unref_timer_does_not_keep_the_loop_alive() {
    let (fired, bump) = counter();
    let started = std::time::Instant::now();
    run(move || {
        set_timeout(bump, 10_000).unref();
    })
    .expect("run");
    assert_eq!(fired.get(), 0);
    assert!(
        started.elapsed().as_secs() < 5,
        "run returned without waiting for it"
    );
}

#[test]
fn unref_timer_fires_while_another_keeps_the_loop_alive() {
    let (fired, bump) = counter();
    run(move || {
        set_timeout(bump, 1).unref();
        set_timeout(|| {}, 30);
    })
    .expect("run");
    assert_eq!(fired.get(), 1);
}

#[test]
fn clear_immediate_from_a_tick_between_immediates() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let sink = log.clone();
    run(move || {
        let second: Rc<RefCell<Option<uv_loop::Immediate>>> = Rc::new(RefCell::new(None));
        let target = second.clone();
        let first_log = sink.clone();
        set_immediate(move || {
            first_log.borrow_mut().push("first");
            uv_loop::next_tick(move || {
                if let Some(immediate) = target.borrow().as_ref() {
                    clear_immediate(immediate);
                }
            });
        });
        let second_log = sink.clone();
        *second.borrow_mut() = Some(set_immediate(move || {
            second_log.borrow_mut().push("second")
        }));
        let third_log = sink.clone();
        set_immediate(move || third_log.borrow_mut().push("third"));
    })
    .expect("run");
    assert_eq!(*log.borrow(), ["first", "third"]);
}

#[test]
fn timers_of_one_duration_fire_in_insertion_order() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let sink = log.clone();
    run(move || {
        for i in 0..100 {
            let sink = sink.clone();
            set_timeout(move || sink.borrow_mut().push(i), 3);
        }
    })
    .expect("run");
    assert_eq!(*log.borrow(), (0..100).collect::<Vec<_>>());
}

/// A delay above `TIMEOUT_MAX` warns `TimeoutOverflowWarning` on a nextTick queued as the timer
/// is set, with Node's text (the delay as JavaScript prints the number); as node 20 prints for
/// `setTimeout(f, 2**32)`, `1e21`, `Infinity` and `2147483648.5` between two nextTicks:
/// tick1, the four warnings, tick2, then the timers.
#[test]
fn a_delay_too_large_warns_on_a_next_tick() {
    let log = Rc::new(RefCell::new(Vec::<String>::new()));
    let out = log.clone();
    run(move || {
        let say = |line: &str| {
            let out = out.clone();
            let line = line.to_owned();
            move || out.borrow_mut().push(line)
        };
        let warnings = out.clone();
        uv_loop::on_warning(move |warning| {
            warnings
                .borrow_mut()
                .push(format!("warning {} {:?}", warning.name, warning.message));
        });
        uv_loop::next_tick(say("tick1"));
        set_timeout(say("timeout"), 4_294_967_296.0);
        set_timeout(say("t2"), 1e21);
        set_timeout(say("t3"), f64::INFINITY);
        set_timeout(say("t4"), 2_147_483_648.5);
        uv_loop::next_tick(say("tick2"));
    })
    .expect("run");
    let warning = |number: &str| {
        format!(
            "warning TimeoutOverflowWarning \"{number} does not fit into a 32-bit signed \
             integer.\\nTimeout duration was set to 1.\""
        )
    };
    assert_eq!(
        *log.borrow(),
        [
            "tick1".to_owned(),
            warning("4294967296"),
            warning("1e+21"),
            warning("Infinity"),
            warning("2147483648.5"),
            "tick2".to_owned(),
            "timeout".to_owned(),
            "t2".to_owned(),
            "t3".to_owned(),
            "t4".to_owned(),
        ]
    );
}
