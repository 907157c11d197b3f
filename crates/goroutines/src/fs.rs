//! File system helpers that do not stall a P: `std::fs`, each call wrapped in [`blocking`].
//!
//! Why files go through `blocking` and not the network poller. A socket or a pipe can say ahead of
//! time whether a read would block, so a goroutine parks and epoll wakes it when data arrives. A
//! regular file cannot: Linux's epoll refuses regular files (`epoll_ctl` fails with `EPERM`), and
//! `poll` reports them always ready, because "ready" for a file means only that the kernel will do
//! the read now, while this thread waits for the disk. A read that misses the page cache, an
//! `fsync`, a `stat` on a slow or network file system: each holds its OS thread for as long as
//! the device takes. Go's `os.File` knows this: `poll.FD.Init` registers a descriptor with the
//! poller only when the kind allows it, and regular files fall back to plain system calls, made
//! inside `entersyscall`/`exitsyscall`. This module does the same with [`blocking`]: the
//! goroutine keeps its P for the usual fast call (a page-cache hit costs one system call and no
//! thread switch); if the call drags on while other goroutines wait, sysmon hands the P to another
//! thread, and this one rejoins the scheduler when the call returns.
//!
//! Rejected designs:
//! - A thread pool that every call is shipped to (libuv's `uv_fs_*`, Tokio's `spawn_blocking`
//!   under `tokio::fs`): two thread switches and an allocation on every call, fast or not, to
//!   protect against the rare slow one. Go's handoff pays only when a call is actually slow.
//! - io_uring: truly asynchronous, but a second completion source beside epoll, not available
//!   everywhere (seccomp profiles and sandboxes often forbid it), and more than this lab needs.
//!
//! Invariants:
//! - Every system call that may touch the disk runs inside one `blocking` call, and each helper
//!   makes exactly one `blocking` call, so the handoff cost is paid once per helper, not per
//!   system call ([`read_dir`] collects every entry eagerly for this reason).
//! - Nothing here parks the goroutine: a `blocking` closure must not call a goroutine primitive,
//!   since it may run while the goroutine's P belongs to another thread.
//!
//! Signatures and errors are those of `std::fs`; on a plain thread each helper is simply its
//! `std::fs` counterpart. There are no timeouts: a read on a hung network file system holds its
//! thread until the kernel gives up, as in Go, but no longer holds a P.

use std::ffi::OsString;
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

pub use std::fs::{FileType, Metadata};

use crate::runtime::blocking;

/// Reads the whole file (`std::fs::read`).
pub fn read<P: AsRef<Path>>(path: P) -> io::Result<Vec<u8>> {
    let path = path.as_ref();
    blocking(|| std::fs::read(path))
}

/// Reads the whole file as UTF-8 (`std::fs::read_to_string`).
pub fn read_to_string<P: AsRef<Path>>(path: P) -> io::Result<String> {
    let path = path.as_ref();
    blocking(|| std::fs::read_to_string(path))
}

/// Creates or truncates the file and writes `contents` (`std::fs::write`).
pub fn write<P: AsRef<Path>, C: AsRef<[u8]>>(path: P, contents: C) -> io::Result<()> {
    let (path, contents) = (path.as_ref(), contents.as_ref());
    blocking(|| std::fs::write(path, contents))
}

/// The metadata of the file, following symbolic links (`std::fs::metadata`).
pub fn metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    let path = path.as_ref();
    blocking(|| std::fs::metadata(path))
}

/// The metadata of the path itself, not following a final symbolic link
/// (`std::fs::symlink_metadata`).
pub fn symlink_metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    let path = path.as_ref();
    blocking(|| std::fs::symlink_metadata(path))
}

/// Every entry of a directory, read in one `blocking` call (`std::fs::read_dir`, collected).
///
/// The order is the file system's, as with `std::fs::read_dir`. The first entry that cannot be
/// read (or whose type cannot be determined) fails the whole call.
pub fn read_dir<P: AsRef<Path>>(path: P) -> io::Result<Vec<DirEntry>> {
    let path = path.as_ref();
    blocking(|| {
        std::fs::read_dir(path)?
            .map(|entry| {
                let entry = entry?;
                Ok(DirEntry {
                    file_type: entry.file_type()?,
                    path: entry.path(),
                    file_name: entry.file_name(),
                })
            })
            .collect()
    })
}

/// One entry of [`read_dir`]: a path, its name and its file type, all read eagerly.
#[derive(Clone)]
pub struct DirEntry {
    path: PathBuf,
    file_name: OsString,
    file_type: FileType,
}

impl DirEntry {
    /// The directory's path joined with the entry's name.
    pub fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// The entry's name, without its directory.
    pub fn file_name(&self) -> OsString {
        self.file_name.clone()
    }

    /// The entry's file type (of the entry itself: a symbolic link is reported as one). Read
    /// with the directory, so this cannot fail, unlike `std::fs::DirEntry::file_type`.
    pub fn file_type(&self) -> FileType {
        self.file_type
    }

    /// The entry's metadata, not following a final symbolic link, as
    /// `std::fs::DirEntry::metadata`; a fresh system call, inside `blocking`.
    pub fn metadata(&self) -> io::Result<Metadata> {
        symlink_metadata(&self.path)
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.path).finish()
    }
}

/// Creates a directory (`std::fs::create_dir`).
pub fn create_dir<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    blocking(|| std::fs::create_dir(path))
}

/// Creates a directory and every missing parent (`std::fs::create_dir_all`).
pub fn create_dir_all<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    blocking(|| std::fs::create_dir_all(path))
}

/// Removes a file (`std::fs::remove_file`).
pub fn remove_file<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    blocking(|| std::fs::remove_file(path))
}

/// Removes an empty directory (`std::fs::remove_dir`).
pub fn remove_dir<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    blocking(|| std::fs::remove_dir(path))
}

/// Removes a directory and everything in it (`std::fs::remove_dir_all`).
pub fn remove_dir_all<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    blocking(|| std::fs::remove_dir_all(path))
}

/// Renames a file or directory, replacing `to` if it exists (`std::fs::rename`).
pub fn rename<P: AsRef<Path>, Q: AsRef<Path>>(from: P, to: Q) -> io::Result<()> {
    let (from, to) = (from.as_ref(), to.as_ref());
    blocking(|| std::fs::rename(from, to))
}

/// Copies a file's contents and permissions; returns the bytes copied (`std::fs::copy`).
pub fn copy<P: AsRef<Path>, Q: AsRef<Path>>(from: P, to: Q) -> io::Result<u64> {
    let (from, to) = (from.as_ref(), to.as_ref());
    blocking(|| std::fs::copy(from, to))
}

/// An open file whose every operation runs inside [`blocking`]: `std::fs::File` for goroutines.
///
/// Implements `Read`, `Write` and `Seek`, for `File` and `&File` as std does. `read_to_end`,
/// `read_exact` and `write_all` make one `blocking` call for the whole loop, not one per
/// system call.
pub struct File {
    inner: std::fs::File,
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("File").field(&self.inner).finish()
    }
}

impl From<std::fs::File> for File {
    /// Wraps a file opened with `std::fs::OpenOptions` (whose `open` is itself a blocking call:
    /// wrap it in [`blocking`]).
    fn from(inner: std::fs::File) -> File {
        File { inner }
    }
}

impl File {
    /// Opens a file for reading (`std::fs::File::open`).
    pub fn open<P: AsRef<Path>>(path: P) -> io::Result<File> {
        let path = path.as_ref();
        blocking(|| std::fs::File::open(path)).map(File::from)
    }

    /// Creates or truncates a file for writing (`std::fs::File::create`).
    pub fn create<P: AsRef<Path>>(path: P) -> io::Result<File> {
        let path = path.as_ref();
        blocking(|| std::fs::File::create(path)).map(File::from)
    }

    /// The file's metadata (`fstat`).
    pub fn metadata(&self) -> io::Result<Metadata> {
        blocking(|| self.inner.metadata())
    }

    /// Truncates or extends the file to `size` bytes.
    pub fn set_len(&self, size: u64) -> io::Result<()> {
        blocking(|| self.inner.set_len(size))
    }

    /// Flushes data and metadata to the device (`fsync`).
    pub fn sync_all(&self) -> io::Result<()> {
        blocking(|| self.inner.sync_all())
    }

    /// Flushes data, and metadata only as needed to read it back (`fdatasync`).
    pub fn sync_data(&self) -> io::Result<()> {
        blocking(|| self.inner.sync_data())
    }

    /// The `std::fs::File` inside, for calls this wrapper does not offer.
    pub fn into_std(self) -> std::fs::File {
        self.inner
    }
}

impl AsFd for File {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

/// The operations, written once for `&File`; `File` forwards to them.
impl Read for &File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        blocking(|| (&self.inner).read(buf))
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        blocking(|| (&self.inner).read_vectored(bufs))
    }

    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        blocking(|| (&self.inner).read_to_end(buf))
    }

    fn read_to_string(&mut self, buf: &mut String) -> io::Result<usize> {
        blocking(|| (&self.inner).read_to_string(buf))
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        blocking(|| (&self.inner).read_exact(buf))
    }
}

impl Write for &File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        blocking(|| (&self.inner).write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        blocking(|| (&self.inner).write_vectored(bufs))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        blocking(|| (&self.inner).write_all(buf))
    }

    /// A `std::fs::File` has no user-space buffer, so this flushes nothing and makes no system
    /// call; `sync_all` is the call that reaches the device.
    fn flush(&mut self) -> io::Result<()> {
        (&self.inner).flush()
    }
}

impl Seek for &File {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        blocking(|| (&self.inner).seek(pos))
    }
}

impl Read for File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }

    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        (&*self).read_to_end(buf)
    }

    fn read_to_string(&mut self, buf: &mut String) -> io::Result<usize> {
        (&*self).read_to_string(buf)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        (&*self).read_exact(buf)
    }
}

impl Write for File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        (&*self).write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self).flush()
    }
}

impl Seek for File {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        (&*self).seek(pos)
    }
}
