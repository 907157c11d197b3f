//! `Event`, `Lock`, `Semaphore`, `BoundedSemaphore`, `Condition` and `Barrier`, after CPython
//! 3.12's `Lib/asyncio/locks.py`.
//!
//! All three park a coroutine the same way: append a fresh future to a FIFO deque of waiters,
//! await it, and remove it again afterwards whatever happened (`finally: waiters.remove(fut)`).
//! Waking sets a waiter's result; the woken task runs one pass later, and anything may happen in
//! between, so each primitive decides in the woken coroutine what the wake-up means:
//!
//! ```text
//!   Event.set        every waiter's future gets a result; wait() returns in each, in FIFO order
//!   Lock.release     unlocked := true; wake the FIRST waiter (only if its future is not done)
//!     woken waiter   locked := true                     (the wake-up is a handover)
//!     cancelled      if still unlocked: wake the first waiter (the next in line)
//!   Semaphore        release: value += 1, wake the first not-done waiter, value -= 1 for it
//!     woken waiter   if value > 0 still: wake the next
//!     cancelled      if it had been woken: value += 1 and wake the next
//!   Condition        notify(n): the n first not-done waiters get a result; each takes the
//!                    lock back (in line for it) before its wait() returns, cancelled or not
//!   Barrier          a Condition and a state (filling, draining, resetting, broken): the last
//!                    party to arrive notifies the others
//! ```
//!
//! Fairness, as 3.12 implements it: `Lock.acquire` takes the lock at once only when no waiter is
//! left whose future is not cancelled, and `Semaphore.locked` is true while any such waiter
//! exists, so a newcomer never overtakes a woken waiter that has not run yet (3.12's
//! fairness fix; 3.11.7's `locks.py` is the same).
//!
//! Invariants:
//! - a waiter's future is in its deque exactly while its coroutine is suspended on it;
//! - a lock's woken waiter finds `locked == false` (nobody else may take it in between: every
//!   newcomer sees the woken, not-cancelled future and queues behind it);
//! - a semaphore's `value` already counts every woken waiter that has not run yet.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;

use crate::base_events::EventLoop;
use crate::futures::{Error, Future};

type Waiters = RefCell<VecDeque<Future<()>>>;

/// Park the current coroutine on a new future at the back of `waiters`, and take the future
/// out of `waiters` again however the wait ends.
async fn wait_in_line(waiters: &Waiters) -> Result<(Future<()>, Result<(), Error>), Error> {
    let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
    let future = event_loop.create_future::<()>();
    waiters.borrow_mut().push_back(future.clone());
    let outcome = future.clone().await;
    let mut queued = waiters.borrow_mut();
    if let Some(index) = queued.iter().position(|other| other.is_same(&future)) {
        queued.remove(index);
    }
    drop(queued);
    Ok((future, outcome))
}

struct EventInner {
    value: Cell<bool>,
    waiters: Waiters,
}

/// asyncio's `Event`. Cloning gives another reference to the same event.
#[derive(Clone)]
pub struct Event(Rc<EventInner>);

impl Default for Event {
    fn default() -> Self {
        Self::new()
    }
}

impl Event {
    /// `asyncio.Event()`: not set.
    pub fn new() -> Self {
        Event(Rc::new(EventInner {
            value: Cell::new(false),
            waiters: RefCell::new(VecDeque::new()),
        }))
    }

    /// `Event.is_set`.
    pub fn is_set(&self) -> bool {
        self.0.value.get()
    }

    /// `Event.set`: wake every waiter; later `wait`s return at once until `clear`.
    pub fn set(&self) {
        if self.0.value.replace(true) {
            return;
        }
        let waiters: Vec<Future<()>> = self.0.waiters.borrow().iter().cloned().collect();
        for waiter in waiters {
            if !waiter.done() {
                // Not done, so `set_result` cannot fail.
                let _ = waiter.set_result(());
            }
        }
    }

    /// `Event.clear`.
    pub fn clear(&self) {
        self.0.value.set(false);
    }

    /// `Event.wait`: return at once if set, else wait for `set`.
    pub async fn wait(&self) -> Result<(), Error> {
        if self.is_set() {
            return Ok(());
        }
        wait_in_line(&self.0.waiters).await?.1
    }
}

/// `RuntimeError('Lock is not acquired.')`, from [`Lock::release`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockNotAcquired;

impl fmt::Display for LockNotAcquired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("lock is not acquired")
    }
}

impl std::error::Error for LockNotAcquired {}

struct LockInner {
    locked: Cell<bool>,
    waiters: Waiters,
}

/// asyncio's `Lock`: FIFO, not reentrant. Cloning gives another reference to the same lock.
#[derive(Clone)]
pub struct Lock(Rc<LockInner>);

impl Default for Lock {
    fn default() -> Self {
        Self::new()
    }
}

impl Lock {
    /// `asyncio.Lock()`: unlocked.
    pub fn new() -> Self {
        Lock(Rc::new(LockInner {
            locked: Cell::new(false),
            waiters: RefCell::new(VecDeque::new()),
        }))
    }

    /// `Lock.locked`.
    pub fn locked(&self) -> bool {
        self.0.locked.get()
    }

    /// `Lock.acquire`: take the lock, waiting in FIFO order behind every waiter not cancelled.
    pub async fn acquire(&self) -> Result<(), Error> {
        let nobody_in_line = self.0.waiters.borrow().iter().all(Future::cancelled);
        if !self.locked() && nobody_in_line {
            self.0.locked.set(true);
            return Ok(());
        }
        let (_, outcome) = wait_in_line(&self.0.waiters).await?;
        if let Err(error) = outcome {
            if matches!(error, Error::Cancelled) && !self.locked() {
                self.wake_up_first();
            }
            return Err(error);
        }
        self.0.locked.set(true);
        Ok(())
    }

    /// `Lock.release`: unlock and wake the first waiter.
    pub fn release(&self) -> Result<(), LockNotAcquired> {
        if !self.0.locked.replace(false) {
            return Err(LockNotAcquired);
        }
        self.wake_up_first();
        Ok(())
    }

    /// `Lock._wake_up_first`: only the first waiter, and only if its future is not done.
    fn wake_up_first(&self) {
        let first = self.0.waiters.borrow().front().cloned();
        if let Some(first) = first.filter(|first| !first.done()) {
            let _ = first.set_result(());
        }
    }
}

struct SemaphoreInner {
    value: Cell<usize>,
    waiters: Waiters,
}

/// asyncio's `Semaphore`. Cloning gives another reference to the same semaphore.
#[derive(Clone)]
pub struct Semaphore(Rc<SemaphoreInner>);

impl Semaphore {
    /// `asyncio.Semaphore(value)`.
    pub fn new(value: usize) -> Self {
        Semaphore(Rc::new(SemaphoreInner {
            value: Cell::new(value),
            waiters: RefCell::new(VecDeque::new()),
        }))
    }

    /// `Semaphore.locked`: `acquire` would wait (no value left, or a waiter not cancelled is in
    /// line).
    pub fn locked(&self) -> bool {
        self.0.value.get() == 0
            || self
                .0
                .waiters
                .borrow()
                .iter()
                .any(|waiter| !waiter.cancelled())
    }

    /// `Semaphore.acquire`.
    pub async fn acquire(&self) -> Result<(), Error> {
        if !self.locked() {
            self.0.value.set(self.0.value.get() - 1);
            return Ok(());
        }
        let (future, outcome) = wait_in_line(&self.0.waiters).await?;
        if let Err(error) = outcome {
            if matches!(error, Error::Cancelled) && !future.cancelled() {
                // Woken (and counted) but cancelled before it ran: give the value back.
                self.0.value.set(self.0.value.get() + 1);
                self.wake_up_next();
            }
            return Err(error);
        }
        if self.0.value.get() > 0 {
            self.wake_up_next();
        }
        Ok(())
    }

    /// `Semaphore.release`.
    pub fn release(&self) {
        self.0.value.set(self.0.value.get() + 1);
        self.wake_up_next();
    }

    /// `Semaphore._wake_up_next`: the first waiter not done takes one unit of value.
    fn wake_up_next(&self) {
        let next = self
            .0
            .waiters
            .borrow()
            .iter()
            .find(|waiter| !waiter.done())
            .cloned();
        if let Some(next) = next {
            self.0.value.set(self.0.value.get() - 1);
            let _ = next.set_result(());
        }
    }
}

/// `RuntimeError('cannot wait on un-acquired lock')` and `('cannot notify on un-acquired
/// lock')`, from [`Condition::wait`] and [`Condition::notify`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConditionNotAcquired {
    /// `"wait"` or `"notify"`.
    pub operation: &'static str,
}

impl fmt::Display for ConditionNotAcquired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot {} on un-acquired lock", self.operation)
    }
}

impl std::error::Error for ConditionNotAcquired {}

struct ConditionInner {
    lock: Lock,
    waiters: Waiters,
}

/// asyncio's `Condition`: a [`Lock`] and a FIFO of waiters to notify. Cloning gives another
/// reference to the same condition.
///
/// `wait` releases the lock, parks until notified, and takes the lock back before it returns,
/// even when the waiting task is cancelled (which it then reports); `notify(n)` wakes the `n`
/// longest waiters, which run once the notifier releases the lock.
#[derive(Clone)]
pub struct Condition(Rc<ConditionInner>);

impl Default for Condition {
    fn default() -> Self {
        Self::new()
    }
}

impl Condition {
    /// `asyncio.Condition()`: with a lock of its own.
    pub fn new() -> Self {
        Self::with_lock(Lock::new())
    }

    /// `asyncio.Condition(lock)`: on an existing lock.
    pub fn with_lock(lock: Lock) -> Self {
        Condition(Rc::new(ConditionInner {
            lock,
            waiters: RefCell::new(VecDeque::new()),
        }))
    }

    /// Whether its lock is held (`Condition.locked`).
    pub fn locked(&self) -> bool {
        self.0.lock.locked()
    }

    /// Takes its lock (`Condition.acquire`, the `async with` entry).
    pub async fn acquire(&self) -> Result<(), Error> {
        self.0.lock.acquire().await
    }

    /// Releases its lock (`Condition.release`, the `async with` exit).
    pub fn release(&self) -> Result<(), LockNotAcquired> {
        self.0.lock.release()
    }

    /// `Condition.wait`: with the lock held, release it, wait to be notified, then take the
    /// lock back; `Ok(true)`. A cancellation while waiting or while taking the lock back is
    /// reported (`Error::Cancelled`) only once the lock is held again. Without the lock: a
    /// [`ConditionNotAcquired`] exception.
    pub async fn wait(&self) -> Result<bool, Error> {
        if !self.locked() {
            return Err(Error::exception(ConditionNotAcquired { operation: "wait" }));
        }
        let _ = self.release();
        let waited = wait_in_line(&self.0.waiters).await;
        // `finally`: the lock is taken back whatever happened, through any cancellation.
        let mut cancelled = false;
        loop {
            match self.acquire().await {
                Ok(()) => break,
                Err(Error::Cancelled) => cancelled = true,
                Err(error) => return Err(error),
            }
        }
        if cancelled {
            return Err(Error::Cancelled);
        }
        let (_, outcome) = waited?;
        outcome.map(|()| true)
    }

    /// `Condition.wait_for`: waits until `predicate` holds, checking it first and after each
    /// wake-up.
    pub async fn wait_for(&self, mut predicate: impl FnMut() -> bool) -> Result<bool, Error> {
        while !predicate() {
            self.wait().await?;
        }
        Ok(true)
    }

    /// `Condition.notify(n)`: wakes the `n` longest waiters not yet woken. Needs the lock.
    pub fn notify(&self, n: usize) -> Result<(), ConditionNotAcquired> {
        if !self.locked() {
            return Err(ConditionNotAcquired {
                operation: "notify",
            });
        }
        let waiters: Vec<Future<()>> = self.0.waiters.borrow().iter().cloned().collect();
        let mut woken = 0;
        for waiter in waiters {
            if woken >= n {
                break;
            }
            if !waiter.done() {
                woken += 1;
                let _ = waiter.set_result(());
            }
        }
        Ok(())
    }

    /// `Condition.notify_all`: wakes every waiter. Needs the lock.
    pub fn notify_all(&self) -> Result<(), ConditionNotAcquired> {
        let all = self.0.waiters.borrow().len();
        self.notify(all)
    }
}

/// `ValueError('BoundedSemaphore released too many times')`, from
/// [`BoundedSemaphore::release`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReleasedTooManyTimes;

impl fmt::Display for ReleasedTooManyTimes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoundedSemaphore released too many times")
    }
}

impl std::error::Error for ReleasedTooManyTimes {}

/// asyncio's `BoundedSemaphore`: a [`Semaphore`] whose `release` refuses to raise the value
/// above the initial one. Cloning gives another reference to the same semaphore.
#[derive(Clone)]
pub struct BoundedSemaphore {
    semaphore: Semaphore,
    bound: usize,
}

impl BoundedSemaphore {
    /// `asyncio.BoundedSemaphore(value)`.
    pub fn new(value: usize) -> Self {
        BoundedSemaphore {
            semaphore: Semaphore::new(value),
            bound: value,
        }
    }

    /// `Semaphore.locked`.
    pub fn locked(&self) -> bool {
        self.semaphore.locked()
    }

    /// `Semaphore.acquire`.
    pub async fn acquire(&self) -> Result<(), Error> {
        self.semaphore.acquire().await
    }

    /// `BoundedSemaphore.release`: refused when the value is already at its bound (more
    /// releases than acquires).
    pub fn release(&self) -> Result<(), ReleasedTooManyTimes> {
        if self.semaphore.0.value.get() >= self.bound {
            return Err(ReleasedTooManyTimes);
        }
        self.semaphore.release();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A release before any acquire is refused, as is a third after two acquires and two
    /// releases; the semaphore works on after a refusal.
    #[test]
    fn a_bounded_semaphore_refuses_a_release_past_its_bound() {
        let outcome = crate::run(async {
            let semaphore = BoundedSemaphore::new(2);
            assert_eq!(semaphore.release(), Err(ReleasedTooManyTimes));
            semaphore.acquire().await?;
            semaphore.acquire().await?;
            assert!(semaphore.locked());
            assert_eq!(semaphore.release(), Ok(()));
            assert_eq!(semaphore.release(), Ok(()));
            assert_eq!(semaphore.release(), Err(ReleasedTooManyTimes));
            assert_eq!(
                ReleasedTooManyTimes.to_string(),
                "BoundedSemaphore released too many times"
            );
            semaphore.acquire().await?;
            assert_eq!(semaphore.release(), Ok(()));
            Ok(())
        });
        assert!(outcome.is_ok());
    }
}

/// `ValueError('parties must be > 0')`, from [`Barrier::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoParties;

impl fmt::Display for NoParties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("parties must be > 0")
    }
}

impl std::error::Error for NoParties {}

/// `BrokenBarrierError`: raised (as an [`Error::Exception`]) by [`Barrier::wait`] in a party
/// that a [`reset`](Barrier::reset) or [`abort`](Barrier::abort) broke out of its wait, and in
/// every party that calls `wait` on an aborted barrier. Its text is CPython's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BrokenBarrierError(&'static str);

impl fmt::Display for BrokenBarrierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for BrokenBarrierError {}

/// `locks._BarrierState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BarrierState {
    /// Parties arrive and wait.
    Filling,
    /// The last party arrived: the waiting ones leave; newcomers wait for the next round.
    Draining,
    /// `reset` while parties waited: they leave with `BrokenBarrierError`.
    Resetting,
    /// `abort`: every wait fails until a `reset`.
    Broken,
}

struct BarrierInner {
    cond: Condition,
    parties: usize,
    state: Cell<BarrierState>,
    /// Parties inside `wait` past the draining check (`_count`).
    count: Cell<usize>,
}

/// asyncio's `Barrier` (3.11): `parties` tasks meet at [`wait`](Self::wait), which returns in
/// all of them once the last one arrives, each with its own index from 0 to `parties - 1` (the
/// order they arrived in). It is reusable: parties that arrive while the last round is still
/// leaving wait for the next one. Built, as CPython's, on a [`Condition`]. Cloning gives another
/// reference to the same barrier.
///
/// ```text
///   FILLING ──last party arrives──► DRAINING ──last party leaves──► FILLING
///      │ reset with parties waiting ──► RESETTING ──last party leaves──► FILLING
///      └ abort ──► BROKEN (every wait fails) ──reset──► FILLING
/// ```
#[derive(Clone)]
pub struct Barrier(Rc<BarrierInner>);

impl Barrier {
    /// `asyncio.Barrier(parties)`; `parties` must be at least 1.
    pub fn new(parties: usize) -> Result<Self, NoParties> {
        if parties < 1 {
            return Err(NoParties);
        }
        Ok(Barrier(Rc::new(BarrierInner {
            cond: Condition::new(),
            parties,
            state: Cell::new(BarrierState::Filling),
            count: Cell::new(0),
        })))
    }

    /// `Barrier.wait` (also its `async with`): waits until `parties` tasks wait, then returns
    /// this party's index. A [`BrokenBarrierError`] exception when the barrier is reset or
    /// aborted while waiting, or is broken already.
    pub async fn wait(&self) -> Result<usize, Error> {
        self.0.cond.acquire().await?;
        let outcome = self.wait_locked().await;
        // `async with self._cond`'s exit; the condition holds the lock again whatever happened.
        let _ = self.0.cond.release();
        outcome
    }

    async fn wait_locked(&self) -> Result<usize, Error> {
        let inner = &self.0;
        self.block().await?;
        let index = inner.count.get();
        inner.count.set(index + 1);
        let outcome = if index + 1 == inner.parties {
            // `_release`: the others go.
            inner.state.set(BarrierState::Draining);
            let _ = inner.cond.notify_all();
            Ok(())
        } else {
            self.wait_released().await
        };
        // `finally`.
        inner.count.set(inner.count.get() - 1);
        self.exit();
        outcome.map(|()| index)
    }

    /// `_block`: wait while the barrier drains or resets; fail if it is broken.
    async fn block(&self) -> Result<(), Error> {
        let state = &self.0.state;
        self.0
            .cond
            .wait_for(|| {
                !matches!(
                    state.get(),
                    BarrierState::Draining | BarrierState::Resetting
                )
            })
            .await?;
        if state.get() == BarrierState::Broken {
            return Err(Error::exception(BrokenBarrierError("Barrier aborted")));
        }
        Ok(())
    }

    /// `_wait`: wait for the last party; fail if the barrier was reset or aborted meanwhile.
    async fn wait_released(&self) -> Result<(), Error> {
        let state = &self.0.state;
        self.0
            .cond
            .wait_for(|| state.get() != BarrierState::Filling)
            .await?;
        if matches!(state.get(), BarrierState::Broken | BarrierState::Resetting) {
            return Err(Error::exception(BrokenBarrierError(
                "Abort or reset of barrier",
            )));
        }
        Ok(())
    }

    /// `_exit`: the last party to leave ends the draining (or resetting) and wakes the parties
    /// waiting for the next round.
    fn exit(&self) {
        let inner = &self.0;
        if inner.count.get() == 0 {
            if matches!(
                inner.state.get(),
                BarrierState::Resetting | BarrierState::Draining
            ) {
                inner.state.set(BarrierState::Filling);
            }
            let _ = inner.cond.notify_all();
        }
    }

    /// `Barrier.reset`: back to the initial state; parties waiting leave with
    /// [`BrokenBarrierError`]. Repairs an aborted barrier.
    pub async fn reset(&self) -> Result<(), Error> {
        let inner = &self.0;
        inner.cond.acquire().await?;
        if inner.count.get() > 0 {
            inner.state.set(BarrierState::Resetting);
        } else {
            inner.state.set(BarrierState::Filling);
        }
        let _ = inner.cond.notify_all();
        let _ = inner.cond.release();
        Ok(())
    }

    /// `Barrier.abort`: breaks the barrier; parties waiting, and every later `wait`, fail with
    /// [`BrokenBarrierError`] until a [`reset`](Self::reset).
    pub async fn abort(&self) -> Result<(), Error> {
        let inner = &self.0;
        inner.cond.acquire().await?;
        inner.state.set(BarrierState::Broken);
        let _ = inner.cond.notify_all();
        let _ = inner.cond.release();
        Ok(())
    }

    /// `Barrier.parties`.
    pub fn parties(&self) -> usize {
        self.0.parties
    }

    /// `Barrier.n_waiting`: parties waiting for the current round to fill (0 while it drains).
    pub fn n_waiting(&self) -> usize {
        if self.0.state.get() == BarrierState::Filling {
            self.0.count.get()
        } else {
            0
        }
    }

    /// `Barrier.broken`: aborted and not reset since.
    pub fn broken(&self) -> bool {
        self.0.state.get() == BarrierState::Broken
    }
}
