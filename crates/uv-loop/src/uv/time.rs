//! The loop's clock: libuv's `uv__hrtime(UV_CLOCK_FAST)`.
//!
//! libuv caches the time in `loop->time` (milliseconds) and reads the clock only in
//! `uv__update_time`: once per iteration, after poll, and when Node asks (`getLibuvNow`). Its
//! fast clock is `CLOCK_MONOTONIC_COARSE` when that clock's resolution is 1 ms or finer, else
//! `CLOCK_MONOTONIC` (src/unix/linux.c `uv__hrtime`); this module makes the same choice once.

use std::sync::OnceLock;

/// Milliseconds on the fast monotonic clock.
pub(crate) fn now_ms() -> u64 {
    now_ns(fast_clock()) / 1_000_000
}

fn now_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; clock_gettime writes only into it.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn fast_clock() -> libc::clockid_t {
    static CLOCK: OnceLock<libc::clockid_t> = OnceLock::new();
    *CLOCK.get_or_init(|| {
        let mut res = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `res` is a valid, writable timespec; clock_getres writes only into it.
        let rc = unsafe { libc::clock_getres(libc::CLOCK_MONOTONIC_COARSE, &mut res) };
        if rc == 0 && res.tv_sec == 0 && res.tv_nsec <= 1_000_000 {
            libc::CLOCK_MONOTONIC_COARSE
        } else {
            libc::CLOCK_MONOTONIC
        }
    })
}
