//! `sync::Cond`: Go's `sync/cond_test.go` ported (`TestCondSignal`, `TestCondSignalGenerations`,
//! `TestCondBroadcast`, `TestCondSignalStealing`), the wait reason in the goroutine dump, and a
//! plain thread waiting beside goroutines.

mod common;

use common::{runtime, wait_parked};

use std::sync::Arc;

use goroutines::sync::{Cond, Mutex};
use goroutines::{chan, go, select};

/// `TestCondSignal`: two waiters; each signal wakes exactly one.
#[test]
fn signal_wakes_one_waiter() {
    runtime(2).run(|| {
        let shared = Arc::new((Mutex::new(()), Cond::new()));
        let waiters = 2;
        let (running_tx, running_rx) = chan::<()>(waiters);
        let (awake_tx, awake_rx) = chan::<()>(waiters);
        for _ in 0..waiters {
            let (shared, running, awake) = (shared.clone(), running_tx.clone(), awake_tx.clone());
            go(move || {
                let guard = shared.0.lock();
                running.send(()).unwrap();
                let guard = shared.1.wait(guard);
                awake.send(()).unwrap();
                drop(guard);
            });
        }
        for _ in 0..waiters {
            running_rx.recv().unwrap();
        }
        for _ in 0..waiters {
            assert!(awake_rx.try_recv().is_err(), "a goroutine was not asleep");
            let guard = shared.0.lock();
            shared.1.signal();
            drop(guard);
            awake_rx.recv().unwrap();
            assert!(awake_rx.try_recv().is_err(), "too many goroutines awake");
        }
        shared.1.signal();
    });
}

/// `TestCondSignalGenerations`: 100 waiters, each started after the previous was signalled;
/// every signal wakes the one that has waited longest.
#[test]
fn signals_wake_waiters_in_the_order_they_waited() {
    runtime(2).run(|| {
        let shared = Arc::new((Mutex::new(()), Cond::new()));
        let n = 100;
        let (running_tx, running_rx) = chan::<()>(n);
        let (awake_tx, awake_rx) = chan::<usize>(n);
        for i in 0..n {
            let (mine, running, awake) = (shared.clone(), running_tx.clone(), awake_tx.clone());
            go(move || {
                let guard = mine.0.lock();
                running.send(()).unwrap();
                let guard = mine.1.wait(guard);
                awake.send(i).unwrap();
                drop(guard);
            });
            if i > 0 {
                assert_eq!(
                    awake_rx.recv().unwrap(),
                    i - 1,
                    "the wrong goroutine woke up"
                );
            }
            running_rx.recv().unwrap();
            let guard = shared.0.lock();
            shared.1.signal();
            drop(guard);
        }
    });
}

/// `TestCondBroadcast`: 200 goroutines wait again after each wake-up; each broadcast wakes all
/// of them, each once; the last lets them exit.
#[test]
fn broadcast_wakes_every_waiter_once() {
    runtime(2).run(|| {
        let n = 200;
        let shared = Arc::new((Mutex::new(false), Cond::new()));
        let (running_tx, running_rx) = chan::<usize>(n);
        let (awake_tx, awake_rx) = chan::<usize>(n);
        for g in 0..n {
            let (shared, running, awake) = (shared.clone(), running_tx.clone(), awake_tx.clone());
            go(move || {
                let mut exit = shared.0.lock();
                while !*exit {
                    running.send(g).unwrap();
                    exit = shared.1.wait(exit);
                    awake.send(g).unwrap();
                }
            });
        }
        for round in 0..n {
            for _ in 0..n {
                running_rx.recv().unwrap();
            }
            if round == n - 1 {
                *shared.0.lock() = true;
            }
            assert!(awake_rx.try_recv().is_err(), "a goroutine was not asleep");
            let guard = shared.0.lock();
            shared.1.broadcast();
            drop(guard);
            let mut seen = vec![false; n];
            for _ in 0..n {
                let g = awake_rx.recv().unwrap();
                assert!(!seen[g], "goroutine {g} woke up twice");
                seen[g] = true;
            }
        }
        select! {
            recv(running_rx) -> g => panic!("goroutine {g:?} did not exit"),
            default => {}
        }
        shared.1.broadcast();
    });
}

/// `TestCondSignalStealing`: a broadcast racing a second waiter's arrival must still wake the
/// first waiter (the newcomer may or may not be woken), 1,000 times.
#[test]
fn a_racing_waiter_cannot_steal_the_first_waiters_wake_up() {
    runtime(2).run(|| {
        for _ in 0..1000 {
            let shared = Arc::new((Mutex::new(false), Cond::new()));
            let (tx, rx) = chan::<()>(0);
            {
                let (shared, tx) = (shared.clone(), tx.clone());
                go(move || {
                    let guard = shared.0.lock();
                    tx.send(()).unwrap();
                    drop(shared.1.wait(guard));
                    tx.send(()).unwrap();
                });
            }
            rx.recv().unwrap();
            // The waiter held the mutex when it sent: once we get the mutex, it is in `wait`.
            drop(shared.0.lock());
            {
                let shared = shared.clone();
                go(move || shared.1.broadcast());
            }
            {
                let shared = shared.clone();
                go(move || drop(shared.1.wait_while(shared.0.lock(), |done| !*done)));
            }
            // The first waiter must have been woken.
            rx.recv().unwrap();
            *shared.0.lock() = true;
            shared.1.broadcast();
        }
    });
}

/// A goroutine and a plain thread wait on one `Cond`; the dump shows the goroutine's wait
/// reason as Go prints it; one broadcast wakes both.
#[test]
fn goroutines_and_plain_threads_wait_together() {
    let rt = runtime(2);
    let shared = Arc::new((Mutex::new(0u32), Cond::new()));
    let goroutine = {
        let shared = shared.clone();
        rt.go(move || *shared.1.wait_while(shared.0.lock(), |n| *n == 0))
    };
    wait_parked(&rt, "sync.Cond.Wait", 1);
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let thread = {
        let shared = shared.clone();
        std::thread::spawn(move || {
            let guard = shared.0.lock();
            started_tx.send(()).unwrap();
            *shared.1.wait_while(guard, |n| *n == 0)
        })
    };
    started_rx.recv().unwrap();
    // The thread held the mutex when it said so: once we hold it, it is waiting.
    let mut n = shared.0.lock();
    *n = 7;
    shared.1.broadcast();
    drop(n);
    assert_eq!(goroutine.join().unwrap(), 7);
    assert_eq!(thread.join().unwrap(), 7);
}
