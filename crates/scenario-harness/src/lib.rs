//! A test binary's `main` for scenarios that must run on a process's main thread (`harness =
//! false` in the test's `[[test]]` section): [`scenarios_main`] speaks the part of libtest's
//! command line that cargo and nextest use (`--list`, `--exact NAME`, name filters) and, in a
//! child process (the binary re-run with `child_env` set to a scenario's name), runs that
//! scenario's child side, as rayon's `tests/stack_overflow_crash.rs` re-runs its own binary.
//!
//! Who uses it, and why without libtest:
//! - goroutines' `tests/deadlock.rs` and `tests/signal_deadlock.rs`: libtest's main thread,
//!   waiting for the test threads, would be a thread the deadlock check must count;
//! - asyncio-loop's `tests/signals.rs`: signal dispositions are process-wide, and CPython (so
//!   that crate) handles signals only on the main thread, where libtest runs no test.
//!
//! Why a crate of its own (a dev-dependency only, never published): the same `main` was once
//! copied into each crate's tests, and a `#[path]` include of one crate's test folder from
//! another would tie two crates' tests together where neither's Cargo.toml says so. A
//! dev-dependency says it, builds once, and falls under the workspace's lints like any crate.
//!
//! A scenario has two sides, the parent's (run as cargo or nextest start the binary; it usually
//! re-runs the binary as a child and checks how the child ended) and the child's. The crates
//! write them in two shapes, both [`Scenario`]s:
//!
//! ```text
//!   ScenarioFn   (name, fn(bool))          one function; its argument: true on the child's side
//!   ScenarioPair (name, parent_fn, child_fn)
//! ```

/// A named scenario with a parent's side and a child's side.
pub trait Scenario {
    /// Its name, as `--list` prints it and `--exact` and the child's env var match it.
    fn name(&self) -> &'static str;
    /// The side the test binary runs as cargo or nextest started it.
    fn run_parent(&self);
    /// The side a child process runs (the binary re-run with the env var naming the scenario).
    fn run_child(&self);
}

/// A scenario as one function for both sides: true, the child's; false, the parent's, which
/// runs a child and checks it (goroutines' tests).
pub type ScenarioFn = (&'static str, fn(bool));

/// A scenario as (name, parent side, child side) (asyncio-loop's tests).
pub type ScenarioPair = (&'static str, fn(), fn());

impl Scenario for ScenarioFn {
    fn name(&self) -> &'static str {
        self.0
    }

    fn run_parent(&self) {
        (self.1)(false);
    }

    fn run_child(&self) {
        (self.1)(true);
    }
}

impl Scenario for ScenarioPair {
    fn name(&self) -> &'static str {
        self.0
    }

    fn run_parent(&self) {
        (self.1)();
    }

    fn run_child(&self) {
        (self.2)();
    }
}

/// Runs the scenarios as libtest would, or the child side of the one `child_env` names.
pub fn scenarios_main<S: Scenario + std::panic::RefUnwindSafe>(child_env: &str, tests: &[S]) {
    if let Ok(name) = std::env::var(child_env) {
        match tests.iter().find(|test| test.name() == name) {
            Some(test) => test.run_child(),
            None => panic!("no scenario {name}"),
        }
        return;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    // Name filters: the arguments that are neither flags nor the values of libtest's options.
    const WITH_VALUE: &[&str] = &[
        "--format",
        "--logfile",
        "--test-threads",
        "--skip",
        "--color",
        "-Z",
    ];
    let mut filters: Vec<&String> = Vec::new();
    let mut args_iter = args.iter();
    while let Some(a) = args_iter.next() {
        if WITH_VALUE.contains(&a.as_str()) {
            args_iter.next();
        } else if !a.starts_with('-') {
            filters.push(a);
        }
    }
    let selected = |name: &str| {
        filters.is_empty()
            || filters.iter().any(|f| {
                if flag("--exact") {
                    name == *f
                } else {
                    name.contains(f.as_str())
                }
            })
    };
    if flag("--list") {
        // No scenario is ignored, so the `--ignored` listing is empty.
        if !flag("--ignored") {
            for test in tests.iter().filter(|test| selected(test.name())) {
                println!("{}: test", test.name());
            }
        }
        return;
    }
    let (mut passed, mut failed) = (0, 0);
    for test in tests.iter().filter(|test| selected(test.name())) {
        let name = test.name();
        let ok = std::panic::catch_unwind(|| test.run_parent()).is_ok();
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    let filtered = tests.len() - passed - failed;
    let verdict = if failed == 0 { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {passed} passed; {failed} failed; 0 ignored; 0 measured; {filtered} filtered out"
    );
    if failed > 0 {
        std::process::exit(101);
    }
}
