//! Promise and async-fn microtask counts against V8: a handler returning a promise settles
//! two microtasks later; awaiting an async fn's settled promise costs one; a rejection is
//! an `Err` at the `await`. Fixtures: `thenable_ticks`, `async_return`.

mod common;

use common::{assert_matches_fixture, log, log_exit};
use uv_loop::{call_async, run, JsError, Promise};

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
