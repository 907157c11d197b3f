//! Timeline pictures: which task ran on which OS thread when, drawn from a Chrome trace.
//!
//! ```text
//!   thread 1 │▇▇▇▇▇▇  ▇▇▇▇▇▇▇▇▇▇▇▇▇▇   ▇▇▇      one row per thread that recorded events;
//!   thread 2 │   ▇▇▇▇▇▇▇▇▇   ▇▇  ▇▇▇▇▇▇▇▇▇▇     a bar per run of a task (a `task N` B/E slice),
//!   thread 3 │ ▇                                coloured by task, so a task that moves between
//!            └──────────────────────────── time  threads keeps its colour
//! ```
//!
//! The picture reads the trace file the main job wrote ([`probe::trace::write_chrome_trace`]'s
//! format), so it shows what Perfetto would, without Perfetto. A trace with no task slices (a
//! model that records no scheduler events yet) draws nothing and says so. A row of another
//! process than the trace's own (a procpool worker, whose task runs the pool shipped back) is
//! named by that process's id.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::Value;

use super::svg::escape;
use crate::experiments::preemption::{BLOCKING_CALL_BEGIN, BLOCKING_CALL_END};

/// One run of a task on a thread, in microseconds from the trace's start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Run {
    /// The recording thread.
    pub thread: u64,
    /// The task.
    pub task: u64,
    /// When it began.
    pub begin_us: f64,
    /// When it ended.
    pub end_us: f64,
}

/// A task made runnable: by another task (`by`) or by the runtime (a timer, the poller).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Wake {
    /// The thread that recorded the wake-up (the waker's).
    pub thread: u64,
    /// The task woken.
    pub task: u64,
    /// The task that woke it, if a task did.
    pub by: Option<u64>,
    /// When, in microseconds.
    pub ts_us: f64,
}

/// What a trace says about the tasks: their runs and their wake-ups, and what the scheduler
/// did meanwhile.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    /// Every run of a task on a thread.
    pub runs: Vec<Run>,
    /// Every wake-up, in the order recorded.
    pub wakes: Vec<Wake>,
    /// Time spent in each named phase (an event loop's `select`, libuv's `poll`, ...), in
    /// microseconds, summed over the trace.
    pub phases: BTreeMap<String, f64>,
    /// From the first event to the last, in microseconds.
    pub span_us: f64,
    /// Instant events by name (`steal`, `gil drop`, `park`, ...): how many.
    pub instants: BTreeMap<String, u64>,
    /// GIL drops that were forced by a drop request (the switch interval ran out).
    pub forced_gil_drops: u64,
    /// Counter events by name (`frame sent bytes`, ...): how many times each was set.
    pub counters: BTreeMap<String, u64>,
    /// Counter events by name: each value with its time in microseconds, in trace order.
    pub counter_values: BTreeMap<String, Vec<(f64, f64)>>,
    /// The threads recorded by another process than the trace's own (a procpool worker's runs,
    /// shipped back to the pool): their `tid`, which for them is that process's id.
    pub other_processes: BTreeSet<u64>,
    /// Waits for the GIL (gil-threads): from a thread's `gil request` to its next `gil take`.
    pub gil_waits: Vec<GilWait>,
    /// GIL drops forced by a drop request (the switch interval ran out): thread and time.
    pub forced_drops: Vec<(u64, f64)>,
    /// Blocking calls the experiment marked (`blocking call begin` to `end` on one thread):
    /// begin and end, in microseconds.
    pub blocking_calls: Vec<(f64, f64)>,
}

/// A thread waiting for the GIL, in microseconds from the trace's start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GilWait {
    /// The waiting thread.
    pub thread: u64,
    /// When it asked (`take_gil` found the GIL locked).
    pub begin_us: f64,
    /// When it took the GIL.
    pub end_us: f64,
}

impl Trace {
    /// Reads a Chrome trace's JSON text; `None` when it is not one.
    pub fn parse(trace_json: &str) -> Option<Trace> {
        let value: Value = serde_json::from_str(trace_json).ok()?;
        let events = value.get("traceEvents")?.as_array()?;
        let wakes = events
            .iter()
            .filter(|e| {
                e.get("ph").and_then(Value::as_str) == Some("i")
                    && e.get("name").and_then(Value::as_str) == Some("wake")
            })
            .filter_map(|e| {
                Some(Wake {
                    thread: e.get("tid")?.as_u64()?,
                    task: e.get("args")?.get("task")?.as_u64()?,
                    by: e.get("args")?.get("by").and_then(Value::as_u64),
                    ts_us: e.get("ts")?.as_f64()?,
                })
            })
            .collect();
        let mut phases: BTreeMap<String, f64> = BTreeMap::new();
        let mut open_phases: BTreeMap<(u64, String), f64> = BTreeMap::new();
        let mut instants: BTreeMap<String, u64> = BTreeMap::new();
        let mut forced_gil_drops = 0;
        let mut counters: BTreeMap<String, u64> = BTreeMap::new();
        let mut counter_values: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        // The trace's own process is the one the first event (its `process_name`) names.
        let own_pid = events
            .first()
            .and_then(|e| e.get("pid"))
            .and_then(Value::as_u64);
        let mut other_processes = BTreeSet::new();
        let mut asked_for_gil: BTreeMap<u64, f64> = BTreeMap::new();
        let mut gil_waits = Vec::new();
        let mut forced_drops = Vec::new();
        let mut calls_begun: BTreeMap<u64, f64> = BTreeMap::new();
        let mut blocking_calls = Vec::new();
        let (mut first, mut last) = (f64::MAX, f64::MIN);
        for event in events {
            let (Some(phase), Some(name), Some(ts), Some(thread)) = (
                event.get("ph").and_then(Value::as_str),
                event.get("name").and_then(Value::as_str),
                event.get("ts").and_then(Value::as_f64),
                event.get("tid").and_then(Value::as_u64),
            ) else {
                continue;
            };
            if phase == "M" {
                continue;
            }
            let pid = event.get("pid").and_then(Value::as_u64);
            if pid.is_some() && pid != own_pid {
                other_processes.insert(thread);
            }
            first = first.min(ts);
            last = last.max(ts);
            let is_task = name.starts_with("task ");
            match phase {
                "B" if !is_task => {
                    open_phases.insert((thread, name.to_owned()), ts);
                }
                "E" if !is_task => {
                    if let Some(began) = open_phases.remove(&(thread, name.to_owned())) {
                        *phases.entry(name.to_owned()).or_default() += ts - began;
                    }
                }
                "C" => {
                    *counters.entry(name.to_owned()).or_default() += 1;
                    let value = event.get("args").and_then(|a| a.get("value"));
                    if let Some(value) = value.and_then(Value::as_f64) {
                        counter_values
                            .entry(name.to_owned())
                            .or_default()
                            .push((ts, value));
                    }
                }
                "i" => {
                    *instants.entry(name.to_owned()).or_default() += 1;
                    let forced = event.get("args").and_then(|a| a.get("forced"));
                    if name == "gil drop" && forced.and_then(Value::as_bool) == Some(true) {
                        forced_gil_drops += 1;
                        forced_drops.push((thread, ts));
                    }
                    if name == BLOCKING_CALL_BEGIN {
                        calls_begun.insert(thread, ts);
                    }
                    if name == BLOCKING_CALL_END {
                        if let Some(begin) = calls_begun.remove(&thread) {
                            blocking_calls.push((begin, ts));
                        }
                    }
                    if name == "gil request" {
                        asked_for_gil.insert(thread, ts);
                    }
                    if name == "gil take" {
                        if let Some(begin_us) = asked_for_gil.remove(&thread) {
                            gil_waits.push(GilWait {
                                thread,
                                begin_us,
                                end_us: ts,
                            });
                        }
                    }
                }
                _ => {}
            }
        }
        Some(Trace {
            runs: runs_of(events),
            wakes,
            phases,
            span_us: if last > first { last - first } else { 0.0 },
            instants,
            forced_gil_drops,
            counters,
            counter_values,
            other_processes,
            gil_waits,
            forced_drops,
            blocking_calls,
        })
    }

    /// For each wake-up, the run of the woken task that follows it: (wake, run).
    pub fn wake_to_run(&self) -> Vec<(Wake, Run)> {
        let mut by_task: BTreeMap<u64, Vec<Run>> = BTreeMap::new();
        for run in &self.runs {
            by_task.entry(run.task).or_default().push(*run);
        }
        for runs in by_task.values_mut() {
            runs.sort_by(|a, b| a.begin_us.total_cmp(&b.begin_us));
        }
        self.wakes
            .iter()
            .filter_map(|wake| {
                let runs = by_task.get(&wake.task)?;
                let next = runs.partition_point(|r| r.begin_us < wake.ts_us);
                runs.get(next).map(|run| (*wake, *run))
            })
            .collect()
    }
}

/// The task runs in a Chrome trace's JSON text (see [`Trace::parse`]).
pub fn runs(trace_json: &str) -> Option<Vec<Run>> {
    Trace::parse(trace_json).map(|trace| trace.runs)
}

/// Each `B` slice named `task N` until its `E`. A slice still open when the recording stopped
/// (the task was running then; its end came after the stop) runs to the trace's last
/// timestamp, as Perfetto draws it.
fn runs_of(events: &[Value]) -> Vec<Run> {
    let mut open: BTreeMap<u64, Vec<(u64, f64)>> = BTreeMap::new();
    let mut runs = Vec::new();
    let mut last_ts = 0f64;
    for event in events {
        let (Some(phase), Some(thread), Some(ts)) = (
            event.get("ph").and_then(Value::as_str),
            event.get("tid").and_then(Value::as_u64),
            event.get("ts").and_then(Value::as_f64),
        ) else {
            continue;
        };
        last_ts = last_ts.max(ts);
        let task = event
            .get("name")
            .and_then(Value::as_str)
            .and_then(|name| name.strip_prefix("task "))
            .and_then(|id| id.parse::<u64>().ok());
        match (phase, task) {
            ("B", Some(task)) => open.entry(thread).or_default().push((task, ts)),
            ("E", Some(task)) => {
                let stack = open.entry(thread).or_default();
                if let Some(index) = stack.iter().rposition(|&(t, _)| t == task) {
                    let (_, begin_us) = stack.remove(index);
                    runs.push(Run {
                        thread,
                        task,
                        begin_us,
                        end_us: ts,
                    });
                }
            }
            _ => {}
        }
    }
    for (thread, stack) in open {
        runs.extend(stack.into_iter().map(|(task, begin_us)| Run {
            thread,
            task,
            begin_us,
            end_us: last_ts,
        }));
    }
    runs
}

/// A colour that stays the same for a task across the picture.
fn task_colour(task: u64) -> String {
    let hue = task.wrapping_mul(2_654_435_761) % 360;
    format!("hsl({hue},65%,50%)")
}

/// The picture's width; [`super::runq`] draws under it at the same width.
pub(super) const WIDTH: f64 = 1040.0;
/// The width of the row labels, left of the time axis.
pub(super) const LABEL: f64 = 80.0;
const ROW: f64 = 22.0;

/// At most this many waker-to-woken arrows are drawn; beyond, the picture would be a smear.
const MOST_ARROWS: usize = 400;

/// At most this many thread rows are drawn (a thread per task makes thousands); the picture
/// says how many it left out.
const MOST_ROWS: usize = 24;

/// The task that ran longest in all (the hog, in the preemption experiment), with the span from
/// its first run's start to its last run's end.
pub fn busiest_task(runs: &[Run]) -> Option<(u64, f64, f64)> {
    let mut totals: BTreeMap<u64, (f64, f64, f64)> = BTreeMap::new();
    for run in runs {
        let entry = totals
            .entry(run.task)
            .or_insert((0.0, run.begin_us, run.end_us));
        entry.0 += run.end_us - run.begin_us;
        entry.1 = entry.1.min(run.begin_us);
        entry.2 = entry.2.max(run.end_us);
    }
    totals
        .into_iter()
        .max_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
        .map(|(task, (_, begin, end))| (task, begin, end))
}

/// The time axis a picture of `runs` draws: from the first run's start, over the runs' span or
/// `axis_us` if that is longer (at least 1 µs), in microseconds.
pub fn axis_of(runs: &[Run], axis_us: f64) -> (f64, f64) {
    let start = runs.iter().map(|r| r.begin_us).fold(f64::MAX, f64::min);
    (start, runs_span_us(runs).max(axis_us).max(1.0))
}

/// From the first run's start to the last run's end, in microseconds (0 for none).
pub fn runs_span_us(runs: &[Run]) -> f64 {
    let start = runs.iter().map(|r| r.begin_us).fold(f64::MAX, f64::min);
    let end = runs.iter().map(|r| r.end_us).fold(f64::MIN, f64::max);
    if end > start {
        end - start
    } else {
        0.0
    }
}

/// The timeline of `trace` as an SVG picture titled `title`: a row per thread, a bar per run,
/// and (when there are few enough) an arrow from each wake-up on the waker's thread to the
/// woken task's next run. The time axis spans `axis_us` from the first run, or the trace's own
/// span if that is longer, so pictures of several models can share one axis. With `mark`, the
/// span of the task that ran longest is shaded behind the rows and labelled with it (the hog).
pub fn svg(title: &str, trace: &Trace, axis_us: f64, mark: Option<&str>) -> String {
    // A row for every thread that ran a task or woke one (a timer or poller thread wakes tasks
    // without running any).
    let mut threads: Vec<u64> = trace
        .runs
        .iter()
        .map(|r| r.thread)
        .chain(trace.wakes.iter().map(|w| w.thread))
        .collect();
    threads.sort_unstable();
    threads.dedup();
    let left_out = threads.len().saturating_sub(MOST_ROWS);
    threads.truncate(MOST_ROWS);
    let shown: Vec<Run> = trace
        .runs
        .iter()
        .filter(|r| threads.binary_search(&r.thread).is_ok())
        .copied()
        .collect();
    let runs = &shown;
    let note = if left_out > 0 { 18.0 } else { 0.0 };
    let height = 40.0 + ROW * threads.len().max(1) as f64 + 24.0 + note;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="{t}" font-family="sans-serif" font-size="12"><rect width="{WIDTH}" height="{height}" fill="white"/><text x="4" y="18" font-size="14" font-weight="bold">{t}</text>"#,
        t = escape(title)
    );
    if runs.is_empty() {
        let _ = write!(
            out,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#999">no scheduler events recorded by this model</text></svg>"##,
            WIDTH / 2.0,
            40.0 + ROW / 2.0
        );
        return out;
    }
    let (start, span) = axis_of(runs, axis_us);
    let plot = WIDTH - LABEL - 10.0;
    let x = |us: f64| LABEL + (us - start) / span * plot;
    // The marked span: a blocking call the experiment recorded, else the task that ran
    // longest (the hog).
    let marked = mark.and_then(|label| match trace.blocking_calls.first() {
        Some(&(begin, end)) => Some((label.to_owned(), begin, end)),
        None => busiest_task(runs)
            .map(|(task, begin, end)| (format!("{label} (task {task},"), begin, end)),
    });
    if let Some((label, begin, end)) = marked {
        let opened = if label.ends_with(',') { " " } else { " (" };
        let _ = write!(
            out,
            r##"<rect class="marked" x="{:.2}" y="28" width="{:.2}" height="{:.1}" fill="#f4c7c3" opacity="0.45"/><text x="{:.2}" y="26" font-size="11" fill="#a33">{}{opened}{:.0} ms)</text>"##,
            x(begin),
            (x(end) - x(begin)).max(0.6),
            ROW * threads.len() as f64 + 2.0,
            x(begin) + 2.0,
            escape(&label),
            (end - begin) / 1e3
        );
    }
    for (row, thread) in threads.iter().enumerate() {
        let y = 30.0 + ROW * row as f64;
        let row_name = if trace.other_processes.contains(thread) {
            "pid"
        } else {
            "thread"
        };
        let _ = write!(
            out,
            r##"<text x="4" y="{:.1}">{row_name} {thread}</text><line x1="{LABEL}" x2="{}" y1="{:.1}" y2="{:.1}" stroke="#eee"/>"##,
            y + ROW * 0.65,
            WIDTH - 10.0,
            y + ROW - 1.0,
            y + ROW - 1.0
        );
    }
    for run in runs {
        let row = threads.iter().position(|&t| t == run.thread).unwrap_or(0);
        let y = 30.0 + ROW * row as f64 + 3.0;
        let width = (x(run.end_us) - x(run.begin_us)).max(0.6);
        let _ = write!(
            out,
            r#"<rect x="{:.2}" y="{y:.1}" width="{width:.2}" height="{:.1}" fill="{}"><title>task {} on thread {}: {:.1} µs</title></rect>"#,
            x(run.begin_us),
            ROW - 6.0,
            task_colour(run.task),
            run.task,
            run.thread,
            run.end_us - run.begin_us
        );
    }
    gil_track(&mut out, trace, &threads, &x);
    if left_out > 0 {
        let _ = write!(
            out,
            r##"<text x="{LABEL}" y="{:.1}" fill="#666">and {left_out} more threads, not drawn</text>"##,
            30.0 + ROW * threads.len() as f64 + 14.0
        );
    }
    let links: Vec<(Wake, Run)> = trace
        .wake_to_run()
        .into_iter()
        .filter(|(wake, run)| {
            threads.binary_search(&wake.thread).is_ok()
                && threads.binary_search(&run.thread).is_ok()
        })
        .collect();
    if links.len() <= MOST_ARROWS {
        let row_of = |thread: u64| threads.iter().position(|&t| t == thread).unwrap_or(0);
        for (wake, run) in &links {
            let (y0, y1) = (
                30.0 + ROW * row_of(wake.thread) as f64 + ROW / 2.0,
                30.0 + ROW * row_of(run.thread) as f64 + ROW / 2.0,
            );
            let _ = write!(
                out,
                r##"<line x1="{:.2}" y1="{y0:.1}" x2="{:.2}" y2="{y1:.1}" stroke="#333" stroke-width="0.6" opacity="0.7"><title>task {} woken{} at {:.1} µs, ran after {:.1} µs</title></line>"##,
                x(wake.ts_us),
                x(run.begin_us),
                wake.task,
                wake.by
                    .map(|by| format!(" by task {by}"))
                    .unwrap_or_default(),
                wake.ts_us - start,
                run.begin_us - wake.ts_us
            );
        }
    }
    let _ = write!(
        out,
        r##"<text x="{LABEL}" y="{:.1}" fill="#666">0</text><text x="{}" y="{:.1}" text-anchor="end" fill="#666">{:.1} ms</text></svg>"##,
        height - 6.0,
        WIDTH - 10.0,
        height - 6.0,
        span / 1e3
    );
    out
}

/// The GIL drawn on the threads' rows (gil-threads' traces): under each thread's runs, a grey
/// line while it waited for the GIL, and a red tick where the switch interval forced the holder
/// to drop it (the GIL track py-spy and VizTracer users ask for).
fn gil_track(out: &mut String, trace: &Trace, threads: &[u64], x: &dyn Fn(f64) -> f64) {
    if trace.gil_waits.is_empty() && trace.forced_drops.is_empty() {
        return;
    }
    let row_of = |thread: u64| threads.iter().position(|&t| t == thread);
    for wait in &trace.gil_waits {
        let Some(row) = row_of(wait.thread) else {
            continue;
        };
        let y = 30.0 + ROW * row as f64 + ROW - 4.0;
        let _ = write!(
            out,
            r##"<rect class="gil-wait" x="{:.2}" y="{y:.1}" width="{:.2}" height="2.5" fill="#777"><title>thread {} waited {:.1} µs for the GIL</title></rect>"##,
            x(wait.begin_us),
            (x(wait.end_us) - x(wait.begin_us)).max(0.6),
            wait.thread,
            wait.end_us - wait.begin_us
        );
    }
    for &(thread, ts) in &trace.forced_drops {
        let Some(row) = row_of(thread) else {
            continue;
        };
        let y = 30.0 + ROW * row as f64;
        let _ = write!(
            out,
            r##"<line class="gil-forced" x1="{0:.2}" x2="{0:.2}" y1="{y:.1}" y2="{1:.1}" stroke="#c00" stroke-width="1.2"><title>thread {thread} forced to drop the GIL (switch interval)</title></line>"##,
            x(ts),
            y + ROW - 1.0
        );
    }
    let _ = write!(
        out,
        r##"<text x="{}" y="18" text-anchor="end" font-size="11" fill="#666">grey: waiting for the GIL · red: forced to drop it</text>"##,
        WIDTH - 10.0
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_slices_become_runs_per_thread() {
        let trace = r#"{"traceEvents":[
            {"name":"thread_name","ph":"M","ts":0,"pid":1,"tid":1,"args":{"name":"thread 1"}},
            {"name":"task 7","cat":"task","ph":"B","ts":10.0,"pid":1,"tid":1},
            {"name":"park","cat":"task","ph":"i","s":"t","ts":11.0,"pid":1,"tid":1},
            {"name":"task 7","cat":"task","ph":"E","ts":12.5,"pid":1,"tid":1},
            {"name":"task 8","cat":"task","ph":"B","ts":13.0,"pid":1,"tid":2}
        ],"displayTimeUnit":"ns"}"#;
        let runs = runs(trace).expect("a chrome trace");
        assert_eq!(
            runs,
            vec![
                Run {
                    thread: 1,
                    task: 7,
                    begin_us: 10.0,
                    end_us: 12.5
                },
                Run {
                    thread: 2,
                    task: 8,
                    begin_us: 13.0,
                    end_us: 13.0
                }
            ],
            "a slice open at the end runs to the last timestamp"
        );
        let trace = Trace {
            runs,
            ..Trace::default()
        };
        assert!(svg("t", &trace, 0.0, None).contains("task 7 on thread 1"));
        assert!(svg("t", &Trace::default(), 0.0, None).contains("no scheduler events"));
        assert!(super::runs("not json").is_none());
    }

    #[test]
    fn gil_waits_and_forced_drops_are_drawn_on_the_threads_rows() {
        // Thread 1 holds the GIL; thread 2 asks at 10, thread 1 is forced to drop it at 15.
        let trace = r#"{"traceEvents":[
            {"name":"gil take","ph":"i","s":"t","ts":1.0,"pid":1,"tid":1},
            {"name":"task 1","ph":"B","ts":1.0,"pid":1,"tid":1},
            {"name":"gil request","ph":"i","s":"t","ts":10.0,"pid":1,"tid":2},
            {"name":"task 1","ph":"E","ts":15.0,"pid":1,"tid":1},
            {"name":"gil drop","ph":"i","s":"t","ts":15.0,"pid":1,"tid":1,"args":{"forced":true}},
            {"name":"gil take","ph":"i","s":"t","ts":15.5,"pid":1,"tid":2},
            {"name":"task 2","ph":"B","ts":15.5,"pid":1,"tid":2},
            {"name":"task 2","ph":"E","ts":20.0,"pid":1,"tid":2}
        ]}"#;
        let trace = Trace::parse(trace).expect("a chrome trace");
        assert_eq!(
            trace.gil_waits,
            vec![GilWait {
                thread: 2,
                begin_us: 10.0,
                end_us: 15.5
            }]
        );
        assert_eq!(trace.forced_drops, vec![(1, 15.0)]);
        let picture = svg("t", &trace, 0.0, None);
        assert!(
            picture.contains("thread 2 waited 5.5 µs for the GIL"),
            "{picture}"
        );
        assert_eq!(picture.matches(r#"class="gil-forced""#).count(), 1);
        // A trace without GIL events draws no GIL track.
        let plain = svg("t", &Trace::default(), 0.0, None);
        assert!(!plain.contains("GIL"));
    }

    #[test]
    fn a_recorded_blocking_call_is_the_marked_span() {
        let trace = r#"{"traceEvents":[
            {"name":"task 1","ph":"B","ts":0.0,"pid":1,"tid":1},
            {"name":"blocking call begin","ph":"i","s":"t","ts":10.0,"pid":1,"tid":1},
            {"name":"task 2","ph":"B","ts":11.0,"pid":1,"tid":2},
            {"name":"task 2","ph":"E","ts":12.0,"pid":1,"tid":2},
            {"name":"blocking call end","ph":"i","s":"t","ts":2010.0,"pid":1,"tid":1},
            {"name":"task 1","ph":"E","ts":3000.0,"pid":1,"tid":1}
        ]}"#;
        let trace = Trace::parse(trace).expect("a chrome trace");
        assert_eq!(trace.blocking_calls, vec![(10.0, 2010.0)]);
        let picture = svg("t", &trace, 0.0, Some("the blocking call"));
        // The call's 2 ms, not task 1's 3 ms run around it.
        assert!(picture.contains(">the blocking call (2 ms)<"), "{picture}");
        // Without a recorded call the longest-running task is marked, with its id.
        let hog = Trace {
            blocking_calls: Vec::new(),
            ..trace
        };
        assert!(svg("t", &hog, 0.0, Some("the hog")).contains(">the hog (task 1, 3 ms)<"));
    }

    #[test]
    fn rows_of_another_process_are_named_by_its_pid() {
        let trace = r#"{"traceEvents":[
            {"name":"process_name","ph":"M","ts":0,"pid":10,"tid":0,"args":{"name":"pool"}},
            {"name":"process_name","ph":"M","ts":0,"pid":77,"tid":0,"args":{"name":"process 77"}},
            {"name":"process start","ph":"i","s":"t","ts":1.0,"pid":10,"tid":1,"args":{"pid":77}},
            {"name":"task 1","ph":"B","ts":2.0,"pid":77,"tid":77},
            {"name":"task 1","ph":"E","ts":5.0,"pid":77,"tid":77}
        ]}"#;
        let trace = Trace::parse(trace).expect("a chrome trace");
        assert_eq!(trace.other_processes, BTreeSet::from([77]));
        let picture = svg("t", &trace, 0.0, None);
        assert!(picture.contains(">pid 77<") && !picture.contains(">thread 77<"));
    }

    #[test]
    fn a_wake_links_to_the_next_run_of_its_task() {
        let trace = r#"{"traceEvents":[
            {"name":"task 1","ph":"B","ts":1.0,"pid":1,"tid":1},
            {"name":"task 1","ph":"E","ts":2.0,"pid":1,"tid":1},
            {"name":"wake","ph":"i","s":"t","ts":5.0,"pid":1,"tid":2,"args":{"task":1,"by":9}},
            {"name":"task 1","ph":"B","ts":7.5,"pid":1,"tid":3},
            {"name":"task 1","ph":"E","ts":8.0,"pid":1,"tid":3}
        ]}"#;
        let trace = Trace::parse(trace).expect("a chrome trace");
        let links = trace.wake_to_run();
        assert_eq!(links.len(), 1);
        let (wake, run) = links[0];
        assert_eq!((wake.by, wake.thread, run.thread), (Some(9), 2, 3));
        assert_eq!(run.begin_us - wake.ts_us, 2.5);
        assert!(svg("t", &trace, 0.0, None).contains("woken by task 9"));
        assert_eq!(busiest_task(&trace.runs), Some((1, 1.0, 8.0)));
        assert!(svg("t", &trace, 0.0, Some("hog")).contains("hog (task 1, 0 ms)"));
    }
}
