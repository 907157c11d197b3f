//! `set_select_hook`: every `epoll_wait` of a loop runs inside the hook of the thread it was
//! created on, and no callback does (CPython releases the GIL around the wait only); a loop
//! keeps the hook it was created with; a hook that never calls the wait costs the loop its
//! events for that pass, never a hang.

use std::cell::Cell;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use asyncio_loop::{run, set_select_hook, sleep, Error, EventLoop, Future, SelectHook};

/// What a counting hook saw.
#[derive(Default)]
struct Seen {
    calls: Cell<u32>,
    waits: Cell<u32>,
    inside: Cell<bool>,
}

fn counting_hook(seen: &Rc<Seen>) -> SelectHook {
    let seen = seen.clone();
    Rc::new(move |wait: &mut dyn FnMut()| {
        seen.calls.set(seen.calls.get() + 1);
        seen.inside.set(true);
        wait();
        seen.inside.set(false);
        seen.waits.set(seen.waits.get() + 1);
    })
}

#[test]
fn the_wait_runs_inside_the_hook_and_the_callbacks_outside_it() {
    let seen = Rc::new(Seen::default());
    let previous = set_select_hook(Some(counting_hook(&seen)));
    assert!(previous.is_none(), "no hook by default");
    let (reader, mut writer) = UnixStream::pair().expect("socketpair");
    let writer_thread = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        writer.write_all(b"x").expect("write");
        writer
    });
    let seen_in_loop = seen.clone();
    let callback_inside = run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let done: Future<bool> = Future::new(&event_loop);
        let (fired, seen) = (done.clone(), seen_in_loop.clone());
        event_loop
            .add_reader(reader.as_fd(), move || {
                if !fired.done() {
                    let _ = fired.set_result(seen.inside.get());
                }
            })
            .map_err(Error::exception)?;
        let inside = done.clone().await?;
        event_loop.remove_reader(reader.as_fd());
        Ok(inside)
    })
    .expect("the reader fires");
    set_select_hook(None);
    drop(writer_thread.join().expect("the writer thread"));
    assert!(!callback_inside, "a callback ran inside the wait");
    // The loop blocked in epoll_wait until the byte came: at least that wait went through the
    // hook, and each call of the hook waited exactly once.
    assert!(seen.calls.get() >= 1);
    assert_eq!(seen.waits.get(), seen.calls.get());
}

#[test]
fn a_loop_keeps_the_hook_it_was_created_with() {
    let seen = Rc::new(Seen::default());
    set_select_hook(Some(counting_hook(&seen)));
    let seen_in_loop = seen.clone();
    let calls_before_sleep = run(async move {
        // Taking the hook away affects loops created later, not this one.
        let taken = set_select_hook(None);
        assert!(taken.is_some());
        let before = seen_in_loop.calls.get();
        sleep(0.005).await?;
        Ok(before)
    })
    .expect("the loop runs");
    let after_sleep = seen.calls.get();
    assert!(
        after_sleep > calls_before_sleep,
        "the sleep's wait went through the hook"
    );
    run(async { sleep(0.005).await }).expect("a loop without a hook runs");
    assert_eq!(seen.calls.get(), after_sleep, "a new loop took no hook");
}

#[test]
fn a_hook_that_never_waits_costs_events_not_progress() {
    let calls = Rc::new(Cell::new(0u32));
    let counted = calls.clone();
    set_select_hook(Some(Rc::new(move |_wait: &mut dyn FnMut()| {
        counted.set(counted.get() + 1);
    })));
    let outcome = run(async { sleep(0.005).await });
    set_select_hook(None);
    // The timer is due by the clock, not by an event: the loop gets there, passing through the
    // hook each time it would have waited.
    outcome.expect("the sleep ends");
    assert!(calls.get() >= 1);
}
