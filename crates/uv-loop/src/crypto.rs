//! `crypto.pbkdf2` and `crypto.randomBytes` on the thread pool.
//!
//! PBKDF2 is RFC 8018 section 5.2 over HMAC (the `hmac` and `sha2` crates): block `i` is
//! `U1 ^ U2 ^ ... ^ Uc` with `U1 = PRF(P, S || INT(i))`, `Uj = PRF(P, Uj-1)`.

use std::fmt;
use std::io::{self, Read};

use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha512};

use crate::node::submit_work;
use crate::uv::WorkKind;

/// The hash PBKDF2 uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Digest {
    /// SHA-256.
    Sha256,
    /// SHA-512.
    Sha512,
}

/// Invalid arguments to [`pbkdf2`] or [`random_bytes`] (Node throws `ERR_OUT_OF_RANGE`
/// synchronously).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfRange {
    /// The argument's name.
    pub argument: &'static str,
}

impl fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "The value of \"{}\" is out of range.", self.argument)
    }
}

impl std::error::Error for OutOfRange {}

/// Node's limit for `iterations` and `keylen` (int32).
const INT32_MAX: u64 = i32::MAX as u64;

/// Derives `keylen` bytes from `password` and `salt` on the thread pool (`crypto.pbkdf2`).
pub fn pbkdf2(
    password: Vec<u8>,
    salt: Vec<u8>,
    iterations: u32,
    keylen: usize,
    digest: Digest,
    callback: impl FnOnce(Vec<u8>) + 'static,
) -> Result<(), OutOfRange> {
    if iterations == 0 || u64::from(iterations) > INT32_MAX {
        return Err(OutOfRange {
            argument: "iterations",
        });
    }
    if keylen as u64 > INT32_MAX {
        return Err(OutOfRange { argument: "keylen" });
    }
    submit_work(
        WorkKind::Cpu,
        move || match digest {
            Digest::Sha256 => derive::<Hmac<Sha256>>(&password, &salt, iterations, keylen),
            Digest::Sha512 => derive::<Hmac<Sha512>>(&password, &salt, iterations, keylen),
        },
        callback,
    );
    Ok(())
}

/// PBKDF2 with the PRF `M`, synchronously (`crypto.pbkdf2Sync`).
pub fn pbkdf2_sync(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    keylen: usize,
    digest: Digest,
) -> Vec<u8> {
    match digest {
        Digest::Sha256 => derive::<Hmac<Sha256>>(password, salt, iterations, keylen),
        Digest::Sha512 => derive::<Hmac<Sha512>>(password, salt, iterations, keylen),
    }
}

fn derive<M: Mac + hmac::digest::KeyInit + Clone>(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    keylen: usize,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(keylen);
    let Ok(prf) = <M as hmac::digest::KeyInit>::new_from_slice(password) else {
        return out;
    };
    let mut block_index: u32 = 1;
    while out.len() < keylen {
        let mut mac = prf.clone();
        mac.update(salt);
        mac.update(&block_index.to_be_bytes());
        let mut u = mac.finalize().into_bytes();
        let mut t = u.clone();
        for _ in 1..iterations {
            let mut mac = prf.clone();
            mac.update(&u);
            u = mac.finalize().into_bytes();
            for (t_byte, u_byte) in t.iter_mut().zip(u.iter()) {
                *t_byte ^= u_byte;
            }
        }
        let take = (keylen - out.len()).min(t.len());
        out.extend_from_slice(&t[..take]);
        block_index = block_index.wrapping_add(1);
    }
    out
}

/// `size` random bytes from the kernel on the thread pool (`crypto.randomBytes(size, cb)`).
pub fn random_bytes(
    size: usize,
    callback: impl FnOnce(io::Result<Vec<u8>>) + 'static,
) -> Result<(), OutOfRange> {
    if size as u64 > INT32_MAX {
        return Err(OutOfRange { argument: "size" });
    }
    submit_work(
        WorkKind::Cpu,
        move || -> io::Result<Vec<u8>> {
            let mut bytes = vec![0; size];
            std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
            Ok(bytes)
        },
        callback,
    );
    Ok(())
}
