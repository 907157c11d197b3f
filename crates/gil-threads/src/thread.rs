//! Join handles and the errors of spawning and joining Python threads.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::io;

use crate::python;

/// An owned permission to join a Python thread: [`crate::Interpreter::spawn`]'s result.
#[derive(Debug)]
pub struct JoinHandle<T> {
    inner: std::thread::JoinHandle<T>,
    name: String,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(inner: std::thread::JoinHandle<T>, name: String) -> JoinHandle<T> {
        JoinHandle { inner, name }
    }

    /// Waits for the thread to end and returns its closure's value, or its panic as an error.
    ///
    /// If the calling thread holds a GIL, it is released while waiting and taken back after, as
    /// CPython's `Thread.join` does (it blocks on a lock with the GIL released); so joining from a
    /// Python thread cannot deadlock on the GIL.
    pub fn join(self) -> Result<T, JoinError> {
        let _reattach = python::release_current();
        self.inner.join().map_err(|payload| JoinError {
            thread: self.name,
            payload,
        })
    }

    /// Whether the thread has ended (its value or panic is ready for [`JoinHandle::join`]).
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// The thread's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The error of [`JoinHandle::join`]: the thread's closure panicked.
pub struct JoinError {
    thread: String,
    payload: Box<dyn Any + Send + 'static>,
}

impl JoinError {
    /// The panic message, when the panic carried a string (as `panic!` with a message does).
    pub fn message(&self) -> Option<&str> {
        if let Some(text) = self.payload.downcast_ref::<&'static str>() {
            Some(text)
        } else {
            self.payload.downcast_ref::<String>().map(String::as_str)
        }
    }

    /// The name of the thread that panicked.
    pub fn thread(&self) -> &str {
        &self.thread
    }

    /// The panic payload, to resume the panic with `std::panic::resume_unwind`.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.payload
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinError")
            .field("thread", &self.thread)
            .field("message", &self.message())
            .finish()
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.message() {
            Some(message) => write!(f, "thread {} panicked: {message}", self.thread),
            None => write!(f, "thread {} panicked", self.thread),
        }
    }
}

impl Error for JoinError {}

/// The error of [`crate::Interpreter::spawn`]: no thread was started.
#[derive(Debug)]
pub struct SpawnError(SpawnProblem);

#[derive(Debug)]
enum SpawnProblem {
    Name(String),
    Io(io::Error),
}

impl SpawnError {
    pub(crate) fn name(name: String) -> SpawnError {
        SpawnError(SpawnProblem::Name(name))
    }

    pub(crate) fn io(error: io::Error) -> SpawnError {
        SpawnError(SpawnProblem::Io(error))
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            SpawnProblem::Name(name) => write!(f, "thread name {name:?} contains a NUL byte"),
            SpawnProblem::Io(error) => write!(f, "the OS could not start a thread: {error}"),
        }
    }
}

impl Error for SpawnError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.0 {
            SpawnProblem::Io(error) => Some(error),
            SpawnProblem::Name(_) => None,
        }
    }
}
