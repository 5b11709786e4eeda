//! The decompressed stream of an AVML capture and its snappy chunk index.
//!
//! A block's chunks (where each is in the file, where its bytes go in the decompressed stream) are indexed
//! when a read first needs that block, from one read of the block's compressed bytes (a few MiB), which
//! are then kept (the last 32 MiB of them) so that its chunks load without further reads. In a browser,
//! where each read call has a fixed cost, this replaces a walk over the whole file by one read per block
//! used. A walked file comes with all its chunks indexed, as one pseudo-block.
//!
//! A read finds its block and chunks by binary search, takes the compressed bytes of consecutive missing
//! chunks at once, decompresses them with snap's frame decoder (which checks their CRC), and keeps the
//! most recent 16 MiB of decompressed chunks in an LRU cache.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Read;
use std::num::NonZeroUsize;
use std::rc::Rc;

use lru::LruCache;

use super::chain::Block;
use super::walk::{walk_block, Chunk, Window};
use super::{CHUNK_HEADER_LEN, MAX_CHUNK_DATA, VERSION};
use crate::formats::lime::RangeHeader;
use crate::reader::{ReadAt, ReadError};

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

/// The decompressed bytes of all ranges, one after the other, read through the blocks' chunk indexes.
pub(super) struct AvmlStream {
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
    pub(super) fn walked(file: Box<dyn ReadAt>, chunks: Vec<Chunk>, len: u64) -> Self {
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
    pub(super) fn chained(file: Box<dyn ReadAt>, blocks: Vec<Block>) -> Self {
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
            if let Some(bytes) = window.into_bytes_from(at) {
                self.retain(b, Rc::new(bytes));
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
    use super::super::sample::*;
    use super::super::walk::build_index;
    use crate::formats::{CaptureFormat, Segment};

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
            Err(crate::formats::PhysError::NotPresent(_))
        ));
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
}
