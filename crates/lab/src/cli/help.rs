//! The text `schedlab --help` prints ([`usage`]) and the listing of `schedlab list` ([`list`]),
//! which the help text ends with.

use lab::bench::Benchmark;
use lab::essay;
use lab::experiments::Experiment;
use lab::model::Model;

use super::{DEFAULT_SERVE_ADDR, DEFAULT_TRACE_FILE};

/// The text `--help` prints.
pub fn usage() -> String {
    let mut text = String::from(
        "schedlab: runs the same workloads on five concurrency models (Go, Python multiprocessing,
Python threads, Python asyncio, Node.js) and measures every claim of the essay's comparison table.

Usage:
  schedlab [--quick] [--models M,..] [--experiments E,..] [--out DIR]
                                             the main job: the essay's table, every cell measured
  schedlab list                              the models, experiments and benchmarks
  schedlab peers [--quick] [--experiments E,..] [--out DIR]
                                             the experiments on the real Go, CPython, Node
  schedlab bench <model> <workload>...|all [--procs N] [--reps R]
  schedlab trace <model> <workload> [-o FILE] [--procs N]
  schedlab serve <model> echo [--addr HOST:PORT] [--procs N]
  schedlab -h | --help

Commands:
  (none)  runs each experiment on each model in a child process, prints the table (each claim,
          the measured figure, and whether they agree) and writes DIR/results.json
  list    prints the models, the experiments and each model's benchmarks
  peers   runs each experiment on the real systems the models copy (go, cpython-mp,
          cpython-threads, cpython-asyncio, node), those installed here, each in a process of
          its own; prints their result lines and writes DIR/peers.json
  bench   runs each workload once to warm up, then R times, and prints the median of each figure
  trace   runs the workload once at a small size while recording scheduler events, and writes
          them as Chrome Trace Event JSON (open it in https://ui.perfetto.dev)
  serve   serves the echo workload (TCP echo; goroutines: a goroutine per connection,
          asyncio-loop: a streams task per connection) until killed; prints
          `PORT <n>` on stdout once it listens, for a load generator such as peers/go/loadgen

`all` runs every workload below but the echo ones, which need Go's load generator
(peers/go/loadgen.sh builds it; Go installs with peers/go/install.sh): name them to run them.

Options:
",
    );
    text += &format!(
        "  --quick        smaller experiments (about 20 s in all instead of 2 minutes)
  --models M,..  the models to run [default: all]
  --experiments E,..
                 the experiments to run [default: all]
  --out DIR      where results.json goes [default: {}]
  --procs N      Ps (threads running goroutines) where a workload does not fix its own
                 [default: the cores available, here {}]
  --reps R       measured repetitions after the warm-up [default: 3]
  -o, --output FILE
                 the trace file [default: {DEFAULT_TRACE_FILE}]
  --addr HOST:PORT
                 where `serve` listens [default: {DEFAULT_SERVE_ADDR}]

",
        essay::DEFAULT_OUT,
        probe::threads::available_parallelism()
    );
    text += &list();
    text += "\nExit status: 0 on success, 1 when a run fails (such as a wrong checksum), 2 on a usage error.\n";
    text
}

/// What `schedlab list` prints: the models, the experiments, and each model's benchmarks.
pub fn list() -> String {
    let mut text = String::from("Models:\n");
    for model in Model::ALL {
        text += &format!("  {:<16}  {}\n", model.name(), model.summary());
    }
    text += "\nExperiments (the main job):\n";
    for experiment in Experiment::ALL {
        text += &format!("  {:<16}  {}\n", experiment.name(), experiment.summary());
    }
    for model in Model::ALL {
        text += &format!("\nWorkloads of {}:\n", model.name());
        for benchmark in Benchmark::table(model) {
            text += &format!("  {:<16}  {}\n", benchmark.name, benchmark.summary);
        }
    }
    text
}
