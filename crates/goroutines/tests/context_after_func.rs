//! `context::after_func`: Go's `TestAfterFunc*` (`afterfunc_test.go`, `x_test.go`) on
//! goroutines and on plain threads: called once the context is done and never before, at once
//! on a done context, never after a successful `stop`, asynchronously, on the runtime it was
//! registered from; and a race of `stop` against the cancellation. The only sleeps are short
//! windows in which something must not happen.

mod common;
mod context_common;

use common::runtime;
use context_common::{nothing_within_window, recv_soon, PATIENCE};

use std::time::Duration;

use goroutines::context::{after_func, Context, ContextError};
use goroutines::{chan, go, select};

/// Go's `TestAfterFuncCalledAfterCancel`: not before the context is done, once it is, and
/// `stop` then answers false.
fn check_after_func_called_after_cancel() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (tx, rx) = chan(1);
    let stop = after_func(&ctx.with_value(1u8), move || tx.send(()).unwrap());
    nothing_within_window(&rx, "AfterFunc called before the context is done");
    cancel.cancel();
    recv_soon(&rx, "AfterFunc after cancel");
    assert!(!stop.stop(), "stop() after the function started");
}

#[test]
fn after_func_called_after_cancel_on_a_goroutine() {
    runtime(2).run(check_after_func_called_after_cancel);
}

#[test]
fn after_func_called_after_cancel_on_a_plain_thread() {
    check_after_func_called_after_cancel();
}

/// Go's `TestAfterFuncCalledAfterTimeout`.
fn check_after_func_called_after_timeout() {
    let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(10));
    let (tx, rx) = chan(1);
    after_func(&ctx, move || tx.send(()).unwrap());
    recv_soon(&rx, "AfterFunc after the timeout");
    assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
}

#[test]
fn after_func_called_after_timeout_on_a_goroutine() {
    runtime(2).run(check_after_func_called_after_timeout);
}

#[test]
fn after_func_called_after_timeout_on_a_plain_thread() {
    check_after_func_called_after_timeout();
}

/// Go's `TestAfterFuncCalledImmediately`: on a context already cancelled, at once (through a
/// child that was cancelled by its parent, too).
fn check_after_func_called_immediately() {
    let (parent, cancel) = Context::background().with_cancel();
    let (ctx, _cancel_ctx) = parent.with_cancel();
    cancel.cancel();
    let (tx, rx) = chan(1);
    let stop = after_func(&ctx, move || tx.send(()).unwrap());
    recv_soon(&rx, "AfterFunc on a cancelled context");
    assert!(!stop.stop());
}

#[test]
fn after_func_called_immediately_on_a_goroutine() {
    runtime(2).run(check_after_func_called_immediately);
}

#[test]
fn after_func_called_immediately_on_a_plain_thread() {
    check_after_func_called_immediately();
}

/// Go's `TestAfterFuncNotCalledAfterStop`: `stop` answers true once and the function never
/// runs: its channel closes (the function is dropped) with no value in it.
fn check_after_func_not_called_after_stop() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (tx, rx) = chan::<()>(1);
    let stop = after_func(&ctx, move || tx.send(()).unwrap());
    assert!(stop.stop(), "stop() of a function not started");
    cancel.cancel();
    select! {
        recv(rx) -> v => assert!(v.is_err(), "AfterFunc called after stop"),
        default(PATIENCE) => panic!("stop() kept the function"),
    }
    assert!(!stop.stop(), "second stop()");
}

#[test]
fn after_func_not_called_after_stop_on_a_goroutine() {
    runtime(2).run(check_after_func_not_called_after_stop);
}

#[test]
fn after_func_not_called_after_stop_on_a_plain_thread() {
    check_after_func_not_called_after_stop();
}

/// Go's `TestAfterFuncCalledAsynchronously`: cancelling does not wait for the function, which
/// blocks on an unbuffered send until someone receives: the cancel returns first (on a
/// goroutine or thread of its own, so that a cancel that waited fails instead of hanging).
fn check_after_func_called_asynchronously(cancel_on: fn(Box<dyn FnOnce() + Send>)) {
    let (ctx, cancel) = Context::background().with_cancel();
    let (tx, rx) = chan(0);
    let _stop = after_func(&ctx, move || tx.send(()).unwrap());
    let (returned_tx, returned_rx) = chan(1);
    cancel_on(Box::new(move || {
        cancel.cancel();
        returned_tx.send(()).unwrap();
    }));
    recv_soon(&returned_rx, "cancel waited for the function");
    recv_soon(&rx, "AfterFunc after cancel");
}

#[test]
fn after_func_called_asynchronously_on_a_goroutine() {
    runtime(2).run(|| check_after_func_called_asynchronously(|f| drop(go(f))));
}

#[test]
fn after_func_called_asynchronously_on_a_plain_thread() {
    check_after_func_called_asynchronously(|f| drop(std::thread::spawn(f)));
}

/// Where the function runs, as `time::after_func` decides: registered on a goroutine, in a
/// goroutine of that runtime, even when a plain thread cancels; registered on a plain thread,
/// on a thread of its own. A context that is never cancelled never starts it.
#[test]
fn after_func_runs_where_it_was_registered() {
    let where_it_runs = |tx: goroutines::Sender<(Option<u64>, Option<String>)>| {
        move || {
            let thread = std::thread::current().name().map(String::from);
            tx.send((goroutines::goroutine_id(), thread)).unwrap();
        }
    };
    let (ctx, cancel) = Context::background().with_cancel();
    let (tx, rx) = chan(2);
    let rt = runtime(2);
    let registered = {
        let (ctx, tx) = (ctx.clone(), tx.clone());
        rt.run(move || after_func(&ctx, where_it_runs(tx)))
    };
    let _on_thread = after_func(&ctx, where_it_runs(tx.clone()));
    let never = after_func(&ctx.without_cancel(), where_it_runs(tx));
    cancel.cancel();
    let mut seen = [recv_soon(&rx, "first"), recv_soon(&rx, "second")];
    seen.sort();
    let [(thread_g, thread_name), (goroutine, _)] = seen;
    assert_eq!(thread_g, None);
    assert_eq!(thread_name.as_deref(), Some("goroutines-after-func"));
    assert!(
        goroutine.is_some(),
        "registered on a goroutine, ran off one"
    );
    assert!(!registered.stop());
    assert!(
        never.stop(),
        "a context never cancelled started its function"
    );
}

/// Go's `AfterFunc` documentation ("Multiple calls to AfterFunc on a context operate
/// independently"), raced: two goroutines stop 48 of 64 functions while the context is
/// cancelled; each function is either stopped (its `stop` answered true) or run, never both
/// and never neither, and each `stop` after that answers false.
#[test]
fn after_func_stop_races_cancel() {
    runtime(2).run(|| {
        for _ in 0..20 {
            let (ctx, cancel) = Context::background().with_cancel();
            let (ran_tx, ran_rx) = chan(64);
            let stops: Vec<_> = (0..64usize)
                .map(|i| {
                    let ran_tx = ran_tx.clone();
                    after_func(&ctx, move || ran_tx.send(i).unwrap())
                })
                .collect();
            drop(ran_tx);
            let mut stops = stops.into_iter().enumerate();
            // Each stopper says when it has stopped its first function; the cancel waits for
            // one, so some functions are surely stopped first and the rest race the cancel.
            let (first_tx, first_rx) = chan(2);
            let stoppers: Vec<_> = (0..2)
                .map(|_| {
                    let batch: Vec<_> = stops.by_ref().take(24).collect();
                    let first_tx = first_tx.clone();
                    go(move || {
                        let mut answers = Vec::new();
                        for (i, stop) in batch {
                            answers.push((i, stop.stop(), stop));
                            if answers.len() == 1 {
                                first_tx.send(()).unwrap();
                            }
                        }
                        answers
                    })
                })
                .collect();
            recv_soon(&first_rx, "a stopper's first stop");
            cancel.cancel();
            let mut stopped = [false; 64];
            for stopper in stoppers {
                for (i, answer, stop) in stopper.join().unwrap() {
                    stopped[i] = answer;
                    assert!(!stop.stop(), "a second stop() answered true");
                }
            }
            for (_, stop) in stops {
                assert!(!stop.stop(), "stop() after the cancel answered true");
            }
            let mut ran = [false; 64];
            // The channel closes once every function has run or been dropped by its stop.
            loop {
                select! {
                    recv(ran_rx) -> i => match i {
                        Ok(i) => {
                            assert!(!ran[i], "function {i} ran twice");
                            ran[i] = true;
                        }
                        Err(_) => break,
                    },
                    default(PATIENCE) => panic!("a function neither ran nor was dropped"),
                }
            }
            for i in 0..64 {
                assert!(
                    ran[i] != stopped[i],
                    "function {i}: ran {}, stopped {}",
                    ran[i],
                    stopped[i]
                );
            }
        }
    });
}
