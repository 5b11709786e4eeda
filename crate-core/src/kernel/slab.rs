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
use super::{Kernel, KernelError, Object};
use crate::warning::{Warning, WarningKind};

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
    let mut all = every_cache(kernel)?;
    all.retain(|c| names.contains(&c.name.as_str()));
    Ok(all)
}

/// Every cache of `slab_caches` that reads.
pub fn every_cache(kernel: &Kernel) -> Result<Vec<Cache>, KernelError> {
    let head = kernel.symbol_addr("slab_caches")?;
    let walk = kernel.walk_list(head, "kmem_cache", "list", MAX_CACHES)?;
    Ok(walk
        .items
        .into_iter()
        .filter_map(|addr| cache_at(kernel, addr).ok())
        .collect())
}

/// How many slabs the cache counts (`kmem_cache_node.nr_slabs` over its nodes: `kmem_cache.node[]`, or
/// `per_node[].node` from 7.1), what a pass over the page array must find; `None` where it cannot be read.
pub fn counted_slabs(kernel: &Kernel, cache: &Cache) -> Option<u64> {
    let nr_slabs = kernel.member_offset("kmem_cache_node", "nr_slabs").ok()?;
    let nodes = nodes(kernel, cache);
    if nodes.is_empty() {
        return None;
    }
    let mut total = 0u64;
    for node in nodes {
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
    /// The first of its free objects (`slab.freelist`, `page.freelist` before 5.17), 0 for none; `None`
    /// where the symbols do not say where it is.
    pub freelist: Option<u64>,
    /// Its counters word (`counters`: `inuse`, `objects`, `frozen`), where it reads.
    pub counters: Option<u64>,
}

impl Slab {
    /// `inuse` and `objects` of a slab no CPU holds (`frozen` clear): the bit fields of `counters`, laid out
    /// alike in every SLUB kernel from 5.10 to 7.x (`inuse:16`, `objects:15`, `frozen:1`).
    pub fn unfrozen_counts(&self) -> Option<(u32, u32)> {
        let c = self.counters?;
        (c >> 31 & 1 == 0).then_some(((c & 0xffff) as u32, (c >> 16 & 0x7fff) as u32))
    }
}

/// Where a slab's `struct page` keeps its freelist: `slab.freelist` (5.17+) or `page.freelist`; else, where
/// the cache's own word was found by probing (`slab_cache_offset`), the word after it, as in every
/// `struct page` that holds SLUB's fields (5.10-5.16: `slab_cache`, `freelist`, `counters`).
fn freelist_offset(kernel: &Kernel, cache_at: u64) -> u64 {
    kernel
        .member_offset("slab", "freelist")
        .or_else(|_| kernel.member_offset("page", "freelist"))
        .unwrap_or(cache_at + 8)
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
    kernel.symbol_addr("__per_cpu_offset")?;
    let offsets = per_cpu_offsets(kernel);
    let current = if symbols.layout("kmem_cache_cpu").is_ok_and(|l| l.has_field("slab")) {
        "slab"
    } else {
        "page"
    };
    let current_at = kernel.member_offset("kmem_cache_cpu", current)?;
    for cache in caches {
        let cpu_slab = kernel.object("kmem_cache", cache.addr)?.pointer("cpu_slab")?;
        for &offset in &offsets {
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
    let freelist_at = freelist_offset(kernel, cache_at);
    let counters_at = kernel
        .member_offset("slab", "counters")
        .or_else(|_| kernel.member_offset("page", "counters"))
        .unwrap_or(freelist_at + 8);
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
                    let word_at = |offset: u64| {
                        let at = (i * stride + offset) as usize;
                        bytes
                            .get(at..at + 8)
                            .map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")))
                    };
                    let (freelist, counters) = (word_at(freelist_at), word_at(counters_at));
                    if let Some(base) = pages.direct_address(page) {
                        out.push(Slab {
                            cache,
                            page,
                            base,
                            freelist,
                            counters,
                        });
                    }
                }
            }
            pfn += n;
        }
    }
    Ok((out, unreadable))
}

/// Most CPUs whose per-CPU data is read.
const MAX_CPUS: u32 = 8192;

/// Most memory nodes whose per-node data is read.
const MAX_NODES: u32 = 1024;

/// A count the kernel keeps in the `unsigned int` `symbol` (`nr_cpu_ids`, `nr_node_ids`), clamped to
/// 1..=`max` (1 where unreadable).
fn count_of(kernel: &Kernel, symbol: &str, max: u32) -> u32 {
    kernel
        .symbol_addr(symbol)
        .ok()
        .and_then(|a| kernel.read_u32(a).ok())
        .unwrap_or(1)
        .clamp(1, max)
}

/// Each CPU's per-CPU offset (`__per_cpu_offset[cpu]`), for the CPUs whose offset reads.
pub fn per_cpu_offsets(kernel: &Kernel) -> Vec<u64> {
    let Ok(base) = kernel.symbol_addr("__per_cpu_offset") else {
        return Vec::new();
    };
    (0..u64::from(count_of(kernel, "nr_cpu_ids", MAX_CPUS)))
        .filter_map(|cpu| kernel.read_u64(base + 8 * cpu).ok())
        .collect()
}

/// How a free object's pointer to the next is stored (`freelist_ptr_decode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// As is (no `CONFIG_SLAB_FREELIST_HARDENED`: `kmem_cache` has no `random`).
    Plain,
    /// `ptr ^ s->random ^ swab(address where it is stored)` (hardened, 5.7+).
    Swabbed(u64),
    /// `ptr ^ s->random ^ address where it is stored` (hardened, before 5.7).
    Xored(u64),
}

impl Encoding {
    fn decode(self, stored: u64, at: u64) -> u64 {
        match self {
            Encoding::Plain => stored,
            Encoding::Swabbed(random) => stored ^ random ^ at.swap_bytes(),
            Encoding::Xored(random) => stored ^ random ^ at,
        }
    }
}

/// A cache's free objects, found where SLUB keeps them, with what could not be read.
#[derive(Debug, Clone, Default)]
pub struct FreeObjects {
    /// Addresses of the free objects.
    pub objects: std::collections::HashSet<u64>,
    /// Why some may be missing: a chain that broke, per-CPU data that did not read, a slab whose counters
    /// disagree with its freelist.
    pub problems: Vec<Warning>,
    /// How many slabs' counters (`inuse`, `objects`) were compared with their freelists.
    pub checked_slabs: usize,
    /// How many of the objects were found in sheaves.
    pub in_sheaves: usize,
}

impl FreeObjects {
    /// Add free objects of `cache`; one already found free (on two freelists, or in a sheaf too) is a
    /// problem: the walk misread something.
    fn add(&mut self, cache: &Cache, objects: impl IntoIterator<Item = u64>) {
        for o in objects {
            if !self.objects.insert(o) {
                self.problems.push(
                    Warning::new(
                        WarningKind::Inconsistent,
                        format!("{}: object {o:#x} found free twice", cache.name),
                    )
                    .at(o),
                );
            }
        }
    }
}

/// The free objects of `cache` among `slabs` (those of it): each slab's freelist, each CPU's freelist
/// (`kmem_cache_cpu.freelist`, whose objects belong to that CPU's slab, until 7.0), and the objects in the
/// per-CPU sheaves and the nodes' barns (`cpu_sheaves`: `main`, `spare`, and each node's full sheaves,
/// 6.18+). Freelist pointers are decoded as the cache stores them (hardened or not, with or without the
/// byte swap: the decoding under which the slabs' chains hold is taken).
pub fn free_objects(kernel: &Kernel, cache: &Cache, slabs: &[&Slab]) -> FreeObjects {
    let mut free = FreeObjects::default();
    let stride = u64::from(cache.size.max(1));
    let span = stride * u64::from(cache.objects);
    let bases: std::collections::HashMap<u64, u64> = slabs.iter().map(|s| (s.page, s.base)).collect();
    let object = kernel.object("kmem_cache", cache.addr);
    let random = object
        .as_ref()
        .ok()
        .filter(|c| c.has("random"))
        .and_then(|c| c.u64("random").ok());
    // A chain from `first` inside the slab at `base`: every object in it, in order, or why it broke.
    let chain = |encoding: Encoding, first: u64, base: u64| -> Result<Vec<u64>, String> {
        let mut out = Vec::new();
        let mut at = first;
        while at != 0 {
            if at < base || at >= base + span || (at - base) % stride != 0 || out.len() >= cache.objects as usize {
                return Err(format!(
                    "{}: free object {at:#x} outside the slab at {base:#x}",
                    cache.name
                ));
            }
            out.push(at);
            let slot = at + u64::from(cache.free_offset);
            let stored = kernel
                .read_u64(slot)
                .map_err(|e| format!("{}: free pointer at {slot:#x}: {e}", cache.name))?;
            at = encoding.decode(stored, slot);
        }
        Ok(out)
    };
    if slabs.iter().any(|s| s.freelist.is_none()) {
        free.problems.push(Warning::new(
            WarningKind::MissingSymbol,
            format!("{}: the symbols do not say where a slab keeps its freelist", cache.name),
        ));
    }
    // Every chain's first object, its slab's base, and the slab it is the own freelist of: each slab's
    // freelist, then each CPU's, of its current slab (`kmem_cache_cpu.slab`, `.page` before 5.17; gone in
    // 7.0).
    let mut heads: Vec<(u64, u64, Option<usize>)> = slabs
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some((s.freelist?, s.base, Some(i))))
        .filter(|&(f, _, _)| f != 0)
        .collect();
    let offsets = per_cpu_offsets(kernel);
    let cpu = object.as_ref().ok().and_then(|c| c.pointer("cpu_slab").ok());
    let fields = kernel.member_offset("kmem_cache_cpu", "freelist").and_then(|f| {
        let slab = kernel
            .member_offset("kmem_cache_cpu", "slab")
            .or_else(|_| kernel.member_offset("kmem_cache_cpu", "page"))?;
        Ok((f, slab))
    });
    if let (Some(cpu_slab), Ok((freelist_at, slab_at))) = (cpu, fields) {
        for offset in &offsets {
            let c = cpu_slab.wrapping_add(*offset);
            let (Ok(first), Ok(page)) = (kernel.read_u64(c + freelist_at), kernel.read_u64(c + slab_at)) else {
                free.problems.push(
                    Warning::new(
                        WarningKind::Unreadable,
                        format!("{}: a CPU's slab at {c:#x} does not read", cache.name),
                    )
                    .at(c),
                );
                continue;
            };
            match (first, bases.get(&page)) {
                (0, _) => {}
                (_, Some(&base)) => heads.push((first, base, None)),
                (_, None) => free.problems.push(
                    Warning::new(
                        WarningKind::Inconsistent,
                        format!("{}: a CPU's slab {page:#x} is not among the cache's slabs", cache.name),
                    )
                    .at(page),
                ),
            }
        }
    }
    // The decoding under which the most chains hold (the first listed on a tie).
    let encodings: Vec<Encoding> = match random {
        Some(r) => vec![Encoding::Swabbed(r), Encoding::Xored(r)],
        None => vec![Encoding::Plain],
    };
    let holding = |e: Encoding| {
        heads
            .iter()
            .take(64)
            .filter(|&&(f, b, _)| chain(e, f, b).is_ok())
            .count()
    };
    let mut encoding = encodings[0];
    for &e in &encodings[1..] {
        if holding(e) > holding(encoding) {
            encoding = e;
        }
    }
    // How many objects each slab's own freelist holds (0 where it is empty or broke).
    let mut held = vec![0u32; slabs.len()];
    for &(first, base, own) in &heads {
        match chain(encoding, first, base) {
            Ok(objects) => {
                if let Some(i) = own {
                    held[i] = objects.len() as u32;
                }
                free.add(cache, objects);
            }
            Err(e) => free.problems.push(Warning::new(WarningKind::Cut, e).at(base)),
        }
    }
    // A slab no CPU holds counts as in use exactly the objects its freelist does not hold.
    for (s, &held) in slabs.iter().zip(&held) {
        let (Some(_), Some((inuse, objects))) = (s.freelist, s.unfrozen_counts()) else {
            continue;
        };
        free.checked_slabs += 1;
        if inuse + held != objects {
            free.problems.push(
                Warning::new(
                    WarningKind::Inconsistent,
                    format!(
                        "{}: the slab at {:#x} counts {inuse} of its {objects} objects in use, its freelist holds {held}",
                        cache.name, s.base
                    ),
                )
                .at(s.base),
            );
        }
    }
    if let Ok(object) = &object {
        sheaves(kernel, cache, object, &offsets, &mut free);
    }
    free
}

/// Most objects a sheaf holds, and most full sheaves walked on one node's barn.
const MAX_SHEAF: u64 = 1 << 12;
const MAX_BARN: usize = 1 << 14;

/// The objects in the per-CPU sheaves of `cache` (`kmem_cache.cpu_sheaves`: `main` and `spare`) and in
/// its nodes' barns (`kmem_cache_node.barn`: the list of full sheaves), 6.18+: objects freed that the
/// slabs still count as allocated.
fn sheaves(kernel: &Kernel, cache: &Cache, c: &Object<'_>, offsets: &[u64], free: &mut FreeObjects) {
    if !c.has("cpu_sheaves") {
        return;
    }
    let Ok(pcs) = c.pointer("cpu_sheaves") else { return };
    if pcs == 0 {
        return; // a cache without sheaves
    }
    let sheaf = |addr: u64, free: &mut FreeObjects| {
        if addr == 0 {
            return;
        }
        let objects = kernel.member_offset("slab_sheaf", "objects");
        let size = kernel.object("slab_sheaf", addr).and_then(|s| s.u64("size"));
        match (objects, size) {
            (Ok(objects), Ok(n)) if n <= MAX_SHEAF => {
                for i in 0..n {
                    match kernel.read_u64(addr + objects + 8 * i) {
                        Ok(p) if p != 0 => {
                            free.add(cache, [p]);
                            free.in_sheaves += 1;
                        }
                        Ok(_) => {}
                        Err(e) => free.problems.push(
                            Warning::new(
                                WarningKind::Unreadable,
                                format!("{}: sheaf at {addr:#x}: {e}", cache.name),
                            )
                            .at(addr),
                        ),
                    }
                }
            }
            (Ok(_), Ok(n)) => free.problems.push(
                Warning::new(
                    WarningKind::Inconsistent,
                    format!("{}: sheaf at {addr:#x} claims {n} objects", cache.name),
                )
                .at(addr),
            ),
            (Err(e), _) | (_, Err(e)) => free.problems.push(
                Warning::new(
                    WarningKind::Unreadable,
                    format!("{}: sheaf at {addr:#x}: {e}", cache.name),
                )
                .at(addr),
            ),
        }
    };
    for offset in offsets {
        let at = pcs.wrapping_add(*offset);
        match kernel.object("slub_percpu_sheaves", at) {
            Ok(p) => {
                for m in ["main", "spare"] {
                    if let Ok(s) = p.pointer(m) {
                        sheaf(s, free);
                    }
                }
            }
            Err(e) => free.problems.push(Warning::new(
                WarningKind::Unreadable,
                format!("{}: a CPU's sheaves: {e}", cache.name),
            )),
        }
    }
    for barn in barns(kernel, cache) {
        let head = kernel.member_offset("node_barn", "sheaves_full").map(|o| barn + o);
        match head.and_then(|h| kernel.walk_list(h, "slab_sheaf", "barn_list", MAX_BARN)) {
            Ok(walk) => {
                for s in walk.items {
                    sheaf(s, free);
                }
                if let Some(p) = walk.problem {
                    free.problems.push(
                        Warning::new(WarningKind::Cut, format!("{}: barn at {barn:#x}: {p}", cache.name)).at(barn),
                    );
                }
            }
            Err(e) => free.problems.push(
                Warning::new(
                    WarningKind::Unreadable,
                    format!("{}: barn at {barn:#x}: {e}", cache.name),
                )
                .at(barn),
            ),
        }
    }
}

/// The cache's nodes' barns of sheaves (6.18+): `kmem_cache.per_node[].barn` (7.1+) or
/// `kmem_cache_node.barn`; none where the symbols have neither.
fn barns(kernel: &Kernel, cache: &Cache) -> Vec<u64> {
    if let Ok(within) = kernel.member_offset("kmem_cache_per_node_ptrs", "barn") {
        let (Ok(array), Ok(layout)) = (
            kernel.member_offset("kmem_cache", "per_node"),
            kernel.symbols().layout("kmem_cache_per_node_ptrs"),
        ) else {
            return Vec::new();
        };
        return (0..u64::from(count_of(kernel, "nr_node_ids", MAX_NODES)))
            .filter_map(|n| kernel.read_u64(cache.addr + array + n * layout.size() + within).ok())
            .filter(|&b| b != 0)
            .collect();
    }
    let Ok(at) = kernel.member_offset("kmem_cache_node", "barn") else {
        return Vec::new();
    };
    nodes(kernel, cache)
        .into_iter()
        .filter_map(|n| kernel.read_u64(n + at).ok())
        .filter(|&b| b != 0)
        .collect()
}

/// The cache's `struct kmem_cache_node`s: `kmem_cache.node[]`, or `per_node[].node` from 7.1.
fn nodes(kernel: &Kernel, cache: &Cache) -> Vec<u64> {
    let symbols = kernel.symbols();
    let Ok(layout) = symbols.layout("kmem_cache") else {
        return Vec::new();
    };
    let place = if layout.has_field("node") {
        kernel.member_offset("kmem_cache", "node").map(|a| (a, 8, 0))
    } else {
        (|| {
            let size = symbols.layout("kmem_cache_per_node_ptrs")?.size();
            let within = kernel.member_offset("kmem_cache_per_node_ptrs", "node")?;
            Ok((kernel.member_offset("kmem_cache", "per_node")?, size, within))
        })()
    };
    let Ok((array, stride, within)) = place else {
        return Vec::new();
    };
    (0..u64::from(count_of(kernel, "nr_node_ids", MAX_NODES)))
        .filter_map(|n| kernel.read_u64(cache.addr + array + n * stride + within).ok())
        .filter(|&n| n != 0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::testkit::{self, Memory, IMAGE};

    /// `kmem_cache` (its per-CPU slab pointer and its `random`, at the 6.1 offsets), `kmem_cache_cpu`
    /// (6.1), and the per-CPU offsets of one CPU.
    fn isf(hardened: bool) -> String {
        let ptr = r#"{"kind": "pointer", "subtype": {"kind": "base", "name": "char"}}"#;
        let random = if hardened {
            r#", "random": {"type": {"kind": "base", "name": "long unsigned int"}, "offset": 184}"#
        } else {
            ""
        };
        let types = format!(
            r#""kmem_cache": {{"kind": "struct", "size": 256, "fields": {{
                  "cpu_slab": {{"type": {ptr}, "offset": 0}}{random}}}}},
                "kmem_cache_cpu": {{"kind": "struct", "size": 32, "fields": {{
                  "freelist": {{"type": {ptr}, "offset": 0}},
                  "slab": {{"type": {ptr}, "offset": 16}}}}}}"#
        );
        let symbols = format!(
            r#""__per_cpu_offset": {{"address": {}}}, "nr_cpu_ids": {{"address": {}}}"#,
            IMAGE + 0x100,
            IMAGE + 0x108
        );
        testkit::isf(&types, &symbols)
    }

    const CACHE: u64 = IMAGE + 0x1000;
    const CPU_SLAB: u64 = IMAGE + 0x2000;
    const RANDOM: u64 = 0x5a5a_1234_dead_beef;

    fn cache() -> Cache {
        Cache {
            addr: CACHE,
            name: "test".into(),
            size: 64,
            object_size: 64,
            free_offset: 32,
            order: 0,
            objects: 4,
        }
    }

    fn put(mem: &mut Memory, at: u64, v: u64) {
        mem.write(at, &v.to_le_bytes());
    }

    /// Memory with one CPU (offset 0) whose slab is `cpu` with freelist `cpu_free`, the cache's `random`,
    /// and each chain `[objects]` linked through the free pointers as `encoding` stores them.
    fn memory(encoding: Encoding, chains: &[&[u64]], cpu: (u64, u64)) -> Memory {
        let mut mem = Memory::new();
        put(&mut mem, IMAGE + 0x100, 0);
        mem.write(IMAGE + 0x108, &1u32.to_le_bytes());
        put(&mut mem, CACHE, CPU_SLAB);
        put(&mut mem, CACHE + 184, RANDOM);
        put(&mut mem, CPU_SLAB, cpu.1);
        put(&mut mem, CPU_SLAB + 16, cpu.0);
        for chain in chains {
            for (i, &object) in chain.iter().enumerate() {
                let next = chain.get(i + 1).copied().unwrap_or(0);
                let slot = object + 32;
                let stored = match encoding {
                    Encoding::Plain => next,
                    Encoding::Swabbed(r) => next ^ r ^ slot.swap_bytes(),
                    Encoding::Xored(r) => next ^ r ^ slot,
                };
                put(&mut mem, slot, stored);
            }
        }
        mem
    }

    const A: u64 = IMAGE + 0x10000;
    const B: u64 = IMAGE + 0x20000;

    /// Slab `base` (its page at `base + 0x8000`) with `freelist`, `inuse` of 4, frozen or not.
    fn slab(base: u64, freelist: u64, inuse: u64, frozen: bool) -> Slab {
        Slab {
            cache: 0,
            page: base + 0x8000,
            base,
            freelist: Some(freelist),
            counters: Some(inuse | 4 << 16 | u64::from(frozen) << 31),
        }
    }

    #[test]
    fn hardened_chains_are_decoded_the_way_the_kernel_stored_them() {
        for encoding in [Encoding::Swabbed(RANDOM), Encoding::Xored(RANDOM)] {
            let mem = memory(encoding, &[&[A + 64, A + 192]], (0, 0));
            let kernel = mem.kernel(&isf(true));
            let a = slab(A, A + 64, 2, false);
            let free = free_objects(&kernel, &cache(), &[&a]);
            assert_eq!(free.problems, [], "{encoding:?}");
            let mut got: Vec<u64> = free.objects.into_iter().collect();
            got.sort();
            assert_eq!(got, [A + 64, A + 192], "{encoding:?}");
            assert_eq!(free.checked_slabs, 1);
        }
        // Without `random` the pointers are plain.
        let mem = memory(Encoding::Plain, &[&[A, A + 128, A + 64]], (0, 0));
        let free = free_objects(&mem.kernel(&isf(false)), &cache(), &[&slab(A, A, 1, false)]);
        assert_eq!((free.objects.len(), free.problems.len()), (3, 0));
    }

    #[test]
    fn a_cpus_freelist_belongs_to_its_frozen_slab() {
        let enc = Encoding::Swabbed(RANDOM);
        let mem = memory(enc, &[&[A + 128], &[B, B + 64, B + 192]], (B + 0x8000, B));
        let kernel = mem.kernel(&isf(true));
        // B is the CPU's: its own freelist is empty and its counters say all in use, frozen.
        let (a, b) = (slab(A, A + 128, 3, false), slab(B, 0, 4, true));
        let free = free_objects(&kernel, &cache(), &[&a, &b]);
        assert_eq!(free.problems, []);
        assert_eq!(free.objects.len(), 4);
        assert!(free.objects.contains(&(B + 192)));
        assert_eq!(free.checked_slabs, 1, "a frozen slab's counters are not compared");
    }

    /// 7.2's layouts: no per-CPU slab; per-CPU sheaves (`main`, `spare`) and each node's barn of full
    /// sheaves in `per_node[]`; freelists not hardened.
    fn sheaves_isf() -> String {
        let ptr = r#"{"kind": "pointer", "subtype": {"kind": "base", "name": "char"}}"#;
        let uint = r#"{"kind": "base", "name": "unsigned int"}"#;
        let list = r#"{"kind": "struct", "name": "list_head"}"#;
        let types = format!(
            r#""list_head": {{"kind": "struct", "size": 16, "fields": {{
                  "next": {{"type": {ptr}, "offset": 0}}, "prev": {{"type": {ptr}, "offset": 8}}}}}},
                "kmem_cache": {{"kind": "struct", "size": 256, "fields": {{
                  "cpu_sheaves": {{"type": {ptr}, "offset": 0}},
                  "per_node": {{"type": {{"kind": "array", "count": 1, "subtype": {{"kind": "struct", "name": "kmem_cache_per_node_ptrs"}}}}, "offset": 208}}}}}},
                "kmem_cache_per_node_ptrs": {{"kind": "struct", "size": 16, "fields": {{
                  "barn": {{"type": {ptr}, "offset": 0}}, "node": {{"type": {ptr}, "offset": 8}}}}}},
                "slub_percpu_sheaves": {{"kind": "struct", "size": 32, "fields": {{
                  "main": {{"type": {ptr}, "offset": 8}}, "spare": {{"type": {ptr}, "offset": 16}}}}}},
                "slab_sheaf": {{"kind": "struct", "size": 32, "fields": {{
                  "barn_list": {{"type": {list}, "offset": 0}},
                  "size": {{"type": {uint}, "offset": 24}},
                  "objects": {{"type": {{"kind": "array", "count": 0, "subtype": {ptr}}}, "offset": 32}}}}}},
                "node_barn": {{"kind": "struct", "size": 48, "fields": {{
                  "sheaves_full": {{"type": {list}, "offset": 8}}}}}}"#
        );
        let symbols = format!(
            r#""__per_cpu_offset": {{"address": {}}}, "nr_cpu_ids": {{"address": {}}}, "nr_node_ids": {{"address": {}}}"#,
            IMAGE + 0x100,
            IMAGE + 0x108,
            IMAGE + 0x10c
        );
        testkit::isf(&types, &symbols)
    }

    #[test]
    fn objects_in_sheaves_and_barns_are_free_too() {
        let mut mem = memory(Encoding::Plain, &[&[A + 64]], (0, 0));
        mem.write(IMAGE + 0x10c, &1u32.to_le_bytes());
        let (pcs, main, spare, barn, full) = (
            IMAGE + 0x3000,
            IMAGE + 0x4000,
            IMAGE + 0x4100,
            IMAGE + 0x5000,
            IMAGE + 0x6000,
        );
        put(&mut mem, CACHE, pcs);
        put(&mut mem, CACHE + 208, barn);
        put(&mut mem, pcs + 8, main);
        put(&mut mem, pcs + 16, spare);
        let sheaf = |mem: &mut Memory, at: u64, objects: &[u64]| {
            mem.write(at + 24, &(objects.len() as u32).to_le_bytes());
            for (i, o) in objects.iter().enumerate() {
                put(mem, at + 32 + 8 * i as u64, *o);
            }
        };
        sheaf(&mut mem, main, &[A, A + 128]);
        sheaf(&mut mem, spare, &[]);
        sheaf(&mut mem, full, &[A + 192]);
        // The barn's list of full sheaves: its head and the one sheaf, linked both ways.
        put(&mut mem, barn + 8, full);
        put(&mut mem, barn + 16, full);
        put(&mut mem, full, barn + 8);
        put(&mut mem, full + 8, barn + 8);
        let kernel = mem.kernel(&sheaves_isf());
        // The slab counts the sheaves' objects in use: only its freelist's one is free for it.
        let free = free_objects(&kernel, &cache(), &[&slab(A, A + 64, 3, false)]);
        assert_eq!(free.problems, []);
        let mut got: Vec<u64> = free.objects.into_iter().collect();
        got.sort();
        assert_eq!(got, [A, A + 64, A + 128, A + 192]);
        assert_eq!(free.in_sheaves, 3);
    }

    #[test]
    fn counters_that_disagree_and_a_chain_out_of_its_slab_are_problems() {
        let enc = Encoding::Swabbed(RANDOM);
        let mem = memory(enc, &[&[A + 64, B]], (0, 0));
        let kernel = mem.kernel(&isf(true));
        let free = free_objects(&kernel, &cache(), &[&slab(A, A + 64, 2, false)]);
        let kinds: Vec<WarningKind> = free.problems.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, [WarningKind::Cut, WarningKind::Inconsistent]);
        assert!(free.objects.is_empty(), "a broken chain gives no object");
    }
}
