//! `context`: Go's `context/context_test.go` behaviours (background, cancellation down a tree
//! and never up, deadlines and timeouts with the earlier one winning, values found by type) on
//! goroutines and on plain threads, and a racing stress of cancellations. Causes are in
//! `context_cause.rs`, `after_func` in `context_after_func.rs`. Waits are events (a receive, a
//! closed channel), each bounded by `PATIENCE` so a lost wake-up fails instead of hanging.

mod common;
mod context_common;

use common::runtime;
use context_common::is_done;

use std::time::{Duration, Instant};

use goroutines::context::{Context, ContextError};
use goroutines::{go, select};

#[test]
fn background_is_never_done() {
    let ctx = Context::background();
    assert!(!is_done(&ctx));
    assert_eq!(ctx.err(), None);
    assert_eq!(ctx.deadline(), None);
    assert_eq!(ctx.value::<u32>(), None);
    assert_eq!(format!("{ctx:?}"), "context.Background");
}

/// Go's `TestWithCancel`: cancelling a node cancels its subtree (through value nodes too),
/// with `Canceled`, and leaves its parent and siblings running.
#[test]
fn cancel_flows_down_the_tree_and_never_up() {
    let (root, cancel_root) = Context::background().with_cancel();
    let (left, cancel_left) = root.with_cancel();
    let (right, _cancel_right) = root.with_cancel();
    let (deep, _cancel_deep) = left.with_value("request").with_cancel();
    assert_eq!(
        format!("{deep:?}"),
        "context.Background.WithCancel.WithCancel.WithValue.WithCancel"
    );
    for ctx in [&root, &left, &right, &deep] {
        assert!(!is_done(ctx));
        assert_eq!(ctx.err(), None);
    }
    cancel_left.cancel();
    assert!(is_done(&left) && is_done(&deep));
    assert_eq!(deep.err(), Some(ContextError::Canceled));
    assert!(
        !is_done(&root) && !is_done(&right),
        "cancel went up or sideways"
    );
    drop(cancel_root);
    assert!(is_done(&root) && is_done(&right));
    assert_eq!(right.err(), Some(ContextError::Canceled));
    assert_eq!(ContextError::Canceled.to_string(), "context canceled");
}

/// Go's `TestDeadline` and `TestTimeout`: a deadline cancels with `DeadlineExceeded`, not
/// before it; a child's later deadline is its parent's; a passed deadline cancels at once.
fn check_deadlines() {
    let start = Instant::now();
    let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(50));
    let deadline = ctx.deadline().expect("a deadline");
    assert!(deadline >= start + Duration::from_millis(50));
    let (later, _cancel_later) = ctx.with_timeout(Duration::from_secs(3600));
    assert_eq!(later.deadline(), Some(deadline), "the later deadline won");
    let (earlier, _cancel_earlier) = ctx.with_timeout(Duration::from_millis(10));
    assert!(earlier.deadline() < Some(deadline));

    assert!(earlier.done().recv().is_err());
    assert_eq!(earlier.err(), Some(ContextError::DeadlineExceeded));
    assert!(ctx.err().is_none() || start.elapsed() >= Duration::from_millis(50));

    assert!(later.done().recv().is_err());
    assert!(
        start.elapsed() >= Duration::from_millis(50),
        "done before the deadline"
    );
    assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    assert_eq!(later.err(), Some(ContextError::DeadlineExceeded));
    assert_eq!(
        ContextError::DeadlineExceeded.to_string(),
        "context deadline exceeded"
    );

    let (passed, _cancel_passed) =
        Context::background().with_deadline(Instant::now() - Duration::from_secs(1));
    assert_eq!(passed.err(), Some(ContextError::DeadlineExceeded));
    assert!(is_done(&passed));
}

#[test]
fn deadlines_cancel_on_a_goroutine() {
    runtime(2).run(check_deadlines);
}

#[test]
fn deadlines_cancel_on_a_plain_thread() {
    check_deadlines();
}

/// Cancelling first wins over a later deadline, and a cancelled context's deadline timer does
/// not change its error afterwards.
#[test]
fn cancel_before_the_deadline_stays_canceled() {
    runtime(2).run(|| {
        let (ctx, cancel) = Context::background().with_timeout(Duration::from_millis(20));
        cancel.cancel();
        assert_eq!(ctx.err(), Some(ContextError::Canceled));
        goroutines::sleep(Duration::from_millis(60));
        assert_eq!(ctx.err(), Some(ContextError::Canceled));
    });
}

/// Go's `TestValues`: the nearest value of a type wins; other types and missing ones are
/// looked up independently, through cancellable nodes.
#[test]
fn values_are_found_by_type_from_the_nearest_node() {
    #[derive(Debug, PartialEq)]
    struct RequestId(u64);
    #[derive(Debug, PartialEq)]
    struct User(&'static str);
    let outer = Context::background().with_value(RequestId(1));
    let (cancellable, _cancel) = outer.with_value(User("ann")).with_cancel();
    let inner = cancellable.with_value(RequestId(2));
    assert_eq!(outer.value::<RequestId>(), Some(&RequestId(1)));
    assert_eq!(outer.value::<User>(), None);
    assert_eq!(inner.value::<RequestId>(), Some(&RequestId(2)));
    assert_eq!(inner.value::<User>(), Some(&User("ann")));
    assert_eq!(inner.value::<u64>(), None);
}

/// The Go idiom: workers `select!` on their context's `done` beside their own work, and all
/// stop when the request is cancelled.
#[test]
fn workers_stop_when_their_request_is_cancelled() {
    runtime(2).run(|| {
        let (ctx, cancel) = Context::background().with_cancel();
        let workers: Vec<_> = (0..8)
            .map(|i| {
                let (ctx, _cancel) = ctx.with_cancel();
                go(move || {
                    let _keep = _cancel;
                    let mut rounds = 0u64;
                    loop {
                        select! {
                            recv(ctx.done()) -> _ => return (i, rounds, ctx.err()),
                            default(Duration::from_millis(1)) => rounds += 1,
                        }
                    }
                })
            })
            .collect();
        goroutines::sleep(Duration::from_millis(20));
        cancel.cancel();
        for worker in workers {
            let (_, _, err) = worker.join().unwrap();
            assert_eq!(err, Some(ContextError::Canceled));
        }
    });
}

/// Many goroutines on two Ps make and cancel children while the parent is cancelled under
/// them: every child ends up cancelled, whichever came first.
#[test]
fn racing_children_and_parent_cancellation() {
    runtime(2).run(|| {
        for _ in 0..50 {
            let (parent, cancel_parent) = Context::background().with_cancel();
            let makers: Vec<_> = (0..4)
                .map(|_| {
                    let parent = parent.clone();
                    go(move || {
                        let mut children = Vec::new();
                        for k in 0..50 {
                            let (child, cancel) = parent.with_cancel();
                            if k % 3 == 0 {
                                cancel.cancel();
                            }
                            children.push((child, cancel));
                            if k % 16 == 0 {
                                goroutines::yield_now();
                            }
                        }
                        children
                    })
                })
                .collect();
            goroutines::yield_now();
            cancel_parent.cancel();
            for maker in makers {
                for (child, _cancel) in maker.join().unwrap() {
                    assert!(is_done(&child), "a child outlived its cancelled parent");
                    assert_eq!(child.err(), Some(ContextError::Canceled));
                }
            }
        }
    });
}
