//! Issue 4 point 1: ready handles, new tasks' first steps and a due timer, in CPython's order.
//! Fixture: `main_sleep0` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{gather, run, sleep, Error, EventLoop};
use common::{assert_matches_fixture, out};

async fn child(name: &'static str) -> Result<(), Error> {
    out(format!("{name}-start"));
    sleep(0.0).await?;
    out(format!("{name}-after"));
    Ok(())
}

#[test]
fn main_sleep0() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        event_loop.call_later(0.0, || out("L"));
        event_loop.call_soon(|| out("S1"));
        let a = event_loop.create_task(child("A"));
        let b = event_loop.create_task(child("B"));
        event_loop.call_soon(|| out("S2"));
        out("main-before-await");
        sleep(0.0).await?;
        out("main-after-sleep0");
        gather(vec![a, b]).await?;
        sleep(0.0).await?;
        out("main-done");
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("main_sleep0");
}
