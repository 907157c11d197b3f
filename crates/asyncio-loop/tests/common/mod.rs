//! Shared by the ordering tests: an event log and the comparison with a CPython fixture.

use std::cell::RefCell;

thread_local! {
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Record one event, as the Python scenarios `print` it.
#[allow(dead_code)]
pub fn out(line: impl Into<String>) {
    LOG.with(|log| log.borrow_mut().push(line.into()));
}

/// Compare the events recorded so far with `tests/fixtures/<scenario>.txt`, line for line
/// (the fixture's `#` header lines are skipped).
#[allow(dead_code)]
pub fn assert_matches_fixture(scenario: &str) {
    let path = format!(
        "{}/tests/fixtures/{scenario}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let expected: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    let actual = LOG.with(|log| log.borrow().clone());
    assert_eq!(actual, expected, "ordering differs from CPython's ({path})");
}

thread_local! {
    static FIRST_TASK_NUMBER: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts default names from the current task's (`Task-N`'s N, process-wide, depends on the
/// tests that ran before): the scenarios' `base = _task_number(asyncio.current_task())`.
#[allow(dead_code)]
pub fn count_names_from_current_task() {
    let name = asyncio_loop::current_task().map_or_else(String::new, |task| task.get_name());
    let number = name.strip_prefix("Task-").and_then(|n| n.parse().ok());
    FIRST_TASK_NUMBER.set(number.expect("the current task has a default name"));
}

/// The scenarios' `_relative_name`: `Task-N` as `Task+K`, K counted from the number that
/// [`count_names_from_current_task`] took; a custom name as it is.
#[allow(dead_code)]
pub fn relative_name(name: &str) -> String {
    match name
        .strip_prefix("Task-")
        .and_then(|n| n.parse::<u64>().ok())
    {
        Some(number) => format!("Task+{}", number - FIRST_TASK_NUMBER.get()),
        None => name.to_owned(),
    }
}

/// The scenarios' `_sorted_names`: the names of `asyncio.all_tasks()`, relative, sorted.
#[allow(dead_code)]
pub fn sorted_task_names() -> Result<String, asyncio_loop::Error> {
    let tasks = asyncio_loop::all_tasks()?;
    let mut names: Vec<String> = tasks
        .iter()
        .map(|task| relative_name(&task.get_name()))
        .collect();
    names.sort();
    Ok(names.join(" "))
}

/// The current task's name, relative.
#[allow(dead_code)]
pub fn current_name() -> String {
    relative_name(&asyncio_loop::current_task().map_or_else(String::new, |task| task.get_name()))
}

/// Compare the events recorded so far with `expected`, for orders no fixture records.
#[allow(dead_code)]
pub fn assert_lines(expected: &[&str]) {
    let actual = LOG.with(|log| log.borrow().clone());
    assert_eq!(actual, expected);
}

/// The line a scenario prints for a `TaskGroup`'s outcome: `except* ValueError as group:
/// out(f"group: {[str(e) for e in group.exceptions]}")`.
#[allow(dead_code)]
pub fn group_line<T: std::fmt::Debug>(outcome: Result<T, asyncio_loop::Error>) -> String {
    match outcome {
        Err(asyncio_loop::Error::TaskGroup(errors)) => {
            let names: Vec<String> = errors.iter().map(|e| format!("'{e}'")).collect();
            format!("group: [{}]", names.join(", "))
        }
        other => format!("unexpected {other:?}"),
    }
}

/// `ValueError`, for scenarios that raise one.
#[derive(Debug)]
#[allow(dead_code)]
pub struct ValueError(pub &'static str);

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ValueError {}", self.0)
    }
}

impl std::error::Error for ValueError {}

/// Python's `str(bool)`, for scenarios that print a flag.
#[allow(dead_code)]
pub fn py_bool(value: bool) -> &'static str {
    if value {
        "True"
    } else {
        "False"
    }
}

/// Python's `repr(bytes)` for bytes without quotes: printable ASCII as is, `\n`, `\r`, `\t`,
/// `\\`, and `\xNN` for the rest.
#[allow(dead_code)]
pub fn py_bytes(data: &[u8]) -> String {
    let mut text = String::from("b'");
    for &byte in data {
        match byte {
            b'\n' => text.push_str("\\n"),
            b'\r' => text.push_str("\\r"),
            b'\t' => text.push_str("\\t"),
            b'\\' => text.push_str("\\\\"),
            b'\'' => text.push_str("\\'"),
            0x20..=0x7e => text.push(byte as char),
            _ => text.push_str(&format!("\\x{byte:02x}")),
        }
    }
    text.push('\'');
    text
}

/// A directory of its own under the system's temporary directory, removed with what it holds
/// when dropped: where a test puts its Unix socket files.
#[allow(dead_code)]
pub struct TempDir(std::path::PathBuf);

#[allow(dead_code)]
impl TempDir {
    /// A new empty directory whose name no other test, run or process shares.
    pub fn new(label: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        loop {
            let name = format!(
                "asyncio-loop-{label}-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            );
            let path = std::env::temp_dir().join(name);
            match std::fs::create_dir(&path) {
                Ok(()) => return TempDir(path),
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(error) => panic!("{}: {error}", path.display()),
            }
        }
    }

    /// `name` inside the directory.
    pub fn join(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A streams server's per-connection task that echoes lines until EOF, then closes
/// (tests/streams_echo.rs over TCP, tests/unix_echo.rs over a Unix socket).
#[allow(dead_code)]
pub async fn echo_lines(
    reader: asyncio_loop::StreamReader,
    writer: asyncio_loop::StreamWriter,
) -> Result<(), asyncio_loop::Error> {
    loop {
        let line = reader.readline().await?;
        if line.is_empty() {
            break;
        }
        writer
            .write(&line)
            .map_err(asyncio_loop::Error::exception)?;
        writer.drain().await?;
    }
    writer.close();
    writer.wait_closed().await
}

pub mod datagram;
pub mod given;
