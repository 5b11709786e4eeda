//! `arp`: the neighbour tables (ARP for IPv4, neighbour discovery for IPv6) of every network namespace.
//!
//! The tables are global (`neigh_tables[]`, or `arp_tbl` and `nd_tbl`); each entry belongs to the
//! namespace of its device. Hash buckets chain entries through `neighbour.next` (or, where the symbols show
//! it, through an `hlist` member `hash` from `hash_heads`).

use std::collections::HashSet;

use serde::Serialize;

use super::Analysis;
use crate::kernel::net;
use crate::kernel::{Kernel, KernelError, Object};

/// Most hash buckets read from one table (`2^20`).
const MAX_HASH_SHIFT: u64 = 20;
/// Most entries read from one table.
const MAX_ENTRIES: usize = 1 << 20;

/// One neighbour entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Neighbour {
    /// Inode of the device's network namespace (`null` if unknown).
    pub netns: Option<u64>,
    /// `inet` (ARP) or `inet6` (neighbour discovery).
    pub family: &'static str,
    /// The neighbour's address.
    pub ip: String,
    /// Its link-layer address; `null` while the entry has none (INCOMPLETE, FAILED).
    pub mac: Option<String>,
    /// The device it was seen on.
    pub device: Option<String>,
    /// `NUD_*` state as `ip neigh` names it (`REACHABLE`, `STALE`, `PERMANENT`, `NOARP`...).
    pub state: String,
    /// Whether the neighbour is a router (`NTF_ROUTER`, IPv6).
    pub router: bool,
    /// Virtual address of the `struct neighbour`.
    #[serde(with = "crate::hex")]
    pub neighbour_addr: u64,
}

/// `NUD_*` names; `ip neigh` prints the set bits.
fn nud_state(v: u64) -> String {
    const NAMES: [(u64, &str); 8] = [
        (0x01, "INCOMPLETE"),
        (0x02, "REACHABLE"),
        (0x04, "STALE"),
        (0x08, "DELAY"),
        (0x10, "PROBE"),
        (0x20, "FAILED"),
        (0x40, "NOARP"),
        (0x80, "PERMANENT"),
    ];
    let names: Vec<&str> = NAMES.iter().filter(|(b, _)| v & b != 0).map(|(_, n)| *n).collect();
    if names.is_empty() {
        "NONE".into()
    } else {
        names.join(",")
    }
}

/// States in which the link-layer address is valid (`NUD_VALID`).
const NUD_VALID: u64 = 0x80 | 0x40 | 0x02 | 0x10 | 0x04 | 0x08;
/// `NTF_ROUTER`.
const NTF_ROUTER: u64 = 0x80;

/// The neighbour tables' addresses: `neigh_tables[]` where the symbols have it, else `arp_tbl`/`nd_tbl`.
fn tables(kernel: &Kernel) -> Result<Vec<u64>, KernelError> {
    let symbols = kernel.symbols();
    if let Some(sym) = symbols.symbol("neigh_tables")? {
        let count = match &sym.ty {
            Some(crate::symbols::TypeRef::Array { count, .. }) => (*count).min(16),
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

/// Every neighbour entry of every table, labelled with its device's network namespace.
pub fn arp(kernel: &Kernel) -> Result<Analysis<Neighbour>, KernelError> {
    let (namespaces, mut warnings) = net::network_namespaces(kernel)?;
    let ns_map = net::namespace_map(&namespaces);
    let mut rows = Vec::new();
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
        let entries = match entries(kernel, &tbl) {
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
            match neighbour(kernel, n, family, key_len as usize, &ns_map) {
                Ok(Some(row)) => rows.push(row),
                Ok(None) => {}
                Err(e) => warnings.push(format!("{family} neighbour at {n:#x}: {e}")),
            }
        }
    }
    // Hash order means nothing to a reader: group by namespace, family and device.
    rows.sort_by(|a, b| {
        (a.netns, a.family, &a.device, ip_key(&a.ip)).cmp(&(b.netns, b.family, &b.device, ip_key(&b.ip)))
    });
    Ok(Analysis { rows, warnings })
}

/// An address as a sort key that orders numerically.
fn ip_key(ip: &str) -> Option<std::net::IpAddr> {
    ip.parse().ok()
}

/// The entries of one table's hash, and why the walk was cut if it was.
fn entries(kernel: &Kernel, tbl: &Object) -> Result<(Vec<u64>, Option<String>), KernelError> {
    let Some(nht) = tbl.deref_as("nht", "neigh_hash_table")? else {
        return Ok((Vec::new(), None));
    };
    let shift = nht.u64("hash_shift")?;
    if shift > MAX_HASH_SHIFT {
        return Err(KernelError::Layout(format!("hash_shift {shift} is implausible")));
    }
    let buckets_field = nht.which(&["hash_buckets", "hash_heads"])?;
    let buckets = nht.pointer(buckets_field)?;
    // With hash_heads, buckets are hlist_heads and entries link through neighbour.hash (an hlist_node);
    // with hash_buckets, they are pointers to the first neighbour, chained through neighbour.next.
    let link_off = if buckets_field == "hash_heads" {
        kernel.member_offset("neighbour", "hash")?
    } else {
        0
    };
    let next_off = if buckets_field == "hash_heads" {
        0
    } else {
        kernel.member_offset("neighbour", "next")?
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

fn neighbour(
    kernel: &Kernel,
    addr: u64,
    family: &'static str,
    key_len: usize,
    ns_map: &std::collections::HashMap<u64, net::NetNs>,
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
    let ip = net::ip(&key).ok_or_else(|| KernelError::Layout(format!("key length {key_len}")))?;
    let state = n.u64("nud_state")?;
    let dev = n.deref_as("dev", "net_device").ok().flatten();
    let device = dev.as_ref().and_then(|d| d.string("name").ok());
    let netns = n
        .pointer("dev")
        .ok()
        .filter(|&d| d != 0)
        .and_then(|d| net::device_net(kernel, d))
        .and_then(|net| ns_map.get(&net))
        .and_then(|ns| ns.inum);
    let mac = if state & NUD_VALID != 0 {
        let len = dev.as_ref().and_then(|d| d.u64("addr_len").ok()).unwrap_or(6).min(32) as usize;
        n.bytes("ha").ok().and_then(|ha| net::mac(ha.get(..len)?))
    } else {
        None
    };
    Ok(Some(Neighbour {
        netns,
        family,
        ip,
        mac,
        device,
        state: nud_state(state),
        router: n.u64("flags").unwrap_or(0) & NTF_ROUTER != 0,
        neighbour_addr: addr,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states() {
        assert_eq!(nud_state(0x04), "STALE");
        assert_eq!(nud_state(0x80), "PERMANENT");
        assert_eq!(nud_state(0), "NONE");
        assert_eq!(nud_state(0x24), "STALE,FAILED");
    }
}
