//! The end-of-run account: per thread, time holding and waiting, takes, forced switches.

mod common;

use std::time::{Duration, Instant};

use common::python_spin;
use gil_threads::{GilMode, Interpreter};

#[test]
fn two_spinners_account_for_their_switches() {
    let interpreter = Interpreter::new(GilMode::On);
    let started = Instant::now();
    let handles: Vec<_> = (0..2)
        .map(|_| {
            interpreter
                .spawn(|py| python_spin(py, Duration::from_millis(80)))
                .unwrap()
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let wall = started.elapsed();
    let account = interpreter.account();
    assert_eq!(account.mode, GilMode::On);
    assert_eq!(account.switch_interval, 0.005);
    let names: Vec<&str> = account.threads.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["Thread-1", "Thread-2"]);
    for thread in &account.threads {
        // Every take found the other spinner holding the GIL, but the first and one after the
        // other thread had ended.
        assert!(thread.takes - thread.waits <= 2, "{thread:?}");
        // Each forced switch answered a request of the other thread.
        assert!(thread.forced_switches >= 1, "{thread:?}");
        assert!(thread.holding + thread.waiting <= wall, "{thread:?}");
    }
    let forced: u64 = account.threads.iter().map(|t| t.forced_switches).sum();
    let requests: u64 = account.threads.iter().map(|t| t.drop_requests).sum();
    assert!(requests >= forced);
    let holding: Duration = account.threads.iter().map(|t| t.holding).sum();
    assert!(holding <= wall);
}

#[test]
fn the_account_prints_as_a_table() {
    let interpreter = Interpreter::new(GilMode::Off);
    interpreter.set_switch_interval(0.001).unwrap();
    interpreter.spawn(|py| py.check()).unwrap().join().unwrap();
    let printed = interpreter.account().to_string();
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines[0], "gil=off, switch interval 1 ms");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        [
            "thread",
            "holding_ms",
            "waiting_ms",
            "takes",
            "waits",
            "forced",
            "requests"
        ]
    );
    let row: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(row[0], "Thread-1");
    assert_eq!(row[2..], ["0.0", "1", "0", "0", "0"]);
    assert_eq!(lines.len(), 3);
}
