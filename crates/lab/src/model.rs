//! The concurrency models the lab measures.
//!
//! Each model has its own benchmark table: see `bench::Benchmark::table`.

/// A model: one of schedlab's runtimes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Model {
    /// Go's model: the `goroutines` crate (G-M-P scheduler, stackful goroutines, channels).
    Goroutines,
    /// CPython's asyncio: the `asyncio-loop` crate (`_run_once`, call_soon, tasks, queues).
    AsyncioLoop,
}

impl Model {
    /// Every model the lab can run, in table order.
    pub const ALL: [Model; 2] = [Model::Goroutines, Model::AsyncioLoop];

    /// The name results and the command line use.
    pub fn name(self) -> &'static str {
        match self {
            Model::Goroutines => "goroutines",
            Model::AsyncioLoop => "asyncio-loop",
        }
    }

    /// One line for `--help`.
    pub fn summary(self) -> &'static str {
        match self {
            Model::Goroutines => {
                "the goroutines crate: Go's G-M-P scheduler, stackful goroutines, channels"
            }
            Model::AsyncioLoop => {
                "the asyncio-loop crate: CPython's asyncio event loop, tasks, queues (one thread)"
            }
        }
    }

    /// The model called `name`, if any.
    pub fn from_name(name: &str) -> Option<Model> {
        Model::ALL.into_iter().find(|m| m.name() == name)
    }
}
