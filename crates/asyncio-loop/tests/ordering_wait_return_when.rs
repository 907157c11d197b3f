//! `asyncio.wait`: FIRST_COMPLETED returns two passes after the first task finishes, with the
//! others pending and still running; FIRST_EXCEPTION returns at the first failure; a timeout
//! returns with every task pending; ALL_COMPLETED waits for all.
//! Fixture: `wait_return_when` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{run, sleep, wait, Error, EventLoop, ReturnWhen, Task};
use common::{assert_matches_fixture, out, ValueError};

async fn job(name: &'static str, delay: f64, fail: bool) -> Result<&'static str, Error> {
    out(format!("{name}-start"));
    sleep(delay).await?;
    let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
    event_loop.call_soon(move || out(format!("{name}-soon")));
    if fail {
        out(format!("{name}-fails"));
        return Err(Error::exception(ValueError(name)));
    }
    out(format!("{name}-done"));
    Ok(name)
}

/// The sorted names of `tasks`, as the Python scenario prints a set.
fn names(tasks: &[Task<&'static str>], named: &[(&Task<&'static str>, &'static str)]) -> String {
    let mut names: Vec<&str> = tasks
        .iter()
        .filter_map(|task| named.iter().find(|(t, _)| *t == task).map(|(_, n)| *n))
        .collect();
    names.sort_unstable();
    names.join(",")
}

#[test]
fn wait_return_when() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let task = |name, delay, fail| event_loop.create_task(job(name, delay, fail));

        let (a, b) = (task("a", 0.01, false), task("b", 0.05, false));
        let named = [(&a, "a"), (&b, "b")];
        let (done, pending) =
            wait(&[a.clone(), b.clone()], None, ReturnWhen::FirstCompleted).await?;
        out(format!(
            "first-completed done={} pending={}",
            names(&done, &named),
            names(&pending, &named)
        ));
        out(format!("b-result {}", b.clone().await?));

        let (c, d) = (task("c", 0.05, false), task("d", 0.01, true));
        let named = [(&c, "c"), (&d, "d")];
        let (done, pending) =
            wait(&[c.clone(), d.clone()], None, ReturnWhen::FirstException).await?;
        out(format!(
            "first-exception done={} pending={}",
            names(&done, &named),
            names(&pending, &named)
        ));
        if let Some(Err(error)) = d.result() {
            out(format!("d-error {error}"));
        }
        c.clone().await?;

        let e = task("e", 0.2, false);
        let named = [(&e, "e")];
        let (done, pending) = wait(
            std::slice::from_ref(&e),
            Some(0.02),
            ReturnWhen::AllCompleted,
        )
        .await?;
        out(format!(
            "timeout done={} pending={}",
            names(&done, &named),
            names(&pending, &named)
        ));
        let (done, pending) =
            wait(std::slice::from_ref(&e), None, ReturnWhen::AllCompleted).await?;
        out(format!(
            "all-completed done={} pending={}",
            names(&done, &named),
            names(&pending, &named)
        ));

        let nothing: [Task<&'static str>; 0] = [];
        match wait(&nothing, None, ReturnWhen::AllCompleted).await {
            Err(Error::Exception(error)) => {
                assert_eq!(error.to_string(), "Set of Tasks/Futures is empty.")
            }
            other => panic!("wait of nothing gave {:?}", other.map(|_| ())),
        }
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("wait_return_when");
}
