//! `select!`: wait on several channel operations and run the first that can proceed, after Go's
//! `runtime/select.go` (`selectgo`).
//!
//! ```text
//!   1. poll order: a random permutation of the cases      (fairness among ready cases)
//!   2. lock order: cases sorted by channel address,        (no lock-order deadlock between
//!      each channel locked once                              two selects on the same channels)
//!   3. pass 1: in poll order, the first case that can proceed now wins
//!   4. default: none could, return at once
//!   5. pass 2: enqueue a sudog on every channel, all sharing one `done` flag; park, unlocking
//!      every channel after the switch
//!   6. woken: a partner claimed exactly one sudog by CAS on `done` and completed it; lock all
//!      again, take the other sudogs off their queues, unlock
//! ```
//!
//! A timeout is one more receive case, on an `after(d)` channel; its timer is cancelled when
//! another case wins.
//!
//! ```
//! use goroutines::{chan, select};
//! let (tx, rx) = chan::<i32>(1);
//! tx.send(1).unwrap();
//! select! {
//!     recv(rx) -> v => assert_eq!(v, Ok(1)),
//!     default => unreachable!(),
//! }
//! ```

use std::cell::{Cell, UnsafeCell};
use std::time::Duration;

use parking_lot::lock_api::RawMutex as _;

use crate::chan::{
    Chan, Receiver, RecvError, SelectShared, SendError, Sender, State, Sudog, TryRecvError,
    TrySendError, Wake,
};
use crate::loom::{AtomicBool, AtomicUsize, Ordering};
use crate::runtime::g::WaitReason;
use crate::runtime::park::{block, Waiter};

mod sealed {
    pub trait Sealed {}
}

/// Completions found under the locks, to wake after unlocking. Used by `select!`'s expansion.
#[doc(hidden)]
pub struct Wakes(Vec<Wake>);

/// Who enqueues, with the select's shared state; opaque outside the crate.
#[doc(hidden)]
pub struct Enqueue<'a> {
    me: &'a Waiter,
    shared: *const SelectShared,
    case: usize,
}

/// One case of a `select!`, type-erased. Sealed: only this crate's case types implement it.
#[doc(hidden)]
pub trait Case: sealed::Sealed {
    #[doc(hidden)]
    fn chan_addr(&self) -> usize;
    #[doc(hidden)]
    fn lock_chan(&self);
    /// # Safety
    /// The channel is locked by this select.
    #[doc(hidden)]
    unsafe fn unlock_chan(&self);
    /// # Safety
    /// The channel is locked by this select.
    #[doc(hidden)]
    unsafe fn poll(&self, wakes: &mut Wakes) -> bool;
    /// # Safety
    /// The channel is locked by this select; `shared` outlives the enqueued sudog.
    #[doc(hidden)]
    unsafe fn enqueue(&self, at: Enqueue<'_>);
    /// # Safety
    /// The channel is locked by this select.
    #[doc(hidden)]
    unsafe fn dequeue(&self);
    /// The case won while parked: take its result from the sudog.
    #[doc(hidden)]
    fn complete(&self);
    /// Whether this case won.
    #[doc(hidden)]
    fn won(&self) -> bool;
    #[doc(hidden)]
    fn set_won(&self);
}

/// What a receive case and a send case share: the channel, the sudog that waits on it while the
/// select is parked, and whether the case won.
struct CaseCore<'a, T> {
    chan: &'a Chan<T>,
    sudog: UnsafeCell<Option<Sudog<T>>>,
    won: Cell<bool>,
}

/// Which of a channel's wait queues a case waits on.
#[derive(Clone, Copy)]
enum Queue {
    Recv,
    Send,
}

impl<'a, T> CaseCore<'a, T> {
    fn new(chan: &'a Chan<T>) -> Self {
        CaseCore {
            chan,
            sudog: UnsafeCell::new(None),
            won: Cell::new(false),
        }
    }

    /// The channel's state. The caller holds the channel's lock (taken raw by this select), so
    /// no guard is alive and nobody else touches the state.
    ///
    /// # Safety
    /// As above; the reference must not outlive the lock.
    #[allow(clippy::mut_from_ref)]
    unsafe fn state(&self) -> &mut State<T> {
        // SAFETY: per this function's contract.
        unsafe { &mut *self.chan.state.data_ptr() }
    }

    fn addr(&self) -> usize {
        self.chan as *const Chan<T> as usize
    }

    fn lock(&self) {
        // SAFETY: raw lock; released by `unlock`.
        unsafe { self.chan.state.raw().lock() };
    }

    /// # Safety
    /// The caller holds the lock.
    unsafe fn unlock(&self) {
        // SAFETY: per this function's contract.
        unsafe { self.chan.state.raw().unlock() };
    }

    /// Queues this case's sudog, carrying `elem`, on `queue`.
    ///
    /// # Safety
    /// The caller holds the lock; the select's shared state outlives the sudog.
    unsafe fn enqueue(&self, at: Enqueue<'_>, elem: Option<T>, queue: Queue) {
        // SAFETY: only this select touches its sudog slot; it is not queued yet.
        let slot = unsafe { &mut *self.sudog.get() };
        let sg: *const Sudog<T> = slot.insert(Sudog::new(at.me.clone(), elem, at.shared, at.case));
        // SAFETY: the caller holds the lock.
        let st = unsafe { self.state() };
        match queue {
            Queue::Recv => st.recvq.push_back(sg),
            Queue::Send => st.sendq.push_back(sg),
        }
    }

    /// Takes this case's sudog off `queue`, if a partner has not already.
    ///
    /// # Safety
    /// The caller holds the lock.
    unsafe fn dequeue(&self, queue: Queue) {
        // SAFETY: the slot holds the sudog while enqueued, and the caller holds the lock.
        let (Some(sg), st) = (unsafe { (*self.sudog.get()).as_ref() }, unsafe {
            self.state()
        }) else {
            return;
        };
        let p = sg as *const Sudog<T>;
        match queue {
            Queue::Recv => st.recvq.retain(|&q| q != p),
            Queue::Send => st.sendq.retain(|&q| q != p),
        }
    }

    /// The sudog, once the case won while parked: the partner dequeued it and nobody else
    /// touches it now.
    fn take_sudog(&self) -> Option<Sudog<T>> {
        // SAFETY: as above.
        unsafe { (*self.sudog.get()).take() }
    }
}

/// A receive case.
#[doc(hidden)]
pub struct RecvCase<'a, T> {
    core: CaseCore<'a, T>,
    result: Cell<Option<Result<T, RecvError>>>,
}

/// A send case; the value is evaluated up front and dropped if another case wins, as in Go.
#[doc(hidden)]
pub struct SendCase<'a, T> {
    core: CaseCore<'a, T>,
    value: Cell<Option<T>>,
    result: Cell<Option<Result<(), SendError<T>>>>,
}

impl<'a, T> RecvCase<'a, T> {
    #[doc(hidden)]
    pub fn new(rx: &'a Receiver<T>) -> Self {
        RecvCase {
            core: CaseCore::new(&rx.chan),
            result: Cell::new(None),
        }
    }

    /// The received value, or `RecvError` if the channel was closed.
    #[doc(hidden)]
    pub fn into_result(self) -> Result<T, RecvError> {
        self.result.take().unwrap_or(Err(RecvError))
    }
}

impl<'a, T> SendCase<'a, T> {
    #[doc(hidden)]
    pub fn new(tx: &'a Sender<T>, value: T) -> Self {
        SendCase {
            core: CaseCore::new(&tx.chan),
            value: Cell::new(Some(value)),
            result: Cell::new(None),
        }
    }

    /// `Ok` once sent, or `SendError` with the value if the channel was closed.
    #[doc(hidden)]
    pub fn into_result(self) -> Result<(), SendError<T>> {
        self.result.take().unwrap_or(Ok(()))
    }
}

impl<T> sealed::Sealed for RecvCase<'_, T> {}
impl<T> sealed::Sealed for SendCase<'_, T> {}

impl<T> Case for RecvCase<'_, T> {
    fn chan_addr(&self) -> usize {
        self.core.addr()
    }
    fn lock_chan(&self) {
        self.core.lock();
    }
    unsafe fn unlock_chan(&self) {
        // SAFETY: the caller holds the lock (the contract).
        unsafe { self.core.unlock() };
    }
    unsafe fn poll(&self, wakes: &mut Wakes) -> bool {
        // SAFETY: the caller holds the lock.
        let st = unsafe { self.core.state() };
        match self.core.chan.try_recv_locked(st) {
            Ok((v, wake)) => {
                wakes.0.extend(wake);
                self.result.set(Some(Ok(v)));
                true
            }
            Err(TryRecvError::Closed) => {
                self.result.set(Some(Err(RecvError)));
                true
            }
            Err(TryRecvError::Empty) => false,
        }
    }
    unsafe fn enqueue(&self, at: Enqueue<'_>) {
        // SAFETY: the caller's contract is the core's.
        unsafe { self.core.enqueue(at, None, Queue::Recv) };
    }
    unsafe fn dequeue(&self) {
        // SAFETY: the caller holds the lock.
        unsafe { self.core.dequeue(Queue::Recv) };
    }
    fn complete(&self) {
        let r = match self.core.take_sudog() {
            Some(sg) if sg.success.get() => sg.elem.into_inner().ok_or(RecvError),
            _ => Err(RecvError),
        };
        self.result.set(Some(r));
    }
    fn won(&self) -> bool {
        self.core.won.get()
    }
    fn set_won(&self) {
        self.core.won.set(true);
    }
}

impl<T> Case for SendCase<'_, T> {
    fn chan_addr(&self) -> usize {
        self.core.addr()
    }
    fn lock_chan(&self) {
        self.core.lock();
    }
    unsafe fn unlock_chan(&self) {
        // SAFETY: the caller holds the lock (the contract).
        unsafe { self.core.unlock() };
    }
    unsafe fn poll(&self, wakes: &mut Wakes) -> bool {
        let Some(v) = self.value.take() else {
            return false;
        };
        // SAFETY: the caller holds the lock.
        let st = unsafe { self.core.state() };
        match self.core.chan.try_send_locked(st, v) {
            Ok(wake) => {
                wakes.0.extend(wake);
                self.result.set(Some(Ok(())));
                true
            }
            Err(TrySendError::Closed(v)) => {
                self.result.set(Some(Err(SendError(v))));
                true
            }
            Err(TrySendError::Full(v)) => {
                self.value.set(Some(v));
                false
            }
        }
    }
    unsafe fn enqueue(&self, at: Enqueue<'_>) {
        // SAFETY: the caller's contract is the core's.
        unsafe { self.core.enqueue(at, self.value.take(), Queue::Send) };
    }
    unsafe fn dequeue(&self) {
        // SAFETY: the caller holds the lock.
        unsafe { self.core.dequeue(Queue::Send) };
    }
    fn complete(&self) {
        let r = match self.core.take_sudog() {
            Some(sg) if sg.success.get() => Ok(()),
            Some(sg) => match sg.elem.into_inner() {
                Some(v) => Err(SendError(v)),
                None => Ok(()),
            },
            None => Ok(()),
        };
        self.result.set(Some(r));
    }
    fn won(&self) -> bool {
        self.core.won.get()
    }
    fn set_won(&self) {
        self.core.won.set(true);
    }
}

/// How a select waits when no case is ready.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    /// Park until a case is ready.
    Block,
    /// Return at once (a `default` case).
    NonBlocking,
    /// Park at most this long (a `default(timeout)` case).
    Timeout(Duration),
}

/// Runs a select over `cases`; returns false when the default or timeout case wins. The winning
/// case reports `won()`. Used by the `select!` expansion.
#[doc(hidden)]
pub fn select_cases(cases: &[&dyn Case], mode: Mode) -> bool {
    crate::runtime::preempt_check();
    match mode {
        Mode::Timeout(d) if d.is_zero() => select_cases(cases, Mode::NonBlocking),
        Mode::Timeout(d) => {
            let (timer, cancel) = crate::time::select_timeout(d);
            let tcase = RecvCase::new(&timer);
            let mut all: Vec<&dyn Case> = cases.to_vec();
            all.push(&tcase);
            let won = selectgo(&all, true);
            cancel.cancel();
            won.is_some_and(|i| i < cases.len())
        }
        Mode::Block => selectgo(cases, true).is_some(),
        Mode::NonBlocking => selectgo(cases, false).is_some(),
    }
}

/// Go's `selectgo`. Returns the index of the winning case, or None when `block` is false and no
/// case was ready.
fn selectgo(cases: &[&dyn Case], block_: bool) -> Option<usize> {
    let n = cases.len();
    if n == 0 {
        if !block_ {
            return None;
        }
        // Go's `select {}`: park forever.
        let me = Waiter::current();
        block(&me, WaitReason::SelectNoCases, || {});
        crate::runtime::g::fatal("select with no cases woke up");
    }
    let mut pollorder: Vec<usize> = (0..n).collect();
    fastrand::shuffle(&mut pollorder);
    let mut lockorder: Vec<usize> = (0..n).collect();
    lockorder.sort_by_key(|&i| cases[i].chan_addr());
    lockorder.dedup_by_key(|i| cases[*i].chan_addr());
    let lock_all = || lockorder.iter().for_each(|&i| cases[i].lock_chan());
    let unlock_all = || {
        // SAFETY: every channel in `lockorder` was locked by `lock_all` just before.
        lockorder
            .iter()
            .rev()
            .for_each(|&i| unsafe { cases[i].unlock_chan() })
    };

    lock_all();
    let mut wakes = Wakes(Vec::new());
    for &i in &pollorder {
        // SAFETY: all channels are locked.
        if unsafe { cases[i].poll(&mut wakes) } {
            unlock_all();
            wakes.0.into_iter().for_each(Wake::wake);
            mark_won(cases[i]);
            return Some(i);
        }
    }
    if !block_ {
        unlock_all();
        return None;
    }
    let me = Waiter::current();
    let shared = SelectShared {
        done: AtomicBool::new(false),
        winner: AtomicUsize::new(usize::MAX),
    };
    for &i in &lockorder_all(cases) {
        // SAFETY: all channels are locked; `shared` lives on this frame until every sudog is
        // off its queue (below).
        unsafe {
            cases[i].enqueue(Enqueue {
                me: &me,
                shared: &shared,
                case: i,
            })
        };
    }
    block(&me, WaitReason::Select, unlock_all);
    let winner = shared.winner.load(Ordering::Acquire);
    lock_all();
    for (i, c) in cases.iter().enumerate() {
        if i != winner {
            // SAFETY: all channels are locked.
            unsafe { c.dequeue() };
        }
    }
    unlock_all();
    match cases.get(winner) {
        Some(c) => {
            c.complete();
            mark_won(*c);
            Some(winner)
        }
        None => crate::runtime::g::fatal("select woke without a winner"),
    }
}

/// Every case (duplicates included) in channel-address order, as Go enqueues.
fn lockorder_all(cases: &[&dyn Case]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..cases.len()).collect();
    order.sort_by_key(|&i| cases[i].chan_addr());
    order
}

fn mark_won(c: &dyn Case) {
    c.set_won();
}

/// Waits on several channel operations and runs the body of the first that proceeds; among
/// several ready cases one is chosen at random (Go's fairness). Syntax as crossbeam's `select!`:
///
/// ```ignore
/// select! {
///     recv(rx) -> v => { /* v: Result<T, RecvError> */ }
///     send(tx, value) -> r => { /* r: Result<(), SendError<T>> */ }
///     default => { /* no case was ready */ }            // or:
///     default(Duration::from_millis(10)) => { /* timed out */ }
/// }
/// ```
///
/// Without `default`, the caller parks until a case proceeds; a closed channel makes its receive
/// case proceed with `Err(RecvError)` and its send case with `Err(SendError(value))`.
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__select_parse!(@cases () @mode ($crate::select::Mode::Block) @default ({ unreachable!() }) $($tokens)*)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // recv(rx) -> pat => body
    (@cases ($($c:tt)*) @mode $m:tt @default $d:tt recv($rx:expr) -> $p:pat => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!(@cases ($($c)* [__case ($crate::select::RecvCase::new(&$rx)) $p => $body]) @mode $m @default $d $($rest)*)
    };
    (@cases ($($c:tt)*) @mode $m:tt @default $d:tt recv($rx:expr) -> $p:pat => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(@cases ($($c)* [__case ($crate::select::RecvCase::new(&$rx)) $p => $body]) @mode $m @default $d $($rest)*)
    };
    (@cases ($($c:tt)*) @mode $m:tt @default $d:tt recv($rx:expr) -> $p:pat => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(@cases ($($c)* [__case ($crate::select::RecvCase::new(&$rx)) $p => { $body }]) @mode $m @default $d $($($rest)*)?)
    };
    // send(tx, value) -> pat => body
    (@cases ($($c:tt)*) @mode $m:tt @default $d:tt send($tx:expr, $v:expr) -> $p:pat => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!(@cases ($($c)* [__case ($crate::select::SendCase::new(&$tx, $v)) $p => $body]) @mode $m @default $d $($rest)*)
    };
    (@cases ($($c:tt)*) @mode $m:tt @default $d:tt send($tx:expr, $v:expr) -> $p:pat => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(@cases ($($c)* [__case ($crate::select::SendCase::new(&$tx, $v)) $p => $body]) @mode $m @default $d $($rest)*)
    };
    (@cases ($($c:tt)*) @mode $m:tt @default $d:tt send($tx:expr, $v:expr) -> $p:pat => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(@cases ($($c)* [__case ($crate::select::SendCase::new(&$tx, $v)) $p => { $body }]) @mode $m @default $d $($($rest)*)?)
    };
    // default(timeout) => body
    (@cases $c:tt @mode $m:tt @default $d:tt default($t:expr) => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!(@cases $c @mode ($crate::select::Mode::Timeout($t)) @default ($body) $($rest)*)
    };
    (@cases $c:tt @mode $m:tt @default $d:tt default($t:expr) => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(@cases $c @mode ($crate::select::Mode::Timeout($t)) @default ($body) $($rest)*)
    };
    (@cases $c:tt @mode $m:tt @default $d:tt default($t:expr) => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(@cases $c @mode ($crate::select::Mode::Timeout($t)) @default ({ $body }) $($($rest)*)?)
    };
    // default => body
    (@cases $c:tt @mode $m:tt @default $d:tt default => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!(@cases $c @mode ($crate::select::Mode::NonBlocking) @default ($body) $($rest)*)
    };
    (@cases $c:tt @mode $m:tt @default $d:tt default => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(@cases $c @mode ($crate::select::Mode::NonBlocking) @default ($body) $($rest)*)
    };
    (@cases $c:tt @mode $m:tt @default $d:tt default => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(@cases $c @mode ($crate::select::Mode::NonBlocking) @default ({ $body }) $($($rest)*)?)
    };
    // all parsed: each `__case` ident comes from a different expansion, so hygiene keeps them apart
    (@cases ($([$case:ident ($new:expr) $p:pat => $body:block])*) @mode ($m:expr) @default ($d:block)) => {{
        $( let $case = $new; )*
        if $crate::select::select_cases(&[$(&$case as &dyn $crate::select::Case),*], $m) {
            $crate::__select_dispatch!($([$case $p => $body])* @default $d)
        } else $d
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_dispatch {
    ([$case:ident $p:pat => $body:block] $([$rc:ident $rp:pat => $rb:block])* @default $d:block) => {
        if $crate::select::Case::won(&$case) {
            let $p = $case.into_result();
            $body
        } else {
            $crate::__select_dispatch!($([$rc $rp => $rb])* @default $d)
        }
    };
    (@default $d:block) => {
        unreachable!("select: no case won")
    };
}
