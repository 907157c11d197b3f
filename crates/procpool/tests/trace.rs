//! Tracing through probe: processes started and exited, every frame's size, and each worker's
//! task runs shipped back to the parent as events of the worker's own process, exact counts.

mod common;

use common::{scenario, METHODS};

#[test]
fn two_workers_two_chunks_give_two_starts_two_exits_two_frames_each_way_and_a_run_each() {
    for method in METHODS {
        assert_eq!(
            scenario("trace", method),
            [
                "process start 2",
                "process exit 2",
                "frames sent 2",
                "frames received 2",
                "ipc bytes events 4",
                "worker processes with events 2",
                "worker runs 2 begun 2 ended",
                "worker events between the first request and the last reply 4 of 4",
            ],
            "{method}"
        );
    }
}
