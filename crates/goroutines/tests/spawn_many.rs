//! 100,000 goroutines parked at once on one channel, then released and joined. Half are released
//! by a value each, half by the close, so exactly 50,000 receive a value; once all are joined the
//! runtime's live goroutine count returns to zero.

mod common;

use common::{runtime, wait_parked};

use std::time::{Duration, Instant};

use goroutines::{chan, go};

const GOROUTINES: usize = 100_000;

#[test]
fn hundred_thousand_parked_goroutines_are_released_and_joined() {
    let rt = runtime(2);
    let (gate, gate_rx) = chan::<usize>(0);
    let handles = rt.run(move || {
        (0..GOROUTINES)
            .map(|_| {
                let gate_rx = gate_rx.clone();
                go(move || gate_rx.recv().ok())
            })
            .collect::<Vec<_>>()
    });
    wait_parked(&rt, "chan receive", GOROUTINES);
    assert!(
        rt.stats().goroutines >= GOROUTINES as u64,
        "{:?}",
        rt.stats()
    );

    // Each value goes to exactly one parked receiver; the close wakes all the others.
    for v in 0..GOROUTINES / 2 {
        gate.send(v).unwrap();
    }
    assert!(gate.close());
    let mut received = rt.run(move || {
        handles
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect::<Vec<usize>>()
    });
    received.sort_unstable();
    assert_eq!(received, (0..GOROUTINES / 2).collect::<Vec<_>>());

    // A goroutine leaves the count just after its result is published, so the count may lag
    // the joins briefly.
    let deadline = Instant::now() + Duration::from_secs(5);
    while rt.stats().goroutines != 0 {
        assert!(Instant::now() < deadline, "still live: {:?}", rt.stats());
        std::thread::yield_now();
    }
}
