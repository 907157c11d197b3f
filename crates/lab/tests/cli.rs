//! The `schedlab` binary as a user runs it: help, usage errors, benchmark output, traces.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

mod common;

use common::{result_lines, schedlab};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
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
            "hog-fairness",
            "blocking-handoff",
            "echo-c100",
            "echo-c1000",
            "schedlab serve <model> echo",
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
        &["serve"],
        &["serve", "goroutines"],
        &["serve", "goroutines", "skynet"],
        &["serve", "goroutines", "echo", "extra"],
        &["serve", "goroutines", "echo", "--addr"],
        &["serve", "goroutines", "echo", "--reps", "2"],
        &["serve", "goroutines", "echo", "--procs", "0"],
        &["bench", "goroutines", "skynet", "--addr", "127.0.0.1:0"],
        &["--quick", "extra"],
        &["--no-such-flag"],
        &["--models", "no-such-model"],
        &["peers", "extra"],
        &["peers", "--procs", "2"],
        &["list", "extra"],
        &["__experiment", "goroutines"],
        &["__experiment", "goroutines", "no-such-experiment"],
        &["__experiment", "goroutines", "spawn", "extra"],
        &["__child", "goroutines", "sleepers", "pingpong"],
        &["__first-result", "goroutines", "extra"],
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
fn serve_rejects_a_bad_address_with_exit_2() {
    for addr in ["nope", "127.0.0.1", "127.0.0.1:99999", ""] {
        for args in [
            vec!["serve", "goroutines", "echo", "--addr", addr],
            vec!["serve", "goroutines", "echo", &format!("--addr={addr}")],
        ] {
            let output = schedlab(&args);
            let stderr = text(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(stderr.contains("--addr"), "{args:?}: {stderr}");
            assert!(stderr.contains("socket address"), "{args:?}: {stderr}");
            assert!(output.stdout.is_empty(), "{args:?}");
        }
    }
}

/// A `schedlab serve goroutines echo` process, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `schedlab serve goroutines echo` with `args` and returns it with the port it printed.
fn serve_echo(args: &[&str]) -> (Server, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_schedlab"))
        .args(["serve", "goroutines", "echo"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start schedlab serve");
    let stdout = child.stdout.take().expect("piped stdout");
    let server = Server(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = tx.send(lines.next());
        for _ in lines {}
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the server prints its port")
        .expect("a line")
        .expect("readable");
    let port = lab::bench::echo::parse_port(&line).unwrap_or_else(|| panic!("{line:?}"));
    (server, port)
}

#[test]
fn serve_goroutines_echo_prints_its_port_and_echoes() {
    use std::io::{Read, Write};

    for args in [
        &["--addr", "127.0.0.1:0"][..],
        &["--addr=127.0.0.1:0", "--procs", "1"],
    ] {
        let (server, port) = serve_echo(args);
        assert_ne!(port, 0);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let sent: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
        stream.write_all(&sent).expect("write");
        let mut got = [0u8; 64];
        stream.read_exact(&mut got).expect("read the echo");
        assert_eq!(&got[..], &sent[..]);
        // Many connections at once, each checked.
        let verified = lab::workloads::echo::client_std(addr, 200).expect("200 connections");
        assert_eq!(verified, 200 * 64);
        drop(server);
    }
}

#[test]
fn echo_bench_without_the_load_generator_is_skipped_and_the_rest_runs() {
    let output = Command::new(env!("CARGO_BIN_EXE_schedlab"))
        .args([
            "bench",
            "goroutines",
            "echo-c100",
            "pingpong",
            "--reps",
            "1",
            "--size-scale",
            "0.001",
        ])
        .env("SCHEDLAB_LOADGEN", "/nonexistent/loadgen")
        .output()
        .expect("run schedlab");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("echo-c100"), "{stderr}");
    assert!(stderr.contains("Go load generator"), "{stderr}");
    let workloads: Vec<String> = result_lines(&output)
        .into_iter()
        .map(|line| line.workload)
        .collect();
    assert_eq!(workloads, ["pingpong", "pingpong"]);
}

#[test]
fn bench_hog_fairness_and_blocking_handoff_run_on_one_p() {
    let output = schedlab(&[
        "bench",
        "goroutines",
        "hog-fairness",
        "blocking-handoff",
        "--reps",
        "1",
        "--size-scale",
        "0.01",
        "--procs",
        "2",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let lines: Vec<String> = result_lines(&output)
        .iter()
        .map(|line| {
            format!(
                "{} {} {} {} {}",
                line.model,
                line.workload,
                line.metric,
                line.unit,
                line.value >= 0.0
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            "goroutines hog-fairness procs count true",
            "goroutines hog-fairness worst_tick_delay_ms ms true",
            "goroutines blocking-handoff procs count true",
            "goroutines blocking-handoff throughput_ratio ratio true",
        ]
    );
    let procs: Vec<f64> = result_lines(&output)
        .iter()
        .filter(|line| line.metric == "procs")
        .map(|line| line.value)
        .collect();
    assert_eq!(procs, [1.0, 1.0]);
}

#[test]
fn trace_of_an_echo_benchmark_fails_cleanly() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-trace-echo.json");
    let output = schedlab(&[
        "trace",
        "goroutines",
        "echo-c100",
        "-o",
        path.to_str().expect("utf-8 path"),
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot run in-process"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
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
    // The run queues and steals, sampled while the benchmark ran, as counter tracks.
    assert!(
        json.contains(r#"{"name":"runq local","cat":"counter","ph":"C""#),
        "no run-queue counter"
    );
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
