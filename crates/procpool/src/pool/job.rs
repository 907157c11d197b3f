//! A job's results as they come back, and the handles users wait on (pool.py's
//! `ApplyResult`, `MapResult`, `IMapIterator`, `IMapUnorderedIterator`).
//!
//! ```text
//!   handler thread                       Job (Mutex + Condvar)                 user thread
//!   reply for chunk i  -- complete(i) -> chunks[i] = outcome, arrivals += i  -> get() / next()
//!   worker died        -- fail_pending -> every empty chunk = Broken
//! ```
//!
//! Invariants: each chunk is completed exactly once (the handler pairs every reply with one
//! outstanding chunk, and fails only chunks still empty); `remaining` is the number of empty
//! chunks; `arrivals` lists completed chunks in completion order, which is the order
//! `imap_unordered` yields. Results stay encoded until the user takes them, so decoding costs
//! the user's thread, not the handler's.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::{GetError, TaskError};
use crate::registry::Task;

/// One chunk's outcome: its encoded results, or why there are none.
pub(crate) type ChunkOutcome = Result<Vec<u8>, TaskError>;

pub(crate) struct JobState {
    chunks: Vec<Option<ChunkOutcome>>,
    arrivals: VecDeque<usize>,
    remaining: usize,
    /// The first failure to arrive (pool.py's MapResult keeps only the first exception).
    first_error: Option<TaskError>,
}

/// Results of one `apply_async`, `map` or `imap` call.
pub(crate) struct Job {
    /// The job's number, for naming its tasks.
    pub(crate) id: u64,
    state: Mutex<JobState>,
    changed: Condvar,
}

impl Job {
    /// A job of `chunks` chunks, none done.
    pub(crate) fn new(id: u64, chunks: usize) -> Arc<Job> {
        Arc::new(Job {
            id,
            state: Mutex::new(JobState {
                chunks: (0..chunks).map(|_| None).collect(),
                arrivals: VecDeque::with_capacity(chunks),
                remaining: chunks,
                first_error: None,
            }),
            changed: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, JobState> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Records chunk `index`'s outcome; a chunk already completed keeps its first outcome.
    pub(crate) fn complete(&self, index: usize, outcome: ChunkOutcome) {
        let mut state = self.lock();
        let Some(slot) = state.chunks.get_mut(index) else {
            return;
        };
        if slot.is_some() {
            return;
        }
        if let Err(error) = &outcome {
            if state.first_error.is_none() {
                state.first_error = Some(error.clone());
            }
        }
        state.chunks[index] = Some(outcome);
        state.arrivals.push_back(index);
        state.remaining -= 1;
        drop(state);
        self.changed.notify_all();
    }

    /// Fails every chunk not yet completed with `error`.
    pub(crate) fn fail_pending(&self, error: &TaskError) {
        let chunks = self.lock().chunks.len();
        for index in 0..chunks {
            self.complete(index, Err(error.clone()));
        }
    }

    /// Waits until `done(state)` holds or the deadline passes; returns the guard either way.
    fn wait_until(
        &self,
        deadline: Option<Instant>,
        done: impl Fn(&JobState) -> bool,
    ) -> (MutexGuard<'_, JobState>, bool) {
        let mut state = self.lock();
        loop {
            if done(&state) {
                return (state, true);
            }
            match deadline {
                None => {
                    state = self
                        .changed
                        .wait(state)
                        .unwrap_or_else(|poison| poison.into_inner());
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return (state, false);
                    }
                    state = self
                        .changed
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(|poison| poison.into_inner())
                        .0;
                }
            }
        }
    }
}

fn deadline(timeout: Option<Duration>) -> Option<Instant> {
    timeout.map(|timeout| Instant::now() + timeout)
}

/// Decodes one chunk's results.
fn decode<T: Task>(outcome: &ChunkOutcome) -> Result<Vec<T::Output>, TaskError> {
    match outcome {
        Ok(bytes) => postcard::from_bytes(bytes)
            .map_err(|error| TaskError::MalformedReply(error.to_string())),
        Err(error) => Err(error.clone()),
    }
}

/// The result of [`Pool::apply_async`](crate::Pool::apply_async) (pool.py's `ApplyResult`),
/// and of [`Executor::submit`](crate::Executor::submit).
pub struct AsyncResult<T: Task> {
    job: Arc<Job>,
    _task: PhantomData<fn() -> T>,
}

impl<T: Task> AsyncResult<T> {
    pub(crate) fn new(job: Arc<Job>) -> Self {
        AsyncResult {
            job,
            _task: PhantomData,
        }
    }

    /// Whether the result has arrived.
    pub fn ready(&self) -> bool {
        self.job.lock().remaining == 0
    }

    /// Waits for the result however long it takes (`apply`).
    pub(crate) fn wait(&self) -> Result<T::Output, TaskError> {
        let (state, _) = self.job.wait_until(None, |s| s.remaining == 0);
        let outcome = state.chunks[0].clone();
        drop(state);
        Self::output(outcome)
    }

    /// Waits for the result, at most `timeout` (`None`: as long as it takes).
    ///
    /// [`GetError::Timeout`] leaves the task running; a later `get` can still return its result,
    /// as in CPython.
    pub fn get(&self, timeout: Option<Duration>) -> Result<T::Output, GetError> {
        let (state, done) = self.job.wait_until(deadline(timeout), |s| s.remaining == 0);
        if !done {
            return Err(GetError::Timeout);
        }
        let outcome = state.chunks[0].clone();
        drop(state);
        Self::output(outcome).map_err(GetError::Task)
    }

    /// The one output of a completed one-item job.
    fn output(outcome: Option<ChunkOutcome>) -> Result<T::Output, TaskError> {
        let outcome = outcome.ok_or_else(|| TaskError::MalformedReply("no reply".into()))?;
        let mut outputs = decode::<T>(&outcome)?;
        match outputs.pop() {
            Some(output) if outputs.is_empty() => Ok(output),
            _ => Err(TaskError::MalformedReply(
                "expected exactly one result".to_owned(),
            )),
        }
    }
}

/// The result of [`Pool::map_async`](crate::Pool::map_async) (pool.py's `MapResult`).
pub struct MapResult<T: Task> {
    job: Arc<Job>,
    len: usize,
    chunksize: usize,
    _task: PhantomData<fn() -> T>,
}

impl<T: Task> MapResult<T> {
    pub(crate) fn new(job: Arc<Job>, len: usize, chunksize: usize) -> Self {
        MapResult {
            job,
            len,
            chunksize,
            _task: PhantomData,
        }
    }

    /// The chunksize the map used (pool.py's `MapResult._chunksize`; 0 for no items).
    pub fn chunksize(&self) -> usize {
        self.chunksize
    }

    /// How many tasks (chunks) the map was split into.
    pub fn tasks(&self) -> usize {
        self.job.lock().chunks.len()
    }

    /// Whether every chunk has come back.
    pub fn ready(&self) -> bool {
        self.job.lock().remaining == 0
    }

    /// Waits for every chunk, at most `timeout`, and returns the results in order, or the first
    /// error that came back (as MapResult does, it waits for all chunks even after an error).
    pub fn get(&self, timeout: Option<Duration>) -> Result<Vec<T::Output>, GetError> {
        let (state, done) = self.job.wait_until(deadline(timeout), |s| s.remaining == 0);
        if !done {
            return Err(GetError::Timeout);
        }
        self.collect(&state).map_err(GetError::Task)
    }

    /// Waits for every chunk, however long it takes (`map`).
    pub(crate) fn wait(&self) -> Result<Vec<T::Output>, TaskError> {
        let (state, _) = self.job.wait_until(None, |s| s.remaining == 0);
        self.collect(&state)
    }

    /// The results in order, or the first error that came back.
    fn collect(&self, state: &JobState) -> Result<Vec<T::Output>, TaskError> {
        if let Some(error) = &state.first_error {
            return Err(error.clone());
        }
        let mut results = Vec::with_capacity(self.len);
        for outcome in state.chunks.iter().flatten() {
            results.extend(decode::<T>(outcome)?);
        }
        if results.len() != self.len {
            return Err(TaskError::MalformedReply(format!(
                "{} results for {} items",
                results.len(),
                self.len
            )));
        }
        Ok(results)
    }
}

/// The iterator of [`Pool::imap`](crate::Pool::imap) (in order) and
/// [`Pool::imap_unordered`](crate::Pool::imap_unordered) (in completion order).
///
/// Each item is the task's result or its error; the iterator ends after the last item.
pub struct IMapIterator<T: Task> {
    job: Arc<Job>,
    ordered: bool,
    /// Chunks taken so far (their position in order, or in `arrivals`).
    taken: usize,
    chunks: usize,
    buffer: VecDeque<Result<T::Output, TaskError>>,
}

impl<T: Task> IMapIterator<T> {
    pub(crate) fn new(job: Arc<Job>, chunks: usize, ordered: bool) -> Self {
        IMapIterator {
            job,
            ordered,
            taken: 0,
            chunks,
            buffer: VecDeque::new(),
        }
    }

    /// The next result, waiting at most `timeout` (pool.py's `IMapIterator.next(timeout)`);
    /// `Ok(None)` after the last one.
    pub fn next_timeout(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<Option<Result<T::Output, TaskError>>, GetError> {
        if let Some(item) = self.buffer.pop_front() {
            return Ok(Some(item));
        }
        if self.taken == self.chunks {
            return Ok(None);
        }
        let (ordered, taken) = (self.ordered, self.taken);
        let (mut state, done) = self.job.wait_until(deadline(timeout), |s| {
            if ordered {
                s.chunks[taken].is_some()
            } else {
                s.arrivals.len() > taken
            }
        });
        if !done {
            return Err(GetError::Timeout);
        }
        let index = if ordered {
            taken
        } else {
            state.arrivals[taken]
        };
        let outcome = state.chunks[index].take();
        state.chunks[index] = Some(Ok(Vec::new()));
        drop(state);
        self.taken += 1;
        match outcome.map(|outcome| decode::<T>(&outcome)) {
            Some(Ok(outputs)) => self.buffer.extend(outputs.into_iter().map(Ok)),
            Some(Err(error)) => self.buffer.push_back(Err(error)),
            None => {}
        }
        self.next_timeout(timeout)
    }
}

impl<T: Task> Iterator for IMapIterator<T> {
    type Item = Result<T::Output, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_timeout(None).ok().flatten()
    }
}
