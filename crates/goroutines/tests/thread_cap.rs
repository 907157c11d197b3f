//! Go caps its OS threads (`debug.SetMaxThreads`, 10,000): past the cap the program prints
//! `thread exhaustion` and exits with status 2. Here blocking calls each pin a thread, and sysmon
//! hands their P to new threads until the cap of 4 is hit. Runs in a child process (this binary
//! re-run for the one test, as rayon's tests/stack_overflow_crash.rs does).

use std::process::Command;
use std::time::Duration;

use goroutines::{blocking, go, Builder};

const CHILD_ENV: &str = "GOROUTINES_THREAD_CAP_CHILD";

#[test]
fn exceeding_the_thread_cap_exits_with_go_s_error() {
    if std::env::var_os(CHILD_ENV).is_some() {
        // SAFETY: the test holds no thread-locals or std guards across blocking calls.
        let rt = unsafe { Builder::new().procs(1).max_threads(4).build() }.unwrap();
        rt.run(|| {
            let calls: Vec<_> = (0..20)
                .map(|_| go(|| blocking(|| std::thread::sleep(Duration::from_secs(2)))))
                .collect();
            for c in calls {
                let _ = c.join();
            }
        });
        unreachable!("20 blocking calls need more than 4 threads");
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "exceeding_the_thread_cap_exits_with_go_s_error",
            "--nocapture",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(
        stderr.contains("runtime: program exceeds 4-thread limit"),
        "stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("fatal error: thread exhaustion"),
        "stderr:\n{stderr}"
    );
}
