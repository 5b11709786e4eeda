//! AVML files built in memory for the tests of this module: blocks as avml writes them, and a sample of
//! two ranges with a gap.

use std::io::Write;

use super::{open, Capture, FormatError, MAGIC, VERSION};

/// A deterministic xorshift PRNG.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

pub(super) fn header(magic: u32, start: u64, last: u64) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend(magic.to_le_bytes());
    h.extend(VERSION.to_le_bytes());
    h.extend(start.to_le_bytes());
    h.extend(last.to_le_bytes());
    h.extend([0; 8]);
    h
}

/// One AVML block as avml writes it: header, snappy frame stream, compressed-length trailer.
pub(super) fn block(start: u64, data: &[u8]) -> Vec<u8> {
    let mut out = header(MAGIC, start, start + data.len() as u64 - 1);
    let mut encoder = snap::write::FrameEncoder::new(Vec::new());
    encoder.write_all(data).unwrap();
    let frames = encoder.into_inner().unwrap();
    out.extend(&frames);
    out.extend((frames.len() as u64).to_le_bytes());
    out
}

/// Bytes that are partly incompressible (stored chunks) and partly compressible (snappy chunks).
pub(super) fn memory(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    (0..len)
        .map(|i| {
            if (i / 70_000) % 2 == 0 {
                rng.next() as u8
            } else {
                (i / 300) as u8
            }
        })
        .collect()
}

pub(super) const A: u64 = 0x10_0000;
pub(super) const B: u64 = 0x80_0000;

/// Two ranges with a gap: 200,000 bytes at `A` (four chunks, stored and compressed), 5,000 at `B`.
pub(super) fn sample() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (a, b) = (memory(200_000, 1), memory(5_000, 2));
    let mut file = block(A, &a);
    file.extend(block(B, &b));
    (file, a, b)
}

pub(super) fn open_bytes(file: Vec<u8>) -> Result<Capture, FormatError> {
    open(Box::new(file))
}
