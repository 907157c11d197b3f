//! `context`: Go's `context/context_test.go` and `x_test.go` behaviours (background,
//! cancellation down a tree and never up, deadlines and timeouts with the earlier one winning,
//! values found by type, causes, `AfterFunc`, `WithoutCancel`) on goroutines and on plain
//! threads, and racing stresses of cancellations, causes and `stop`s. Waits are events (a
//! receive, a closed channel), each bounded by `PATIENCE` so a lost wake-up fails instead of
//! hanging; the only sleeps are short windows in which something must not happen.

mod common;

use common::runtime;

use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use goroutines::chan::{Receiver, TryRecvError};
use goroutines::context::{after_func, Cause, Context, ContextError};
use goroutines::{chan, go, select};

/// How long an event may take on a loaded machine before a test calls it lost.
const PATIENCE: Duration = Duration::from_secs(20);
/// A window in which something that must not happen would have happened (Go's
/// `shortDuration`); it can only let a bug through, never fail a correct run.
const WINDOW: Duration = Duration::from_millis(20);
/// Go's `veryLongDuration` and the `forever` of `TestCause`.
const FOREVER: Duration = Duration::from_secs(1_000_000);

/// The `done` channel is closed (a receive returns at once with an error).
fn is_done(ctx: &Context) -> bool {
    matches!(ctx.done().try_recv(), Err(TryRecvError::Closed))
}

/// The next value on `rx`; fails if none comes within `PATIENCE` or `rx` is closed.
fn recv_soon<T>(rx: &Receiver<T>, what: &str) -> T {
    select! {
        recv(rx) -> v => v.unwrap_or_else(|_| panic!("{what}: closed without a value")),
        default(PATIENCE) => panic!("{what}: nothing within {PATIENCE:?}"),
    }
}

/// Nothing arrives on `rx` (and it stays open) for `WINDOW`.
fn nothing_within_window<T>(rx: &Receiver<T>, what: &str) {
    select! {
        recv(rx) -> _ => panic!("{what}"),
        default(WINDOW) => {},
    }
}

/// A cause of the tests' own, told apart by its name (Go's `fmt.Errorf("parentCause")`).
#[derive(Debug)]
struct Named(&'static str);

impl fmt::Display for Named {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Error for Named {}

fn named(name: &'static str) -> Cause {
    Arc::new(Named(name))
}

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
