//! Errors, one type per operation: starting a pool, giving it work, and getting a result.

use std::sync::Arc;

use crate::frame::FrameTooLarge;
use crate::start::{ExitStatus, StartError};
use crate::wire::RemoteError;

/// A worker died: the pool is broken (`concurrent.futures.process.BrokenProcessPool`).
///
/// Every task pending when it died fails with this error, and the pool refuses new work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokenPool {
    /// The worker's name (`ForkPoolWorker-2`).
    pub worker: String,
    /// Its pid.
    pub pid: i32,
    /// How it ended.
    pub status: ExitStatus,
    /// The task it was running (`app::square, chunk 3 of job 2`), if it was running one.
    pub running: Option<String>,
}

impl std::fmt::Display for BrokenPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a process in the process pool was terminated abruptly: {} (pid {}) {}",
            self.worker, self.pid, self.status
        )?;
        match &self.running {
            Some(task) => write!(f, " while running {task}")?,
            None => write!(f, " while idle")?,
        }
        write!(f, "; the pool is not usable anymore")
    }
}

impl std::error::Error for BrokenPool {}

/// Why one task (or one chunk of a map) has no result.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskError {
    /// The worker reported an error: a panic (with its message), an unknown task, bad arguments,
    /// a result over the frame limit.
    Remote(RemoteError),
    /// A worker died before this task's result came back.
    Broken(Arc<BrokenPool>),
    /// The pool was terminated before this task's result came back.
    Terminated,
    /// The arguments did not fit in one frame; the task was never sent.
    ArgumentsTooLarge(FrameTooLarge),
    /// The arguments could not be encoded (postcard's message).
    Encode(String),
    /// The worker's reply could not be decoded (postcard's message), or was over the limit.
    MalformedReply(String),
}

impl std::fmt::Display for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TaskError::Remote(error) => write!(f, "{error}"),
            TaskError::Broken(broken) => write!(f, "{broken}"),
            TaskError::Terminated => write!(f, "the pool was terminated before the task finished"),
            TaskError::ArgumentsTooLarge(error) => write!(f, "the task's arguments: {error}"),
            TaskError::Encode(reason) => write!(f, "the task's arguments did not encode: {reason}"),
            TaskError::MalformedReply(reason) => {
                write!(f, "malformed reply from the worker: {reason}")
            }
        }
    }
}

impl std::error::Error for TaskError {}

/// Why `get` returned no value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GetError {
    /// The timeout passed first (`multiprocessing.TimeoutError`); the task goes on and its
    /// result can still be had by waiting again.
    Timeout,
    /// The task failed.
    Task(TaskError),
}

impl std::fmt::Display for GetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GetError::Timeout => write!(f, "timed out waiting for the result"),
            GetError::Task(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for GetError {}

impl From<TaskError> for GetError {
    fn from(error: TaskError) -> Self {
        GetError::Task(error)
    }
}

/// Why the pool refused new work.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubmitError {
    /// `close` was called (`ValueError: Pool not running`).
    Closed,
    /// `terminate` was called.
    Terminated,
    /// A worker died earlier.
    Broken(Arc<BrokenPool>),
    /// `chunksize` 0 for a non-empty iterable (`ValueError: Chunksize must be 1+`).
    ZeroChunksize,
}

impl std::fmt::Display for SubmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubmitError::Closed => write!(f, "the pool is not running (closed)"),
            SubmitError::Terminated => write!(f, "the pool is not running (terminated)"),
            SubmitError::Broken(broken) => write!(f, "{broken}"),
            SubmitError::ZeroChunksize => write!(f, "chunksize must be 1 or more, not 0"),
        }
    }
}

impl std::error::Error for SubmitError {}

/// Why a pool could not be created.
#[derive(Debug)]
#[non_exhaustive]
pub enum PoolError {
    /// `processes` was 0 (`ValueError: Number of processes must be at least 1`).
    NoProcesses,
    /// `maxtasksperchild` was 0 (`ValueError: maxtasksperchild must be a positive int or None`).
    ZeroMaxTasks,
    /// The frame limit is below 1 KiB or above 2^31 - 1 bytes.
    FrameLimit(usize),
    /// A worker could not be started.
    Start(StartError),
    /// The handler thread could not be started.
    Thread(std::io::Error),
}

impl std::fmt::Display for PoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PoolError::NoProcesses => write!(f, "number of processes must be at least 1"),
            PoolError::ZeroMaxTasks => {
                write!(f, "maxtasksperchild must be a positive number or None")
            }
            PoolError::FrameLimit(limit) => write!(
                f,
                "a frame limit of {limit} bytes is outside 1024 ..= {}",
                crate::frame::MAX_FRAME_LIMIT
            ),
            PoolError::Start(error) => write!(f, "{error}"),
            PoolError::Thread(error) => {
                write!(f, "cannot start the pool's handler thread: {error}")
            }
        }
    }
}

impl std::error::Error for PoolError {}

impl From<StartError> for PoolError {
    fn from(error: StartError) -> Self {
        PoolError::Start(error)
    }
}
