//! The essay's comparison table: its claims, and the measurements that back or refute them.
//!
//! ```text
//!   result lines of the experiments ──► Figures (by model, experiment, metric)
//!                                            │
//!   the essay's claim for (row, model) ──────┼──► Cell { claim, measured, verdict }
//!                                            ▼
//!                                  the table: rows × models, printed and written to JSON
//! ```
//!
//! Each row reads the figures of one experiment and turns them into a short measured text and a
//! verdict by a rule written next to the row below: a measurement agrees with a claim when it
//! shows what the claim says would happen, with margins wide enough for a loaded 2-core machine.
//! Rows that are no claim about a measurable quantity (the scheduler's description) give
//! [`Verdict::Shown`]: the figures are printed, no mark is given. A cell whose experiment did not
//! run is [`Verdict::NotMeasured`], never a number from elsewhere.

use std::collections::HashMap;

use probe::result::ResultLine;

use crate::experiments::Experiment;
use crate::model::Model;

mod render;

pub use render::render;

/// A row of the essay's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Row {
    /// Can tasks run on several cores at once?
    Parallelism,
    /// Can many tasks be in progress at once?
    Concurrency,
    /// Who takes the CPU from a task that does not give it up?
    Preemption,
    /// How many OS threads (or processes) the tasks run on.
    ThreadsUsed,
    /// What schedules the tasks, and what a switch costs.
    Scheduler,
    /// How the code reads: each model's echo runner, its length and style.
    EaseOfUse,
    /// What the model is best at, derived from the rows above.
    BestFor,
    /// What starting a task costs (a row the essay leaves out).
    SpawnCost,
    /// What a waiting task weighs (a row the essay leaves out).
    MemoryPerTask,
    /// What one blocking call does to the others (a row the essay leaves out).
    BlockingCall,
    /// How long the model takes to start (a row the essay leaves out).
    Startup,
    /// What handing a task to another worker costs: IPC for processes (a row the essay leaves
    /// out).
    IpcCost,
    /// How late short requests come back while CPU-bound work runs beside them (a row the essay
    /// leaves out; the convoy effect is one of its causes).
    LatencyUnderLoad,
    /// What one CPU-bound task does to blocking I/O beside it (a row the essay leaves out).
    Convoy,
}

impl Row {
    /// Every row, in the essay's order.
    pub const ALL: [Row; 14] = [
        Row::Parallelism,
        Row::Concurrency,
        Row::Preemption,
        Row::ThreadsUsed,
        Row::Scheduler,
        Row::EaseOfUse,
        Row::BestFor,
        Row::SpawnCost,
        Row::MemoryPerTask,
        Row::BlockingCall,
        Row::Startup,
        Row::IpcCost,
        Row::LatencyUnderLoad,
        Row::Convoy,
    ];

    /// The row's title, as the essay writes it.
    pub fn title(self) -> &'static str {
        match self {
            Row::Parallelism => "Parallelism",
            Row::Concurrency => "Concurrency",
            Row::Preemption => "Preemption",
            Row::ThreadsUsed => "Threads used",
            Row::Scheduler => "Scheduler",
            Row::EaseOfUse => "Ease of use",
            Row::BestFor => "Best for",
            Row::SpawnCost => "Spawn cost",
            Row::MemoryPerTask => "Memory per waiting task",
            Row::BlockingCall => "One blocking call",
            Row::Startup => "Start-up",
            Row::IpcCost => "IPC cost per task",
            Row::LatencyUnderLoad => "p99 under CPU load",
            Row::Convoy => "Convoy effect",
        }
    }

    /// What was measured for it.
    pub fn measurement(self) -> &'static str {
        match self {
            Row::Parallelism => "speedup of a fixed CPU-bound job, 1 worker to one per core",
            Row::Concurrency => {
                "waits of 100 ms started at once: peak in flight, wall time; a TCP echo server's \
                 connections"
            }
            Row::Preemption => "worst delay of a 1 ms ticker beside a hog with no yield point",
            Row::ThreadsUsed => "OS threads and processes alive during the concurrency run",
            Row::Scheduler => "cost of a yield and of a round trip between two tasks",
            Row::EaseOfUse => "the model's echo runner: lines of code and style",
            Row::BestFor => "derived: CPU-bound from parallelism, I/O from concurrency",
            Row::SpawnCost => "time to start and join one empty task",
            Row::MemoryPerTask => "resident memory per task waiting on one event",
            Row::BlockingCall => {
                "worst delay of a 1 ms ticker beside a 200 ms blocking system call"
            }
            Row::Startup => "from nothing to a first task's result, in a fresh process",
            Row::IpcCost => "a tiny task handed to another worker and its result back",
            Row::LatencyUnderLoad => {
                "p99 of short echo requests beside one CPU-bound worker per core of the same model"
            }
            Row::Convoy => {
                "blocking round trips to a 0.5 ms echo beside one CPU-bound task of the model, and alone"
            }
        }
    }

    /// The experiments its cells read.
    pub fn experiments(self) -> &'static [Experiment] {
        match self {
            Row::Parallelism => &[Experiment::Parallelism],
            Row::Concurrency => &[Experiment::Concurrency, Experiment::Echo],
            Row::ThreadsUsed => &[Experiment::Concurrency],
            Row::Preemption => &[Experiment::Preemption],
            Row::Scheduler => &[Experiment::Switching, Experiment::Concurrency],
            Row::EaseOfUse => &[],
            Row::BestFor => &[Experiment::Parallelism, Experiment::Concurrency],
            Row::SpawnCost => &[Experiment::Spawn],
            Row::MemoryPerTask => &[Experiment::Memory],
            Row::BlockingCall => &[Experiment::Blocking],
            Row::Startup => &[Experiment::Startup],
            Row::IpcCost => &[Experiment::Handoff],
            Row::LatencyUnderLoad => &[Experiment::Echo],
            Row::Convoy => &[Experiment::Convoy],
        }
    }
}

/// What a cell of a row the essay leaves out says in place of a claim.
pub const NO_CLAIM: &str = "(not in the essay)";

/// The essay's claim for `row` and `model`.
pub fn claim(row: Row, model: Model) -> &'static str {
    use Model::*;
    match (row, model) {
        (
            Row::SpawnCost
            | Row::MemoryPerTask
            | Row::BlockingCall
            | Row::Startup
            | Row::IpcCost
            | Row::LatencyUnderLoad
            | Row::Convoy,
            _,
        ) => NO_CLAIM,
        (Row::Parallelism, Goroutines | Procpool) => "yes",
        (Row::Parallelism, GilThreads) => "no (GIL)",
        (Row::Parallelism, AsyncioLoop | UvLoop) => "no",
        (Row::Concurrency, Goroutines | AsyncioLoop | UvLoop) => "yes",
        (Row::Concurrency, Procpool) => "limited",
        (Row::Concurrency, GilThreads) => "yes (I/O only)",
        (Row::Preemption, Goroutines) => "automatic (runtime)",
        (Row::Preemption, Procpool) => "OS",
        (Row::Preemption, GilThreads) => "OS, GIL-controlled",
        (Row::Preemption, AsyncioLoop | UvLoop) => "manual (await)",
        (Row::ThreadsUsed, Goroutines) => "many",
        (Row::ThreadsUsed, Procpool) => "many processes",
        (Row::ThreadsUsed, GilThreads) => "many threads",
        (Row::ThreadsUsed, AsyncioLoop | UvLoop) => "one",
        (Row::Scheduler, Goroutines) => "Go runtime, user space",
        (Row::Scheduler, Procpool) => "OS kernel",
        (Row::Scheduler, GilThreads) => "OS + GIL",
        (Row::Scheduler, AsyncioLoop) => "event loop",
        (Row::Scheduler, UvLoop) => "libuv event loop",
        (Row::EaseOfUse, Goroutines) => "natural blocking style",
        (Row::EaseOfUse, Procpool) => "heavy IPC",
        (Row::EaseOfUse, GilThreads) => "GIL issues",
        (Row::EaseOfUse, AsyncioLoop) => "verbose async",
        (Row::EaseOfUse, UvLoop) => "async syntax",
        (Row::BestFor, Goroutines) => "scalable servers, CPU + I/O",
        (Row::BestFor, Procpool) => "CPU-bound jobs",
        (Row::BestFor, GilThreads) => "I/O concurrency",
        (Row::BestFor, AsyncioLoop | UvLoop) => "async I/O",
    }
}

/// The essay's name for a model's column.
pub fn column(model: Model) -> &'static str {
    match model {
        Model::Goroutines => "Go",
        Model::Procpool => "Python MP",
        Model::GilThreads => "Python threads",
        Model::AsyncioLoop => "Python asyncio",
        Model::UvLoop => "Node.js",
    }
}

/// Whether a measurement agrees with its claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The measurement shows what the claim says.
    Agrees,
    /// The measurement shows otherwise.
    Disagrees,
    /// Figures are shown; the claim is a description, not a measurable prediction.
    Shown,
    /// The experiment did not run for this model.
    NotMeasured,
}

impl Verdict {
    /// The mark printed beside the cell.
    pub fn mark(self) -> &'static str {
        match self {
            Verdict::Agrees => "✓",
            Verdict::Disagrees => "✗",
            Verdict::Shown => "·",
            Verdict::NotMeasured => "?",
        }
    }

    /// The word `results.json` uses.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Agrees => "agrees",
            Verdict::Disagrees => "disagrees",
            Verdict::Shown => "shown",
            Verdict::NotMeasured => "not-measured",
        }
    }
}

/// One cell: the claim, what was measured, and whether they agree.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// The row.
    pub row: Row,
    /// The model.
    pub model: Model,
    /// The essay's claim.
    pub claim: &'static str,
    /// The measurement, in a few words (or why there is none).
    pub measured: String,
    /// Whether they agree.
    pub verdict: Verdict,
}

/// The figures of a run, by (model, experiment, metric).
#[derive(Debug, Default)]
pub struct Figures(HashMap<(String, String, String), f64>);

impl Figures {
    /// Indexes result lines.
    pub fn new(lines: &[ResultLine]) -> Self {
        Figures(
            lines
                .iter()
                .map(|l| {
                    let key = (l.model.clone(), l.workload.clone(), l.metric.clone());
                    (key, l.value)
                })
                .collect(),
        )
    }

    /// One figure, if it was measured.
    pub fn get(&self, model: Model, experiment: Experiment, metric: &str) -> Option<f64> {
        let key = (
            model.name().to_owned(),
            experiment.name().to_owned(),
            metric.to_owned(),
        );
        self.0.get(&key).copied()
    }
}

/// The table's cells for `models` from the figures of a run on a machine with `cores` cores.
pub fn cells(figures: &Figures, models: &[Model], cores: usize) -> Vec<Cell> {
    Row::ALL
        .iter()
        .flat_map(|&row| models.iter().map(move |&model| (row, model)))
        .map(|(row, model)| {
            let (measured, verdict) = match judge(figures, row, model, cores) {
                Some(judged) => judged,
                None => ("not measured".to_owned(), Verdict::NotMeasured),
            };
            Cell {
                row,
                model,
                claim: claim(row, model),
                measured,
                verdict,
            }
        })
        .collect()
}

fn agrees(holds: bool) -> Verdict {
    if holds {
        Verdict::Agrees
    } else {
        Verdict::Disagrees
    }
}

/// The measured text and verdict of one cell; `None` when a figure it needs is missing.
pub(crate) fn judge(
    figures: &Figures,
    row: Row,
    model: Model,
    cores: usize,
) -> Option<(String, Verdict)> {
    let get = |experiment: Experiment, metric: &str| figures.get(model, experiment, metric);
    let claim = claim(row, model);
    match row {
        // Parallel: at least 3/4 of the ideal speedup. Not parallel: at most 1.25×.
        Row::Parallelism => {
            let speedup = get(Experiment::Parallelism, &format!("speedup_w{cores}"))?;
            let text = format!("{speedup:.2}× on {cores} cores");
            let verdict = if cores < 2 {
                Verdict::Shown
            } else if claim == "yes" {
                agrees(speedup >= 0.75 * cores as f64)
            } else {
                agrees(speedup <= 1.25)
            };
            Some((text, verdict))
        }
        // Concurrent: see `concurrent`. Limited: not.
        Row::Concurrency => {
            let tasks = get(Experiment::Concurrency, "tasks")?;
            let in_flight = get(Experiment::Concurrency, "in_flight_max")?;
            let wall = get(Experiment::Concurrency, "wall_ms")?;
            let floor = get(Experiment::Concurrency, "floor_ms")?;
            let mut text =
                format!("{in_flight:.0} of {tasks:.0} in flight; {wall:.0} ms (floor {floor:.0})");
            let echo = (
                get(Experiment::Echo, "connections_served"),
                get(Experiment::Echo, "connections"),
            );
            if let (Some(served), Some(connections)) = echo {
                text += &format!("; echo: {served:.0} of {connections:.0} connections served");
            }
            let concurrent = concurrent(figures, model)?;
            let verdict = if claim == "limited" {
                agrees(!concurrent)
            } else {
                agrees(concurrent)
            };
            Some((text, verdict))
        }
        // Preempted: the ticker waits at most a quarter of the hog. Manual: at least 3/4 of it.
        Row::Preemption => {
            let delay = get(Experiment::Preemption, "worst_tick_delay_ms")?;
            let hog = get(Experiment::Preemption, "hog_ms")?;
            let text = format!("ticker {delay:.1} ms late beside a {hog:.0} ms hog");
            let verdict = if claim == "manual (await)" {
                agrees(delay >= 0.75 * hog)
            } else {
                agrees(delay <= 0.25 * hog)
            };
            Some((text, verdict))
        }
        Row::ThreadsUsed => {
            let tasks = get(Experiment::Concurrency, "tasks")?;
            let threads = get(Experiment::Concurrency, "os_threads_max")?;
            let processes = get(Experiment::Concurrency, "processes_max")?;
            let text = format!(
                "{} and {} for {tasks:.0} tasks",
                count(threads, "thread"),
                count(processes, "child process")
            );
            let verdict = match claim {
                "one" => agrees(threads <= 1.0),
                "many processes" => agrees(processes > 1.0),
                // A thread per task: as many threads as tasks were in flight at the peak.
                "many threads" => {
                    let in_flight = get(Experiment::Concurrency, "in_flight_max")?;
                    agrees(threads > 1.0 && threads >= 0.9 * in_flight)
                }
                _ => agrees(threads > 1.0),
            };
            Some((text, verdict))
        }
        Row::Scheduler => {
            let yield_ns = get(Experiment::Switching, "ns_per_yield")?;
            let round_trip = get(Experiment::Switching, "ns_per_round_trip")?;
            Some((
                format!("yield {yield_ns:.0} ns, round trip {round_trip:.0} ns"),
                Verdict::Shown,
            ))
        }
        // Read off the runner's code (see `crate::ease`): blocking style agrees with "natural
        // blocking style"; async/await longer than the blocking goroutine runner with "verbose
        // async"; anything but blocking with "async syntax". MP's IPC and the GIL are shown.
        Row::EaseOfUse => {
            let runner = crate::ease::runner(model)?;
            let mut text = format!("{} lines, {}", runner.lines, runner.style.name());
            if let Some(us) =
                get(Experiment::Handoff, "us_per_task").filter(|_| model == Model::Procpool)
            {
                text += &format!(
                    "; a registered task, {} IPC per task",
                    duration_text(us * 1e3)
                );
            }
            let blocking_lines = crate::ease::runner(Model::Goroutines).map_or(0, |r| r.lines);
            let verdict = match claim {
                "natural blocking style" => agrees(runner.style == crate::ease::Style::Blocking),
                "verbose async" => agrees(
                    runner.style == crate::ease::Style::AsyncAwait && runner.lines > blocking_lines,
                ),
                "async syntax" => agrees(runner.style != crate::ease::Style::Blocking),
                _ => Verdict::Shown,
            };
            Some((text, verdict))
        }
        // Derived: CPU-bound work gains from cores; I/O-bound work keeps every wait in flight.
        Row::BestFor => {
            let speedup = get(Experiment::Parallelism, &format!("speedup_w{cores}"))?;
            let cpu = cores >= 2 && speedup >= 0.75 * cores as f64;
            let io = concurrent(figures, model)?;
            let text = match (cpu, io) {
                (true, true) => "CPU-bound and I/O-bound work",
                (true, false) => "CPU-bound work",
                (false, true) => "I/O-bound work",
                (false, false) => "neither",
            };
            let verdict = match claim {
                "scalable servers, CPU + I/O" => agrees(cpu && io),
                "CPU-bound jobs" => agrees(cpu),
                _ => agrees(io && !cpu),
            };
            Some((text.to_owned(), verdict))
        }
        Row::SpawnCost => {
            let ns = get(Experiment::Spawn, "ns_per_task")?;
            Some((format!("{} per task", duration_text(ns)), Verdict::Shown))
        }
        Row::MemoryPerTask => {
            let bytes = get(Experiment::Memory, "bytes_per_task")?;
            Some((format!("{bytes:.0} B per task"), Verdict::Shown))
        }
        Row::BlockingCall => {
            let delay = get(Experiment::Blocking, "worst_tick_delay_ms")?;
            let call = get(Experiment::Blocking, "call_ms")?;
            Some((
                format!("{delay:.1} ms late (a {call:.0} ms call)"),
                Verdict::Shown,
            ))
        }
        // The real systems have only the time from exec (their runtimes start before the
        // program's first line); ours have the runtime's own start in process too.
        Row::Startup => {
            let exec = get(Experiment::Startup, "exec_to_result_us");
            let inside = get(Experiment::Startup, "startup_us");
            let text = match (exec, inside) {
                (Some(exec), Some(inside)) => format!(
                    "{} from exec ({} in process)",
                    duration_text(exec * 1e3),
                    duration_text(inside * 1e3)
                ),
                (Some(exec), None) => format!("{} from exec", duration_text(exec * 1e3)),
                (None, Some(inside)) => format!("{} in process", duration_text(inside * 1e3)),
                (None, None) => return None,
            };
            Some((text, Verdict::Shown))
        }
        Row::LatencyUnderLoad if !Experiment::Echo.applies_to(model) => Some((
            "none: a process pool serves tasks, not sockets".to_owned(),
            Verdict::Shown,
        )),
        Row::LatencyUnderLoad => {
            let loaded = get(Experiment::Echo, "p99_us_loaded")?;
            let idle = get(Experiment::Echo, "p99_us_idle")?;
            Some((
                format!(
                    "{} loaded ({} idle)",
                    duration_text(loaded * 1e3),
                    duration_text(idle * 1e3)
                ),
                Verdict::Shown,
            ))
        }
        Row::Convoy => {
            let loaded = get(Experiment::Convoy, "ms_per_rt_loaded")?;
            let alone = get(Experiment::Convoy, "ms_per_rt_alone")?;
            let slowdown = get(Experiment::Convoy, "slowdown")?;
            Some((
                format!(
                    "{loaded:.1} ms per round trip beside a CPU task ({alone:.1} alone, \
                     {slowdown:.1}×)"
                ),
                Verdict::Shown,
            ))
        }
        Row::IpcCost => {
            let us = get(Experiment::Handoff, "us_per_task")?;
            Some((
                format!("{} per task", duration_text(us * 1e3)),
                Verdict::Shown,
            ))
        }
    }
}

/// Whether `model` ran many tasks at once: at least half the concurrency experiment's waits in
/// flight together, or an echo server that held all of its (at least 100) connections at once.
/// Either shows it; a thread per task may miss the first (the first waits end before the last
/// threads have started: thread start-up, not a limit on concurrency) and show the second.
fn concurrent(figures: &Figures, model: Model) -> Option<bool> {
    let tasks = figures.get(model, Experiment::Concurrency, "tasks")?;
    let in_flight = figures.get(model, Experiment::Concurrency, "in_flight_max")?;
    let served = figures.get(model, Experiment::Echo, "connections_served");
    let connections = figures.get(model, Experiment::Echo, "connections");
    let echo_held_all = matches!((served, connections), (Some(s), Some(c)) if c >= 100.0 && s >= c);
    Some(in_flight >= tasks / 2.0 || echo_held_all)
}

/// A duration given in nanoseconds, in the unit that reads best.
fn duration_text(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{:.1} ms", ns / 1e6)
    }
}

/// "1 thread", "6 threads".
fn count(n: f64, noun: &str) -> String {
    if n == 1.0 {
        format!("1 {noun}")
    } else if noun.ends_with('s') {
        format!("{n:.0} {noun}es")
    } else {
        format!("{n:.0} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(model: Model, experiment: Experiment, metric: &str, value: f64) -> ResultLine {
        ResultLine::new(model.name(), experiment.name(), metric, value, "x").expect("finite")
    }

    #[test]
    fn parallel_claims_need_three_quarters_of_the_ideal_speedup() {
        let lines = [
            line(
                Model::Goroutines,
                Experiment::Parallelism,
                "speedup_w2",
                1.6,
            ),
            line(
                Model::AsyncioLoop,
                Experiment::Parallelism,
                "speedup_w2",
                1.6,
            ),
        ];
        let figures = Figures::new(&lines);
        let cells = cells(&figures, &[Model::Goroutines, Model::AsyncioLoop], 2);
        let verdict = |model| {
            cells
                .iter()
                .find(|c| c.row == Row::Parallelism && c.model == model)
                .map(|c| c.verdict)
        };
        assert_eq!(verdict(Model::Goroutines), Some(Verdict::Agrees));
        assert_eq!(verdict(Model::AsyncioLoop), Some(Verdict::Disagrees));
    }

    #[test]
    fn a_missing_figure_is_not_measured_never_guessed() {
        let cells = cells(&Figures::default(), &[Model::UvLoop], 2);
        assert_eq!(cells.len(), Row::ALL.len());
        // Only the row read off the source code needs no figure.
        let measured: Vec<&Cell> = cells.iter().filter(|c| c.row != Row::EaseOfUse).collect();
        assert!(measured.iter().all(|c| c.verdict == Verdict::NotMeasured));
        assert!(measured.iter().all(|c| c.measured == "not measured"));
    }

    #[test]
    fn the_convoy_cell_shows_the_loaded_round_trip_beside_the_alone_one() {
        let lines = [
            ("ms_per_rt_loaded", 7.12),
            ("ms_per_rt_alone", 0.71),
            ("slowdown", 10.03),
        ]
        .map(|(metric, value)| line(Model::GilThreads, Experiment::Convoy, metric, value));
        let cells = cells(&Figures::new(&lines), &[Model::GilThreads], 2);
        let convoy = cells
            .iter()
            .find(|c| c.row == Row::Convoy)
            .expect("a convoy cell");
        assert_eq!(
            convoy.measured,
            "7.1 ms per round trip beside a CPU task (0.7 alone, 10.0×)"
        );
        assert_eq!((convoy.claim, convoy.verdict), (NO_CLAIM, Verdict::Shown));
    }

    #[test]
    fn manual_preemption_agrees_only_when_the_ticker_waited_for_the_hog() {
        let lines = [
            line(
                Model::AsyncioLoop,
                Experiment::Preemption,
                "worst_tick_delay_ms",
                199.0,
            ),
            line(Model::AsyncioLoop, Experiment::Preemption, "hog_ms", 200.0),
            line(
                Model::Goroutines,
                Experiment::Preemption,
                "worst_tick_delay_ms",
                199.0,
            ),
            line(Model::Goroutines, Experiment::Preemption, "hog_ms", 200.0),
        ];
        let cells = cells(
            &Figures::new(&lines),
            &[Model::Goroutines, Model::AsyncioLoop],
            2,
        );
        let verdict = |model| {
            cells
                .iter()
                .find(|c| c.row == Row::Preemption && c.model == model)
                .map(|c| c.verdict)
        };
        assert_eq!(verdict(Model::AsyncioLoop), Some(Verdict::Agrees));
        assert_eq!(verdict(Model::Goroutines), Some(Verdict::Disagrees));
    }
}
