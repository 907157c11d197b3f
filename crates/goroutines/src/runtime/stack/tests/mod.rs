//! Tests of goroutine stacks, one file per behaviour. Tests that must crash, or that count the
//! process's maps or resident memory exactly, re-run this test binary with [`CHILD_ENV`] set and
//! only their own test selected, the way rayon's `tests/stack_overflow_crash.rs` does.

mod coroutine;
mod guard;
mod maps;
mod overflow;
mod reuse;

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};

use super::StackPool;

/// Set in a child process to the mode the child runs in.
const CHILD_ENV: &str = "SCHEDLAB_STACK_TEST_CHILD";

/// The mode this process was started in, if it is a child.
fn child_mode() -> Option<String> {
    let mode = std::env::var(CHILD_ENV).ok()?;
    // A child that crashes on purpose should not leave a core file behind.
    let no_core = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `setrlimit` reads a valid `rlimit`.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &no_core) };
    Some(mode)
}

/// Runs the test `name` of module `module` (pass `module_path!()`) in a child process in `mode`.
fn run_child(module: &str, name: &str, mode: &str) -> Output {
    let (_crate_name, module) = module.split_once("::").expect("a module inside the crate");
    let test = format!("{module}::{name}");
    let output = Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([test.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, mode)
        .output()
        .expect("the test binary runs again");
    eprintln!(
        "child {test} ({mode}): {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The signal that killed the child, if one did.
fn killed_by(output: &Output) -> Option<i32> {
    output.status.signal()
}

/// A pool in a child `mode`: "guard-install" (the kernel's best) or "mprotect" (forced).
fn pool_for_mode(mode: &str, stack_size: usize) -> StackPool {
    match mode {
        "mprotect" => StackPool::with_mprotect_guards(stack_size),
        _ => StackPool::new(stack_size),
    }
}

/// Both guard methods, as child modes.
const MODES: [&str; 2] = ["guard-install", "mprotect"];

/// Lines of `/proc/self/maps`: one per VMA.
fn count_maps() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .expect("/proc/self/maps is readable")
        .lines()
        .count()
}

/// Resident memory of this process, in bytes, from `/proc/self/statm`.
fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm is readable");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .expect("statm's second field is the resident page count");
    pages * super::page_size()
}
