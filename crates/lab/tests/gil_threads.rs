//! The gil-threads model in the lab: its runners return the workloads' documented checksums (the
//! same numbers as the CPython peer), and `schedlab bench gil-threads` prints parseable lines.

use gil_threads::GilMode;
use lab::bench::Benchmark;
use lab::model::Model;
use lab::workloads::{convoy, cpu_parallel, Workload};

mod common;

use common::{result_lines, schedlab};

#[test]
fn cpu_parallel_on_threads_matches_the_checksum_in_both_modes() {
    // The CPython peer's numbers: `bench_threads.checksum(2)` and `checksum(8)`.
    assert_eq!(cpu_parallel::checksum(2), 2_831_346_094);
    assert_eq!(cpu_parallel::checksum(8), 9_364_585_526);
    for mode in [GilMode::On, GilMode::Off] {
        for (chunks, workers) in [(1, 2), (8, 1), (8, 3)] {
            assert_eq!(
                cpu_parallel::gil_threads(chunks, workers, mode),
                Workload::CpuParallel.checksum(chunks),
                "{chunks} chunks on {workers} threads, gil={mode}"
            );
        }
    }
}

#[test]
fn convoy_echoes_every_round_trip() {
    for (rounds, spinner) in [(1, false), (10, true)] {
        let outcome = convoy::gil_threads(rounds, 0.001, spinner).expect("the round trips run");
        assert_eq!(outcome.checksum, Workload::Convoy.checksum(rounds));
        assert!(outcome.per_round_trip >= convoy::SERVER_DELAY);
    }
    assert_eq!(Workload::from_name("convoy"), Some(Workload::Convoy));
}

#[test]
fn gil_threads_has_its_own_benchmark_table() {
    let all: Vec<&str> = Benchmark::all_on(Model::GilThreads)
        .map(|b| b.name)
        .collect();
    assert_eq!(all, ["cpu-parallel", "cpu-parallel-nogil", "convoy"]);
    assert!(Benchmark::find_on(Model::Goroutines, "convoy").is_none());
}

#[test]
fn bench_gil_threads_prints_result_lines() {
    let output = schedlab(&[
        "bench",
        "gil-threads",
        "cpu-parallel",
        "convoy",
        "--reps",
        "1",
        "--size-scale",
        "0.05",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let figures: Vec<(String, String, String)> = result_lines(&output)
        .into_iter()
        .map(|line| (line.workload, line.metric, line.unit))
        .collect();
    let want = [
        ("cpu-parallel", "procs", "count"),
        ("cpu-parallel", "speedup_w2", "x"),
        ("cpu-parallel", "wall_ms_w1", "ms"),
        ("cpu-parallel", "wall_ms_w2", "ms"),
        ("convoy", "procs", "count"),
        ("convoy", "ms_per_round_trip_alone", "ms"),
        ("convoy", "ms_per_round_trip_cpu", "ms"),
        ("convoy", "ms_per_round_trip_cpu_1ms", "ms"),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(w, m, u)| ((*w).to_owned(), (*m).to_owned(), (*u).to_owned()))
        .collect();
    assert_eq!(figures, want);
}
