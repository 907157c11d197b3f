//! Tracing is off until `start()`, and `record()` outside a recording keeps nothing.

use probe::trace::{self, EventKind};

#[test]
fn off_until_started_and_records_nothing_while_off() {
    assert!(!trace::enabled());
    trace::record(EventKind::Instant { name: "ignored" });

    trace::start();
    assert!(trace::enabled());
    let events = trace::stop();
    assert!(!trace::enabled());
    assert_eq!(events, []);

    trace::record(EventKind::Instant { name: "after stop" });
    trace::start();
    assert_eq!(trace::stop(), []);
}
