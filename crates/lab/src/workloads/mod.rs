//! Workloads: the named jobs every model runs, each with a size and a checksum.
//!
//! The contract (DESIGN.md, "Workload"): a workload has size parameters and a checksum; each model
//! has a runner for it; every runner of a workload returns the same checksum at every size. A
//! runner that returns anything else has lost or invented work, and the lab refuses its timing.
//!
//! One file per workload. Each file holds:
//!
//! - the full size the benchmarks use (the same as the Go peer in `peers/go`),
//! - `checksum(size)`, the documented value every runner must return,
//! - one runner per model, named after the model: `goroutines(size)` runs inside a goroutine of
//!   a `goroutines` runtime (call it from `Runtime::run`); `asyncio_loop(size)` builds its own
//!   asyncio-loop event loop (as `asyncio.run` does) and runs to completion on this thread.
//!
//! The asyncio-loop model runs `callsoon-chain`, `sleepers` and `pingpong` (at
//! [`pingpong::ASYNCIO_ROUNDS`] round trips): the workloads of issue 4's benchmarks.
//!
//! | workload           | size                     | checksum                              |
//! | ------------------ | ------------------------ | ------------------------------------- |
//! | `skynet`           | leaves (a power of ten)  | 0 + 1 + ... + (leaves - 1)            |
//! | `pingpong`         | round trips              | 0 + 1 + ... + (rounds - 1)            |
//! | `spawn`            | goroutines               | goroutines joined                     |
//! | `chan-mpmc`        | messages                 | 0 + 1 + ... + (messages - 1)          |
//! | `sleepers`         | sleeping goroutines      | goroutines joined                     |
//! | `idle-memory`      | parked goroutines        | goroutines released                   |
//! | `yield`            | yields                   | yields made                           |
//! | `hog-fairness`     | the hog's spin, in ms    | goroutines whose checks held: 2       |
//! | `blocking-handoff` | the blocking call, in ms | ping-pong goroutines done right: 1000 |
//! | `echo`             | connections              | bytes echoed back: connections × 64   |
//! | `callsoon-chain`   | callbacks                | 0 + 1 + ... + (callbacks - 1)         |
//! | `cpu-parallel`     | chunks of LCG steps      | sum of each chunk's final value >> 33 |
//! | `convoy`           | I/O round trips          | 0 + 1 + ... + (rounds - 1)            |
//! | `map-chunksize`    | items mapped             | 1 + 2 + ... + items                   |
//! | `startup`          | workers in the pool      | 1 + 2 + ... + workers                 |
//! | `immediate-chain`  | immediates               | 0 + 1 + ... + (immediates - 1)        |
//! | `promise-chain`    | promise reactions        | 0 + 1 + ... + (reactions - 1)         |
//! | `pbkdf2-pool`      | pbkdf2 jobs              | jobs completed                        |
//!
//! `hog-fairness` and `blocking-handoff` are measured by the time they take rather than sized by
//! work, so their size is a duration; their runners return an `Outcome` with the checksum and
//! the figures. `echo`'s runner is a server (`schedlab serve goroutines echo`) that an external
//! load generator drives and checks.
//!
//! Runners never panic on a failed channel operation or join: they stop counting, so the checksum
//! comes out wrong and the lab reports it.

pub mod blocking_handoff;
pub mod callsoon_chain;
pub mod chan_mpmc;
pub mod convoy;
pub mod cpu_parallel;
pub mod echo;
pub mod hog_fairness;
pub mod idle_memory;
pub mod immediate_chain;
pub mod map_chunksize;
pub mod pbkdf2_pool;
pub mod pingpong;
pub mod promise_chain;
pub mod skynet;
pub mod sleepers;
pub mod spawn;
pub mod startup;
pub mod yield_now;

/// The sum 0 + 1 + ... + (n - 1), the checksum of the workloads that pass the numbers below `n`.
pub fn sum_below(n: u64) -> u64 {
    if n == 0 {
        0
    } else {
        n * (n - 1) / 2
    }
}

/// A workload, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Workload {
    /// A 10-ary tree of goroutines that sum their leaves over unbuffered channels.
    Skynet,
    /// Round trips between two goroutines over two unbuffered channels.
    PingPong,
    /// Empty goroutines spawned in a loop, then joined.
    Spawn,
    /// Four senders and four receivers on one buffered channel.
    ChanMpmc,
    /// Goroutines that each sleep 100 ms.
    Sleepers,
    /// Goroutines parked on one channel, to weigh a parked goroutine.
    IdleMemory,
    /// One goroutine yielding in a loop.
    Yield,
    /// On one P, a goroutine spinning with no runtime call beside one that ticks every 1 ms.
    HogFairness,
    /// On one P, ping-pong pairs that keep going while another goroutine is in a blocking call.
    BlockingHandoff,
    /// A TCP echo server, one goroutine per connection, driven by an external load generator.
    Echo,
    /// Callbacks that each schedule the next with `call_soon` (event-loop models only).
    CallSoonChain,
    /// A fixed CPU-bound job split among workers (threads or processes).
    CpuParallel,
    /// Blocking I/O round trips from one thread, alone or beside a CPU-bound thread (GIL models).
    Convoy,
    /// `Pool.map` of a trivial task: the process pool's cost per task or per item.
    MapChunksize,
    /// A process pool's start-up and first map, per start method.
    Startup,
    /// Immediates that each schedule the next with `setImmediate` (uv-loop only).
    ImmediateChain,
    /// Promise reactions that each attach the next (uv-loop only).
    PromiseChain,
    /// Eight pbkdf2 jobs on thread pools of 1, 2 and 4 threads (uv-loop only).
    Pbkdf2Pool,
}

impl Workload {
    /// Every workload, in the order the lab runs them.
    pub const ALL: [Workload; 18] = [
        Workload::Skynet,
        Workload::PingPong,
        Workload::Spawn,
        Workload::ChanMpmc,
        Workload::Sleepers,
        Workload::IdleMemory,
        Workload::Yield,
        Workload::HogFairness,
        Workload::BlockingHandoff,
        Workload::Echo,
        Workload::CallSoonChain,
        Workload::CpuParallel,
        Workload::Convoy,
        Workload::MapChunksize,
        Workload::Startup,
        Workload::ImmediateChain,
        Workload::PromiseChain,
        Workload::Pbkdf2Pool,
    ];

    /// The name results and the command line use.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Skynet => "skynet",
            Workload::PingPong => "pingpong",
            Workload::Spawn => "spawn",
            Workload::ChanMpmc => "chan-mpmc",
            Workload::Sleepers => "sleepers",
            Workload::IdleMemory => "idle-memory",
            Workload::Yield => "yield",
            Workload::HogFairness => "hog-fairness",
            Workload::BlockingHandoff => "blocking-handoff",
            Workload::Echo => "echo",
            Workload::CallSoonChain => "callsoon-chain",
            Workload::CpuParallel => "cpu-parallel",
            Workload::Convoy => "convoy",
            Workload::MapChunksize => "map-chunksize",
            Workload::Startup => "startup",
            Workload::ImmediateChain => "immediate-chain",
            Workload::PromiseChain => "promise-chain",
            Workload::Pbkdf2Pool => "pbkdf2-pool",
        }
    }

    /// The workload called `name`, if any.
    pub fn from_name(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }

    /// The size the benchmarks run (the Go peer's).
    pub fn full_size(self) -> u64 {
        match self {
            Workload::Skynet => skynet::LEAVES,
            Workload::PingPong => pingpong::ROUNDS,
            Workload::Spawn => spawn::GOROUTINES,
            Workload::ChanMpmc => chan_mpmc::MESSAGES,
            Workload::Sleepers => sleepers::GOROUTINES,
            Workload::IdleMemory => idle_memory::GOROUTINES,
            Workload::Yield => yield_now::YIELDS,
            Workload::HogFairness => hog_fairness::SPIN_MS,
            Workload::BlockingHandoff => blocking_handoff::BLOCK_MS,
            Workload::Echo => 100,
            Workload::CallSoonChain => callsoon_chain::CALLBACKS,
            Workload::CpuParallel => cpu_parallel::CHUNKS,
            Workload::Convoy => convoy::ROUNDS,
            Workload::MapChunksize => map_chunksize::ITEMS,
            Workload::Startup => startup::WORKERS,
            Workload::ImmediateChain => immediate_chain::CALLBACKS,
            Workload::PromiseChain => promise_chain::REACTIONS,
            Workload::Pbkdf2Pool => pbkdf2_pool::JOBS,
        }
    }

    /// A size small enough that a trace of it stays readable in Perfetto.
    pub fn trace_size(self) -> u64 {
        match self {
            Workload::Skynet => 10_000,
            Workload::PingPong => 1_000,
            Workload::Spawn => 10_000,
            Workload::ChanMpmc => 100_000,
            Workload::Sleepers => 1_000,
            Workload::IdleMemory => 1_000,
            Workload::Yield => 10_000,
            Workload::HogFairness => 50,
            Workload::BlockingHandoff => 20,
            Workload::Echo => 10,
            Workload::CallSoonChain => 1_000,
            Workload::CpuParallel => 8,
            Workload::Convoy => 20,
            Workload::MapChunksize => 1_000,
            Workload::Startup => startup::WORKERS,
            Workload::ImmediateChain => 1_000,
            Workload::PromiseChain => 1_000,
            Workload::Pbkdf2Pool => 2,
        }
    }

    /// The full size times `scale`, at least 1; for skynet, the nearest power of ten.
    pub fn scaled_size(self, scale: f64) -> u64 {
        let scaled = (self.full_size() as f64 * scale).round().max(1.0);
        match self {
            Workload::Skynet => 10u64.pow(scaled.log10().round() as u32),
            _ => scaled as u64,
        }
    }

    /// The checksum every runner of this workload returns at `size`.
    pub fn checksum(self, size: u64) -> u64 {
        match self {
            Workload::Skynet => skynet::checksum(size),
            Workload::PingPong => pingpong::checksum(size),
            Workload::Spawn => spawn::checksum(size),
            Workload::ChanMpmc => chan_mpmc::checksum(size),
            Workload::Sleepers => sleepers::checksum(size),
            Workload::IdleMemory => idle_memory::checksum(size),
            Workload::Yield => yield_now::checksum(size),
            Workload::HogFairness => hog_fairness::checksum(size),
            Workload::BlockingHandoff => blocking_handoff::checksum(size),
            Workload::Echo => echo::checksum(size),
            Workload::CallSoonChain => callsoon_chain::checksum(size),
            Workload::CpuParallel => cpu_parallel::checksum(size),
            Workload::Convoy => convoy::checksum(size),
            Workload::MapChunksize => map_chunksize::checksum(size),
            Workload::Startup => startup::checksum(size),
            Workload::ImmediateChain => immediate_chain::checksum(size),
            Workload::PromiseChain => promise_chain::checksum(size),
            Workload::Pbkdf2Pool => pbkdf2_pool::checksum(size),
        }
    }
}
