//! The behaviours issue 6 names, compared line for line with the real CPython 3.11's
//! (fixtures from peers/python/mp_fixtures.py; regenerate with peers/python/regen-mp-fixtures.sh).

mod common;

use common::{fixture, scenario, METHODS};

#[test]
fn pool4_over_100_items_uses_chunksize_7_in_15_tasks() {
    for method in METHODS {
        assert_eq!(
            scenario("map_chunksize", method),
            fixture("map_chunksize"),
            "{method}"
        );
    }
}

#[test]
fn default_chunksize_matches_real_map_results_of_cpython() {
    let fixture = fixture("default_chunksizes");
    for line in &fixture {
        let numbers: Vec<usize> = line.split(' ').map(|n| n.parse().unwrap()).collect();
        let (items, workers, chunksize) = (numbers[0], numbers[1], numbers[2]);
        assert_eq!(
            procpool::default_chunksize(items, workers),
            chunksize,
            "{line}"
        );
    }
    assert_eq!(scenario("default_chunksizes", "fork"), fixture);
}

#[test]
fn imap_is_in_order_and_imap_unordered_in_completion_order() {
    for method in METHODS {
        assert_eq!(
            scenario("imap_unordered", method),
            fixture("imap_unordered"),
            "{method}"
        );
    }
}

#[test]
fn maxtasksperchild_1_runs_6_tasks_in_6_processes() {
    for method in ["spawn", "forkserver"] {
        assert_eq!(
            scenario("maxtasksperchild", method),
            fixture("maxtasksperchild"),
            "{method}"
        );
    }
}

#[test]
fn a_dead_worker_fails_the_pending_futures_of_the_executor() {
    for method in METHODS {
        let lines = scenario("broken_executor", method);
        assert_eq!(lines[..2], fixture("broken_executor")[..], "{method}");
        let broken = &lines[2];
        assert!(broken.contains("PoolWorker-2"), "{broken}");
        assert!(broken.contains("exited with status 1"), "{broken}");
        assert!(
            broken.contains("while running procpool_scenarios::sleep_or_die"),
            "{broken}"
        );
    }
}

#[test]
fn the_handshake_response_is_cpythons_hmac_sha256() {
    let lines = fixture("auth_vector");
    let field = |name: &str| {
        let hex = lines
            .iter()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .unwrap();
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect::<Vec<u8>>()
    };
    assert_eq!(
        procpool::auth::create_response(&field("key"), &field("message")),
        field("response")
    );
}
