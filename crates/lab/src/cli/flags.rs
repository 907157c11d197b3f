//! The flags the subcommands take, and one subcommand's arguments parsed into its positional
//! words and checked flag values ([`Parsed`]).
//!
//! A flag is `--flag value` or `--flag=value`, anywhere among the words; `--` ends the flags. Each
//! subcommand names the flags it allows; any other is a [`UsageError::UnknownFlag`]. A value is
//! checked when it is read, so a bad one is reported before the subcommand looks at its words.

use std::net::SocketAddr;
use std::path::PathBuf;

use lab::experiments::Experiment;
use lab::model::Model;

use super::UsageError;

/// A flag some subcommand takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flag {
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
pub(super) struct Parsed {
    pub(super) positional: Vec<String>,
    pub(super) procs: Option<usize>,
    pub(super) reps: Option<usize>,
    pub(super) size_scale: Option<f64>,
    pub(super) output: Option<PathBuf>,
    pub(super) addr: Option<SocketAddr>,
    pub(super) quick: bool,
    pub(super) models: Option<Vec<Model>>,
    pub(super) experiments: Option<Vec<Experiment>>,
    pub(super) out: Option<PathBuf>,
    pub(super) cores: Option<usize>,
}

impl Parsed {
    pub(super) fn from_args(
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
    pub(super) fn model_and_names(
        &self,
        command: &'static str,
    ) -> Result<(Model, &[String]), UsageError> {
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
