//! Shared by the ordering tests: an event log and the comparison with a Node fixture.

use std::cell::RefCell;

use uv_loop::RunError;

thread_local! {
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Record one event, as the Node scenarios print it.
pub fn log(line: impl Into<String>) {
    LOG.with(|log| log.borrow_mut().push(line.into()));
}

/// The `exit N` line the Node scenarios print: 0 after a normal end, 1 after an uncaught
/// error or an unhandled rejection.
#[allow(dead_code)]
pub fn log_exit(result: &Result<(), RunError>) {
    match result {
        Ok(()) => log("exit 0"),
        Err(RunError::Uncaught(_) | RunError::UnhandledRejection(_)) => log("exit 1"),
        Err(other) => log(format!("exit with {other}")),
    }
}

/// The variants recorded in `tests/fixtures/<scenario>.txt`: each `# variant` header starts
/// one; other `#` lines are comments.
pub fn fixture_variants(scenario: &str) -> Vec<Vec<String>> {
    let path = format!(
        "{}/tests/fixtures/{scenario}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut variants: Vec<Vec<String>> = Vec::new();
    for line in text.lines() {
        if line.starts_with("# variant") {
            variants.push(Vec::new());
        } else if !line.starts_with('#') {
            if let Some(last) = variants.last_mut() {
                last.push(line.to_owned());
            }
        }
    }
    assert!(!variants.is_empty(), "{path}: no variant recorded");
    variants
}

/// Compare the events logged on this thread with the fixture: they must equal one of the
/// orders Node showed.
pub fn assert_matches_fixture(scenario: &str) {
    let actual = LOG.with(|log| log.take());
    let variants = fixture_variants(scenario);
    assert!(
        variants.contains(&actual),
        "{scenario}: order {actual:?} is not one Node showed: {variants:?}"
    );
}
