//! `blocking` is Go's entersyscall/exitsyscall: a goroutine in a long blocking call keeps its
//! thread but not its P, so on one P the other goroutines keep running.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use goroutines::{blocking, chan, go, Builder};

#[test]
fn other_goroutines_run_during_a_long_blocking_call_on_one_p() {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    let rt = unsafe { Builder::new().procs(1).build() }.unwrap();
    let (during, value) = rt.run(|| {
        let in_call = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (ping_tx, ping_rx) = chan::<u64>(0);
        let (pong_tx, pong_rx) = chan::<u64>(0);
        let echo = go(move || {
            for v in ping_rx.iter() {
                if pong_tx.send(v).is_err() {
                    return;
                }
            }
        });
        let (flag, done) = (in_call.clone(), stop.clone());
        let pinger = go(move || {
            let mut during = 0u64;
            let mut i = 0u64;
            while !done.load(Ordering::Relaxed) {
                ping_tx.send(i).unwrap();
                assert_eq!(pong_rx.recv(), Ok(i));
                i += 1;
                if flag.load(Ordering::Relaxed) {
                    during += 1;
                }
            }
            during
        });
        let sleeper = go(move || {
            blocking(|| {
                in_call.store(true, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(300));
                in_call.store(false, Ordering::Relaxed);
                42
            })
        });
        let value = sleeper.join().unwrap();
        stop.store(true, Ordering::Relaxed);
        let during = pinger.join().unwrap();
        echo.join().unwrap();
        (during, value)
    });
    assert_eq!(value, 42);
    // Without the hand-off the pair could not run at all while the only P's thread sleeps.
    assert!(
        during > 1000,
        "only {during} round trips during the blocking call"
    );
}

#[test]
fn a_panic_inside_blocking_propagates_and_the_runtime_survives() {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    let rt = unsafe { Builder::new().procs(1).build() }.unwrap();
    let r = rt.go(|| blocking(|| panic!("in the call"))).join();
    assert!(r.is_err());
    assert_eq!(rt.run(|| blocking(|| 7)), 7);
}

#[test]
fn blocking_on_a_plain_thread_just_calls() {
    assert_eq!(blocking(|| 5), 5);
}
