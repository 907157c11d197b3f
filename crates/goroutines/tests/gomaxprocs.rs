//! The number of Ps: `Builder::procs` sets it, and without it `Builder::new` honours the
//! `GOMAXPROCS` environment variable, as Go does; a malformed `GOMAXPROCS` is a `BuildError`, not
//! a panic. Environment checks run in child processes (this binary re-run for one test, as
//! rayon's `tests/stack_overflow_crash.rs` does), so that no test changes its own environment.

use std::process::Command;

use goroutines::{go, Builder};

/// Set in a child process to the name of the test it runs as the child.
const CHILD_ENV: &str = "GOROUTINES_TEST_CHILD";
/// In a child: the `procs()` expected, or `error` for a `BuildError`.
const EXPECT_ENV: &str = "GOROUTINES_TEST_EXPECT";

#[test]
fn procs_reports_what_the_builder_set() {
    for n in [1, 3] {
        // SAFETY: the test holds no thread-locals or std guards across blocking calls.
        let rt = unsafe { Builder::new().procs(n).build() }.unwrap();
        assert_eq!(rt.procs(), n);
        let sum: u64 = rt.run(|| {
            (0..10u64)
                .map(|i| go(move || i))
                .map(|h| h.join().unwrap())
                .sum()
        });
        assert_eq!(sum, 45);
    }
    // SAFETY: as above.
    let zero = unsafe { Builder::new().procs(0).build() };
    assert!(zero.is_err(), "procs(0) built a runtime");
}

/// Runs `test` in a child with `GOMAXPROCS` set to `value` (or unset) and the expectation set
/// to `expect`; asserts that the child's checks passed.
fn check_in_child(test: &str, gomaxprocs: Option<&str>, expect: &str) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--nocapture", "--include-ignored"])
        .env(CHILD_ENV, test)
        .env(EXPECT_ENV, expect);
    match gomaxprocs {
        Some(v) => cmd.env("GOMAXPROCS", v),
        None => cmd.env_remove("GOMAXPROCS"),
    };
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "GOMAXPROCS={gomaxprocs:?}, expected {expect}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// In a child: builds with `Builder::new()` and checks the outcome against `GOROUTINES_TEST_EXPECT`.
fn child_checks() {
    let expect = std::env::var(EXPECT_ENV).unwrap();
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    let built = unsafe { Builder::new().build() };
    match expect.as_str() {
        "error" => {
            let e = built.expect_err("a malformed GOMAXPROCS built a runtime");
            assert!(
                e.to_string().contains("GOMAXPROCS"),
                "error names the variable: {e}"
            );
        }
        "default" => {
            let rt = built.unwrap();
            assert!(rt.procs() >= 1);
            assert_eq!(rt.run(|| go(|| 7).join().unwrap()), 7);
        }
        n => {
            let rt = built.unwrap();
            assert_eq!(rt.procs(), n.parse::<usize>().unwrap());
            assert_eq!(rt.run(|| go(|| 7).join().unwrap()), 7);
        }
    }
    // An explicit number of Ps wins over the environment, malformed or not.
    // SAFETY: as above.
    let explicit = unsafe { Builder::new().procs(2).build() }.unwrap();
    assert_eq!(explicit.procs(), 2);
}

#[test]
fn gomaxprocs_sets_the_default_number_of_ps() {
    let name = "gomaxprocs_sets_the_default_number_of_ps";
    if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
        return child_checks();
    }
    check_in_child(name, Some("3"), "3");
    check_in_child(name, Some("1"), "1");
    // Unset or empty: the number of usable cores.
    check_in_child(name, None, "default");
    check_in_child(name, Some(""), "default");
}

#[test]
fn malformed_gomaxprocs_is_a_build_error() {
    let name = "malformed_gomaxprocs_is_a_build_error";
    if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
        return child_checks();
    }
    for value in ["abc", "0", "-1", "2.5", "3x"] {
        check_in_child(name, Some(value), "error");
    }
}
