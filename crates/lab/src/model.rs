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
    /// Node.js on libuv: the `uv-loop` crate (phases, timers, immediates, nextTick, microtasks).
    UvLoop,
    /// CPython's threads under the GIL: the `gil-threads` crate (ceval_gil.c's switching).
    GilThreads,
    /// CPython's multiprocessing: the `procpool` crate (worker processes, framed IPC, Pool).
    Procpool,
}

impl Model {
    /// Every model the lab can run, in the essay's table order.
    pub const ALL: [Model; 5] = [
        Model::Goroutines,
        Model::Procpool,
        Model::GilThreads,
        Model::AsyncioLoop,
        Model::UvLoop,
    ];

    /// The name results and the command line use.
    pub fn name(self) -> &'static str {
        match self {
            Model::Goroutines => "goroutines",
            Model::AsyncioLoop => "asyncio-loop",
            Model::UvLoop => "uv-loop",
            Model::GilThreads => "gil-threads",
            Model::Procpool => "procpool",
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
            Model::UvLoop => {
                "the uv-loop crate: Node's libuv loop, timers, immediates, nextTick, microtasks"
            }
            Model::GilThreads => "the gil-threads crate: OS threads under CPython's GIL",
            Model::Procpool => "the procpool crate: CPython's multiprocessing Pool and Executor",
        }
    }

    /// The model called `name`, if any.
    pub fn from_name(name: &str) -> Option<Model> {
        Model::ALL.into_iter().find(|m| m.name() == name)
    }
}
