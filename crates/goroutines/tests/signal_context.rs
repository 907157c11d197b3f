//! `signal::notify_context` (Go's `signal.NotifyContext`), in child processes since signals are
//! process-wide: SIGINT cancels the context with `Canceled` and the cause `interrupt signal
//! received`; a second SIGINT before `stop` is swallowed, and one after `stop` kills the process,
//! as Go documents; `stop` alone cancels with `Canceled` and gives the default action back.

mod signal_common;

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use goroutines::context::{Context, ContextError};
use goroutines::signal::{self, Signal, SignalReceived, SIGINT, SIGTERM};
use goroutines::RecvError;
use signal_common::{is_child, kill_self, raise_here, run_child};

/// As in `signal_notify.rs`: the wait only bounds a failure, since a fatal signal sent to the
/// process ends it before `kill` returns.
fn kill_self_expecting_death(signal: Signal) {
    kill_self(signal);
    std::thread::sleep(Duration::from_secs(5));
    println!("survived");
}

#[test]
fn sigint_cancels_with_its_cause_and_a_second_kills_after_stop() {
    let name = "sigint_cancels_with_its_cause_and_a_second_kills_after_stop";
    if is_child(name) {
        // SAFETY: the test holds no thread-locals or std guards across blocking calls.
        let rt = unsafe { goroutines::Builder::new().procs(2).build() }.unwrap();
        rt.run(|| {
            let (ctx, stop) = signal::notify_context(&Context::background(), &[SIGINT]).unwrap();
            assert_eq!(ctx.err(), None);
            kill_self(SIGINT);
            // The goroutine parks until the watcher thread cancels the context.
            assert_eq!(ctx.done().recv(), Err(RecvError));
            assert_eq!(ctx.err(), Some(ContextError::Canceled));
            let cause = ctx.cause().unwrap();
            assert_eq!(cause.to_string(), "interrupt signal received");
            assert_eq!(
                cause.downcast_ref::<SignalReceived>(),
                Some(&SignalReceived(SIGINT))
            );
            // Still diverted until `stop`: with its default action, `raise` would not return.
            raise_here(SIGINT);
            println!("second swallowed");
            stop.stop();
            println!("stopped");
        });
        kill_self_expecting_death(SIGINT);
        return;
    }
    let ended = run_child(name, |_, _| {});
    assert!(
        ended.status.signal() == Some(libc::SIGINT)
            && ended.printed("second swallowed")
            && ended.printed("stopped"),
        "{}",
        ended.describe()
    );
}

/// From a plain thread, outside any runtime: dropping the stop function cancels with `Canceled`
/// (cause `Canceled`) and gives SIGTERM its default action back.
#[test]
fn stop_cancels_and_gives_back_the_default_action() {
    let name = "stop_cancels_and_gives_back_the_default_action";
    if is_child(name) {
        let (ctx, stop) = signal::notify_context(&Context::background(), &[SIGTERM]).unwrap();
        drop(stop);
        assert_eq!(ctx.err(), Some(ContextError::Canceled));
        let cause = ctx.cause().unwrap();
        assert_eq!(
            cause.downcast_ref::<ContextError>(),
            Some(&ContextError::Canceled)
        );
        println!("stopped");
        kill_self_expecting_death(SIGTERM);
        return;
    }
    let ended = run_child(name, |_, _| {});
    assert!(
        ended.status.signal() == Some(libc::SIGTERM) && ended.printed("stopped"),
        "{}",
        ended.describe()
    );
}

/// A parent's cancellation reaches the child context; the signal stays diverted until `stop`.
#[test]
fn parent_cancellation_reaches_the_context() {
    let name = "parent_cancellation_reaches_the_context";
    if is_child(name) {
        let (parent, cancel) = Context::background().with_cancel();
        let (ctx, stop) = signal::notify_context(&parent, &[SIGTERM]).unwrap();
        cancel.cancel();
        assert_eq!(ctx.done().recv(), Err(RecvError));
        assert_eq!(ctx.err(), Some(ContextError::Canceled));
        raise_here(SIGTERM);
        println!("diverted");
        stop.stop();
        kill_self_expecting_death(SIGTERM);
        return;
    }
    let ended = run_child(name, |_, _| {});
    assert!(
        ended.status.signal() == Some(libc::SIGTERM) && ended.printed("diverted"),
        "{}",
        ended.describe()
    );
}
