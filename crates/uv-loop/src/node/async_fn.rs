//! Async functions: Rust futures driven by microtasks.
//!
//! Invariants:
//! - [`call_async`] polls the future at once, as calling a JavaScript async function runs its
//!   body up to the first `await`; it returns the function's promise.
//! - An `await` of a [`Promise`](super::promise::Promise) suspends even when the promise has
//!   already settled, and resumes one microtask after it settles: the reaction job wakes the
//!   task, and the wake polls the task right there, inside that microtask. So `await null`
//!   (`Promise::resolve(()).await`) costs one microtask turn, as in V8.
//! - An `await` inside a task allocates nothing: its reaction job is the task itself, and
//!   the await's number (`seq`) travels beside the job, in the promise's reaction list and
//!   then in the microtask queue; the job runs with it, and only the await with that number
//!   is ready. Two awaits pending at once (a `join` in the body) thus each resume in their own
//!   reaction's microtask, as two JavaScript awaits would. An await polled by a task other
//!   than the one it was registered by (its future moved) adds a reaction of its own.
//! - A reaction that resumes a task that has finished (the reaction of an await the task
//!   dropped) does nothing: in particular it leaves the task's old slot, maybe another
//!   task's by now, alone.
//! - The body's `Ok` fulfills the promise and its `Err` rejects it (a throw).
//! - A task is polled only on its own thread. A wake from another thread (a foreign future's
//!   waker) goes through an async handle and polls the task in the poll phase, followed by the
//!   usual tick and microtask drain.
//!
//! ```text
//!   call_async(f) ─poll─> Pending at `p.await` ── p settles ──> microtask: wake ─poll─> ...
//!                                                                            Ready(v): resolve
//! ```

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};

use super::promise::Promise;
use super::task_queues::{once_job, Job, SharedJob};
use super::{with_env, Env, JsError};
use crate::uv::{AsyncHandle, AsyncSender, Loop};

type BoxedFuture = Pin<Box<dyn Future<Output = ()>>>;

pub(crate) struct Task {
    future: RefCell<Option<BoxedFuture>>,
    running: Cell<bool>,
    notified: Cell<bool>,
    waker: Waker,
    index: u32,
    /// A number no other task on this thread has had ([`NEXT_TASK_ID`]), so that an
    /// [`AwaitInTask`] knows whether the task being polled is the one it was registered by.
    id: u64,
    /// The number of the task's latest `await` of a promise, and of the latest one whose
    /// reaction ran: the await is over when they match (see [`AwaitInTask`]).
    await_seq: Cell<u64>,
    fired_seq: Cell<u64>,
}

impl SharedJob for Task {
    /// The reaction of the task's await number `seq`: the task is the job of every reaction
    /// it adds, and `seq` says which one is running.
    fn run(self: Rc<Self>, seq: u64) {
        resume(self, seq);
    }
}

thread_local! {
    /// The task being polled on this thread, so that an `await` inside it can queue the task
    /// itself as the promise's reaction instead of allocating one: a pointer to the `Rc` that
    /// [`poll_task`] holds for the length of the poll, null outside any poll. A raw pointer
    /// and not an `Rc`, because a thread-local with no destructor is read without a call.
    static CURRENT_TASK: Cell<*const Rc<Task>> = const { Cell::new(std::ptr::null()) };
    /// The next [`Task::id`]: per thread rather than per environment, so that an await kept
    /// from an earlier `run` never takes a task of a later one for its own.
    static NEXT_TASK_ID: Cell<u64> = const { Cell::new(0) };
}

/// Puts back the outer [`CURRENT_TASK`] when a poll ends, by return or by unwinding (a throw
/// inside the task), so that it never points at a task no poll holds.
struct CurrentTaskGuard(*const Rc<Task>);

impl Drop for CurrentTaskGuard {
    fn drop(&mut self) {
        CURRENT_TASK.with(|current| current.set(self.0));
    }
}

/// An `await` by the task being polled: its reaction resumes the task directly. It names the
/// task by its id and holds no reference (nothing to count up, nothing to drop): while its
/// own task polls it, that task is [`CURRENT_TASK`].
pub(crate) struct AwaitInTask {
    task_id: u64,
    seq: u64,
}

impl AwaitInTask {
    /// Registers an await by the current task if `waker` is its waker: returns the job to add
    /// as the promise's reaction, and the record to poll with.
    #[inline]
    pub(crate) fn register(waker: &Waker) -> Option<(Job, u64, AwaitInTask)> {
        let current = CURRENT_TASK.with(Cell::get);
        if current.is_null() {
            return None;
        }
        // SAFETY: `CURRENT_TASK` is non-null only while `poll_task` polls a task on this
        // thread, holding the `Rc` it points to; the guard resets it when that poll ends. This
        // code runs on this thread, so inside that poll, and the `Rc` outlives this borrow.
        let task = unsafe { &*current };
        if !task.waker.will_wake(waker) {
            return None;
        }
        let seq = task.await_seq.get() + 1;
        task.await_seq.set(seq);
        let record = AwaitInTask {
            task_id: task.id,
            seq,
        };
        Some((Job::new(task.clone()), seq, record))
    }

    /// Whether the reaction has run (the task is resumed by it); `None` when the poll is not
    /// the registering task's (the future was moved out of it).
    #[inline]
    pub(crate) fn fired(&self) -> Option<bool> {
        let current = CURRENT_TASK.with(Cell::get);
        if current.is_null() {
            return None;
        }
        // SAFETY: as in `register`: a non-null `CURRENT_TASK` points at the `Rc` that the
        // running `poll_task` holds, and this code runs inside that poll.
        let task = unsafe { &*current };
        if task.id != self.task_id {
            return None;
        }
        Some(task.fired_seq.get() == self.seq)
    }
}

/// The reaction job of an [`AwaitInTask`]: marks the await done and polls the task.
fn resume(task: Rc<Task>, seq: u64) {
    task.fired_seq.set(seq);
    if task.running.get() {
        task.notified.set(true);
        return;
    }
    let index = task.index;
    poll_task(index, &task);
}

struct TaskWaker {
    index: u32,
    generation: u32,
    /// The owning thread's [`THREAD_TAG`] (cheaper to read than `thread::current().id()`,
    /// which clones an `Arc`).
    thread: u64,
    remote: Arc<RemoteWakes>,
}

/// The next thread tag to hand out.
static NEXT_THREAD_TAG: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// A number no other thread of this process has, ever.
    static THREAD_TAG: u64 = NEXT_THREAD_TAG.fetch_add(1, Ordering::Relaxed);
}

fn thread_tag() -> u64 {
    THREAD_TAG.with(|tag| *tag)
}

struct RemoteWakes {
    queue: Mutex<Vec<(u32, u32)>>,
    sender: AsyncSender,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if thread_tag() == self.thread {
            let (index, generation) = (self.index, self.generation);
            with_env(|env| wake_task(env, index, generation));
        } else {
            let mut queue = self
                .remote
                .queue
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            queue.push((self.index, self.generation));
            drop(queue);
            self.remote.sender.send();
        }
    }
}

pub(crate) struct Tasks {
    slots: RefCell<Vec<(u32, Option<Rc<Task>>)>>,
    free: RefCell<Vec<u32>>,
    remote: Arc<RemoteWakes>,
    _remote_handle: AsyncHandle,
}

impl Tasks {
    pub(crate) fn new(uv: &Loop) -> Tasks {
        let handle = AsyncHandle::new(uv, || with_env(run_remote_wakes));
        handle.unref();
        Tasks {
            slots: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
            remote: Arc::new(RemoteWakes {
                queue: Mutex::new(Vec::new()),
                sender: handle.sender(),
            }),
            _remote_handle: handle,
        }
    }

    pub(crate) fn take_all(&self) -> Vec<(u32, Option<Rc<Task>>)> {
        self.free.take();
        self.slots.take()
    }
}

/// Calls an async function: runs `body` until its first pending `await` and returns its
/// promise, fulfilled with the body's `Ok` or rejected with its `Err`.
pub fn call_async<T: Clone + 'static>(
    body: impl Future<Output = Result<T, JsError>> + 'static,
) -> Promise<T> {
    let (promise, resolver) = Promise::with_resolvers();
    let future: BoxedFuture = Box::pin(async move {
        match body.await {
            Ok(value) => resolver.resolve(value),
            Err(error) => resolver.reject(error),
        }
    });
    with_env(|env| {
        let tasks = &env.tasks;
        let index = tasks.free.borrow_mut().pop();
        let (index, generation) = {
            let mut slots = tasks.slots.borrow_mut();
            match index {
                Some(index) => {
                    let slot = &mut slots[index as usize];
                    slot.0 = slot.0.wrapping_add(1);
                    (index, slot.0)
                }
                None => {
                    slots.push((0, None));
                    ((slots.len() - 1) as u32, 0)
                }
            }
        };
        let waker = Waker::from(Arc::new(TaskWaker {
            index,
            generation,
            thread: thread_tag(),
            remote: tasks.remote.clone(),
        }));
        let task = Rc::new(Task {
            future: RefCell::new(Some(future)),
            running: Cell::new(false),
            notified: Cell::new(false),
            waker,
            index,
            id: NEXT_TASK_ID.with(|next| next.replace(next.get() + 1)),
            await_seq: Cell::new(0),
            fired_seq: Cell::new(0),
        });
        tasks.slots.borrow_mut()[index as usize].1 = Some(task.clone());
        poll_task(index, &task);
    });
    promise
}

fn wake_task(env: &Env, index: u32, generation: u32) {
    let task = {
        let slots = env.tasks.slots.borrow();
        match slots.get(index as usize) {
            Some((slot_generation, Some(task))) if *slot_generation == generation => task.clone(),
            _ => return,
        }
    };
    if task.running.get() {
        task.notified.set(true);
        return;
    }
    poll_task(index, &task);
}

/// Polls `task` once; the environment is looked up only when the task finished or woke itself
/// (a resumed task mostly just reaches its next `await`). Inlined into the task's reaction
/// job, which resumes it once per `await`.
#[inline(always)]
fn poll_task(index: u32, task: &Rc<Task>) {
    task.running.set(true);
    let current = CurrentTaskGuard(CURRENT_TASK.with(|current| current.replace(task)));
    let finished = {
        let mut future = task.future.borrow_mut();
        match future.as_mut() {
            Some(running) => {
                let mut cx = Context::from_waker(&task.waker);
                running.as_mut().poll(&mut cx).is_ready()
            }
            // Finished already, and resumed by the reaction of an await it dropped: its
            // slot may be another task's by now, so there is nothing to remove.
            None => false,
        }
    };
    drop(current);
    task.running.set(false);
    if finished {
        let future = task.future.borrow_mut().take();
        drop(future);
        let removed = with_env(|env| {
            let removed = env.tasks.slots.borrow_mut()[index as usize].1.take();
            env.tasks.free.borrow_mut().push(index);
            removed
        });
        drop(removed);
    } else if task.notified.replace(false) {
        // The future woke itself while it ran: poll it again as a microtask.
        let waker = task.waker.clone();
        with_env(|env| env.queues.enqueue_microtask(once_job(move || waker.wake())));
    }
}

fn run_remote_wakes(env: &Env) {
    let wakes = {
        let mut queue = env
            .tasks
            .remote
            .queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        std::mem::take(&mut *queue)
    };
    env.make_callback(|| {
        for (index, generation) in wakes {
            wake_task(env, index, generation);
        }
    });
}
