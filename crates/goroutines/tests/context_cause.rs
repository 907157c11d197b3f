//! `context` causes and `without_cancel`: Go's `TestCause` table, `TestCauseRace` and
//! `TestWithoutCancel` (`context_test.go`, `x_test.go`), on goroutines and on plain threads, and
//! a race of causes in which the first must win in every subtree.

mod common;
mod context_common;

use common::runtime;
use context_common::{is_done, named, FOREVER, PATIENCE};

use std::sync::Arc;
use std::time::{Duration, Instant};

use goroutines::chan::TryRecvError;
use goroutines::context::{Cause, Context, ContextError};
use goroutines::go;

/// The causes of Go's `TestCause`, made once per run so that rows are checked by identity.
struct Causes {
    parent: Cause,
    child: Cause,
    too_slow: Cause,
    finished_early: Cause,
}

/// What `cause` must give.
#[derive(Clone, Copy, Debug)]
enum Want {
    /// None: not cancelled.
    Nothing,
    /// No cause of its own: the `ContextError`, as Go's `Cause` returns `Err`.
    Default(ContextError),
    /// This very cause (Go compares with `==`; here `Arc::ptr_eq`).
    Given(fn(&Causes) -> &Cause),
}

type CauseRow = (
    &'static str,
    fn(&Causes) -> Context,
    Option<ContextError>,
    Want,
);

/// Go's `TestCause` table (less `TODO` and the custom-context rows, which need a user
/// implementation of `Context`), then rows of our own for the same rules through value nodes,
/// grandchildren and `with_deadline_cause`.
fn cause_rows() -> Vec<CauseRow> {
    use ContextError::{Canceled, DeadlineExceeded};
    vec![
        ("Background", |_| Context::background(), None, Want::Nothing),
        (
            "WithCancel",
            |_| {
                let (ctx, cancel) = Context::background().with_cancel();
                cancel.cancel();
                ctx
            },
            Some(Canceled),
            Want::Default(Canceled),
        ),
        (
            "WithCancelCause",
            |c| {
                let (ctx, cancel) = Context::background().with_cancel_cause();
                cancel.cancel(Some(c.parent.clone()));
                ctx
            },
            Some(Canceled),
            Want::Given(|c| &c.parent),
        ),
        (
            "WithCancelCause nil",
            |_| {
                let (ctx, cancel) = Context::background().with_cancel_cause();
                cancel.cancel(None);
                ctx
            },
            Some(Canceled),
            Want::Default(Canceled),
        ),
        (
            "WithCancelCause: parent cause before child",
            |c| {
                let (parent, cancel_parent) = Context::background().with_cancel_cause();
                let (ctx, cancel_child) = parent.with_cancel_cause();
                cancel_parent.cancel(Some(c.parent.clone()));
                cancel_child.cancel(Some(c.child.clone()));
                ctx
            },
            Some(Canceled),
            Want::Given(|c| &c.parent),
        ),
        (
            "WithCancelCause: parent cause after child",
            |c| {
                let (parent, cancel_parent) = Context::background().with_cancel_cause();
                let (ctx, cancel_child) = parent.with_cancel_cause();
                cancel_child.cancel(Some(c.child.clone()));
                cancel_parent.cancel(Some(c.parent.clone()));
                ctx
            },
            Some(Canceled),
            Want::Given(|c| &c.child),
        ),
        (
            "WithCancelCause: parent cause before nil",
            |c| {
                let (parent, cancel_parent) = Context::background().with_cancel_cause();
                let (ctx, cancel_child) = parent.with_cancel();
                cancel_parent.cancel(Some(c.parent.clone()));
                cancel_child.cancel();
                ctx
            },
            Some(Canceled),
            Want::Given(|c| &c.parent),
        ),
        (
            "WithCancelCause: parent cause after nil",
            |c| {
                let (parent, cancel_parent) = Context::background().with_cancel_cause();
                let (ctx, cancel_child) = parent.with_cancel();
                cancel_child.cancel();
                cancel_parent.cancel(Some(c.parent.clone()));
                ctx
            },
            Some(Canceled),
            Want::Default(Canceled),
        ),
        (
            "WithCancelCause: child cause after nil",
            |c| {
                let (parent, cancel_parent) = Context::background().with_cancel();
                let (ctx, cancel_child) = parent.with_cancel_cause();
                cancel_parent.cancel();
                cancel_child.cancel(Some(c.child.clone()));
                ctx
            },
            Some(Canceled),
            Want::Default(Canceled),
        ),
        (
            "WithCancelCause: child cause before nil",
            |c| {
                let (parent, cancel_parent) = Context::background().with_cancel();
                let (ctx, cancel_child) = parent.with_cancel_cause();
                cancel_child.cancel(Some(c.child.clone()));
                cancel_parent.cancel();
                ctx
            },
            Some(Canceled),
            Want::Given(|c| &c.child),
        ),
        (
            "WithTimeout",
            |_| {
                let (ctx, cancel) = Context::background().with_timeout(Duration::ZERO);
                cancel.cancel();
                ctx
            },
            Some(DeadlineExceeded),
            Want::Default(DeadlineExceeded),
        ),
        (
            "WithTimeout canceled",
            |_| {
                let (ctx, cancel) = Context::background().with_timeout(FOREVER);
                cancel.cancel();
                ctx
            },
            Some(Canceled),
            Want::Default(Canceled),
        ),
        (
            "WithTimeoutCause",
            |c| {
                let (ctx, cancel) =
                    Context::background().with_timeout_cause(Duration::ZERO, c.too_slow.clone());
                cancel.cancel();
                ctx
            },
            Some(DeadlineExceeded),
            Want::Given(|c| &c.too_slow),
        ),
        (
            "WithTimeoutCause canceled",
            |c| {
                let (ctx, cancel) =
                    Context::background().with_timeout_cause(FOREVER, c.too_slow.clone());
                cancel.cancel();
                ctx
            },
            Some(Canceled),
            Want::Default(Canceled),
        ),
        (
            "WithTimeoutCause stacked",
            |c| {
                let (parent, cancel) = Context::background().with_cancel_cause();
                let (ctx, _) = parent.with_timeout_cause(Duration::ZERO, c.too_slow.clone());
                cancel.cancel(Some(c.finished_early.clone()));
                ctx
            },
            Some(DeadlineExceeded),
            Want::Given(|c| &c.too_slow),
        ),
        (
            "WithTimeoutCause stacked canceled",
            |c| {
                let (parent, cancel) = Context::background().with_cancel_cause();
                let (ctx, _cancel_ctx) = parent.with_timeout_cause(FOREVER, c.too_slow.clone());
                cancel.cancel(Some(c.finished_early.clone()));
                ctx
            },
            Some(Canceled),
            Want::Given(|c| &c.finished_early),
        ),
        (
            "WithoutCancel",
            |_| Context::background().without_cancel(),
            None,
            Want::Nothing,
        ),
        (
            "WithoutCancel canceled",
            |c| {
                let (parent, cancel) = Context::background().with_cancel_cause();
                let ctx = parent.without_cancel();
                cancel.cancel(Some(c.finished_early.clone()));
                ctx
            },
            None,
            Want::Nothing,
        ),
        (
            "WithoutCancel timeout",
            |c| {
                let (parent, cancel) =
                    Context::background().with_timeout_cause(Duration::ZERO, c.too_slow.clone());
                let ctx = parent.without_cancel();
                cancel.cancel();
                ctx
            },
            None,
            Want::Nothing,
        ),
        // Ours: a grandchild, through a value node, takes the cause of the cancellation that
        // reached it, and keeps it when its own cancel function comes later.
        (
            "grandchild through a value node",
            |c| {
                let (parent, cancel_parent) = Context::background().with_cancel_cause();
                let (child, _cancel_child) = parent.with_value(1u8).with_cancel();
                let (ctx, cancel_ctx) = child.with_value(2u16).with_cancel_cause();
                cancel_parent.cancel(Some(c.parent.clone()));
                cancel_ctx.cancel(Some(c.child.clone()));
                ctx.with_value(3u32)
            },
            Some(Canceled),
            Want::Given(|c| &c.parent),
        ),
        (
            "WithDeadlineCause passed",
            |c| {
                let passed = Instant::now() - Duration::from_secs(1);
                let (ctx, _cancel) =
                    Context::background().with_deadline_cause(passed, c.too_slow.clone());
                ctx
            },
            Some(DeadlineExceeded),
            Want::Given(|c| &c.too_slow),
        ),
        (
            "WithDeadlineCause later than the parent's deadline",
            |c| {
                let (parent, _cancel) =
                    Context::background().with_timeout_cause(Duration::ZERO, c.too_slow.clone());
                let (ctx, _cancel_ctx) =
                    parent.with_timeout_cause(FOREVER, c.finished_early.clone());
                ctx
            },
            Some(DeadlineExceeded),
            Want::Given(|c| &c.too_slow),
        ),
    ]
}

fn check_causes() {
    let causes = Causes {
        parent: named("parentCause"),
        child: named("childCause"),
        too_slow: named("tooSlow"),
        finished_early: named("finishedEarly"),
    };
    for (name, make, err, want) in cause_rows() {
        let ctx = make(&causes);
        assert_eq!(ctx.err(), err, "{name}: err");
        let got = ctx.cause();
        let ok = match (&got, want) {
            (None, Want::Nothing) => true,
            (Some(got), Want::Default(e)) => got.downcast_ref::<ContextError>() == Some(&e),
            (Some(got), Want::Given(which)) => Arc::ptr_eq(got, which(&causes)),
            _ => false,
        };
        assert!(ok, "{name}: cause {got:?}, want {want:?}");
    }
}

/// Go's `TestCause`, on a goroutine (timers on the runtime's heaps).
#[test]
fn causes_follow_go_rules_on_a_goroutine() {
    runtime(2).run(check_causes);
}

/// Go's `TestCause`, on a plain thread (timers on the helper thread).
#[test]
fn causes_follow_go_rules_on_a_plain_thread() {
    check_causes();
}

/// Go's `TestCause` rows with a deadline, with one that really falls due: the cause reaches
/// the children made under it, and `err` stays `DeadlineExceeded`.
fn check_deadline_cause() {
    let too_slow = named("tooSlow");
    let (ctx, _cancel) =
        Context::background().with_timeout_cause(Duration::from_millis(20), too_slow.clone());
    let (child, _cancel_child) = ctx.with_value(1u8).with_cancel_cause();
    assert!(child.cause().is_none());
    assert!(child.done().recv().is_err());
    for ctx in [&ctx, &child] {
        assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
        assert!(Arc::ptr_eq(&ctx.cause().unwrap(), &too_slow));
    }
    assert_eq!(child.cause().unwrap().to_string(), "tooSlow");
}

#[test]
fn deadline_causes_reach_children_on_a_goroutine() {
    runtime(2).run(check_deadline_cause);
}

#[test]
fn deadline_causes_reach_children_on_a_plain_thread() {
    check_deadline_cause();
}

/// Go's `TestCauseRace` (and `TestContextErrDoneRace`): polling `cause` while another goroutine
/// or thread cancels sees None, then exactly the cause, with `err` set and `done` closed.
fn check_cause_race(cancel_on: fn(Box<dyn FnOnce() + Send>)) {
    for _ in 0..100 {
        let cause = named("TestCauseRace");
        let (ctx, cancel) = Context::background().with_cancel_cause();
        let given = cause.clone();
        cancel_on(Box::new(move || cancel.cancel(Some(given))));
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(got) = ctx.cause() {
                assert!(Arc::ptr_eq(&got, &cause), "cause {got:?}");
                assert_eq!(ctx.err(), Some(ContextError::Canceled));
                assert!(is_done(&ctx), "a cause before done was closed");
                break;
            }
            assert!(Instant::now() < deadline, "the cancel never landed");
            goroutines::yield_now();
        }
    }
}

#[test]
fn cause_race_with_a_goroutine() {
    runtime(2).run(|| {
        check_cause_race(|f| drop(go(f)));
    });
}

#[test]
fn cause_race_with_a_plain_thread() {
    check_cause_race(|f| drop(std::thread::spawn(f)));
}

/// Go's `CancelCauseFunc` documentation, raced: goroutines cancel a parent and its children
/// with causes of their own at once; whichever cancellation reached a context first decides
/// its cause, so a child has its own cause or its parent's, and the grandchildren (cancelled
/// only through a child) all have their child's.
#[test]
fn racing_causes_the_first_wins_in_every_subtree() {
    runtime(2).run(|| {
        for _ in 0..50 {
            let (parent, cancel_parent) = Context::background().with_cancel_cause();
            let parent_cause = named("parent");
            let mut children = Vec::new();
            let mut cancellers = Vec::new();
            for _ in 0..4 {
                let (child, cancel_child) = parent.with_cancel_cause();
                let grandchildren: Vec<_> = (0..4).map(|_| child.with_cancel()).collect();
                let cause = named("child");
                cancellers.push(go({
                    let cause = cause.clone();
                    move || cancel_child.cancel(Some(cause))
                }));
                children.push((child, cause, grandchildren));
            }
            let given = parent_cause.clone();
            cancellers.push(go(move || cancel_parent.cancel(Some(given))));
            for canceller in cancellers {
                canceller.join().unwrap();
            }
            assert!(Arc::ptr_eq(&parent.cause().unwrap(), &parent_cause));
            for (child, own, grandchildren) in children {
                let got = child.cause().unwrap();
                assert!(Arc::ptr_eq(&got, &own) || Arc::ptr_eq(&got, &parent_cause));
                for (grandchild, _cancel) in grandchildren {
                    assert!(Arc::ptr_eq(&grandchild.cause().unwrap(), &got));
                    assert_eq!(grandchild.err(), Some(ContextError::Canceled));
                }
            }
        }
    });
}

/// Go's `TestWithoutCancel`, with the `WithoutCancel` rows of `TestCause`: the values stay,
/// and nothing of the parent's cancellation or deadline comes through, while the child's own
/// descendants are cancelled and given deadlines as usual.
#[test]
fn without_cancel_keeps_values_and_nothing_else() {
    let (parent, cancel_parent) = Context::background()
        .with_value("value")
        .with_cancel_cause();
    let (parent, _cancel_deadline) = parent.with_timeout(Duration::from_secs(3600));
    let ctx = parent.without_cancel();
    assert_eq!(
        format!("{ctx:?}"),
        "context.Background.WithValue.WithCancel.WithDeadline.WithoutCancel"
    );
    let (own, cancel_own) = ctx.with_timeout(Duration::from_secs(7200));
    let before = Instant::now();
    cancel_parent.cancel(Some(named("finishedEarly")));
    assert_eq!(parent.err(), Some(ContextError::Canceled));

    assert_eq!(ctx.deadline(), None);
    assert!(matches!(ctx.done().try_recv(), Err(TryRecvError::Empty)));
    assert_eq!(ctx.err(), None);
    assert!(ctx.cause().is_none());
    assert_eq!(ctx.value::<&str>(), Some(&"value"));

    assert!(!is_done(&own), "the parent's cancellation came through");
    assert!(
        own.deadline().unwrap() > before + Duration::from_secs(3600),
        "the parent's earlier deadline came through"
    );
    assert_eq!(own.value::<&str>(), Some(&"value"));
    cancel_own.cancel();
    assert!(is_done(&own));
    assert_eq!(ctx.err(), None);
}
