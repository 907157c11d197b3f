//! `fs`: file system calls on the thread pool (Node lib/fs.js over libuv's `uv_fs_*`).
//!
//! Every call runs on a pool thread (fast I/O) and its callback on the loop thread in the
//! poll phase, like Node's callback API. Results are `io::Result`s; an error is the
//! callback's first argument in Node.
//!
//! Differences from Node, on purpose: `read_file` is one pool request (Node's readFile is
//! open, fstat, reads and close, each a request); `readdir` sorts names by bytes as libuv's
//! `scandir` does.
//!
//! [`promises`] gives the same calls as promises (`fs/promises`), settled by the same requests.

pub mod promises;

use std::ffi::OsString;
use std::fmt;
use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::node::submit_work;
use crate::uv::WorkKind;

/// An open file (Node's fd), shared by clones until [`close`].
#[derive(Clone)]
pub struct Fd(Arc<Mutex<Option<File>>>);

impl fmt::Debug for Fd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fd").finish_non_exhaustive()
    }
}

impl Fd {
    fn with<R>(&self, f: impl FnOnce(&File) -> io::Result<R>) -> io::Result<R> {
        let guard = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match guard.as_ref() {
            Some(file) => f(file),
            None => Err(io::Error::from_raw_os_error(libc::EBADF)),
        }
    }
}

/// Reads a whole file (`fs.readFile`).
pub fn read_file(path: impl Into<PathBuf>, callback: impl FnOnce(io::Result<Vec<u8>>) + 'static) {
    let path = path.into();
    submit_work(WorkKind::FastIo, move || std::fs::read(path), callback);
}

/// Writes a whole file, creating or truncating it (`fs.writeFile`).
pub fn write_file(
    path: impl Into<PathBuf>,
    data: Vec<u8>,
    callback: impl FnOnce(io::Result<()>) + 'static,
) {
    let path = path.into();
    submit_work(
        WorkKind::FastIo,
        move || std::fs::write(path, data),
        callback,
    );
}

/// `fs.stat`.
pub fn stat(path: impl Into<PathBuf>, callback: impl FnOnce(io::Result<Metadata>) + 'static) {
    let path = path.into();
    submit_work(WorkKind::FastIo, move || std::fs::metadata(path), callback);
}

/// The names in a directory, sorted by bytes (`fs.readdir`; libuv's scandir sorts).
pub fn readdir(
    path: impl Into<PathBuf>,
    callback: impl FnOnce(io::Result<Vec<OsString>>) + 'static,
) {
    let path = path.into();
    submit_work(
        WorkKind::FastIo,
        move || -> io::Result<Vec<OsString>> {
            let mut names = std::fs::read_dir(path)?
                .map(|entry| entry.map(|e| e.file_name()))
                .collect::<io::Result<Vec<_>>>()?;
            names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
            Ok(names)
        },
        callback,
    );
}

/// `fs.open`, with the flags as `OpenOptions`.
pub fn open(
    path: impl Into<PathBuf>,
    options: OpenOptions,
    callback: impl FnOnce(io::Result<Fd>) + 'static,
) {
    let path = path.into();
    submit_work(
        WorkKind::FastIo,
        move || {
            options
                .open(path)
                .map(|file| Fd(Arc::new(Mutex::new(Some(file)))))
        },
        callback,
    );
}

/// `fs.read`: up to `length` bytes at `position`, or at the file position if `None`.
pub fn read(
    fd: &Fd,
    length: usize,
    position: Option<u64>,
    callback: impl FnOnce(io::Result<Vec<u8>>) + 'static,
) {
    let fd = fd.clone();
    submit_work(
        WorkKind::FastIo,
        move || {
            fd.with(|mut file| {
                let mut buffer = vec![0; length];
                let read = match position {
                    Some(offset) => file.read_at(&mut buffer, offset)?,
                    None => file.read(&mut buffer)?,
                };
                buffer.truncate(read);
                Ok(buffer)
            })
        },
        callback,
    );
}

/// `fs.write`: writes `data` at `position`, or at the file position if `None`; the callback
/// gets the bytes written.
pub fn write(
    fd: &Fd,
    data: Vec<u8>,
    position: Option<u64>,
    callback: impl FnOnce(io::Result<usize>) + 'static,
) {
    let fd = fd.clone();
    submit_work(
        WorkKind::FastIo,
        move || {
            fd.with(|mut file| match position {
                Some(offset) => file.write_at(&data, offset),
                None => file.write(&data),
            })
        },
        callback,
    );
}

/// `fs.close`: later calls on any clone of `fd` fail with `EBADF`.
pub fn close(fd: &Fd, callback: impl FnOnce(io::Result<()>) + 'static) {
    let fd = fd.clone();
    submit_work(
        WorkKind::FastIo,
        move || {
            let file =
                fd.0.lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .take();
            match file {
                Some(file) => {
                    drop(file);
                    Ok(())
                }
                None => Err(io::Error::from_raw_os_error(libc::EBADF)),
            }
        },
        callback,
    );
}
