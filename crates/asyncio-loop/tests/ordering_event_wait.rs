//! Event: `set` wakes every waiter in the order they waited, even if `clear` follows at once;
//! `wait` on a set event returns without suspending.
//! Fixture: `event_wait` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{gather, run, sleep, Error, Event, EventLoop};
use common::{assert_matches_fixture, out, py_bool};

async fn waiter(name: &'static str, event: Event) -> Result<(), Error> {
    out(format!("{name}-wait"));
    event.wait().await?;
    out(format!("{name}-woke is_set={}", py_bool(event.is_set())));
    Ok(())
}

#[test]
fn event_wait() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let event = Event::new();
        let tasks: Vec<_> = ["w1", "w2", "w3"]
            .into_iter()
            .map(|name| event_loop.create_task(waiter(name, event.clone())))
            .collect();
        sleep(0.0).await?;
        event.set();
        out("set");
        event.clear();
        out(format!("clear is_set={}", py_bool(event.is_set())));
        gather(tasks).await?;
        event.set();
        event.wait().await?;
        out("wait-when-set");
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("event_wait");
}
