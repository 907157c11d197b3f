//! Every goroutines runner of each workload returns the workload's documented checksum, at two
//! small sizes and on one P and on several.

use goroutines::{Builder, Runtime};
use lab::workloads::{
    chan_mpmc, idle_memory, pingpong, skynet, sleepers, spawn, yield_now, Workload,
};

/// Runs `runner(size)` on a fresh runtime with `procs` Ps and returns its checksum.
fn run_on(procs: usize, size: u64, runner: fn(u64) -> u64) -> u64 {
    // SAFETY: the workload runners hold no thread-locals and no std guards across blocking calls.
    let runtime: Runtime = unsafe { Builder::new().procs(procs).build() }.expect("runtime");
    runtime.run(move || runner(size))
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
