//! `sync::RwLock`: Go's `sync/rwmutex_test.go` ported (`TestRWMutex`'s try operations,
//! `TestParallelReaders`, `HammerRWMutex`), writer preference as Go documents it, a guard held
//! across parks and a panic, and goroutines sharing the lock with plain OS threads.

mod common;

use common::{runtime, wait_parked};

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};

use goroutines::sync::RwLock;
use goroutines::{chan, go, yield_now, Runtime};

/// `TestRWMutex`, first half: what `try_read` and `try_write` may take (no runtime needed).
#[test]
fn try_read_and_try_write_follow_go() {
    let lock = RwLock::new(());
    let writing = lock.write();
    assert!(
        lock.try_write().is_none(),
        "try_write with the lock write-locked"
    );
    assert!(
        lock.try_read().is_none(),
        "try_read with the lock write-locked"
    );
    drop(writing);

    let writing = lock.try_write().expect("try_write with the lock unlocked");
    drop(writing);

    let first = lock.try_read().expect("try_read with the lock unlocked");
    let second = lock.try_read().expect("try_read with the lock read-locked");
    assert!(
        lock.try_write().is_none(),
        "try_write with the lock read-locked"
    );
    drop((first, second));
    assert!(
        lock.try_write().is_some(),
        "try_write once every reader left"
    );
}

/// `doTestParallelReaders`: `readers` goroutines all hold read guards at once (each says so,
/// then waits to be told to unlock), on `procs` Ps.
fn parallel_readers(rt: &Runtime, readers: usize) {
    rt.run(move || {
        let lock = Arc::new(RwLock::new(()));
        let (locked_tx, locked_rx) = chan::<()>(0);
        let (unlock_tx, unlock_rx) = chan::<()>(0);
        let (done_tx, done_rx) = chan::<()>(0);
        for _ in 0..readers {
            let (lock, locked, unlock, done) = (
                lock.clone(),
                locked_tx.clone(),
                unlock_rx.clone(),
                done_tx.clone(),
            );
            go(move || {
                let guard = lock.read();
                locked.send(()).unwrap();
                unlock.recv().unwrap();
                drop(guard);
                done.send(()).unwrap();
            });
        }
        // Every reader holds its guard before any is told to let go.
        for _ in 0..readers {
            locked_rx.recv().unwrap();
        }
        for _ in 0..readers {
            unlock_tx.send(()).unwrap();
        }
        for _ in 0..readers {
            done_rx.recv().unwrap();
        }
    });
}

#[test]
fn parallel_readers_hold_the_lock_together() {
    let four = runtime(4);
    parallel_readers(&four, 1);
    parallel_readers(&four, 3);
    parallel_readers(&runtime(2), 4);
}

/// `HammerRWMutex`: two writers and `readers` readers, `iterations` each; `activity` counts
/// active readers plus 10,000 per active writer, and each checks it sees only its own kind.
fn hammer(rt: &Runtime, readers: usize, iterations: usize) {
    rt.run(move || {
        let lock = Arc::new(RwLock::new(()));
        let activity = Arc::new(AtomicI32::new(0));
        let writer = || {
            let (lock, activity) = (lock.clone(), activity.clone());
            go(move || {
                for _ in 0..iterations {
                    let guard = lock.write();
                    let n = activity.fetch_add(10_000, Ordering::SeqCst) + 10_000;
                    assert_eq!(n, 10_000, "a writer beside another holder");
                    (0..100).for_each(|_| std::hint::spin_loop());
                    activity.fetch_sub(10_000, Ordering::SeqCst);
                    drop(guard);
                }
            })
        };
        let reader = || {
            let (lock, activity) = (lock.clone(), activity.clone());
            go(move || {
                for _ in 0..iterations {
                    let guard = lock.read();
                    let n = activity.fetch_add(1, Ordering::SeqCst) + 1;
                    assert!((1..10_000).contains(&n), "a reader beside a writer: {n}");
                    (0..100).for_each(|_| std::hint::spin_loop());
                    activity.fetch_sub(1, Ordering::SeqCst);
                    drop(guard);
                }
            })
        };
        let mut all = vec![writer()];
        all.extend((0..readers / 2).map(|_| reader()));
        all.push(writer());
        all.extend((readers / 2..readers).map(|_| reader()));
        for handle in all {
            handle.join().expect("a hammer goroutine failed");
        }
    });
}

#[test]
fn hammer_on_one_p() {
    let rt = runtime(1);
    for readers in [1, 3, 10] {
        hammer(&rt, readers, 1000);
    }
}

#[test]
fn hammer_on_two_and_four_ps() {
    for procs in [2, 4] {
        let rt = runtime(procs);
        for readers in [1, 3, 10, 5] {
            hammer(&rt, readers, 1000);
        }
    }
}

/// Go's documented writer preference: with a reader in, a writer waits; a reader coming after
/// the writer waits behind it (`try_read` fails), and gets in only after the writer had the
/// lock. The parked goroutines show their wait reasons in the dump.
#[test]
fn a_waiting_writer_holds_back_later_readers() {
    let rt = runtime(2);
    let lock = Arc::new(RwLock::new(Vec::<&str>::new()));
    let (release_tx, release_rx) = chan::<()>(0);
    let (locked_tx, locked_rx) = chan::<()>(0);
    let first_reader = {
        let lock = lock.clone();
        rt.go(move || {
            let guard = lock.read();
            locked_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            drop(guard);
        })
    };
    locked_rx.recv().unwrap();
    let writer = {
        let lock = lock.clone();
        rt.go(move || lock.write().push("writer"))
    };
    wait_parked(&rt, "sync.RWMutex.Lock", 1);
    assert!(
        lock.try_read().is_none(),
        "try_read got in ahead of a waiting writer"
    );
    let late_reader = {
        let lock = lock.clone();
        rt.go(move || lock.read().len())
    };
    wait_parked(&rt, "sync.RWMutex.RLock", 1);
    release_tx.send(()).unwrap();
    first_reader.join().unwrap();
    writer.join().unwrap();
    assert_eq!(late_reader.join().unwrap(), 1, "the late reader ran first");
    assert_eq!(*lock.read(), ["writer"]);
}

/// A writer keeps its guard across a sleep and a yield while readers and another writer park;
/// a goroutine that panics with the write guard releases it; the data stays consistent.
#[test]
fn guards_are_held_across_parks_and_released_by_a_panic() {
    let rt = runtime(2);
    let lock = Arc::new(RwLock::new((0u64, 0u64)));
    let holder = {
        let lock = lock.clone();
        rt.go(move || {
            let mut guard = lock.write();
            guard.0 += 1;
            goroutines::sleep(std::time::Duration::from_millis(20));
            yield_now();
            guard.1 += 1;
        })
    };
    let waiters: Vec<_> = (0..4)
        .map(|i| {
            let lock = lock.clone();
            rt.go(move || {
                if i % 2 == 0 {
                    let pair = *lock.read();
                    assert_eq!(pair.0, pair.1, "a reader saw half a write");
                } else {
                    let mut guard = lock.write();
                    guard.0 += 1;
                    guard.1 += 1;
                }
            })
        })
        .collect();
    holder.join().unwrap();
    for waiter in waiters {
        waiter.join().unwrap();
    }
    let panicker = {
        let lock = lock.clone();
        rt.go(move || {
            let mut guard = lock.write();
            guard.0 += 1;
            panic!("dies holding the write guard");
        })
    };
    assert!(panicker.join().is_err());
    let pair = rt.run(move || *lock.read());
    assert_eq!(
        pair,
        (4, 3),
        "three whole writes and the panicking writer's half"
    );
}

/// Plain OS threads write while goroutines on two Ps read and write: every read sees both
/// halves of every write, and no write is lost.
#[test]
fn goroutines_and_plain_threads_share_one_lock() {
    const ROUNDS: u64 = 2_000;
    let rt = runtime(2);
    let lock = Arc::new(RwLock::new((0u64, 0u64)));
    let reads = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(StdMutex::new(Vec::new()));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let lock = lock.clone();
            std::thread::spawn(move || {
                for _ in 0..ROUNDS {
                    let mut guard = lock.write();
                    guard.0 += 1;
                    std::hint::spin_loop();
                    guard.1 += 1;
                }
            })
        })
        .collect();
    let goroutines: Vec<_> = (0..4)
        .map(|i| {
            let (lock, reads, failures) = (lock.clone(), reads.clone(), failures.clone());
            rt.go(move || {
                for round in 0..ROUNDS {
                    if i == 0 {
                        let mut guard = lock.write();
                        guard.0 += 1;
                        if round % 64 == 0 {
                            yield_now();
                        }
                        guard.1 += 1;
                    } else {
                        let pair = *lock.read();
                        if pair.0 != pair.1 {
                            failures.lock().unwrap().push(pair);
                        }
                        reads.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    goroutines.into_iter().for_each(|g| g.join().unwrap());
    assert_eq!(*failures.lock().unwrap(), []);
    assert_eq!(reads.load(Ordering::Relaxed), 3 * ROUNDS);
    assert_eq!(*lock.read(), (3 * ROUNDS, 3 * ROUNDS));
}
