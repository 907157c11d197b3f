//! What the procpool runners need from the OS: pinning this process to one CPU, and the memory
//! of its child processes.

use std::fs;
use std::io;

/// Pins this process (and the children it forks from now on) to CPU 0, so that two processes
/// can only take turns: what is then measured is the OS scheduler's preemption, not the second
/// core.
pub fn pin_to_one_cpu() -> io::Result<()> {
    // SAFETY: an all-zero cpu_set_t is the empty set; CPU_SET writes bit 0 of the local set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid cpu_set_t and 0 is below CPU_SETSIZE.
    unsafe { libc::CPU_SET(0, &mut set) };
    // SAFETY: pid 0 is this thread; `set` lives across the call and its size is passed.
    let done = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if done == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The proportional set size (`Pss:` of `/proc/<pid>/smaps_rollup`, in bytes) of each live child
/// of this process: its private memory plus its share of the pages it shares (after fork, most
/// of them), so that the sum over processes is what they really take.
pub fn children_pss() -> io::Result<Vec<u64>> {
    let mut sizes = Vec::new();
    for pid in probe::threads::child_processes()? {
        // A child may exit between the listing and the read: it then takes nothing.
        let Ok(rollup) = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) else {
            continue;
        };
        let pss_kib = rollup.lines().find_map(|line| {
            let rest = line.strip_prefix("Pss:")?;
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        });
        if let Some(kib) = pss_kib {
            sizes.push(kib * 1024);
        }
    }
    Ok(sizes)
}

/// `CLOCK_MONOTONIC` in nanoseconds: one clock for every process on the machine, so times taken
/// in workers and in the parent compare.
pub fn monotonic_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only `now`, a valid timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    (now.tv_sec as u64) * 1_000_000_000 + now.tv_nsec as u64
}
