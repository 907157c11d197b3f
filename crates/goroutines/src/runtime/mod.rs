//! The runtime: G, M, P and the scheduler.

pub(crate) mod runq;
pub(crate) mod stack;
