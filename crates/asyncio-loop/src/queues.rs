//! `Queue`, `LifoQueue` and `PriorityQueue`, after CPython 3.12's `Lib/asyncio/queues.py`.
//!
//! A queue holds items and two deques of waiter futures. The items come out first in, first
//! out (`Queue`), last in, first out ([`Queue::lifo`]: `LifoQueue`'s list `append` and `pop`),
//! or smallest first ([`Queue::priority`]: `PriorityQueue`'s `heapq.heappush` and `heappop`,
//! move for move, so equal items come out in heapq's order, as in CPython):
//!
//! ```text
//!   put ──full?──► putters: [fut, fut, ...] ◄── _wakeup_next(putters) ── get_nowait
//!   get ─empty?──► getters: [fut, fut, ...] ◄── _wakeup_next(getters) ── put_nowait
//! ```
//!
//! A coroutine that finds the queue full (or empty) appends a fresh future to `putters`
//! (`getters`) and awaits it, then loops and checks again: a wake-up is a hint, not a handover,
//! so a task that arrives in between may take the slot first, exactly as in CPython.
//! `_wakeup_next` pops futures from the front until it finds one not yet done and sets its
//! result. A waiter that is cancelled removes its own future and, if the queue still has room
//! (items) and its future was woken rather than cancelled, passes the wake-up on to the next
//! waiter, so no wake-up is lost.
//!
//! `join` waits on an [`Event`] (`_finished`) that is set while `unfinished_tasks` is 0:
//! `put_nowait` increments and clears it, `task_done` decrements and sets it at 0.
//!
//! Invariants:
//! - `maxsize <= 0` means unbounded: `full()` is always false and `put` never waits;
//! - `finished` is set exactly when `unfinished_tasks == 0`;
//! - every future in `getters` or `putters` belongs to a coroutine suspended in `get` or `put`,
//!   or is already done (woken or cancelled) and will be skipped by `_wakeup_next`.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;

use crate::base_events::EventLoop;
use crate::futures::{Error, Future};
use crate::heapq::{heappop_by, heappush_by};
use crate::locks::Event;

/// `QueueFull`, from [`Queue::put_nowait`]; gives the item back.
#[derive(Debug, PartialEq, Eq)]
pub struct QueueFull<T>(pub T);

impl<T> fmt::Display for QueueFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is full")
    }
}

impl<T: fmt::Debug> std::error::Error for QueueFull<T> {}

/// `QueueEmpty`, from [`Queue::get_nowait`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueEmpty;

impl fmt::Display for QueueEmpty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is empty")
    }
}

impl std::error::Error for QueueEmpty {}

/// `ValueError('task_done() called too many times')`, from [`Queue::task_done`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskDoneError;

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called too many times")
    }
}

impl std::error::Error for TaskDoneError {}

mod sealed {
    pub trait Sealed {}
}

/// How a queue orders its items: the `_init`, `_put`, `_get` and `_qsize` that each queue
/// class of queues.py overrides. Implemented by [`Fifo`] (`Queue`), [`Lifo`] (`LifoQueue`) and
/// [`Priority`] (`PriorityQueue`) only; a parameter of [`Queue`], so that each kind's calls are
/// direct.
pub trait QueueOrder<T>: sealed::Sealed {
    /// `_put`.
    fn put(&mut self, item: T);
    /// `_get`: the next item, if any.
    fn get(&mut self) -> Option<T>;
    /// `_qsize`.
    fn qsize(&self) -> usize;
}

/// The items of a `Queue`: first in, first out (a deque's `append` and `popleft`).
pub struct Fifo<T>(VecDeque<T>);

/// The items of a `LifoQueue`: last in, first out (a list's `append` and `pop`).
pub struct Lifo<T>(Vec<T>);

/// The items of a `PriorityQueue`: a heap, smallest first, in `heapq`'s order.
pub struct Priority<T>(Vec<T>);

impl<T> sealed::Sealed for Fifo<T> {}
impl<T> sealed::Sealed for Lifo<T> {}
impl<T> sealed::Sealed for Priority<T> {}

impl<T> QueueOrder<T> for Fifo<T> {
    #[inline]
    fn put(&mut self, item: T) {
        self.0.push_back(item);
    }

    #[inline]
    fn get(&mut self) -> Option<T> {
        self.0.pop_front()
    }

    #[inline]
    fn qsize(&self) -> usize {
        self.0.len()
    }
}

impl<T> QueueOrder<T> for Lifo<T> {
    fn put(&mut self, item: T) {
        self.0.push(item);
    }

    fn get(&mut self) -> Option<T> {
        self.0.pop()
    }

    fn qsize(&self) -> usize {
        self.0.len()
    }
}

impl<T: Ord> QueueOrder<T> for Priority<T> {
    /// `heapq.heappush(self._queue, item)`.
    fn put(&mut self, item: T) {
        heappush_by(&mut self.0, item, &|a: &T, b: &T| a < b);
    }

    /// `heapq.heappop(self._queue)`.
    fn get(&mut self) -> Option<T> {
        heappop_by(&mut self.0, &|a: &T, b: &T| a < b)
    }

    fn qsize(&self) -> usize {
        self.0.len()
    }
}

struct QueueInner<O> {
    maxsize: usize,
    items: RefCell<O>,
    getters: RefCell<VecDeque<Future<()>>>,
    putters: RefCell<VecDeque<Future<()>>>,
    unfinished_tasks: Cell<usize>,
    finished: Event,
    /// A waiter future that a `get` or `put` awaited to the end and that nothing else holds,
    /// kept to be the next waiter's: a queue that makes its tasks wait in turn (a producer and
    /// a consumer) allocates no future per wait. CPython makes a new future each time; no one
    /// can tell the difference (see [`Future::recycle`]). It holds its loop, as CPython's
    /// queue holds `_loop` once used.
    spare_waiter: Cell<Option<Future<()>>>,
}

/// asyncio's `Queue`: FIFO ([`new`](Self::new)), bounded when `maxsize > 0`; with LIFO items
/// a [`LifoQueue`] ([`Queue::lifo`]), smallest first a [`PriorityQueue`]
/// ([`Queue::priority`]). Cloning gives another reference to the same queue.
pub struct Queue<T, O = Fifo<T>>(Rc<QueueInner<O>>, PhantomData<T>);

/// asyncio's `LifoQueue`: made by [`Queue::lifo`].
pub type LifoQueue<T> = Queue<T, Lifo<T>>;

/// asyncio's `PriorityQueue`: made by [`Queue::priority`].
pub type PriorityQueue<T> = Queue<T, Priority<T>>;

impl<T, O> Clone for Queue<T, O> {
    fn clone(&self) -> Self {
        Queue(self.0.clone(), PhantomData)
    }
}

impl<T: 'static> Default for Queue<T> {
    fn default() -> Self {
        Self::new(0)
    }
}

/// `Queue._wakeup_next`: wake the first waiter whose future is not done yet.
fn wakeup_next(waiters: &RefCell<VecDeque<Future<()>>>) {
    loop {
        let Some(waiter) = waiters.borrow_mut().pop_front() else {
            return;
        };
        // `if not waiter.done(): waiter.set_result(None)`: `set_result` fails, and does
        // nothing, exactly when the waiter is done.
        if waiter.set_result(()).is_ok() {
            return;
        }
    }
}

/// `deque.remove(fut)`, ignoring a future that is no longer there (`except ValueError: pass`).
fn remove_waiter(waiters: &RefCell<VecDeque<Future<()>>>, waiter: &Future<()>) {
    let mut waiters = waiters.borrow_mut();
    if let Some(index) = waiters.iter().position(|other| other.is_same(waiter)) {
        waiters.remove(index);
    }
}

impl<T: 'static> Queue<T> {
    /// `asyncio.Queue(maxsize)`: `0` for unbounded.
    pub fn new(maxsize: usize) -> Self {
        Self::with_items(maxsize, Fifo(VecDeque::new()))
    }
}

impl<T: 'static> Queue<T, Lifo<T>> {
    /// `asyncio.LifoQueue(maxsize)`: the last item put is the first got.
    #[doc(alias = "LifoQueue")]
    pub fn lifo(maxsize: usize) -> Self {
        Self::with_items(maxsize, Lifo(Vec::new()))
    }
}

impl<T: Ord + 'static> Queue<T, Priority<T>> {
    /// `asyncio.PriorityQueue(maxsize)`: the smallest item is got first; items that compare
    /// equal come out in `heapq`'s order, which is not the order they were put in. Put
    /// `(priority, sequence, item)` tuples for FIFO among equals, as CPython's documentation
    /// suggests.
    #[doc(alias = "PriorityQueue")]
    pub fn priority(maxsize: usize) -> Self {
        Self::with_items(maxsize, Priority(Vec::new()))
    }
}

impl<T: 'static, O: QueueOrder<T>> Queue<T, O> {
    fn with_items(maxsize: usize, items: O) -> Self {
        let finished = Event::new();
        finished.set();
        Queue(
            Rc::new(QueueInner {
                maxsize,
                items: RefCell::new(items),
                getters: RefCell::new(VecDeque::new()),
                putters: RefCell::new(VecDeque::new()),
                unfinished_tasks: Cell::new(0),
                finished,
                spare_waiter: Cell::new(None),
            }),
            PhantomData,
        )
    }

    /// `Queue.maxsize`.
    pub fn maxsize(&self) -> usize {
        self.0.maxsize
    }

    /// `Queue.qsize`.
    pub fn qsize(&self) -> usize {
        self.0.items.borrow().qsize()
    }

    /// `Queue.empty`.
    pub fn empty(&self) -> bool {
        self.0.items.borrow().qsize() == 0
    }

    /// `Queue.full`: never for an unbounded queue.
    pub fn full(&self) -> bool {
        self.0.maxsize > 0 && self.qsize() >= self.0.maxsize
    }

    /// `Queue.put_nowait`: add `item` and wake the first getter, or give it back when full.
    pub fn put_nowait(&self, item: T) -> Result<(), QueueFull<T>> {
        if self.full() {
            return Err(QueueFull(item));
        }
        self.0.items.borrow_mut().put(item);
        self.0
            .unfinished_tasks
            .set(self.0.unfinished_tasks.get() + 1);
        self.0.finished.clear();
        wakeup_next(&self.0.getters);
        Ok(())
    }

    /// `Queue.get_nowait`: take the next item and wake the first putter.
    pub fn get_nowait(&self) -> Result<T, QueueEmpty> {
        let item = self.0.items.borrow_mut().get().ok_or(QueueEmpty)?;
        wakeup_next(&self.0.putters);
        Ok(item)
    }

    /// `Queue.put`: wait while the queue is full, then `put_nowait`. On cancellation the item is
    /// dropped and the wake-up, if this waiter had one, passes to the next putter.
    pub async fn put(&self, item: T) -> Result<(), Error> {
        let mut item = item;
        loop {
            match self.put_nowait(item) {
                Ok(()) => return Ok(()),
                Err(QueueFull(back)) => item = back,
            }
            let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
            let putter = self.new_waiter(&event_loop);
            self.0.putters.borrow_mut().push_back(putter.clone());
            if let Err(error) = putter.clone().await {
                putter.cancel();
                remove_waiter(&self.0.putters, &putter);
                if !self.full() && !putter.cancelled() {
                    wakeup_next(&self.0.putters);
                }
                return Err(error);
            }
            self.keep_spare_waiter(putter);
        }
    }

    /// `Queue.get`: wait while the queue is empty, then `get_nowait`. On cancellation the
    /// wake-up, if this waiter had one, passes to the next getter.
    pub async fn get(&self) -> Result<T, Error> {
        loop {
            if let Ok(item) = self.get_nowait() {
                return Ok(item);
            }
            let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
            let getter = self.new_waiter(&event_loop);
            self.0.getters.borrow_mut().push_back(getter.clone());
            if let Err(error) = getter.clone().await {
                getter.cancel();
                remove_waiter(&self.0.getters, &getter);
                if !self.empty() && !getter.cancelled() {
                    wakeup_next(&self.0.getters);
                }
                return Err(error);
            }
            self.keep_spare_waiter(getter);
        }
    }

    /// A future for a `get` or `put` that waits: the spare one when it belongs to
    /// `event_loop`, else a new one (`loop.create_future()`).
    fn new_waiter(&self, event_loop: &EventLoop) -> Future<()> {
        match self.0.spare_waiter.take() {
            Some(spare) if spare.belongs_to(event_loop) => spare,
            _ => event_loop.create_future(),
        }
    }

    /// Keeps `waiter`, done, as the spare if nothing else holds it.
    fn keep_spare_waiter(&self, waiter: Future<()>) {
        if let Some(spare) = waiter.recycle() {
            self.0.spare_waiter.set(Some(spare));
        }
    }

    /// `Queue.task_done`: one item taken with `get` is processed; at zero unfinished items,
    /// `join` returns.
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        let unfinished = self.0.unfinished_tasks.get();
        if unfinished == 0 {
            return Err(TaskDoneError);
        }
        self.0.unfinished_tasks.set(unfinished - 1);
        if unfinished == 1 {
            self.0.finished.set();
        }
        Ok(())
    }

    /// `Queue.join`: wait until every item put has been matched by a `task_done`.
    pub async fn join(&self) -> Result<(), Error> {
        if self.0.unfinished_tasks.get() > 0 {
            self.0.finished.wait().await?;
        }
        Ok(())
    }
}
