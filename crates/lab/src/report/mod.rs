//! `report.html`: the table and its plots in one self-contained file.
//!
//! The report is drawn from a [`Results`] record alone (what `results.json` holds), so it can be
//! rebuilt from a saved run. It has no script and loads nothing: inline CSS and inline SVG
//! charts ([`svg`]), so it opens the same from a file, a mail attachment or a CI artifact.
//!
//! ```text
//!   header     machine, toolchain, commit, sizes
//!   table      the essay's rows × models: claim, measured, mark (green agrees, red does not)
//!   plots      speedup by worker count · wall time of the waits against their floor ·
//!              worst tick delay beside a hog · OS threads for the waits · switch costs ·
//!              tick delay beside a blocking call · spawn cost · memory per waiting task
//!   failures   experiments that gave no figures, and why
//! ```

pub mod runq;
pub mod svg;
pub mod timeline;

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use probe::result::ResultLine;

use crate::bench::percentile;
use crate::essay::Results;
use crate::experiments::Experiment;
use crate::model::Model;
use crate::table::{column, Figures, Row};
use crate::verdicts;
use svg::{bar_chart, escape, line_chart, Series};

/// Each model's colour in every chart.
fn colour(model: Model) -> &'static str {
    match model {
        Model::Goroutines => "#00add8",
        Model::Procpool => "#3776ab",
        Model::GilThreads => "#e5a50a",
        Model::AsyncioLoop => "#8e44ad",
        Model::UvLoop => "#43853d",
    }
}

fn figure(results: &Results, model: Model, experiment: &str, metric: &str) -> Option<f64> {
    results
        .figures
        .iter()
        .find(|f| f.model == model.name() && f.experiment == experiment && f.metric == metric)
        .map(|f| f.value)
}

/// The models that appear in `results`, in table order.
fn models(results: &Results) -> Vec<Model> {
    Model::ALL
        .into_iter()
        .filter(|m| results.cells.iter().any(|c| c.model == m.name()))
        .collect()
}

/// The report's HTML; the traces `results` lists are read from `dir`, the folder the report and
/// `results.json` are in.
pub fn html(results: &Results, dir: &Path) -> String {
    let models = models(results);
    let mut out = String::from(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>schedlab: five concurrency models, measured</title>
<style>
body{font-family:sans-serif;margin:2em auto;max-width:1100px;color:#222;line-height:1.4}
table{border-collapse:collapse;width:100%;margin:1em 0}
th,td{border:1px solid #ccc;padding:6px 8px;vertical-align:top;font-size:14px}
th{background:#f4f4f4;text-align:left}
td .claim{font-weight:bold}
td .measured{color:#444;font-size:13px}
td .real{color:#666;font-size:12px;border-top:1px dotted #bbb;margin-top:3px}
td.agrees{background:#e8f6e8}td.disagrees{background:#fbe4e4}td.shown{background:#fafafa}td.not-measured{background:#fff;color:#999}
.mark{float:right;font-size:16px}
.plots{display:flex;flex-wrap:wrap;gap:12px}
.meta{color:#555;font-size:13px}
.runners{display:flex;flex-wrap:wrap;gap:10px}.runner{flex:1 1 340px;min-width:0}
.runner pre{font-size:11px;background:#f7f7f7;padding:8px;overflow-x:auto;border:1px solid #ddd}
</style></head><body>
<h1>schedlab: five concurrency models, measured</h1>
"#,
    );
    let machine = &results.machine;
    let _ = writeln!(
        out,
        r#"<p class="meta">{} cores{}{} · {} · commit {} · {} sizes · command <code>{}</code></p>"#,
        machine.cores,
        machine
            .cpu
            .as_deref()
            .map(|c| format!(", {}", escape(c)))
            .unwrap_or_default(),
        machine
            .kernel
            .as_deref()
            .map(|k| format!(", {}", escape(k)))
            .unwrap_or_default(),
        escape(results.toolchain.as_deref().unwrap_or("toolchain unknown")),
        escape(results.commit.as_deref().unwrap_or("unknown")),
        if results.quick { "quick" } else { "full" },
        escape(&results.command.join(" "))
    );
    table(&mut out, results, &models);
    runners(&mut out, &models);
    out.push_str("<h2>Plots</h2><div class=\"plots\">\n");
    for chart in charts(results, &models) {
        out.push_str(&chart);
        out.push('\n');
    }
    out.push_str("</div>\n");
    held_back(&mut out, results, &models);
    timelines(&mut out, results, &models, dir);
    latencies(&mut out, results, &models, dir);
    internals(&mut out, results, &models, dir);
    if !results.failures.is_empty() {
        out.push_str("<h2>Not measured</h2><ul>\n");
        for failure in &results.failures {
            let _ = writeln!(
                out,
                "<li>{} {}: {}</li>",
                escape(&failure.model),
                escape(&failure.experiment),
                escape(&failure.reason)
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</body></html>\n");
    out
}

fn table(out: &mut String, results: &Results, models: &[Model]) {
    out.push_str("<h2>The essay's table</h2><table id=\"claims\"><tr><th></th>");
    for &model in models {
        let _ = write!(
            out,
            "<th>{} <small>({})</small></th>",
            column(model),
            model.name()
        );
    }
    out.push_str("</tr>\n");
    for row in Row::ALL {
        let _ = write!(
            out,
            "<tr><th>{}<br><small>{}</small></th>",
            row.title(),
            escape(row.measurement())
        );
        for &model in models {
            let cell = results
                .cells
                .iter()
                .find(|c| c.row == row.title() && c.model == model.name());
            match cell {
                Some(cell) => {
                    let mark = match cell.verdict.as_str() {
                        "agrees" => "✓",
                        "disagrees" => "✗",
                        "shown" => "·",
                        _ => "?",
                    };
                    let real = results
                        .calibration
                        .iter()
                        .find(|c| c.row == row.title() && c.model == model.name())
                        .map_or_else(String::new, |c| {
                            let ratio = c
                                .ratio
                                .map_or_else(String::new, |r| format!(" · ours / real {r:.2}×"));
                            format!(
                                r#"<div class="real">real {}: {}{}</div>"#,
                                escape(&c.peer),
                                escape(&c.measured),
                                ratio
                            )
                        });
                    let _ = write!(
                        out,
                        r#"<td class="{}"><span class="mark">{mark}</span><div class="claim">{}</div><div class="measured">{}</div>{real}</td>"#,
                        escape(&cell.verdict),
                        escape(&cell.claim),
                        escape(&cell.measured)
                    );
                }
                None => out.push_str("<td></td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n<p class=\"meta\">✓ the measurement agrees with the claim · ✗ it does not · · figures shown, no verdict · ? not measured</p>\n");
}

fn charts(results: &Results, models: &[Model]) -> Vec<String> {
    let mut speedups: Vec<Series> = models
        .iter()
        .map(|&model| Series {
            name: column(model).to_owned(),
            colour: colour(model),
            points: (1..=results.machine.cores)
                .filter_map(|w| {
                    figure(results, model, "parallelism", &format!("speedup_w{w}"))
                        .map(|s| (w as f64, s))
                })
                .collect(),
            dashed: false,
        })
        .collect();
    speedups.push(Series {
        name: "ideal".to_owned(),
        colour: "#999",
        points: (1..=results.machine.cores)
            .map(|w| (w as f64, w as f64))
            .collect(),
        dashed: true,
    });
    let bars = |experiment: &str, metric: &str| -> Vec<(String, f64, &'static str)> {
        models
            .iter()
            .filter_map(|&model| {
                figure(results, model, experiment, metric)
                    .map(|value| (column(model).to_owned(), value, colour(model)))
            })
            .collect()
    };
    vec![
        line_chart(
            "Speedup of a CPU-bound job",
            "workers",
            "speedup (×)",
            &speedups,
        ),
        bar_chart(
            "Wall time of the concurrent 100 ms waits",
            "ms",
            &bars("concurrency", "wall_ms"),
            false,
        ),
        bar_chart(
            "Worst delay of a 1 ms ticker beside a hog",
            "ms",
            &bars("preemption", "worst_tick_delay_ms"),
            true,
        ),
        bar_chart(
            "OS threads holding the concurrent waits",
            "threads",
            &bars("concurrency", "os_threads_max"),
            true,
        ),
        bar_chart(
            "Round trip between two tasks",
            "ns",
            &bars("switching", "ns_per_round_trip"),
            true,
        ),
        bar_chart(
            "Ticker delay beside a 200 ms blocking call",
            "ms",
            &bars("blocking", "worst_tick_delay_ms"),
            true,
        ),
        bar_chart(
            "Spawn cost per task",
            "ns",
            &bars("spawn", "ns_per_task"),
            true,
        ),
        bar_chart(
            "Memory per waiting task",
            "B",
            &bars("memory", "bytes_per_task"),
            true,
        ),
        bar_chart(
            "TCP echo, 1,000 connections at once (client in the same process)",
            "rt/s",
            &bars("echo", "round_trips_per_s"),
            false,
        ),
        bar_chart(
            "p99 of short requests beside CPU-bound work",
            "µs",
            &bars("echo", "p99_us_loaded"),
            true,
        ),
        bar_chart(
            "A tiny task handed to another worker",
            "µs",
            &bars("handoff", "us_per_task"),
            true,
        ),
    ]
}

/// Each model's echo runner side by side (the "Ease of use" row's code, [`crate::ease`]).
fn runners(out: &mut String, models: &[Model]) {
    out.push_str("<h2>Ease of use: the same server in each model</h2>\n<div class=\"runners\">\n");
    for &model in models {
        let Some(runner) = crate::ease::runner(model) else {
            continue;
        };
        let _ = writeln!(
            out,
            "<div class=\"runner\"><h4>{} ({}): {} lines, {}</h4><pre>{}</pre></div>",
            column(model),
            model.name(),
            runner.lines,
            runner.style.name(),
            escape(&runner.source)
        );
    }
    out.push_str("</div>\n");
}

/// A table of what held the tasks back, per experiment and model ([`crate::verdicts`]).
fn held_back(out: &mut String, results: &Results, models: &[Model]) {
    let lines: Vec<ResultLine> = results
        .figures
        .iter()
        .filter_map(|f| ResultLine::new(&f.model, &f.experiment, &f.metric, f.value, &f.unit).ok())
        .collect();
    let figures = Figures::new(&lines);
    out.push_str("<h2>What held the tasks back</h2>\n<table id=\"held-back\"><tr><th></th>");
    for &model in models {
        let _ = write!(out, "<th>{}</th>", column(model));
    }
    out.push_str("</tr>\n");
    for experiment in Experiment::ALL {
        let verdicts: Vec<Option<String>> = models
            .iter()
            .map(|&m| verdicts::held_back(&figures, m, experiment, results.machine.cores))
            .collect();
        if verdicts.iter().all(Option::is_none) {
            continue;
        }
        let _ = write!(out, "<tr><th>{}</th>", experiment.name());
        for verdict in verdicts {
            let _ = write!(
                out,
                "<td>{}</td>",
                escape(verdict.as_deref().unwrap_or("—"))
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

/// The experiments whose timelines the report draws, what they show, and the label of the
/// shaded span of the task that ran longest, where that task is the point.
const TIMELINES: [(&str, &str, Option<&str>); 3] = [
    (
        "preemption",
        "a hog with no yield point beside a 1 ms ticker: does the ticker get a thread?",
        Some("the hog"),
    ),
    (
        "blocking",
        "a 200 ms blocking system call beside a 1 ms ticker",
        Some("the blocking call"),
    ),
    (
        "concurrency",
        "waits of 100 ms started at once: which threads run the tasks",
        None,
    ),
];

fn timelines(out: &mut String, results: &Results, models: &[Model], dir: &Path) {
    out.push_str("<h2>The schedulers at work</h2>\n<p class=\"meta\">Each picture is drawn from the trace the run recorded (quick sizes; open the file in <a href=\"https://ui.perfetto.dev\">Perfetto</a> for every event): a row per OS thread, a bar per run of a task, coloured by task; the models of one experiment share one time axis, from each run's first event.</p>\n");
    for (experiment, caption, mark) in TIMELINES {
        let _ = writeln!(out, "<h3>{experiment}: {}</h3>", escape(caption));
        let traces: Vec<(Model, String, timeline::Trace)> = models
            .iter()
            .filter_map(|&model| {
                let record = results
                    .traces
                    .iter()
                    .find(|t| t.model == model.name() && t.experiment == experiment)?;
                let trace = fs::read_to_string(dir.join(&record.path))
                    .ok()
                    .and_then(|text| timeline::Trace::parse(&text))
                    .unwrap_or_default();
                Some((model, record.path.clone(), trace))
            })
            .collect();
        // One time axis for the models side by side: the longest run's.
        let axis_us = traces
            .iter()
            .map(|(_, _, trace)| timeline::runs_span_us(&trace.runs))
            .fold(0.0, f64::max);
        for (model, path, trace) in &traces {
            let title = format!("{} ({}) — {path}", column(*model), model.name());
            out.push_str(&timeline::svg(&title, trace, axis_us, mark));
            out.push('\n');
            if let Some(queues) = runq::svg(trace, axis_us) {
                out.push_str(&queues);
                out.push('\n');
            }
        }
    }
}

/// The trace of `experiment` on `model`, if the run wrote one that reads.
fn trace_of(
    results: &Results,
    dir: &Path,
    model: Model,
    experiment: &str,
) -> Option<timeline::Trace> {
    let record = results
        .traces
        .iter()
        .find(|t| t.model == model.name() && t.experiment == experiment)?;
    let text = fs::read_to_string(dir.join(&record.path)).ok()?;
    timeline::Trace::parse(&text)
}

/// Wake-to-run latency (how long a woken task waited for a thread) and run length (how long a
/// task ran before it yielded, parked or was preempted), per model, from the concurrency and
/// preemption traces: the histograms Go's execution tracer and tokio-console show.
fn latencies(out: &mut String, results: &Results, models: &[Model], dir: &Path) {
    out.push_str("<h2>Scheduling latency</h2>\n<p class=\"meta\">From the traces of the concurrency and preemption experiments. Wake-to-run: from a task's wake-up to the start of its next run. Run length: from the start of a run to the task's yield, park or preemption.</p>\n");
    let mut waits = Vec::new();
    let mut lengths = Vec::new();
    let mut rows = String::new();
    for &model in models {
        let traces: Vec<timeline::Trace> = ["concurrency", "preemption"]
            .iter()
            .filter_map(|e| trace_of(results, dir, model, e))
            .collect();
        let wake: Vec<f64> = traces
            .iter()
            .flat_map(|t| t.wake_to_run())
            .map(|(wake, run)| run.begin_us - wake.ts_us)
            .collect();
        let run: Vec<f64> = traces
            .iter()
            .flat_map(|t| t.runs.iter().map(|r| r.end_us - r.begin_us))
            .collect();
        let stat = |values: &[f64]| match (percentile(values, 50.0), percentile(values, 99.0)) {
            (Some(p50), Some(p99)) => format!("p50 {p50:.1} µs, p99 {p99:.1} µs"),
            _ => "no events recorded".to_owned(),
        };
        let _ = writeln!(
            rows,
            "<tr><td>{} ({})</td><td>{}</td><td>{}</td></tr>",
            column(model),
            model.name(),
            stat(&wake),
            stat(&run)
        );
        waits.push((column(model).to_owned(), colour(model), wake));
        lengths.push((column(model).to_owned(), colour(model), run));
    }
    let _ = writeln!(
        out,
        "<table id=\"latency\"><tr><th>model</th><th>wake-to-run</th><th>run length</th></tr>\n{rows}</table>"
    );
    out.push_str("<div class=\"plots\">\n");
    out.push_str(&svg::histogram("Wake-to-run latency", &waits));
    out.push_str(&svg::histogram(
        "Run length before yield, park or preemption",
        &lengths,
    ));
    out.push_str("\n</div>\n");
    loop_delay(out, results, models);
}

/// The event-loop delay of every model: how late the preemption and blocking experiments'
/// 1 ms ticker woke, tick by tick (what Node's `monitorEventLoopDelay` and clinic.js report,
/// measured the same way for every model, from the experiments' own figures).
fn loop_delay(out: &mut String, results: &Results, models: &[Model]) {
    out.push_str("<h3>Event-loop delay</h3>\n<p class=\"meta\">How late the 1 ms ticker woke at each tick, beside the hog and beside the 200 ms blocking call: p50 / p99 / worst over the ticks of one run (Node's <code>monitorEventLoopDelay</code>, for every model).</p>\n<table id=\"loop-delay\"><tr><th>model</th><th>beside the hog</th><th>beside the blocking call</th></tr>\n");
    for &model in models {
        let cell = |experiment: &str| {
            let get = |metric| figure(results, model, experiment, metric);
            match (
                get("tick_delay_p50_ms"),
                get("tick_delay_p99_ms"),
                get("worst_tick_delay_ms"),
            ) {
                (Some(p50), Some(p99), Some(worst)) => {
                    format!("{p50:.2} / {p99:.2} / {worst:.2} ms")
                }
                _ => "not measured".to_owned(),
            }
        };
        let _ = writeln!(
            out,
            "<tr><td>{} ({})</td><td>{}</td><td>{}</td></tr>",
            column(model),
            model.name(),
            cell("preemption"),
            cell("blocking")
        );
    }
    out.push_str("</table>\n");
}

/// What each scheduler did during the concurrency and preemption runs, from its own events:
/// event-loop time per phase (the loop's utilisation is the time outside its wait for I/O and
/// timers), goroutines' steals, the GIL's hand-offs (tokio-console's and clinic.js's views).
fn internals(out: &mut String, results: &Results, models: &[Model], dir: &Path) {
    out.push_str("<h2>Inside the schedulers</h2>\n<table id=\"internals\"><tr><th>model</th><th>experiment</th><th>what the scheduler did</th></tr>\n");
    for &model in models {
        for experiment in ["concurrency", "preemption"] {
            let Some(trace) = trace_of(results, dir, model, experiment) else {
                continue;
            };
            let mut said = Vec::new();
            if !trace.phases.is_empty() && trace.span_us > 0.0 {
                let mut phases: Vec<(&String, &f64)> = trace.phases.iter().collect();
                phases.sort_by(|a, b| b.1.total_cmp(a.1));
                let shares: Vec<String> = phases
                    .iter()
                    .take(4)
                    .map(|(name, us)| format!("{name} {:.0}%", **us / trace.span_us * 100.0))
                    .collect();
                let waiting = ["select", "poll"]
                    .iter()
                    .filter_map(|name| trace.phases.get(*name))
                    .sum::<f64>();
                said.push(format!(
                    "loop busy {:.0}% of the time (not waiting in select/poll); phases: {}",
                    (1.0 - waiting / trace.span_us).clamp(0.0, 1.0) * 100.0,
                    shares.join(", ")
                ));
            }
            if let Some(steals) = trace.instants.get("steal") {
                said.push(format!("{steals} steals between Ps"));
            }
            let queues = runq::queue_samples(&trace);
            if !queues.is_empty() {
                let most = queues.iter().map(|q| q.waiting).fold(0.0, f64::max);
                let global = queues.iter().map(|q| q.global).fold(0.0, f64::max);
                let noun = if most == 1.0 {
                    "goroutine"
                } else {
                    "goroutines"
                };
                said.push(format!(
                    "at most {most:.0} {noun} waiting in the run queues ({global:.0} on the global queue), sampled every 1 ms"
                ));
            }
            if let Some(drops) = trace.instants.get("gil drop") {
                said.push(format!(
                    "{drops} GIL hand-offs, {} forced by the switch interval",
                    trace.forced_gil_drops
                ));
            }
            if let Some(started) = trace.instants.get("process start") {
                said.push(format!(
                    "{started} worker processes started, {} exited; {} frames through sockets",
                    trace.instants.get("process exit").copied().unwrap_or(0),
                    trace.counters.get("frame sent bytes").copied().unwrap_or(0)
                        + trace
                            .counters
                            .get("frame received bytes")
                            .copied()
                            .unwrap_or(0)
                ));
            }
            if let Some(parks) = trace.instants.get("park") {
                said.push(format!("{parks} parks"));
            }
            if said.is_empty() {
                said.push(format!(
                    "{} task runs; no scheduler-internal events",
                    trace.runs.len()
                ));
            }
            let _ = writeln!(
                out,
                "<tr><td>{} ({})</td><td>{experiment}</td><td>{}</td></tr>",
                column(model),
                model.name(),
                escape(&said.join("; "))
            );
        }
    }
    out.push_str("</table>\n");
}

/// Writes `report.html` into `dir` and returns its path.
pub fn write(results: &Results, dir: &Path) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let path = dir.join("report.html");
    fs::write(&path, html(results, dir))?;
    Ok(path)
}
