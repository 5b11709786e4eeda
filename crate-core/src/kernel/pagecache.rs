//! Page caches: the folios an `address_space` keeps in its `i_pages` XArray (indexed by page number in
//! the file; a large folio is one multi-index entry; shadow and value entries, left by evicted pages, are
//! skipped), and a cached file's bytes read back from them. Each folio's head page must name the mapping
//! and the index it is filed under ([`PageIndex`] says where the index is) before its bytes are trusted.

use super::layouts::PageIndex;
use super::pages::{PageMap, PAGE_SIZE};
use super::xarray::{self, XaEntry};
use super::{Kernel, KernelError};
use crate::formats::Capture;

/// At most this many folios are taken from one page cache (2^24 pages: 64 GiB of a file).
pub const MAX_FOLIOS: usize = 1 << 24;

/// The folios of one page cache, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cached {
    /// Each folio as the XArray files it: first page index, pages covered, `struct folio` address.
    pub folios: Vec<XaEntry>,
    /// The first part of the tree that could not be read, or the bound reached.
    pub problem: Option<String>,
}

/// The folios cached for the `address_space` at `mapping`.
pub fn cached(kernel: &Kernel, mapping: u64) -> Result<Cached, KernelError> {
    let xa = mapping.wrapping_add(kernel.member_offset("address_space", "i_pages")?);
    let walk = xarray::entries(kernel, xa, MAX_FOLIOS)?;
    Ok(Cached {
        folios: walk.entries,
        problem: walk.problem,
    })
}

/// What reading a file back gave besides its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadBack {
    /// Bytes written (the file's size).
    pub written: u64,
    /// Byte ranges `[start, end)` that were not in memory and were written as zeros.
    pub holes: Vec<(u64, u64)>,
    /// Problems met (a broken tree, a page filed under the wrong index); the rest was still read.
    pub problems: Vec<String>,
}

/// Reads cached files back from their page caches.
#[derive(Debug)]
pub struct FileReader<'k> {
    kernel: &'k Kernel,
    pages: PageMap,
    /// Offsets of `page.mapping` and the page's index, where the symbols have them.
    check: Option<(u64, u64)>,
}

impl<'k> FileReader<'k> {
    /// A reader for `kernel`'s page caches.
    pub fn new(kernel: &'k Kernel) -> Result<Self, KernelError> {
        let index = match kernel.layouts().files().page_index {
            Some(PageIndex::Index) => Some("index"),
            Some(PageIndex::FolioIndex) => Some("__folio_index"),
            None => None,
        };
        let check = match index {
            Some(index) => Some((
                kernel.member_offset("page", "mapping")?,
                kernel.member_offset("page", index)?,
            )),
            None => None,
        };
        Ok(FileReader {
            kernel,
            pages: PageMap::new(kernel)?,
            check,
        })
    }

    /// Whether the folio's head page names `mapping` and `index`; `None` when it cannot be told.
    fn filed_as(&self, folio: u64, mapping: u64, index: u64) -> Option<bool> {
        let (mapping_at, index_at) = self.check?;
        let m = self.kernel.read_u64(folio.wrapping_add(mapping_at)).ok()?;
        let i = self.kernel.read_u64(folio.wrapping_add(index_at)).ok()?;
        Some(m == mapping && i == index)
    }

    /// Write the first `size` bytes of the file cached at `mapping` to `sink`, in order, pages not in
    /// memory as zeros (named in [`ReadBack::holes`]). A sink error stops the read and is returned.
    pub fn read<E>(
        &self,
        mapping: u64,
        size: u64,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<Result<ReadBack, E>, KernelError> {
        let cached = cached(self.kernel, mapping)?;
        let mut out = ReadBack::default();
        out.problems.extend(cached.problem);
        let capture: &Capture = self.kernel.capture();
        let mut page = vec![0u8; PAGE_SIZE as usize];
        let mut at = 0u64; // next byte of the file to write
        let hole = |out: &mut ReadBack, from: u64, to: u64| match out.holes.last_mut() {
            Some(last) if last.1 == from => last.1 = to,
            _ => out.holes.push((from, to)),
        };
        let zeros = vec![0u8; PAGE_SIZE as usize];
        let mut emit = |bytes: &[u8], at: &mut u64| -> Result<(), E> {
            let take = (size - *at).min(bytes.len() as u64) as usize;
            *at += take as u64;
            sink(&bytes[..take])
        };
        for folio in &cached.folios {
            let start = folio.index.saturating_mul(PAGE_SIZE);
            if start >= size {
                break;
            }
            while at < start {
                let to = start.min(at + PAGE_SIZE - at % PAGE_SIZE);
                hole(&mut out, at, to);
                if let Err(e) = emit(&zeros[..(to - at) as usize], &mut at) {
                    return Ok(Err(e));
                }
            }
            let trusted = match self.filed_as(folio.pointer, mapping, folio.index) {
                Some(true) | None => true,
                Some(false) => {
                    out.problems.push(format!(
                        "folio {:#x} filed at page {} names another mapping or index: left out",
                        folio.pointer, folio.index
                    ));
                    false
                }
            };
            let phys = self.pages.physical(folio.pointer).filter(|_| trusted);
            for k in 0..folio.span {
                if at >= size {
                    break;
                }
                let read = phys.is_some_and(|p| capture.read_phys(p + k * PAGE_SIZE, &mut page).is_ok());
                let before = at;
                let bytes = if read { &page[..] } else { &zeros[..] };
                if let Err(e) = emit(bytes, &mut at) {
                    return Ok(Err(e));
                }
                if !read {
                    hole(&mut out, before, at);
                }
            }
        }
        while at < size {
            let before = at;
            if let Err(e) = emit(&zeros, &mut at) {
                return Ok(Err(e));
            }
            hole(&mut out, before, at);
        }
        out.written = at;
        Ok(Ok(out))
    }
}
