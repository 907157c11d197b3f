//! `SharedArray`: an array of numbers in POSIX shared memory, visible to every process that
//! opens it (`multiprocessing.shared_memory.SharedMemory` with `Array(lock=False)`'s view).
//!
//! ```text
//!   creator                                  worker (in a task)
//!   SharedArray::<f64>::create(n)            handle.open() -> SharedArray (attached)
//!     shm_open("/psm_<16 hex>", O_CREAT|O_EXCL)  shm_open(name, O_RDWR)
//!     ftruncate(n * 8); mmap(MAP_SHARED)         fstat: size must be n * 8; mmap(MAP_SHARED)
//!   .handle() -> { name, len }  -- task arg -->
//!   drop: munmap, shm_unlink                 drop: munmap
//! ```
//!
//! Elements are read and written through atomics (`Relaxed`), never through `&[T]` or
//! `&mut [T]`: another process may write any element at any moment, and Rust gives no
//! meaning to a plain read racing with a write, even in another process. A relaxed atomic
//! load or store is a plain `mov` on x86-64 and a plain load or store on ARM64, so this costs
//! nothing there and keeps every safe method free of undefined behaviour. There is no lock, as
//! with `Array(lock=False)`: tasks that write the same element need their own protocol
//! (disjoint ranges are the usual one), and `fetch_add` is atomic across processes.
//!
//! The creator owns the segment and unlinks it when dropped, as `SharedMemory.unlink()` is the
//! creator's duty; a handle opened after that fails with `ENOENT`. CPython's resource_tracker,
//! which unlinks segments leaked by crashed creators, has no counterpart here.

use std::ffi::CString;
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};

use serde::{Deserialize, Serialize};

use crate::sys;

mod sealed {
    pub trait Sealed {}
}

/// A number that can live in a [`SharedArray`]: stored through the atomic of its width.
pub trait Element: sealed::Sealed + Copy + 'static {
    /// The atomic it is stored through.
    #[doc(hidden)]
    type Atomic: Sync;
    /// A one-letter code, as `array.array` typecodes, checked when a handle is opened.
    #[doc(hidden)]
    const CODE: char;
    #[doc(hidden)]
    fn load(atomic: &Self::Atomic) -> Self;
    #[doc(hidden)]
    fn store(atomic: &Self::Atomic, value: Self);
}

macro_rules! element {
    ($t:ty, $atomic:ty, $bits:ty, $code:expr, $to:expr, $from:expr) => {
        impl sealed::Sealed for $t {}
        impl Element for $t {
            type Atomic = $atomic;
            const CODE: char = $code;
            fn load(atomic: &$atomic) -> $t {
                let bits: $bits = atomic.load(Ordering::Relaxed);
                ($from)(bits)
            }
            fn store(atomic: &$atomic, value: $t) {
                let bits: $bits = ($to)(value);
                atomic.store(bits, Ordering::Relaxed)
            }
        }
    };
}

element!(u8, AtomicU8, u8, 'B', |v: u8| v, |b: u8| b);
element!(u32, AtomicU32, u32, 'I', |v: u32| v, |b: u32| b);
element!(i32, AtomicU32, u32, 'i', |v: i32| v as u32, |b: u32| b
    as i32);
element!(f32, AtomicU32, u32, 'f', f32::to_bits, f32::from_bits);
element!(u64, AtomicU64, u64, 'Q', |v: u64| v, |b: u64| b);
element!(i64, AtomicU64, u64, 'q', |v: i64| v as u64, |b: u64| b
    as i64);
element!(f64, AtomicU64, u64, 'd', f64::to_bits, f64::from_bits);

/// What a task receives to open a [`SharedArray`]: its name and length.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SharedArrayHandle {
    name: String,
    len: usize,
    code: char,
}

/// Why a shared array could not be created or opened.
#[derive(Debug)]
#[non_exhaustive]
pub enum SharedArrayError {
    /// `shm_open`, `ftruncate`, `fstat` or `mmap` failed.
    Os(io::Error),
    /// The segment's size or element type is not what the handle says.
    Mismatch {
        /// The segment's name.
        name: String,
    },
    /// The length in bytes overflows.
    TooLarge,
}

impl std::fmt::Display for SharedArrayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SharedArrayError::Os(error) => write!(f, "shared memory: {error}"),
            SharedArrayError::Mismatch { name } => {
                write!(
                    f,
                    "shared memory {name}: not the size or type the handle says"
                )
            }
            SharedArrayError::TooLarge => write!(f, "shared array too large"),
        }
    }
}

impl std::error::Error for SharedArrayError {}

/// An index past the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfBounds {
    /// The index asked for.
    pub index: usize,
    /// The array's length.
    pub len: usize,
}

impl std::fmt::Display for OutOfBounds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "index {} out of bounds for length {}",
            self.index, self.len
        )
    }
}

impl std::error::Error for OutOfBounds {}

/// `len` numbers of type `T` in POSIX shared memory.
pub struct SharedArray<T: Element> {
    ptr: NonNull<T::Atomic>,
    len: usize,
    name: String,
    owner: bool,
    _marker: PhantomData<T>,
}

// SAFETY: every access goes through `T::Atomic`, which is `Sync`; the mapping stays valid until
// drop, and only `&self` methods touch it.
unsafe impl<T: Element> Send for SharedArray<T> {}
// SAFETY: as above: shared access is atomic access.
unsafe impl<T: Element> Sync for SharedArray<T> {}

impl<T: Element> SharedArray<T> {
    /// Creates a zeroed array of `len` elements under a fresh name (`/psm_` + 16 hex digits).
    pub fn create(len: usize) -> Result<SharedArray<T>, SharedArrayError> {
        let bytes = len
            .checked_mul(std::mem::size_of::<T::Atomic>())
            .ok_or(SharedArrayError::TooLarge)?;
        let mut random = [0u8; 8];
        sys::random_bytes(&mut random).map_err(SharedArrayError::Os)?;
        let name = format!(
            "/psm_{}",
            random
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let fd = shm_open(&name, libc::O_CREAT | libc::O_EXCL | libc::O_RDWR)?;
        let mapped = (|| {
            // SAFETY: ftruncate on the descriptor we just created; it only sets its size.
            if unsafe { libc::ftruncate(fd.as_raw_fd(), bytes as libc::off_t) } == -1 {
                return Err(SharedArrayError::Os(io::Error::last_os_error()));
            }
            map::<T>(&fd, len, bytes)
        })();
        match mapped {
            Ok(ptr) => Ok(SharedArray {
                ptr,
                len,
                name,
                owner: true,
                _marker: PhantomData,
            }),
            Err(error) => {
                unlink(&name);
                Err(error)
            }
        }
    }

    /// What to pass to a task so that it can [`SharedArrayHandle::open`] this array.
    pub fn handle(&self) -> SharedArrayHandle {
        SharedArrayHandle {
            name: self.name.clone(),
            len: self.len,
            code: T::CODE,
        }
    }

    /// Its length in elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn atomic(&self, index: usize) -> Result<&T::Atomic, OutOfBounds> {
        if index >= self.len {
            return Err(OutOfBounds {
                index,
                len: self.len,
            });
        }
        // SAFETY: `index < len` and the mapping holds `len` atomics, aligned (mmap returns a
        // page-aligned address), initialised (zero-filled by the kernel or stored by someone),
        // and valid until drop, which needs `&mut self`.
        Ok(unsafe { &*self.ptr.as_ptr().add(index) })
    }

    /// Element `index`.
    pub fn get(&self, index: usize) -> Result<T, OutOfBounds> {
        self.atomic(index).map(T::load)
    }

    /// Sets element `index`.
    pub fn set(&self, index: usize, value: T) -> Result<(), OutOfBounds> {
        self.atomic(index).map(|atomic| T::store(atomic, value))
    }

    /// Copies every element out.
    pub fn to_vec(&self) -> Vec<T> {
        (0..self.len)
            .filter_map(|index| self.get(index).ok())
            .collect()
    }

    /// Copies `values` in from index 0; refuses if they do not fit.
    pub fn copy_from_slice(&self, values: &[T]) -> Result<(), OutOfBounds> {
        if values.len() > self.len {
            return Err(OutOfBounds {
                index: values.len() - 1,
                len: self.len,
            });
        }
        for (index, value) in values.iter().enumerate() {
            self.set(index, *value)?;
        }
        Ok(())
    }
}

impl SharedArray<u64> {
    /// Adds `value` to element `index` atomically, across processes; returns the old value.
    pub fn fetch_add(&self, index: usize, value: u64) -> Result<u64, OutOfBounds> {
        self.atomic(index)
            .map(|atomic| atomic.fetch_add(value, Ordering::Relaxed))
    }
}

impl SharedArrayHandle {
    /// Opens the array this handle names (in a worker, usually).
    pub fn open<T: Element>(&self) -> Result<SharedArray<T>, SharedArrayError> {
        if self.code != T::CODE {
            return Err(SharedArrayError::Mismatch {
                name: self.name.clone(),
            });
        }
        let bytes = self
            .len
            .checked_mul(std::mem::size_of::<T::Atomic>())
            .ok_or(SharedArrayError::TooLarge)?;
        let fd = shm_open(&self.name, libc::O_RDWR)?;
        // SAFETY: an all-zero `stat` is a valid value for fstat to overwrite.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat fills `stat` for a descriptor we own.
        if unsafe { libc::fstat(fd.as_raw_fd(), &mut stat) } == -1 {
            return Err(SharedArrayError::Os(io::Error::last_os_error()));
        }
        if stat.st_size as u64 != bytes as u64 {
            return Err(SharedArrayError::Mismatch {
                name: self.name.clone(),
            });
        }
        let ptr = map::<T>(&fd, self.len, bytes)?;
        Ok(SharedArray {
            ptr,
            len: self.len,
            name: self.name.clone(),
            owner: false,
            _marker: PhantomData,
        })
    }
}

fn shm_open(name: &str, flags: libc::c_int) -> Result<OwnedFd, SharedArrayError> {
    let c_name = CString::new(name).map_err(|_| SharedArrayError::Mismatch {
        name: name.to_owned(),
    })?;
    // SAFETY: `c_name` is a valid NUL-terminated string for the call's duration.
    let fd = unsafe { libc::shm_open(c_name.as_ptr(), flags | libc::O_CLOEXEC, 0o600) };
    if fd == -1 {
        return Err(SharedArrayError::Os(io::Error::last_os_error()));
    }
    // SAFETY: shm_open succeeded, so `fd` is a new descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn unlink(name: &str) {
    if let Ok(c_name) = CString::new(name) {
        // SAFETY: `c_name` is a valid NUL-terminated string for the call's duration.
        unsafe {
            libc::shm_unlink(c_name.as_ptr());
        }
    }
}

/// Maps `bytes` bytes of `fd`, shared; a zero-length array gets a dangling, never-read pointer.
fn map<T: Element>(
    fd: &OwnedFd,
    len: usize,
    bytes: usize,
) -> Result<NonNull<T::Atomic>, SharedArrayError> {
    if len == 0 {
        return Ok(NonNull::dangling());
    }
    // SAFETY: a fresh shared mapping of `bytes` bytes of a descriptor we own; the kernel picks
    // the address, so no existing memory is affected.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd.as_raw_fd(),
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(SharedArrayError::Os(io::Error::last_os_error()));
    }
    NonNull::new(ptr.cast()).ok_or(SharedArrayError::TooLarge)
}

impl<T: Element> Drop for SharedArray<T> {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: unmaps exactly the mapping made in `map`; no reference into it outlives
            // `self` (every accessor borrows `self`).
            unsafe {
                libc::munmap(
                    self.ptr.as_ptr().cast(),
                    self.len * std::mem::size_of::<T::Atomic>(),
                );
            }
        }
        if self.owner {
            unlink(&self.name);
        }
    }
}
