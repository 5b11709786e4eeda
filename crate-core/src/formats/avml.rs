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
//! [`open`] finds the blocks from the end of the file: the last 8 bytes are the last block's trailer, the
//! length it gives leads to that block's range header, and the 8 bytes before that header are the previous
//! block's trailer, so one small read per block (25 for 400 MiB of memory) maps every range. A block's
//! snappy chunks (where each is in the file, where its bytes go in the decompressed stream) are indexed when
//! a read first needs that block, from one read of the block's compressed bytes (a few MiB), which are then
//! kept (the last 32 MiB of them) so that its chunks load without further reads. In a browser, where each
//! read call has a fixed cost, this replaces a walk over the whole file by one read per block used.
//!
//! A file whose trailers do not lead back to offset 0 through valid range headers (cut short, or damaged)
//! is walked from its start instead, every chunk indexed at open from windows of 1 MiB. The capture's data
//! stream is the virtual concatenation of all decompressed ranges; a read finds its block and chunks by
//! binary search, takes the compressed bytes of consecutive missing chunks at once, decompresses them with
//! snap's frame decoder (which checks their CRC), and keeps the most recent 16 MiB of decompressed chunks in
//! an LRU cache.
//!
//! In a walked file a corrupt header, chunk type or chunk length is a [`FormatError::Corrupt`] at open; in
//! a file whose blocks chain, a block with a corrupt chunk header is a [`ReadError`] when it is first read,
//! and the other blocks still read. A chunk whose snappy data or CRC is bad is a [`ReadError`] when it is
//! read. A capture cut short keeps what is complete: the blocks before the cut and, of the block that is
//! cut, the chunks that are whole (a block whose trailer alone is missing is kept whole; a range header cut
//! off after at least one block is dropped).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Read;
use std::num::NonZeroUsize;
use std::rc::Rc;

use lru::LruCache;

use super::lime::{self, RangeHeader, HEADER_LEN, MAGIC as LIME_MAGIC, MAX_RANGES};
use super::{corrupt, Capture, CaptureFormat, FormatError, Segment};
use crate::reader::{ReadAt, ReadError};

const FORMAT: CaptureFormat = CaptureFormat::Avml;
/// "AVML" as a little-endian u32: the magic avml writes in its range headers.
pub(super) const MAGIC: u32 = 0x4c4d_5641;
/// The header version of a snappy-compressed range.
const VERSION: u32 = 2;
/// Size of the compressed-length trailer after each block's snappy data.
const TRAILER_LEN: u64 = 8;
/// Size of a snappy frame chunk header (type, 24-bit length).
const CHUNK_HEADER_LEN: u64 = 4;
/// Size of the masked CRC-32C at the start of a data chunk's body.
const CRC_LEN: usize = 4;
/// Most uncompressed bytes one snappy frame chunk may hold.
const MAX_CHUNK_DATA: usize = 1 << 16;
/// The body of snappy's stream identifier chunk.
const STREAM_ID: &[u8] = b"sNaPpY";
/// Bound on data chunks indexed: 2^22 chunks of 64 KiB are 256 GiB of memory (an index of 96 MiB).
const MAX_CHUNKS: usize = 1 << 22;
/// Bound on chunk headers visited during the walk (data, padding and stream identifiers).
const MAX_VISITED: usize = 2 * MAX_CHUNKS;
/// Size of one read while walking the chunk headers.
const WINDOW: usize = 1 << 20;
/// Bound on the decompressed chunks kept in memory.
const CACHE_BYTES: usize = 16 << 20;
/// Bound on the compressed bytes read in one call when several missing chunks are wanted.
const MAX_BATCH_BYTES: u64 = 4 << 20;
/// Bound on the chunks decompressed for one batch (well below the cache's capacity in chunks).
const MAX_BATCH_CHUNKS: usize = 64;
/// Bound on the compressed bytes of indexed blocks kept for loading their chunks.
const RETAINED_BYTES: usize = 32 << 20;
/// Largest block (header to trailer) indexed from one read of it; a larger one is walked in windows.
/// avml's blocks hold at most 16 MiB, so their snappy data is at most about 19 MiB.
const MAX_WHOLE_BLOCK: u64 = 32 << 20;

/// Whether the first bytes are an AVML v2 range header (the AVML or LiME magic, version 2).
pub(super) fn is_avml(head: &[u8; 8]) -> bool {
    let (magic, version) = lime::magic_and_version(head);
    (magic == MAGIC || magic == LIME_MAGIC) && version == VERSION
}

/// Map the ranges of an AVML file onto their decompressed stream: from the chain of its trailers when it
/// is complete (chunks indexed as they are needed), else by walking and indexing it from the start.
pub(super) fn open(file: Box<dyn ReadAt>) -> Result<Capture, FormatError> {
    let size = file.size();
    if let Some(blocks) = block_chain(file.as_ref()) {
        let mut segments = Vec::new();
        for b in &blocks {
            add_segment(&mut segments, b.phys_start, b.len, b.stream_offset);
        }
        let stream = AvmlStream::chained(file, blocks);
        return Capture::from_parts(FORMAT, size, segments, Box::new(stream), None);
    }
    let index = build_index(file.as_ref())?;
    let stream = AvmlStream::walked(file, index.chunks, index.stream_len);
    Capture::from_parts(FORMAT, size, index.segments, Box::new(stream), None)
}

/// One block of the file: a range header, the range's snappy data, a trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    /// File offset of the range header.
    header: u64,
    /// Bytes of snappy data between the header and the trailer (what the trailer says).
    data_len: u64,
    /// The range's first physical address.
    phys_start: u64,
    /// Offset of the range's first byte in the stream.
    stream_offset: u64,
    /// The range's length (decompressed bytes).
    len: u64,
}

impl Block {
    fn stream_end(&self) -> u64 {
        self.stream_offset + self.len
    }

    /// One past the trailer: where the next block's header is.
    fn file_end(&self) -> u64 {
        self.header + HEADER_LEN + self.data_len + TRAILER_LEN
    }
}

/// The blocks of a complete file, found from its end (see the module's documentation). `None` when the
/// chain does not lead back to offset 0 through valid version-2 range headers: a file cut short or
/// damaged, which the caller walks from its start instead.
fn block_chain(file: &dyn ReadAt) -> Option<Vec<Block>> {
    let mut trailer = [0u8; TRAILER_LEN as usize];
    let mut end = file.size().checked_sub(TRAILER_LEN)?; // where the current block's data ends
    file.peek_at(end, &mut trailer).ok()?;
    let mut blocks = Vec::new();
    loop {
        if blocks.len() >= MAX_RANGES {
            return None;
        }
        let data_len = u64::from_le_bytes(trailer);
        // A block's data holds at least its stream identifier chunk.
        if data_len < CHUNK_HEADER_LEN + STREAM_ID.len() as u64 {
            return None;
        }
        let header = end.checked_sub(data_len)?.checked_sub(HEADER_LEN)?;
        // The header and, before it, the previous block's trailer: one read.
        let before = header.min(TRAILER_LEN);
        let mut buf = [0u8; (TRAILER_LEN + HEADER_LEN) as usize];
        let buf = &mut buf[(TRAILER_LEN - before) as usize..];
        file.peek_at(header - before, buf).ok()?;
        let (previous, h) = buf.split_at(before as usize);
        let range = parse_header(h, header).ok().filter(|r| r.version == VERSION)?;
        blocks.push(Block {
            header,
            data_len,
            phys_start: range.start,
            stream_offset: 0,
            len: range.end - range.start,
        });
        if header == 0 {
            break;
        }
        trailer = previous.try_into().ok()?; // fails when the header starts inside the first 8 bytes
        end = header - TRAILER_LEN;
    }
    blocks.reverse();
    let mut offset = 0u64;
    for b in &mut blocks {
        b.stream_offset = offset;
        offset = offset.checked_add(b.len)?;
    }
    Some(blocks)
}

/// One snappy data chunk of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Chunk {
    /// File offset of the chunk's body: the masked CRC, then the (compressed) data.
    body: u64,
    /// Offset of its first decompressed byte in the stream.
    stream_offset: u64,
    /// Length of the body, CRC included.
    body_len: u32,
    /// Decompressed length (1 to 64 KiB).
    len: u32,
    /// Snappy-compressed (chunk type 0) or stored (chunk type 1).
    compressed: bool,
}

impl Chunk {
    fn stream_end(&self) -> u64 {
        self.stream_offset + u64::from(self.len)
    }

    fn body_end(&self) -> u64 {
        self.body + u64::from(self.body_len)
    }
}

/// What the walk of the file found.
#[derive(Debug, Default)]
struct Index {
    chunks: Vec<Chunk>,
    segments: Vec<Segment>,
    stream_len: u64,
}

/// A buffered view of the file for the header walk: reads `WINDOW` bytes at a time.
struct Window<'a> {
    file: &'a dyn ReadAt,
    size: u64,
    start: u64,
    buf: Vec<u8>,
}

impl<'a> Window<'a> {
    fn new(file: &'a dyn ReadAt) -> Self {
        Window {
            file,
            size: file.size(),
            start: 0,
            buf: Vec::new(),
        }
    }

    /// A window holding `buf`, the file's bytes from `start`, as if the file ended after them.
    fn holding(file: &'a dyn ReadAt, start: u64, buf: Vec<u8>) -> Self {
        Window {
            file,
            size: start + buf.len() as u64,
            start,
            buf,
        }
    }

    /// The `len` bytes at `offset`, or `None` when the file ends before their end.
    fn get(&mut self, offset: u64, len: usize) -> Result<Option<&[u8]>, FormatError> {
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

/// Parse the range header `h` (32 bytes) found at file offset `offset`: AVML's or LiME's magic.
fn parse_header(h: &[u8], offset: u64) -> Result<RangeHeader, FormatError> {
    RangeHeader::parse(h, offset, FORMAT, &[MAGIC, LIME_MAGIC])
}

/// Walk every block of the file, indexing its chunks.
fn build_index(file: &dyn ReadAt) -> Result<Index, FormatError> {
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

/// What the walk of one block found.
struct BlockWalk {
    /// Decompressed bytes of the complete chunks indexed.
    produced: u64,
    /// File offset of the next block, or `None` when the file ends inside this one.
    next: Option<u64>,
}

/// Index the snappy chunks of the block whose header is at `offset`, until they hold the whole range, and
/// check the trailer after them.
fn walk_block(
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

/// The decompressed bytes of all ranges, one after the other, read through the blocks' chunk indexes.
struct AvmlStream {
    file: Box<dyn ReadAt>,
    /// Sorted by `stream_offset`; they cover `0..len` without gaps. A walked file is one pseudo-block.
    blocks: Vec<Block>,
    /// The chunks of each block, sorted by `stream_offset`, once indexed (or why they could not be).
    chunks: RefCell<Vec<ChunkIndex>>,
    /// The compressed bytes (header to trailer) of the blocks indexed last, most recent first.
    retained: RefCell<VecDeque<(usize, Rc<Vec<u8>>)>>,
    len: u64,
    /// Decompressed chunks by (block, index in the block's chunks).
    cache: RefCell<ChunkCache>,
}

/// A block's chunks, once indexed (or why they could not be).
type ChunkIndex = Option<Result<Rc<[Chunk]>, ReadError>>;
/// Decompressed chunks by block and index in the block's chunks.
type ChunkCache = LruCache<(usize, usize), Box<[u8]>>;

impl AvmlStream {
    fn with_blocks(file: Box<dyn ReadAt>, blocks: Vec<Block>, chunks: Vec<ChunkIndex>) -> Self {
        let capacity = NonZeroUsize::new(CACHE_BYTES / MAX_CHUNK_DATA).unwrap_or(NonZeroUsize::MIN);
        AvmlStream {
            file,
            len: blocks.last().map_or(0, Block::stream_end),
            blocks,
            chunks: RefCell::new(chunks),
            retained: RefCell::new(VecDeque::new()),
            cache: RefCell::new(LruCache::new(capacity)),
        }
    }

    /// A file walked at open: all its chunks, as one pseudo-block.
    fn walked(file: Box<dyn ReadAt>, chunks: Vec<Chunk>, len: u64) -> Self {
        let all = Block {
            header: 0,
            data_len: 0,
            phys_start: 0,
            stream_offset: 0,
            len,
        };
        Self::with_blocks(file, vec![all], vec![Some(Ok(chunks.into()))])
    }

    /// A file whose blocks chain: their chunks are indexed when first read.
    fn chained(file: Box<dyn ReadAt>, blocks: Vec<Block>) -> Self {
        let unknown = vec![None; blocks.len()];
        Self::with_blocks(file, blocks, unknown)
    }

    /// The chunks of block `b`, indexing it on first use.
    fn chunks_of(&self, b: usize) -> Result<Rc<[Chunk]>, ReadError> {
        if let Some(known) = self.chunks.borrow().get(b).and_then(Option::as_ref) {
            return known.clone();
        }
        let indexed = self.index_block(b);
        if let Some(slot) = self.chunks.borrow_mut().get_mut(b) {
            *slot = Some(indexed.clone());
        }
        indexed
    }

    /// Walk the chunks of block `b`: from one read of the whole block (kept for loading its chunks), or in
    /// windows when it is unusually large. Its chunks must fill its range exactly, up to its trailer.
    fn index_block(&self, b: usize) -> Result<Rc<[Chunk]>, ReadError> {
        let block = *self.blocks.get(b).ok_or(ReadError::OutOfBounds {
            offset: 0,
            len: 0,
            size: self.len,
        })?;
        let bad = |detail: String| ReadError::Source {
            offset: block.header,
            message: format!("corrupt AVML block: {detail}"),
        };
        let range = RangeHeader {
            version: VERSION,
            start: block.phys_start,
            end: block.phys_start + block.len,
        };
        let (mut chunks, mut visited) = (Vec::new(), 0usize);
        let end = block.file_end();
        let at = block.header;
        let walk = if end - at <= MAX_WHOLE_BLOCK {
            let mut bytes = vec![0; (end - at) as usize];
            self.file.peek_at(at, &mut bytes)?;
            let mut window = Window::holding(self.file.as_ref(), at, bytes);
            let walk = walk_block(&mut window, &range, at, &mut chunks, block.stream_offset, &mut visited);
            if window.start == at {
                self.retain(b, Rc::new(std::mem::take(&mut window.buf)));
            }
            walk
        } else {
            let mut window = Window::new(self.file.as_ref());
            walk_block(&mut window, &range, at, &mut chunks, block.stream_offset, &mut visited)
        }
        .map_err(|e| bad(e.to_string()))?;
        if walk.produced != block.len || walk.next != Some(end) {
            let detail = format!(
                "its chunks hold {} of range {:#x}'s {} bytes",
                walk.produced, block.phys_start, block.len
            );
            return Err(bad(detail));
        }
        Ok(chunks.into())
    }

    /// Keep block `b`'s compressed bytes, dropping the oldest kept beyond [`RETAINED_BYTES`].
    fn retain(&self, b: usize, bytes: Rc<Vec<u8>>) {
        let mut retained = self.retained.borrow_mut();
        retained.retain(|(i, _)| *i != b);
        retained.push_front((b, bytes));
        let mut total: usize = retained.iter().map(|(_, r)| r.len()).sum();
        while total > RETAINED_BYTES && retained.len() > 1 {
            total -= retained.pop_back().map_or(0, |(_, r)| r.len());
        }
    }

    /// The compressed bytes of block `b`, if they are kept.
    fn retained(&self, b: usize) -> Option<Rc<Vec<u8>>> {
        self.retained
            .borrow()
            .iter()
            .find(|(i, _)| *i == b)
            .map(|(_, r)| r.clone())
    }

    /// Copy bytes `from..from + dst.len()` of chunk `i` of block `b` from the cache; false when it is not
    /// cached.
    fn copy_cached(&self, b: usize, i: usize, from: usize, dst: &mut [u8]) -> bool {
        let mut cache = self.cache.borrow_mut();
        match cache.get(&(b, i)).and_then(|data| data.get(from..from + dst.len())) {
            Some(src) => {
                dst.copy_from_slice(src);
                true
            }
            None => false,
        }
    }

    /// Decompress chunk `first` of block `b` and the following missing chunks that start before stream
    /// offset `until`, taking their compressed bytes at once (from the kept block, else in one read), and
    /// put them in the cache.
    fn load(&self, b: usize, chunks: &[Chunk], first: usize, until: u64) -> Result<(), ReadError> {
        let Some(start) = chunks.get(first) else {
            return Err(ReadError::OutOfBounds {
                offset: until,
                len: 0,
                size: self.len,
            });
        };
        let mut last = first;
        {
            let cache = self.cache.borrow();
            for (i, chunk) in chunks.iter().enumerate().skip(first + 1).take(MAX_BATCH_CHUNKS - 1) {
                if chunk.stream_offset >= until
                    || chunk.body_end() - start.body > MAX_BATCH_BYTES
                    || chunk.body < start.body
                    || cache.contains(&(b, i))
                {
                    break;
                }
                last = i;
            }
        }
        // From the first chunk's header to the last chunk's end; what lies between chunks (padding, or a
        // trailer and the next range's header) is skipped when feeding the decoder.
        let base = start.body - CHUNK_HEADER_LEN;
        let end = chunks.get(last).map_or(start.body_end(), Chunk::body_end);
        let kept = self.retained(b);
        let block_start = self.blocks.get(b).map_or(0, |block| block.header);
        let from_kept = kept.as_deref().and_then(|k| {
            let from = usize::try_from(base.checked_sub(block_start)?).ok()?;
            k.get(from..from.checked_add(usize::try_from(end - base).ok()?)?)
        });
        let read;
        let compressed = match from_kept {
            Some(bytes) => bytes,
            None => {
                read = self.file.read_vec(base, (end - base) as usize)?;
                &read[..]
            }
        };
        let batch = chunks.get(first..=last).unwrap_or_default();
        let mut parts = Vec::with_capacity(batch.len() + 1);
        parts.push(STREAM_ID_CHUNK);
        for chunk in batch {
            let from = (chunk.body - CHUNK_HEADER_LEN - base) as usize;
            let to = (chunk.body_end() - base) as usize;
            parts.push(compressed.get(from..to).unwrap_or_default());
        }
        // snap's frame decoder checks each chunk's CRC (with SSE 4.2 where the CPU has it).
        let mut decoder = snap::read::FrameDecoder::new(Feed {
            parts: parts.into_iter(),
            pending: &[],
        });
        let mut decoded = Vec::with_capacity(batch.len());
        for chunk in batch {
            let bad = |what: String| ReadError::Source {
                offset: chunk.body - CHUNK_HEADER_LEN,
                message: format!("corrupt AVML snappy chunk: {what}"),
            };
            let mut out = vec![0; chunk.len as usize].into_boxed_slice();
            decoder.read_exact(&mut out).map_err(|e| bad(e.to_string()))?;
            decoded.push(out);
        }
        // Every chunk decoded to the length the index gave it: nothing is left over.
        if !matches!(decoder.read(&mut [0]), Ok(0)) {
            return Err(ReadError::Source {
                offset: base,
                message: "corrupt AVML snappy chunk: longer than indexed".into(),
            });
        }
        let mut cache = self.cache.borrow_mut();
        for (i, data) in (first..).zip(decoded) {
            cache.put((b, i), data);
        }
        Ok(())
    }
}

/// A snappy stream identifier chunk, put before a batch of chunks read from the middle of a stream.
const STREAM_ID_CHUNK: &[u8] = b"\xff\x06\x00\x00sNaPpY";

/// The byte slices of a batch (a stream identifier, then whole chunks) read one after the other.
struct Feed<'a, I> {
    parts: I,
    pending: &'a [u8],
}

impl<'a, I: Iterator<Item = &'a [u8]>> Read for Feed<'a, I> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pending.is_empty() {
            match self.parts.next() {
                Some(part) => self.pending = part,
                None => return Ok(0),
            }
        }
        let n = self.pending.len().min(buf.len());
        let (head, rest) = self.pending.split_at(n);
        buf[..n].copy_from_slice(head);
        self.pending = rest;
        Ok(n)
    }
}

impl ReadAt for AvmlStream {
    fn size(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let buf_len = buf.len();
        let out_of_bounds = || ReadError::OutOfBounds {
            offset,
            len: buf_len,
            size: self.len,
        };
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&end| end <= self.len)
            .ok_or_else(out_of_bounds)?;
        let mut b = self.blocks.partition_point(|block| block.stream_end() <= offset);
        let mut done = 0usize;
        while done < buf.len() {
            let at = offset + done as u64;
            let block = self
                .blocks
                .get(b)
                .filter(|block| block.stream_offset <= at && at < block.stream_end())
                .ok_or_else(out_of_bounds)?;
            let until = end.min(block.stream_end());
            let chunks = self.chunks_of(b)?;
            let mut i = chunks.partition_point(|c| c.stream_end() <= at);
            while offset + (done as u64) < until {
                let at = offset + done as u64;
                let chunk = chunks
                    .get(i)
                    .filter(|c| c.stream_offset <= at && at < c.stream_end())
                    .ok_or_else(out_of_bounds)?;
                let from = (at - chunk.stream_offset) as usize;
                let take = (chunk.len as usize - from).min(buf.len() - done);
                let dst = &mut buf[done..done + take];
                if !self.copy_cached(b, i, from, dst) {
                    self.load(b, &chunks, i, until)?;
                    if !self.copy_cached(b, i, from, dst) {
                        return Err(ReadError::Source {
                            offset: chunk.body,
                            message: "AVML chunk cache failed".into(),
                        });
                    }
                }
                done += take;
                i += 1;
            }
            b += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A deterministic xorshift PRNG.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    fn header(magic: u32, start: u64, last: u64) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend(magic.to_le_bytes());
        h.extend(VERSION.to_le_bytes());
        h.extend(start.to_le_bytes());
        h.extend(last.to_le_bytes());
        h.extend([0; 8]);
        h
    }

    /// One AVML block as avml writes it: header, snappy frame stream, compressed-length trailer.
    fn block(start: u64, data: &[u8]) -> Vec<u8> {
        let mut out = header(MAGIC, start, start + data.len() as u64 - 1);
        let mut encoder = snap::write::FrameEncoder::new(Vec::new());
        encoder.write_all(data).unwrap();
        let frames = encoder.into_inner().unwrap();
        out.extend(&frames);
        out.extend((frames.len() as u64).to_le_bytes());
        out
    }

    /// Bytes that are partly incompressible (stored chunks) and partly compressible (snappy chunks).
    fn memory(len: usize, seed: u64) -> Vec<u8> {
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

    const A: u64 = 0x10_0000;
    const B: u64 = 0x80_0000;

    /// Two ranges with a gap: 200,000 bytes at `A` (four chunks, stored and compressed), 5,000 at `B`.
    fn sample() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let (a, b) = (memory(200_000, 1), memory(5_000, 2));
        let mut file = block(A, &a);
        file.extend(block(B, &b));
        (file, a, b)
    }

    fn open_bytes(file: Vec<u8>) -> Result<Capture, FormatError> {
        open(Box::new(file))
    }

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
    fn reads_across_chunks_and_ranges() {
        let (file, a, b) = sample();
        let cap = open_bytes(file).unwrap();
        assert_eq!(cap.format(), CaptureFormat::Avml);
        assert_eq!(
            cap.segments(),
            [
                Segment {
                    phys_start: A,
                    len: 200_000,
                    data_offset: 0
                },
                Segment {
                    phys_start: B,
                    len: 5_000,
                    data_offset: 200_000
                },
            ]
        );
        // The whole range at once, then pieces straddling chunk boundaries (64 KiB apart).
        let mut all = vec![0; a.len()];
        cap.read_phys(A, &mut all).unwrap();
        assert_eq!(all, a);
        for at in [0usize, 65_530, 65_536, 131_070, 196_600, 199_990] {
            let mut buf = vec![0; 10.min(a.len() - at)];
            cap.read_phys(A + at as u64, &mut buf).unwrap();
            assert_eq!(buf, a[at..at + buf.len()], "at {at}");
        }
        let mut buf = vec![0; 5_000];
        cap.read_phys(B, &mut buf).unwrap();
        assert_eq!(buf, b);
        assert_eq!(
            cap.read_phys_u64(B + 4_992).unwrap(),
            u64::from_le_bytes(b[4_992..].try_into().unwrap())
        );
        // Absent addresses: before, between and after the ranges, and reads running off a range.
        for addr in [0, A - 1, A + 200_000, B - 8, B + 5_000, u64::MAX - 3] {
            assert!(cap.read_phys(addr, &mut [0; 4]).is_err(), "{addr:#x}");
        }
        assert!(matches!(
            cap.read_phys(A + 199_998, &mut [0; 4]),
            Err(super::super::PhysError::NotPresent(_))
        ));
    }

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

    /// A capture file that records the reads made of it.
    struct Recorded {
        bytes: Vec<u8>,
        reads: Rc<RefCell<Vec<(u64, usize)>>>,
    }

    impl ReadAt for Recorded {
        fn size(&self) -> u64 {
            self.bytes.len() as u64
        }

        fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
            self.reads.borrow_mut().push((offset, buf.len()));
            self.bytes.read_at(offset, buf)
        }
    }

    #[test]
    fn blocks_are_found_from_their_trailers_and_indexed_when_first_read() {
        let (file, a, b) = sample();
        let first_block_len = block(A, &a).len() as u64;
        // The chain finds what the walk finds.
        let blocks = block_chain(&file).unwrap();
        let index = build_index(&file).unwrap();
        let mut segments = Vec::new();
        for block in &blocks {
            add_segment(&mut segments, block.phys_start, block.len, block.stream_offset);
        }
        assert_eq!(segments, index.segments);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[1].header, first_block_len);
        assert_eq!(blocks[1].file_end(), file.len() as u64);
        // Opening reads the magic, the last trailer, then each header with the trailer before it.
        let reads = Rc::new(RefCell::new(Vec::new()));
        let recorded = Recorded {
            bytes: file.clone(),
            reads: reads.clone(),
        };
        let cap = Capture::open(Box::new(recorded)).unwrap();
        assert_eq!(reads.borrow().len(), 4, "{:?}", reads.borrow());
        assert!(reads.borrow().iter().all(|&(_, len)| len <= 40));
        // A read in the second range reads that block once, whole; the first block is not read.
        reads.borrow_mut().clear();
        let mut buf = vec![0; 100];
        cap.read_phys(B + 10, &mut buf).unwrap();
        assert_eq!(buf, b[10..110]);
        cap.read_phys(B + 4_000, &mut buf).unwrap();
        assert_eq!(buf, b[4_000..4_100]);
        let len = file.len() as u64 - first_block_len;
        assert_eq!(*reads.borrow(), [(first_block_len, len as usize)]);
        // The first range: its block once, however many of its chunks are read.
        reads.borrow_mut().clear();
        let mut all = vec![0; a.len()];
        cap.read_phys(A, &mut all).unwrap();
        assert_eq!(all, a);
        assert_eq!(*reads.borrow(), [(0, first_block_len as usize)]);
    }

    #[test]
    fn a_file_cut_short_is_walked_not_chained() {
        let (file, a, _) = sample();
        let first_block_len = block(A, &a).len();
        let cuts = (1..file.len())
            .step_by(97)
            .chain([first_block_len - 1, first_block_len + 1]);
        for cut in cuts.filter(|&cut| cut != first_block_len) {
            assert_eq!(block_chain(&file[..cut].to_vec()), None, "cut at {cut}");
        }
        // Cut between blocks, it is a complete file of the first range.
        let blocks = block_chain(&file[..first_block_len].to_vec()).unwrap();
        assert_eq!((blocks.len(), blocks[0].len), (1, a.len() as u64));
    }

    #[test]
    fn corrupt_chunk_data_is_a_read_error() {
        let (file, a, _) = sample();
        let index = build_index(&file).unwrap();
        for chunk in &index.chunks[..4] {
            let mut bad = file.clone();
            bad[chunk.body as usize + 20] ^= 0x40;
            let cap = open_bytes(bad).unwrap();
            let at = chunk.stream_offset;
            let err = cap.read_phys(A + at, &mut [0; 8]).unwrap_err();
            assert!(err.to_string().contains("corrupt AVML snappy chunk"), "{err}");
            // Other chunks still read.
            let other = if at == 0 { 65_536 } else { 0 };
            let mut buf = [0; 8];
            cap.read_phys(A + other, &mut buf).unwrap();
            assert_eq!(buf, a[other as usize..other as usize + 8]);
        }
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
