//! The arena: chunks of slots, each slot carved once and guarded once, and the error it reports.

use std::error::Error;
use std::fmt;
use std::io;
use std::ptr;
use std::sync::atomic::{AtomicU8, Ordering};

use corosensei::stack::{StackPointer, STACK_ALIGNMENT};

use super::{page_size, GStack, MAX_STACK_SIZE, MIN_STACK_SIZE};

/// `madvise` advice that installs guard markers (Linux 6.13, `include/uapi/asm-generic/mman-common.h`).
/// libc 0.2.191 does not define it yet.
#[cfg(target_os = "linux")]
const MADV_GUARD_INSTALL: libc::c_int = 102;

/// Slots per chunk. With the default 256 KiB stacks a chunk is 65 MiB of address space, and a
/// million stacks take 3,907 chunks: far below `vm.max_map_count` even if none of them merge.
const SLOTS_PER_CHUNK: usize = 256;

/// Chunks of very large stacks hold fewer slots, so that one chunk never reserves more than this.
const MAX_CHUNK_BYTES: usize = 1 << 30;

const PATH_MAX_MAP_COUNT: &str = "/proc/sys/vm/max_map_count";

/// How a slot's guard page is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GuardMethod {
    /// `madvise(MADV_GUARD_INSTALL)`: a page table marker; the mapping is not split.
    GuardInstall,
    /// `mprotect(PROT_NONE)`: splits the mapping, two VMAs per stack.
    Mprotect,
}

/// What the process has learnt about `MADV_GUARD_INSTALL`: one of the three constants below.
static GUARD_SUPPORT: AtomicU8 = AtomicU8::new(SUPPORT_UNKNOWN);
const SUPPORT_UNKNOWN: u8 = 0;
const SUPPORT_GUARD_INSTALL: u8 = 1;
const SUPPORT_MPROTECT_ONLY: u8 = 2;

/// One `mmap`ed chunk.
#[derive(Debug)]
struct Chunk {
    start: usize,
    len: usize,
}

/// The slots carved so far and the chunk the next one comes from.
#[derive(Debug)]
pub(super) struct Arena {
    page: usize,
    /// Guard page plus usable size.
    slot_size: usize,
    slots_per_chunk: usize,
    /// `None`: the kernel's best (detected once per process). Tests force `Mprotect`.
    forced_method: Option<GuardMethod>,
    /// The method of the last guard installed, for reports.
    method: Option<GuardMethod>,
    chunks: Vec<Chunk>,
    /// Start of the chunk slots are carved from (the last one mapped).
    chunk_start: usize,
    /// Index of the next slot in that chunk; `slots_per_chunk` when a new chunk is needed.
    next_slot: usize,
    /// Slots handed out as `GStack`s since the arena was created.
    carved: usize,
    /// Whether every slot of the current chunk already has its guard (installed in one batch).
    chunk_guarded: bool,
}

impl Arena {
    /// An empty arena for stacks of at least `stack_size` usable bytes (rounded up to whole pages,
    /// at least `MIN_STACK_SIZE`, at most `MAX_STACK_SIZE`). Maps nothing yet.
    pub(super) fn new(stack_size: usize, forced_method: Option<GuardMethod>) -> Arena {
        let page = page_size();
        assert!(
            page % STACK_ALIGNMENT == 0,
            "page size below stack alignment"
        );
        let usable = stack_size
            .clamp(MIN_STACK_SIZE, MAX_STACK_SIZE)
            .next_multiple_of(page);
        let slot_size = page + usable;
        let slots_per_chunk = (MAX_CHUNK_BYTES / slot_size).clamp(1, SLOTS_PER_CHUNK);
        Arena {
            page,
            slot_size,
            slots_per_chunk,
            forced_method,
            method: None,
            chunks: Vec::new(),
            chunk_start: 0,
            next_slot: slots_per_chunk,
            carved: 0,
            chunk_guarded: false,
        }
    }

    /// Usable bytes of every stack this arena carves.
    #[cfg(test)]
    pub(super) fn stack_size(&self) -> usize {
        self.slot_size - self.page
    }

    #[cfg(test)]
    pub(super) fn guard_method(&self) -> Option<GuardMethod> {
        self.method
    }

    /// Carves the next slot: maps a chunk if the last one is used up, then guards the slot.
    #[cold]
    pub(super) fn carve(&mut self) -> Result<GStack, StackError> {
        if self.next_slot == self.slots_per_chunk {
            self.map_chunk()?;
        }
        let limit = self.chunk_start + self.next_slot * self.slot_size;
        // A failure leaves `next_slot` where it was: the unguarded slot is never handed out, and
        // the next attempt retries it.
        if self.chunk_guarded {
            self.method = Some(GuardMethod::GuardInstall);
        } else {
            // SAFETY: `limit` is the page-aligned start of an uncarved slot of a chunk this arena
            // mapped read-write; no `GStack` covers it yet.
            self.method = Some(unsafe { guard_page(limit, self.page, self.forced_method) }?);
        }
        self.next_slot += 1;
        self.carved += 1;
        let base = limit + self.slot_size;
        Ok(GStack {
            limit: StackPointer::new(limit).expect("mmap never returns address 0"),
            base: StackPointer::new(base).expect("a slot ends above its start"),
        })
    }

    fn map_chunk(&mut self) -> Result<(), StackError> {
        let len = self.slots_per_chunk * self.slot_size;
        // SAFETY: a fresh anonymous private mapping at an address the kernel chooses; it aliases
        // nothing. `MAP_NORESERVE`: no swap is reserved, pages are allocated on first touch.
        let start = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if start == libc::MAP_FAILED {
            return Err(StackError::from_os("mmap", io::Error::last_os_error()));
        }
        // Best effort: keep transparent huge pages out, so touching one stack never faults 2 MiB.
        // It fails only where THP is not built in, which is what it asks for anyway.
        #[cfg(target_os = "linux")]
        // SAFETY: the range is the mapping just created, which nothing else uses yet.
        unsafe {
            libc::madvise(start, len, libc::MADV_NOHUGEPAGE);
        }
        self.chunk_start = start as usize;
        self.chunk_guarded = self.forced_method.is_none()
            && GUARD_SUPPORT.load(Ordering::Relaxed) != SUPPORT_MPROTECT_ONLY
            // SAFETY: the chunk was just mapped read-write, private and anonymous, and holds
            // nothing anyone reads.
            && unsafe { guard_chunk(self.chunk_start, self.slots_per_chunk, self.slot_size, self.page) };
        self.chunks.push(Chunk {
            start: self.chunk_start,
            len,
        });
        self.next_slot = 0;
        Ok(())
    }

    /// Unmaps every chunk if every carved slot is among `free` (the pool's free stacks).
    /// Otherwise some `GStack` is still out, possibly under a suspended coroutine, and the chunks
    /// are deliberately leaked.
    pub(super) fn unmap_if_all_free<'a>(&mut self, free: impl Iterator<Item = &'a GStack>) {
        self.chunks.sort_unstable_by_key(|chunk| chunk.start);
        let chunks = &self.chunks;
        let owned = |stack: &GStack| {
            let limit = stack.limit.get();
            let after = chunks.partition_point(|chunk| chunk.start <= limit);
            after > 0 && limit < chunks[after - 1].start + chunks[after - 1].len
        };
        // Each slot is owned by at most one `GStack`, so counting ours among `free` counts slots.
        if free.filter(|stack| owned(stack)).count() != self.carved {
            return;
        }
        for chunk in self.chunks.drain(..) {
            // SAFETY: the chunk is a mapping this arena made, and every slot in it was either never
            // carved or is held in the pool's free lists, which are dropped with the pool without
            // touching their memory. No coroutine runs on any of them.
            let result = unsafe { libc::munmap(chunk.start as *mut libc::c_void, chunk.len) };
            debug_assert_eq!(result, 0, "munmap of a stack chunk failed");
        }
    }
}

/// Makes the page at `addr` a guard page, by `MADV_GUARD_INSTALL` where the kernel has it (detected
/// on the first call in the process), else by `mprotect`, or by `mprotect` when `forced` says so.
///
/// # Safety
///
/// `addr` is page aligned, and `[addr, addr + page)` lies in a private anonymous read-write
/// mapping the caller owns, holding nothing anyone will read: its contents are discarded.
pub(super) unsafe fn guard_page(
    addr: usize,
    page: usize,
    forced: Option<GuardMethod>,
) -> Result<GuardMethod, StackError> {
    let support = GUARD_SUPPORT.load(Ordering::Relaxed);
    if forced != Some(GuardMethod::Mprotect) && support != SUPPORT_MPROTECT_ONLY {
        // SAFETY: the caller's contract is `guard_install`'s.
        match unsafe { guard_install(addr, page) } {
            Ok(()) => {
                if support == SUPPORT_UNKNOWN {
                    GUARD_SUPPORT.store(SUPPORT_GUARD_INSTALL, Ordering::Relaxed);
                }
                return Ok(GuardMethod::GuardInstall);
            }
            Err(error) if error.raw_os_error() == Some(libc::EINVAL) => {
                GUARD_SUPPORT.store(SUPPORT_MPROTECT_ONLY, Ordering::Relaxed);
            }
            Err(error) => return Err(StackError::from_os("madvise(MADV_GUARD_INSTALL)", error)),
        }
    }
    // SAFETY: per the caller's contract the page lies in a mapping the caller owns and holds
    // nothing anyone reads; revoking access to it affects nothing else.
    if unsafe { libc::mprotect(addr as *mut libc::c_void, page, libc::PROT_NONE) } != 0 {
        return Err(StackError::from_os("mprotect", io::Error::last_os_error()));
    }
    Ok(GuardMethod::Mprotect)
}

/// Installs the guards of every slot of a chunk with one `process_madvise` call per 1,024 slots
/// (the kernel takes any advice for the calling process since Linux 6.13), instead of one
/// `madvise` per slot: a fresh stack then costs no system call at all. Returns false when the
/// kernel refuses; the slots are then guarded one by one as they are carved (installing a guard
/// twice is harmless).
///
/// # Safety
///
/// `[start, start + slots * slot_size)` is a private anonymous read-write mapping the caller owns
/// and holds nothing anyone reads.
#[cfg(target_os = "linux")]
unsafe fn guard_chunk(start: usize, slots: usize, slot_size: usize, page: usize) -> bool {
    let ranges: Vec<(usize, usize)> = (0..slots).map(|i| (start + i * slot_size, page)).collect();
    // SAFETY: every range is the guard page of a slot of the caller's chunk (see the contract);
    // the advice replaces its contents, which nobody reads, with a faulting marker.
    if !unsafe { madvise_ranges(&ranges, MADV_GUARD_INSTALL) } {
        return false;
    }
    if GUARD_SUPPORT.load(Ordering::Relaxed) == SUPPORT_UNKNOWN {
        GUARD_SUPPORT.store(SUPPORT_GUARD_INSTALL, Ordering::Relaxed);
    }
    true
}

/// `madvise(advice)` on many ranges of this process with one `process_madvise` call per 1,024
/// ranges. Returns false if the kernel refused or advised only part (some ranges may then have
/// been advised: callers use only advice that is harmless to repeat).
///
/// # Safety
///
/// The advice must be sound for every range, as for `madvise` itself.
#[cfg(target_os = "linux")]
pub(super) unsafe fn madvise_ranges(ranges: &[(usize, usize)], advice: libc::c_int) -> bool {
    use std::sync::OnceLock;
    /// Linux's UIO_MAXIOV: the most ranges one call takes.
    const MAX_IOV: usize = 1024;
    static PIDFD: OnceLock<libc::c_int> = OnceLock::new();
    let pidfd = *PIDFD.get_or_init(|| {
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) as libc::c_int }
    });
    if pidfd < 0 {
        return false;
    }
    let iov: Vec<libc::iovec> = ranges
        .iter()
        .map(|&(start, len)| libc::iovec {
            iov_base: start as *mut libc::c_void,
            iov_len: len,
        })
        .collect();
    for batch in iov.chunks(MAX_IOV) {
        let total: usize = batch.iter().map(|v| v.iov_len).sum();
        // SAFETY: the ranges and the advice are sound per the caller's contract; the kernel only
        // reads the iovec array, which lives until the call returns.
        let advised = unsafe {
            libc::syscall(
                libc::SYS_process_madvise,
                pidfd,
                batch.as_ptr(),
                batch.len(),
                advice,
                0,
            )
        };
        if advised != total as libc::c_long {
            return false;
        }
    }
    true
}

#[cfg(not(target_os = "linux"))]
pub(super) unsafe fn madvise_ranges(_ranges: &[(usize, usize)], _advice: libc::c_int) -> bool {
    false
}

#[cfg(not(target_os = "linux"))]
unsafe fn guard_chunk(_start: usize, _slots: usize, _slot_size: usize, _page: usize) -> bool {
    false
}

/// `madvise(MADV_GUARD_INSTALL)` on one page.
///
/// # Safety
///
/// As for [`guard_page`].
#[cfg(target_os = "linux")]
unsafe fn guard_install(addr: usize, page: usize) -> io::Result<()> {
    loop {
        // SAFETY: the page lies in a private anonymous mapping the caller owns (see `guard_page`);
        // the advice replaces its contents, which nobody reads, with a faulting marker.
        if unsafe { libc::madvise(addr as *mut libc::c_void, page, MADV_GUARD_INSTALL) } == 0 {
            return Ok(());
        }
        let error = io::Error::last_os_error();
        // The kernel returns EINTR when a signal is pending and EAGAIN on a racing page fault.
        if !matches!(error.raw_os_error(), Some(libc::EINTR | libc::EAGAIN)) {
            return Err(error);
        }
    }
}

/// No other kernel has guard markers.
///
/// # Safety
///
/// None needed; the signature matches the Linux version.
#[cfg(not(target_os = "linux"))]
unsafe fn guard_install(_addr: usize, _page: usize) -> io::Result<()> {
    Err(io::Error::from_raw_os_error(libc::EINVAL))
}

/// A goroutine stack could not be allocated.
///
/// When the kernel's limit on memory mappings is the cause, the message names
/// `vm.max_map_count`, its current value, and the `sysctl` that raises it.
#[derive(Debug)]
pub struct StackError {
    kind: StackErrorKind,
}

#[derive(Debug)]
enum StackErrorKind {
    /// `ENOMEM` with the process at `vm.max_map_count` maps (`None`: the limit was unreadable).
    MapCountLimit { max_map_count: Option<u64> },
    /// Any other failure of a system call.
    Os {
        call: &'static str,
        error: io::Error,
    },
}

impl StackError {
    fn from_os(call: &'static str, error: io::Error) -> StackError {
        let kind = if error.raw_os_error() == Some(libc::ENOMEM) && at_map_count_limit(call) {
            StackErrorKind::MapCountLimit {
                max_map_count: read_max_map_count(),
            }
        } else {
            StackErrorKind::Os { call, error }
        };
        StackError { kind }
    }

    /// Whether the kernel's map count limit caused this error.
    pub fn is_map_count_limit(&self) -> bool {
        matches!(self.kind, StackErrorKind::MapCountLimit { .. })
    }
}

/// `mprotect` fails with `ENOMEM` only when a split would pass the map limit (or the range is not
/// mapped, which cannot happen here). `mmap`'s `ENOMEM` may also be a lack of address space or an
/// `RLIMIT_AS`, so for it the maps are counted.
fn at_map_count_limit(call: &str) -> bool {
    if call == "mprotect" {
        return true;
    }
    let (Some(max), Ok(maps)) = (
        read_max_map_count(),
        std::fs::read_to_string("/proc/self/maps"),
    ) else {
        return false;
    };
    // Some slack: reading the files may itself have added a few maps or freed some.
    maps.lines().count() as u64 + 64 >= max
}

fn read_max_map_count() -> Option<u64> {
    std::fs::read_to_string(PATH_MAX_MAP_COUNT)
        .ok()?
        .trim()
        .parse()
        .ok()
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot allocate goroutine stack: ")?;
        match &self.kind {
            StackErrorKind::MapCountLimit {
                max_map_count: Some(max),
            } => write!(
                f,
                "the kernel's limit on memory mappings was reached (vm.max_map_count = {max}, read \
                 from {PATH_MAX_MAP_COUNT}); raise it with `sysctl vm.max_map_count={}` (with \
                 mprotect guards, as before Linux 6.13, each stack takes 2 mappings)",
                max.saturating_mul(4),
            ),
            StackErrorKind::MapCountLimit {
                max_map_count: None,
            } => write!(
                f,
                "the kernel's limit on memory mappings was reached (vm.max_map_count, which could \
                 not be read from {PATH_MAX_MAP_COUNT}); raise it with `sysctl vm.max_map_count=...`",
            ),
            StackErrorKind::Os { call, error } => write!(f, "{call} failed: {error}"),
        }
    }
}

impl Error for StackError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.kind {
            StackErrorKind::MapCountLimit { .. } => None,
            StackErrorKind::Os { error, .. } => Some(error),
        }
    }
}
