//! Issue 4 point 4: `wait_for(slow(), 0.05)`: the inner coroutine sees the cancellation, then the
//! caller gets a timeout, and the caller's `cancelling()` is back to 0.
//! Fixture: `wait_for_timeout` in peers/python/asyncio_orderings.py.

mod common;

use std::time::Instant;

use asyncio_loop::{current_task, run, sleep, wait_for, Error};
use common::{assert_matches_fixture, out};

async fn slow() -> Result<&'static str, Error> {
    out("slow-start");
    if let Err(error) = sleep(1.0).await {
        out("slow-saw-cancelled");
        return Err(error);
    }
    Ok("slow")
}

#[test]
fn wait_for_timeout() {
    let started = Instant::now();
    run(async {
        if let Err(Error::Timeout) = wait_for(slow(), 0.05).await {
            out("main-saw-timeout");
        }
        let cancelling = current_task().map_or(99, |task| task.cancelling());
        out(format!("cancelling {cancelling}"));
        Ok(())
    })
    .expect("main completes");
    let elapsed = started.elapsed().as_secs_f64();
    assert!((0.05..0.9).contains(&elapsed), "took {elapsed} s");
    assert_matches_fixture("wait_for_timeout");
}
