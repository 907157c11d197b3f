//! Every goroutines runner of each workload returns the workload's documented checksum, at two
//! small sizes and on one P and on several.

use std::net::SocketAddr;
use std::time::Duration;

use goroutines::{Builder, Runtime};
use lab::bench::{Benchmark, BENCHMARKS};
use lab::workloads::{
    blocking_handoff, chan_mpmc, echo, hog_fairness, idle_memory, pingpong, skynet, sleepers,
    spawn, yield_now, Workload,
};

/// A fresh runtime with `procs` Ps.
fn runtime(procs: usize) -> Runtime {
    // SAFETY: the workload runners hold no thread-locals and no std guards across blocking calls.
    unsafe { Builder::new().procs(procs).build() }.expect("runtime")
}

/// Runs `runner(size)` on a fresh runtime with `procs` Ps and returns its checksum.
fn run_on<T: Send + 'static>(procs: usize, size: u64, runner: fn(u64) -> T) -> T {
    runtime(procs).run(move || runner(size))
}

/// Checks `runner` against `workload`'s checksum at each size, on 1 and on 3 Ps.
fn check(workload: Workload, sizes: [u64; 2], runner: fn(u64) -> u64) {
    for procs in [1, 3] {
        for size in sizes {
            assert_eq!(
                run_on(procs, size, runner),
                workload.checksum(size),
                "{} at size {size} on {procs} Ps",
                workload.name()
            );
        }
    }
}

#[test]
fn skynet_sums_its_leaves() {
    check(Workload::Skynet, [100, 10_000], skynet::goroutines);
    assert_eq!(skynet::checksum(skynet::LEAVES), 499_999_500_000);
}

#[test]
fn pingpong_sums_the_echoes() {
    check(Workload::PingPong, [1, 1_000], pingpong::goroutines);
}

#[test]
fn spawn_joins_every_goroutine() {
    check(Workload::Spawn, [10, 10_000], spawn::goroutines);
}

#[test]
fn chan_mpmc_delivers_every_message_once() {
    // 1,001 does not split evenly over the four senders.
    check(Workload::ChanMpmc, [1_001, 100_000], chan_mpmc::goroutines);
}

#[test]
fn sleepers_all_wake() {
    check(Workload::Sleepers, [10, 1_000], sleepers::goroutines);
}

#[test]
fn idle_memory_releases_every_parked_goroutine() {
    fn runner(count: u64) -> u64 {
        let (released, ()) = idle_memory::goroutines(count, || ());
        released
    }
    check(Workload::IdleMemory, [10, 1_000], runner);
}

#[test]
fn yield_makes_every_yield() {
    check(Workload::Yield, [10, 10_000], yield_now::goroutines);
}

#[test]
fn scaled_sizes_keep_skynet_a_power_of_ten() {
    assert_eq!(Workload::Skynet.scaled_size(1.0), 1_000_000);
    assert_eq!(Workload::Skynet.scaled_size(0.001), 1_000);
    assert_eq!(Workload::Skynet.scaled_size(0.003), 1_000);
    assert_eq!(Workload::Skynet.scaled_size(1e-9), 1);
    assert_eq!(Workload::Spawn.scaled_size(1e-9), 1);
    assert_eq!(Workload::ChanMpmc.scaled_size(0.5), 5_000_000);
}

#[test]
fn hog_fairness_hog_and_ticker_both_finish() {
    for procs in [1, 2] {
        for spin_ms in [1, 50] {
            let outcome = run_on(procs, spin_ms, hog_fairness::goroutines);
            assert_eq!(
                outcome.checksum,
                Workload::HogFairness.checksum(spin_ms),
                "{outcome:?} at {spin_ms} ms on {procs} Ps"
            );
            assert!(
                outcome.spun >= Duration::from_millis(spin_ms),
                "{outcome:?}"
            );
            assert!(outcome.ticks >= 1, "{outcome:?}");
            // However unfair the runtime, the ticker waits no longer than the whole spin plus
            // scheduling noise (a wide band: CI machines are shared).
            assert!(
                outcome.worst_tick_delay < Duration::from_millis(spin_ms + 1_000),
                "{outcome:?}"
            );
        }
    }
}

#[test]
fn blocking_handoff_every_pair_echoes_right() {
    for procs in [1, 2] {
        let outcome =
            runtime(procs).run(|| blocking_handoff::goroutines_with(10, Duration::from_millis(10)));
        assert_eq!(outcome.checksum, 10, "{outcome:?} on {procs} Ps");
        assert!(outcome.baseline_per_s > 0.0, "{outcome:?}");
        assert!(outcome.ratio() >= 0.0, "{outcome:?}");
    }
    // The benchmark's own runner, with its 1,000 goroutines, at a small size.
    let outcome = run_on(1, 5, blocking_handoff::goroutines);
    assert_eq!(outcome.checksum, Workload::BlockingHandoff.checksum(5));
    assert_eq!(outcome.checksum, blocking_handoff::GOROUTINES);
}

#[test]
fn echo_server_echoes_every_byte() {
    let runtime = runtime(2);
    let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
    let _server = runtime.go(move || {
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        echo::serve_goroutines(any_port, move |addr| {
            tx.send(addr).expect("send the address")
        })
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the server listens");
    for connections in [1, 100] {
        let verified = echo::client_std(addr, connections).expect("echo");
        assert_eq!(verified, Workload::Echo.checksum(connections));
    }
    // The server goroutine never returns; leave the runtime to the end of the process.
    std::mem::forget(runtime);
}

#[test]
fn all_leaves_out_only_the_echo_benchmarks() {
    let all: Vec<&str> = Benchmark::all().map(|b| b.name).collect();
    let left_out: Vec<&str> = BENCHMARKS
        .iter()
        .filter(|b| !all.contains(&b.name))
        .map(|b| b.name)
        .collect();
    assert_eq!(left_out, ["echo-c100", "echo-c1000"]);
    assert!(all.contains(&"hog-fairness") && all.contains(&"blocking-handoff"));
    assert_eq!(
        Benchmark::find("echo-c1000").map(|b| b.size(0.001)),
        Some(1000)
    );
    assert_eq!(Benchmark::find("hog-fairness").map(|b| b.procs(4)), Some(1));
    assert_eq!(
        Benchmark::find("blocking-handoff").map(|b| b.procs(4)),
        Some(1)
    );
}

#[test]
fn echo_messages_differ_between_connections_and_rounds() {
    assert_ne!(echo::message(0, 0), echo::message(1, 0));
    assert_ne!(echo::message(0, 0), echo::message(0, 1));
    assert_eq!(lab::bench::echo::parse_port("PORT 8080"), Some(8080));
    assert_eq!(lab::bench::echo::parse_port("PORT x"), None);
}
