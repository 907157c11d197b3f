//! 100,000 goroutines parked at once must not cost a memory mapping each: the process's map
//! count (lines of `/proc/self/maps`) stays far below the kernel's default `vm.max_map_count`
//! (65,530), which one guarded mapping per stack would pass at about 32,700 goroutines.

mod common;

use common::{runtime, wait_parked};

use goroutines::{chan, go};

const GOROUTINES: usize = 100_000;
const MAP_LIMIT: usize = 10_000;

fn map_count() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .count()
}

#[test]
fn hundred_thousand_parked_goroutines_stay_far_below_the_map_limit() {
    let before = map_count();
    let rt = runtime(2);
    let (gate, gate_rx) = chan::<()>(0);
    let handles = rt.run(move || {
        (0..GOROUTINES)
            .map(|_| {
                let gate_rx = gate_rx.clone();
                go(move || gate_rx.recv().is_err())
            })
            .collect::<Vec<_>>()
    });
    wait_parked(&rt, "chan receive", GOROUTINES);
    let parked = map_count();
    assert!(
        parked < MAP_LIMIT,
        "{parked} maps with {GOROUTINES} goroutines parked ({before} before)"
    );
    drop(gate);
    println!("maps: {before} before the runtime, {parked} with {GOROUTINES} goroutines parked");
    let closed = rt.run(move || {
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|&woken_by_close| woken_by_close)
            .count()
    });
    assert_eq!(closed, GOROUTINES);
}
