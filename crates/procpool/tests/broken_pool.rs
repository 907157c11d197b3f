//! A worker that dies breaks the pool: every pending task fails with `BrokenPool` naming the
//! worker, how it died and the task it ran, and the pool refuses new work. CPython's
//! `Pool.map` hangs here instead (bpo-22393; recorded in fixtures/pool_crash.txt).

mod common;

use common::{fixture, scenario, METHODS};

#[test]
fn pool_map_fails_where_cpython_hangs() {
    assert_eq!(fixture("pool_crash"), ["map: TimeoutError (hang)"]);
    for method in METHODS {
        let lines = scenario("pool_crash", method);
        let prefix = match method {
            "fork" => "ForkPoolWorker",
            "spawn" => "SpawnPoolWorker",
            _ => "ForkServerPoolWorker",
        };
        assert_eq!(
            lines,
            [
                "map: BrokenPool".to_owned(),
                format!("worker {prefix}"),
                "status exited with status 1".to_owned(),
                "running procpool_scenarios::sleep_or_die, chunk 3 of job 1".to_owned(),
            ],
            "{method}"
        );
    }
}

#[test]
fn a_worker_killed_by_a_signal_is_reported_with_the_signal() {
    for method in METHODS {
        assert_eq!(
            scenario("killed", method),
            [
                "status was killed by signal 9 (SIGKILL)",
                "submit after: refused"
            ],
            "{method}"
        );
    }
}
