//! A goroutine that overflows its stack hits the guard page below it: the process prints
//! `goroutine N stack overflow` on stderr and dies by `SIGABRT`, as Go reports and dies. Run in a
//! child process: this binary re-run for the one test, as rayon's `tests/stack_overflow_crash.rs`
//! does.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use goroutines::{go, goroutine_id};

/// Set in a child process to the name of the test it runs as the child.
const CHILD_ENV: &str = "GOROUTINES_TEST_CHILD";

/// Recurses without end, with a 4 KiB frame that the optimiser may neither drop nor turn into a
/// loop (the array escapes through `black_box`, and work follows the call).
#[inline(never)]
#[allow(unconditional_recursion)] // The point of the test.
fn recurse(depth: u64) -> u64 {
    let mut frame = [0u8; 4096];
    frame[(depth % 4096) as usize] = depth as u8;
    let frame = std::hint::black_box(&frame);
    recurse(depth + 1).wrapping_add(u64::from(frame[0]))
}

/// No core file for the expected abort.
fn disable_core_dumps() {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit reads one valid rlimit struct.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) };
}

#[test]
fn stack_overflow_names_the_goroutine_and_aborts() {
    let name = "stack_overflow_names_the_goroutine_and_aborts";
    if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
        disable_core_dumps();
        // SAFETY: the test holds no thread-locals or std guards across blocking calls.
        let rt = unsafe { goroutines::Builder::new().procs(2).build() }.unwrap();
        rt.run(|| {
            go(|| {
                println!("overflowing goroutine {}", goroutine_id().unwrap());
                recurse(0)
            })
            .join()
        })
        .unwrap();
        unreachable!("the overflow aborts the process");
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--include-ignored"])
        .env(CHILD_ENV, name)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("overflowing goroutine "))
        .unwrap_or_else(|| panic!("the child did not start overflowing:\n{stdout}\n{stderr}"));
    let report = format!("goroutine {id} stack overflow");
    assert!(
        stderr.lines().any(|l| l.contains(&report)),
        "no {report:?} in stderr:\n{stderr}"
    );
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "{}; stderr:\n{stderr}",
        out.status
    );
}
