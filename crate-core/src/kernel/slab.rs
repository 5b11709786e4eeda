//! The SLUB allocator's caches and the objects in their slabs, allocated or freed: what carving kernel
//! objects from memory stands on (Volatility 2's slab walker knew only the older SLAB allocator).
//!
//! Caches are found by name on the `slab_caches` list (`kmem_cache.list`); a cache's geometry comes from
//! `size` (the stride of its objects), `object_size`, `offset` (where a free object keeps its freelist
//! pointer) and `oo` (slab order and objects per slab). SLUB does not list full slabs, so the slabs are
//! found by reading every frame's `struct page` (whose `struct slab` view names its `slab_cache`: the
//! `slab` type where the symbols have it, 5.17+, else `page.slab_cache`) and keeping those that name one
//! of the caches: one pass over the page array, read in large blocks, bounded by the capture's size.

use super::pages::{PageMap, PAGE_SIZE};
use super::{Kernel, KernelError};

/// At most this many caches are read from `slab_caches`.
pub const MAX_CACHES: usize = 1 << 14;
/// `struct page`s read at a time.
const PAGES_PER_READ: u64 = 4096;

/// One slab cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    /// Address of the `struct kmem_cache`.
    pub addr: u64,
    /// Its name (`skbuff_head_cache`).
    pub name: String,
    /// Bytes from one object to the next.
    pub size: u32,
    /// Bytes of the object itself.
    pub object_size: u32,
    /// Where a free object keeps its freelist pointer.
    pub free_offset: u32,
    /// Pages per slab: `PAGE_SIZE << order`.
    pub order: u32,
    /// Objects per slab.
    pub objects: u32,
}

/// The cache at `addr` (a `struct kmem_cache`).
pub fn cache_at(kernel: &Kernel, addr: u64) -> Result<Cache, KernelError> {
    let c = kernel.object("kmem_cache", addr)?;
    let name = kernel.read_c_string(c.pointer("name")?, 64)?;
    let oo = c.member("oo")?.int("x")? as u32;
    Ok(Cache {
        addr,
        name,
        size: c.int("size")? as u32,
        object_size: c.int("object_size")? as u32,
        free_offset: c.int("offset")? as u32,
        order: oo >> 16,
        objects: oo & 0xffff,
    })
}

/// The caches of `slab_caches` whose names are in `names`.
pub fn caches(kernel: &Kernel, names: &[&str]) -> Result<Vec<Cache>, KernelError> {
    let head = kernel.symbol_addr("slab_caches")?;
    let walk = kernel.walk_list(head, "kmem_cache", "list", MAX_CACHES)?;
    Ok(walk
        .items
        .into_iter()
        .filter_map(|addr| cache_at(kernel, addr).ok())
        .filter(|c| names.contains(&c.name.as_str()))
        .collect())
}

/// How many slabs the cache counts (`kmem_cache_node.nr_slabs` over its nodes: `kmem_cache.node[]`, or
/// `per_node[].node` from 7.1), what a pass over the page array must find; `None` where it cannot be read.
pub fn counted_slabs(kernel: &Kernel, cache: &Cache) -> Option<u64> {
    let symbols = kernel.symbols();
    let layout = symbols.layout("kmem_cache").ok()?;
    let (array, stride, within) = if layout.has_field("node") {
        (kernel.member_offset("kmem_cache", "node").ok()?, 8, 0)
    } else {
        let size = symbols.layout("kmem_cache_per_node_ptrs").ok()?.size();
        let within = kernel.member_offset("kmem_cache_per_node_ptrs", "node").ok()?;
        (kernel.member_offset("kmem_cache", "per_node").ok()?, size, within)
    };
    let nodes = kernel
        .symbol_addr("nr_node_ids")
        .ok()
        .and_then(|a| {
            let mut b = [0u8; 4];
            kernel.read(a, &mut b).ok().map(|_| u32::from_le_bytes(b))
        })
        .unwrap_or(1)
        .clamp(1, 1024);
    let nr_slabs = kernel.member_offset("kmem_cache_node", "nr_slabs").ok()?;
    let mut total = 0u64;
    for n in 0..u64::from(nodes) {
        let node = kernel.read_u64(cache.addr + array + n * stride + within).ok()?;
        if node == 0 {
            continue;
        }
        total += kernel.read_u64(node + nr_slabs).ok()?;
    }
    Some(total)
}

/// One slab of a cache: its `struct page` and the direct-map address of its first object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slab {
    /// Index into the caches given to [`slabs`].
    pub cache: usize,
    /// The slab's `struct page` (its head page).
    pub page: u64,
    /// Where its memory is mapped.
    pub base: u64,
}

/// Where a slab's `struct page` names its cache: `slab.slab_cache` (5.17+) or `page.slab_cache` where the
/// symbols say; else (an ISF whose `struct page` unions lost their alternatives, as BTF-made ones of 5.10
/// do) the one word of a slab page the cache is known to own (a CPU's current slab,
/// `kmem_cache_cpu.page` or `.slab` through `__per_cpu_offset`) that holds the cache's address.
fn slab_cache_offset(kernel: &Kernel, caches: &[Cache]) -> Result<u64, KernelError> {
    let symbols = kernel.symbols();
    if symbols.layout("slab").is_ok_and(|l| l.has_field("slab_cache")) {
        return kernel.member_offset("slab", "slab_cache");
    }
    if let Ok(o) = kernel.member_offset("page", "slab_cache") {
        return Ok(o);
    }
    let page_size = symbols.layout("page")?.size() as usize;
    let cpus = kernel
        .symbol_addr("nr_cpu_ids")
        .ok()
        .and_then(|a| {
            let mut b = [0u8; 4];
            kernel.read(a, &mut b).ok().map(|_| u32::from_le_bytes(b))
        })
        .unwrap_or(1)
        .clamp(1, 8192);
    let per_cpu = kernel.symbol_addr("__per_cpu_offset")?;
    let current = if symbols.layout("kmem_cache_cpu").is_ok_and(|l| l.has_field("slab")) {
        "slab"
    } else {
        "page"
    };
    let current_at = kernel.member_offset("kmem_cache_cpu", current)?;
    for cache in caches {
        let cpu_slab = kernel.object("kmem_cache", cache.addr)?.pointer("cpu_slab")?;
        for cpu in 0..u64::from(cpus) {
            let Ok(offset) = kernel.read_u64(per_cpu + 8 * cpu) else {
                continue;
            };
            let Ok(page) = kernel.read_u64(cpu_slab.wrapping_add(offset).wrapping_add(current_at)) else {
                continue;
            };
            let mut bytes = vec![0u8; page_size];
            if page == 0 || kernel.read(page, &mut bytes).is_err() {
                continue;
            }
            let hits: Vec<usize> = (0..page_size / 8)
                .filter(|i| bytes[i * 8..i * 8 + 8] == cache.addr.to_le_bytes())
                .collect();
            if let [one] = hits[..] {
                return Ok(one as u64 * 8);
            }
        }
    }
    Err(KernelError::Layout(
        "the symbols give no page.slab_cache and no CPU's current slab shows where it is".into(),
    ))
}

/// Every slab of `caches`, found by one pass over the page array (the frames of the capture's ranges
/// below `max_pfn`); with the number of `struct page`s that could not be read.
pub fn slabs(kernel: &Kernel, caches: &[Cache]) -> Result<(Vec<Slab>, u64), KernelError> {
    let pages = PageMap::new(kernel)?;
    let cache_at = slab_cache_offset(kernel, caches)?;
    // Frames past `max_pfn` (a BIOS ROM range the capture holds) have no page descriptors.
    let max_pfn = kernel
        .symbol_addr("max_pfn")
        .ok()
        .and_then(|a| kernel.read_u64(a).ok())
        .unwrap_or(u64::MAX);
    let ranges: Vec<(u64, u64)> = kernel
        .capture()
        .segments()
        .iter()
        .map(|s| (s.phys_start / PAGE_SIZE, (s.phys_end() / PAGE_SIZE).min(max_pfn)))
        .filter(|(first, end)| first < end)
        .collect();
    let stride = pages.page_size();
    let mut out = Vec::new();
    let mut unreadable = 0u64;
    let mut buf = vec![0u8; (PAGES_PER_READ * stride) as usize];
    for (first, end) in ranges {
        let mut pfn = first;
        while pfn < end {
            let n = PAGES_PER_READ.min(end - pfn);
            let bytes = &mut buf[..(n * stride) as usize];
            let missing = kernel.read_present(pages.page_of(pfn), bytes).unwrap_or_default();
            unreadable += missing.iter().map(|(a, b)| (b - a) as u64).sum::<u64>() / stride;
            for i in 0..n {
                let at = (i * stride + cache_at) as usize;
                let Some(word) = bytes.get(at..at + 8) else { continue };
                let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
                if word == 0 || word & 7 != 0 {
                    continue;
                }
                if let Some(cache) = caches.iter().position(|c| c.addr == word) {
                    let page = pages.page_of(pfn + i);
                    if let Some(base) = pages.direct_address(page) {
                        out.push(Slab { cache, page, base });
                    }
                }
            }
            pfn += n;
        }
    }
    Ok((out, unreadable))
}
