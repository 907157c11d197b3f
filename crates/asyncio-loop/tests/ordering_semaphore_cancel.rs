//! Semaphore (3.12): a waiter cancelled after its wake-up gives the unit back and wakes the next
//! waiter; a newcomer queues behind the waiters already in line.
//! Fixture: `semaphore_cancel` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{gather_return_exceptions, run, sleep, Error, EventLoop, Semaphore};
use common::{assert_matches_fixture, out, py_bool};

async fn worker(name: String, semaphore: Semaphore) -> Result<(), Error> {
    if let Err(error) = semaphore.acquire().await {
        out(format!(
            "{name}-cancelled locked={}",
            py_bool(semaphore.locked())
        ));
        return Err(error);
    }
    out(format!("{name}-in"));
    sleep(0.0).await?;
    semaphore.release();
    out(format!("{name}-out"));
    Ok(())
}

#[test]
fn semaphore_cancel() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let semaphore = Semaphore::new(1);
        semaphore.acquire().await?;
        let mut tasks: Vec<_> = (1..=3)
            .map(|i| event_loop.create_task(worker(format!("w{i}"), semaphore.clone())))
            .collect();
        sleep(0.0).await?;
        semaphore.release();
        out(format!("released locked={}", py_bool(semaphore.locked())));
        tasks[0].cancel();
        tasks.push(event_loop.create_task(worker("late".to_string(), semaphore.clone())));
        gather_return_exceptions(tasks).await?;
        out(format!("locked={}", py_bool(semaphore.locked())));
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("semaphore_cancel");
}
