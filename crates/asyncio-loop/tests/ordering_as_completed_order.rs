//! `asyncio.as_completed`: outcomes in completion order, each a pass after its task's
//! done-callback queued it; with a timeout, those not done by then give a timeout.
//! Fixture: `as_completed_order` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{as_completed, run, sleep, Error, EventLoop};
use common::{assert_matches_fixture, out};

async fn job(name: &'static str, delay: f64) -> Result<&'static str, Error> {
    sleep(delay).await?;
    let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
    event_loop.call_soon(move || out(format!("{name}-soon")));
    out(format!("{name}-done"));
    Ok(name)
}

#[test]
fn as_completed_order() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let tasks: Vec<_> = [("slow", 0.05), ("fast", 0.01), ("mid", 0.03)]
            .into_iter()
            .map(|(name, delay)| event_loop.create_task(job(name, delay)))
            .collect();
        let mut completed = as_completed(&tasks, None);
        assert_eq!(completed.len(), 3);
        while let Some(outcome) = completed.next().await {
            out(format!("got {}", outcome?));
        }
        let late = event_loop.create_task(job("late", 0.2));
        let quick = event_loop.create_task(job("quick", 0.01));
        let mut completed = as_completed(&[late.clone(), quick], Some(0.05));
        while let Some(outcome) = completed.next().await {
            match outcome {
                Ok(name) => out(format!("got {name}")),
                Err(Error::Timeout) => {
                    out("timeout");
                    break;
                }
                Err(error) => return Err(error),
            }
        }
        late.cancel();
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("as_completed_order");
}
