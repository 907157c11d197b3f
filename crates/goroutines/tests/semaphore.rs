//! `semaphore::Weighted`: Go's `golang.org/x/sync/semaphore/semaphore_test.go` ported
//! (`TestWeighted`, `TestWeightedPanic`, `TestWeightedTryAcquire`, `TestWeightedAcquire`,
//! `TestWeightedDoesntBlockIfTooBig`, `TestLargeAcquireDoesntStarve`,
//! `TestAllocCancelDoesntStarve`, `TestWeightedAcquireCanceled`), with events where Go sleeps
//! and a context deadline where Go's test would hang; here also FIFO order behind a large
//! waiter (Go's `notifyWaiters` comment), parking on one P, and plain OS threads.

mod common;

use common::{parked, runtime, wait_parked};

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use goroutines::context::{Context, ContextError};
use goroutines::errgroup::Group;
use goroutines::semaphore::Weighted;
use goroutines::{after, chan, go, select, yield_now};

/// How long a test waits for something that should happen at once before it calls it a hang.
const HANG: Duration = Duration::from_secs(10);

/// `HammerWeighted`: take `n` tokens and give them back, `loops` times, with a short random
/// pause while holding them; `held` counts the tokens held by everyone, never over `size`.
fn hammer(sem: &Weighted, size: u64, held: &AtomicU64, n: u64, loops: usize, mut seed: u64) {
    for _ in 0..loops {
        sem.acquire(&Context::background(), n).unwrap();
        let now = held.fetch_add(n, Ordering::SeqCst) + n;
        assert!(now <= size, "{now} tokens held of {size}");
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        goroutines::sleep(Duration::from_micros(seed % 100));
        held.fetch_sub(n, Ordering::SeqCst);
        sem.release(n);
    }
}

/// `TestWeighted`: goroutines and plain threads taking weights 0 to 5 of 6 tokens at once.
#[test]
fn weighted_hammer_never_exceeds_the_size() {
    const SIZE: u64 = 6;
    const LOOPS: usize = 300;
    let rt = runtime(2);
    let sem = Arc::new(Weighted::new(SIZE));
    let held = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = [1, 5]
        .into_iter()
        .map(|n| {
            let (sem, held) = (sem.clone(), held.clone());
            std::thread::spawn(move || hammer(&sem, SIZE, &held, n, LOOPS, 7 + n))
        })
        .collect();
    let goroutines: Vec<_> = [0, 2, 3, 4]
        .into_iter()
        .map(|n| {
            let (sem, held) = (sem.clone(), held.clone());
            rt.go(move || hammer(&sem, SIZE, &held, n, LOOPS, 11 + n))
        })
        .collect();
    for g in goroutines {
        g.join().unwrap();
    }
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(held.load(Ordering::SeqCst), 0);
    assert!(sem.try_acquire(SIZE), "tokens leaked: {sem:?}");
}

/// `TestWeightedPanic`: releasing what is not held panics, as Go's does; here the semaphore
/// is left as it was.
#[test]
fn release_of_more_than_held_panics_and_leaves_the_semaphore_usable() {
    let sem = Weighted::new(1);
    let released = catch_unwind(AssertUnwindSafe(|| sem.release(1)));
    let payload = released.expect_err("release of an unacquired weighted semaphore did not panic");
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"semaphore: released more than held")
    );
    assert!(sem.try_acquire(1), "the failed release changed the count");
    assert!(!sem.try_acquire(1));
    sem.release(1);
    assert!(sem.try_acquire(1));
}

/// `TestWeightedTryAcquire`.
#[test]
fn try_acquire_takes_only_free_tokens() {
    runtime(2).run(|| {
        let ctx = Context::background();
        let sem = Weighted::new(2);
        let mut tries = Vec::new();
        sem.acquire(&ctx, 1).unwrap();
        tries.push(sem.try_acquire(1));
        tries.push(sem.try_acquire(1));
        sem.release(2);
        tries.push(sem.try_acquire(1));
        sem.acquire(&ctx, 1).unwrap();
        tries.push(sem.try_acquire(1));
        assert_eq!(tries, [true, false, true, false]);
    });
}

/// `TestWeightedAcquire`: an acquire that cannot be served fails when its 10 ms timeout passes.
#[test]
fn acquire_fails_when_its_context_times_out() {
    runtime(2).run(|| {
        let ctx = Context::background();
        let sem = Weighted::new(2);
        let try_acquire = |n| {
            let (ctx, _cancel) = ctx.with_timeout(Duration::from_millis(10));
            sem.acquire(&ctx, n)
        };
        let mut tries = Vec::new();
        sem.acquire(&ctx, 1).unwrap();
        tries.push(try_acquire(1));
        tries.push(try_acquire(1));
        sem.release(2);
        tries.push(try_acquire(1));
        sem.acquire(&ctx, 1).unwrap();
        tries.push(try_acquire(1));
        let failed = Err(ContextError::DeadlineExceeded);
        assert_eq!(tries, [Ok(()), failed, Ok(()), failed]);
    });
}

/// `TestWeightedDoesntBlockIfTooBig`: a waiter asking for more than the size waits for its
/// context alone and holds back nobody.
#[test]
fn a_waiter_bigger_than_the_size_blocks_nobody() {
    const N: u64 = 2;
    let rt = runtime(2);
    let sem = Arc::new(Weighted::new(N));
    let (big_ctx, cancel_big) = Context::background().with_cancel();
    let big = {
        let sem = sem.clone();
        rt.go(move || sem.acquire(&big_ctx, N + 1))
    };
    common::wait_until(|| parked(&rt, "chan receive") + parked(&rt, "select") == 1);
    let sem2 = sem.clone();
    let outcome = rt.run(move || {
        // A deadline instead of Go's hang if the big waiter holds the others back.
        let (parent, _cancel) = Context::background().with_timeout(HANG);
        let (group, ctx) = Group::<ContextError>::with_context(&parent);
        for _ in 0..N * 3 {
            let (sem, ctx) = (sem2.clone(), ctx.clone());
            group.go(move || {
                sem.acquire(&ctx, 1)?;
                yield_now();
                sem.release(1);
                Ok(())
            });
        }
        group.wait()
    });
    assert_eq!(
        outcome,
        Ok(()),
        "Weighted::new({N}) failed to acquire 1 with an acquire of {} pending",
        N + 1
    );
    cancel_big.cancel();
    assert_eq!(big.join().unwrap(), Err(ContextError::Canceled));
}

/// `TestLargeAcquireDoesntStarve`: a waiter for every token is served while goroutines keep
/// giving back and taking single tokens.
#[test]
fn a_large_acquire_does_not_starve() {
    const N: u64 = 4;
    runtime(2).run(|| {
        let ctx = Context::background();
        let sem = Arc::new(Weighted::new(N));
        let running = Arc::new(AtomicBool::new(true));
        let mut workers = Vec::new();
        for _ in 0..N {
            sem.acquire(&ctx, 1).unwrap();
            let (sem, running) = (sem.clone(), running.clone());
            workers.push(go(move || {
                while running.load(Ordering::SeqCst) {
                    goroutines::sleep(Duration::from_millis(1));
                    sem.release(1);
                    sem.acquire(&Context::background(), 1).unwrap();
                }
                sem.release(1);
            }));
        }
        // A deadline instead of Go's hang if the large acquire starves.
        let (deadline, _cancel) = ctx.with_timeout(HANG);
        let large = sem.acquire(&deadline, N);
        running.store(false, Ordering::SeqCst);
        if large.is_ok() {
            sem.release(N);
        }
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(large, Ok(()), "the acquire of every token starved");
    });
}

/// `TestAllocCancelDoesntStarve`: a large waiter at the front whose context is cancelled leaves
/// the queue and serves the smaller waiter behind it, which the free tokens fit.
#[test]
fn a_cancelled_front_waiter_serves_the_ones_behind_it() {
    let rt = runtime(2);
    let sem = Arc::new(Weighted::new(10));
    // Hold 1 read lock.
    sem.acquire(&Context::background(), 1).unwrap();
    let (ctx, cancel_writer) = Context::background().with_cancel();
    let writer = {
        let sem = sem.clone();
        rt.go(move || sem.acquire(&ctx, 10))
    };
    wait_parked(&rt, "select", 1);
    let (reader_done_tx, reader_done) = chan::<()>(0);
    let reader = {
        let sem = sem.clone();
        rt.go(move || {
            // Queued after the write lock request, served when it is cancelled.
            sem.acquire(&Context::background(), 1).unwrap();
            sem.release(1);
            drop(reader_done_tx);
        })
    };
    wait_parked(&rt, "select", 2);
    cancel_writer.cancel();
    assert_eq!(writer.join().unwrap(), Err(ContextError::Canceled));
    let served = rt.run(move || {
        let hang = after(HANG);
        select! {
            recv(reader_done) -> _ => true,
            recv(hang) -> _ => false,
        }
    });
    assert!(served, "the reader starved behind a cancelled writer");
    reader.join().unwrap();
}

/// `TestWeightedAcquireCanceled` (golang/go#63615): a cancellation that happens before enough
/// tokens are free makes the acquire fail even if it is served meanwhile, and gives the tokens
/// back; a context already done fails even with every token free. Repeated, since the waiter
/// may see the cancellation or the tokens first.
#[test]
fn a_cancelled_acquire_fails_and_keeps_no_tokens() {
    runtime(2).run(|| {
        for _ in 0..200 {
            let sem = Arc::new(Weighted::new(2));
            let (ctx, cancel) = Context::background().with_cancel();
            sem.acquire(&Context::background(), 1).unwrap();
            let other = {
                let sem = sem.clone();
                go(move || {
                    // Until the acquire of 2 below is queued.
                    while sem.try_acquire(1) {
                        sem.release(1);
                        yield_now();
                    }
                    // Cancel, then free the token it waits for.
                    cancel.cancel();
                    sem.release(1);
                })
            };
            assert_eq!(sem.acquire(&ctx, 2), Err(ContextError::Canceled));
            other.join().unwrap();
            // The token held at the start is back: both are free.
            assert!(
                sem.try_acquire(2),
                "try_acquire after a cancelled acquire failed: {sem:?}"
            );
            sem.release(2);
            assert_eq!(sem.acquire(&ctx, 1), Err(ContextError::Canceled));
            assert!(sem.try_acquire(2), "a failed acquire kept tokens: {sem:?}");
        }
    });
}

/// `TestWeightedAcquireCanceled`'s other order: a waiter served and then cancelled before it
/// runs again fails too, giving the tokens back. On one P the waiter runs only once the
/// goroutine that served and cancelled it parks; should the OS stall that goroutine long
/// enough for sysmon to hand its P away, the waiter may return first, with the tokens: allowed,
/// but not every time.
#[test]
fn an_acquire_served_then_cancelled_before_it_returns_fails() {
    const ROUNDS: usize = 20;
    let failed = runtime(1).run(|| {
        let mut failed = 0;
        for _ in 0..ROUNDS {
            let sem = Arc::new(Weighted::new(2));
            let (ctx, cancel) = Context::background().with_cancel();
            sem.acquire(&Context::background(), 1).unwrap();
            let other = {
                let sem = sem.clone();
                go(move || {
                    while sem.try_acquire(1) {
                        sem.release(1);
                        yield_now();
                    }
                    // Serve the waiter, then cancel it before it runs.
                    sem.release(1);
                    cancel.cancel();
                })
            };
            match sem.acquire(&ctx, 2) {
                Ok(()) => sem.release(2),
                Err(err) => {
                    assert_eq!(err, ContextError::Canceled);
                    failed += 1;
                }
            }
            other.join().unwrap();
            assert!(sem.try_acquire(2), "tokens kept: {sem:?}");
        }
        failed
    });
    assert!(
        failed > ROUNDS / 2,
        "only {failed} of {ROUNDS} served-then-cancelled acquires failed"
    );
}

/// Go's `notifyWaiters` comment: a large waiter at the front holds back the smaller ones behind
/// it, even when their weight is free, and newcomers do not jump the queue.
#[test]
fn waiters_are_served_in_arrival_order() {
    let rt = runtime(2);
    let sem = Arc::new(Weighted::new(3));
    sem.acquire(&Context::background(), 2).unwrap();
    let (log_tx, log) = chan::<&str>(2);
    let waiter = |name: &'static str, n: u64| {
        let (sem, log_tx) = (sem.clone(), log_tx.clone());
        rt.go(move || {
            sem.acquire(&Context::background(), n).unwrap();
            log_tx.send(name).unwrap();
            sem.release(n);
        })
    };
    let large = waiter("large", 3);
    wait_parked(&rt, "select", 1);
    let small = waiter("small", 1);
    wait_parked(&rt, "select", 2);
    assert!(!sem.try_acquire(1), "try_acquire jumped the queue");
    // One token free, then two: not enough for the large waiter, which still goes first.
    sem.release(1);
    sem.release(1);
    large.join().unwrap();
    small.join().unwrap();
    drop(log_tx);
    assert_eq!(log.iter().collect::<Vec<_>>(), ["large", "small"]);
}

/// With one P, a goroutine waiting in `acquire` parks: the goroutine that releases runs on the
/// same thread. A plain thread blocks, and is served by a goroutine.
#[test]
fn acquire_parks_goroutines_and_blocks_plain_threads() {
    let rt = runtime(1);
    let sem = Arc::new(Weighted::new(1));
    rt.run({
        let sem = sem.clone();
        move || {
            sem.acquire(&Context::background(), 1).unwrap();
            let waiter = {
                let sem = sem.clone();
                go(move || sem.acquire(&Context::background(), 1))
            };
            while sem.try_acquire(0) {
                yield_now();
            }
            sem.release(1);
            assert_eq!(waiter.join().unwrap(), Ok(()));
        }
    });
    let thread = {
        let sem = sem.clone();
        std::thread::spawn(move || {
            sem.acquire(&Context::background(), 1).unwrap();
            sem.release(1);
        })
    };
    rt.run(move || {
        // Until the thread is queued (a zero weight queues behind it), then serve it.
        while sem.try_acquire(0) {
            yield_now();
        }
        sem.release(1);
    });
    thread.join().unwrap();
}
