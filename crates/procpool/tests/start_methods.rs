//! Fork only from a single-threaded process; maxtasksperchild refused with fork (as
//! ProcessPoolExecutor's max_tasks_per_child is in 3.11).

mod common;

use common::scenario;

#[test]
fn fork_is_refused_while_another_thread_runs_and_allowed_after() {
    let lines = scenario("fork_refused", "fork");
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(lines[0].starts_with("fork with 2 threads: cannot fork: the process has 2 threads"));
    assert_eq!(lines[1], "fork with 1 thread: started");
    assert!(lines[2].starts_with(
        "maxtasksperchild with fork: maxtasksperchild is incompatible with the fork start method"
    ));
}

#[test]
fn a_fork_pool_with_maxtasksperchild_is_refused_at_creation() {
    assert!(
        std::process::Command::new(env!("CARGO_BIN_EXE_procpool-scenarios"))
            .args(["maxtasksperchild", "fork"])
            .output()
            .map(|out| !out.status.success()
                && String::from_utf8_lossy(&out.stderr).contains("incompatible with the fork"))
            .unwrap()
    );
}

#[test]
fn an_unknown_start_method_or_scenario_is_a_usage_error() {
    let status = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_procpool-scenarios"))
            .args(args)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(status(&["map_chunksize", "vfork"]), Some(2));
    assert_eq!(status(&["no_such_scenario"]), Some(2));
}

#[test]
fn start_methods_have_cpythons_names() {
    for name in ["fork", "spawn", "forkserver"] {
        assert_eq!(
            procpool::StartMethod::from_name(name).map(|m| m.name()),
            Some(name)
        );
    }
}

#[test]
fn the_fork_server_turns_away_a_client_without_the_key_and_serves_the_pool() {
    assert_eq!(
        scenario("forkserver_auth", "forkserver"),
        [
            "stranger: digest sent was rejected",
            "pool afterwards: [0, 1, 2]"
        ]
    );
}

#[test]
fn a_multithreaded_program_gets_a_spawned_fork_server() {
    // "spawn" only keeps the driver from starting the server before the scenario's thread.
    assert_eq!(
        scenario("forkserver_threaded", "spawn"),
        ["server is our child: true", "map [0, 1, 2, 3]"]
    );
}
