//! A test binary's `main` for scenarios that must run on a process's main thread (`harness =
//! false` in Cargo.toml): it speaks the part of libtest's command line that cargo and nextest
//! use (`--list`, `--exact NAME`, name filters) and, in a child process (`child_env` set to a
//! scenario's name), runs that scenario's child side. Each scenario is a `fn(bool)`: true, the
//! child side; false, the parent side that runs a child and checks it.
//!
//! Shared by tests/deadlock.rs and tests/signal_deadlock.rs: libtest's main thread, waiting for
//! the test threads, would be a thread the deadlock check must count, and signals are
//! process-wide.

/// A scenario: its name, and its sides (true: the child's).
pub type Scenario = (&'static str, fn(bool));

/// Runs the scenarios as libtest would, or the child side of the one `child_env` names.
pub fn scenarios_main(child_env: &str, tests: &[Scenario]) {
    if let Ok(name) = std::env::var(child_env) {
        match tests.iter().find(|(n, _)| *n == name) {
            Some((_, test)) => test(true),
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
            for (name, _) in tests.iter().filter(|(n, _)| selected(n)) {
                println!("{name}: test");
            }
        }
        return;
    }
    let (mut passed, mut failed) = (0, 0);
    for (name, test) in tests.iter().filter(|(n, _)| selected(n)) {
        let ok = std::panic::catch_unwind(|| test(false)).is_ok();
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
