//! AVML v2 captures, as written by Microsoft's `avml --compress` and `avml convert --format lime_compressed`.
//!
//! The file is a sequence of blocks. Each block is a 32-byte range header laid out like LiME's (magic,
//! version 2, first and last physical address, both inclusive, 8 reserved bytes), then the range's bytes
//! compressed with the snappy *framing* format (a stream identifier chunk, then compressed or uncompressed
//! chunks of at most 64 KiB of data each, carrying a masked CRC-32C of their uncompressed bytes), then an
//! 8-byte little-endian trailer holding the length of the compressed data. avml writes the magic `AVML`
//! (0x4c4d5641); a LiME magic with version 2 is accepted too. avml cuts ranges into blocks of at most
//! 16 MiB and leaves out blocks that are all zero, so those addresses are absent from the capture.
//!
//! [`open`] maps the blocks in one of two ways, and reads them through one stream:
//! - [`chain`]: a complete file's blocks, found from its end by following the trailers back to offset 0
//!   (one small read per block); their chunks are indexed when a read first needs them.
//! - [`walk`]: the walk of a block's snappy chunks, which indexes them; a file whose trailers do not chain
//!   (cut short, or damaged) is walked whole from its start at open.
//! - [`stream`]: the capture's data stream, the virtual concatenation of all decompressed ranges, read
//!   through the chunk index with a cache of decompressed chunks.
//!
//! In a walked file a corrupt header, chunk type or chunk length is a [`FormatError::Corrupt`] at open; in
//! a file whose blocks chain, a block with a corrupt chunk header is a [`ReadError`] when it is first read,
//! and the other blocks still read. A chunk whose snappy data or CRC is bad is a [`ReadError`] when it is
//! read. A capture cut short keeps what is complete: the blocks before the cut and, of the block that is
//! cut, the chunks that are whole (a block whose trailer alone is missing is kept whole; a range header cut
//! off after at least one block is dropped).
//!
//! [`ReadError`]: crate::reader::ReadError

mod chain;
#[cfg(test)]
mod sample;
mod stream;
mod walk;

use super::lime::{self, RangeHeader, MAGIC as LIME_MAGIC};
use super::{Capture, CaptureFormat, FormatError, Segment};
use crate::reader::ReadAt;
use stream::AvmlStream;

const FORMAT: CaptureFormat = CaptureFormat::Avml;
/// "AVML" as a little-endian u32: the magic avml writes in its range headers.
pub(super) const MAGIC: u32 = 0x4c4d_5641;
/// The header version of a snappy-compressed range.
pub(super) const VERSION: u32 = 2;
/// Size of the compressed-length trailer after each block's snappy data.
const TRAILER_LEN: u64 = 8;
/// Size of a snappy frame chunk header (type, 24-bit length).
const CHUNK_HEADER_LEN: u64 = 4;
/// Most uncompressed bytes one snappy frame chunk may hold.
const MAX_CHUNK_DATA: usize = 1 << 16;
/// The body of snappy's stream identifier chunk.
const STREAM_ID: &[u8] = b"sNaPpY";

/// Whether the first bytes are an AVML v2 range header (the AVML or LiME magic, version 2).
pub(super) fn is_avml(head: &[u8; 8]) -> bool {
    let (magic, version) = lime::magic_and_version(head);
    (magic == MAGIC || magic == LIME_MAGIC) && version == VERSION
}

/// Map the ranges of an AVML file onto their decompressed stream: from the chain of its trailers when it
/// is complete (chunks indexed as they are needed), else by walking and indexing it from the start.
pub(super) fn open(file: Box<dyn ReadAt>) -> Result<Capture, FormatError> {
    let size = file.size();
    if let Some(blocks) = chain::block_chain(file.as_ref()) {
        let mut segments = Vec::new();
        for b in &blocks {
            add_segment(&mut segments, b.phys_start, b.len, b.stream_offset);
        }
        let stream = AvmlStream::chained(file, blocks);
        return Capture::from_parts(FORMAT, size, segments, Box::new(stream), None);
    }
    let index = walk::build_index(file.as_ref())?;
    let stream = AvmlStream::walked(file, index.chunks, index.stream_len);
    Capture::from_parts(FORMAT, size, index.segments, Box::new(stream), None)
}

/// Parse the range header `h` (32 bytes) found at file offset `offset`: AVML's or LiME's magic.
fn parse_header(h: &[u8], offset: u64) -> Result<RangeHeader, FormatError> {
    RangeHeader::parse(h, offset, FORMAT, &[MAGIC, LIME_MAGIC])
}

/// Append a segment, merging it with the previous one when both the physical addresses and the stream
/// offsets follow on (avml cuts large ranges into 16 MiB blocks).
fn add_segment(segments: &mut Vec<Segment>, phys_start: u64, len: u64, data_offset: u64) {
    if len == 0 {
        return;
    }
    if let Some(last) = segments.last_mut() {
        if last.phys_end() == phys_start && last.data_offset + last.len == data_offset {
            last.len += len;
            return;
        }
    }
    segments.push(Segment {
        phys_start,
        len,
        data_offset,
    });
}

#[cfg(test)]
mod tests {
    use super::sample::*;
    use super::*;

    #[test]
    fn capture_open_detects_avml() {
        let (file, _, _) = sample();
        let mut magic = [0; 8];
        magic.copy_from_slice(&file[..8]);
        assert!(is_avml(&magic));
        let cap = Capture::open(Box::new(file)).unwrap();
        assert_eq!(cap.format(), CaptureFormat::Avml);
        assert_eq!(cap.phys_bytes(), 205_000);
    }

    #[test]
    fn adjacent_blocks_merge_into_one_segment() {
        let data = memory(8192, 3);
        let mut file = block(0x2000, &data[..4096]);
        file.extend(block(0x3000, &data[4096..]));
        let cap = open_bytes(file).unwrap();
        assert_eq!(
            cap.segments(),
            [Segment {
                phys_start: 0x2000,
                len: 8192,
                data_offset: 0
            }]
        );
        let mut buf = vec![0; 100];
        cap.read_phys(0x2fce, &mut buf).unwrap();
        assert_eq!(buf, data[4046..4146]);
    }

    #[test]
    fn lime_magic_with_version_2_is_accepted() {
        let data = memory(1000, 4);
        let mut file = block(0x5000, &data);
        file[..4].copy_from_slice(&LIME_MAGIC.to_le_bytes());
        let cap = Capture::open(Box::new(file)).unwrap();
        assert_eq!(cap.format(), CaptureFormat::Avml);
        let mut buf = vec![0; 1000];
        cap.read_phys(0x5000, &mut buf).unwrap();
        assert_eq!(buf, data);
    }

    /// Random and mutated inputs: opening and reading never panics.
    #[test]
    fn random_and_mutated_inputs_do_not_panic() {
        let (file, _, _) = sample();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..400 {
            let mut input = match round % 4 {
                // Random bytes behind a valid header.
                0 => {
                    let mut v = header(MAGIC, rng.below(1 << 20), rng.below(1 << 21));
                    v.extend((0..rng.below(4096)).map(|_| rng.next() as u8));
                    v
                }
                // A truncated sample.
                1 => file[..rng.below(file.len() as u64) as usize].to_vec(),
                // A sample with a few bytes changed.
                _ => {
                    let mut v = file.clone();
                    for _ in 0..1 + rng.below(8) {
                        let i = rng.below(v.len() as u64) as usize;
                        v[i] = rng.next() as u8;
                    }
                    v
                }
            };
            if round % 16 == 5 && !input.is_empty() {
                // A mutated header field, chunk length or chunk type near the start.
                let i = rng.below(48.min(input.len() as u64)) as usize;
                input[i] = rng.next() as u8;
            }
            for cap in [open(Box::new(input.clone())), Capture::open(Box::new(input))]
                .into_iter()
                .flatten()
            {
                for seg in cap.segments() {
                    let mut buf = vec![0; 4096];
                    for addr in [
                        seg.phys_start,
                        seg.phys_start + rng.below(seg.len),
                        seg.phys_end().saturating_sub(8),
                    ] {
                        let len = (seg.phys_end() - addr).min(4096) as usize;
                        let _ = cap.read_phys(addr, &mut buf[..len]);
                    }
                }
            }
        }
    }
}
