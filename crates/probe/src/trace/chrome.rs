//! Writing events in the Chrome Trace Event Format, which Perfetto and `chrome://tracing` open.
//!
//! The output is the format's JSON Object form:
//!
//! ```text
//! {"traceEvents":[
//!   {"name":"process_name","ph":"M","ts":0.000,"pid":P,"tid":0,"args":{"name":"goroutines"}},
//!   {"name":"thread_name","ph":"M","ts":0.000,"pid":P,"tid":1,"args":{"name":"thread 1"}},
//!   {"name":"task 7","cat":"task","ph":"B","ts":12.345,"pid":P,"tid":1,"args":{...}},
//!   {"name":"park","cat":"task","ph":"i","s":"t","ts":13.000,"pid":P,"tid":1,"args":{...}},
//!   {"name":"task 7","cat":"task","ph":"E","ts":13.001,"pid":P,"tid":1},
//!   ...
//! ],"displayTimeUnit":"ns"}
//! ```
//!
//! | event                         | written as                                              |
//! | ----------------------------- | ------------------------------------------------------- |
//! | `RunBegin` / `RunEnd`         | `B` / `E` slice `task <id>` on the recording thread     |
//! | `PhaseEnter` / `PhaseLeave`   | `B` / `E` slice named after the phase                   |
//! | `Counter`                     | `C` counter named after the quantity                    |
//! | `IpcBytes`                    | `C` counter `ipc bytes`, the running total              |
//! | every other kind              | `i` thread-scoped instant with the fields as `args`     |
//!
//! Timestamps are microseconds with three decimals, so nanoseconds survive exactly. `pid` is this
//! process's id; `tid` is the recording thread's small id, named `thread <id>` by an `M` event.
//! An event another process saw ([`super::record_from_process`], a procpool worker's task run)
//! is written under that process's `pid`, named `process <pid>` by an `M` event, with its
//! own `tid`: Perfetto shows each such process as a process of its own beside this one.
//!
//! B/E slices must nest on each thread. A recording can start while a task runs or stop before it
//! ends, so the writer keeps a stack of open slices per thread: an end with no matching open slice
//! is skipped; an end that matches a slice below the top first closes the slices above it, at the
//! same timestamp. Slices still open at the end stay open, which Perfetto shows as unfinished.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufWriter, Write};

use super::{Event, EventKind};

/// Writes `events` as Chrome Trace Event Format JSON, naming the process `process_name`.
pub fn write_chrome_trace<W: Write>(
    events: &[Event],
    process_name: &str,
    out: W,
) -> io::Result<()> {
    let mut writer = ChromeWriter {
        out: BufWriter::new(out),
        pid: std::process::id(),
        first: true,
    };
    writer.out.write_all(b"{\"traceEvents\":[")?;
    let name = [("name", Arg::Text(process_name))];
    writer.event("process_name", "", "M", 0, 0, &name)?;
    let own = writer.pid;
    let others: BTreeSet<u32> = events.iter().filter_map(|event| event.process).collect();
    for &pid in &others {
        let process = format!("process {pid}");
        writer.pid = pid;
        let name = [("name", Arg::Text(&process))];
        writer.event("process_name", "", "M", 0, 0, &name)?;
    }
    let threads: BTreeSet<(Option<u32>, u32)> = events
        .iter()
        .map(|event| (event.process, event.thread))
        .collect();
    for (process, thread) in threads {
        let thread_name = format!("thread {thread}");
        let name = [("name", Arg::Text(&thread_name))];
        writer.pid = process.unwrap_or(own);
        writer.event("thread_name", "", "M", 0, thread, &name)?;
    }
    let mut open_slices: BTreeMap<(Option<u32>, u32), Vec<Slice>> = BTreeMap::new();
    let mut ipc_total: u64 = 0;
    for event in events {
        let open = open_slices
            .entry((event.process, event.thread))
            .or_default();
        writer.pid = event.process.unwrap_or(own);
        writer.write_event(event, open, &mut ipc_total)?;
    }
    writer.out.write_all(b"],\"displayTimeUnit\":\"ns\"}")?;
    writer.out.flush()
}

/// An open B/E slice on one thread.
#[derive(Clone, Copy, PartialEq)]
enum Slice {
    Task(u64),
    Phase(&'static str),
}

impl Slice {
    fn name(self) -> String {
        match self {
            Slice::Task(task) => format!("task {task}"),
            Slice::Phase(name) => name.to_owned(),
        }
    }

    fn category(self) -> &'static str {
        match self {
            Slice::Task(_) => "task",
            Slice::Phase(_) => "phase",
        }
    }
}

/// A value in an event's `args`.
#[derive(Clone, Copy)]
enum Arg<'a> {
    Unsigned(u64),
    Signed(i64),
    Bool(bool),
    Text(&'a str),
    Maybe(Option<u64>),
}

struct ChromeWriter<W: Write> {
    out: BufWriter<W>,
    /// The `pid` of the events being written.
    pid: u32,
    first: bool,
}

impl<W: Write> ChromeWriter<W> {
    fn write_event(
        &mut self,
        event: &Event,
        open: &mut Vec<Slice>,
        ipc_total: &mut u64,
    ) -> io::Result<()> {
        use Arg::{Bool, Maybe, Signed, Text, Unsigned};
        let (ts, tid) = (event.ts_ns, event.thread);
        match event.kind {
            EventKind::RunBegin { task, proc_id } => {
                let args = [("task", Unsigned(task)), ("proc", Unsigned(proc_id.into()))];
                self.begin(Slice::Task(task), ts, tid, open, &args)
            }
            EventKind::RunEnd { task, .. } => self.end(Slice::Task(task), ts, tid, open),
            EventKind::PhaseEnter { name } => self.begin(Slice::Phase(name), ts, tid, open, &[]),
            EventKind::PhaseLeave { name } => self.end(Slice::Phase(name), ts, tid, open),
            EventKind::Counter { name, value } => {
                self.event(name, "counter", "C", ts, tid, &[("value", Signed(value))])
            }
            EventKind::IpcBytes { bytes } => {
                *ipc_total = ipc_total.saturating_add(bytes);
                let args = [("value", Unsigned(*ipc_total))];
                self.event("ipc bytes", "process", "C", ts, tid, &args)
            }
            EventKind::Spawn { task, parent } => self.instant(
                ts,
                tid,
                "spawn",
                "task",
                &[("task", Unsigned(task)), ("parent", Maybe(parent))],
            ),
            EventKind::Park { task, reason } => self.instant(
                ts,
                tid,
                "park",
                "task",
                &[("task", Unsigned(task)), ("reason", Text(reason))],
            ),
            EventKind::Wake { task, by } => self.instant(
                ts,
                tid,
                "wake",
                "task",
                &[("task", Unsigned(task)), ("by", Maybe(by))],
            ),
            EventKind::Steal { from, to, count } => self.instant(
                ts,
                tid,
                "steal",
                "task",
                &[
                    ("from", Unsigned(from.into())),
                    ("to", Unsigned(to.into())),
                    ("count", Unsigned(count.into())),
                ],
            ),
            EventKind::ThreadPark => self.instant(ts, tid, "thread park", "thread", &[]),
            EventKind::ThreadUnpark => self.instant(ts, tid, "thread unpark", "thread", &[]),
            EventKind::GilRequest => self.instant(ts, tid, "gil request", "gil", &[]),
            EventKind::GilTake => self.instant(ts, tid, "gil take", "gil", &[]),
            EventKind::GilDrop { forced } => {
                self.instant(ts, tid, "gil drop", "gil", &[("forced", Bool(forced))])
            }
            EventKind::ProcessStart { pid } => self.instant(
                ts,
                tid,
                "process start",
                "process",
                &[("pid", Unsigned(pid.into()))],
            ),
            EventKind::ProcessExit { pid, status } => self.instant(
                ts,
                tid,
                "process exit",
                "process",
                &[
                    ("pid", Unsigned(pid.into())),
                    ("status", Signed(status.into())),
                ],
            ),
            EventKind::Instant { name } => self.instant(ts, tid, name, "instant", &[]),
        }
    }

    fn instant(
        &mut self,
        ts: u64,
        tid: u32,
        name: &str,
        category: &str,
        args: &[(&str, Arg<'_>)],
    ) -> io::Result<()> {
        self.event(name, category, "i", ts, tid, args)
    }

    fn begin(
        &mut self,
        slice: Slice,
        ts: u64,
        tid: u32,
        open: &mut Vec<Slice>,
        args: &[(&str, Arg<'_>)],
    ) -> io::Result<()> {
        open.push(slice);
        self.event(&slice.name(), slice.category(), "B", ts, tid, args)
    }

    /// Closes `slice` and any slice opened inside it; skips an end whose begin was not recorded.
    fn end(&mut self, slice: Slice, ts: u64, tid: u32, open: &mut Vec<Slice>) -> io::Result<()> {
        let Some(depth) = open.iter().rposition(|&candidate| candidate == slice) else {
            return Ok(());
        };
        while open.len() > depth {
            if let Some(inner) = open.pop() {
                self.event(&inner.name(), inner.category(), "E", ts, tid, &[])?;
            }
        }
        Ok(())
    }

    /// Writes one event object; an empty `category` or `args` is left out.
    fn event(
        &mut self,
        name: &str,
        category: &str,
        phase: &str,
        ts_ns: u64,
        tid: u32,
        args: &[(&str, Arg<'_>)],
    ) -> io::Result<()> {
        let out = &mut self.out;
        out.write_all(if self.first { b"\n{" } else { b",\n{" })?;
        self.first = false;
        out.write_all(b"\"name\":")?;
        write_json_string(out, name)?;
        if !category.is_empty() {
            out.write_all(b",\"cat\":")?;
            write_json_string(out, category)?;
        }
        write!(out, ",\"ph\":\"{phase}\"")?;
        if phase == "i" {
            out.write_all(b",\"s\":\"t\"")?;
        }
        write!(
            out,
            ",\"ts\":{}.{:03},\"pid\":{},\"tid\":{tid}",
            ts_ns / 1000,
            ts_ns % 1000,
            self.pid
        )?;
        if !args.is_empty() {
            out.write_all(b",\"args\":{")?;
            for (index, (key, value)) in args.iter().enumerate() {
                if index > 0 {
                    out.write_all(b",")?;
                }
                write_json_string(out, key)?;
                out.write_all(b":")?;
                match *value {
                    Arg::Unsigned(number) | Arg::Maybe(Some(number)) => write!(out, "{number}")?,
                    Arg::Signed(number) => write!(out, "{number}")?,
                    Arg::Bool(flag) => write!(out, "{flag}")?,
                    Arg::Text(text) => write_json_string(out, text)?,
                    Arg::Maybe(None) => out.write_all(b"null")?,
                }
            }
            out.write_all(b"}")?;
        }
        out.write_all(b"}")
    }
}

/// Writes `text` as a JSON string: quotes, backslashes and control characters escaped.
fn write_json_string(out: &mut impl Write, text: &str) -> io::Result<()> {
    out.write_all(b"\"")?;
    let bytes = text.as_bytes();
    let mut unwritten = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let short: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.write_all(&bytes[unwritten..index])?;
        if short.is_empty() {
            write!(out, "\\u{byte:04x}")?;
        } else {
            out.write_all(short)?;
        }
        unwritten = index + 1;
    }
    out.write_all(&bytes[unwritten..])?;
    out.write_all(b"\"")
}

#[cfg(test)]
mod tests {
    use super::write_json_string;

    fn json_string(text: &str) -> String {
        let mut out = Vec::new();
        write_json_string(&mut out, text).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_quotes_backslashes_and_control_characters() {
        assert_eq!(json_string("plain"), r#""plain""#);
        assert_eq!(json_string("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(json_string("l1\nl2\r\t"), r#""l1\nl2\r\t""#);
        assert_eq!(json_string("\u{0}\u{1f}\u{7f}"), "\"\\u0000\\u001f\u{7f}\"");
        assert_eq!(json_string("héllo ✓"), "\"héllo ✓\"");
    }
}
