//! `routes`: the forwarding tables (FIB) of every network namespace, IPv4 and IPv6, as `ip route show
//! table all` prints them.
//!
//! IPv4 routes live in a level-compressed trie per table (`fib_table.tb_data` -> `struct trie`): inner
//! nodes (`key_vector` with `bits > 0`) hold `1 << bits` child pointers, leaves (`pos == bits == 0`) hold a
//! list of `fib_alias`, one per route to that prefix. Since Linux 4.1 the local table may share the main
//! table's trie: each alias names its own table (`fa_alias.tb_id`). IPv6 routes live in a radix tree of
//! `fib6_node` per table, whose nodes carry chains of `fib6_info`.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::Analysis;
use crate::kernel::net::{ipv4, ipv6, network_namespaces, NetNs};
use crate::kernel::{Kernel, KernelError, Object};

/// Most trie or tree nodes visited in one table.
const MAX_NODES: usize = 1 << 20;
/// Most routes read from one table.
const MAX_ROUTES: usize = 1 << 20;
/// Most tables on one hash chain.
const MAX_TABLES: usize = 4096;
/// Most next hops of one route.
const MAX_NEXTHOPS: u64 = 256;
/// Largest `bits` of a trie node (the kernel's KEYLENGTH is 32; real nodes are far smaller).
const MAX_NODE_BITS: u8 = 20;
/// `fib6_node.fn_flags` bit: the node carries routes.
const RTN_RTINFO: u64 = 4;
/// Address families of a gateway.
const AF_INET: u64 = 2;
const AF_INET6: u64 = 10;

/// One route (one per next hop of a multipath route).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// Inode of the route's network namespace.
    pub netns: Option<u64>,
    /// `inet` or `inet6`.
    pub family: &'static str,
    /// The table's name as `ip` prints it (`main`, `local`, `default`) or its number.
    pub table: String,
    /// The table's number.
    pub table_id: u64,
    /// Route type: `unicast`, `local`, `broadcast`, `multicast`, `blackhole`, ...
    #[serde(rename = "type")]
    pub route_type: String,
    /// Destination prefix in CIDR form (`0.0.0.0/0` and `::/0` for the default route).
    pub destination: String,
    /// Gateway address, when the route goes through one.
    pub gateway: Option<String>,
    /// Output device name.
    pub device: Option<String>,
    /// Metric (priority).
    pub metric: Option<u64>,
    /// Who installed it: `kernel`, `boot`, `static`, `ra`, `dhcp`, ... or a number.
    pub protocol: Option<String>,
    /// IPv4 scope: `universe`, `link`, `host`, ...
    pub scope: Option<String>,
    /// Preferred source address (IPv4).
    pub prefsrc: Option<String>,
}

/// Every route of every network namespace.
pub fn routes(kernel: &Kernel) -> Result<Analysis<Route>, KernelError> {
    let (namespaces, mut warnings) = network_namespaces(kernel)?;
    let mut rows = Vec::new();
    let mut devices = DeviceNames::default();
    for ns in &namespaces {
        let label = match ns.inum {
            Some(i) => format!("netns {i}"),
            None => format!("netns at {:#x}", ns.addr),
        };
        for (family, result) in [
            ("inet", ipv4_routes(kernel, ns, &mut devices, &mut rows)),
            ("inet6", ipv6_routes(kernel, ns, &mut devices, &mut rows)),
        ] {
            match result {
                Ok(problems) => warnings.extend(problems.into_iter().map(|p| format!("{label} {family}: {p}"))),
                Err(e) => warnings.push(format!("{label} {family} routes unreadable: {e}")),
            }
        }
    }
    Ok(Analysis { rows, warnings })
}

/// Device names by `net_device` address, read once each.
#[derive(Default)]
struct DeviceNames(HashMap<u64, Option<String>>);

impl DeviceNames {
    fn name(&mut self, kernel: &Kernel, dev: u64) -> Option<String> {
        if dev == 0 {
            return None;
        }
        self.0
            .entry(dev)
            .or_insert_with(|| kernel.object("net_device", dev).and_then(|d| d.string("name")).ok())
            .clone()
    }
}

/// The buckets of a table hash (`fib_table_hash`): 256 with policy routing (the namespace has rules), else
/// `without_rules`.
fn table_heads(kernel: &Kernel, netns_member: &Object<'_>, without_rules: u64) -> Result<Vec<u64>, KernelError> {
    let rules = netns_member.has("rules_ops") || netns_member.has("fib6_rules_ops");
    let buckets = if rules { 256 } else { without_rules };
    let hash = netns_member.pointer("fib_table_hash")?;
    if hash == 0 {
        return Ok(Vec::new());
    }
    let mut firsts = Vec::new();
    for i in 0..buckets {
        let first = kernel
            .read_u64(hash.wrapping_add(i * 8))
            .map_err(|e| KernelError::memory(format!("fib_table_hash[{i}]"), Some(e)))?;
        if first != 0 {
            firsts.push(first);
        }
    }
    Ok(firsts)
}

fn table_name(id: u64) -> String {
    match id {
        253 => "default".into(),
        254 => "main".into(),
        255 => "local".into(),
        n => n.to_string(),
    }
}

fn route_type(t: u64) -> String {
    const NAMES: [&str; 12] = [
        "unspec",
        "unicast",
        "local",
        "broadcast",
        "anycast",
        "multicast",
        "blackhole",
        "unreachable",
        "prohibit",
        "throw",
        "nat",
        "xresolve",
    ];
    NAMES
        .get(t as usize)
        .map(|s| s.to_string())
        .unwrap_or_else(|| t.to_string())
}

fn protocol(p: u64) -> String {
    match p {
        0 => "unspec",
        1 => "redirect",
        2 => "kernel",
        3 => "boot",
        4 => "static",
        8 => "gated",
        9 => "ra",
        10 => "mrt",
        11 => "zebra",
        12 => "bird",
        16 => "dhcp",
        18 => "keepalived",
        42 => "babel",
        186 => "bgp",
        187 => "isis",
        188 => "ospf",
        189 => "rip",
        _ => return p.to_string(),
    }
    .to_string()
}

fn scope(s: u64) -> String {
    match s {
        0 => "universe".into(),
        200 => "site".into(),
        253 => "link".into(),
        254 => "host".into(),
        255 => "nowhere".into(),
        n => n.to_string(),
    }
}

/// Gateway and device of a `fib_nh_common` (Linux 5.3+) or of an older `fib_nh`/`fib6_nh`.
fn next_hop(
    kernel: &Kernel,
    nh: &Object<'_>,
    devices: &mut DeviceNames,
) -> Result<(Option<String>, Option<String>), KernelError> {
    let (dev, gw_family, gw_addr) = if nh.has("nh_common") {
        let c = nh.member("nh_common")?;
        (c.pointer("nhc_dev")?, c.u64("nhc_gw_family")?, c.field_addr("nhc_gw")?)
    } else if nh.has("nh_gw") {
        (nh.pointer("nh_dev")?, AF_INET, nh.field_addr("nh_gw")?)
    } else {
        (nh.pointer(nh.which(&["fib_nh_dev", "nh_dev"])?)?, 0, 0)
    };
    let gateway = match gw_family {
        AF_INET => {
            let mut b = [0u8; 4];
            kernel
                .read(gw_addr, &mut b)
                .map_err(|e| KernelError::memory("next hop gateway".into(), Some(e)))?;
            (b != [0; 4]).then(|| ipv4(b))
        }
        AF_INET6 => {
            let mut b = [0u8; 16];
            kernel
                .read(gw_addr, &mut b)
                .map_err(|e| KernelError::memory("next hop gateway".into(), Some(e)))?;
            Some(ipv6(b))
        }
        _ => None,
    };
    Ok((gateway, devices.name(kernel, dev)))
}

/// Read the IPv4 tables of a namespace into `rows`; returns the problems met.
fn ipv4_routes(
    kernel: &Kernel,
    ns: &NetNs,
    devices: &mut DeviceNames,
    rows: &mut Vec<Route>,
) -> Result<Vec<String>, KernelError> {
    let net = kernel.object("net", ns.addr)?;
    let v4 = net.member("ipv4")?;
    let mut problems = Vec::new();
    let mut seen_tries = HashSet::new();
    for first in table_heads(kernel, &v4, 2)? {
        let tables = kernel.walk_hlist(first, "fib_table", "tb_hlist", MAX_TABLES)?;
        problems.extend(tables.problem);
        for table in tables.items {
            let t = kernel.object("fib_table", table)?;
            let trie = t.pointer("tb_data")?;
            // A table whose trie is shared (local merged into main) is walked once.
            if trie == 0 || !seen_tries.insert(trie) {
                continue;
            }
            let table_id = t.u64("tb_id")?;
            walk_trie(kernel, ns, trie, table_id, devices, rows, &mut problems)?;
        }
    }
    Ok(problems)
}

fn walk_trie(
    kernel: &Kernel,
    ns: &NetNs,
    trie: u64,
    table_id: u64,
    devices: &mut DeviceNames,
    rows: &mut Vec<Route>,
    problems: &mut Vec<String>,
) -> Result<(), KernelError> {
    let kv = kernel.symbols().layout("key_vector")?;
    // The union after the key: a leaf's hlist_head, or an inner node's child pointers.
    let children_off = kv.ty.fields.iter().find(|f| f.anonymous).map(|f| f.offset).unwrap_or(8);
    let root = kernel
        .read_u64(trie.wrapping_add(children_off))
        .map_err(|e| KernelError::memory(format!("trie root at {trie:#x}"), Some(e)))?;
    let mut stack = vec![root];
    let mut seen = HashSet::new();
    let mut found = 0usize;
    while let Some(node) = stack.pop() {
        if node == 0 {
            continue;
        }
        if !seen.insert(node) || seen.len() > MAX_NODES {
            problems.push(format!(
                "table {table_id}: trie walk stopped at {node:#x} (cycle or too many nodes)"
            ));
            break;
        }
        let mut head = [0u8; 8];
        if let Err(e) = kernel.read(node, &mut head) {
            problems.push(format!("table {table_id}: trie node at {node:#x} unreadable: {e}"));
            continue;
        }
        let key = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let (pos, bits) = (head[4], head[5]);
        if pos == 0 && bits == 0 {
            let first = kernel.read_u64(node.wrapping_add(children_off)).unwrap_or(0);
            let aliases = kernel.walk_hlist(first, "fib_alias", "fa_list", MAX_ROUTES)?;
            problems.extend(aliases.problem);
            for alias in aliases.items {
                found += 1;
                if found > MAX_ROUTES {
                    problems.push(format!("table {table_id}: stopped after {MAX_ROUTES} routes"));
                    return Ok(());
                }
                if let Err(e) = ipv4_alias(kernel, ns, key, alias, table_id, devices, rows) {
                    problems.push(format!("route at {alias:#x}: {e}"));
                }
            }
        } else if bits <= MAX_NODE_BITS {
            let count = 1usize << bits;
            let mut children = vec![0u8; count * 8];
            match kernel.read(node.wrapping_add(children_off), &mut children) {
                // Pushed in reverse so that the walk pops them in key order, as `ip route` lists them.
                Ok(()) => stack.extend(
                    children
                        .chunks_exact(8)
                        .rev()
                        .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default())),
                ),
                Err(e) => problems.push(format!("table {table_id}: children of {node:#x} unreadable: {e}")),
            }
        } else {
            problems.push(format!("table {table_id}: trie node at {node:#x} has {bits} bits"));
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn ipv4_alias(
    kernel: &Kernel,
    ns: &NetNs,
    key: u32,
    alias: u64,
    table_id: u64,
    devices: &mut DeviceNames,
    rows: &mut Vec<Route>,
) -> Result<(), KernelError> {
    let fa = kernel.object("fib_alias", alias)?;
    let table_id = if fa.has("tb_id") { fa.u64("tb_id")? } else { table_id };
    let prefix_len = 32u32.saturating_sub(fa.u64("fa_slen")? as u32).min(32);
    let mask = if prefix_len == 0 {
        0
    } else {
        u32::MAX << (32 - prefix_len)
    };
    let destination = format!("{}/{prefix_len}", ipv4((key & mask).to_be_bytes()));
    let info = fa
        .deref_as("fa_info", "fib_info")?
        .ok_or_else(|| KernelError::Layout("fib_alias without fib_info".into()))?;
    let prefsrc = match info.u64("fib_prefsrc")? as u32 {
        0 => None,
        // Stored in network order: the bytes as they are in memory.
        v => Some(ipv4(v.to_le_bytes())),
    };
    let base = Route {
        netns: ns.inum,
        family: "inet",
        table: table_name(table_id),
        table_id,
        route_type: route_type(fa.u64("fa_type")?),
        destination,
        gateway: None,
        device: None,
        metric: Some(info.u64("fib_priority")?),
        protocol: Some(protocol(info.u64("fib_protocol")?)),
        scope: Some(scope(info.u64("fib_scope")?)),
        prefsrc,
    };
    // Next-hop objects (`ip nexthop`, Linux 5.3+) are not followed yet: the route keeps no device.
    if info.has("nh") && info.pointer("nh")? != 0 {
        rows.push(base);
        return Ok(());
    }
    let count = info.u64("fib_nhs")?.clamp(1, MAX_NEXTHOPS);
    let nh_size = kernel.symbols().layout("fib_nh")?.size();
    let first = info.field_addr("fib_nh")?;
    for i in 0..count {
        let nh = kernel.object("fib_nh", first.wrapping_add(i * nh_size))?;
        let (gateway, device) = next_hop(kernel, &nh, devices)?;
        rows.push(Route {
            gateway,
            device,
            ..base.clone()
        });
    }
    Ok(())
}

/// Read the IPv6 tables of a namespace into `rows`; returns the problems met.
fn ipv6_routes(
    kernel: &Kernel,
    ns: &NetNs,
    devices: &mut DeviceNames,
    rows: &mut Vec<Route>,
) -> Result<Vec<String>, KernelError> {
    let net = kernel.object("net", ns.addr)?;
    if !net.has("ipv6") || !kernel.symbols().has_type("fib6_info") {
        return Ok(vec![
            "no fib6_info in the symbols: IPv6 routes of this layout are not read".into(),
        ]);
    }
    let v6 = net.member("ipv6")?;
    let null_entry = v6.pointer("fib6_null_entry").unwrap_or(0);
    let mut problems = Vec::new();
    for first in table_heads(kernel, &v6, 1)? {
        let tables = kernel.walk_hlist(first, "fib6_table", "tb6_hlist", MAX_TABLES)?;
        problems.extend(tables.problem);
        for table in tables.items {
            let t = kernel.object("fib6_table", table)?;
            let table_id = t.u64("tb6_id")?;
            let root = t.field_addr("tb6_root")?;
            walk_fib6(kernel, ns, root, table_id, null_entry, devices, rows, &mut problems)?;
        }
    }
    Ok(problems)
}

#[allow(clippy::too_many_arguments)]
fn walk_fib6(
    kernel: &Kernel,
    ns: &NetNs,
    root: u64,
    table_id: u64,
    null_entry: u64,
    devices: &mut DeviceNames,
    rows: &mut Vec<Route>,
    problems: &mut Vec<String>,
) -> Result<(), KernelError> {
    let mut stack = vec![root];
    let mut seen = HashSet::new();
    let mut found = 0usize;
    while let Some(addr) = stack.pop() {
        if addr == 0 || !seen.insert(addr) {
            continue;
        }
        if seen.len() > MAX_NODES {
            problems.push(format!("table {table_id}: fib6 walk stopped after {MAX_NODES} nodes"));
            break;
        }
        let node = match kernel.object("fib6_node", addr) {
            Ok(n) => n,
            Err(e) => {
                problems.push(format!("table {table_id}: {e}"));
                continue;
            }
        };
        for child in ["subtree", "right", "left"] {
            if node.has(child) {
                stack.push(node.pointer(child)?);
            }
        }
        if node.u64("fn_flags")? & RTN_RTINFO == 0 {
            continue;
        }
        let mut info_addr = node.pointer("leaf")?;
        let mut chain = HashSet::new();
        while info_addr != 0 && info_addr != null_entry && chain.insert(info_addr) {
            found += 1;
            if found > MAX_ROUTES {
                problems.push(format!("table {table_id}: stopped after {MAX_ROUTES} routes"));
                return Ok(());
            }
            let info = kernel.object("fib6_info", info_addr)?;
            if let Err(e) = ipv6_info(kernel, ns, &info, table_id, devices, rows) {
                problems.push(format!("route at {info_addr:#x}: {e}"));
            }
            info_addr = info.pointer("fib6_next")?;
        }
    }
    Ok(())
}

fn ipv6_info(
    kernel: &Kernel,
    ns: &NetNs,
    info: &Object<'_>,
    table_id: u64,
    devices: &mut DeviceNames,
    rows: &mut Vec<Route>,
) -> Result<(), KernelError> {
    let dst = info.member("fib6_dst")?;
    let addr: [u8; 16] = dst
        .bytes("addr")?
        .try_into()
        .map_err(|_| KernelError::Layout("in6_addr is not 16 bytes".into()))?;
    let prefix_len = dst.u64("plen")?.min(128);
    let table_id = match info.deref_as("fib6_table", "fib6_table")? {
        Some(t) => t.u64("tb6_id")?,
        None => table_id,
    };
    let mut route = Route {
        netns: ns.inum,
        family: "inet6",
        table: table_name(table_id),
        table_id,
        route_type: route_type(info.u64("fib6_type")?),
        destination: format!("{}/{prefix_len}", ipv6(addr)),
        gateway: None,
        device: None,
        metric: Some(info.u64("fib6_metric")?),
        protocol: Some(protocol(info.u64("fib6_protocol")?)),
        scope: None,
        prefsrc: None,
    };
    if !(info.has("nh") && info.pointer("nh")? != 0) {
        let nh = kernel.object("fib6_nh", info.field_addr("fib6_nh")?)?;
        (route.gateway, route.device) = next_hop(kernel, &nh, devices)?;
    }
    rows.push(route);
    Ok(())
}
