//! Tracing through probe: processes started and exited, every frame's size, exact counts.

mod common;

use common::{scenario, METHODS};

#[test]
fn two_workers_two_chunks_give_two_starts_two_exits_and_two_frames_each_way() {
    for method in METHODS {
        assert_eq!(
            scenario("trace", method),
            [
                "process start 2",
                "process exit 2",
                "frames sent 2",
                "frames received 2",
                "ipc bytes events 4",
            ],
            "{method}"
        );
    }
}
