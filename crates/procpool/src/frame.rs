//! Frames: a 4-byte big-endian length, then that many bytes, as `multiprocessing.connection`
//! sends pickles (`Connection._send_bytes`, header `struct.pack("!i", n)`).
//!
//! ```text
//!   +--------+--------+--------+--------+-------------------- ... --+
//!   |  length, big-endian, 4 bytes      |  payload (length bytes)   |
//!   +--------+--------+--------+--------+-------------------- ... --+
//!   length 0xFFFF_FFFF (-1 as "!i"): CPython's large form, an 8-byte "!Q" length follows
//! ```
//!
//! Invariants:
//!
//! - A frame is decoded only once it is whole; bytes of the next frame stay in the buffer.
//! - A header that announces more than the receiver's limit never makes the receiver allocate
//!   it: [`FrameBuffer`] reports [`Frame::Oversize`] at once and then discards exactly that many
//!   bytes as they arrive, so the stream stays in step and the next frame is read correctly.
//!   The sender checks the limit before it writes ([`encode`]), so a conforming peer never sends
//!   one; the receiver's check is for a peer that is not.

/// A received frame, or what stood in for one.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A whole payload.
    Payload(Vec<u8>),
    /// A header announced `len` bytes, over the limit; they are being discarded.
    Oversize {
        /// The announced payload length.
        len: u64,
    },
}

/// The payload is over the frame limit; nothing was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameTooLarge {
    /// The payload's length.
    pub len: u64,
    /// The limit it broke.
    pub limit: u64,
}

impl std::fmt::Display for FrameTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a frame of {} bytes is over the limit of {} bytes",
            self.len, self.limit
        )
    }
}

impl std::error::Error for FrameTooLarge {}

/// The largest limit a frame can have: a 4-byte header holds up to `i32::MAX`, as `"!i"` does.
pub const MAX_FRAME_LIMIT: usize = i32::MAX as usize;

/// Appends `payload` as one frame to `out`, or refuses it if it is over `limit`.
pub(crate) fn encode(payload: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<(), FrameTooLarge> {
    if payload.len() > limit.min(MAX_FRAME_LIMIT) {
        return Err(FrameTooLarge {
            len: payload.len() as u64,
            limit: limit as u64,
        });
    }
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// Bytes received and not yet taken as frames.
pub(crate) struct FrameBuffer {
    bytes: Vec<u8>,
    /// Where the undecoded bytes start in `bytes`.
    start: usize,
    /// Bytes of an oversize payload still to throw away.
    discard: u64,
    limit: usize,
}

impl FrameBuffer {
    /// An empty buffer that refuses payloads over `limit` bytes.
    pub(crate) fn new(limit: usize) -> FrameBuffer {
        FrameBuffer {
            bytes: Vec::with_capacity(64 * 1024),
            start: 0,
            discard: 0,
            limit,
        }
    }

    /// Space to read into: `read` bytes of it are then committed with [`FrameBuffer::filled`].
    pub(crate) fn spare(&mut self, at_least: usize) -> &mut [u8] {
        if self.start > 0 && self.start == self.bytes.len() {
            self.bytes.clear();
            self.start = 0;
        } else if self.start > self.bytes.capacity() / 2 {
            self.bytes.drain(..self.start);
            self.start = 0;
        }
        let len = self.bytes.len();
        self.bytes.resize(len + at_least, 0);
        &mut self.bytes[len..]
    }

    /// Commits `read` bytes of the space [`FrameBuffer::spare`] gave out (and drops the rest).
    pub(crate) fn filled(&mut self, given: usize, read: usize) {
        let len = self.bytes.len() - given + read;
        self.bytes.truncate(len);
    }

    /// Appends received bytes.
    #[cfg(test)]
    pub(crate) fn extend(&mut self, data: &[u8]) {
        let spare = self.spare(data.len());
        spare.copy_from_slice(data);
    }

    /// The next frame, if one is whole; discards what an oversize header announced first.
    pub(crate) fn next_frame(&mut self) -> Option<Frame> {
        if self.discard > 0 {
            let available = (self.bytes.len() - self.start) as u64;
            let dropped = available.min(self.discard);
            self.start += dropped as usize;
            self.discard -= dropped;
            if self.discard > 0 {
                return None;
            }
        }
        let rest = &self.bytes[self.start..];
        let (header_len, len) = header(rest)?;
        if len > self.limit as u64 {
            self.start += header_len;
            self.discard = len;
            let available = (self.bytes.len() - self.start) as u64;
            let dropped = available.min(self.discard);
            self.start += dropped as usize;
            self.discard -= dropped;
            return Some(Frame::Oversize { len });
        }
        let end = header_len + len as usize;
        if rest.len() < end {
            return None;
        }
        let payload = rest[header_len..end].to_vec();
        self.start += end;
        Some(Frame::Payload(payload))
    }
}

/// The header's own length and the payload length it announces, once the header is whole.
fn header(bytes: &[u8]) -> Option<(usize, u64)> {
    let short: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    let len = u32::from_be_bytes(short);
    if len != u32::MAX {
        return Some((4, u64::from(len)));
    }
    let long: [u8; 8] = bytes.get(4..12)?.try_into().ok()?;
    Some((12, u64::from_be_bytes(long)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_anywhere_come_out_whole() {
        let mut wire = Vec::new();
        encode(b"hello", 100, &mut wire).unwrap();
        encode(b"", 100, &mut wire).unwrap();
        encode(b"world!", 100, &mut wire).unwrap();
        assert_eq!(&wire[..4], &[0, 0, 0, 5]);
        for split in 0..wire.len() {
            let mut buffer = FrameBuffer::new(100);
            buffer.extend(&wire[..split]);
            let mut got = Vec::new();
            while let Some(frame) = buffer.next_frame() {
                got.push(frame);
            }
            buffer.extend(&wire[split..]);
            while let Some(frame) = buffer.next_frame() {
                got.push(frame);
            }
            let want = [&b"hello"[..], b"", b"world!"].map(|p| Frame::Payload(p.to_vec()));
            assert_eq!(got, want, "split at {split}");
        }
    }

    #[test]
    fn an_oversize_frame_is_reported_and_skipped_and_the_next_one_read() {
        let mut wire = Vec::new();
        wire.extend_from_slice(&10u32.to_be_bytes());
        wire.extend_from_slice(&[7; 10]);
        encode(b"ok", 100, &mut wire).unwrap();
        let mut buffer = FrameBuffer::new(4);
        buffer.extend(&wire[..6]);
        assert_eq!(buffer.next_frame(), Some(Frame::Oversize { len: 10 }));
        assert_eq!(buffer.next_frame(), None);
        buffer.extend(&wire[6..]);
        assert_eq!(buffer.next_frame(), Some(Frame::Payload(b"ok".to_vec())));
        assert_eq!(buffer.next_frame(), None);
    }

    #[test]
    fn cpython_large_header_is_understood_and_refused() {
        let mut wire = u32::MAX.to_be_bytes().to_vec();
        wire.extend_from_slice(&(1u64 << 32).to_be_bytes());
        let mut buffer = FrameBuffer::new(1 << 20);
        buffer.extend(&wire);
        assert_eq!(buffer.next_frame(), Some(Frame::Oversize { len: 1 << 32 }));
    }

    #[test]
    fn the_sender_refuses_a_payload_over_the_limit() {
        let mut out = Vec::new();
        let error = encode(&[0; 9], 8, &mut out).unwrap_err();
        assert_eq!(error, FrameTooLarge { len: 9, limit: 8 });
        assert!(out.is_empty());
    }
}
