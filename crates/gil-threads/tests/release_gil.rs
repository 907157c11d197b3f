//! `release_gil`: the token-free `Py_BEGIN_ALLOW_THREADS` an event loop's select hook uses.
//! While its guard lives, other threads take the GIL; dropping the guard takes it back; on a
//! thread that holds no GIL it does nothing.

use std::sync::mpsc;
use std::time::Duration;

use gil_threads::{release_gil, GilMode, Interpreter};

#[test]
fn other_threads_run_python_while_the_guard_lives() {
    let interpreter = Interpreter::new(GilMode::On);
    let other = interpreter.clone();
    let ran = interpreter
        .with_gil(move |py| {
            let (done, finished) = mpsc::channel();
            // Spawned while we hold the GIL, and never passing a check point ourselves: the
            // thread can run only while the guard below has released the GIL.
            let thread = other
                .spawn(move |_| done.send(()).expect("the test waits"))
                .expect("spawn");
            let released = release_gil().expect("this thread holds the GIL");
            let ran = finished.recv_timeout(Duration::from_secs(10)).is_ok();
            drop(released);
            // Holding the GIL again: a token of this scope works as before.
            py.check();
            thread.join().expect("the thread ran");
            ran
        })
        .expect("attach");
    assert!(ran, "no other thread ran while the GIL was released");
    let account = interpreter.account();
    let main = account
        .threads
        .iter()
        .find(|t| t.name == "MainThread" || t.name.starts_with("Dummy-"))
        .expect("the attached test thread");
    // Taken on attaching, again on dropping the guard, and once more after the join (which
    // releases the GIL while it waits).
    assert_eq!(main.takes, 3, "{account}");
}

#[test]
fn a_thread_that_holds_no_gil_gets_no_guard() {
    assert!(release_gil().is_none());
    let interpreter = Interpreter::new(GilMode::On);
    // Released around a blocking call by the loop's own thread, the GIL is free for a newcomer.
    let outside = interpreter
        .with_gil(|_| {
            let _released = release_gil();
            let other = interpreter.clone();
            std::thread::spawn(move || other.with_gil(|_| 7).expect("attach"))
                .join()
                .expect("thread")
        })
        .expect("attach");
    assert_eq!(outside, 7);
}
