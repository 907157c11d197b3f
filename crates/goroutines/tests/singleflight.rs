//! `singleflight::Group`: Go's `golang.org/x/sync/singleflight/singleflight_test.go` ported
//! (`TestDo`, `TestDoErr`, `TestDoDupSuppress`, `TestForget`, `TestDoChan`, `TestPanicDo`,
//! `TestPanicDoChan`, `TestPanicDoSharedByDoChan`), with events where Go sleeps and a timeout
//! where Go's test would hang. Where Go crashes the program (a panic under `DoChan`), the
//! channel closes empty here. `TestGoexitDo` has no port: Rust has no `runtime.Goexit`. Here
//! also plain OS threads.

mod common;

use common::{parked, runtime, wait_until};

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use goroutines::singleflight::{Group, PanicError};
use goroutines::{after, chan, go, select, RecvError};

/// How long a test waits for something that should happen at once before it calls it a hang.
const HANG: Duration = Duration::from_secs(10);

/// `TestDo`.
#[test]
fn call_returns_the_value_of_f() {
    runtime(2).run(|| {
        let group = Group::new();
        assert_eq!(
            group.call("key", || "bar".to_string()),
            ("bar".into(), false)
        );
    });
}

/// `TestDoErr`: an error is a value like any other, the very one `f` returned.
#[test]
fn call_returns_the_error_of_f() {
    runtime(2).run(|| {
        let group = Group::<&str, Result<String, Arc<std::io::Error>>>::new();
        let some_err = Arc::new(std::io::Error::other("Some error"));
        let returned = some_err.clone();
        let (v, _) = group.call("key", move || Err(returned));
        let err = v.expect_err("Do returned a value");
        assert!(
            Arc::ptr_eq(&err, &some_err),
            "Do error = {err}; want someErr"
        );
    });
}

/// `TestDoDupSuppress`: callers that arrive while the first runs wait and share its value; `f`
/// runs once. Go sleeps 10 ms to let them arrive; here the test waits until they are parked.
#[test]
fn duplicate_calls_wait_for_the_first_and_share_its_value() {
    const N: usize = 10;
    let rt = runtime(2);
    let group = Arc::new(Group::<&str, String>::new());
    let calls = Arc::new(AtomicUsize::new(0));
    let (release_tx, release) = chan::<String>(1);
    let callers: Vec<_> = (0..N)
        .map(|_| {
            let (group, calls) = (group.clone(), calls.clone());
            let (pump, release) = (release_tx.clone(), release.clone());
            rt.go(move || {
                group.call("key", move || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    let v = release.recv().unwrap();
                    // Pump: make it available for any further call, as Go's test does.
                    pump.send(v.clone()).unwrap();
                    v
                })
            })
        })
        .collect();
    // Every caller is either in f or waiting for the call in f.
    wait_until(|| {
        let in_f = calls.load(Ordering::SeqCst);
        in_f > 0 && in_f + parked(&rt, "sync.WaitGroup.Wait") == N
    });
    release_tx.send("bar".into()).unwrap();
    for caller in callers {
        assert_eq!(caller.join().unwrap(), ("bar".into(), true));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "number of calls");
}

/// `TestForget` (golang/go#31420): after `forget`, a new call runs `f` again, and the forgotten
/// call finishing does not remove the new one, so a third caller shares the second's value.
/// Go's test waits for the first `f` to return; this one for the first call to finish.
#[test]
fn forget_lets_a_new_call_run_and_the_old_one_leave_it_alone() {
    runtime(2).run(|| {
        let group = Arc::new(Group::<&str, u32>::new());
        let (first_started_tx, first_started) = chan::<()>(0);
        let (unblock_first_tx, unblock_first) = chan::<()>(0);
        let first = {
            let group = group.clone();
            go(move || {
                group.call("key", move || {
                    drop(first_started_tx);
                    unblock_first.recv().ok();
                    1
                })
            })
        };
        first_started.recv().ok();
        group.forget("key");

        let (unblock_second_tx, unblock_second) = chan::<()>(0);
        let second = group.call_chan("key", move || {
            unblock_second.recv().ok();
            2
        });

        drop(unblock_first_tx);
        assert_eq!(first.join().unwrap(), (1, false));

        let third = group.call_chan("key", || 3);

        drop(unblock_second_tx);
        assert_eq!(second.recv(), Ok((2, true)));
        assert_eq!(
            third.recv(),
            Ok((2, true)),
            "we should receive the value of the second call"
        );
    });
}

/// `forget` while callers wait: they still get the forgotten call's value; a caller after the
/// `forget` runs `f` again.
#[test]
fn forget_does_not_disturb_callers_already_waiting() {
    let rt = runtime(2);
    let group = Arc::new(Group::<u8, &str>::new());
    let (release_tx, release) = chan::<()>(0);
    let (entered_tx, entered) = chan::<()>(1);
    let first = {
        let group = group.clone();
        rt.go(move || {
            group.call(1, move || {
                entered_tx.send(()).ok();
                release.recv().ok();
                "first"
            })
        })
    };
    // The first call runs `f` before the second arrives, so the second is its duplicate.
    entered.recv().expect("the first call runs f");
    let waiting = {
        let group = group.clone();
        rt.go(move || group.call(1, || "never runs"))
    };
    wait_until(|| parked(&rt, "sync.WaitGroup.Wait") == 1);
    group.forget(&1);
    let after_forget = group.call_chan(1, || "after forget");
    let hang = after(HANG);
    select! {
        recv(after_forget) -> res => assert_eq!(res, Ok(("after forget", false))),
        recv(hang) -> _ => panic!("the call after forget waited for the forgotten one"),
    }
    drop(release_tx);
    assert_eq!(first.join().unwrap(), ("first", true));
    assert_eq!(waiting.join().unwrap(), ("first", true));
}

/// `TestDoChan`, with the channel in a `select!`.
#[test]
fn call_chan_delivers_the_value_to_select() {
    runtime(2).run(|| {
        let group = Group::new();
        let ch = group.call_chan("key", || "bar".to_string());
        let hang = after(HANG);
        select! {
            recv(ch) -> res => assert_eq!(res, Ok(("bar".into(), false))),
            recv(hang) -> _ => panic!("DoChan hangs"),
        }
    });
}

/// A `call` that arrives while a `call_chan` runs shares it, and so do further `call_chan`s.
#[test]
fn call_and_call_chan_share_one_call() {
    let rt = runtime(2);
    let group = Arc::new(Group::<&str, u32>::new());
    let runs = Arc::new(AtomicUsize::new(0));
    let (release_tx, release) = chan::<()>(0);
    let first = {
        let runs = runs.clone();
        group.call_chan("key", move || {
            runs.fetch_add(1, Ordering::SeqCst);
            release.recv().ok();
            7
        })
    };
    wait_until(|| runs.load(Ordering::SeqCst) == 1);
    let second = group.call_chan("key", || 8);
    let blocking = {
        let group = group.clone();
        rt.go(move || group.call("key", || 9))
    };
    wait_until(|| parked(&rt, "sync.WaitGroup.Wait") == 1);
    drop(release_tx);
    assert_eq!(first.recv(), Ok((7, true)));
    assert_eq!(second.recv(), Ok((7, true)));
    assert_eq!(blocking.join().unwrap(), (7, true));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

/// `TestPanicDo` (golang/go#41133): every caller panics and none hangs. The caller that ran `f`
/// raises its own payload, the ones that waited a `PanicError` with its message.
#[test]
fn a_panic_in_f_is_raised_in_every_caller() {
    const N: usize = 5;
    let rt = runtime(2);
    let group = Arc::new(Group::<&str, ()>::new());
    let started = Arc::new(AtomicUsize::new(0));
    let (release_tx, release) = chan::<()>(0);
    let (done_tx, done) = chan::<Result<(), Box<dyn std::any::Any + Send>>>(N);
    for _ in 0..N {
        let (group, started, release, done_tx) = (
            group.clone(),
            started.clone(),
            release.clone(),
            done_tx.clone(),
        );
        rt.go(move || {
            let called = catch_unwind(AssertUnwindSafe(|| {
                group.call("key", || {
                    started.fetch_add(1, Ordering::SeqCst);
                    release.recv().ok();
                    panic!("invalid memory address or nil pointer dereference")
                })
            }));
            done_tx.send(called.map(|_| ())).unwrap();
        });
    }
    drop(done_tx);
    wait_until(|| {
        let in_f = started.load(Ordering::SeqCst);
        in_f > 0 && in_f + parked(&rt, "sync.WaitGroup.Wait") == N
    });
    drop(release_tx);
    let payloads = rt.run(move || {
        let mut payloads = Vec::new();
        for _ in 0..N {
            let hang = after(HANG);
            select! {
                recv(done) -> called => payloads.push(called.unwrap()),
                recv(hang) -> _ => panic!("Do hangs"),
            }
        }
        payloads
    });
    let mut own = 0;
    let mut shared = 0;
    for payload in payloads {
        let payload = payload.expect_err("a caller returned normally");
        if let Some(message) = payload.downcast_ref::<&str>() {
            assert_eq!(
                *message,
                "invalid memory address or nil pointer dereference"
            );
            own += 1;
        } else {
            let e = payload
                .downcast_ref::<PanicError>()
                .expect("a duplicate's payload is a PanicError");
            assert_eq!(
                e.message(),
                Some("invalid memory address or nil pointer dereference")
            );
            assert!(e.to_string().contains("nil pointer dereference"), "{e}");
            shared += 1;
        }
    }
    assert_eq!((own, shared), (1, N - 1));
    // The panic left nothing behind: the key runs again.
    assert_eq!(group.call("key", || ()), ((), false));
}

/// `TestPanicDoChan`: Go crashes the program; here the channel closes without a value, and the
/// key is free for a new call.
#[test]
fn a_panic_under_call_chan_closes_its_channel() {
    runtime(2).run(|| {
        let group = Group::<&str, u32>::new();
        let ch = group.call_chan("", || panic!("Panicking in DoChan"));
        let hang = after(HANG);
        select! {
            recv(ch) -> res => assert_eq!(res, Err(RecvError)),
            recv(hang) -> _ => panic!("DoChan hangs"),
        }
        assert_eq!(group.call("", || 1), (1, false));
    });
}

/// `TestPanicDoSharedByDoChan`: a `call_chan` that joined a `call` whose `f` panics does not run
/// its own function, and its channel closes without a value; the goroutine that ran `f` keeps
/// its own panic.
#[test]
fn a_panic_in_a_shared_call_closes_the_channels_that_joined_it() {
    runtime(2).run(|| {
        let group = Arc::new(Group::<&str, u32>::new());
        let (blocked_tx, blocked) = chan::<()>(0);
        let (unblock_tx, unblock) = chan::<()>(0);
        let runner = {
            let group = group.clone();
            go(move || {
                group.call("", move || {
                    drop(blocked_tx);
                    unblock.recv().ok();
                    panic!("Panicking in Do")
                })
            })
        };
        blocked.recv().ok();
        let ch = group.call_chan("", || panic!("DoChan unexpectedly executed callback"));
        drop(unblock_tx);
        let hang = after(HANG);
        select! {
            recv(ch) -> res => assert_eq!(res, Err(RecvError)),
            recv(hang) -> _ => panic!("DoChan hangs"),
        }
        assert_eq!(
            runner.join().unwrap_err().message(),
            Some("Panicking in Do")
        );
    });
}

/// Plain OS threads deduplicate too: the main thread's `call_chan` joins a call another thread
/// runs and blocks on its channel; a thread's `call` joins it or, if it comes after, runs its
/// own; a `call_chan` from a plain thread runs `f` on a thread of its own.
#[test]
fn plain_threads_share_calls() {
    let group = Arc::new(Group::<u8, u32>::new());
    let (release_tx, release) = chan::<()>(0);
    let (started_tx, started) = chan::<()>(0);
    let runner = {
        let group = group.clone();
        std::thread::spawn(move || {
            group.call(0, move || {
                drop(started_tx);
                release.recv().ok();
                40
            })
        })
    };
    started.recv().ok();
    let from_chan = group.call_chan(0, || 41);
    let duplicate = {
        let group = group.clone();
        std::thread::spawn(move || group.call(0, || 42))
    };
    drop(release_tx);
    assert_eq!(runner.join().unwrap(), (40, true));
    assert_eq!(from_chan.recv(), Ok((40, true)));
    // No event says when a plain thread waits, so either order is allowed here.
    let duplicate = duplicate.join().unwrap();
    assert!(
        duplicate == (40, true) || duplicate == (42, false),
        "{duplicate:?}"
    );

    let alone = group.call_chan(1, || 43);
    assert_eq!(alone.recv(), Ok((43, false)));
}
