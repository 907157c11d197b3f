//! The command line: argv parsed into a [`Command`], and the usage text.
//!
//! ```text
//!   schedlab [--quick] [--models M,..] [--experiments E,..] [--out DIR]
//!                                                   Command::Table (the main job)
//!   schedlab list                                   Command::List
//!   schedlab peers [--quick] [--experiments E,..] [--out DIR]
//!                                                   Command::Peers (lab::peers)
//!   schedlab bench <model> <workload>...|all ...    Command::Bench
//!   schedlab trace <model> <workload> ...           Command::Trace
//!   schedlab serve <model> echo [--addr A] ...      Command::Serve
//!   schedlab __child <model> <workload> ...         Command::Child (hidden; see lab::bench)
//!   schedlab __experiment <model> <experiment> [--quick] [--cores N] [-o TRACE]
//!                                                   Command::Experiment (hidden; see
//!                                                   lab::experiments)
//!   schedlab -h | --help | help                     Command::Help
//! ```
//!
//! Flags may come anywhere after the subcommand, as `--flag value` or `--flag=value`; `--` ends
//! the flags. `--size-scale F` (hidden, 0 < F <= 1) multiplies every workload's size, so tests run
//! the benchmarks in seconds. Every mistake is a [`UsageError`], which `main` prints before
//! exiting with status 2.

use std::ffi::OsString;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use lab::bench::{Benchmark, Options, CHILD_COMMAND};
use lab::essay;
use lab::experiments::startup::FIRST_RESULT_COMMAND;
use lab::experiments::{self, Experiment, EXPERIMENT_COMMAND};
use lab::model::Model;
use lab::workloads::Workload;

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// No subcommand: the main job, the essay's table with every cell measured.
    Table(essay::Options),
    /// List the models, experiments and benchmarks.
    List,
    /// The experiments on the real Go, CPython and Node.
    Peers(lab::peers::Options),
    /// Print the usage text.
    Help,
    /// Run benchmarks on one model.
    Bench {
        model: Model,
        benchmarks: Vec<&'static Benchmark>,
        options: Options,
    },
    /// Record a trace of one benchmark at its trace size.
    Trace {
        model: Model,
        benchmark: &'static Benchmark,
        output: PathBuf,
        procs: usize,
    },
    /// Serve the echo workload until killed, printing `PORT <n>` once listening.
    Serve {
        model: Model,
        addr: SocketAddr,
        procs: usize,
    },
    /// One experiment on one model, for a parent `schedlab`; recorded into `trace` if given.
    Experiment {
        model: Model,
        experiment: Experiment,
        options: experiments::Options,
        trace: Option<PathBuf>,
    },
    /// The first task of one model in this fresh process, its answer printed, for a parent
    /// timing the start-up (`experiments::startup`).
    FirstResult { model: Model },
    /// One fresh-process repetition, for a parent `schedlab`.
    Child {
        model: Model,
        benchmark: &'static Benchmark,
        procs: usize,
        size_scale: f64,
    },
}

/// Where `trace` writes when `-o` is not given.
const DEFAULT_TRACE_FILE: &str = "trace.json";

/// Where `serve` listens when `--addr` is not given (port 0: the system picks one).
const DEFAULT_SERVE_ADDR: &str = "127.0.0.1:0";

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, UsageError> {
    let args = args
        .into_iter()
        .map(|arg| arg.into_string().map_err(UsageError::NotUnicode))
        .collect::<Result<Vec<String>, _>>()?;
    let flags_end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    if args[..flags_end].iter().any(|a| a == "-h" || a == "--help") {
        return Ok(Command::Help);
    }
    let Some((command, rest)) = args.split_first() else {
        return Ok(Command::Table(essay::Options::default()));
    };
    if command.starts_with('-') {
        let parsed = Parsed::from_args(
            "schedlab",
            &args,
            &[Flag::Quick, Flag::Models, Flag::Experiments, Flag::Out],
        )?;
        if let Some(word) = parsed.positional.first() {
            return Err(UsageError::UnexpectedArgument {
                command: "schedlab",
                argument: word.clone(),
            });
        }
        let defaults = essay::Options::default();
        return Ok(Command::Table(essay::Options {
            models: parsed.models.unwrap_or(defaults.models),
            experiments: parsed.experiments.unwrap_or(defaults.experiments),
            experiment: experiments::Options {
                quick: parsed.quick,
                ..defaults.experiment
            },
            out: parsed.out.unwrap_or(defaults.out),
        }));
    }
    match command.as_str() {
        "help" => Ok(Command::Help),
        "peers" => {
            let parsed =
                Parsed::from_args("peers", rest, &[Flag::Quick, Flag::Experiments, Flag::Out])?;
            if let Some(word) = parsed.positional.first() {
                return Err(UsageError::UnexpectedArgument {
                    command: "peers",
                    argument: word.clone(),
                });
            }
            let defaults = lab::peers::Options::default();
            Ok(Command::Peers(lab::peers::Options {
                experiments: parsed.experiments.unwrap_or(defaults.experiments),
                quick: parsed.quick,
                out: parsed.out.unwrap_or(defaults.out),
                ..defaults
            }))
        }
        "list" => match rest.first() {
            None => Ok(Command::List),
            Some(word) => Err(UsageError::UnexpectedArgument {
                command: "list",
                argument: word.clone(),
            }),
        },
        EXPERIMENT_COMMAND => {
            let parsed = Parsed::from_args(
                EXPERIMENT_COMMAND,
                rest,
                &[Flag::Quick, Flag::Cores, Flag::Output],
            )?;
            let (model, names) = parsed.model_and_names(EXPERIMENT_COMMAND)?;
            let experiment = match names {
                [] => return Err(UsageError::MissingExperiment(EXPERIMENT_COMMAND)),
                [name] => Experiment::from_name(name)
                    .ok_or_else(|| UsageError::UnknownExperiment(name.clone()))?,
                [_, extra, ..] => {
                    return Err(UsageError::UnexpectedArgument {
                        command: EXPERIMENT_COMMAND,
                        argument: extra.clone(),
                    })
                }
            };
            let defaults = experiments::Options::default();
            Ok(Command::Experiment {
                model,
                experiment,
                options: experiments::Options {
                    quick: parsed.quick,
                    cores: parsed.cores.unwrap_or(defaults.cores),
                },
                trace: parsed.output,
            })
        }
        "bench" => {
            let parsed =
                Parsed::from_args("bench", rest, &[Flag::Procs, Flag::Reps, Flag::SizeScale])?;
            let (model, names) = parsed.model_and_names("bench")?;
            if names.is_empty() {
                return Err(UsageError::MissingWorkload("bench"));
            }
            let mut benchmarks = Vec::new();
            for name in names {
                if name == "all" {
                    benchmarks.extend(Benchmark::all_on(model));
                } else {
                    benchmarks.push(find_benchmark(model, name)?);
                }
            }
            let defaults = Options::default();
            let options = Options {
                procs: parsed.procs.unwrap_or(defaults.procs),
                reps: parsed.reps.unwrap_or(defaults.reps),
                size_scale: parsed.size_scale.unwrap_or(defaults.size_scale),
            };
            Ok(Command::Bench {
                model,
                benchmarks,
                options,
            })
        }
        "trace" => {
            let parsed = Parsed::from_args("trace", rest, &[Flag::Procs, Flag::Output])?;
            let (model, names) = parsed.model_and_names("trace")?;
            let benchmark = single_benchmark("trace", model, names)?;
            Ok(Command::Trace {
                model,
                benchmark,
                output: parsed
                    .output
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_TRACE_FILE)),
                procs: parsed
                    .procs
                    .unwrap_or_else(probe::threads::available_parallelism),
            })
        }
        "serve" => {
            let parsed = Parsed::from_args("serve", rest, &[Flag::Procs, Flag::Addr])?;
            let (model, names) = parsed.model_and_names("serve")?;
            match names {
                [] => return Err(UsageError::MissingWorkload("serve")),
                [name] if name == Workload::Echo.name() => {}
                [name] => return Err(UsageError::NotServable(name.clone())),
                [_, extra, ..] => {
                    return Err(UsageError::UnexpectedArgument {
                        command: "serve",
                        argument: extra.clone(),
                    })
                }
            }
            Ok(Command::Serve {
                model,
                addr: parsed.addr.unwrap_or_else(|| {
                    DEFAULT_SERVE_ADDR
                        .parse()
                        .expect("the default address parses")
                }),
                procs: parsed
                    .procs
                    .unwrap_or_else(probe::threads::available_parallelism),
            })
        }
        CHILD_COMMAND => {
            let parsed = Parsed::from_args(CHILD_COMMAND, rest, &[Flag::Procs, Flag::SizeScale])?;
            let (model, names) = parsed.model_and_names(CHILD_COMMAND)?;
            let benchmark = single_benchmark(CHILD_COMMAND, model, names)?;
            Ok(Command::Child {
                model,
                benchmark,
                procs: parsed
                    .procs
                    .unwrap_or_else(probe::threads::available_parallelism),
                size_scale: parsed.size_scale.unwrap_or(1.0),
            })
        }
        FIRST_RESULT_COMMAND => {
            let parsed = Parsed::from_args(FIRST_RESULT_COMMAND, rest, &[])?;
            match parsed.model_and_names(FIRST_RESULT_COMMAND)? {
                (model, []) => Ok(Command::FirstResult { model }),
                (_, [extra, ..]) => Err(UsageError::UnexpectedArgument {
                    command: FIRST_RESULT_COMMAND,
                    argument: extra.clone(),
                }),
            }
        }
        other => Err(UsageError::UnknownCommand(other.to_owned())),
    }
}

fn find_benchmark(model: Model, name: &str) -> Result<&'static Benchmark, UsageError> {
    Benchmark::find_on(model, name).ok_or_else(|| UsageError::UnknownWorkload(name.to_owned()))
}

fn single_benchmark(
    command: &'static str,
    model: Model,
    names: &[String],
) -> Result<&'static Benchmark, UsageError> {
    match names {
        [] => Err(UsageError::MissingWorkload(command)),
        [name] => find_benchmark(model, name),
        [_, extra, ..] => Err(UsageError::UnexpectedArgument {
            command,
            argument: extra.clone(),
        }),
    }
}

/// A flag some subcommand takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flag {
    Procs,
    Reps,
    SizeScale,
    Output,
    Addr,
    Quick,
    Models,
    Experiments,
    Out,
    Cores,
}

impl Flag {
    const ALL: [Flag; 10] = [
        Flag::Procs,
        Flag::Reps,
        Flag::SizeScale,
        Flag::Output,
        Flag::Addr,
        Flag::Quick,
        Flag::Models,
        Flag::Experiments,
        Flag::Out,
        Flag::Cores,
    ];

    fn names(self) -> &'static [&'static str] {
        match self {
            Flag::Procs => &["--procs"],
            Flag::Reps => &["--reps"],
            Flag::SizeScale => &["--size-scale"],
            Flag::Output => &["-o", "--output"],
            Flag::Addr => &["--addr"],
            Flag::Quick => &["--quick"],
            Flag::Models => &["--models"],
            Flag::Experiments => &["--experiments"],
            Flag::Out => &["--out"],
            Flag::Cores => &["--cores"],
        }
    }

    /// Whether the flag stands alone, with no value.
    fn is_switch(self) -> bool {
        self == Flag::Quick
    }

    fn from_name(name: &str) -> Option<Flag> {
        Flag::ALL
            .into_iter()
            .find(|flag| flag.names().contains(&name))
    }
}

/// A subcommand's arguments: its positional words and the flags it was given.
#[derive(Debug, Default)]
struct Parsed {
    positional: Vec<String>,
    procs: Option<usize>,
    reps: Option<usize>,
    size_scale: Option<f64>,
    output: Option<PathBuf>,
    addr: Option<SocketAddr>,
    quick: bool,
    models: Option<Vec<Model>>,
    experiments: Option<Vec<Experiment>>,
    out: Option<PathBuf>,
    cores: Option<usize>,
}

impl Parsed {
    fn from_args(
        command: &'static str,
        args: &[String],
        allowed: &[Flag],
    ) -> Result<Parsed, UsageError> {
        let mut parsed = Parsed::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if arg == "--" {
                parsed.positional.extend(args.by_ref().cloned());
                break;
            }
            if !arg.starts_with('-') || arg == "-" {
                parsed.positional.push(arg.clone());
                continue;
            }
            let (name, inline_value) = match arg.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (arg.as_str(), None),
            };
            let flag = Flag::from_name(name)
                .filter(|flag| allowed.contains(flag))
                .ok_or_else(|| UsageError::UnknownFlag {
                    command,
                    flag: name.to_owned(),
                })?;
            if flag.is_switch() {
                if let Some(value) = inline_value {
                    return Err(UsageError::BadValue {
                        flag: flag.names()[0],
                        value,
                        expected: "no value",
                    });
                }
                parsed.quick = true;
                continue;
            }
            let value = match inline_value {
                Some(value) => value,
                None => args
                    .next()
                    .cloned()
                    .ok_or(UsageError::MissingValue(flag.names()[0]))?,
            };
            parsed.set(flag, value)?;
        }
        Ok(parsed)
    }

    fn set(&mut self, flag: Flag, value: String) -> Result<(), UsageError> {
        let bad = |expected: &'static str| UsageError::BadValue {
            flag: flag.names()[0],
            value: value.clone(),
            expected,
        };
        match flag {
            Flag::Procs => {
                self.procs = Some(
                    value
                        .parse()
                        .ok()
                        .filter(|&n| n >= 1)
                        .ok_or_else(|| bad("a whole number of at least 1"))?,
                )
            }
            Flag::Reps => {
                self.reps = Some(
                    value
                        .parse()
                        .ok()
                        .filter(|&n| n >= 1)
                        .ok_or_else(|| bad("a whole number of at least 1"))?,
                )
            }
            Flag::SizeScale => {
                self.size_scale = Some(
                    value
                        .parse::<f64>()
                        .ok()
                        .filter(|&f| f > 0.0 && f <= 1.0)
                        .ok_or_else(|| bad("a number above 0 and at most 1"))?,
                )
            }
            Flag::Output => {
                if value.is_empty() {
                    return Err(bad("a file name"));
                }
                self.output = Some(PathBuf::from(value))
            }
            Flag::Addr => {
                self.addr = Some(
                    value
                        .parse()
                        .map_err(|_| bad("a socket address such as 127.0.0.1:0"))?,
                )
            }
            Flag::Quick => self.quick = true,
            Flag::Models => {
                self.models =
                    Some(comma_list(&value, Model::from_name).ok_or_else(|| {
                        bad("model names separated by commas (see `schedlab list`)")
                    })?)
            }
            Flag::Experiments => {
                self.experiments =
                    Some(comma_list(&value, Experiment::from_name).ok_or_else(|| {
                        bad("experiment names separated by commas (see `schedlab list`)")
                    })?)
            }
            Flag::Out => {
                if value.is_empty() {
                    return Err(bad("a folder name"));
                }
                self.out = Some(PathBuf::from(value))
            }
            Flag::Cores => {
                self.cores = Some(
                    value
                        .parse()
                        .ok()
                        .filter(|&n| n >= 1)
                        .ok_or_else(|| bad("a whole number of at least 1"))?,
                )
            }
        }
        Ok(())
    }

    /// The first positional word as a model, and the words after it.
    fn model_and_names(&self, command: &'static str) -> Result<(Model, &[String]), UsageError> {
        let Some((model, names)) = self.positional.split_first() else {
            return Err(UsageError::MissingModel(command));
        };
        let model =
            Model::from_name(model).ok_or_else(|| UsageError::UnknownModel(model.clone()))?;
        Ok((model, names))
    }
}

/// The names in `list`, separated by commas, each found by `find`, without repeats; `None` if
/// one is unknown or the list is empty.
fn comma_list<T: PartialEq>(list: &str, find: impl Fn(&str) -> Option<T>) -> Option<Vec<T>> {
    let mut found = Vec::new();
    for name in list.split(',').map(str::trim) {
        let item = find(name)?;
        if !found.contains(&item) {
            found.push(item);
        }
    }
    (!found.is_empty()).then_some(found)
}

/// A mistake on the command line.
#[derive(Debug)]
pub enum UsageError {
    /// An argument is not valid UTF-8.
    NotUnicode(OsString),
    /// The first word is no subcommand.
    UnknownCommand(String),
    /// The subcommand needs a model and got none.
    MissingModel(&'static str),
    /// No model has this name.
    UnknownModel(String),
    /// The subcommand needs a workload and got none.
    MissingWorkload(&'static str),
    /// No benchmark has this name.
    UnknownWorkload(String),
    /// The subcommand needs an experiment and got none.
    MissingExperiment(&'static str),
    /// No experiment has this name.
    UnknownExperiment(String),
    /// The subcommand takes no such flag.
    UnknownFlag { command: &'static str, flag: String },
    /// The flag needs a value and got none.
    MissingValue(&'static str),
    /// The flag's value is not what it takes.
    BadValue {
        flag: &'static str,
        value: String,
        expected: &'static str,
    },
    /// `serve` got a workload that is no server.
    NotServable(String),
    /// A word the subcommand does not take.
    UnexpectedArgument {
        command: &'static str,
        argument: String,
    },
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::NotUnicode(arg) => write!(f, "argument {arg:?} is not valid UTF-8"),
            UsageError::UnknownCommand(command) => {
                write!(
                    f,
                    "unknown command {command:?} (commands: list, peers, bench, trace, serve, help)"
                )
            }
            UsageError::MissingModel(command) => {
                write!(
                    f,
                    "{command}: missing the model (models: {})",
                    model_names()
                )
            }
            UsageError::UnknownModel(model) => {
                write!(f, "unknown model {model:?} (models: {})", model_names())
            }
            UsageError::MissingWorkload(command) => {
                write!(
                    f,
                    "{command}: missing the workload (workloads: {})",
                    workload_names()
                )
            }
            UsageError::UnknownWorkload(name) => {
                write!(
                    f,
                    "unknown workload {name:?} (workloads: {})",
                    workload_names()
                )
            }
            UsageError::MissingExperiment(command) => {
                write!(
                    f,
                    "{command}: missing the experiment (experiments: {})",
                    experiment_names()
                )
            }
            UsageError::UnknownExperiment(name) => {
                write!(
                    f,
                    "unknown experiment {name:?} (experiments: {})",
                    experiment_names()
                )
            }
            UsageError::UnknownFlag { command, flag } => {
                write!(f, "{command}: unknown flag {flag:?}")
            }
            UsageError::MissingValue(flag) => write!(f, "{flag} needs a value"),
            UsageError::BadValue {
                flag,
                value,
                expected,
            } => write!(f, "{flag} {value:?}: expected {expected}"),
            UsageError::NotServable(name) => {
                write!(f, "serve: {name:?} cannot be served (servable: echo)")
            }
            UsageError::UnexpectedArgument { command, argument } => {
                write!(f, "{command}: unexpected argument {argument:?}")
            }
        }
    }
}

impl std::error::Error for UsageError {}

fn model_names() -> String {
    Model::ALL.map(Model::name).join(", ")
}

fn workload_names() -> String {
    let mut names: Vec<&str> = Vec::new();
    for benchmark in Model::ALL.into_iter().flat_map(Benchmark::table) {
        if !names.contains(&benchmark.name) {
            names.push(benchmark.name);
        }
    }
    format!("{}, all", names.join(", "))
}

fn experiment_names() -> String {
    Experiment::ALL.map(Experiment::name).join(", ")
}

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
