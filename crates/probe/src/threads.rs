//! Thread, process and memory counts of this process, read from `/proc` (Linux).
//!
//! The lab reports these beside every timing: how many OS threads a model really used, how many
//! worker processes it forked, how much memory it touched. Each function reads the kernel's own
//! accounting at the moment it is called:
//!
//! | function                   | source                                                       |
//! | -------------------------- | ------------------------------------------------------------ |
//! | [`os_threads`]             | `Threads:` in `/proc/self/status`                            |
//! | [`rss_bytes`]              | `VmRSS:` in `/proc/self/status`                              |
//! | [`peak_rss_bytes`]         | `VmHWM:` in `/proc/self/status` (the resident high-water mark) |
//! | [`descendant_processes`]   | the parent links in `/proc/<pid>/stat` of every process      |
//! | [`child_processes`]        | the same links: the pids of this process's own children      |
//! | [`available_parallelism`]  | `std`, capped by cgroup v2 `cpu.max` along our cgroup's path |
//!
//! Where `/proc` is missing (not Linux) or unreadable, the functions return the `io::Error`; none
//! panics. A malformed line is `ErrorKind::InvalidData`, a missing one `ErrorKind::NotFound`.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// The number of OS threads in this process, main thread included.
pub fn os_threads() -> io::Result<usize> {
    let count = self_status_number("Threads")?;
    usize::try_from(count).map_err(|_| invalid_data("Threads count does not fit in usize"))
}

/// The resident set size of this process now, in bytes.
pub fn rss_bytes() -> io::Result<u64> {
    self_status_kibibytes("VmRSS")
}

/// The largest resident set size this process has had, in bytes.
pub fn peak_rss_bytes() -> io::Result<u64> {
    self_status_kibibytes("VmHWM")
}

/// The number of live processes descended from this one: children, their children, and so on.
///
/// A process whose parent exited is reparented (to init or a subreaper) and is no longer counted.
/// Threads are not processes and are not counted. Processes that exit during the scan are
/// skipped.
pub fn descendant_processes() -> io::Result<usize> {
    let mut children = children_by_parent()?;
    let mut count = 0;
    let mut unvisited = vec![std::process::id()];
    while let Some(pid) = unvisited.pop() {
        if let Some(direct) = children.remove(&pid) {
            count += direct.len();
            unvisited.extend(direct);
        }
    }
    Ok(count)
}

/// The live processes whose parent is this process (not their children), by pid.
pub fn child_processes() -> io::Result<Vec<u32>> {
    Ok(children_by_parent()?
        .remove(&std::process::id())
        .unwrap_or_default())
}

/// Every live process's children, from the parent links in `/proc/<pid>/stat`. A process that
/// exits during the scan is skipped.
fn children_by_parent() -> io::Result<HashMap<u32, Vec<u32>>> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in fs::read_dir("/proc")? {
        let entry = entry?;
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse().ok())
        else {
            continue;
        };
        // A process may exit between the listing and the read; it is then no descendant.
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some(parent) = parent_pid_from_stat(&stat) {
            children.entry(parent).or_default().push(pid);
        }
    }
    Ok(children)
}

/// How many threads can usefully run at once: [`std::thread::available_parallelism`], capped by
/// the cgroup v2 CPU quota (`cpu.max`) of this process's cgroup and its ancestors; at least 1.
///
/// A quota of `200000 100000` (two CPUs' worth of time per period) caps at 2, `150000 100000` at
/// 2 (rounded up), `max 100000` not at all.
pub fn available_parallelism() -> usize {
    let online = std::thread::available_parallelism().map_or(1, usize::from);
    let quota = cgroup_cpu_quota().unwrap_or(usize::MAX);
    online.min(quota).max(1)
}

/// The tightest `cpu.max` quota from our cgroup up to the cgroup v2 root, if any is set.
fn cgroup_cpu_quota() -> Option<usize> {
    let membership = fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cgroup_v2_path(&membership)?;
    // A path with `..` lies outside our cgroup namespace and is not under the mount; skip it.
    let relative = Path::new(path.trim_start_matches('/'));
    if relative
        .components()
        .any(|part| !matches!(part, Component::Normal(_)))
    {
        return None;
    }
    let root = Path::new("/sys/fs/cgroup");
    let mut directory = PathBuf::from(root).join(relative);
    let mut tightest: Option<usize> = None;
    loop {
        if let Ok(text) = fs::read_to_string(directory.join("cpu.max")) {
            if let Some(quota) = cpus_from_cpu_max(&text) {
                tightest = Some(tightest.map_or(quota, |other| other.min(quota)));
            }
        }
        if directory == root || !directory.pop() {
            return tightest;
        }
    }
}

/// The cgroup v2 path in `/proc/self/cgroup` text: the line `0::<path>`.
fn cgroup_v2_path(membership: &str) -> Option<&str> {
    membership
        .lines()
        .find_map(|line| line.strip_prefix("0::"))
        .map(str::trim)
}

/// The CPUs a `cpu.max` quota allows, rounded up: `"$QUOTA $PERIOD"`, or `None` for `max`.
fn cpus_from_cpu_max(text: &str) -> Option<usize> {
    let mut fields = text.split_whitespace();
    let quota: u64 = fields.next()?.parse().ok()?;
    let period: u64 = fields.next()?.parse().ok()?;
    if period == 0 {
        return None;
    }
    usize::try_from(quota.div_ceil(period)).ok()
}

/// The parent pid in a `/proc/<pid>/stat` line: `pid (comm) state ppid ...`.
///
/// `comm` may hold spaces and parentheses, so the fields are read after the last `)`.
fn parent_pid_from_stat(stat: &str) -> Option<u32> {
    let (_, after_comm) = stat.rsplit_once(')')?;
    let mut fields = after_comm.split_whitespace();
    let _state = fields.next()?;
    fields.next()?.parse().ok()
}

/// The number after `<key>:` in `/proc/self/status`.
fn self_status_number(key: &str) -> io::Result<u64> {
    let status = fs::read_to_string("/proc/self/status")?;
    status_number(&status, key)
}

/// A `kB` figure of `/proc/self/status`, in bytes.
fn self_status_kibibytes(key: &str) -> io::Result<u64> {
    self_status_number(key)?
        .checked_mul(1024)
        .ok_or_else(|| invalid_data("memory figure overflows u64 bytes"))
}

fn status_number(status: &str, key: &str) -> io::Result<u64> {
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no {key} line")))?;
    let value = line.split_whitespace().next().unwrap_or("");
    value
        .parse()
        .map_err(|_| invalid_data(format!("{key} is not a number: {value:?}")))
}

fn invalid_data(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

#[cfg(test)]
mod tests {
    use super::{cgroup_v2_path, cpus_from_cpu_max, parent_pid_from_stat, status_number};

    #[test]
    fn parent_pid_is_read_after_the_last_parenthesis() {
        let plain = "4242 (cat) S 17 4242 17 0 -1 4194304";
        let tricky = "4243 (a) b (c)) R 18 4243 18 0 -1";
        assert_eq!(parent_pid_from_stat(plain), Some(17));
        assert_eq!(parent_pid_from_stat(tricky), Some(18));
        assert_eq!(parent_pid_from_stat("4244 (truncated"), None);
        assert_eq!(parent_pid_from_stat("4245 (cut) S"), None);
    }

    #[test]
    fn cpu_max_rounds_the_quota_up() {
        assert_eq!(cpus_from_cpu_max("max 100000\n"), None);
        assert_eq!(cpus_from_cpu_max("200000 100000\n"), Some(2));
        assert_eq!(cpus_from_cpu_max("150000 100000"), Some(2));
        assert_eq!(cpus_from_cpu_max("50000 100000"), Some(1));
        assert_eq!(cpus_from_cpu_max("100000 0"), None);
        assert_eq!(cpus_from_cpu_max(""), None);
    }

    #[test]
    fn cgroup_v2_path_is_the_zero_line() {
        let hybrid = "1:cpu:/\n0::/user.slice/session-3.scope\n";
        assert_eq!(cgroup_v2_path(hybrid), Some("/user.slice/session-3.scope"));
        assert_eq!(cgroup_v2_path("4:memory:/x\n1:cpu:/\n"), None);
    }

    #[test]
    fn status_numbers_are_found_by_key() {
        let status = "Name:\tprobe\nVmHWM:\t   5120 kB\nVmRSS:\t   4096 kB\nThreads:\t3\n";
        assert_eq!(status_number(status, "Threads").unwrap(), 3);
        assert_eq!(status_number(status, "VmHWM").unwrap(), 5120);
        assert_eq!(
            status_number(status, "VmSwap").unwrap_err().kind(),
            std::io::ErrorKind::NotFound
        );
        assert_eq!(
            status_number("Threads:\tmany\n", "Threads")
                .unwrap_err()
                .kind(),
            std::io::ErrorKind::InvalidData
        );
    }
}
