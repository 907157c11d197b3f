//! The concurrency models the lab measures.

/// A model: one of schedlab's runtimes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Model {
    /// Go's model: the `goroutines` crate (G-M-P scheduler, stackful goroutines, channels).
    Goroutines,
}

impl Model {
    /// Every model the lab can run, in table order.
    pub const ALL: [Model; 1] = [Model::Goroutines];

    /// The name results and the command line use.
    pub fn name(self) -> &'static str {
        match self {
            Model::Goroutines => "goroutines",
        }
    }

    /// One line for `--help`.
    pub fn summary(self) -> &'static str {
        match self {
            Model::Goroutines => {
                "the goroutines crate: Go's G-M-P scheduler, stackful goroutines, channels"
            }
        }
    }

    /// The model called `name`, if any.
    pub fn from_name(name: &str) -> Option<Model> {
        Model::ALL.into_iter().find(|m| m.name() == name)
    }
}
