//! The default chunksize of `Pool.map` (pool.py, `_map_async`).
//!
//! ```python
//! if chunksize is None:
//!     chunksize, extra = divmod(len(iterable), len(self._pool) * 4)
//!     if extra:
//!         chunksize += 1
//! if len(iterable) == 0:
//!     chunksize = 0
//! ```
//!
//! Four chunks per worker, rounded up: Pool(4) over 100 items gives divmod(100, 16) = (6, 4),
//! so 7 (recorded from CPython in `tests/fixtures/map_chunksize.txt`).

/// The chunksize `Pool.map` uses for `len` items on `workers` workers when none is given.
pub fn default_chunksize(len: usize, workers: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let per = workers.max(1) * 4;
    let (chunksize, extra) = (len / per, len % per);
    if extra > 0 {
        chunksize + 1
    } else {
        chunksize
    }
}
