//! `Pool`: a fixed set of worker processes fed with chunks of work (Lib/multiprocessing/pool.py).
//!
//! ```text
//!   user threads                         handler thread (one per pool)           workers
//!   ------------                         -----------------------------           -------
//!   map/imap/apply_async:                loop {                                   serve():
//!     encode chunks (postcard, frames)     take queued tasks, give each to the      read frame
//!     push on queue, wake handler  ---->   least-loaded worker with room      -->   run task
//!   get()/next(): wait on the Job  <----   read replies, pair each with the   <--   write reply
//!                                          worker's oldest task, complete it
//!                                          a worker at EOF: reap it; expected
//!                                          (retired) -> replace; else BROKEN
//!                                        }
//! ```
//!
//! pool.py runs three threads (`_handle_workers`, `_handle_tasks`, `_handle_results`) around two
//! shared queues that every worker reads and writes. procpool folds them into one thread that
//! polls one socket per worker: it then knows which worker holds which task, which is what lets
//! it say, when a worker dies, which task it was running, and fail exactly the pending ones.
//!
//! Invariants:
//! - A task is in exactly one place: the queue, one worker's `outstanding` list, or completed.
//! - A worker runs its tasks in the order sent; replies come back in that order, so the oldest
//!   outstanding task is the one running and the one the next reply answers.
//! - A worker holds at most [`PREFETCH_TASKS`] tasks and, beyond its first two, at most
//!   [`PREFETCH_ITEMS`] items: enough in flight to hide the round trip for tiny tasks, few
//!   enough that big chunks still go to whichever worker is free (pool.py's shared inqueue
//!   balances by itself; per-worker sockets need this bound).
//! - Once broken (a worker died while it had work or was not told to stop), the pool never
//!   accepts work again and every pending task has failed with [`BrokenPool`].
//!
//! bpo-22393: CPython's `Pool` respawns a dead worker and leaves the task it was running
//! pending for ever, so `Pool.map` hangs (measured here: `get(timeout=2)` times out). procpool's
//! `Pool` does what `ProcessPoolExecutor` does instead: every pending task fails with
//! [`BrokenPool`], naming the worker, how it died and the task it ran, and the pool refuses new
//! work. A panic inside a task is not a death: it comes back as that task's error.

mod chunksize;
mod handler;
mod job;
mod trace;

pub use chunksize::default_chunksize;
pub use job::{AsyncResult, IMapIterator, MapResult};

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::error::{BrokenPool, PoolError, SubmitError, TaskError};
use crate::frame;
use crate::registry::Task;
use crate::start::{self, StartMethod};
use crate::sys;
use crate::wire::Request;
use job::Job;

/// Most tasks one worker holds at once.
pub const PREFETCH_TASKS: usize = 64;
/// Most items one worker holds at once beyond its first two tasks.
pub const PREFETCH_ITEMS: usize = 64;
/// The default frame limit: 64 MiB.
pub const DEFAULT_FRAME_LIMIT: usize = 64 << 20;

/// How to build a [`Pool`] (the arguments of `multiprocessing.Pool`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolOptions {
    /// Workers; `None`: one per CPU (`os.cpu_count()`).
    pub processes: Option<usize>,
    /// How workers start; CPython 3.11's default on Linux is fork.
    pub start_method: StartMethod,
    /// A worker exits after this many tasks and a new one replaces it; `None`: never.
    pub maxtasksperchild: Option<usize>,
    /// The largest frame either side sends; a task whose arguments or result would not fit
    /// fails alone.
    pub frame_limit: usize,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            processes: None,
            start_method: StartMethod::Fork,
            maxtasksperchild: None,
            frame_limit: DEFAULT_FRAME_LIMIT,
        }
    }
}

/// Why a `map` returned no results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapError {
    /// The pool refused the work.
    Submit(SubmitError),
    /// A chunk failed (the first failure to arrive).
    Task(TaskError),
}

impl std::fmt::Display for MapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MapError::Submit(error) => write!(f, "{error}"),
            MapError::Task(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for MapError {}

/// `join` was called on a pool that is still running (pool.py asserts the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StillRunning;

impl std::fmt::Display for StillRunning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "join needs close or terminate first")
    }
}

impl std::error::Error for StillRunning {}

/// The pool's state (pool.py's RUN, CLOSE, TERMINATE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Run,
    Close,
    Terminate,
}

/// A task waiting for a worker: one chunk of a job, its frame already encoded.
pub(crate) struct Pending {
    pub(crate) job: Arc<Job>,
    pub(crate) chunk: usize,
    pub(crate) function: &'static str,
    pub(crate) frame: Vec<u8>,
    pub(crate) items: usize,
    /// The frame is a `Request::RunTraced`: a trace was recording when it was encoded.
    pub(crate) traced: bool,
}

/// What user threads and the handler share.
pub(crate) struct Shared {
    pub(crate) queue: VecDeque<Pending>,
    pub(crate) status: Status,
    pub(crate) broken: Option<Arc<BrokenPool>>,
    next_job: u64,
}

/// The part of a pool the handler thread shares with its users.
pub(crate) struct Core {
    shared: Mutex<Shared>,
    /// The handler's wake-up pipe. Both ends live as long as the core, so a wake-up after the
    /// handler has returned (a broken pool closed by its user) writes into a pipe that still
    /// has a reader, never into a broken one.
    pub(crate) wake_read: OwnedFd,
    wake_write: OwnedFd,
    wake_pending: AtomicBool,
    pub(crate) frame_limit: usize,
}

impl Core {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Wakes the handler (one byte on its pipe, unless one is already there).
    pub(crate) fn wake(&self) {
        if !self.wake_pending.swap(true, Ordering::AcqRel) {
            // SAFETY: writes one byte from a valid buffer to the pipe this core owns; a full
            // pipe (EAGAIN) already holds a wake-up.
            unsafe {
                libc::write(self.wake_write.as_raw_fd(), [1u8].as_ptr().cast(), 1);
            }
        }
    }

    /// Lets the next [`Core::wake`] write again (the handler calls it before it reads the queue).
    pub(crate) fn rearm(&self) {
        self.wake_pending.store(false, Ordering::Release);
    }

    /// Queues a job's chunks, or refuses them if the pool does not accept work.
    fn submit<T: Task>(&self, chunks: Vec<&[T::Arg]>) -> Result<Arc<Job>, SubmitError> {
        let id = {
            let mut shared = self.lock();
            check_running(&shared)?;
            shared.next_job += 1;
            shared.next_job
        };
        let job = Job::new(id, chunks.len());
        let mut pending = Vec::with_capacity(chunks.len());
        let traced = probe::trace::enabled();
        for (index, chunk) in chunks.into_iter().enumerate() {
            match encode_task::<T>(chunk, traced, self.frame_limit) {
                Ok(frame) => pending.push(Pending {
                    job: job.clone(),
                    chunk: index,
                    function: T::NAME,
                    frame,
                    items: chunk.len(),
                    traced,
                }),
                Err(error) => job.complete(index, Err(error)),
            }
        }
        {
            let mut shared = self.lock();
            check_running(&shared)?;
            shared.queue.extend(pending);
        }
        self.wake();
        Ok(job)
    }
}

fn check_running(shared: &Shared) -> Result<(), SubmitError> {
    if let Some(broken) = &shared.broken {
        return Err(SubmitError::Broken(broken.clone()));
    }
    match shared.status {
        Status::Run => Ok(()),
        Status::Close => Err(SubmitError::Closed),
        Status::Terminate => Err(SubmitError::Terminated),
    }
}

/// One frame holding `Request::Run` for `chunk` (`Request::RunTraced` when `traced`).
fn encode_task<T: Task>(
    chunk: &[T::Arg],
    traced: bool,
    limit: usize,
) -> Result<Vec<u8>, TaskError> {
    let args = postcard::to_stdvec(chunk).map_err(|error| TaskError::Encode(error.to_string()))?;
    let (function, args) = (T::NAME, args.as_slice());
    let request = if traced {
        Request::RunTraced { function, args }
    } else {
        Request::Run { function, args }
    };
    let payload =
        postcard::to_stdvec(&request).map_err(|error| TaskError::Encode(error.to_string()))?;
    let mut frame = Vec::with_capacity(payload.len() + 4);
    frame::encode(&payload, limit, &mut frame).map_err(TaskError::ArgumentsTooLarge)?;
    Ok(frame)
}

/// A pool of worker processes (`multiprocessing.Pool`).
///
/// Dropping it terminates it, as leaving `with Pool() as p:` does.
pub struct Pool {
    core: Arc<Core>,
    processes: usize,
    handler: Mutex<Option<JoinHandle<()>>>,
}

impl Pool {
    /// A pool of `processes` workers started by fork (CPython 3.11's default on Linux).
    pub fn new(processes: usize) -> Result<Pool, PoolError> {
        Pool::with_options(PoolOptions {
            processes: Some(processes),
            ..PoolOptions::default()
        })
    }

    /// A pool built as `options` say.
    pub fn with_options(options: PoolOptions) -> Result<Pool, PoolError> {
        let processes = options
            .processes
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
        if processes == 0 {
            return Err(PoolError::NoProcesses);
        }
        if options.maxtasksperchild == Some(0) {
            return Err(PoolError::ZeroMaxTasks);
        }
        if !(1024..=frame::MAX_FRAME_LIMIT).contains(&options.frame_limit) {
            return Err(PoolError::FrameLimit(options.frame_limit));
        }
        if options.start_method == StartMethod::Fork && options.maxtasksperchild.is_some() {
            return Err(PoolError::Start(start::StartError::MaxTasksWithFork));
        }
        // Workers first, while a fork pool's process may still be single-threaded.
        let mut workers = Vec::with_capacity(processes);
        for number in 1..=processes {
            let parent_ends: Vec<_> = workers
                .iter()
                .map(|w: &handler::Worker| w.socket_fd())
                .collect();
            let started = start::start(options.start_method, options.frame_limit, &parent_ends)?;
            workers.push(handler::Worker::new(
                options.start_method,
                number,
                started,
                options.frame_limit,
            ));
        }
        let (wake_read, wake_write) =
            sys::pipe().map_err(|e| PoolError::Start(start::StartError::Os(e)))?;
        for end in [&wake_read, &wake_write] {
            sys::set_nonblocking(std::os::fd::AsFd::as_fd(end), true)
                .map_err(|e| PoolError::Start(start::StartError::Os(e)))?;
        }
        let core = Arc::new(Core {
            shared: Mutex::new(Shared {
                queue: VecDeque::new(),
                status: Status::Run,
                broken: None,
                next_job: 0,
            }),
            wake_read,
            wake_write,
            wake_pending: AtomicBool::new(false),
            frame_limit: options.frame_limit,
        });
        let state = handler::Handler::new(core.clone(), workers, options);
        let handler = std::thread::Builder::new()
            .name("procpool-handler".to_owned())
            .spawn(move || state.run())
            .map_err(PoolError::Thread)?;
        Ok(Pool {
            core,
            processes,
            handler: Mutex::new(Some(handler)),
        })
    }

    /// How many workers it keeps.
    pub fn processes(&self) -> usize {
        self.processes
    }

    /// Runs `T` on `arg` in a worker (`apply_async`).
    pub fn apply_async<T: Task>(
        &self,
        _task: T,
        arg: T::Arg,
    ) -> Result<AsyncResult<T>, SubmitError> {
        let args = [arg];
        let job = self.core.submit::<T>(vec![&args[..]])?;
        Ok(AsyncResult::new(job))
    }

    /// Runs `T` on `arg` in a worker and waits for the result (`apply`).
    pub fn apply<T: Task>(&self, task: T, arg: T::Arg) -> Result<T::Output, MapError> {
        let result = self.apply_async(task, arg).map_err(MapError::Submit)?;
        result.wait().map_err(MapError::Task)
    }

    /// Runs `T` on every item, `chunksize` items per task (`None`: [`default_chunksize`]), and
    /// returns a handle to the results (`map_async`).
    pub fn map_async<T: Task>(
        &self,
        _task: T,
        items: impl IntoIterator<Item = T::Arg>,
        chunksize: Option<usize>,
    ) -> Result<MapResult<T>, SubmitError> {
        let items: Vec<T::Arg> = items.into_iter().collect();
        let chunksize = match chunksize {
            Some(0) if !items.is_empty() => return Err(SubmitError::ZeroChunksize),
            Some(size) => size,
            None => default_chunksize(items.len(), self.processes),
        };
        let chunks: Vec<&[T::Arg]> = items.chunks(chunksize.max(1)).collect();
        let job = self.core.submit::<T>(chunks)?;
        Ok(MapResult::new(job, items.len(), chunksize))
    }

    /// Runs `T` on every item and waits for the results, in order (`map`).
    pub fn map<T: Task>(
        &self,
        task: T,
        items: impl IntoIterator<Item = T::Arg>,
        chunksize: Option<usize>,
    ) -> Result<Vec<T::Output>, MapError> {
        let result = self
            .map_async(task, items, chunksize)
            .map_err(MapError::Submit)?;
        result.wait().map_err(MapError::Task)
    }

    /// `map` for a task of several arguments, each item a tuple (`starmap`).
    ///
    /// A task made by [`task!`](crate::task) with several arguments takes them as a tuple, so
    /// this is `map` under the name CPython users reach for.
    pub fn starmap<T: Task>(
        &self,
        task: T,
        items: impl IntoIterator<Item = T::Arg>,
        chunksize: Option<usize>,
    ) -> Result<Vec<T::Output>, MapError> {
        self.map(task, items, chunksize)
    }

    /// Runs `T` on every item, `chunksize` per task (CPython's default is 1), and yields the
    /// results in order (`imap`).
    pub fn imap<T: Task>(
        &self,
        task: T,
        items: impl IntoIterator<Item = T::Arg>,
        chunksize: usize,
    ) -> Result<IMapIterator<T>, SubmitError> {
        self.imap_inner(task, items, chunksize, true)
    }

    /// As [`Pool::imap`], yielding results in the order they complete (`imap_unordered`).
    pub fn imap_unordered<T: Task>(
        &self,
        task: T,
        items: impl IntoIterator<Item = T::Arg>,
        chunksize: usize,
    ) -> Result<IMapIterator<T>, SubmitError> {
        self.imap_inner(task, items, chunksize, false)
    }

    fn imap_inner<T: Task>(
        &self,
        _task: T,
        items: impl IntoIterator<Item = T::Arg>,
        chunksize: usize,
        ordered: bool,
    ) -> Result<IMapIterator<T>, SubmitError> {
        if chunksize == 0 {
            return Err(SubmitError::ZeroChunksize);
        }
        let items: Vec<T::Arg> = items.into_iter().collect();
        let chunks: Vec<&[T::Arg]> = items.chunks(chunksize).collect();
        let count = chunks.len();
        let job = self.core.submit::<T>(chunks)?;
        Ok(IMapIterator::new(job, count, ordered))
    }

    /// Stops accepting work; the workers exit once the queued work is done (`close`).
    pub fn close(&self) {
        let mut shared = self.core.lock();
        if shared.status == Status::Run {
            shared.status = Status::Close;
        }
        drop(shared);
        self.core.wake();
    }

    /// Stops the workers at once (SIGTERM); pending tasks fail with
    /// [`TaskError::Terminated`] (`terminate`).
    pub fn terminate(&self) {
        self.core.lock().status = Status::Terminate;
        self.core.wake();
    }

    /// Waits for the workers to exit after [`Pool::close`] or [`Pool::terminate`] (`join`).
    pub fn join(&self) -> Result<(), StillRunning> {
        if self.core.lock().status == Status::Run && self.broken().is_none() {
            return Err(StillRunning);
        }
        let handler = self
            .handler
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .take();
        if let Some(handler) = handler {
            let _ = handler.join();
        }
        Ok(())
    }

    /// Why the pool is broken, if a worker died.
    pub fn broken(&self) -> Option<Arc<BrokenPool>> {
        self.core.lock().broken.clone()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.terminate();
        let _ = self.join();
    }
}
