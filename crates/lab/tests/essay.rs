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

fn figure(results: &Results, model: &str, experiment: &str, metric: &str) -> f64 {
    results
        .figures
        .iter()
        .find(|f| f.model == model && f.experiment == experiment && f.metric == metric)
        .unwrap_or_else(|| panic!("no figure {model} {experiment} {metric}"))
        .value
}

#[test]
fn quick_table_measures_every_cell_of_goroutines_and_asyncio_loop() {
    let out = std::env::temp_dir().join(format!("schedlab-essay-{}", std::process::id()));
    let out_arg = out.to_str().expect("temp dir is UTF-8");
    let output = schedlab(&[
        "--quick",
        "--models",
        "goroutines,asyncio-loop",
        "--out",
        out_arg,
    ]);
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
    assert!(stdout.contains("Go") && stdout.contains("Python asyncio"));

    let json = std::fs::read_to_string(out.join("results.json")).expect("results.json written");
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html written");
    assert!(html.contains("<table id=\"claims\">") && html.matches("<svg").count() >= 5);
    let results: Results = serde_json::from_str(&json).expect("results.json matches its schema");
    // Every trace is Chrome Trace Event JSON: an object with a traceEvents array whose events
    // each have a phase, a timestamp, a process and a thread.
    assert_eq!(results.traces.len(), 2 * 4, "{:#?}", results.traces);
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
    let _ = std::fs::remove_dir_all(&out);
    assert_eq!(results.schema, "schedlab-results/1");
    assert!(results.quick);
    assert_eq!(results.cells.len(), Row::ALL.len() * 2);
    assert!(
        results.cells.iter().all(|c| c.verdict != "not-measured"),
        "{:#?}",
        results.cells
    );
    assert!(results.failures.is_empty(), "{:#?}", results.failures);

    // The contrasts of the essay: a hog delays the ticker for about its whole run on an event
    // loop, and far less under goroutines; all waits are in flight at once on both.
    let hog = figure(&results, "asyncio-loop", "preemption", "hog_ms");
    let asyncio_delay = figure(
        &results,
        "asyncio-loop",
        "preemption",
        "worst_tick_delay_ms",
    );
    let go_delay = figure(&results, "goroutines", "preemption", "worst_tick_delay_ms");
    assert!(
        asyncio_delay > 0.7 * hog,
        "asyncio ticker {asyncio_delay} ms, hog {hog} ms"
    );
    assert!(
        go_delay < 0.5 * hog,
        "goroutines ticker {go_delay} ms, hog {hog} ms"
    );
    for model in ["goroutines", "asyncio-loop"] {
        let tasks = figure(&results, model, "concurrency", "tasks");
        assert_eq!(
            figure(&results, model, "concurrency", "in_flight_max"),
            tasks
        );
    }
    assert_eq!(
        figure(&results, "asyncio-loop", "concurrency", "os_threads_max"),
        1.0
    );
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

/// The essay's parallelism contrast: goroutines speed up on 2 cores, an event loop does not.
/// Other load on the machine can only take cores away, so goroutines get three tries; the event
/// loop must stay below the band on every one.
#[test]
fn goroutines_speed_up_on_two_cores_and_the_event_loop_does_not() {
    let cores = probe::threads::available_parallelism();
    if cores < 2 {
        eprintln!("skipped: one core available");
        return;
    }
    let asyncio = speedup("asyncio-loop", 2);
    assert!(asyncio < 1.3, "asyncio-loop speedup {asyncio} on 2 workers");
    let tries: Vec<f64> = (0..3).map(|_| speedup("goroutines", 2)).collect();
    let best = tries.iter().copied().fold(0.0, f64::max);
    assert!(best > 1.3, "goroutines speedups {tries:?} on 2 workers");
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
