//! `Barrier` (locks.py, over a `Condition`): the last party to arrive releases the others with
//! their arrival indices, parties that arrive while a round drains wait for the next one, and
//! `reset` and `abort` break the waiters out with `BrokenBarrierError`.
//! Fixture: `barrier_phases` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{gather, run, sleep, Barrier, BrokenBarrierError, Error, EventLoop, NoParties};
use common::{assert_matches_fixture, out, py_bool};

async fn party(barrier: Barrier, name: &'static str) -> Result<i64, Error> {
    out(format!("{name} waits n_waiting={}", barrier.n_waiting()));
    match barrier.wait().await {
        Ok(index) => {
            out(format!("{name} passes index={index}"));
            Ok(index as i64)
        }
        Err(Error::Exception(error)) if error.downcast_ref::<BrokenBarrierError>().is_some() => {
            out(format!("{name} broken: {error}"));
            Ok(-1)
        }
        Err(error) => Err(error),
    }
}

fn py_list(values: &[i64]) -> String {
    let items: Vec<String> = values.iter().map(i64::to_string).collect();
    format!("[{}]", items.join(", "))
}

#[test]
fn barrier_phases() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let barrier = Barrier::new(3).map_err(Error::exception)?;
        let tasks = ["a", "b", "c", "d", "e", "f"]
            .into_iter()
            .map(|name| event_loop.create_task(party(barrier.clone(), name)))
            .collect();
        sleep(0.0).await?;
        out(format!("main n_waiting={}", barrier.n_waiting()));
        out(format!("indices {}", py_list(&gather(tasks).await?)));
        out(format!(
            "n_waiting={} broken={}",
            barrier.n_waiting(),
            py_bool(barrier.broken())
        ));
        let resetters = ["r1", "r2"]
            .into_iter()
            .map(|name| event_loop.create_task(party(barrier.clone(), name)))
            .collect();
        sleep(0.0).await?;
        out(format!("before reset n_waiting={}", barrier.n_waiting()));
        barrier.reset().await?;
        out(format!("after reset n_waiting={}", barrier.n_waiting()));
        out(format!(
            "reset results {}",
            py_list(&gather(resetters).await?)
        ));
        let aborted = event_loop.create_task(party(barrier.clone(), "x"));
        sleep(0.0).await?;
        barrier.abort().await?;
        out(format!("abort result {}", aborted.await?));
        if let Err(Error::Exception(error)) = barrier.wait().await {
            out(format!("main broken: {error}"));
        }
        out(format!(
            "broken={} parties={}",
            py_bool(barrier.broken()),
            barrier.parties()
        ));
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("barrier_phases");
}

#[test]
fn a_barrier_needs_a_party_and_a_reset_repairs_an_abort() {
    assert_eq!(Barrier::new(0).err(), Some(NoParties));
    let indices = run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let barrier = Barrier::new(2).map_err(Error::exception)?;
        barrier.abort().await?;
        assert!(barrier.broken());
        barrier.reset().await?;
        assert!(!barrier.broken());
        let other = event_loop.create_task({
            let barrier = barrier.clone();
            async move { barrier.wait().await }
        });
        // `other` has not run yet: this party arrives first and gets index 0.
        let mine = barrier.wait().await?;
        Ok((mine, other.await?))
    });
    assert_eq!(indices.ok(), Some((0, 1)));
}

/// A party cancelled while it waits leaves the count as it found it: the next round still
/// needs all its parties.
#[test]
fn a_cancelled_party_does_not_count() {
    let outcome = run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let barrier = Barrier::new(2).map_err(Error::exception)?;
        let quitter = event_loop.create_task({
            let barrier = barrier.clone();
            async move { barrier.wait().await }
        });
        sleep(0.0).await?;
        assert_eq!(barrier.n_waiting(), 1);
        quitter.cancel();
        let cancelled = matches!(quitter.await, Err(Error::Cancelled));
        let waiting_after = barrier.n_waiting();
        let second = event_loop.create_task({
            let barrier = barrier.clone();
            async move { barrier.wait().await }
        });
        let mine = barrier.wait().await?;
        Ok((cancelled, waiting_after, mine, second.await?))
    });
    assert_eq!(outcome.ok(), Some((true, 0, 0, 1)));
}
