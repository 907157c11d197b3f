//! `lock_os_thread` wires a goroutine to its thread (Go's `runtime.LockOSThread`): while locked it
//! always resumes on the same OS thread, whatever it blocks on, and no other goroutine runs there.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

use goroutines::{chan, go, lock_os_thread, sleep, unlock_os_thread, yield_now, Builder};

/// Raises SIGQUIT if the returned flag is not set within `limit`: the runtime then prints every
/// goroutine and exits with status 2, so a hang fails with the dump in the test's output rather
/// than as nextest's bare timeout after 5 minutes.
fn dump_if_not_done_within(limit: Duration) -> Arc<AtomicBool> {
    let done = Arc::new(AtomicBool::new(false));
    let watched = Arc::clone(&done);
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        if !watched.load(Ordering::SeqCst) {
            eprintln!("still running after {limit:?}: SIGQUIT for the goroutine dump");
            // SAFETY: raise has no memory-safety preconditions.
            unsafe { libc::raise(libc::SIGQUIT) };
        }
    });
    done
}

/// Takes about 50 ms. It hung, rarely and only under load, while a thread handed its P to another
/// in a state that still named itself: sysmon, deciding whether to take that P, wrote the old
/// state back over the new thread's and the P was lost with the locked goroutine's timer on it
/// (`proc::p::releasep`). The watchdog stays, so that a hang prints the goroutine dump.
#[test]
fn a_locked_goroutine_stays_on_its_thread_and_keeps_it_to_itself() {
    let done = dump_if_not_done_within(Duration::from_secs(60));
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    let rt = unsafe { Builder::new().procs(2).build() }.unwrap();
    rt.run(|| {
        let locked_thread: Arc<Mutex<Option<ThreadId>>> = Arc::new(Mutex::new(None));
        let locking = Arc::new(AtomicBool::new(true));
        let intruders = Arc::new(AtomicUsize::new(0));
        let others_ran = Arc::new(AtomicUsize::new(0));
        // Churn: goroutines that yield and note which thread they run on.
        let churn: Vec<_> = (0..8)
            .map(|_| {
                let locked_thread = locked_thread.clone();
                let locking = locking.clone();
                let intruders = intruders.clone();
                let others_ran = others_ran.clone();
                go(move || {
                    while locking.load(Ordering::SeqCst) {
                        let here = std::thread::current().id();
                        if *locked_thread.lock().unwrap() == Some(here) {
                            intruders.fetch_add(1, Ordering::SeqCst);
                        }
                        others_ran.fetch_add(1, Ordering::SeqCst);
                        yield_now();
                    }
                })
            })
            .collect();
        let (tx, rx) = chan::<u32>(0);
        let pinger = go(move || {
            for i in 0..200 {
                if tx.send(i).is_err() {
                    return;
                }
            }
        });
        lock_os_thread();
        let me = std::thread::current().id();
        *locked_thread.lock().unwrap() = Some(me);
        for i in 0..200 {
            match i % 3 {
                0 => yield_now(),
                1 => sleep(Duration::from_micros(50)),
                _ => assert_eq!(rx.recv(), Ok(i / 3)),
            }
            assert_eq!(
                std::thread::current().id(),
                me,
                "locked goroutine moved threads"
            );
        }
        *locked_thread.lock().unwrap() = None;
        unlock_os_thread();
        locking.store(false, Ordering::SeqCst);
        drop(rx);
        for h in churn {
            h.join().unwrap();
        }
        let _ = pinger.join();
        assert_eq!(
            intruders.load(Ordering::SeqCst),
            0,
            "another goroutine ran on the locked thread"
        );
        assert!(others_ran.load(Ordering::SeqCst) > 0);
    });
    done.store(true, Ordering::SeqCst);
}

#[test]
fn locks_nest_and_a_plain_thread_ignores_them() {
    lock_os_thread();
    unlock_os_thread();
    unlock_os_thread();
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    let rt = unsafe { Builder::new().procs(1).build() }.unwrap();
    rt.run(|| {
        lock_os_thread();
        lock_os_thread();
        unlock_os_thread();
        let me = std::thread::current().id();
        let h = go(|| 7);
        assert_eq!(h.join().unwrap(), 7);
        assert_eq!(std::thread::current().id(), me);
        unlock_os_thread();
        // A goroutine that exits while locked releases its thread for others.
        go(lock_os_thread).join().unwrap();
        assert_eq!(go(|| 1).join().unwrap(), 1);
    });
}
