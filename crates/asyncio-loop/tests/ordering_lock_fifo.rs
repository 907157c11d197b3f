//! Lock (3.12): waiters take the lock in FIFO order; a waiter cancelled after its wake-up passes
//! the wake-up to the next one; releasing an unlocked lock is an error.
//! Fixture: `lock_fifo` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{gather_return_exceptions, run, sleep, Error, EventLoop, Lock};
use common::{assert_matches_fixture, out, py_bool};

async fn worker(name: &'static str, lock: Lock) -> Result<(), Error> {
    out(format!("{name}-acquire"));
    if let Err(error) = lock.acquire().await {
        out(format!("{name}-cancelled"));
        return Err(error);
    }
    out(format!("{name}-locked"));
    sleep(0.0).await?;
    lock.release().expect("the worker holds the lock");
    out(format!("{name}-released"));
    Ok(())
}

#[test]
fn lock_fifo() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let lock = Lock::new();
        lock.acquire().await?;
        out(format!("main-locked {}", py_bool(lock.locked())));
        let tasks: Vec<_> = ["w1", "w2", "w3"]
            .into_iter()
            .map(|name| event_loop.create_task(worker(name, lock.clone())))
            .collect();
        sleep(0.0).await?;
        lock.release().expect("main holds the lock");
        out("main-released");
        tasks[0].cancel();
        gather_return_exceptions(tasks).await?;
        out(format!("locked {}", py_bool(lock.locked())));
        if lock.release().is_err() {
            out("release RuntimeError");
        }
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("lock_fifo");
}
