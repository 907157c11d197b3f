//! Issue 4 point 4: gather's first error propagates while the other child keeps running;
//! `return_exceptions` gives every outcome in argument order; results come in argument order.
//! Fixture: `gather_errors` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{gather, gather_return_exceptions, run, sleep, Error, EventLoop};
use common::{assert_matches_fixture, out, py_bool, ValueError};

async fn boom() -> Result<String, Error> {
    sleep(0.0).await?;
    Err(Error::exception(ValueError("x")))
}

#[test]
fn gather_errors() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let long_task = event_loop.create_task(async {
            out("long-start");
            sleep(0.02).await?;
            out("long-done");
            Ok("ok".to_string())
        });
        // Python's gather wraps `boom()` in a task inside the call, after `long_task` exists.
        let boom_task = event_loop.create_task(boom());
        if let Err(error) = gather(vec![boom_task, long_task.clone()]).await {
            out(format!("gather-raised {error}"));
        }
        out(format!(
            "long cancelled={} done={}",
            py_bool(long_task.cancelled()),
            py_bool(long_task.done())
        ));
        out(format!("long-result {}", long_task.clone().await?));

        let children = vec![
            event_loop.create_task(boom()),
            event_loop.create_task(async { Ok("fast".to_string()) }),
        ];
        let outcomes = gather_return_exceptions(children).await?;
        let words: Vec<String> = outcomes
            .into_iter()
            .map(|outcome| outcome.unwrap_or_else(|error| error.to_string()))
            .collect();
        out(format!("return_exceptions {}", words.join(" ")));

        let children = vec![
            event_loop.create_task(async {
                sleep(0.01).await?;
                Ok("slow".to_string())
            }),
            event_loop.create_task(async { Ok("fast".to_string()) }),
        ];
        out(format!("in-order {}", gather(children).await?.join(" ")));
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("gather_errors");
}
