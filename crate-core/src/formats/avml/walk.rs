//! The walk of AVML blocks: a block's snappy chunks, indexed from its header to its trailer.
//!
//! [`walk_block`] visits the chunk headers of one block (stream identifier, data, padding), records where
//! each data chunk's body is in the file and where its bytes go in the decompressed stream, and checks
//! that the chunks fill the range exactly up to the trailer. [`build_index`] walks a whole file from its
//! start this way, through windows of 1 MiB: the way to open a file whose trailers do not chain (cut
//! short, or damaged), keeping every chunk that is whole.

use super::{add_segment, parse_header, CHUNK_HEADER_LEN, FORMAT, MAX_CHUNK_DATA, STREAM_ID, TRAILER_LEN, VERSION};
use crate::formats::lime::{RangeHeader, HEADER_LEN, MAX_RANGES};
use crate::formats::{corrupt, FormatError, Segment};
use crate::reader::ReadAt;

/// Size of the masked CRC-32C at the start of a data chunk's body.
const CRC_LEN: usize = 4;
/// Bound on data chunks indexed: 2^22 chunks of 64 KiB are 256 GiB of memory (an index of 96 MiB).
const MAX_CHUNKS: usize = 1 << 22;
/// Bound on chunk headers visited during the walk (data, padding and stream identifiers).
const MAX_VISITED: usize = 2 * MAX_CHUNKS;
/// Size of one read while walking the chunk headers.
const WINDOW: usize = 1 << 20;

/// One snappy data chunk of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Chunk {
    /// File offset of the chunk's body: the masked CRC, then the (compressed) data.
    pub(super) body: u64,
    /// Offset of its first decompressed byte in the stream.
    pub(super) stream_offset: u64,
    /// Length of the body, CRC included.
    pub(super) body_len: u32,
    /// Decompressed length (1 to 64 KiB).
    pub(super) len: u32,
    /// Snappy-compressed (chunk type 0) or stored (chunk type 1).
    pub(super) compressed: bool,
}

impl Chunk {
    pub(super) fn stream_end(&self) -> u64 {
        self.stream_offset + u64::from(self.len)
    }

    pub(super) fn body_end(&self) -> u64 {
        self.body + u64::from(self.body_len)
    }
}

/// What the walk of the file found.
#[derive(Debug, Default)]
pub(super) struct Index {
    pub(super) chunks: Vec<Chunk>,
    pub(super) segments: Vec<Segment>,
    pub(super) stream_len: u64,
}

/// A buffered view of the file for the header walk: reads `WINDOW` bytes at a time.
pub(super) struct Window<'a> {
    file: &'a dyn ReadAt,
    size: u64,
    start: u64,
    buf: Vec<u8>,
}

impl<'a> Window<'a> {
    pub(super) fn new(file: &'a dyn ReadAt) -> Self {
        Window {
            file,
            size: file.size(),
            start: 0,
            buf: Vec::new(),
        }
    }

    /// A window holding `buf`, the file's bytes from `start`, as if the file ended after them.
    pub(super) fn holding(file: &'a dyn ReadAt, start: u64, buf: Vec<u8>) -> Self {
        Window {
            file,
            size: start + buf.len() as u64,
            start,
            buf,
        }
    }

    /// The bytes held, if they are still the ones from `start` (the window has not moved).
    pub(super) fn into_bytes_from(self, start: u64) -> Option<Vec<u8>> {
        (self.start == start).then_some(self.buf)
    }

    /// The `len` bytes at `offset`, or `None` when the file ends before their end.
    pub(super) fn get(&mut self, offset: u64, len: usize) -> Result<Option<&[u8]>, FormatError> {
        let end = match offset.checked_add(len as u64) {
            Some(end) if end <= self.size => end,
            _ => return Ok(None),
        };
        let window_end = self.start + self.buf.len() as u64;
        if offset < self.start || end > window_end {
            let want = (self.size - offset).min(WINDOW.max(len) as u64) as usize;
            self.buf.clear();
            self.buf.resize(want, 0);
            if let Err(e) = self.file.read_at(offset, &mut self.buf) {
                self.buf.clear();
                return Err(e.into());
            }
            self.start = offset;
        }
        let from = (offset - self.start) as usize;
        Ok(self.buf.get(from..from + len))
    }
}

/// Walk every block of the file, indexing its chunks.
pub(super) fn build_index(file: &dyn ReadAt) -> Result<Index, FormatError> {
    let size = file.size();
    let mut window = Window::new(file);
    let mut index = Index::default();
    let mut visited = 0usize;
    let mut offset = 0u64;
    let mut blocks = 0usize;
    while offset < size {
        if blocks >= MAX_RANGES {
            return Err(corrupt(FORMAT, format!("more than {MAX_RANGES} ranges")));
        }
        blocks += 1;
        let Some(h) = window.get(offset, HEADER_LEN as usize)? else {
            if index.segments.is_empty() {
                return Err(corrupt(
                    FORMAT,
                    format!("range header at file offset {offset:#x} is cut off"),
                ));
            }
            break; // a capture cut inside a header keeps the blocks before it
        };
        let header = parse_header(h, offset)?;
        if header.version != VERSION {
            let version = header.version;
            return Err(corrupt(
                FORMAT,
                format!("range header at file offset {offset:#x} has version {version}, not 2"),
            ));
        }
        let stream_base = index.stream_len;
        let walk = walk_block(
            &mut window,
            &header,
            offset,
            &mut index.chunks,
            stream_base,
            &mut visited,
        )?;
        add_segment(&mut index.segments, header.start, walk.produced, stream_base);
        index.stream_len += walk.produced;
        match walk.next {
            Some(next) => offset = next,
            None => break, // the file ends inside this block
        }
    }
    Ok(index)
}

/// What the walk of one block found.
pub(super) struct BlockWalk {
    /// Decompressed bytes of the complete chunks indexed.
    pub(super) produced: u64,
    /// File offset of the next block, or `None` when the file ends inside this one.
    pub(super) next: Option<u64>,
}

/// Index the snappy chunks of the block whose header is at `offset`, until they hold the whole range, and
/// check the trailer after them.
pub(super) fn walk_block(
    window: &mut Window<'_>,
    header: &RangeHeader,
    offset: u64,
    chunks: &mut Vec<Chunk>,
    stream_base: u64,
    visited: &mut usize,
) -> Result<BlockWalk, FormatError> {
    let size = window.size;
    let want = header.end - header.start;
    let data_start = offset + HEADER_LEN;
    let mut pos = data_start;
    let mut produced = 0u64;
    let truncated = |produced| Ok(BlockWalk { produced, next: None });
    while produced < want {
        *visited += 1;
        if *visited > MAX_VISITED {
            return Err(corrupt(FORMAT, format!("more than {MAX_VISITED} snappy chunks")));
        }
        let Some(h) = window.get(pos, CHUNK_HEADER_LEN as usize)? else {
            return truncated(produced);
        };
        let h: [u8; 4] = h.try_into().unwrap_or_default();
        let kind = h[0];
        let body_len = u32::from_le_bytes([h[1], h[2], h[3], 0]);
        let body = pos + CHUNK_HEADER_LEN;
        let next = body + u64::from(body_len);
        if next > size {
            return truncated(produced);
        }
        let at = |what: &str| format!("{what} at file offset {pos:#x} (range {:#x})", header.start);
        if pos == data_start && kind != 0xff {
            return Err(corrupt(FORMAT, at("no snappy stream identifier")));
        }
        let data = match kind {
            0xff => {
                let id = if body_len as usize == STREAM_ID.len() {
                    window.get(body, STREAM_ID.len())?
                } else {
                    None
                };
                if id != Some(STREAM_ID) {
                    return Err(corrupt(FORMAT, at("bad snappy stream identifier")));
                }
                None
            }
            0x00 => {
                let data_len = (body_len as usize).checked_sub(CRC_LEN).filter(|&n| n > 0);
                let data_len = data_len
                    .filter(|&n| n <= snap::raw::max_compress_len(MAX_CHUNK_DATA))
                    .ok_or_else(|| corrupt(FORMAT, at(&format!("compressed snappy chunk of {body_len} bytes"))))?;
                let varint = window.get(body + CRC_LEN as u64, data_len.min(10))?.unwrap_or_default();
                let len = snap::raw::decompress_len(varint)
                    .ok()
                    .filter(|&n| n <= MAX_CHUNK_DATA)
                    .ok_or_else(|| corrupt(FORMAT, at("bad snappy chunk length")))?;
                Some((len as u32, true))
            }
            0x01 => {
                let len = (body_len as usize)
                    .checked_sub(CRC_LEN)
                    .filter(|&n| n <= MAX_CHUNK_DATA)
                    .ok_or_else(|| corrupt(FORMAT, at(&format!("uncompressed snappy chunk of {body_len} bytes"))))?;
                Some((len as u32, false))
            }
            0x02..=0x7f => return Err(corrupt(FORMAT, at(&format!("reserved snappy chunk type {kind:#04x}")))),
            0x80..=0xfe => None, // padding and skippable chunks
        };
        if let Some((len, compressed)) = data {
            if produced + u64::from(len) > want {
                return Err(corrupt(FORMAT, at("snappy data longer than its range")));
            }
            if len > 0 {
                if chunks.len() >= MAX_CHUNKS {
                    return Err(corrupt(FORMAT, format!("more than {MAX_CHUNKS} snappy data chunks")));
                }
                chunks.push(Chunk {
                    body,
                    stream_offset: stream_base + produced,
                    body_len,
                    len,
                    compressed,
                });
            }
            produced += u64::from(len);
        }
        pos = next;
    }
    let Some(trailer) = window.get(pos, TRAILER_LEN as usize)? else {
        // Cut inside the trailer: every chunk of the range is there.
        return Ok(BlockWalk { produced, next: None });
    };
    let stored = u64::from_le_bytes(trailer.try_into().unwrap_or_default());
    let walked = pos - data_start;
    if stored != walked {
        let start = header.start;
        let detail = format!("trailer at file offset {pos:#x} gives {stored} compressed bytes for range {start:#x}");
        return Err(corrupt(FORMAT, format!("{detail}; its chunks take {walked}")));
    }
    Ok(BlockWalk {
        produced,
        next: Some(pos + TRAILER_LEN),
    })
}

#[cfg(test)]
mod tests {
    use super::super::sample::*;
    use super::*;

    #[test]
    fn chunk_index_covers_stored_and_compressed_chunks() {
        let (file, _, _) = sample();
        let index = build_index(&file).unwrap();
        assert_eq!(index.stream_len, 205_000);
        assert_eq!(index.chunks.len(), 5);
        assert!(index.chunks.iter().any(|c| c.compressed) && index.chunks.iter().any(|c| !c.compressed));
        for pair in index.chunks.windows(2) {
            assert_eq!(pair[0].stream_end(), pair[1].stream_offset);
        }
    }

    #[test]
    fn truncated_file_keeps_complete_chunks() {
        let (file, a, _) = sample();
        let first_block_len = block(A, &a).len();
        let index = build_index(&file).unwrap();
        // Cut inside the third chunk of the first range: the first two chunks (128 KiB) remain.
        let cut = index.chunks[2].body as usize + 10;
        let cap = open_bytes(file[..cut].to_vec()).unwrap();
        assert_eq!(
            cap.segments(),
            [Segment {
                phys_start: A,
                len: 131_072,
                data_offset: 0
            }]
        );
        let mut buf = vec![0; 131_072];
        cap.read_phys(A, &mut buf).unwrap();
        assert_eq!(buf, a[..131_072]);
        assert!(cap.read_phys(A + 131_072, &mut [0; 1]).is_err());
        // Cut inside the first trailer: the whole first range; inside the second header: the same.
        for cut in [first_block_len - 3, first_block_len + 5] {
            let cap = open_bytes(file[..cut].to_vec()).unwrap();
            assert_eq!(cap.phys_bytes(), 200_000, "cut at {cut}");
        }
        // Cut before any chunk is whole: nothing to map.
        for cut in [10, 40, 50] {
            assert!(
                matches!(open_bytes(file[..cut].to_vec()), Err(FormatError::Corrupt { .. })),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn corrupt_chunk_type_and_trailer_are_errors() {
        let (file, a, b) = sample();
        let index = build_index(&file).unwrap();
        let second = index.chunks[1].body as usize - 4;
        // Walked from the start (as a file whose trailers do not chain is), a corrupt chunk header fails
        // the open.
        let mut bad = file.clone();
        bad[second] = 0x05;
        let err = build_index(&bad).unwrap_err();
        assert!(err.to_string().contains("reserved snappy chunk type 0x05"), "{err}");
        // In a file whose trailers chain, it fails the reads of its own range; the other range reads.
        let cap = open_bytes(bad).unwrap();
        let err = cap.read_phys(A + 70_000, &mut [0; 8]).unwrap_err();
        assert!(err.to_string().contains("reserved snappy chunk type 0x05"), "{err}");
        assert!(cap.read_phys(A, &mut [0; 8]).is_err(), "the whole block is unusable");
        let mut buf = vec![0; b.len()];
        cap.read_phys(B, &mut buf).unwrap();
        assert_eq!(buf, b);
        // A skippable chunk type in place of a data chunk leaves the range short, so the trailer is misread.
        let mut bad = file.clone();
        bad[second] = 0x80;
        assert!(matches!(build_index(&bad), Err(FormatError::Corrupt { .. })));
        let err = open_bytes(bad).unwrap().read_phys(A, &mut [0; 8]).unwrap_err();
        assert!(err.to_string().contains("corrupt AVML block"), "{err}");
        // A wrong trailer breaks the chain: the file is walked, and the walk finds it.
        let trailer = block(A, &a).len() - 8;
        let mut bad = file.clone();
        bad[trailer] ^= 1;
        assert!(open_bytes(bad).unwrap_err().to_string().contains("trailer"));
        // No stream identifier: the block's reads fail.
        let mut bad = file.clone();
        bad[32] = 0x00;
        assert!(build_index(&bad).is_err());
        assert!(open_bytes(bad).unwrap().read_phys(A, &mut [0; 8]).is_err());
        // A version-1 header in an AVML file.
        let mut bad = file;
        bad[4] = 1;
        assert!(open_bytes(bad).is_err());
    }
}
