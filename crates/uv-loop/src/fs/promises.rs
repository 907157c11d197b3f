//! `fs/promises`: the calls of [`fs`](super) as promises (Node lib/internal/fs/promises.js).
//!
//! Invariants:
//! - Each call queues the same pool request as its callback twin in [`fs`](super), at once;
//!   nothing settles while the caller's code runs.
//! - The promise settles inside that request's completion callback, in the poll phase, as
//!   Node's `FSReqPromise` resolves its promise from `AfterNoArgs`/`AfterStat` and friends.
//!   Its reactions are microtasks, so they run in the drain that follows that callback:
//!   after it and before the next completion's callback, the check phase and the timers.
//! - An error rejects the promise with a [`JsError`] that wraps the [`io::Error`] the callback
//!   API gives (`error.get().downcast_ref::<io::Error>()`); its text is Rust's
//!   (`No such file or directory (os error 2)`), not Node's
//!   (`ENOENT: no such file or directory, open '/path'`), as the callback API's is.
//!
//! ```text
//!   read_file(path) ──submit──> pool: std::fs::read ──done──> poll phase: completion
//!        │                                                      resolver.resolve(bytes)
//!        └─> Promise (pending)                                  then ticks + microtasks:
//!                                                               the reactions run here
//! ```
//!
//! Node's `readFile` and `writeFile` take several pool round trips (open, fstat, reads or
//! writes, close; awaits between them); here each is one request, as in the callback API.
//! The difference shows only as loop iterations between submit and settle, which a program
//! can observe only by racing the pool against the loop (an immediate chain), an order that
//! Node does not fix either. The microtasks Node spends inside its async functions run in a
//! drain that starts with an internal completion, so no user code interleaves with them.
//!
//! Node's `open` resolves to a `FileHandle` whose methods are `read`, `write` and `close`;
//! here they are free functions on the [`Fd`] that [`open`] gives, as in the callback API.

use std::ffi::OsString;
use std::fs::{Metadata, OpenOptions};
use std::io;
use std::path::PathBuf;

use super::Fd;
use crate::node::promise::{Promise, Resolver};
use crate::node::JsError;

/// `fsPromises.readFile(path)`: the whole file.
pub fn read_file(path: impl Into<PathBuf>) -> Promise<Vec<u8>> {
    promise_from(|settle| super::read_file(path, settle))
}

/// `fsPromises.writeFile(path, data)`: creates or truncates the file.
pub fn write_file(path: impl Into<PathBuf>, data: Vec<u8>) -> Promise<()> {
    promise_from(|settle| super::write_file(path, data, settle))
}

/// `fsPromises.stat(path)`.
pub fn stat(path: impl Into<PathBuf>) -> Promise<Metadata> {
    promise_from(|settle| super::stat(path, settle))
}

/// `fsPromises.readdir(path)`: the names, sorted by bytes as libuv's scandir sorts them.
pub fn readdir(path: impl Into<PathBuf>) -> Promise<Vec<OsString>> {
    promise_from(|settle| super::readdir(path, settle))
}

/// `fsPromises.open(path, flags)`, with the flags as `OpenOptions`.
pub fn open(path: impl Into<PathBuf>, options: OpenOptions) -> Promise<Fd> {
    promise_from(|settle| super::open(path, options, settle))
}

/// `filehandle.read`: up to `length` bytes at `position`, or at the file position if `None`.
pub fn read(fd: &Fd, length: usize, position: Option<u64>) -> Promise<Vec<u8>> {
    promise_from(|settle| super::read(fd, length, position, settle))
}

/// `filehandle.write`: writes `data` at `position`, or at the file position if `None`;
/// fulfilled with the bytes written.
pub fn write(fd: &Fd, data: Vec<u8>, position: Option<u64>) -> Promise<usize> {
    promise_from(|settle| super::write(fd, data, position, settle))
}

/// `filehandle.close`: later calls on any clone of `fd` reject with `EBADF`.
pub fn close(fd: &Fd) -> Promise<()> {
    promise_from(|settle| super::close(fd, settle))
}

/// Submits a callback-API request with a completion that settles a new promise.
fn promise_from<T: Clone + 'static>(
    submit: impl FnOnce(Box<dyn FnOnce(io::Result<T>)>),
) -> Promise<T> {
    let (promise, resolver) = Promise::with_resolvers();
    submit(Box::new(move |result| settle(&resolver, result)));
    promise
}

/// The completion: fulfils with the value or rejects with the error, as `FSReqPromise` does.
fn settle<T: Clone + 'static>(resolver: &Resolver<T>, result: io::Result<T>) {
    match result {
        Ok(value) => resolver.resolve(value),
        Err(error) => resolver.reject(JsError::new(error)),
    }
}
