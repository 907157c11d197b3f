//! Goroutine-local storage (`goroutine_local!`): each goroutine sees its own value, the value
//! stays with the goroutine when it moves between OS threads, and it is dropped when the
//! goroutine exits.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use goroutines::{
    chan, go, goroutine_id, goroutine_local, sleep, yield_now, Receiver, Runtime, Sender,
};

fn runtime() -> Runtime {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    unsafe { goroutines::Builder::new().procs(2).build() }.unwrap()
}

goroutine_local! {
    static OWN: Cell<u64> = Cell::new(0);
    static MIGRATING: Cell<u64> = Cell::new(0);
}

#[test]
fn each_goroutine_sees_its_own_value() {
    let rt = runtime();
    rt.run(|| {
        OWN.with(|v| v.set(u64::MAX));
        let goroutines: Vec<_> = (1..=100u64)
            .map(|i| {
                go(move || {
                    assert_eq!(
                        OWN.with(Cell::get),
                        0,
                        "a fresh goroutine starts from the initialiser"
                    );
                    OWN.with(|v| v.set(i));
                    yield_now();
                    OWN.with(Cell::get)
                })
            })
            .collect();
        for (i, g) in (1..=100u64).zip(goroutines) {
            assert_eq!(g.join().unwrap(), i);
        }
        assert_eq!(OWN.with(Cell::get), u64::MAX, "the main goroutine's value");
    });
}

/// Sets this goroutine's value to `mine`, then blocks, in turn yielding, sleeping and waiting for
/// a plain thread's value on `nudges`, and checks its value after each: at least `ROUNDS` times,
/// and until it has resumed `MIGRATIONS` times on another OS thread than the one it blocked on
/// (or time runs out). Returns how many times it moved.
fn keep_value(mine: u64, nudges: &Receiver<()>) -> usize {
    const ROUNDS: usize = 100;
    const MIGRATIONS: usize = 2;
    let deadline = Instant::now() + Duration::from_secs(4);
    MIGRATING.with(|v| v.set(mine));
    let mut migrations = 0;
    let mut round = 0;
    while round < ROUNDS || (migrations < MIGRATIONS && Instant::now() < deadline) {
        round += 1;
        let before = std::thread::current().id();
        match round % 3 {
            0 => yield_now(),
            1 => sleep(Duration::from_micros(50)),
            _ => nudges.recv().unwrap(),
        }
        if std::thread::current().id() != before {
            migrations += 1;
        }
        assert_eq!(
            MIGRATING.with(Cell::get),
            mine,
            "value lost after round {round}"
        );
    }
    migrations
}

#[test]
fn values_survive_migration_between_threads() {
    let rt = runtime();
    // A goroutine woken by a plain thread goes to the global queue, where either P's thread may
    // take it: that is what makes the checked goroutine move.
    let (nudge, nudges) = chan::<()>(0);
    let nudger = std::thread::spawn(move || while nudge.send(()).is_ok() {});
    let migrations = rt.run(move || {
        let stop = Arc::new(AtomicBool::new(false));
        // Eight goroutines churn on the two Ps, each also checking its own value.
        let churners: Vec<_> = (0..8u64)
            .map(|i| {
                let stop = stop.clone();
                go(move || {
                    let mine = 1_000 + i;
                    MIGRATING.with(|v| v.set(mine));
                    while !stop.load(Ordering::Relaxed) {
                        yield_now();
                        assert_eq!(MIGRATING.with(Cell::get), mine);
                    }
                })
            })
            .collect();
        let checker = go(move || keep_value(7, &nudges));
        let migrations = checker.join().unwrap();
        stop.store(true, Ordering::Relaxed);
        for c in churners {
            c.join().unwrap();
        }
        migrations
    });
    nudger.join().unwrap();
    assert!(
        migrations > 0,
        "the goroutine never changed threads, so nothing was checked"
    );
}

/// How many `Tracked` values were created and dropped; each drop also reports (owner, the
/// goroutine the destructor ran on).
static TRACKED_INITS: AtomicUsize = AtomicUsize::new(0);
static TRACKED_DROPS: AtomicUsize = AtomicUsize::new(0);
static DROPPED: OnceLock<Sender<(u64, Option<u64>)>> = OnceLock::new();

/// A goroutine-local value that reports its drop.
struct Tracked {
    owner: u64,
}

impl Tracked {
    fn new() -> Tracked {
        TRACKED_INITS.fetch_add(1, Ordering::SeqCst);
        Tracked {
            owner: goroutine_id().unwrap(),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        TRACKED_DROPS.fetch_add(1, Ordering::SeqCst);
        // The buffer has room for every drop: this never blocks.
        DROPPED
            .get()
            .unwrap()
            .try_send((self.owner, goroutine_id()))
            .unwrap();
    }
}

goroutine_local! {
    static TRACKED: Tracked = Tracked::new();
}

#[test]
fn value_is_dropped_when_its_goroutine_exits() {
    const USERS: usize = 100;
    const BYSTANDERS: usize = 10;
    let rt = runtime();
    let (tx, drops) = chan(USERS);
    DROPPED.set(tx).unwrap();
    rt.run(move || {
        let users: Vec<_> = (0..USERS)
            .map(|_| {
                go(|| {
                    let me = goroutine_id().unwrap();
                    assert_eq!(TRACKED.with(|t| t.owner), me);
                    yield_now();
                    assert_eq!(TRACKED.with(|t| t.owner), me, "created once per goroutine");
                    me
                })
            })
            .collect();
        // Goroutines that never touch the key create no value.
        let bystanders: Vec<_> = (0..BYSTANDERS).map(|_| go(yield_now)).collect();
        let mut ids: Vec<u64> = users.into_iter().map(|u| u.join().unwrap()).collect();
        for b in bystanders {
            b.join().unwrap();
        }
        // Drops follow each goroutine's exit (just after its result is published): wait for them.
        let mut dropped: Vec<u64> = (0..USERS)
            .map(|_| {
                let (owner, dropped_on) = drops.recv().unwrap();
                assert_eq!(dropped_on, Some(owner), "dropped on its own goroutine");
                owner
            })
            .collect();
        ids.sort_unstable();
        dropped.sort_unstable();
        assert_eq!(dropped, ids, "each goroutine's value dropped once");
        assert_eq!(drops.try_recv().ok(), None, "no extra drops");
    });
    assert_eq!(TRACKED_INITS.load(Ordering::SeqCst), USERS);
    assert_eq!(TRACKED_DROPS.load(Ordering::SeqCst), USERS);
}
