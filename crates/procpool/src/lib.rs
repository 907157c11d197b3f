//! CPython's multiprocessing in Rust (issue 6): under construction.
