//! `singleflight`, after Go's `golang.org/x/sync/singleflight`: duplicate call suppression.
//! While a call for a key is in flight, later callers with the same key wait for it and share
//! its result instead of running their own.
//!
//! ```text
//!   Group { Arc { calls: lock { key -> Arc<Call> } } }
//!   Call  { outcome: set once, done: WaitGroup(1), waiting: lock { dups, channels } }
//!
//!   call(key, f):      lock; key in flight? ─▶ dups += 1; unlock; wait on done;
//!                                              a clone of its value (shared), or raise its panic
//!                      map key to a new Call; unlock; run f here ─▶ finish; return (v, dups > 0)
//!   call_chan(key, f): lock; key in flight? ─▶ dups += 1; add a channel; unlock; return it
//!                      map key to a new Call holding a channel; unlock;
//!                      start a goroutine that runs f ─▶ finish; return the channel
//!   finish:            lock; unmap key if it still maps to this Call; take dups and channels;
//!                      unlock; dups? set the outcome; done; send every channel a clone (closed
//!                      empty if f panicked); the runner keeps its value, or resumes its panic
//!   forget(key):       lock; unmap key
//! ```
//!
//! Invariants:
//! - A key maps to at most one Call, the latest started for it. A caller joins a Call only
//!   through the map, under its lock; `finish` takes the Call out of the map (unless `forget`
//!   did) under that lock before it takes the waiting list, so the list it takes is complete
//!   and nobody joins later.
//! - The outcome is set before `done` reaches zero whenever a `call` duplicate waits on it
//!   (it counted itself in `dups`), so every caller that `done` wakes finds it.
//! - `finish` unmaps a key only while it maps to its own Call: a call forgotten while in
//!   flight leaves the map alone, which by then may hold a newer call for the key (Go issue
//!   31420).
//! - Locks nest the group's outside a Call's `waiting`, and `f` runs under neither.
//!
//! A panic in `f` is caught, so that nobody waits forever, and raised again: the runner resumes
//! its own panic, and each `call` duplicate panics with a [`PanicError`] (Go's `panicError`).
//! The channels of `call_chan` close without a value, so their receivers see `Err(RecvError)`;
//! Go crashes the program instead, since its channel would deliver a zero value.
//!
//! Differences from Go, each what a Rust programmer expects: `do` is a Rust keyword, and the
//! methods are named for what Go's source calls an in-flight unit of work, a `call` (`run`
//! would read like [`goroutines::run`](crate::run), which starts a runtime): [`Group::call`]
//! (Go's `Do`) and [`Group::call_chan`] (`DoChan`). Keys and values are type parameters;
//! Go's `(v, err)` is one value such as `Result<T, Arc<E>>`, and every caller gets a clone of it
//! (wrap values that are large or not `Clone` in an `Arc`). There is no `runtime.Goexit` in
//! Rust, hence no `errGoexit`. A [`PanicError`] carries the panic's message but not its stack:
//! by the time `catch_unwind` returns, unwinding has discarded it.

use std::any::Any;
use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use crate::chan::{chan, Receiver, Sender};
use crate::runtime::g::fatal;
use crate::runtime::{current_sched, spawn_detached};
use crate::sync::WaitGroup;

/// A namespace of keys whose calls are deduplicated (Go's `singleflight.Group`): while a call
/// for a key is in flight, every other call with that key waits for it and shares its result.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use goroutines::singleflight::Group;
///
/// // SAFETY: these goroutines hold no thread-locals or std guards across blocking calls.
/// let (values, runs) = unsafe {
///     goroutines::run(|| {
///         let group = Arc::new(Group::<&str, u64>::new());
///         let runs = Arc::new(AtomicUsize::new(0));
///         let callers: Vec<_> = (0..4)
///             .map(|_| {
///                 let (group, runs) = (group.clone(), runs.clone());
///                 goroutines::go(move || {
///                     let (v, _shared) = group.call("answer", || {
///                         runs.fetch_add(1, Ordering::SeqCst);
///                         42
///                     });
///                     v
///                 })
///             })
///             .collect();
///         let values: Vec<u64> = callers.into_iter().map(|c| c.join().unwrap()).collect();
///         (values, runs.load(Ordering::SeqCst))
///     })
/// };
/// assert_eq!(values, [42; 4]);
/// // Between 1 and 4 runs: only callers that overlap share one.
/// assert!((1..=4).contains(&runs));
/// ```
pub struct Group<K, V> {
    inner: Arc<Inner<K, V>>,
}

struct Inner<K, V> {
    /// The call in flight for each key (Go's `m`).
    calls: Mutex<HashMap<K, Arc<Call<V>>>>,
}

/// A call in flight or finished (Go's `call`).
struct Call<V> {
    /// What `f` gave, for the duplicates of `call`: set before `done` reaches zero.
    outcome: OnceLock<Outcome<V>>,
    /// At one until the call finishes.
    done: WaitGroup,
    /// Taken only under the group's lock.
    waiting: Mutex<Waiting<V>>,
}

struct Waiting<V> {
    /// Callers after the first (Go's `dups`).
    dups: usize,
    /// The channels of `call_chan` callers (Go's `chans`).
    chans: Vec<Sender<(V, bool)>>,
}

enum Outcome<V> {
    Returned(V),
    Panicked(PanicError),
}

/// What `f` did: its value, or its panic's payload.
type Ran<V> = Result<V, Box<dyn Any + Send>>;

/// The panic of a call's function, raised in every duplicate [`Group::call`] that waited for it
/// (Go's `panicError`); the caller that ran the function raises the original payload. Catch it
/// with `catch_unwind` and `downcast_ref::<PanicError>()`.
#[derive(Clone)]
pub struct PanicError {
    message: Option<Arc<str>>,
}

impl PanicError {
    fn new(payload: &(dyn Any + Send)) -> PanicError {
        let message = payload
            .downcast_ref::<&'static str>()
            .map(|s| Arc::from(*s))
            .or_else(|| {
                payload
                    .downcast_ref::<String>()
                    .map(|s| Arc::from(s.as_str()))
            });
        PanicError { message }
    }

    /// The panic message, when the payload was a string.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
}

impl fmt::Debug for PanicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PanicError")
            .field("message", &self.message())
            .finish()
    }
}

impl fmt::Display for PanicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.message() {
            Some(m) => write!(f, "singleflight: the shared call panicked: {m}"),
            None => f.write_str("singleflight: the shared call panicked"),
        }
    }
}

impl std::error::Error for PanicError {}

impl<V> Call<V> {
    fn new(chans: Vec<Sender<(V, bool)>>) -> Arc<Call<V>> {
        let done = WaitGroup::new();
        done.add(1);
        Arc::new(Call {
            outcome: OnceLock::new(),
            done,
            waiting: Mutex::new(Waiting { dups: 0, chans }),
        })
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Group<K, V> {
    /// A group with no call in flight.
    pub fn new() -> Group<K, V> {
        Group {
            inner: Arc::new(Inner {
                calls: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Runs `f` and returns its value, unless a call for `key` is in flight: then waits for it
    /// and returns a clone of its value (Go's `Do`). The flag says whether the value went to
    /// more than one caller. `f` runs on the calling goroutine (or thread); a duplicate parks
    /// (or blocks) until the call finishes. A key stays in flight until its call returns or
    /// [`forget`](Group::forget) is called; `f` calling `call` with its own key waits forever.
    ///
    /// # Panics
    ///
    /// When `f` panics: with its own payload in the caller that ran it, and with a
    /// [`PanicError`] in each duplicate.
    pub fn call(&self, key: K, f: impl FnOnce() -> V) -> (V, bool) {
        let mut calls = self.inner.calls.lock();
        if let Some(call) = calls.get(&key) {
            let call = call.clone();
            call.waiting.lock().dups += 1;
            drop(calls);
            call.done.wait();
            return match call.outcome.get() {
                Some(Outcome::Returned(v)) => (v.clone(), true),
                Some(Outcome::Panicked(e)) => panic::resume_unwind(Box::new(e.clone())),
                None => fatal("singleflight: woken before the call finished"),
            };
        }
        let call = Call::new(Vec::new());
        calls.insert(key.clone(), call.clone());
        drop(calls);
        let ran = panic::catch_unwind(AssertUnwindSafe(f));
        let shared = self.inner.finish(&key, &call, &ran);
        match ran {
            Ok(v) => (v, shared),
            Err(payload) => panic::resume_unwind(payload),
        }
    }

    /// Like [`call`](Group::call), but returns at once with a channel that will receive the
    /// value and the shared flag, for `select!` (Go's `DoChan`). When no call for `key` is in
    /// flight, `f` runs in a new goroutine of the caller's runtime, or on a thread of its own
    /// when a plain thread calls.
    ///
    /// If `f` panics, the channel closes without a value (its receiver sees `Err(RecvError)`),
    /// and the goroutine that ran `f` ends with the panic, which its runtime keeps, as for any
    /// goroutine nobody joins.
    pub fn call_chan(&self, key: K, f: impl FnOnce() -> V + Send + 'static) -> Receiver<(V, bool)>
    where
        K: Send + 'static,
        V: Send + Sync + 'static,
    {
        let (tx, rx) = chan(1);
        let mut calls = self.inner.calls.lock();
        if let Some(call) = calls.get(&key) {
            let mut waiting = call.waiting.lock();
            waiting.dups += 1;
            waiting.chans.push(tx);
            return rx;
        }
        let call = Call::new(vec![tx]);
        calls.insert(key.clone(), call.clone());
        drop(calls);
        let (inner, runner_key, runner_call) = (self.inner.clone(), key.clone(), call.clone());
        let runner = move || {
            let ran = panic::catch_unwind(AssertUnwindSafe(f));
            inner.finish(&runner_key, &runner_call, &ran);
            if let Err(payload) = ran {
                panic::resume_unwind(payload);
            }
        };
        match current_sched() {
            Some(sched) => spawn_detached(sched, runner),
            None => {
                let started = std::thread::Builder::new()
                    .name("goroutines-singleflight".into())
                    .spawn(runner);
                if let Err(e) = started {
                    // Nobody will run f: finish the call as if it had panicked, so that no
                    // caller waits for it.
                    let ran: Ran<V> = Err(Box::new(format!("singleflight: no thread for f: {e}")));
                    self.inner.finish(&key, &call, &ran);
                }
            }
        }
        rx
    }

    /// Forgets the call in flight for `key`, if any (Go's `Forget`): later calls with `key` run
    /// their function instead of waiting for it. Callers already waiting still share its result.
    /// Takes any borrowed form of the key, as `HashMap::remove` does.
    pub fn forget<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.calls.lock().remove(key);
    }
}

impl<K: Hash + Eq, V: Clone> Inner<K, V> {
    /// Go's `doCall` once `fn` has returned: takes the call out of the map (unless forgotten),
    /// hands its outcome to every waiting caller, and says whether it was shared.
    fn finish(&self, key: &K, call: &Arc<Call<V>>, ran: &Ran<V>) -> bool {
        let waiting = {
            let mut calls = self.calls.lock();
            if calls.get(key).is_some_and(|c| Arc::ptr_eq(c, call)) {
                calls.remove(key);
            }
            let mut waiting = call.waiting.lock();
            Waiting {
                dups: waiting.dups,
                chans: std::mem::take(&mut waiting.chans),
            }
        };
        let shared = waiting.dups > 0;
        if shared {
            let outcome = match ran {
                Ok(v) => Outcome::Returned(v.clone()),
                Err(payload) => Outcome::Panicked(PanicError::new(&**payload)),
            };
            // The first and only set: `finish` runs once per call.
            let _ = call.outcome.set(outcome);
        }
        call.done.done();
        if let Ok(v) = ran {
            for chan in waiting.chans {
                // Room for one value, and only this send: it cannot block or fail but for a
                // receiver dropped already, which wants nothing.
                let _ = chan.try_send((v.clone(), shared));
            }
        }
        // On a panic the channels drop here, empty: closed.
        shared
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Default for Group<K, V> {
    fn default() -> Group<K, V> {
        Group::new()
    }
}

impl<K, V> fmt::Debug for Group<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("in_flight", &self.inner.calls.lock().len())
            .finish()
    }
}
