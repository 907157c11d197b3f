//! libuv's loop: `uv_run` and its phases (src/unix/core.c, libuv 1.46 as bundled by Node 20).
//!
//! Invariants:
//! - The loop is alive while it has active *referenced* handles, active requests (thread-pool
//!   work in flight) or handles being closed (`uv__loop_alive`).
//! - `loop.time` is a cached millisecond clock: it changes only in [`Loop::update_time`] (once
//!   per iteration, after each poll wait, and when asked), never behind a callback's back.
//! - A phase whose queue is empty costs a flag test (checked inline, no call), as libuv's
//!   `uv__run_*` return at once on an empty queue. Phase entries and exits, and a lone
//!   watcher's callback, are traced when a probe trace was on as the iteration began.
//! - Reads of the state with no callback between them share one borrow (see
//!   `Loop::iteration`): an iteration that runs only the idle and check handles borrows it four
//!   times. Each watcher list keeps its handles' callbacks, so one handle runs without a slot
//!   lookup.
//! - No `RefCell` borrow of the loop's state is held while a callback runs: every phase takes
//!   what it needs, drops the borrow, then calls out. Callbacks may therefore start, stop and
//!   close any handle, including the one running.
//!
//! One iteration, as libuv's design.rst draws it (since libuv 1.45, timers run at the *end* of
//! an iteration, plus once before the first one in `UV_RUN_DEFAULT`):
//!
//! ```text
//!        update_time; run_timers          (UV_RUN_DEFAULT, before the first iteration)
//!   ┌──> run_pending      I/O callbacks deferred from the previous iteration
//!   │    run_idle         idle handles (newest first)
//!   │    run_prepare      prepare handles (newest first)
//!   │    io_poll(timeout) wait for I/O or an async wake-up; timeout from backend_timeout():
//!   │                       0 if stopped, nothing active, pending or idle work, closing handles;
//!   │                       else the nearest timer (capped at i32::MAX ms); else infinite
//!   │    run_pending × ≤8 I/O callbacks queued while polling
//!   │    run_check        check handles (newest first)          <- Node's setImmediate
//!   │    run_closing      close callbacks (last closed first)
//!   │    update_time; run_timers                                 <- Node's setTimeout
//!   └─── while alive and not stopped (ONCE and NOWAIT leave after one pass)
//! ```
//!
//! Handles live in a slab owned by the loop; the handle types ([`TimerHandle`], [`IdleHandle`],
//! [`PrepareHandle`], [`CheckHandle`], [`AsyncHandle`], [`UdpHandle`]) are (loop, index,
//! generation) triples, so a handle used after its close callback ran gets [`HandleClosed`]
//! instead of touching a reused slot.
//!
//! Ownership: a handle holds its loop *weakly*, as libuv's `handle->loop` owns nothing. The
//! loop lives while a [`Loop`] value does; when the last one goes, the slab goes with it, and
//! with the slab every callback (an open UDP handle is torn down first: its receive callback
//! and queued sends dropped, none called). So callbacks that hold their own handles (a timer
//! that stops itself) form no cycle; a handle whose loop is gone reads as closed. A closed
//! handle drops its callback in the closing phase (`uv_close` ends its life). A callback
//! that holds a [`Loop`] clone keeps the loop alive: close its handle, or [`Loop::close`]. Polling is epoll through `mio`; the only source today is the loop's async wake-up
//! (an eventfd), which the thread pool and [`AsyncSender`] write. With no other I/O source and a
//! zero timeout, `io_poll` reads the wake-up flag instead of making an `epoll_wait(0)` system
//! call: the same events, seen at the same point of the iteration, without the syscall.

mod async_handle;
mod handle;
pub(crate) mod io;
mod loop_watcher;
mod run;
pub(crate) mod threadpool;
pub(crate) mod time;
mod timer;
mod udp;

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::io as stdio;
use std::rc::{Rc, Weak};
use std::sync::Arc;

use probe::trace::EventKind;

pub use async_handle::{AsyncHandle, AsyncSender};
pub use io::Readiness;

pub(crate) use handle::{handle_common, run_callback};
pub use loop_watcher::{CheckHandle, IdleHandle, PrepareHandle};
pub use threadpool::{threadpool_size_from_env, WorkKind};
pub use timer::TimerHandle;
pub use udp::{RecvCallback, SendCallback, UdpHandle, DATAGRAM_MAX_SIZE, RECV_PER_EVENT};

use async_handle::Wakeup;
use threadpool::{Completions, Threadpool, WorkResult};

struct WorkState {
    completions: Arc<Completions>,
    pool: Option<Threadpool>,
}

/// How long [`Loop::run`] runs (`uv_run_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunMode {
    /// Until nothing referenced is alive, or [`Loop::stop`].
    Default,
    /// One iteration, blocking in poll if there is nothing to do yet.
    Once,
    /// One iteration, never blocking.
    NoWait,
}

/// The handle was closed: its close callback has run and its slot is gone (`UV_EINVAL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandleClosed;

impl fmt::Display for HandleClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("handle is closed or closing")
    }
}

impl std::error::Error for HandleClosed {}

/// [`Loop::close`] found the loop still alive (`UV_EBUSY`): close its handles first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoopBusy;

impl fmt::Display for LoopBusy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("loop has active handles or requests")
    }
}

impl std::error::Error for LoopBusy {}

/// Settings fixed when the loop is created.
#[derive(Clone, Copy, Debug, Default)]
pub struct LoopOptions {
    /// Thread-pool size; `None` reads `UV_THREADPOOL_SIZE` as libuv does (default 4).
    /// libuv's pool is one per process; here it is one per loop, so that one process can
    /// compare sizes. Clamped to 1..=1024.
    pub threadpool_size: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct HandleId {
    index: u32,
    generation: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HandleKind {
    Timer,
    Idle,
    Prepare,
    Check,
    Async,
    Io,
}

/// `UV_HANDLE_ACTIVE`: started (a timer armed, a watcher in its phase list).
const ACTIVE: u8 = 1;
/// `UV_HANDLE_REF`: an active handle with this flag keeps the loop alive (set at init).
const REF: u8 = 2;
/// `UV_HANDLE_CLOSING`: `close` was called; the close callback runs in the closing phase.
const CLOSING: u8 = 4;

type Callback = Rc<dyn Fn()>;

/// A thread-pool request's `after_work_cb`.
type AfterWork = Box<dyn FnOnce(WorkResult)>;

struct Slot {
    generation: u32,
    kind: HandleKind,
    flags: u8,
    callback: Option<Callback>,
    close_cb: Option<Box<dyn FnOnce()>>,
    /// Timers: due time in loop ms. Unused by other kinds.
    timeout: u64,
    /// Timers: repeat interval in ms (0: none).
    repeat: u64,
    /// Timers: `start_id` of the current start (heap entries with another id are stale).
    /// Watchers: the sequence number of the current start, so that a handle stopped and
    /// started again during its phase does not run in that phase (libuv moves the queue).
    start_id: u64,
    async_pending: Option<Arc<std::sync::atomic::AtomicBool>>,
    in_use: bool,
}

pub(crate) struct LoopState {
    time: u64,
    stop_flag: bool,
    slots: Vec<Slot>,
    free: Vec<u32>,
    active_handles: usize,
    active_reqs: usize,
    timer_heap: BinaryHeap<Reverse<(u64, u64, HandleId)>>,
    timer_counter: u64,
    watcher_seq: u64,
    /// The active idle, prepare and check handles in start order, each with its callback (the
    /// slot's), so that a phase with one handle runs it without a slot lookup.
    idle: Vec<(HandleId, Callback)>,
    prepare: Vec<(HandleId, Callback)>,
    check: Vec<(HandleId, Callback)>,
    async_handles: Vec<HandleId>,
    closing: Vec<HandleId>,
    pending: VecDeque<Box<dyn FnOnce()>>,
    scratch: Vec<(HandleId, u64)>,
    work_after: Vec<Option<AfterWork>>,
    io_callbacks: std::collections::HashMap<u32, (u32, io::IoCallback)>,
    ready_scratch: Vec<(mio::Token, Readiness)>,
    work_free: Vec<usize>,
}

struct Io {
    poll: mio::Poll,
    events: mio::Events,
}

pub(crate) struct LoopInner {
    state: RefCell<LoopState>,
    io: RefCell<Io>,
    wakeup: Arc<Wakeup>,
    /// The thread pool's side of the loop: `wq_async` and the pool, started on first use.
    work: RefCell<Option<WorkState>>,
    threadpool_size: usize,
    io_watchers: Cell<usize>,
}

impl Drop for LoopInner {
    /// The last [`Loop`] is gone: the slab's callbacks drop with the state. A watcher still
    /// open may hold callbacks that hold it (a UDP handle's receive callback, which holds
    /// the socket, which holds the handle): each is torn down first.
    fn drop(&mut self) {
        let watchers = std::mem::take(&mut self.state.get_mut().io_callbacks);
        for (_, watcher) in watchers.into_values() {
            watcher.teardown();
        }
    }
}

/// A libuv event loop (`uv_loop_t`). Cloning gives another reference to the same loop.
#[derive(Clone)]
pub struct Loop {
    inner: Rc<LoopInner>,
}

impl fmt::Debug for Loop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loop").field("time", &self.now()).finish()
    }
}

impl Loop {
    /// A new loop (`uv_loop_init`), with the pool size from `UV_THREADPOOL_SIZE`.
    pub fn new() -> stdio::Result<Loop> {
        Loop::with_options(LoopOptions::default())
    }

    /// A new loop with `options`.
    pub fn with_options(options: LoopOptions) -> stdio::Result<Loop> {
        let poll = mio::Poll::new()?;
        let wakeup = Arc::new(Wakeup::new(poll.registry())?);
        let threadpool_size = options
            .threadpool_size
            .map(|n| n.clamp(1, threadpool::MAX_THREADPOOL_SIZE))
            .unwrap_or_else(threadpool_size_from_env);
        let state = LoopState {
            time: time::now_ms(),
            stop_flag: false,
            slots: Vec::new(),
            free: Vec::new(),
            active_handles: 0,
            active_reqs: 0,
            timer_heap: BinaryHeap::new(),
            timer_counter: 0,
            watcher_seq: 0,
            idle: Vec::new(),
            prepare: Vec::new(),
            check: Vec::new(),
            async_handles: Vec::new(),
            closing: Vec::new(),
            pending: VecDeque::new(),
            scratch: Vec::new(),
            work_after: Vec::new(),
            io_callbacks: std::collections::HashMap::new(),
            ready_scratch: Vec::new(),
            work_free: Vec::new(),
        };
        let inner = Rc::new(LoopInner {
            state: RefCell::new(state),
            io: RefCell::new(Io {
                poll,
                events: mio::Events::with_capacity(1024),
            }),
            wakeup,
            work: RefCell::new(None),
            threadpool_size,
            io_watchers: Cell::new(0),
        });
        let event_loop = Loop { inner };
        event_loop.init_work_async();
        Ok(event_loop)
    }
}

impl Loop {
    /// Whether referenced active handles, active requests or closing handles exist
    /// (`uv_loop_alive`).
    #[inline]
    pub fn alive(&self) -> bool {
        self.state().alive()
    }

    /// Makes [`Loop::run`] return after the current iteration (`uv_stop`).
    pub fn stop(&self) {
        self.state_mut().stop_flag = true;
    }

    /// The cached loop time in milliseconds (`uv_now`).
    pub fn now(&self) -> u64 {
        self.state().time
    }

    /// Reads the clock into the cached loop time (`uv_update_time`).
    #[inline]
    pub fn update_time(&self) {
        let now = time::now_ms();
        self.state_mut().time = now;
    }

    /// The poll timeout the next iteration would use, in ms; -1 is infinite
    /// (`uv_backend_timeout`).
    pub fn backend_timeout(&self) -> i64 {
        self.backend_timeout_inline()
    }

    #[inline(always)]
    fn backend_timeout_inline(&self) -> i64 {
        self.state_mut().backend_timeout()
    }

    /// Queues `callback` for the next pending phase (libuv's internal `uv__io_feed`), for
    /// I/O callbacks that must not run from inside the operation that produced them.
    pub fn feed_pending(&self, callback: impl FnOnce() + 'static) {
        self.state_mut().pending.push_back(Box::new(callback));
    }

    /// Closes the loop (`uv_loop_close`): fails with [`LoopBusy`] while it is alive. Frees
    /// every handle's callbacks, so closures that hold a clone of the loop are released.
    pub fn close(&self) -> Result<(), LoopBusy> {
        let (slots, pending, after, watchers) = {
            let mut state = self.state_mut();
            let user_handles = state
                .slots
                .iter()
                .filter(|s| s.in_use && s.flags & ACTIVE != 0 && s.flags & REF != 0)
                .count();
            if user_handles > 0 || state.active_reqs > 0 || !state.closing.is_empty() {
                return Err(LoopBusy);
            }
            (
                std::mem::take(&mut state.slots),
                std::mem::take(&mut state.pending),
                std::mem::take(&mut state.work_after),
                [
                    std::mem::take(&mut state.idle),
                    std::mem::take(&mut state.prepare),
                    std::mem::take(&mut state.check),
                ],
            )
        };
        drop((slots, pending, after, watchers));
        self.inner.work.borrow_mut().take();
        Ok(())
    }

    /// Runs one phase, recording its entry and exit when `TRACED` (a probe trace was on when
    /// the iteration began).
    #[inline(always)]
    fn phase<const TRACED: bool>(&self, name: &'static str, phase: impl FnOnce(&Loop)) {
        if TRACED {
            probe::trace::record(EventKind::PhaseEnter { name });
        }
        phase(self);
        if TRACED {
            probe::trace::record(EventKind::PhaseLeave { name });
        }
    }

    #[inline]
    fn stop_flag(&self) -> bool {
        self.state().stop_flag
    }

    pub(crate) fn state(&self) -> std::cell::Ref<'_, LoopState> {
        self.inner.state.borrow()
    }

    pub(crate) fn state_mut(&self) -> std::cell::RefMut<'_, LoopState> {
        self.inner.state.borrow_mut()
    }

    #[inline(always)]
    fn run_pending(&self) {
        if !self.state().pending.is_empty() {
            self.run_pending_queue();
        }
    }

    #[inline(never)]
    fn run_pending_queue(&self) {
        let pending = std::mem::take(&mut self.state_mut().pending);
        for callback in pending {
            callback();
        }
    }

    /// `uv__run_idle/prepare/check` (loop-watcher.c) for a phase with several handles: the
    /// phase list is moved aside first, so handles started during the phase wait for the next
    /// iteration and handles stopped during it are skipped. Newest first, since libuv inserts
    /// at the head.
    #[inline(never)]
    fn run_watcher_list(&self, kind: HandleKind) {
        let mut batch = {
            let mut state = self.state_mut();
            let mut batch = std::mem::take(&mut state.scratch);
            batch.clear();
            let list = match kind {
                HandleKind::Idle => &state.idle,
                HandleKind::Prepare => &state.prepare,
                _ => &state.check,
            };
            if list.is_empty() {
                state.scratch = batch;
                return;
            }
            for (id, _) in list.iter().rev() {
                let slot = &state.slots[id.index as usize];
                batch.push((*id, slot.start_id));
            }
            batch
        };
        for &(id, start_id) in &batch {
            let callback = {
                let state = self.state();
                match state.slot(id) {
                    Some(slot) if slot.flags & ACTIVE != 0 && slot.start_id == start_id => {
                        slot.callback.clone()
                    }
                    _ => None,
                }
            };
            if let Some(callback) = callback {
                run_callback(id.index, &*callback);
            }
        }
        batch.clear();
        let mut state = self.state_mut();
        if state.scratch.capacity() < batch.capacity() {
            state.scratch = batch;
        }
    }

    /// `uv__run_closing_handles`: libuv keeps closing handles on a singly linked list pushed
    /// at the head, so the handle closed last has its callback run first.
    #[inline(always)]
    fn run_closing_handles(&self) {
        if !self.state().closing.is_empty() {
            self.run_closing_list();
        }
    }

    #[inline(never)]
    fn run_closing_list(&self) {
        let closing = std::mem::take(&mut self.state_mut().closing);
        for id in closing.into_iter().rev() {
            let closed = self.state_mut().finish_close(id);
            // `uv_close` ends the handle's life: its callback goes, and with it whatever the
            // callback held (often the handle itself), before the close callback runs.
            drop(closed.callback);
            if let Some(close_cb) = closed.close_cb {
                close_cb();
            }
        }
    }

    /// `uv__io_poll` (linux.c): wait for readiness, then run each ready watcher's callback in
    /// the order epoll reported them (the async wake-up is one of them).
    #[inline(always)]
    fn io_poll(&self, timeout: i64) {
        if timeout == 0 && self.inner.io_watchers.get() == 0 {
            if self.inner.wakeup.take() {
                self.async_io();
            }
            return;
        }
        self.io_poll_wait(timeout);
    }

    #[inline(never)]
    fn io_poll_wait(&self, timeout: i64) {
        let base = self.now();
        let mut remaining = timeout;
        loop {
            let mut ready = std::mem::take(&mut self.state_mut().ready_scratch);
            {
                let mut io = self.inner.io.borrow_mut();
                let Io { poll, events } = &mut *io;
                let wait = if remaining < 0 {
                    None
                } else {
                    Some(std::time::Duration::from_millis(remaining as u64))
                };
                // EINTR and other poll errors count as a wake-up with no event, as libuv
                // retries; the timeout arithmetic below still bounds the wait.
                if poll.poll(events, wait).is_ok() {
                    ready.extend(
                        events
                            .iter()
                            .map(|event| (event.token(), Readiness::of(event))),
                    );
                }
            }
            self.update_time();
            let woken = !ready.is_empty();
            for &(token, readiness) in &ready {
                if token == async_handle::WAKE_TOKEN {
                    if self.inner.wakeup.take() {
                        self.async_io();
                    }
                } else {
                    self.io_dispatch(token, readiness);
                }
            }
            ready.clear();
            self.state_mut().ready_scratch = ready;
            // One batch per poll, as `uv__io_poll` handles the events of one `epoll_wait` and
            // returns: a wake-up that came while they ran (a pool request finished meanwhile)
            // is its event in the next iteration's poll, after the check phase and the timers.
            if woken || timeout == 0 {
                return;
            }
            if timeout > 0 {
                remaining = timeout - (self.now() - base) as i64;
                if remaining <= 0 {
                    return;
                }
            }
        }
    }

    pub(crate) fn inner_weak(&self) -> Weak<LoopInner> {
        Rc::downgrade(&self.inner)
    }

    pub(crate) fn from_inner(inner: Rc<LoopInner>) -> Loop {
        Loop { inner }
    }
}

impl Loop {
    fn init_work_async(&self) {
        let weak = self.inner_weak();
        let handle = AsyncHandle::new(self, move || {
            if let Some(inner) = weak.upgrade() {
                Loop::from_inner(inner).work_done();
            }
        });
        handle.unref();
        *self.inner.work.borrow_mut() = Some(WorkState {
            completions: Arc::new(Completions::new(handle.sender())),
            pool: None,
        });
    }
}
