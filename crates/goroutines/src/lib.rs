//! goroutines
#![allow(dead_code)]

mod loom;
pub(crate) mod runtime;
