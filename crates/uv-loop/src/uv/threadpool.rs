//! The thread pool (libuv src/threadpool.c, 1.46).
//!
//! Invariants:
//! - One FIFO work queue (`wq`) under one mutex; workers take from its head.
//! - Slow I/O work (`getaddrinfo`: dns lookup) waits in its own queue; one
//!   `run_slow_work_message` in `wq` stands for it, and at most `(nthreads + 1) / 2` threads
//!   run slow work at once, so DNS cannot take the whole pool.
//! - A finished request is pushed on the loop's completed queue and the loop's `wq_async` is
//!   sent; the after-work callbacks run on the loop thread in the poll phase, in completion
//!   order (`uv__work_done`). Requests in flight keep the loop alive (`active_reqs`).
//! - Threads start on first use (libuv: `uv_once(init_once)` on the first `uv__work_submit`),
//!   all of them before the first work is posted, each with an 8 MiB stack (libuv 1.45+).
//!
//! ```text
//!   loop thread                   pool threads (n)                      loop thread
//!   submit ──> wq: [w1 w2 SLOW w3] ──> worker: take head, run work ──> completed.push(w);
//!              slow_io_pending: [d1 d2]   (SLOW: take d1 if fewer than   wq_async.send()
//!                                          (n+1)/2 threads run slow work) ─> poll phase:
//!                                                                          after_work(w)
//! ```
//!
//! Unlike libuv, the pool belongs to one loop (libuv has one per process), so that one process
//! can run loops with different pool sizes; and dropping the loop drops the queued, unstarted
//! work. `uv_cancel` is not implemented.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use probe::trace::EventKind;

use super::{AsyncSender, Loop, WorkState};

/// libuv's `MAX_THREADPOOL_SIZE`.
pub const MAX_THREADPOOL_SIZE: usize = 1024;

/// A work result on its way back to the loop thread.
pub(crate) type WorkResult = Box<dyn Any + Send>;

type Job = Box<dyn FnOnce() -> WorkResult + Send>;

/// What kind of work a request is (`enum uv__work_kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkKind {
    /// CPU-bound work (crypto, zlib, user work).
    Cpu,
    /// Fast I/O (fs).
    FastIo,
    /// Slow I/O (dns lookup): at most half the pool runs it at once.
    SlowIo,
}

/// The pool size libuv would use: `UV_THREADPOOL_SIZE` if set (`atoi`; 0 becomes 1; values
/// over 1024, including negative ones seen as unsigned, become 1024), else 4.
pub fn threadpool_size_from_env() -> usize {
    match std::env::var("UV_THREADPOOL_SIZE") {
        Ok(value) => {
            let parsed = atoi(&value);
            if parsed == 0 {
                1
            } else if parsed < 0 || parsed > MAX_THREADPOOL_SIZE as i64 {
                MAX_THREADPOOL_SIZE
            } else {
                parsed as usize
            }
        }
        Err(_) => 4,
    }
}

/// C's `atoi`: optional blanks and sign, then digits; anything else ends the number.
fn atoi(text: &str) -> i64 {
    let text = text.trim_start();
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let mut value: i64 = 0;
    for byte in digits.bytes() {
        if !byte.is_ascii_digit() {
            break;
        }
        value = value
            .saturating_mul(10)
            .saturating_add(i64::from(byte - b'0'));
    }
    if negative {
        -value
    } else {
        value
    }
}

struct Work {
    req: usize,
    job: Job,
}

enum Entry {
    Work(Work),
    RunSlowWork,
    Exit,
}

struct PoolQueue {
    wq: VecDeque<Entry>,
    slow_io_pending: VecDeque<Work>,
    slow_message_queued: bool,
    idle_threads: usize,
    slow_io_work_running: usize,
}

struct Shared {
    queue: Mutex<PoolQueue>,
    cond: Condvar,
    nthreads: usize,
    completions: Arc<Completions>,
}

/// The loop's completed queue (`loop->wq`) and its `wq_async`.
pub(crate) struct Completions {
    done: Mutex<Vec<(usize, WorkResult)>>,
    wq_async: AsyncSender,
}

impl Completions {
    pub(crate) fn new(wq_async: AsyncSender) -> Completions {
        Completions {
            done: Mutex::new(Vec::new()),
            wq_async,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic inside a job happens outside the lock, so poisoning carries no broken state.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The running pool of one loop.
pub(crate) struct Threadpool {
    shared: Arc<Shared>,
}

impl Threadpool {
    fn start(nthreads: usize, completions: Arc<Completions>) -> Threadpool {
        let shared = Arc::new(Shared {
            queue: Mutex::new(PoolQueue {
                wq: VecDeque::new(),
                slow_io_pending: VecDeque::new(),
                slow_message_queued: false,
                idle_threads: 0,
                slow_io_work_running: 0,
            }),
            cond: Condvar::new(),
            nthreads,
            completions,
        });
        // init_threads waits until every thread runs (uv_sem_wait per thread), so that work
        // posted next finds the whole pool started.
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let mut spawned = 0;
        for index in 0..nthreads {
            let worker_shared = shared.clone();
            let started = started_tx.clone();
            let thread = std::thread::Builder::new()
                .name(format!("uv-threadpool-{index}"))
                .stack_size(8 << 20)
                .spawn(move || {
                    let _ = started.send(());
                    worker(&worker_shared, index as u32 + 1)
                });
            if thread.is_err() {
                // libuv aborts here; fewer threads still run every job.
                break;
            }
            spawned += 1;
        }
        drop(started_tx);
        for _ in 0..spawned {
            if started_rx.recv().is_err() {
                break;
            }
        }
        Threadpool { shared }
    }

    /// `post()`: queue work, waking an idle thread.
    fn post(&self, work: Work, kind: WorkKind) {
        let mut queue = lock(&self.shared.queue);
        if kind == WorkKind::SlowIo {
            queue.slow_io_pending.push_back(work);
            if queue.slow_message_queued {
                return;
            }
            queue.slow_message_queued = true;
            queue.wq.push_back(Entry::RunSlowWork);
        } else {
            queue.wq.push_back(Entry::Work(work));
        }
        if queue.idle_threads > 0 {
            self.shared.cond.notify_one();
        }
    }
}

impl Drop for Threadpool {
    fn drop(&mut self) {
        let mut queue = lock(&self.shared.queue);
        queue.wq.clear();
        queue.slow_io_pending.clear();
        queue.slow_message_queued = false;
        queue.wq.push_back(Entry::Exit);
        self.shared.cond.notify_all();
    }
}

fn slow_work_thread_threshold(nthreads: usize) -> usize {
    nthreads.div_ceil(2)
}

/// `worker()`; `proc_id` names the thread in probe traces (1-based; 0 is the loop thread).
fn worker(shared: &Shared, proc_id: u32) {
    let threshold = slow_work_thread_threshold(shared.nthreads);
    let mut queue = lock(&shared.queue);
    loop {
        while queue.wq.is_empty()
            || (matches!(queue.wq.front(), Some(Entry::RunSlowWork))
                && queue.wq.len() == 1
                && queue.slow_io_work_running >= threshold)
        {
            queue.idle_threads += 1;
            queue = shared
                .cond
                .wait(queue)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            queue.idle_threads -= 1;
        }
        if matches!(queue.wq.front(), Some(Entry::Exit)) {
            shared.cond.notify_one();
            return;
        }
        let Some(entry) = queue.wq.pop_front() else {
            continue;
        };
        let mut is_slow_work = false;
        let work = match entry {
            Entry::Work(work) => work,
            Entry::Exit => return,
            Entry::RunSlowWork => {
                queue.slow_message_queued = false;
                if queue.slow_io_work_running >= threshold {
                    queue.slow_message_queued = true;
                    queue.wq.push_back(Entry::RunSlowWork);
                    continue;
                }
                let Some(work) = queue.slow_io_pending.pop_front() else {
                    continue;
                };
                is_slow_work = true;
                queue.slow_io_work_running += 1;
                if !queue.slow_io_pending.is_empty() {
                    queue.slow_message_queued = true;
                    queue.wq.push_back(Entry::RunSlowWork);
                    if queue.idle_threads > 0 {
                        shared.cond.notify_one();
                    }
                }
                work
            }
        };
        drop(queue);
        let Work { req, job } = work;
        let traced = probe::trace::enabled();
        if traced {
            probe::trace::record(EventKind::RunBegin {
                task: req as u64,
                proc_id,
            });
        }
        let result = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)) {
            Ok(result) => result,
            Err(payload) => Box::new(WorkPanicked(payload)) as WorkResult,
        };
        if traced {
            probe::trace::record(EventKind::RunEnd {
                task: req as u64,
                proc_id,
            });
        }
        lock(&shared.completions.done).push((req, result));
        shared.completions.wq_async.send();
        queue = lock(&shared.queue);
        if is_slow_work {
            queue.slow_io_work_running -= 1;
        }
    }
}

/// The payload of a job that panicked on a pool thread; the loop re-raises it as an uncaught
/// error on its own thread.
pub(crate) struct WorkPanicked(pub(crate) Box<dyn Any + Send>);

impl Loop {
    /// Runs `work` on the thread pool and then `after` with its result on this loop's thread,
    /// in the poll phase (`uv_queue_work`). The request keeps the loop alive until `after`
    /// has run. A panic in `work` is re-raised on the loop thread when `after` would run.
    pub fn queue_work<R: Send + 'static>(
        &self,
        work: impl FnOnce() -> R + Send + 'static,
        after: impl FnOnce(R) + 'static,
    ) {
        self.submit(
            WorkKind::Cpu,
            Box::new(move || Box::new(work()) as WorkResult),
            Box::new(move |result: WorkResult| match result.downcast::<R>() {
                Ok(value) => after(*value),
                Err(other) => resume_work_panic(other),
            }),
        );
    }

    pub(crate) fn submit(&self, kind: WorkKind, job: Job, after: Box<dyn FnOnce(WorkResult)>) {
        let req = {
            let mut state = self.state_mut();
            state.active_reqs += 1;
            match state.work_free.pop() {
                Some(req) => {
                    state.work_after[req] = Some(after);
                    req
                }
                None => {
                    state.work_after.push(Some(after));
                    state.work_after.len() - 1
                }
            }
        };
        let mut work_state = self.inner.work.borrow_mut();
        let Some(WorkState { completions, pool }) = work_state.as_mut() else {
            return;
        };
        let pool = pool.get_or_insert_with(|| {
            Threadpool::start(self.inner.threadpool_size, completions.clone())
        });
        pool.post(Work { req, job }, kind);
    }

    /// The pool size this loop uses (started on first use).
    pub fn threadpool_size(&self) -> usize {
        self.inner.threadpool_size
    }

    /// `uv__work_done`: the `wq_async` callback.
    pub(super) fn work_done(&self) {
        let done = {
            let work_state = self.inner.work.borrow();
            match work_state.as_ref() {
                Some(state) => std::mem::take(&mut *lock(&state.completions.done)),
                None => return,
            }
        };
        for (req, result) in done {
            let after = {
                let mut state = self.state_mut();
                state.active_reqs -= 1;
                state.work_free.push(req);
                state.work_after.get_mut(req).and_then(Option::take)
            };
            if let Some(after) = after {
                after(result);
            }
        }
    }
}

/// Re-raises a pool job's panic on the loop thread (the result was not of the job's type
/// only when the job panicked).
pub(crate) fn resume_work_panic(result: WorkResult) -> ! {
    match result.downcast::<WorkPanicked>() {
        Ok(panicked) => std::panic::resume_unwind(panicked.0),
        Err(other) => std::panic::resume_unwind(other),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;
    use crate::uv::{LoopOptions, RunMode};

    #[test]
    fn atoi_and_clamping() {
        assert_eq!(atoi("5"), 5);
        assert_eq!(atoi("  12abc"), 12);
        assert_eq!(atoi("-3"), -3);
        assert_eq!(atoi("x"), 0);
    }

    /// threadpool.c's slow-I/O rule: with 4 threads, at most (4 + 1) / 2 = 2 slow jobs run at
    /// once, and CPU work queued behind them still gets the other threads.
    #[test]
    fn slow_io_takes_at_most_half_the_pool() {
        let event_loop = Loop::with_options(LoopOptions {
            threadpool_size: Some(4),
        })
        .expect("loop");
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let order = Arc::new(Mutex::new(Vec::new()));
        let done = Rc::new(Cell::new(0));
        for i in 0..4 {
            let (running, most, order) = (running.clone(), most.clone(), order.clone());
            let done = done.clone();
            event_loop.submit(
                WorkKind::SlowIo,
                Box::new(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(40));
                    running.fetch_sub(1, Ordering::SeqCst);
                    order.lock().expect("order").push(format!("slow{i}"));
                    Box::new(()) as WorkResult
                }),
                Box::new(move |_| done.set(done.get() + 1)),
            );
        }
        let order_cpu = order.clone();
        let cpu_done = done.clone();
        event_loop.submit(
            WorkKind::Cpu,
            Box::new(move || {
                order_cpu.lock().expect("order").push("cpu".to_owned());
                Box::new(()) as WorkResult
            }),
            Box::new(move |_| cpu_done.set(cpu_done.get() + 1)),
        );
        assert!(!event_loop.run(RunMode::Default));
        assert_eq!(done.get(), 5);
        assert_eq!(most.load(Ordering::SeqCst), 2, "two slow jobs at most");
        let order = order.lock().expect("order").clone();
        assert_eq!(
            order[0], "cpu",
            "CPU work does not wait for the slow queue: {order:?}"
        );
    }
}
