//! `errgroup`: the behaviours Go's `golang.org/x/sync/errgroup` documents: `wait` returns the
//! first error, `with_context`'s context is cancelled by the first failure and by `wait`,
//! `set_limit` bounds the subtasks running at once and `try_go` refuses past it; here also a
//! subtask's panic is raised again by `wait`.

mod common;

use common::runtime;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use goroutines::chan;
use goroutines::context::{Context, ContextError};
use goroutines::errgroup::Group;

#[test]
fn wait_returns_ok_once_every_subtask_succeeded() {
    runtime(2).run(|| {
        let group = Group::<String>::new();
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..100 {
            let ran = ran.clone();
            group.go(move || {
                goroutines::yield_now();
                ran.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
        }
        assert_eq!(group.wait(), Ok(()));
        assert_eq!(
            ran.load(Ordering::SeqCst),
            100,
            "wait returned before every subtask"
        );
    });
}

/// Two subtasks fail, the second only once the first failure has been recorded (it cancels the
/// group's context): `wait` returns the first error.
#[test]
fn wait_returns_the_first_error() {
    runtime(2).run(|| {
        let (group, ctx) = Group::with_context(&Context::background());
        group.go(move || {
            ctx.done().recv().ok();
            Err("second")
        });
        group.go(|| Err("first"));
        group.go(|| Ok(()));
        assert_eq!(group.wait(), Err("first"));
    });
}

/// The first failure cancels the group's context (its siblings see it), the parent stays
/// running, and `wait` cancels the context even when nothing failed.
#[test]
fn with_context_is_cancelled_by_the_first_failure_and_by_wait() {
    runtime(2).run(|| {
        let (parent, _cancel_parent) = Context::background().with_cancel();
        let (group, ctx) = Group::with_context(&parent);
        for _ in 0..3 {
            let ctx = ctx.clone();
            group.go(move || {
                ctx.done().recv().ok();
                assert_eq!(ctx.err(), Some(ContextError::Canceled));
                Ok(())
            });
        }
        group.go(|| Err(7));
        assert_eq!(group.wait(), Err(7));
        assert_eq!(parent.err(), None, "the failure cancelled the parent");

        let (group, ctx) = Group::<()>::with_context(&parent);
        group.go(|| Ok(()));
        assert_eq!(group.wait(), Ok(()));
        assert_eq!(
            ctx.err(),
            Some(ContextError::Canceled),
            "wait left the context running"
        );
    });
}

/// A subtask's panic reaches the caller of `wait`, and cancels the context like an error.
#[test]
fn a_subtask_panic_is_raised_by_wait() {
    let rt = runtime(2);
    let joined = rt
        .go(|| {
            let (group, ctx) = Group::<()>::with_context(&Context::background());
            group.go(|| panic!("subtask exploded"));
            let waited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| group.wait()));
            (waited, ctx.err())
        })
        .join()
        .unwrap();
    let (waited, err) = joined;
    let payload = waited.expect_err("wait returned normally after a panic");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"subtask exploded"));
    assert_eq!(err, Some(ContextError::Canceled));
}

/// `set_limit(2)`: never more than two subtasks at once, `try_go` refuses a third, and
/// changing the limit while subtasks run panics (as Go's does).
#[test]
fn set_limit_bounds_the_subtasks_running_at_once() {
    runtime(2).run(|| {
        let group = Group::<()>::new();
        group.set_limit(Some(2));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        for _ in 0..20 {
            let (running, most) = (running.clone(), most.clone());
            group.go(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                goroutines::sleep(Duration::from_millis(2));
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            });
        }
        assert_eq!(group.wait(), Ok(()));
        assert_eq!(most.load(Ordering::SeqCst), 2);

        let (release_tx, release_rx) = chan::<()>(0);
        for _ in 0..2 {
            let release = release_rx.clone();
            assert!(group.try_go(move || {
                release.recv().ok();
                Ok(())
            }));
        }
        assert!(!group.try_go(|| Ok(())), "try_go past the limit");
        let changed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            group.set_limit(None);
        }));
        assert!(changed.is_err(), "the limit changed under running subtasks");
        drop(release_tx);
        assert_eq!(group.wait(), Ok(()));
        group.set_limit(None);
        assert!(group.try_go(|| Ok(())));
        assert_eq!(group.wait(), Ok(()));
    });
}
