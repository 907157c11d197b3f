//! `Runtime::stats` reports the run queues' lengths: goroutines started by a goroutine wait in
//! its P's `runnext` and local ring (Go's `runqput(pp, newg, true)`), and the queues are empty
//! again once every goroutine has run.

mod common;

use std::sync::Arc;

use common::runtime;
use goroutines::go;

const CHILDREN: u64 = 10;

#[test]
fn started_goroutines_wait_in_runnext_and_the_local_ring_until_they_run() {
    let rt = Arc::new(runtime(1));
    let inside = Arc::clone(&rt);
    let (queued, handles) = rt.run(move || {
        // One P, held by this goroutine: nobody else can take the children until it parks.
        let handles: Vec<_> = (0..CHILDREN).map(|i| go(move || i)).collect();
        (inside.stats(), handles)
    });
    // Each new goroutine takes `runnext` and kicks the one before it to the ring's tail.
    assert_eq!(queued.runnext, 1, "{queued:?}");
    assert_eq!(queued.runq_local, CHILDREN - 1, "{queued:?}");
    assert_eq!(queued.runq_global, 0, "{queued:?}");

    let sum: u64 = rt.run(move || handles.into_iter().map(|h| h.join().unwrap()).sum());
    assert_eq!(sum, (0..CHILDREN).sum());
    let quiet = rt.stats();
    assert_eq!(
        (quiet.runq_local, quiet.runnext, quiet.runq_global),
        (0, 0, 0),
        "{quiet:?}"
    );
}
