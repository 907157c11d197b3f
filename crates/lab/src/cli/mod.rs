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
//!
//! Parts:
//! - `mod.rs` (this file): [`Command`] and [`parse`], which picks the subcommand and turns its
//!   words and flags into a `Command`.
//! - `flags.rs`: the flags, and one subcommand's arguments split into words and checked flag
//!   values (`Parsed`).
//! - `error.rs`: [`UsageError`] and its messages.
//! - `help.rs`: the text of `--help` ([`usage`]) and of `schedlab list` ([`list`]).

mod error;
mod flags;
mod help;

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;

use lab::bench::{Benchmark, Options, CHILD_COMMAND};
use lab::essay;
use lab::experiments::startup::FIRST_RESULT_COMMAND;
use lab::experiments::{self, Experiment, EXPERIMENT_COMMAND};
use lab::model::Model;
use lab::workloads::Workload;

pub use self::error::UsageError;
use self::flags::{Flag, Parsed};
pub use self::help::{list, usage};

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
        return parse_table(&args);
    }
    match command.as_str() {
        "help" => Ok(Command::Help),
        "peers" => parse_peers(rest),
        "list" => match rest.first() {
            None => Ok(Command::List),
            Some(word) => Err(UsageError::UnexpectedArgument {
                command: "list",
                argument: word.clone(),
            }),
        },
        EXPERIMENT_COMMAND => parse_experiment(rest),
        "bench" => parse_bench(rest),
        "trace" => parse_trace(rest),
        "serve" => parse_serve(rest),
        CHILD_COMMAND => parse_child(rest),
        FIRST_RESULT_COMMAND => parse_first_result(rest),
        other => Err(UsageError::UnknownCommand(other.to_owned())),
    }
}

/// A command that takes flags only: its first positional word is an error.
fn no_positional(command: &'static str, parsed: &Parsed) -> Result<(), UsageError> {
    match parsed.positional.first() {
        Some(word) => Err(UsageError::UnexpectedArgument {
            command,
            argument: word.clone(),
        }),
        None => Ok(()),
    }
}

/// `schedlab [--quick] [--models ..] [--experiments ..] [--out DIR]`: the main job.
fn parse_table(args: &[String]) -> Result<Command, UsageError> {
    let parsed = Parsed::from_args(
        "schedlab",
        args,
        &[Flag::Quick, Flag::Models, Flag::Experiments, Flag::Out],
    )?;
    no_positional("schedlab", &parsed)?;
    let defaults = essay::Options::default();
    Ok(Command::Table(essay::Options {
        models: parsed.models.unwrap_or(defaults.models),
        experiments: parsed.experiments.unwrap_or(defaults.experiments),
        experiment: experiments::Options {
            quick: parsed.quick,
            ..defaults.experiment
        },
        out: parsed.out.unwrap_or(defaults.out),
    }))
}

/// `schedlab peers [--quick] [--experiments ..] [--out DIR]`.
fn parse_peers(rest: &[String]) -> Result<Command, UsageError> {
    let parsed = Parsed::from_args("peers", rest, &[Flag::Quick, Flag::Experiments, Flag::Out])?;
    no_positional("peers", &parsed)?;
    let defaults = lab::peers::Options::default();
    Ok(Command::Peers(lab::peers::Options {
        experiments: parsed.experiments.unwrap_or(defaults.experiments),
        quick: parsed.quick,
        out: parsed.out.unwrap_or(defaults.out),
        ..defaults
    }))
}

/// `__experiment <model> <experiment>`: one experiment on one model, in the process of its own
/// that the main job starts for it.
fn parse_experiment(rest: &[String]) -> Result<Command, UsageError> {
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

/// `schedlab bench <model> <workload>...|all [--procs N] [--reps R]`.
fn parse_bench(rest: &[String]) -> Result<Command, UsageError> {
    let parsed = Parsed::from_args("bench", rest, &[Flag::Procs, Flag::Reps, Flag::SizeScale])?;
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

/// `schedlab trace <model> <workload> [-o FILE] [--procs N]`.
fn parse_trace(rest: &[String]) -> Result<Command, UsageError> {
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

/// `schedlab serve <model> echo [--addr HOST:PORT] [--procs N]`.
fn parse_serve(rest: &[String]) -> Result<Command, UsageError> {
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

/// `__child <model> <workload>`: one fresh-process repetition of a benchmark (`bench` starts
/// them for workloads that read the process's memory).
fn parse_child(rest: &[String]) -> Result<Command, UsageError> {
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

/// `__first-result <model>`: the start-up experiment's process, which runs the model's first
/// task and prints its answer.
fn parse_first_result(rest: &[String]) -> Result<Command, UsageError> {
    let parsed = Parsed::from_args(FIRST_RESULT_COMMAND, rest, &[])?;
    match parsed.model_and_names(FIRST_RESULT_COMMAND)? {
        (model, []) => Ok(Command::FirstResult { model }),
        (_, [extra, ..]) => Err(UsageError::UnexpectedArgument {
            command: FIRST_RESULT_COMMAND,
            argument: extra.clone(),
        }),
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
