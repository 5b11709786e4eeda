//! The neighbour tables (ARP for IPv4, neighbour discovery for IPv6), as `net/core/neighbour.c` keeps them.
//!
//! The tables are global (`neigh_tables[]`, or `arp_tbl` and `nd_tbl`); each entry belongs to the
//! namespace of its device. A table's `neigh_hash_table` chains entries from its buckets
//! ([`NeighHash`]).

use std::collections::HashSet;
use std::net::IpAddr;

use super::{device_net, ip_addr};
use crate::kernel::{Kernel, KernelError, Object};
use crate::symbols::TypeRef;

/// Most hash buckets read from one table (`2^20`).
const MAX_HASH_SHIFT: u64 = 20;
/// Most entries read from one table.
const MAX_ENTRIES: usize = 1 << 20;
/// States in which the link-layer address is valid (`NUD_VALID`).
const NUD_VALID: u64 = 0x80 | 0x40 | 0x02 | 0x10 | 0x04 | 0x08;

/// One live neighbour entry (`struct neighbour`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbour {
    /// `inet` (ARP) or `inet6` (neighbour discovery).
    pub family: &'static str,
    /// Its address (`primary_key`).
    pub ip: IpAddr,
    /// Its link-layer address (`ha`, the device's `addr_len` bytes) while it is valid (`NUD_VALID`).
    pub lladdr: Option<Vec<u8>>,
    /// Its device's name, and the `struct net` that device belongs to.
    pub device: Option<String>,
    pub net: Option<u64>,
    /// `NUD_*` state bits and `NTF_*` flags.
    pub state: u64,
    pub flags: u64,
    /// Address of the `struct neighbour`.
    pub addr: u64,
}

/// How a `neigh_hash_table`'s buckets chain their entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeighHash {
    /// 2.6.37 to 6.12: `hash_buckets`, pointers to the first `neighbour`, chained through `neighbour.next`.
    Buckets,
    /// 6.13 on (the hlist conversion): `hash_heads`, `hlist_head`s of `neighbour.hash` nodes.
    Heads,
    /// Neither member: each table read reports it.
    Unknown,
}

/// The neighbour-table layout, resolved once.
#[derive(Debug, Clone)]
struct Layout {
    hash: NeighHash,
    /// Offsets of `neighbour.next` and `neighbour.hash` (as the symbols have them).
    next_off: Result<u64, KernelError>,
    hash_off: Result<u64, KernelError>,
}

impl Layout {
    fn new(kernel: &Kernel) -> Layout {
        let nht = kernel.symbols().layout("neigh_hash_table").ok();
        let has = |f: &str| nht.as_ref().is_some_and(|l| l.has_field(f));
        Layout {
            hash: if has("hash_buckets") {
                NeighHash::Buckets
            } else if has("hash_heads") {
                NeighHash::Heads
            } else {
                NeighHash::Unknown
            },
            next_off: kernel.member_offset("neighbour", "next"),
            hash_off: kernel.member_offset("neighbour", "hash"),
        }
    }
}

/// The neighbour tables' addresses: `neigh_tables[]` where the symbols have it, else `arp_tbl`/`nd_tbl`.
fn tables(kernel: &Kernel) -> Result<Vec<u64>, KernelError> {
    let symbols = kernel.symbols();
    if let Some(sym) = symbols.symbol("neigh_tables")? {
        let count = match &sym.ty {
            Some(TypeRef::Array { count, .. }) => (*count).min(16),
            _ => 3,
        };
        let base = kernel.symbol_addr("neigh_tables")?;
        let mut out = Vec::new();
        for i in 0..count {
            let p = kernel
                .read_u64(base.wrapping_add(i * 8))
                .map_err(|e| KernelError::memory(format!("neigh_tables[{i}]"), Some(e)))?;
            if p != 0 {
                out.push(p);
            }
        }
        return Ok(out);
    }
    let out: Vec<u64> = ["arp_tbl", "nd_tbl"]
        .iter()
        .filter_map(|s| kernel.symbol_addr(s).ok())
        .collect();
    if out.is_empty() {
        return Err(KernelError::Layout(
            "no neighbour tables in the symbols (neigh_tables, arp_tbl, nd_tbl)".into(),
        ));
    }
    Ok(out)
}

/// Every live entry of every IPv4 and IPv6 neighbour table, in hash order, and warnings about what could
/// not be read (an error when there are no tables at all).
pub fn neighbours(kernel: &Kernel) -> Result<(Vec<Neighbour>, Vec<String>), KernelError> {
    let layout = Layout::new(kernel);
    let (mut out, mut warnings) = (Vec::new(), Vec::new());
    for table in tables(kernel)? {
        let tbl = match kernel.object("neigh_table", table) {
            Ok(t) => t,
            Err(e) => {
                warnings.push(format!("neighbour table at {table:#x}: {e}"));
                continue;
            }
        };
        let family = match tbl.u64("family").unwrap_or(0) {
            2 => "inet",
            10 => "inet6",
            // DECnet and others: not IP, not shown.
            _ => continue,
        };
        let key_len = tbl.u64("key_len").unwrap_or(0);
        if key_len != 4 && key_len != 16 {
            warnings.push(format!("{family} neighbour table: key length {key_len}; skipped"));
            continue;
        }
        let entries = match entries(kernel, &layout, &tbl) {
            Ok((e, problem)) => {
                warnings.extend(problem.map(|p| format!("{family} neighbour table: {p}")));
                e
            }
            Err(e) => {
                warnings.push(format!("{family} neighbour table: {e}"));
                continue;
            }
        };
        for n in entries {
            match neighbour(kernel, n, family, key_len as usize) {
                Ok(Some(entry)) => out.push(entry),
                Ok(None) => {}
                Err(e) => warnings.push(format!("{family} neighbour at {n:#x}: {e}")),
            }
        }
    }
    Ok((out, warnings))
}

/// The entries of one table's hash, and why the walk was cut if it was.
fn entries(kernel: &Kernel, layout: &Layout, tbl: &Object) -> Result<(Vec<u64>, Option<String>), KernelError> {
    let Some(nht) = tbl.deref_as("nht", "neigh_hash_table")? else {
        return Ok((Vec::new(), None));
    };
    let shift = nht.u64("hash_shift")?;
    if shift > MAX_HASH_SHIFT {
        return Err(KernelError::Layout(format!("hash_shift {shift} is implausible")));
    }
    // With hash_heads, buckets are hlist_heads and entries link through neighbour.hash (an hlist_node);
    // with hash_buckets, they are pointers to the first neighbour, chained through neighbour.next.
    let (buckets, link_off, next_off) = match layout.hash {
        NeighHash::Buckets => (nht.pointer("hash_buckets")?, 0, layout.next_off.clone()?),
        NeighHash::Heads => (nht.pointer("hash_heads")?, layout.hash_off.clone()?, 0),
        NeighHash::Unknown => {
            return Err(KernelError::Layout(format!(
                "{} has none of the members hash_buckets, hash_heads",
                nht.type_name()
            )))
        }
    };
    let count = 1usize << shift;
    let mut heads = vec![0u8; count * 8];
    kernel
        .read(buckets, &mut heads)
        .map_err(|e| KernelError::memory(format!("neighbour hash buckets at {buckets:#x}"), Some(e)))?;
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut problem = None;
    for chunk in heads.chunks_exact(8) {
        let mut node = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        while node != 0 {
            let entry = node.wrapping_sub(link_off);
            if !seen.insert(entry) {
                problem = Some(format!("hash chain cycles at {entry:#x}; cut"));
                break;
            }
            if out.len() >= MAX_ENTRIES {
                problem = Some(format!("stopped after {MAX_ENTRIES} entries"));
                return Ok((out, problem));
            }
            out.push(entry);
            match kernel.read_u64(node.wrapping_add(next_off)) {
                Ok(n) => node = n,
                Err(e) => {
                    problem = Some(format!("hash chain link at {node:#x} unreadable: {e}"));
                    break;
                }
            }
        }
    }
    Ok((out, problem))
}

/// The entry at `addr`; none when it is dead.
fn neighbour(
    kernel: &Kernel,
    addr: u64,
    family: &'static str,
    key_len: usize,
) -> Result<Option<Neighbour>, KernelError> {
    let n = kernel.object("neighbour", addr)?;
    if n.u64("dead").unwrap_or(0) != 0 {
        return Ok(None);
    }
    let mut key = vec![0u8; key_len];
    let key_addr = n.field_addr("primary_key")?;
    kernel
        .read(key_addr, &mut key)
        .map_err(|e| KernelError::memory("neighbour.primary_key".into(), Some(e)))?;
    let ip = ip_addr(&key).ok_or_else(|| KernelError::Layout(format!("key length {key_len}")))?;
    let state = n.u64("nud_state")?;
    let dev = n.deref_as("dev", "net_device").ok().flatten();
    let device = dev.as_ref().and_then(|d| d.string("name").ok());
    let net = n
        .pointer("dev")
        .ok()
        .filter(|&d| d != 0)
        .and_then(|d| device_net(kernel, d));
    let lladdr = if state & NUD_VALID != 0 {
        let len = dev.as_ref().and_then(|d| d.u64("addr_len").ok()).unwrap_or(6).min(32) as usize;
        n.bytes("ha").ok().and_then(|ha| Some(ha.get(..len)?.to_vec()))
    } else {
        None
    };
    Ok(Some(Neighbour {
        family,
        ip,
        lladdr,
        device,
        net,
        state,
        flags: n.u64("flags").unwrap_or(0),
        addr,
    }))
}
