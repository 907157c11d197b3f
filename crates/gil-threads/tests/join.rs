//! Joining Python threads: values, panics as errors, the GIL released while joining and after a
//! panic, and the errors of spawning and attaching.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gil_threads::{GilMode, Interpreter};

#[test]
fn join_returns_the_closures_value() {
    for mode in [GilMode::On, GilMode::Off] {
        let interpreter = Interpreter::new(mode);
        let handle = interpreter.spawn(|py| py.thread_name().to_owned()).unwrap();
        assert_eq!(handle.name(), "Thread-1");
        assert_eq!(handle.join().unwrap(), "Thread-1");
        let named = interpreter.spawn_named("worker", |_| 7).unwrap();
        assert_eq!(named.join().unwrap(), 7);
    }
}

#[test]
fn a_panic_comes_back_as_an_error_and_releases_the_gil() {
    let interpreter = Interpreter::new(GilMode::On);
    let handle = interpreter
        .spawn(|py| -> u32 {
            py.check();
            panic!("boom in thread");
        })
        .unwrap();
    let error = handle.join().unwrap_err();
    assert_eq!(error.message(), Some("boom in thread"));
    assert_eq!(error.thread(), "Thread-1");
    assert_eq!(
        error.to_string(),
        "thread Thread-1 panicked: boom in thread"
    );
    // The GIL was dropped by the unwinding thread: another thread takes it without waiting.
    let after = interpreter.spawn(|_| 1).unwrap();
    assert_eq!(after.join().unwrap(), 1);
    let account = interpreter.account();
    assert_eq!(account.thread("Thread-2").unwrap().waits, 0);
}

#[test]
fn a_panic_inside_allow_threads_takes_the_gil_back_before_unwinding() {
    let interpreter = Interpreter::new(GilMode::On);
    let handle = interpreter
        .spawn(|py| {
            py.allow_threads(|| panic!("inside allow_threads"));
        })
        .unwrap();
    let error = handle.join().unwrap_err();
    assert_eq!(error.message(), Some("inside allow_threads"));
    let account = interpreter.account();
    let thread = account.thread("Thread-1").unwrap();
    // Taken at start and again after the panic; both holds ended (no GIL left held).
    assert_eq!(thread.takes, 2);
    let follower = interpreter.spawn(|_| ()).unwrap();
    follower.join().unwrap();
    assert_eq!(interpreter.account().thread("Thread-2").unwrap().waits, 0);
}

#[test]
fn joining_from_a_python_thread_releases_the_gil() {
    // The child needs the GIL to finish; the parent holds it until it joins. If join kept the
    // GIL this would deadlock.
    let interpreter = Interpreter::new(GilMode::On);
    let total = interpreter
        .with_gil(|py| {
            let child = py.interpreter().spawn(|py| {
                py.check();
                21
            });
            let child = child.unwrap();
            child.join().unwrap() * 2
        })
        .unwrap();
    assert_eq!(total, 42);
    let account = interpreter.account();
    assert_eq!(account.threads[0].name, "Dummy-1");
    // The parent took the GIL at attach and again after the join.
    assert_eq!(account.threads[0].takes, 2);
}

#[test]
fn with_gil_refuses_a_thread_that_is_already_attached() {
    let interpreter = Interpreter::new(GilMode::On);
    let inner = interpreter
        .with_gil(|py| py.interpreter().with_gil(|_| ()).unwrap_err().to_string())
        .unwrap();
    assert!(inner.starts_with("this thread is already attached"));
    // With the GIL released the thread is not attached, and may attach (PyO3 allows this too).
    let nested = interpreter
        .with_gil(|py| {
            let handle = py.interpreter();
            py.allow_threads(move || handle.with_gil(|py| py.thread_name().to_owned()))
        })
        .unwrap();
    assert_eq!(nested.unwrap(), "Dummy-3");
}

#[test]
fn a_thread_name_with_a_nul_byte_is_refused() {
    let interpreter = Interpreter::new(GilMode::On);
    let error = interpreter.spawn_named("bad\0name", |_| ()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "thread name \"bad\\0name\" contains a NUL byte"
    );
}

#[test]
fn gil_off_runs_two_threads_at_once() {
    // Each thread waits until the other has started: under a GIL with no check point this
    // could never finish; with gil=off it does.
    let interpreter = Interpreter::new(GilMode::Off);
    let flags = Arc::new([AtomicBool::new(false), AtomicBool::new(false)]);
    let handles: Vec<_> = (0..2)
        .map(|me| {
            let flags = Arc::clone(&flags);
            interpreter
                .spawn(move |_| {
                    flags[me].store(true, Ordering::SeqCst);
                    while !flags[1 - me].load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_micros(100));
                    }
                })
                .unwrap()
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let account = interpreter.account();
    assert!(account
        .threads
        .iter()
        .all(|thread| thread.waiting.is_zero()));
}
