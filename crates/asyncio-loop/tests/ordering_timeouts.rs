//! `asyncio.timeout` (timeouts.py): reschedule from inside, `expired()`, nested scopes (only the
//! scope that expired turns the cancellation into a timeout), a body that swallows the
//! cancellation, and `reschedule` after the scope ended.
//! Fixture: `timeouts` in peers/python/asyncio_orderings.py.

mod common;

use asyncio_loop::{current_task, run, sleep, timeout, Error, EventLoop, TimeoutStateError};
use common::{assert_matches_fixture, out, py_bool};

fn cancelling() -> u32 {
    current_task().map_or(99, |task| task.cancelling())
}

#[test]
fn timeouts() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let cm = timeout(None)?;
        let inside = cm.clone();
        let outcome = cm
            .run(async move {
                out(format!(
                    "when {}",
                    inside.when().map_or("None".to_owned(), |w| w.to_string())
                ));
                inside.reschedule(Some(event_loop.time() + 0.02))?;
                sleep(1.0).await
            })
            .await;
        if let Err(Error::Timeout) = outcome {
            out(format!("timeout expired={}", py_bool(cm.expired())));
        }

        let cm2 = timeout(Some(1.0))?;
        cm2.run(sleep(0.0)).await?;
        out(format!("no-timeout expired={}", py_bool(cm2.expired())));

        let outer = timeout(Some(1.0))?
            .run(async {
                if let Err(Error::Timeout) = timeout(Some(0.01))?.run(sleep(1.0)).await {
                    out("inner-timeout");
                }
                out(format!("cancelling {}", cancelling()));
                Ok(())
            })
            .await;
        if let Err(Error::Timeout) = outer {
            out("outer-timeout");
        }

        let cm3 = timeout(Some(0.01))?;
        cm3.run(async {
            if let Err(Error::Cancelled) = sleep(1.0).await {
                out("swallowed");
            }
            Ok(())
        })
        .await?;
        out(format!(
            "after-swallow expired={} cancelling {}",
            py_bool(cm3.expired()),
            cancelling()
        ));
        if let Err(error) = cm2.reschedule(None) {
            out(format!("RuntimeError {error}"));
        }
        Ok(())
    })
    .expect("main completes");
    assert_matches_fixture("timeouts");
}

#[test]
fn a_scope_refuses_misuse_with_cpythons_errors() {
    let scope = asyncio_loop::timeout_at(None);
    assert_eq!(
        scope.reschedule(Some(1.0)),
        Err(TimeoutStateError::NotEntered)
    );
    assert!(matches!(timeout(Some(1.0)), Err(Error::NoRunningLoop)));
    let second_entry = run(async move {
        scope.run(sleep(0.0)).await?;
        match scope.run(sleep(0.0)).await {
            Err(error) => Ok(error.to_string()),
            Ok(()) => Ok("entered twice".to_owned()),
        }
    });
    assert_eq!(
        second_entry.ok().as_deref(),
        Some("Timeout has already been entered")
    );
}

#[test]
fn a_deadline_already_past_cancels_the_body_at_its_first_await() {
    let outcome = run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let past = asyncio_loop::timeout_at(Some(event_loop.time() - 1.0));
        let mut reached = false;
        let outcome = past
            .run(async {
                reached = true;
                sleep(10.0).await
            })
            .await;
        Ok((reached, matches!(outcome, Err(Error::Timeout))))
    });
    assert_eq!(outcome.ok(), Some((true, true)));
}
