//! The main job end to end at `--quick` sizes: the table, `results.json` against its schema
//! (the `Results` type, which refuses unknown fields), and the essay's clear contrasts, with
//! bands wide enough for a loaded 2-core machine.

mod common;

use common::schedlab;
use lab::essay::Results;
use lab::table::Row;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every model, by name.
const MODELS: [&str; 5] = [
    "goroutines",
    "procpool",
    "gil-threads",
    "asyncio-loop",
    "uv-loop",
];

/// The models that run every task on one thread.
const EVENT_LOOPS: [&str; 2] = ["asyncio-loop", "uv-loop"];

fn figure(results: &Results, model: &str, experiment: &str, metric: &str) -> f64 {
    results
        .figures
        .iter()
        .find(|f| f.model == model && f.experiment == experiment && f.metric == metric)
        .unwrap_or_else(|| panic!("no figure {model} {experiment} {metric}"))
        .value
}

#[test]
fn quick_table_measures_every_cell_of_every_model() {
    let out = std::env::temp_dir().join(format!("schedlab-essay-{}", std::process::id()));
    let out_arg = out.to_str().expect("temp dir is UTF-8");
    let output = schedlab(&["--quick", "--out", out_arg]);
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    for row in Row::ALL {
        assert!(
            stdout.contains(row.title()),
            "no row {:?}:\n{stdout}",
            row.title()
        );
    }
    for column in [
        "Go",
        "Python MP",
        "Python threads",
        "Python asyncio",
        "Node.js",
    ] {
        assert!(stdout.contains(column), "no column {column:?}:\n{stdout}");
    }

    let json = std::fs::read_to_string(out.join("results.json")).expect("results.json written");
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html written");
    assert!(html.contains("<table id=\"claims\">") && html.matches("<svg").count() >= 5);
    let results: Results = serde_json::from_str(&json).expect("results.json matches its schema");
    // Every trace is Chrome Trace Event JSON: an object with a traceEvents array whose events
    // each have a phase, a timestamp, a process and a thread.
    assert_eq!(
        results.traces.len(),
        MODELS.len() * 4,
        "{:#?}",
        results.traces
    );
    for trace in &results.traces {
        let text = std::fs::read_to_string(out.join(&trace.path)).expect("trace written");
        let value: serde_json::Value = serde_json::from_str(&text).expect("trace is JSON");
        let events = value["traceEvents"].as_array().expect("traceEvents");
        for event in events {
            for field in ["ph", "ts", "pid", "tid"] {
                assert!(
                    event.get(field).is_some(),
                    "{}: {event} has no {field}",
                    trace.path
                );
            }
        }
    }
    let go_preemption = results
        .traces
        .iter()
        .find(|t| t.model == "goroutines" && t.experiment == "preemption")
        .expect("a goroutines preemption trace");
    let text = std::fs::read_to_string(out.join(&go_preemption.path)).expect("trace written");
    let runs = lab::report::timeline::runs(&text).expect("a chrome trace");
    let threads: std::collections::BTreeSet<u64> = runs.iter().map(|r| r.thread).collect();
    assert!(
        threads.len() >= 2,
        "the ticker moved off the hog's thread: {threads:?}"
    );
    // Each goroutines timeline has its run-queue and steals plot; procpool's workers ship their
    // task runs back, so its trace has a process of its own per worker, with task slices.
    assert_eq!(
        html.matches(r#"class="runq""#).count(),
        3,
        "preemption, blocking, concurrency"
    );
    // The gil-threads timelines draw the GIL: the ticker waits for it beside the hog.
    assert!(html.contains(r#"class="gil-wait""#), "no GIL wait drawn");
    assert!(
        html.contains(r#"<table id="loop-delay">"#),
        "no event-loop delay"
    );
    // Every blocking-experiment timeline marks the blocking call: recorded by the model's own
    // thread, or (procpool, whose call runs in a worker) the worker's run that made it.
    assert_eq!(
        html.matches(">the blocking call (").count(),
        5,
        "one marked call per model"
    );
    let pool = results
        .traces
        .iter()
        .find(|t| t.model == "procpool" && t.experiment == "concurrency")
        .expect("a procpool concurrency trace");
    let text = std::fs::read_to_string(out.join(&pool.path)).expect("trace written");
    let value: serde_json::Value = serde_json::from_str(&text).expect("trace is JSON");
    let events = value["traceEvents"].as_array().expect("traceEvents");
    let parent = events[0]["pid"].as_u64();
    let workers: std::collections::BTreeSet<u64> = events
        .iter()
        .filter(|e| e["ph"] == "B" && e["pid"].as_u64() != parent)
        .filter_map(|e| e["pid"].as_u64())
        .collect();
    assert!(workers.len() >= 2, "task runs from workers {workers:?}");
    let _ = std::fs::remove_dir_all(&out);
    assert_eq!(results.schema, "schedlab-results/1");
    assert!(results.quick);
    assert_eq!(results.cells.len(), Row::ALL.len() * MODELS.len());
    assert!(
        results.cells.iter().all(|c| c.verdict != "not-measured"),
        "{:#?}",
        results.cells
    );
    assert!(results.failures.is_empty(), "{:#?}", results.failures);

    // The contrasts of the essay: a hog delays the ticker for about its whole run on an event
    // loop, and far less where something preempts it; every wait is in flight at once except in
    // a process pool, which holds one per worker (and nearly every one with a thread per wait).
    for model in MODELS {
        let hog = figure(&results, model, "preemption", "hog_ms");
        let delay = figure(&results, model, "preemption", "worst_tick_delay_ms");
        // The event-loop delay's percentiles lie under the worst tick.
        for experiment in ["preemption", "blocking"] {
            let p50 = figure(&results, model, experiment, "tick_delay_p50_ms");
            let p99 = figure(&results, model, experiment, "tick_delay_p99_ms");
            let worst = figure(&results, model, experiment, "worst_tick_delay_ms");
            assert!(
                p50 <= p99 && p99 <= worst,
                "{model} {experiment}: p50 {p50}, p99 {p99}, worst {worst}"
            );
        }
        if EVENT_LOOPS.contains(&model) {
            assert!(
                delay > 0.7 * hog,
                "{model}: ticker {delay} ms late, hog {hog} ms"
            );
        } else {
            // procpool's ticker gets in only when the OS preempts the worker on the one CPU
            // they are pinned to, so its lateness is that CPU's run-queue wait, which a loaded
            // 2-core machine stretches (71 ms of a 100 ms hog, once at load 10). A ticker that
            // waited out the whole spin would be about the hog's time late; 0.9 still tells
            // the two apart. The models that preempt the hog themselves keep the tighter band.
            let band = if model == "procpool" { 0.9 } else { 0.5 };
            assert!(
                delay < band * hog,
                "{model}: ticker {delay} ms late, hog {hog} ms"
            );
        }
        let tasks = figure(&results, model, "concurrency", "tasks");
        let in_flight = figure(&results, model, "concurrency", "in_flight_max");
        match model {
            "procpool" => assert_eq!(in_flight, results.machine.cores as f64, "one per worker"),
            // A thread per wait: the first waits end before the last threads start (a thread
            // start costs ~80 µs here, 2,000 of them outlast a 100 ms wait, and far longer on a
            // loaded machine: 761 of 2,000 were seen), yet far more than the cores wait at once.
            "gil-threads" => assert!(in_flight >= tasks / 10.0, "{in_flight} of {tasks}"),
            // Every wait in flight at once, give or take the few that a stall of the machine
            // lets end before the last task starts.
            _ => assert!(
                in_flight >= 0.9 * tasks,
                "{model}: {in_flight} of {tasks} in flight"
            ),
        }
    }
    for model in EVENT_LOOPS {
        let threads = figure(&results, model, "concurrency", "os_threads_max");
        assert_eq!(threads, 1.0, "{model}");
    }
    // The convoy cell of every model: its round trips, each no faster than the server's
    // 0.5 ms sleep, and the slowdown their quotient.
    for model in MODELS {
        assert_eq!(figure(&results, model, "convoy", "round_trips"), 40.0);
        let alone = figure(&results, model, "convoy", "ms_per_rt_alone");
        let loaded = figure(&results, model, "convoy", "ms_per_rt_loaded");
        let slowdown = figure(&results, model, "convoy", "slowdown");
        assert!(
            alone >= 0.5 && loaded >= 0.5,
            "{model}: {alone} / {loaded} ms"
        );
        assert!(
            (slowdown - loaded / alone).abs() < 1e-2 * slowdown,
            "{model}: {slowdown}"
        );
    }
}

/// `slowdown` of the convoy experiment on `model`, from one `__experiment` child at quick sizes.
fn convoy_slowdown(model: &str) -> f64 {
    let output = schedlab(&["__experiment", model, "convoy", "--quick"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    common::result_lines(&output)
        .into_iter()
        .find(|line| line.metric == "slowdown")
        .map(|line| line.value)
        .expect("a slowdown figure")
}

/// The convoy contrast: beside one CPU-bound task, blocking round trips slow down several times
/// under a GIL (gil-threads, and asyncio-loop run as CPython runs it, under the GIL) and keep
/// their pace where the CPU task runs elsewhere. The GIL's slowdown (about 8× here) only grows
/// with other load; the others' can only suffer from it, so they get three tries.
#[test]
fn a_cpu_task_convoys_blocking_io_only_under_the_gil() {
    if probe::threads::available_parallelism() < 2 {
        eprintln!("skipped: one core available");
        return;
    }
    for model in ["gil-threads", "asyncio-loop"] {
        let slowdown = convoy_slowdown(model);
        assert!(slowdown > 2.5, "{model}: slowdown {slowdown}");
    }
    for model in ["goroutines", "procpool", "uv-loop"] {
        let tries: Vec<f64> = (0..3).map(|_| convoy_slowdown(model)).collect();
        let best = tries.iter().copied().fold(f64::INFINITY, f64::min);
        assert!(best < 2.0, "{model}: slowdowns {tries:?}");
    }
}

/// `speedup_w<cores>` of `model` from one `__experiment` child at quick sizes.
fn speedup(model: &str, cores: usize) -> f64 {
    let output = schedlab(&[
        "__experiment",
        model,
        "parallelism",
        "--quick",
        "--cores",
        &cores.to_string(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    common::result_lines(&output)
        .into_iter()
        .find(|line| line.metric == format!("speedup_w{cores}"))
        .map(|line| line.value)
        .expect("a speedup figure")
}

/// The essay's parallelism contrast: goroutines and procpool speed up on 2 cores; gil-threads
/// and the event loops do not. Other load on the machine moves both ways: it takes cores from
/// the two-worker run (a parallel model looks serial) or slows the one-worker run more than the
/// two-worker one (a serial model looks parallel: gil-threads once measured 1.55 at a load
/// average of 8). So each side gets three tries: a parallel model must clear the band in one,
/// a serial one stay below it in one.
#[test]
fn goroutines_and_procpool_speed_up_on_two_cores_and_the_others_do_not() {
    let cores = probe::threads::available_parallelism();
    if cores < 2 {
        eprintln!("skipped: one core available");
        return;
    }
    for model in ["gil-threads", "asyncio-loop", "uv-loop"] {
        let mut tries = Vec::new();
        while tries.len() < 3 && tries.iter().all(|&speedup| speedup >= 1.3) {
            tries.push(speedup(model, 2));
        }
        let least = tries.iter().copied().fold(f64::INFINITY, f64::min);
        assert!(least < 1.3, "{model} speedups {tries:?} on 2 workers");
    }
    for model in ["goroutines", "procpool"] {
        let tries: Vec<f64> = (0..3).map(|_| speedup(model, 2)).collect();
        let best = tries.iter().copied().fold(0.0, f64::max);
        assert!(best > 1.3, "{model} speedups {tries:?} on 2 workers");
    }
}

#[test]
fn list_names_every_experiment() {
    let output = schedlab(&["list"]);
    assert!(output.status.success());
    let stdout = text(&output.stdout);
    for experiment in lab::experiments::Experiment::ALL {
        assert!(stdout.contains(experiment.name()), "{stdout}");
    }
}

#[test]
fn bad_table_options_exit_2_with_a_message() {
    for args in [
        &["--models", "nope"][..],
        &["--models", ""],
        &["--experiments", "parallelism,bogus"],
        &["--quick=yes"],
        &["--quick", "extra"],
        &["--out", ""],
    ] {
        let output = schedlab(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.starts_with("schedlab: "), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn an_unknown_experiment_in_a_child_is_a_usage_error() {
    let output = schedlab(&["__experiment", "goroutines", "nope"]);
    assert_eq!(output.status.code(), Some(2));
}

/// With `peers.json` (from `schedlab peers`) in the output folder, every cell gains the real
/// system's measurement, judged by the same rule, and our figure over theirs.
#[test]
fn a_peers_json_in_the_output_folder_adds_the_real_systems_column() {
    let out = std::env::temp_dir().join(format!("schedlab-calibration-{}", std::process::id()));
    std::fs::create_dir_all(&out).expect("temp dir");
    let peers = serde_json::json!({
        "schema": "schedlab-peers/1",
        "command": ["schedlab", "peers"],
        "figures": [{
            "model": "go",
            "experiment": "switching",
            "metric": "ns_per_round_trip",
            "value": 300.0,
            "unit": "ns"
        }, {
            "model": "go",
            "experiment": "switching",
            "metric": "ns_per_yield",
            "value": 70.0,
            "unit": "ns"
        }],
        "skipped": []
    });
    std::fs::write(out.join("peers.json"), peers.to_string()).expect("write peers.json");
    let out_arg = out.to_str().expect("temp dir is UTF-8");
    let output = schedlab(&[
        "--quick",
        "--models",
        "goroutines",
        "--experiments",
        "switching",
        "--out",
        out_arg,
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("↳ go"),
        "{}",
        text(&output.stdout)
    );
    let json = std::fs::read_to_string(out.join("results.json")).expect("results.json written");
    let results: Results = serde_json::from_str(&json).expect("results.json matches its schema");
    let _ = std::fs::remove_dir_all(&out);
    let scheduler = results
        .calibration
        .iter()
        .find(|c| c.row == "Scheduler" && c.model == "goroutines")
        .expect("the real Go's scheduler cell");
    assert_eq!(scheduler.peer, "go");
    assert_eq!(scheduler.measured, "yield 70 ns, round trip 300 ns");
    let ours = figure(&results, "goroutines", "switching", "ns_per_round_trip");
    let ratio = scheduler.ratio.expect("a ratio on the round trip");
    assert!((ratio - ours / 300.0).abs() < 1e-9, "{ratio}");
}
