//! `zlib.deflate` / `zlib.inflate` on the thread pool (the `flate2` crate; zlib format).

use std::io::{self, Write};

use flate2::write::{ZlibDecoder, ZlibEncoder};
use flate2::Compression;

use crate::node::submit_work;
use crate::uv::WorkKind;

/// Compresses `data` in the zlib format at the default level (`zlib.deflate`).
pub fn deflate(data: Vec<u8>, callback: impl FnOnce(io::Result<Vec<u8>>) + 'static) {
    submit_work(
        WorkKind::Cpu,
        move || {
            let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
            encoder.write_all(&data)?;
            encoder.finish()
        },
        callback,
    );
}

/// Decompresses zlib-format `data` (`zlib.inflate`).
pub fn inflate(data: Vec<u8>, callback: impl FnOnce(io::Result<Vec<u8>>) + 'static) {
    submit_work(
        WorkKind::Cpu,
        move || {
            let mut decoder = ZlibDecoder::new(Vec::new());
            decoder.write_all(&data)?;
            decoder.finish()
        },
        callback,
    );
}
