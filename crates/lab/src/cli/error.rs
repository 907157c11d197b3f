//! The mistakes a command line can make ([`UsageError`]) and their messages, which list the
//! names that would have been accepted.

use std::ffi::OsString;
use std::fmt;

use lab::bench::Benchmark;
use lab::experiments::Experiment;
use lab::model::Model;

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
