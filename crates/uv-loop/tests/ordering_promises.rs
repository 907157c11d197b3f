//! Promise and async-fn microtask counts against V8: a handler returning a promise settles
//! two microtasks later; awaiting an async fn's settled promise costs one; a rejection is
//! an `Err` at the `await`; the combinators settle in their last input's reaction job.
//! Fixtures: `thenable_ticks`, `async_return`, `combinators`.

mod common;

use common::{assert_matches_fixture, log, log_exit};
use uv_loop::{call_async, run, AggregateError, JsError, Promise};

#[test]
fn thenable_ticks() {
    let result = run(|| {
        Promise::resolve(())
            .then_promise(|()| Promise::resolve("x"))
            .then(|v| log(format!("via-thenable {v}")));
        Promise::resolve(())
            .then(|()| log("a1"))
            .then(|()| log("a2"))
            .then(|()| log("a3"))
            .then(|()| log("a4"))
            .then(|()| log("a5"));
    });
    log_exit(&result);
    assert_matches_fixture("thenable_ticks");
}

#[test]
fn async_return() {
    let result = run(|| {
        let inner = || {
            call_async(async {
                log("inner");
                Ok(1)
            })
        };
        let failing = || {
            call_async(async {
                Promise::resolve(()).await?;
                Err::<(), _>(JsError::message("bad"))
            })
        };
        call_async(async move {
            let v = inner().await?;
            log(format!("outer got {v}"));
            if let Err(error) = failing().await {
                log(format!(
                    "caught {}",
                    error.to_string().trim_start_matches("Error: ")
                ));
            }
            Ok(())
        });
        Promise::resolve(())
            .then(|()| log("t1"))
            .then(|()| log("t2"))
            .then(|()| log("t3"))
            .then(|()| log("t4"));
        log("sync-end");
    });
    log_exit(&result);
    assert_matches_fixture("async_return");
}

/// `Promise.all`, `race`, `allSettled` and `any` on settled promises beside a chain counting
/// microtask ticks: each result settles in its last input's reaction job, a tick after the
/// call, and the empty `all` at once. Fixture: `combinators`.
#[test]
fn combinators() {
    fn tick(n: u32) {
        log(format!("tick {n}"));
        if n < 5 {
            Promise::resolve(()).then(move |()| tick(n + 1));
        }
    }
    let result = run(|| {
        Promise::resolve(()).then(|()| tick(1));
        Promise::all(vec![Promise::resolve("a"), Promise::resolve("b")])
            .then(|v| log(format!("all {}", v.join(","))));
        Promise::<&str>::all(Vec::new()).then(|v| log(format!("all-empty {}", v.len())));
        Promise::all(vec![
            Promise::resolve(1),
            Promise::reject(JsError::message("no")),
        ])
        .then_result(|outcome| {
            if let Err(error) = outcome {
                log(format!("all-rejected {}", error.error_message()));
            }
            Ok(())
        });
        Promise::race(vec![Promise::with_resolvers().0, Promise::resolve("r")])
            .then(|v| log(format!("race {v}")));
        Promise::all_settled(vec![
            Promise::resolve("s"),
            Promise::reject(JsError::message("e")),
        ])
        .then(|outcomes| {
            let statuses: Vec<&str> = outcomes
                .iter()
                .map(|o| if o.is_ok() { "fulfilled" } else { "rejected" })
                .collect();
            log(format!("allSettled {}", statuses.join(",")));
        });
        Promise::any(vec![
            Promise::reject(JsError::message("x")),
            Promise::resolve("y"),
        ])
        .then(|v| log(format!("any {v}")));
        Promise::<&str>::any(vec![
            Promise::reject(JsError::message("p")),
            Promise::reject(JsError::message("q")),
        ])
        .then_result(|outcome| {
            if let Err(error) = outcome {
                let aggregate = error
                    .get()
                    .downcast_ref::<AggregateError>()
                    .expect("an AggregateError");
                let messages: Vec<String> = aggregate
                    .errors
                    .iter()
                    .map(JsError::error_message)
                    .collect();
                log(format!(
                    "any-rejected AggregateError {}",
                    messages.join(",")
                ));
            }
            Ok(())
        });
        log("sync-end");
    });
    log_exit(&result);
    assert_matches_fixture("combinators");
}
