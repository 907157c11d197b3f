//! CPython's threads under the GIL in Rust (issue 6): under construction.
