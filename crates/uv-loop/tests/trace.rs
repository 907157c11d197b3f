//! Probe tracing: each loop phase entered and left, each Node timer and immediate callback,
//! and thread-pool work start/end on the pool's threads.

use probe::trace::EventKind;
use uv_loop::{queue_work, run, set_immediate, set_timeout};

#[test]
fn phases_callbacks_and_pool_work_are_recorded() {
    probe::trace::start();
    run(|| {
        set_immediate(|| {});
        set_immediate(|| {});
        set_timeout(|| {}, 1);
        queue_work(|| 7, |_| {});
    })
    .expect("run");
    let events = probe::trace::stop();
    let count =
        |wanted: &dyn Fn(&EventKind) -> bool| events.iter().filter(|e| wanted(&e.kind)).count();
    assert_eq!(
        count(&|k| matches!(k, EventKind::Instant { name: "immediate" })),
        2
    );
    assert_eq!(
        count(&|k| matches!(k, EventKind::Instant { name: "timeout" })),
        1
    );
    let work_begins: Vec<_> = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::RunBegin { proc_id, .. } if proc_id > 0 => Some(proc_id),
            _ => None,
        })
        .collect();
    assert_eq!(work_begins.len(), 1, "one pool job, on a pool thread");
    assert_eq!(
        count(&|k| matches!(k, EventKind::RunEnd { proc_id, .. } if *proc_id > 0)),
        1
    );
    for phase in [
        "timers", "pending", "idle", "prepare", "poll", "check", "closing",
    ] {
        let enters = count(&|k| matches!(k, EventKind::PhaseEnter { name } if *name == phase));
        let leaves = count(&|k| matches!(k, EventKind::PhaseLeave { name } if *name == phase));
        assert!(enters > 0, "{phase} entered");
        assert_eq!(enters, leaves, "{phase} entered and left as often");
    }
    // The loop thread's phases never nest.
    let mut open: Option<&str> = None;
    for event in events
        .iter()
        .filter(|e| work_begins.is_empty() || e.thread == events[0].thread)
    {
        match event.kind {
            EventKind::PhaseEnter { name } => {
                assert_eq!(open, None, "{name} entered inside another phase");
                open = Some(name);
            }
            EventKind::PhaseLeave { name } => {
                assert_eq!(open, Some(name));
                open = None;
            }
            _ => {}
        }
    }
}
