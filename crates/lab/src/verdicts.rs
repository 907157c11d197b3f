//! One line per experiment and model: what held the tasks back.
//!
//! A figure says how long something took; the verdict says why, in the model's own terms: the
//! GIL, the loop busy in a callback, waiting for a worker, behind a hog until sysmon stepped in.
//! Each verdict is read off the figures by the rules below (the same margins as the table's
//! verdicts), so it can be wrong only where a figure is.

use crate::experiments::Experiment;
use crate::model::Model;
use crate::table::Figures;

/// What held the tasks of `experiment` back on `model`, if the experiment ran and the question
/// applies to it (it does to parallelism, concurrency, preemption, blocking and convoy).
pub fn held_back(
    figures: &Figures,
    model: Model,
    experiment: Experiment,
    cores: usize,
) -> Option<String> {
    let get = |metric: &str| figures.get(model, experiment, metric);
    let event_loop = matches!(model, Model::AsyncioLoop | Model::UvLoop);
    match experiment {
        Experiment::Parallelism => {
            let speedup = get(&format!("speedup_w{cores}"))?;
            Some(if cores >= 2 && speedup >= 0.75 * cores as f64 {
                format!("nothing: {cores} workers ran on {cores} cores at once ({speedup:.2}×)")
            } else if model == Model::GilThreads {
                format!("the GIL: one thread at a time runs Python code ({speedup:.2}×)")
            } else if event_loop {
                format!("one thread: the loop runs one callback at a time ({speedup:.2}×)")
            } else {
                format!("the machine: fewer free cores than workers, other load ({speedup:.2}×)")
            })
        }
        Experiment::Concurrency => {
            let tasks = get("tasks")?;
            let in_flight = get("in_flight_max")?;
            let wall = get("wall_ms")?;
            let floor = get("floor_ms")?;
            Some(if in_flight >= tasks {
                format!(
                    "nothing: all {tasks:.0} waits in flight at once; {:.0} ms over the floor is \
                     arming and waking {tasks:.0} timers",
                    (wall - floor).max(0.0)
                )
            } else if in_flight >= tasks / 2.0 {
                format!(
                    "starting them: the first waits ended before the last task started \
                     ({in_flight:.0} of {tasks:.0} in flight at the peak, {wall:.0} ms)"
                )
            } else {
                format!(
                    "waiting for a worker: at most {in_flight:.0} of {tasks:.0} waits in flight, \
                     {wall:.0} ms for a {floor:.0} ms wait"
                )
            })
        }
        Experiment::Preemption | Experiment::Blocking => {
            let delay = get("worst_tick_delay_ms")?;
            let busy = match experiment {
                Experiment::Preemption => get("hog_ms")?,
                _ => get("call_ms")?,
            };
            let what = match experiment {
                Experiment::Preemption => "the hog",
                _ => "the blocking call",
            };
            Some(if delay >= 0.75 * busy {
                if event_loop {
                    format!("the loop busy in one callback: the ticker waited out {what} ({delay:.0} ms)")
                } else {
                    format!("behind {what} for its whole {busy:.0} ms: nothing took the CPU back")
                }
            } else {
                match model {
                    Model::Goroutines => format!(
                        "behind {what} until sysmon handed the P to another thread ({delay:.1} ms)"
                    ),
                    Model::GilThreads if experiment == Experiment::Preemption => format!(
                        "the GIL: the hog kept it until the switch interval forced a drop \
                         ({delay:.1} ms)"
                    ),
                    Model::GilThreads => {
                        format!("little: the call released the GIL, the ticker ran ({delay:.1} ms)")
                    }
                    Model::Procpool => {
                        format!("the OS scheduler's time slice between processes ({delay:.1} ms)")
                    }
                    _ => format!("{what} held the ticker {delay:.1} ms"),
                }
            })
        }
        Experiment::Convoy => {
            let loaded = get("ms_per_rt_loaded")?;
            let slowdown = get("slowdown")?;
            // Twice as slow or worse: the I/O waited for the CPU task, not for its reply.
            Some(if slowdown >= 2.0 {
                match model {
                    Model::GilThreads => format!(
                        "the GIL: each reply waited a switch interval for the spinning thread \
                         to let go ({loaded:.1} ms per round trip, {slowdown:.1}×)"
                    ),
                    Model::AsyncioLoop => format!(
                        "the GIL: after each select the loop waited for the executor's spinning \
                         thread to let go ({loaded:.1} ms per round trip, {slowdown:.1}×)"
                    ),
                    _ => format!(
                        "the CPU task: the I/O waited for it to give up the CPU \
                         ({loaded:.1} ms per round trip, {slowdown:.1}×)"
                    ),
                }
            } else {
                let apart = match model {
                    Model::Goroutines => "on another P",
                    Model::Procpool => "in a worker process",
                    Model::UvLoop => "in a worker thread with a loop of its own",
                    _ => "beside it",
                };
                format!(
                    "little: the CPU task ran {apart}, the I/O kept its pace \
                     ({loaded:.1} ms per round trip, {slowdown:.1}×)"
                )
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use probe::result::ResultLine;

    #[test]
    fn a_convoy_is_the_gil_under_it_and_little_elsewhere() {
        let lines = ["gil-threads", "goroutines"].map(|model| {
            let slowdown = if model == "gil-threads" { 8.0 } else { 1.1 };
            [
                ResultLine::new(model, "convoy", "ms_per_rt_loaded", 0.7 * slowdown, "ms"),
                ResultLine::new(model, "convoy", "slowdown", slowdown, "x"),
            ]
            .map(|line| line.expect("finite"))
        });
        let figures = Figures::new(&lines.concat());
        let verdict = |model| held_back(&figures, model, Experiment::Convoy, 2);
        assert!(verdict(Model::GilThreads).is_some_and(|v| v.starts_with("the GIL")));
        assert!(verdict(Model::Goroutines).is_some_and(|v| v.contains("on another P")));
    }

    #[test]
    fn an_event_loop_behind_a_hog_is_the_loop_busy_in_a_callback() {
        let lines = [
            ResultLine::new(
                "asyncio-loop",
                "preemption",
                "worst_tick_delay_ms",
                99.0,
                "ms",
            ),
            ResultLine::new("asyncio-loop", "preemption", "hog_ms", 100.0, "ms"),
        ]
        .map(|line| line.expect("finite"));
        let figures = Figures::new(&lines);
        let verdict = held_back(&figures, Model::AsyncioLoop, Experiment::Preemption, 2);
        assert!(verdict.is_some_and(|v| v.starts_with("the loop busy in one callback")));
        assert_eq!(
            held_back(&figures, Model::AsyncioLoop, Experiment::Switching, 2),
            None
        );
    }
}
