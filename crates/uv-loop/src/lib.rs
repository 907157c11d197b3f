//! Node.js's event loop on libuv in Rust (issue 5): under construction.
