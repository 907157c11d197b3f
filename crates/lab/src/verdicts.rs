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
/// applies to it (it does to parallelism, concurrency, preemption and blocking).
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
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use probe::result::ResultLine;

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
