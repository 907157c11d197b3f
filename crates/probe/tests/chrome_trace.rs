//! `write_chrome_trace` writes valid Chrome Trace Event JSON that Perfetto can open.
//!
//! The output is checked with the small JSON parser in `json/`, and, where `python3` is
//! installed, with Python's `json` module as a second opinion.

use std::io::Write;
use std::process::{Command, Stdio};

use probe::trace::{write_chrome_trace, Event, EventKind};

mod json;

use json::{parse_json, Json};

fn event(ts_ns: u64, thread: u32, kind: EventKind) -> Event {
    Event {
        ts_ns,
        thread,
        process: None,
        kind,
    }
}

/// One event of every kind, on two threads, with a RunEnd whose RunBegin was never recorded
/// and a RunBegin that never ends.
fn every_kind() -> Vec<Event> {
    use EventKind::*;
    vec![
        event(
            1_000,
            1,
            RunEnd {
                task: 99,
                proc_id: 0,
            },
        ),
        event(1_500, 1, PhaseEnter { name: "timers" }),
        event(
            2_001,
            1,
            RunBegin {
                task: 7,
                proc_id: 0,
            },
        ),
        event(
            2_500,
            1,
            Spawn {
                task: 8,
                parent: Some(7),
            },
        ),
        event(
            2_600,
            2,
            Spawn {
                task: 9,
                parent: None,
            },
        ),
        event(
            3_000,
            1,
            Park {
                task: 7,
                reason: "chan \"receive\"\n",
            },
        ),
        event(
            3_100,
            1,
            RunEnd {
                task: 7,
                proc_id: 0,
            },
        ),
        event(
            3_200,
            2,
            Wake {
                task: 7,
                by: Some(8),
            },
        ),
        event(3_300, 2, Wake { task: 9, by: None }),
        event(
            3_400,
            2,
            Steal {
                from: 0,
                to: 1,
                count: 3,
            },
        ),
        event(3_500, 2, ThreadPark),
        event(3_600, 2, ThreadUnpark),
        event(3_700, 2, GilRequest),
        event(3_800, 2, GilTake),
        event(3_900, 2, GilDrop { forced: true }),
        event(4_000, 1, PhaseLeave { name: "timers" }),
        event(4_100, 1, ProcessStart { pid: 4242 }),
        event(
            4_200,
            1,
            ProcessExit {
                pid: 4242,
                status: -9,
            },
        ),
        event(4_300, 1, IpcBytes { bytes: 100 }),
        event(4_400, 1, IpcBytes { bytes: 28 }),
        event(
            4_500,
            2,
            Counter {
                name: "runqueue",
                value: -3,
            },
        ),
        event(4_600, 2, Instant { name: "gc" }),
        event(
            4_700,
            2,
            RunBegin {
                task: 9,
                proc_id: 1,
            },
        ),
    ]
}

fn write(events: &[Event], process_name: &str) -> String {
    let mut out = Vec::new();
    write_chrome_trace(events, process_name, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn trace_events(document: &Json) -> &[Json] {
    assert_eq!(document.text("displayTimeUnit"), "ns");
    match document.get("traceEvents") {
        Some(Json::List(events)) => events,
        other => panic!("traceEvents is not a list: {other:?}"),
    }
}

#[test]
fn every_event_object_has_ph_ts_pid_and_tid() {
    let text = write(&every_kind(), "goroutines");
    let document = parse_json(&text);
    let events = trace_events(&document);
    for object in events {
        object.text("name");
        object.number("ts");
        object.number("tid");
        assert_eq!(object.number("pid"), f64::from(std::process::id()));
        assert!(
            ["M", "B", "E", "i", "C"].contains(&object.text("ph")),
            "{object:?}"
        );
    }
    // Names: the process and two threads. Slices: the phase and tasks 7 and 9 begin; task 99's
    // end has no begin and is skipped; task 9 never ends. IpcBytes twice and Counter once count.
    let phases: Vec<&str> = events.iter().map(|object| object.text("ph")).collect();
    assert_eq!(phases.iter().filter(|&&ph| ph == "M").count(), 3);
    assert_eq!(phases.iter().filter(|&&ph| ph == "B").count(), 3);
    assert_eq!(phases.iter().filter(|&&ph| ph == "E").count(), 2);
    assert_eq!(phases.iter().filter(|&&ph| ph == "C").count(), 3);
    assert_eq!(phases.iter().filter(|&&ph| ph == "i").count(), 14);
}

#[test]
fn names_timestamps_and_args_read_back() {
    let text = write(&every_kind(), "uv \"loop\"\\1");
    let document = parse_json(&text);
    let events = trace_events(&document);
    let process = &events[0];
    assert_eq!(process.text("name"), "process_name");
    assert_eq!(process.get("args").unwrap().text("name"), "uv \"loop\"\\1");
    assert_eq!(events[1].get("args").unwrap().text("name"), "thread 1");
    assert_eq!(events[2].get("args").unwrap().text("name"), "thread 2");

    let run = events
        .iter()
        .find(|object| object.text("ph") == "B" && object.text("name") == "task 7");
    let run = run.expect("task 7 begins");
    assert_eq!(run.number("ts"), 2.001);
    assert_eq!(run.number("tid"), 1.0);
    assert!(
        text.contains("\"ts\":2.001,"),
        "microseconds with three decimals"
    );

    let park = events
        .iter()
        .find(|object| object.text("name") == "park")
        .unwrap();
    assert_eq!(
        park.get("args").unwrap().text("reason"),
        "chan \"receive\"\n"
    );
    assert_eq!(park.text("s"), "t");

    let spawn = events
        .iter()
        .find(|object| object.text("name") == "spawn")
        .unwrap();
    assert_eq!(
        spawn.get("args").unwrap().get("parent"),
        Some(&Json::Number(7.0))
    );
    let wake = events
        .iter()
        .rfind(|object| object.text("name") == "wake")
        .unwrap();
    assert_eq!(wake.get("args").unwrap().get("by"), Some(&Json::Null));
    let drop = events
        .iter()
        .find(|object| object.text("name") == "gil drop")
        .unwrap();
    assert_eq!(
        drop.get("args").unwrap().get("forced"),
        Some(&Json::Bool(true))
    );

    let ipc: Vec<f64> = events
        .iter()
        .filter(|object| object.text("name") == "ipc bytes")
        .map(|object| object.get("args").unwrap().number("value"))
        .collect();
    assert_eq!(ipc, [100.0, 128.0], "cumulative");
    let counter = events
        .iter()
        .find(|object| object.text("name") == "runqueue")
        .unwrap();
    assert_eq!(counter.get("args").unwrap().number("value"), -3.0);
}

#[test]
fn ends_close_inner_slices_and_unmatched_ends_are_skipped() {
    use EventKind::*;
    let events = [
        event(
            1_000,
            1,
            RunEnd {
                task: 1,
                proc_id: 0,
            },
        ),
        event(
            2_000,
            1,
            RunBegin {
                task: 2,
                proc_id: 0,
            },
        ),
        event(3_000, 1, PhaseEnter { name: "check" }),
        event(
            4_000,
            1,
            RunEnd {
                task: 2,
                proc_id: 0,
            },
        ),
        event(5_000, 1, PhaseLeave { name: "check" }),
    ];
    let document = parse_json(&write(&events, "p"));
    let slices: Vec<(&str, &str, f64)> = trace_events(&document)
        .iter()
        .filter(|object| object.text("ph") != "M")
        .map(|object| (object.text("ph"), object.text("name"), object.number("ts")))
        .collect();
    assert_eq!(
        slices,
        [
            ("B", "task 2", 2.0),
            ("B", "check", 3.0),
            ("E", "check", 4.0),
            ("E", "task 2", 4.0),
        ]
    );
}

#[test]
fn events_of_another_process_go_under_its_pid_with_their_own_names() {
    use EventKind::*;
    let worker = |ts_ns, kind| Event {
        ts_ns,
        thread: 4242,
        process: Some(4242),
        kind,
    };
    let events = [
        event(
            1_000,
            1,
            RunBegin {
                task: 1,
                proc_id: 0,
            },
        ),
        worker(
            1_500,
            RunBegin {
                task: 1,
                proc_id: 0,
            },
        ),
        worker(
            2_500,
            RunEnd {
                task: 1,
                proc_id: 0,
            },
        ),
        event(
            3_000,
            1,
            RunEnd {
                task: 1,
                proc_id: 0,
            },
        ),
    ];
    let document = parse_json(&write(&events, "pool"));
    let own = f64::from(std::process::id());
    let rows: Vec<(&str, &str, f64, f64)> = trace_events(&document)
        .iter()
        .map(|object| {
            let name = if object.text("ph") == "M" {
                object.get("args").unwrap().text("name")
            } else {
                object.text("name")
            };
            (
                object.text("ph"),
                name,
                object.number("pid"),
                object.number("tid"),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("M", "pool", own, 0.0),
            ("M", "process 4242", 4242.0, 0.0),
            ("M", "thread 1", own, 1.0),
            ("M", "thread 4242", 4242.0, 4242.0),
            ("B", "task 1", own, 1.0),
            ("B", "task 1", 4242.0, 4242.0),
            ("E", "task 1", 4242.0, 4242.0),
            ("E", "task 1", own, 1.0),
        ],
        "each process's slices nest on their own"
    );
}

#[test]
fn an_empty_trace_is_valid() {
    let document = parse_json(&write(&[], "empty"));
    assert_eq!(trace_events(&document).len(), 1);
}

#[test]
fn python_json_accepts_the_output_where_python_is_installed() {
    let text = write(&every_kind(), "goroutines\t\u{1}");
    let Ok(mut python) = Command::new("python3")
        .args(["-c", "import json,sys; json.load(sys.stdin)"])
        .stdin(Stdio::piped())
        .spawn()
    else {
        return;
    };
    let mut stdin = python.stdin.take().unwrap();
    stdin.write_all(text.as_bytes()).unwrap();
    drop(stdin);
    assert!(python.wait().unwrap().success());
}
