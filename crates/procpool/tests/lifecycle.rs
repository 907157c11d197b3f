//! `apply_async(...).get(timeout)`, `starmap`, `close`/`join`, `terminate`, and the executor's
//! `map`, on every start method.

mod common;

use common::{scenario, METHODS};

#[test]
fn get_timeout_close_join_terminate_behave_as_pool_py() {
    for method in METHODS {
        assert_eq!(
            scenario("lifecycle", method),
            [
                "first get: timeout",
                "second get: Ok(0.3)",
                "starmap [3, 7, 11]",
                "apply 42",
                "submit after close: refused",
                "join: Ok(())",
                "join while running: Err(StillRunning)",
                "after terminate: Err(Task(Terminated))",
                "join: Ok(())",
                "terminate took under 5 s: true",
                "executor map [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]",
            ],
            "{method}"
        );
    }
}

#[test]
fn terminate_kills_a_worker_that_ignores_sigterm() {
    for method in METHODS {
        assert_eq!(
            scenario("terminate_stubborn", method),
            [
                "terminated within 5 s: true",
                "stubborn: Err(Task(Terminated))",
                "queued: Err(Task(Terminated))",
            ],
            "{method}"
        );
    }
}
