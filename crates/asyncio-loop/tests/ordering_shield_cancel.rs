//! `asyncio.shield`: cancelling the task that awaits `shield(inner)` cancels only the outer
//! future; `inner` runs on to its result, which a later await gets; a shielded failure reaches
//! the awaiting task.
//! Fixture: `shield_cancel` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{run, shield, sleep, Error, EventLoop, Task};
use common::{assert_matches_fixture, out, py_bool, ValueError};

async fn inner(fail: bool) -> Result<&'static str, Error> {
    out("inner-start");
    sleep(0.02).await?;
    if fail {
        out("inner-fails");
        return Err(Error::exception(ValueError("inner")));
    }
    out("inner-done");
    Ok("inner")
}

async fn waiter(task: Task<&'static str>) -> Result<&'static str, Error> {
    match shield(&task).await {
        Err(Error::Cancelled) => {
            out("waiter-cancelled");
            Err(Error::Cancelled)
        }
        other => other,
    }
}

#[test]
fn shield_cancel() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let t = event_loop.create_task(inner(false));
        let w = event_loop.create_task(waiter(t.clone()));
        sleep(0.0).await?;
        w.cancel();
        out("cancel-sent");
        if let Err(Error::Cancelled) = w.await {
            out("main-saw-waiter-cancelled");
        }
        out(format!("inner-done? {}", py_bool(t.done())));
        out(format!("inner-result {}", t.await?));

        let failing = event_loop.create_task(inner(true));
        if let Err(error) = event_loop.create_task(waiter(failing)).await {
            out(format!("waiter-saw {error}"));
        }
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("shield_cancel");
}
