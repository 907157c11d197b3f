//! Semaphore(2) (3.12's fairness fix): two workers enter at once, the rest wait in FIFO order
//! and enter as units are released; `locked` is true while anyone would have to wait.
//! Fixture: `semaphore_fair` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{gather, run, sleep, Error, EventLoop, Semaphore};
use common::{assert_matches_fixture, out, py_bool};

async fn worker(name: String, semaphore: Semaphore) -> Result<(), Error> {
    out(format!(
        "{name}-acquire locked={}",
        py_bool(semaphore.locked())
    ));
    semaphore.acquire().await?;
    out(format!("{name}-in"));
    sleep(0.0).await?;
    semaphore.release();
    out(format!("{name}-out"));
    Ok(())
}

#[test]
fn semaphore_fair() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let semaphore = Semaphore::new(2);
        let tasks: Vec<_> = (1..=5)
            .map(|i| event_loop.create_task(worker(format!("w{i}"), semaphore.clone())))
            .collect();
        gather(tasks).await?;
        out(format!("locked={}", py_bool(semaphore.locked())));
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("semaphore_fair");
}
