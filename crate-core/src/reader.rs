//! The one way the core reads a capture: a synchronous, positioned read trait, and a bounded block cache
//! in front of it.
//!
//! Front ends implement [`ReadAt`] over whatever holds the bytes (a file natively, a `Blob` in the web
//! worker); the core never opens anything itself. Typed helpers live on top of the two required methods.

use std::cell::{Cell, RefCell};
use std::num::NonZeroUsize;
use std::rc::Rc;

use lru::LruCache;

/// Why a read failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The range asked for ends past the end of the source.
    #[error("read of {len} bytes at offset {offset:#x} is past the end ({size:#x} bytes)")]
    OutOfBounds { offset: u64, len: usize, size: u64 },
    /// The underlying source failed (I/O error, a Blob read that threw).
    #[error("read at offset {offset:#x} failed: {message}")]
    Source { offset: u64, message: String },
    /// The reader was cancelled by its owner (the user pressed Cancel).
    #[error("cancelled")]
    Cancelled,
}

/// A source of bytes addressed by offset: a capture file, a Blob, a slice.
pub trait ReadAt {
    /// Total size in bytes.
    fn size(&self) -> u64;

    /// Fill `buf` with the bytes at `offset`. A read past the end is an error, never a short read.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError>;

    /// Fill `buf` like [`ReadAt::read_at`], without keeping what was read in any cache: for sparse probes
    /// that would otherwise fill a cache with whole blocks read for a few bytes each.
    fn peek_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        self.read_at(offset, buf)
    }

    /// Read `len` bytes at `offset` into a new vector.
    fn read_vec(&self, offset: u64, len: usize) -> Result<Vec<u8>, ReadError> {
        let mut buf = vec![0; len];
        self.read_at(offset, &mut buf)?;
        Ok(buf)
    }

    /// Read a little-endian `u32` at `offset`.
    fn read_u32(&self, offset: u64) -> Result<u32, ReadError> {
        let mut b = [0; 4];
        self.read_at(offset, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// Read a little-endian `u64` at `offset`.
    fn read_u64(&self, offset: u64) -> Result<u64, ReadError> {
        let mut b = [0; 8];
        self.read_at(offset, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }
}

impl ReadAt for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let out_of_bounds = || ReadError::OutOfBounds {
            offset,
            len: buf.len(),
            size: self.len() as u64,
        };
        let start = usize::try_from(offset).map_err(|_| out_of_bounds())?;
        let end = start.checked_add(buf.len()).ok_or_else(out_of_bounds)?;
        let src = self.get(start..end).ok_or_else(out_of_bounds)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

impl ReadAt for Vec<u8> {
    fn size(&self) -> u64 {
        self.as_slice().size()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        self.as_slice().read_at(offset, buf)
    }
}

impl<R: ReadAt + ?Sized> ReadAt for &R {
    fn size(&self) -> u64 {
        (**self).size()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        (**self).read_at(offset, buf)
    }

    fn peek_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        (**self).peek_at(offset, buf)
    }
}

impl<R: ReadAt + ?Sized> ReadAt for Box<R> {
    fn size(&self) -> u64 {
        (**self).size()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        (**self).read_at(offset, buf)
    }

    fn peek_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        (**self).peek_at(offset, buf)
    }
}

/// What a [`Counted`] reader let through to the source beneath it.
#[derive(Debug, Default)]
pub struct ReadCounts {
    bytes: Cell<u64>,
    calls: Cell<u64>,
}

impl ReadCounts {
    /// Bytes read.
    pub fn bytes(&self) -> u64 {
        self.bytes.get()
    }

    /// Reads made.
    pub fn calls(&self) -> u64 {
        self.calls.get()
    }

    /// Count one read of `len` bytes (done through a [`Counted`] reader, or by its owner beside it).
    pub fn add(&self, len: usize) {
        self.bytes.set(self.bytes.get() + len as u64);
        self.calls.set(self.calls.get() + 1);
    }
}

/// A reader that counts the reads reaching the source beneath it, and tells a watcher after each: for
/// progress ("384 MiB read in 1,536 calls") and for measurements, without a global counter.
pub struct Counted<R> {
    inner: R,
    counts: Rc<ReadCounts>,
    watch: Option<Watcher>,
}

/// What a [`Counted`] reader calls after each read.
type Watcher = Box<dyn Fn(&ReadCounts)>;

impl<R: ReadAt> Counted<R> {
    /// Count the reads of `inner`.
    pub fn new(inner: R) -> Self {
        Counted {
            inner,
            counts: Rc::default(),
            watch: None,
        }
    }

    /// Count the reads of `inner` and call `watch` after each.
    pub fn watched(inner: R, watch: impl Fn(&ReadCounts) + 'static) -> Self {
        Counted {
            watch: Some(Box::new(watch)),
            ..Counted::new(inner)
        }
    }

    /// The counts, shared: they go on growing as the reader is used.
    pub fn counts(&self) -> Rc<ReadCounts> {
        self.counts.clone()
    }

    fn count(&self, len: usize) {
        self.counts.add(len);
        if let Some(watch) = &self.watch {
            watch(&self.counts);
        }
    }
}

impl<R: ReadAt> ReadAt for Counted<R> {
    fn size(&self) -> u64 {
        self.inner.size()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        self.inner.read_at(offset, buf)?;
        self.count(buf.len());
        Ok(())
    }

    fn peek_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        self.inner.peek_at(offset, buf)?;
        self.count(buf.len());
        Ok(())
    }
}

/// Settings of a [`BlockCache`].
#[derive(Debug, Clone, Copy)]
pub struct CacheConfig {
    /// Size of one cached block in bytes (a power of two). The browser wants large blocks (each read has a
    /// fixed cost), a local file small ones.
    pub block_size: usize,
    /// Upper bound of the cache's memory in bytes.
    pub capacity: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            block_size: 64 * 1024,
            capacity: 32 * 1024 * 1024,
        }
    }
}

/// Hit and miss counters of a [`BlockCache`], for benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Blocks found in the cache.
    pub hits: u64,
    /// Blocks read from the source.
    pub misses: u64,
}

/// A least-recently-used cache of aligned blocks in front of a [`ReadAt`], bounded in memory.
pub struct BlockCache<R> {
    inner: R,
    block_size: u64,
    state: RefCell<CacheState>,
}

struct CacheState {
    blocks: LruCache<u64, Box<[u8]>>,
    stats: CacheStats,
}

impl<R: ReadAt> BlockCache<R> {
    /// Wrap `inner` in a cache with `config`'s block size and capacity (at least one block).
    pub fn new(inner: R, config: CacheConfig) -> Self {
        let block_size = config.block_size.max(512).next_power_of_two();
        let blocks = NonZeroUsize::new((config.capacity / block_size).max(1)).unwrap_or(NonZeroUsize::MIN);
        BlockCache {
            inner,
            block_size: block_size as u64,
            state: RefCell::new(CacheState {
                blocks: LruCache::new(blocks),
                stats: CacheStats::default(),
            }),
        }
    }

    /// The wrapped source.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// Hits and misses so far.
    pub fn stats(&self) -> CacheStats {
        self.state.borrow().stats
    }

    /// Copy the part of block `index` that overlaps `[offset, offset + buf.len())` into `buf`.
    fn copy_from_block(&self, index: u64, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let block_start = index * self.block_size;
        let mut state = self.state.borrow_mut();
        if state.blocks.get(&index).is_some() {
            state.stats.hits += 1;
        } else {
            state.stats.misses += 1;
            let len = (self.inner.size() - block_start).min(self.block_size) as usize;
            let mut block = vec![0; len].into_boxed_slice();
            self.inner.read_at(block_start, &mut block)?;
            state.blocks.put(index, block);
        }
        let block = state.blocks.peek(&index).ok_or(ReadError::Cancelled)?;
        let from = (offset - block_start) as usize;
        buf.copy_from_slice(&block[from..from + buf.len()]);
        Ok(())
    }
}

impl<R: ReadAt> ReadAt for BlockCache<R> {
    fn size(&self) -> u64 {
        self.inner.size()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let size = self.inner.size();
        let end = offset.checked_add(buf.len() as u64);
        if end.is_none_or(|end| end > size) {
            return Err(ReadError::OutOfBounds {
                offset,
                len: buf.len(),
                size,
            });
        }
        let mut done = 0usize;
        while done < buf.len() {
            let at = offset + done as u64;
            let index = at / self.block_size;
            let block_end = (index + 1) * self.block_size;
            let take = ((block_end - at) as usize).min(buf.len() - done);
            self.copy_from_block(index, at, &mut buf[done..done + take])?;
            done += take;
        }
        Ok(())
    }

    /// Served from the cache when every block it spans is there; otherwise read from the source as asked,
    /// and nothing is cached.
    fn peek_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let end = offset.saturating_add(buf.len() as u64);
        let (first, last) = (offset / self.block_size, end.saturating_sub(1) / self.block_size);
        let cached = {
            let state = self.state.borrow();
            (first..=last).all(|i| state.blocks.contains(&i))
        };
        if cached {
            self.read_at(offset, buf)
        } else {
            self.inner.read_at(offset, buf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_reads_across_blocks_and_counts() {
        let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let cache = BlockCache::new(
            data.clone(),
            CacheConfig {
                block_size: 512,
                capacity: 2048,
            },
        );
        let mut buf = vec![0; 1500];
        cache.read_at(300, &mut buf).unwrap();
        assert_eq!(buf, data[300..1800]);
        cache.read_at(310, &mut buf[..10]).unwrap();
        assert_eq!(cache.stats(), CacheStats { hits: 1, misses: 4 });
        assert!(cache.read_at(9_995, &mut [0; 10]).is_err());
        assert!(cache.read_at(u64::MAX, &mut [0; 2]).is_err());
        let mut tail = [0; 5];
        cache.read_at(9_995, &mut tail).unwrap();
        assert_eq!(tail, data[9_995..]);
    }

    #[test]
    fn peeks_do_not_fill_the_cache() {
        let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let cache = BlockCache::new(
            data.clone(),
            CacheConfig {
                block_size: 512,
                capacity: 2048,
            },
        );
        let mut buf = [0u8; 16];
        cache.peek_at(4_000, &mut buf).unwrap();
        assert_eq!(buf[..], data[4_000..4_016]);
        assert_eq!(cache.stats(), CacheStats::default());
        cache.read_at(4_000, &mut buf).unwrap();
        cache.peek_at(4_010, &mut buf[..4]).unwrap();
        assert_eq!(cache.stats(), CacheStats { hits: 1, misses: 1 });
        assert!(cache.peek_at(9_999, &mut buf).is_err());
    }

    #[test]
    fn counted_reads_are_counted_and_watched() {
        let seen = Rc::new(Cell::new(0u64));
        let watcher = seen.clone();
        let counted = Counted::watched(vec![7u8; 100], move |c| watcher.set(c.bytes()));
        let counts = counted.counts();
        let mut buf = [0u8; 10];
        counted.read_at(5, &mut buf).unwrap();
        counted.peek_at(50, &mut buf[..4]).unwrap();
        assert!(counted.read_at(95, &mut buf).is_err(), "past the end");
        assert_eq!(
            (counts.bytes(), counts.calls()),
            (14, 2),
            "failed reads are not counted"
        );
        assert_eq!(seen.get(), 14);
    }
}
