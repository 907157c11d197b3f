//! Ten threads sleeping 0.2 s take about 0.2 s (CPython here: 0.205 s): `time.sleep` releases the
//! GIL. The same sleep without releasing it (a C call that blocks) serialises the threads.

mod common;

use std::time::{Duration, Instant};

use gil_threads::{GilMode, Interpreter};

#[test]
fn ten_threads_sleeping_overlap() {
    let interpreter = Interpreter::new(GilMode::On);
    let started = Instant::now();
    let handles: Vec<_> = (0..10)
        .map(|_| {
            interpreter
                .spawn(|py| py.sleep(Duration::from_millis(200)))
                .unwrap()
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let wall = started.elapsed();
    assert!(wall >= Duration::from_millis(200));
    assert!(
        wall < Duration::from_millis(600),
        "ten sleeps took {wall:?}"
    );
    let account = interpreter.account();
    assert_eq!(account.threads.len(), 10);
    // Each thread took the GIL at start and after its sleep.
    assert!(account.threads.iter().all(|thread| thread.takes == 2));
}

#[test]
fn sleeping_while_holding_the_gil_serialises_the_threads() {
    let interpreter = Interpreter::new(GilMode::On);
    let started = Instant::now();
    let handles: Vec<_> = (0..10)
        .map(|_| {
            interpreter
                .spawn(|_| std::thread::sleep(Duration::from_millis(30)))
                .unwrap()
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let wall = started.elapsed();
    // Each holds the GIL for its whole sleep: the sleeps cannot overlap.
    assert!(wall >= Duration::from_millis(300), "took only {wall:?}");
}
