//! Calibration: each cell measured on the real system our model models, beside our model.
//!
//! `schedlab peers` runs the same experiments on the real Go, CPython and Node and writes
//! `peers.json` (see [`crate::peers`]). When the main job finds that file in its output folder,
//! every cell gains the real system's measurement, judged by the same rule against the same
//! claim ([`crate::table`]), and the ratio of our figure to the real one on the row's key metric:
//!
//! ```text
//!   peers.json (go, cpython-mp, ...) ──model names──► Figures ──table's rules──► real measured, verdict
//!   results (goroutines, procpool, ...) ─────────────────────────────────────────► ours / real
//! ```
//!
//! A ratio is ours over theirs: below 1 means our figure is smaller (faster, for a time).

use std::fs;
use std::path::Path;

use probe::result::ResultLine;

use crate::experiments::Experiment;
use crate::model::Model;
use crate::peers::{self, Peer};
use crate::table::{self, Figures, Row, Verdict};

/// One cell's calibration.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    /// The row.
    pub row: Row,
    /// Our model.
    pub model: Model,
    /// The real system's peer name (`go`, `cpython-mp`, ...).
    pub peer: &'static str,
    /// The real system's measurement, in the table's words.
    pub measured: String,
    /// The claim judged on the real system's measurement.
    pub verdict: Verdict,
    /// Our figure over the real one, on the row's key metric.
    pub ratio: Option<f64>,
}

/// The metric a row's ratio compares, if it has one.
pub fn key_metric(row: Row, cores: usize) -> Option<(Experiment, String)> {
    let (experiment, metric) = match row {
        Row::Parallelism => (Experiment::Parallelism, format!("speedup_w{cores}")),
        Row::Concurrency => (Experiment::Concurrency, "wall_ms".to_owned()),
        Row::Preemption => (Experiment::Preemption, "worst_tick_delay_ms".to_owned()),
        Row::ThreadsUsed => (Experiment::Concurrency, "os_threads_max".to_owned()),
        Row::Scheduler => (Experiment::Switching, "ns_per_round_trip".to_owned()),
        Row::SpawnCost => (Experiment::Spawn, "ns_per_task".to_owned()),
        Row::MemoryPerTask => (Experiment::Memory, "bytes_per_task".to_owned()),
        Row::BlockingCall => (Experiment::Blocking, "worst_tick_delay_ms".to_owned()),
        Row::IpcCost => (Experiment::Handoff, "us_per_task".to_owned()),
        Row::LatencyUnderLoad => (Experiment::Echo, "p99_us_loaded".to_owned()),
        Row::Convoy => (Experiment::Convoy, "ms_per_rt_loaded".to_owned()),
        Row::Startup => (Experiment::Startup, "exec_to_result_us".to_owned()),
        Row::EaseOfUse | Row::BestFor => return None,
    };
    Some((experiment, metric))
}

/// The figures of `dir/peers.json` under our models' names, if the file is there and reads;
/// `Err` with the reason when it is there but does not.
pub fn load(dir: &Path) -> Result<Option<Figures>, String> {
    let path = dir.join("peers.json");
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
    };
    let results: peers::Results = serde_json::from_str(&text)
        .map_err(|error| format!("{} is no peers.json: {error}", path.display()))?;
    let lines: Vec<ResultLine> = results
        .figures
        .iter()
        .filter_map(|f| {
            let model = Peer::from_name(&f.model)?.model();
            ResultLine::new(model.name(), &f.experiment, &f.metric, f.value, &f.unit).ok()
        })
        .collect();
    Ok(Some(Figures::new(&lines)))
}

/// Every cell's calibration that the real systems' figures allow.
pub fn calibrate(
    ours: &Figures,
    real: &Figures,
    models: &[Model],
    cores: usize,
) -> Vec<Calibration> {
    let mut calibrations = Vec::new();
    for row in Row::ALL {
        for &model in models {
            let Some((measured, verdict)) = table::judge(real, row, model, cores) else {
                continue;
            };
            // Read off our own source: nothing of the real system's to show.
            if row == Row::EaseOfUse {
                continue;
            }
            let ratio = key_metric(row, cores).and_then(|(experiment, metric)| {
                let ours = ours.get(model, experiment, &metric)?;
                let theirs = real.get(model, experiment, &metric)?;
                (theirs != 0.0).then(|| ours / theirs)
            });
            calibrations.push(Calibration {
                row,
                model,
                peer: Peer::of_model(model).name(),
                measured,
                verdict,
                ratio,
            });
        }
    }
    calibrations
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_system_is_judged_by_the_same_rule_and_compared_on_the_key_metric() {
        let line = |model: Model, metric: &str, value: f64| {
            ResultLine::new(model.name(), "parallelism", metric, value, "x").expect("finite")
        };
        let ours = Figures::new(&[line(Model::Goroutines, "speedup_w2", 1.8)]);
        let real = Figures::new(&[line(Model::Goroutines, "speedup_w2", 2.0)]);
        let calibrations = calibrate(&ours, &real, &[Model::Goroutines], 2);
        let parallelism = calibrations
            .iter()
            .find(|c| c.row == Row::Parallelism)
            .expect("a parallelism calibration");
        assert_eq!(parallelism.peer, "go");
        assert_eq!(parallelism.verdict, Verdict::Agrees);
        assert!((parallelism.ratio.unwrap_or(0.0) - 0.9).abs() < 1e-9);
    }
}
