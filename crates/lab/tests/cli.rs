//! The `schedlab` binary as a user runs it: help, usage errors, benchmark output, traces.

use std::path::PathBuf;
use std::process::{Command, Output};

use probe::result::ResultLine;

/// Runs the built binary with `args`.
fn schedlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_schedlab"))
        .args(args)
        .output()
        .expect("run schedlab")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every non-empty stdout line, parsed as a result line (a line that does not parse fails).
fn result_lines(output: &Output) -> Vec<ResultLine> {
    text(&output.stdout)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            line.parse()
                .unwrap_or_else(|e| panic!("{line:?} is not a result line: {e}"))
        })
        .collect()
}

#[test]
fn help_exits_zero_and_names_every_workload() {
    for flag in ["--help", "-h"] {
        let output = schedlab(&[flag]);
        assert_eq!(output.status.code(), Some(0));
        let usage = text(&output.stdout);
        assert!(usage.contains("schedlab bench <model>"), "{usage}");
        for workload in [
            "skynet",
            "pingpong-1p",
            "chan-mpmc",
            "idle-memory",
            "yield-1p",
        ] {
            assert!(usage.contains(workload), "{workload} missing from {usage}");
        }
    }
}

#[test]
fn unknown_workload_exits_2_with_a_message() {
    let output = schedlab(&["bench", "goroutines", "no-such-workload"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("unknown workload \"no-such-workload\""),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn other_usage_errors_exit_2_without_panicking() {
    let cases: &[&[&str]] = &[
        &["frobnicate"],
        &["bench"],
        &["bench", "no-such-model", "skynet"],
        &["bench", "goroutines"],
        &["bench", "goroutines", "skynet", "--reps", "0"],
        &["bench", "goroutines", "skynet", "--procs"],
        &["bench", "goroutines", "skynet", "--no-such-flag"],
        &["trace", "goroutines", "skynet", "pingpong"],
        &["trace", "goroutines", "skynet", "--reps", "2"],
    ];
    for args in cases {
        let output = schedlab(args);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("schedlab: "), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn bench_pingpong_prints_result_lines() {
    let output = schedlab(&[
        "bench",
        "goroutines",
        "pingpong",
        "--reps",
        "1",
        "--size-scale",
        "0.001",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let lines = result_lines(&output);
    let metrics: Vec<&str> = lines.iter().map(|line| line.metric.as_str()).collect();
    assert_eq!(metrics, ["procs", "ns_per_round_trip"]);
    for line in &lines {
        assert_eq!(line.model, "goroutines");
        assert_eq!(line.workload, "pingpong");
    }
    assert!(lines[1].value > 0.0);
}

#[test]
fn fresh_process_benchmarks_read_their_figures_back_from_a_child() {
    let output = schedlab(&[
        "bench",
        "goroutines",
        "sleepers",
        "idle-memory",
        "pingpong-1p",
        "--reps",
        "1",
        "--size-scale",
        "0.001",
        "--procs",
        "2",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let lines: Vec<String> = result_lines(&output)
        .iter()
        .map(|line| {
            format!(
                "{} {} {} {}",
                line.model, line.workload, line.metric, line.unit
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            "goroutines sleepers procs count",
            "goroutines sleepers wall_ms ms",
            "goroutines sleepers peak_rss_mib MiB",
            "goroutines idle-memory procs count",
            "goroutines idle-memory bytes_per_goroutine B",
            "goroutines pingpong-1p procs count",
            "goroutines pingpong-1p ns_per_round_trip ns",
        ]
    );
    let procs: Vec<f64> = result_lines(&output)
        .iter()
        .filter(|line| line.metric == "procs")
        .map(|line| line.value)
        .collect();
    assert_eq!(procs, [2.0, 2.0, 1.0]);
}

#[test]
fn trace_skynet_writes_chrome_trace_json() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-trace-skynet.json");
    let _ = std::fs::remove_file(&path);
    let output = schedlab(&[
        "trace",
        "goroutines",
        "skynet",
        "-o",
        path.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains(path.to_str().expect("utf-8 path")));
    let json = std::fs::read_to_string(&path).expect("trace written");
    assert!(
        json.starts_with("{\"traceEvents\":["),
        "{}",
        &json[..json.len().min(200)]
    );
    assert!(json.contains("\"ph\":\"B\""), "no task slices");
    assert_balanced(&json);
    if let Ok(checked) = Command::new("python3")
        .args(["-c", "import json,sys; json.load(open(sys.argv[1]))"])
        .arg(&path)
        .output()
    {
        assert!(
            checked.status.success(),
            "python3 rejects the JSON: {}",
            text(&checked.stderr)
        );
    }
}

/// A hand check of JSON's structure: brackets and braces nest and close, strings terminate.
fn assert_balanced(json: &str) {
    let mut open = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => open.push(c),
            '}' => assert_eq!(open.pop(), Some('{'), "unbalanced }}"),
            ']' => assert_eq!(open.pop(), Some('['), "unbalanced ]"),
            _ => {}
        }
    }
    assert!(!in_string && open.is_empty(), "unterminated JSON");
}
