//! Ease of use: each model's echo runner, as a user of that model writes it, with its length and
//! its style.
//!
//! The code is the lab's own runners, read from their source files as compiled into this binary
//! (`include_str!`), so what the table counts is what the benchmarks run:
//!
//! | model        | runner                                   | file                        |
//! | ------------ | ---------------------------------------- | --------------------------- |
//! | goroutines   | `echo_goroutines`: a goroutine per conn  | `workloads/echo.rs`         |
//! | procpool     | `procpool_chunk` + `procpool`: a task registered by name, `Pool.map` | `workloads/cpu_parallel.rs` |
//! | gil-threads  | `echo_gil_threads`: a thread per conn    | `workloads/echo.rs`         |
//! | asyncio-loop | `echo_asyncio_loop`: a streams coroutine | `workloads/echo.rs`         |
//! | uv-loop      | `echo_uv_loop`: `data`/`drain` callbacks | `workloads/echo.rs`         |
//!
//! A process pool serves no sockets (multiprocessing has no echo server to model), so procpool's
//! column shows what its users write instead: a task function registered by name, so it can
//! cross into a worker, and the map that sends it there with serialized arguments.
//!
//! The style is read off the code: `.await` makes it async/await; a closure handed to an
//! `on_...` event makes it callbacks; otherwise it is blocking style.

use crate::model::Model;

const ECHO_SOURCE: &str = include_str!("workloads/echo.rs");
const CPU_PARALLEL_SOURCE: &str = include_str!("workloads/cpu_parallel.rs");

/// How the runner's code reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Straight-line code that blocks where it waits.
    Blocking,
    /// `async fn`s that `.await` where they wait.
    AsyncAwait,
    /// Closures registered for events.
    Callbacks,
}

impl Style {
    /// The style in words.
    pub fn name(self) -> &'static str {
        match self {
            Style::Blocking => "blocking style",
            Style::AsyncAwait => "async/await",
            Style::Callbacks => "callbacks",
        }
    }
}

/// One model's runner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Runner {
    /// Its source, doc comment included.
    pub source: String,
    /// Lines of code: not blank, not comments.
    pub lines: usize,
    /// How it reads.
    pub style: Style,
}

/// `model`'s runner, or `None` if its source cannot be found (a renamed function: the tests
/// catch that).
pub fn runner(model: Model) -> Option<Runner> {
    let source = match model {
        Model::Goroutines => item(ECHO_SOURCE, "pub fn echo_goroutines(")?,
        Model::GilThreads => item(ECHO_SOURCE, "pub fn echo_gil_threads(")?,
        Model::AsyncioLoop => item(ECHO_SOURCE, "pub async fn echo_asyncio_loop(")?,
        Model::UvLoop => item(ECHO_SOURCE, "pub fn echo_uv_loop(")?,
        Model::Procpool => {
            let task = item(CPU_PARALLEL_SOURCE, "procpool::task! {")?;
            let map = item(CPU_PARALLEL_SOURCE, "pub fn procpool(")?;
            format!("{task}\n{map}")
        }
    };
    let lines = source
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("//"))
        .count();
    let style = if source.contains(".await") {
        Style::AsyncAwait
    } else if source.contains(".on_") {
        Style::Callbacks
    } else {
        Style::Blocking
    };
    Some(Runner {
        source,
        lines,
        style,
    })
}

/// The item of `source` whose first line starts with `start` (at column 0), with the doc
/// comment above it, through the `}` that closes it at column 0.
fn item(source: &str, start: &str) -> Option<String> {
    let lines: Vec<&str> = source.lines().collect();
    let first = lines.iter().position(|line| line.starts_with(start))?;
    let doc = lines[..first]
        .iter()
        .rev()
        .take_while(|line| line.starts_with("///") || line.starts_with("#["))
        .count();
    let last = first + lines[first..].iter().position(|line| *line == "}")?;
    Some(lines[first - doc..=last].join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_has_a_runner_of_its_style() {
        let style = |model| runner(model).map(|r| r.style);
        assert_eq!(style(Model::Goroutines), Some(Style::Blocking));
        assert_eq!(style(Model::GilThreads), Some(Style::Blocking));
        assert_eq!(style(Model::AsyncioLoop), Some(Style::AsyncAwait));
        assert_eq!(style(Model::UvLoop), Some(Style::Callbacks));
        assert_eq!(style(Model::Procpool), Some(Style::Blocking));
        for model in Model::ALL {
            let runner = runner(model).expect("a runner");
            assert!(
                runner.lines >= 5 && runner.lines < 60,
                "{model:?}: {}",
                runner.lines
            );
            assert!(runner.source.ends_with('}'));
        }
    }
}
