//! The asyncio-loop model in the lab: its runners return the workloads' documented checksums at
//! two small sizes, and `schedlab bench asyncio-loop` prints parseable result lines.

use lab::bench::Benchmark;
use lab::model::Model;
use lab::workloads::{callsoon_chain, pingpong, sleepers, Workload};

mod common;

use common::{result_lines, schedlab};

/// Checks `runner` against `workload`'s checksum at each size.
fn check(workload: Workload, sizes: [u64; 2], runner: fn(u64) -> u64) {
    for size in sizes {
        assert_eq!(
            runner(size),
            workload.checksum(size),
            "{} at size {size}",
            workload.name()
        );
    }
}

#[test]
fn callsoon_chain_sums_the_callback_indices() {
    check(
        Workload::CallSoonChain,
        [1, 1_000],
        callsoon_chain::asyncio_loop,
    );
    assert_eq!(Workload::CallSoonChain.checksum(1_000), 499_500);
}

#[test]
fn sleepers_join_every_task() {
    check(Workload::Sleepers, [1, 200], sleepers::asyncio_loop);
}

#[test]
fn pingpong_sums_the_echoes_over_two_queues() {
    check(Workload::PingPong, [1, 500], pingpong::asyncio_loop);
}

#[test]
fn asyncio_loop_has_its_own_benchmark_table() {
    let all: Vec<&str> = Benchmark::all_on(Model::AsyncioLoop)
        .map(|b| b.name)
        .collect();
    assert_eq!(all, ["callsoon-chain", "sleepers", "pingpong"]);
    let size_of = |name| Benchmark::find_on(Model::AsyncioLoop, name).map(|b| b.size(1.0));
    assert_eq!(size_of("callsoon-chain"), Some(1_000_000));
    assert_eq!(size_of("sleepers"), Some(100_000));
    assert_eq!(size_of("pingpong"), Some(100_000));
    assert_eq!(
        Benchmark::find_on(Model::Goroutines, "pingpong").map(|b| b.size(1.0)),
        Some(1_000_000)
    );
    assert!(Benchmark::find_on(Model::Goroutines, "callsoon-chain").is_none());
    assert_eq!(Model::from_name("asyncio-loop"), Some(Model::AsyncioLoop));
}

#[test]
fn bench_callsoon_chain_prints_result_lines() {
    let output = schedlab(&[
        "bench",
        "asyncio-loop",
        "callsoon-chain",
        "--reps",
        "1",
        "--size-scale",
        "0.01",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let lines = result_lines(&output);
    let metrics: Vec<&str> = lines.iter().map(|line| line.metric.as_str()).collect();
    assert_eq!(metrics, ["procs", "callbacks_per_s"]);
    for line in &lines {
        assert_eq!(line.model, "asyncio-loop");
        assert_eq!(line.workload, "callsoon-chain");
    }
    assert_eq!(lines[0].value, 1.0);
    assert_eq!(lines[1].unit, "cb/s");
    assert!(lines[1].value > 0.0);
}

#[test]
fn bench_asyncio_loop_sleepers_and_pingpong_run_small() {
    let output = schedlab(&[
        "bench",
        "asyncio-loop",
        "sleepers",
        "pingpong",
        "--reps",
        "1",
        "--size-scale",
        "0.001",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let figures: Vec<(String, String)> = result_lines(&output)
        .into_iter()
        .map(|line| (line.workload, line.metric))
        .collect();
    let want = [
        ("sleepers", "procs"),
        ("sleepers", "wall_ms"),
        ("sleepers", "peak_rss_mib"),
        ("pingpong", "procs"),
        ("pingpong", "ns_per_round_trip"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(w, m)| ((*w).to_owned(), (*m).to_owned()))
        .collect();
    assert_eq!(figures, want);
}

#[test]
fn goroutines_has_no_callsoon_chain() {
    let output = schedlab(&["bench", "goroutines", "callsoon-chain"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn trace_of_asyncio_loop_records_every_task_step() {
    let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-trace-asyncio.json");
    let path_text = path.to_str().expect("utf-8 path");
    let output = schedlab(&["trace", "asyncio-loop", "pingpong", "-o", path_text]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&path).expect("trace written");
    let runs = lab::report::timeline::runs(&text).expect("Chrome trace JSON");
    // 1,000 round trips: each task step of the two tasks, on the loop's one thread.
    assert!(runs.len() >= 2_000, "{} runs", runs.len());
    let threads: std::collections::BTreeSet<u64> = runs.iter().map(|r| r.thread).collect();
    assert_eq!(threads.len(), 1, "one thread: {threads:?}");
}

#[test]
fn asyncio_loop_echo_server_echoes_every_byte() {
    use lab::workloads::echo;
    use std::net::SocketAddr;
    use std::time::Duration;

    let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
    // The loop is single-threaded and serves forever: it lives on its own thread, left running
    // to the end of the process.
    std::thread::spawn(move || {
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        let error = echo::serve_asyncio_loop(any_port, move |addr| {
            tx.send(addr).expect("send the address")
        });
        panic!("the server stopped: {error}");
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the server listens");
    for connections in [1, 100] {
        let verified = echo::client_std(addr, connections).expect("echo");
        assert_eq!(verified, Workload::Echo.checksum(connections));
    }
}

#[test]
fn asyncio_loop_echo_benchmarks_are_in_its_table_but_not_in_all() {
    for (name, connections) in [("echo-c100", 100), ("echo-c1000", 1000)] {
        let benchmark = Benchmark::find_on(Model::AsyncioLoop, name).expect("in the table");
        assert_eq!(benchmark.workload, Workload::Echo);
        assert_eq!(benchmark.size(1.0), connections);
        assert!(Benchmark::all_on(Model::AsyncioLoop).all(|b| b.name != name));
    }
}
