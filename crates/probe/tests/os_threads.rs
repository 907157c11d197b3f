//! `os_threads()` counts the OS threads of this process. The only test in its binary, so no
//! other test's thread changes the count under it.

use std::sync::Barrier;
use std::thread;

#[test]
fn counts_each_spawned_thread_exactly() {
    let before = probe::threads::os_threads().unwrap();
    assert!(before >= 1);
    let started = Barrier::new(4);
    let release = Barrier::new(4);
    thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                started.wait();
                release.wait();
            });
        }
        started.wait();
        assert_eq!(probe::threads::os_threads().unwrap(), before + 3);
        release.wait();
    });
}
