//! `yield_now` puts the goroutine at the back of its P's run queue: two goroutines on one P that
//! yield in a loop run in strict alternation.

use std::sync::{Arc, Mutex};

use goroutines::{go, yield_now, Runtime};

const ROUNDS: usize = 100;

#[test]
fn two_goroutines_on_one_p_alternate_when_they_yield() {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls; the log's
    // guard is dropped before each yield.
    let rt: Runtime = unsafe { goroutines::Builder::new().procs(1).build() }.unwrap();
    let log = rt.run(|| {
        let log = Arc::new(Mutex::new(Vec::with_capacity(2 * ROUNDS)));
        let spawn = |name: char| {
            let log = log.clone();
            go(move || {
                for _ in 0..ROUNDS {
                    log.lock().unwrap().push(name);
                    yield_now();
                }
            })
        };
        let (a, b) = (spawn('a'), spawn('b'));
        a.join().unwrap();
        b.join().unwrap();
        Arc::try_unwrap(log).unwrap().into_inner().unwrap()
    });
    assert_eq!(log.len(), 2 * ROUNDS);
    // Strict alternation from the moment both have started (the first entry of the second one)
    // to the moment the first one finishes.
    let first = log[0];
    let both_started = log.iter().position(|&c| c != first).unwrap();
    let ends = |name: char| log.iter().rposition(|&c| c == name).unwrap();
    let first_done = ends('a').min(ends('b'));
    let window: String = log[both_started - 1..=first_done].iter().collect();
    assert!(
        window.as_bytes().windows(2).all(|w| w[0] != w[1]),
        "not alternating: {}",
        log.iter().collect::<String>()
    );
    // Both start before either has run twice.
    assert!(
        both_started <= 1,
        "second goroutine started late: {}",
        log.iter().collect::<String>()
    );
}
