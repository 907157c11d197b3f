//! A task's failure is that task's error, and the pool carries on: a panic (with the worker's
//! message), a result or arguments over the frame limit, arguments the worker cannot decode, a
//! task not registered in the worker.

mod common;

use common::{scenario, METHODS};

#[test]
fn each_failure_is_the_tasks_own_and_the_pool_survives() {
    let here = "crates/procpool/src/bin/procpool-scenarios.rs:";
    for method in METHODS {
        let lines = scenario("task_errors", method);
        let expected = [
            format!("panic: error the task panicked: task 3 refused (at {here}"),
            format!("map with a panic: error the task panicked: task 3 refused (at {here}"),
            "big result: error the result (10006 bytes encoded) is over the frame limit of 4096 bytes".to_owned(),
            "big arguments: error the task's arguments: a frame of 10036 bytes is over the limit of 4096 bytes".to_owned(),
            "mistyped: error the arguments of \"procpool_scenarios::negate\" did not decode: Found a bool that wasn't 0 or 1".to_owned(),
            "unregistered: error no task named \"nowhere::unregistered\" is registered in the worker".to_owned(),
            "afterwards: ok 5".to_owned(),
            "broken false".to_owned(),
        ];
        assert_eq!(lines.len(), expected.len(), "{method}: {lines:#?}");
        for (line, expected) in lines.iter().zip(&expected) {
            assert!(
                line.starts_with(expected.as_str()),
                "{method}: {line:?} vs {expected:?}"
            );
        }
    }
}

#[test]
fn a_malformed_or_oversize_reply_fails_its_task_and_the_pool_does_not_hang() {
    // Spawn only: the sabotaging task finds its worker's socket in PROCPOOL_WORKER.
    let lines = scenario("bad_reply", "spawn");
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert!(
        lines[0].starts_with("oversize false: malformed reply: "),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines[1],
        "oversize false: next task: broken, worker exited with status 0"
    );
    assert_eq!(
        lines[2],
        "oversize true: malformed reply: a reply of 2147483647 bytes is over the frame limit"
    );
    assert_eq!(
        lines[3],
        "oversize true: next task: broken, worker exited with status 0"
    );
}
