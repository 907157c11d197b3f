//! The authkey handshake of `multiprocessing.connection` (CPython 3.12+, HMAC-SHA256), which the
//! fork server uses to tell its pool's requests from anyone else's.
//!
//! ```text
//!   deliver_challenge (server)                     answer_challenge (client)
//!   ---------------------------                     -------------------------
//!   message = "{sha256}" + 40 random bytes
//!   send  "#CHALLENGE#" + message        ------->   recv (at most 256 bytes), check the prefix
//!                                                   send "{sha256}" + HMAC(authkey, message)
//!   recv (at most 256 bytes)            <-------
//!   verify: same digest, constant-time compare
//!   send "#WELCOME#" or "#FAILURE#"      ------->   anything but "#WELCOME#": AuthenticationError
//! ```
//!
//! The MAC covers the whole message, `{sha256}` prefix included, so a client cannot downgrade
//! the digest. Each message is one frame (4-byte length, payload); every read is capped at 256 bytes
//! as CPython caps `recv_bytes(256)`, so an unauthenticated peer cannot make the server
//! allocate. CPython also accepts the legacy HMAC-MD5 form (a 20-byte challenge) and the other
//! digests of `_ALLOWED_DIGESTS`; procpool speaks to itself only and offers SHA-256 alone.

use std::io::{self, Read, Write};

use hmac::{Hmac, Mac};
use sha2::Sha256;

const CHALLENGE: &[u8] = b"#CHALLENGE#";
const WELCOME: &[u8] = b"#WELCOME#";
const FAILURE: &[u8] = b"#FAILURE#";
const DIGEST_PREFIX: &[u8] = b"{sha256}";
/// `multiprocessing.connection.MESSAGE_LENGTH` from 3.12.
const MESSAGE_LENGTH: usize = 40;
/// The cap on every handshake read (`recv_bytes(256)`).
const MAX_HANDSHAKE_FRAME: usize = 256;

/// Why a handshake failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthenticationError {
    /// The connection failed.
    Io(io::Error),
    /// The peer sent more than 256 bytes where a handshake message belongs.
    MessageTooLong {
        /// The length it announced.
        len: u64,
    },
    /// The message did not start with `#CHALLENGE#` or lacked the `{sha256}` prefix.
    BadChallenge,
    /// The digest the client sent was wrong (or not `{sha256}`).
    DigestReceivedWasWrong,
    /// The server rejected our digest.
    DigestSentWasRejected,
}

impl std::fmt::Display for AuthenticationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthenticationError::Io(error) => write!(f, "handshake connection failed: {error}"),
            AuthenticationError::MessageTooLong { len } => {
                write!(f, "handshake message of {len} bytes is over 256")
            }
            AuthenticationError::BadChallenge => {
                write!(f, "the challenge is not a {{sha256}} #CHALLENGE#")
            }
            AuthenticationError::DigestReceivedWasWrong => write!(f, "digest received was wrong"),
            AuthenticationError::DigestSentWasRejected => write!(f, "digest sent was rejected"),
        }
    }
}

impl std::error::Error for AuthenticationError {}

impl From<io::Error> for AuthenticationError {
    fn from(error: io::Error) -> Self {
        AuthenticationError::Io(error)
    }
}

/// The MAC of `message` under `authkey`.
fn mac(authkey: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    match Hmac::<Sha256>::new_from_slice(authkey) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    }
}

/// The client's reply to `message`: `{sha256}` + HMAC-SHA256(authkey, message)
/// (`connection._create_response` for a `{sha256}` challenge).
pub fn create_response(authkey: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = mac(authkey);
    mac.update(message);
    let mut response = DIGEST_PREFIX.to_vec();
    response.extend_from_slice(&mac.finalize().into_bytes());
    response
}

/// Whether `response` is the right reply to `message` (compared in constant time).
fn verify_challenge(authkey: &[u8], message: &[u8], response: &[u8]) -> bool {
    let Some(digest) = response.strip_prefix(DIGEST_PREFIX) else {
        return false;
    };
    let mut mac = mac(authkey);
    mac.update(message);
    mac.verify_slice(digest).is_ok()
}

/// Sends one handshake frame.
fn send(stream: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let mut frame = Vec::with_capacity(4 + payload.len());
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(payload);
    stream.write_all(&frame)
}

/// Receives one handshake frame of at most 256 bytes.
fn recv(stream: &mut impl Read) -> Result<Vec<u8>, AuthenticationError> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header)?;
    let len = u32::from_be_bytes(header) as usize;
    if len > MAX_HANDSHAKE_FRAME {
        return Err(AuthenticationError::MessageTooLong { len: len as u64 });
    }
    let mut payload = vec![0; len];
    stream.read_exact(&mut payload)?;
    Ok(payload)
}

/// The server's side: challenges the peer and tells it whether it passed.
pub fn deliver_challenge(
    stream: &mut (impl Read + Write),
    authkey: &[u8],
) -> Result<(), AuthenticationError> {
    let mut random = [0u8; MESSAGE_LENGTH];
    crate::sys::random_bytes(&mut random)?;
    let mut message = DIGEST_PREFIX.to_vec();
    message.extend_from_slice(&random);
    let mut challenge = CHALLENGE.to_vec();
    challenge.extend_from_slice(&message);
    send(stream, &challenge)?;
    let response = recv(stream)?;
    if verify_challenge(authkey, &message, &response) {
        send(stream, WELCOME)?;
        Ok(())
    } else {
        send(stream, FAILURE)?;
        Err(AuthenticationError::DigestReceivedWasWrong)
    }
}

/// The client's side: answers the peer's challenge.
pub fn answer_challenge(
    stream: &mut (impl Read + Write),
    authkey: &[u8],
) -> Result<(), AuthenticationError> {
    let challenge = recv(stream)?;
    let message = challenge
        .strip_prefix(CHALLENGE)
        .filter(|message| message.starts_with(DIGEST_PREFIX) && message.len() >= 20)
        .ok_or(AuthenticationError::BadChallenge)?;
    send(stream, &create_response(authkey, message))?;
    if recv(stream)? == WELCOME {
        Ok(())
    } else {
        Err(AuthenticationError::DigestSentWasRejected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    fn handshake(server_key: &'static [u8], client_key: &'static [u8]) -> (bool, bool) {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let server = std::thread::spawn(move || deliver_challenge(&mut a, server_key).is_ok());
        let client = answer_challenge(&mut b, client_key).is_ok();
        (server.join().unwrap(), client)
    }

    #[test]
    fn the_same_key_passes_both_ways() {
        assert_eq!(handshake(b"secret", b"secret"), (true, true));
    }

    #[test]
    fn a_wrong_key_fails_on_both_sides() {
        assert_eq!(handshake(b"secret", b"guess"), (false, false));
    }

    #[test]
    fn an_oversize_handshake_message_is_refused_unread() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(&1_000_000u32.to_be_bytes()).unwrap();
        match answer_challenge(&mut b, b"k") {
            Err(AuthenticationError::MessageTooLong { len: 1_000_000 }) => {}
            other => panic!("{other:?}"),
        }
    }
}
