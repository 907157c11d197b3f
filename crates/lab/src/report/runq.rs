//! Run-queue length and steals over time, drawn under the goroutines timeline.
//!
//! Go's execution tracer shows, above its per-P rows, how many goroutines are runnable and
//! waiting; this picture shows the same from the counters the lab samples every millisecond
//! while it traces the goroutines runtime ([`crate::experiments::sched_counters`]):
//!
//! ```text
//!   run queue │    ▁▂▅█████▇▅▃▁          local rings + runnext + global queue, a step line;
//!             │    ╌╌╌╌╌╌                the global queue alone, dashed
//!   steals    │        ┌──────┘──────    steals between Ps since the runtime began
//!             └───────────────────────── time, the same axis as the timeline above it
//! ```
//!
//! The time axis is the timeline's ([`timeline::axis_of`]): the pictures are drawn at the same
//! width with the same label column, so a burst in the queue sits under the runs it fed.
//! Samples before the axis starts (the sampler begins before the first goroutine runs) are
//! clipped to it.

use std::fmt::Write as _;

use super::svg::escape;
use super::timeline::{self, Trace, LABEL, WIDTH};
use crate::experiments::sched_counters::{RUNNEXT, RUNQ_GLOBAL, RUNQ_LOCAL, STEALS};

/// One sample of the run queues: when (µs), total waiting, of which on the global queue.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QueueSample {
    /// When, in microseconds on the trace's clock.
    pub ts_us: f64,
    /// Goroutines waiting: local rings, `runnext` slots and the global queue together.
    pub waiting: f64,
    /// Of which on the global queue.
    pub global: f64,
}

/// The run-queue samples of `trace`: its three queue counters taken together, sample by sample
/// (the sampler records them one after the other; a recording that stopped between two of them
/// leaves the last sample out).
pub fn queue_samples(trace: &Trace) -> Vec<QueueSample> {
    let series = |name: &str| trace.counter_values.get(name).cloned().unwrap_or_default();
    let (local, runnext, global) = (series(RUNQ_LOCAL), series(RUNNEXT), series(RUNQ_GLOBAL));
    local
        .iter()
        .zip(&runnext)
        .zip(&global)
        .map(
            |((&(ts_us, local), &(_, runnext)), &(_, global))| QueueSample {
                ts_us,
                waiting: local + runnext + global,
                global,
            },
        )
        .collect()
}

const HEIGHT: f64 = 150.0;
const QUEUE_TOP: f64 = 26.0;
const QUEUE_HEIGHT: f64 = 60.0;
const STEALS_TOP: f64 = 96.0;
const STEALS_HEIGHT: f64 = 30.0;

/// The picture for `trace` on the timeline's axis (`axis_us`, as given to [`timeline::svg`]),
/// or `None` when the trace has no run-queue samples (a model other than goroutines).
pub fn svg(trace: &Trace, axis_us: f64) -> Option<String> {
    let queue = queue_samples(trace);
    if queue.is_empty() {
        return None;
    }
    let steals = trace
        .counter_values
        .get(STEALS)
        .cloned()
        .unwrap_or_default();
    let (start, span) = if trace.runs.is_empty() {
        let first = queue[0].ts_us;
        let last = queue[queue.len() - 1].ts_us;
        (first, (last - first).max(axis_us).max(1.0))
    } else {
        timeline::axis_of(&trace.runs, axis_us)
    };
    let plot = WIDTH - LABEL - 10.0;
    let x = |us: f64| LABEL + ((us - start) / span).clamp(0.0, 1.0) * plot;
    let most_waiting = queue.iter().map(|s| s.waiting).fold(0.0, f64::max);
    let most_steals = steals.iter().map(|s| s.1).fold(0.0, f64::max);
    let mut out = String::new();
    let title = "goroutines: run-queue length and steals, sampled every 1 ms";
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="runq" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{t}" font-family="sans-serif" font-size="12"><rect width="{WIDTH}" height="{HEIGHT}" fill="white"/><text x="4" y="16" font-size="13" font-weight="bold">{t}</text>"#,
        t = escape(title)
    );
    let waiting: Vec<(f64, f64)> = queue.iter().map(|s| (s.ts_us, s.waiting)).collect();
    let global: Vec<(f64, f64)> = queue.iter().map(|s| (s.ts_us, s.global)).collect();
    panel(
        &mut out,
        "run queue",
        QUEUE_TOP,
        QUEUE_HEIGHT,
        most_waiting,
        &x,
    );
    step_line(
        &mut out,
        &waiting,
        QUEUE_TOP,
        QUEUE_HEIGHT,
        most_waiting,
        &x,
        "#00add8",
        false,
    );
    step_line(
        &mut out,
        &global,
        QUEUE_TOP,
        QUEUE_HEIGHT,
        most_waiting,
        &x,
        "#c0392b",
        true,
    );
    panel(
        &mut out,
        "steals",
        STEALS_TOP,
        STEALS_HEIGHT,
        most_steals,
        &x,
    );
    step_line(
        &mut out,
        &steals,
        STEALS_TOP,
        STEALS_HEIGHT,
        most_steals,
        &x,
        "#555",
        false,
    );
    let _ = write!(
        out,
        r##"<text x="{LABEL}" y="{:.1}" fill="#666">0</text><text x="{}" y="{:.1}" text-anchor="end" fill="#666">{:.1} ms</text><text x="{:.1}" y="{:.1}" fill="#666">waiting goroutines (local rings + runnext + global), at most {most_waiting:.0} · <tspan fill="#c0392b">global queue, dashed</tspan> · {most_steals:.0} steals in all</text></svg>"##,
        HEIGHT - 8.0,
        WIDTH - 10.0,
        HEIGHT - 8.0,
        span / 1e3,
        LABEL + 40.0,
        HEIGHT - 8.0,
    );
    Some(out)
}

/// A panel's label, its top value and its baseline.
fn panel(out: &mut String, label: &str, top: f64, height: f64, most: f64, x: &impl Fn(f64) -> f64) {
    let base = top + height;
    let _ = write!(
        out,
        r##"<text x="4" y="{:.1}">{}</text><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#666" font-size="10">{most:.0}</text><line x1="{LABEL}" x2="{:.1}" y1="{base:.1}" y2="{base:.1}" stroke="#ccc"/>"##,
        top + height / 2.0 + 4.0,
        escape(label),
        LABEL - 4.0,
        top + 8.0,
        x(f64::MAX),
    );
}

/// `points` (µs, value) as a step line in the panel at `top`, scaled so `most` fills it.
#[allow(clippy::too_many_arguments)]
fn step_line(
    out: &mut String,
    points: &[(f64, f64)],
    top: f64,
    height: f64,
    most: f64,
    x: &impl Fn(f64) -> f64,
    colour: &str,
    dashed: bool,
) {
    if points.is_empty() {
        return;
    }
    let y = |value: f64| top + height - value / most.max(1.0) * height;
    let mut path = String::new();
    let mut previous: Option<f64> = None;
    for &(ts, value) in points {
        if let Some(before) = previous {
            let _ = write!(path, " {:.1},{:.1}", x(ts), y(before));
        }
        let _ = write!(path, " {:.1},{:.1}", x(ts), y(value));
        previous = Some(value);
    }
    let dash = if dashed {
        r#" stroke-dasharray="4,3""#
    } else {
        ""
    };
    let _ = write!(
        out,
        r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="1.5"{dash}/>"#,
        path.trim_start()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace() -> Trace {
        Trace::parse(
            r#"{"traceEvents":[
            {"name":"task 1","ph":"B","ts":100.0,"pid":1,"tid":1},
            {"name":"runq local","cat":"counter","ph":"C","ts":100.0,"pid":1,"tid":3,"args":{"value":4}},
            {"name":"runnext","cat":"counter","ph":"C","ts":100.1,"pid":1,"tid":3,"args":{"value":1}},
            {"name":"runq global","cat":"counter","ph":"C","ts":100.2,"pid":1,"tid":3,"args":{"value":2}},
            {"name":"steals","cat":"counter","ph":"C","ts":100.3,"pid":1,"tid":3,"args":{"value":0}},
            {"name":"runq local","cat":"counter","ph":"C","ts":1100.0,"pid":1,"tid":3,"args":{"value":0}},
            {"name":"runnext","cat":"counter","ph":"C","ts":1100.1,"pid":1,"tid":3,"args":{"value":0}},
            {"name":"runq global","cat":"counter","ph":"C","ts":1100.2,"pid":1,"tid":3,"args":{"value":0}},
            {"name":"steals","cat":"counter","ph":"C","ts":1100.3,"pid":1,"tid":3,"args":{"value":3}},
            {"name":"runq local","cat":"counter","ph":"C","ts":2100.0,"pid":1,"tid":3,"args":{"value":5}},
            {"name":"task 1","ph":"E","ts":2200.0,"pid":1,"tid":1}
        ]}"#,
        )
        .expect("a chrome trace")
    }

    #[test]
    fn the_three_queues_add_up_sample_by_sample() {
        let samples = queue_samples(&trace());
        assert_eq!(
            samples,
            vec![
                QueueSample {
                    ts_us: 100.0,
                    waiting: 7.0,
                    global: 2.0
                },
                QueueSample {
                    ts_us: 1100.0,
                    waiting: 0.0,
                    global: 0.0
                },
            ],
            "the third sample lost its runnext and global counters"
        );
    }

    #[test]
    fn draws_both_panels_on_the_timeline_axis_and_nothing_without_samples() {
        let picture = svg(&trace(), 0.0).expect("a picture");
        assert!(picture.starts_with("<svg") && picture.ends_with("</svg>"));
        assert!(picture.contains("at most 7") && picture.contains("3 steals in all"));
        assert_eq!(picture.matches("<polyline").count(), 3);
        // The axis runs from the run's start (100 µs) over its 2.1 ms.
        assert!(picture.contains("2.1 ms"));
        assert!(svg(&Trace::default(), 0.0).is_none());
    }
}
