//! A promise object goes back to the environment's spare (src/node/spare.rs) only when
//! nothing else refers to it, and comes back out as a new pending promise: a promise the
//! program still holds keeps its own value, and a reused one starts unresolved and unhandled.

use std::cell::RefCell;
use std::rc::Rc;

use uv_loop::{call_async, run, JsError, Promise, RunError};

#[test]
fn an_awaited_promise_kept_by_the_program_keeps_its_value() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let log = seen.clone();
    let result = run(move || {
        call_async(async move {
            let (first, resolve_first) = Promise::<u64>::with_resolvers();
            let kept = first.clone();
            resolve_first.resolve(1);
            drop(resolve_first);
            let value = first.await?;
            // Same type as `first`: it would take `first`'s object if `kept` were ignored.
            let (second, resolve_second) = Promise::<u64>::with_resolvers();
            resolve_second.resolve(2);
            let second_value = second.await?;
            log.borrow_mut().extend([value, second_value]);
            log.borrow_mut().push(match kept.result() {
                Some(Ok(value)) => value,
                _ => 0,
            });
            Ok(())
        });
    });
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(*seen.borrow(), [1, 2, 1]);
}

#[test]
fn a_reused_promise_starts_pending_and_resolvable() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let log = seen.clone();
    let result = run(move || {
        call_async(async move {
            for round in 0..4u64 {
                let (promise, resolver) = Promise::<u64>::with_resolvers();
                log.borrow_mut().push(promise.result().is_none());
                resolver.resolve(round);
                resolver.resolve(100); // ignored: already resolved
                drop(resolver); // the promise is now referenced only by its await
                let value = promise.await?;
                log.borrow_mut().push(value == round);
            }
            Ok(())
        });
    });
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(*seen.borrow(), [true; 8]);
}

#[test]
fn a_reused_promise_rejected_without_a_handler_is_unhandled() {
    let result = run(|| {
        call_async(async {
            // Awaited (so marked handled) and then free: its object becomes the spare.
            let (handled, resolver) = Promise::<u64>::with_resolvers();
            resolver.resolve(1);
            drop(resolver);
            handled.await?;
            // The same type again, rejected with no handler: Node's unhandled rejection.
            let (unhandled, resolver) = Promise::<u64>::with_resolvers();
            resolver.reject(JsError::message("nobody listens"));
            drop(unhandled);
            Ok(())
        });
    });
    match result {
        Err(RunError::UnhandledRejection(error)) => {
            assert_eq!(error.to_string(), "Error: nobody listens")
        }
        other => panic!("expected an unhandled rejection, got {other:?}"),
    }
}

thread_local! {
    static KEPT: RefCell<Vec<Promise<u64>>> = const { RefCell::new(Vec::new()) };
}

/// Step `index` of a chain of `then`s from one call site (so every derived promise has the
/// same type); the derived promises of even steps are kept.
fn chain(index: u64, resolved: Promise<()>) {
    let next = resolved.clone();
    let derived = resolved.then(move |()| {
        if index < 5 {
            chain(index + 1, next);
        }
        index * 10
    });
    if index % 2 == 0 {
        KEPT.with(|kept| kept.borrow_mut().push(derived));
    }
}

#[test]
fn a_then_promise_kept_by_the_program_keeps_its_value() {
    let result = run(|| chain(0, Promise::resolve(())));
    assert!(result.is_ok(), "{result:?}");
    let values: Vec<Option<u64>> = KEPT.with(|kept| {
        kept.borrow()
            .iter()
            .map(|promise| promise.result().and_then(Result::ok))
            .collect()
    });
    assert_eq!(values, [Some(0), Some(20), Some(40)]);
}
