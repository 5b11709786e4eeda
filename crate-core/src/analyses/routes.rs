//! `routes`: the forwarding tables (FIB) of every network namespace, IPv4 and IPv6, as `ip route show
//! table all` prints them.
//!
//! IPv4 routes live in a level-compressed trie per table (`fib_table.tb_data` -> `struct trie`): inner
//! nodes (`key_vector` with `bits > 0`) hold `1 << bits` child pointers, leaves (`pos == bits == 0`) hold a
//! list of `fib_alias`, one per route to that prefix. Since Linux 4.1 the local table may share the main
//! table's trie: each alias names its own table (`fa_alias.tb_id`). IPv6 routes live in a radix tree of
//! `fib6_node` per table, whose nodes carry chains of `fib6_info`.
//!
//! A route's next hops are its `fib_info`'s own `fib_nh` array (or its `fib6_info`'s `fib6_nh`), or, where
//! the route uses a next-hop object (`ip nexthop`, Linux 5.3 on: `fib_info.nh` set), that `struct nexthop`:
//! one `nh_info` or a group (`nh_group`) of them. Each IPv4 next hop may keep an exception cache
//! (`fib_nh_common.nhc_exceptions`: `FNHE_HASH_SIZE` buckets of `fib_nh_exception` chains, the redirects
//! and path MTUs learned for single destinations): those are rows of table `cache`, what
//! `ip route show cache` prints (with the expired ones it leaves out, marked `expired`); each IPv6 next
//! hop likewise (`fib6_nh.rt6i_exception_bucket`: `FIB6_EXCEPTION_BUCKETS` chains of `rt6_exception`,
//! each a cached `rt6_info`, `ip -6 route show cache`). Kernels before 3.6 kept a global route cache
//! instead (`rt_hash_table`), read where the symbols have it.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::Analysis;
use crate::kernel::net::{ipv4, ipv6, namespace_map, network_namespaces, NetNs};
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
/// Buckets of a next hop's exception table (`FNHE_HASH_SIZE`, `1 << FNHE_HASH_SHIFT`, 11 in every kernel
/// since 3.6; a compile-time constant the symbols do not record).
const FNHE_HASH_SIZE: u64 = 1 << 11;
/// Most exceptions on one bucket's chain (the kernel reclaims beyond `FNHE_RECLAIM_DEPTH`, 5).
const MAX_FNHE_CHAIN: usize = 64;
/// Buckets of an IPv6 next hop's exception table (`FIB6_EXCEPTION_BUCKET_SIZE`, `1 << 10` since 4.15; a
/// compile-time constant the symbols do not record).
const FIB6_EXCEPTION_BUCKETS: u64 = 1 << 10;
/// Most entries on one IPv6 exception chain (the kernel keeps `FIB6_MAX_DEPTH`, 5).
const MAX_RT6_CHAIN: usize = 64;
/// `RTF_GATEWAY`: the cached IPv6 route goes through its gateway.
const RTF_GATEWAY: u64 = 0x2;
/// `RTAX_MTU`: the path-MTU metric (a route's metrics are `u32 metrics[RTAX_MAX]`, indexed by `RTAX_* - 1`).
const RTAX_MTU: u64 = 2;
/// Most members of a next-hop group read.
const MAX_GROUP: u64 = 1024;

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
    /// The next-hop object the route uses (`ip route ... nhid N`), if it uses one.
    pub nexthop_id: Option<u64>,
    /// Cache rows: the path MTU learned for the destination (`fnhe_pmtu`, or the cached IPv6 route's MTU
    /// metric); null when none.
    pub pmtu: Option<u64>,
    /// Cache rows: the `jiffies` value at which the entry expires (`fnhe_expires`); null when it does not.
    pub expires_jiffies: Option<u64>,
    /// Cache rows: whether the entry had expired when memory was captured (`jiffies` past its expiry;
    /// `ip route show cache` leaves those out); null when `jiffies` is unreadable.
    pub expired: Option<bool>,
    /// Address of the kernel object the row comes from: the route's `fib_info` or `fib6_info`, or for a
    /// cache row its `fib_nh_exception` or cached `rt6_info`.
    #[serde(with = "crate::hex::option")]
    pub addr: Option<u64>,
}

/// Every route of every network namespace.
pub fn routes(kernel: &Kernel) -> Result<Analysis<Route>, KernelError> {
    let (namespaces, mut warnings) = network_namespaces(kernel)?;
    let mut rows = Vec::new();
    let mut look = Lookups::default();
    // The kernel's clock, to tell expired cache entries (`jiffies`, the low word of `jiffies_64`).
    let jiffies = kernel
        .symbol_addr("jiffies")
        .or_else(|_| kernel.symbol_addr("jiffies_64"))
        .ok()
        .and_then(|a| kernel.read_u64(a).ok());
    for ns in &namespaces {
        let label = match ns.inum {
            Some(i) => format!("netns {i}"),
            None => format!("netns at {:#x}", ns.addr),
        };
        for (family, result) in [
            ("inet", ipv4_routes(kernel, ns, &mut look, &mut rows)),
            ("inet6", ipv6_routes(kernel, ns, &mut look, &mut rows)),
        ] {
            match result {
                Ok(problems) => warnings.extend(problems.into_iter().map(|p| format!("{label} {family}: {p}"))),
                Err(e) => warnings.push(format!("{label} {family} routes unreadable: {e}")),
            }
        }
        // The exception caches of the IPv4 and IPv6 next hops met in this namespace's tables.
        for (hop, route) in std::mem::take(&mut look.hops) {
            let mut problems = Vec::new();
            if let Err(e) = exception_rows(kernel, &hop, &route, jiffies, &mut rows, &mut problems) {
                problems.push(format!("next hop at {:#x}: {e}", hop.common));
            }
            warnings.extend(problems.into_iter().map(|p| format!("{label} route cache: {p}")));
        }
        for (buckets, route) in std::mem::take(&mut look.v6_exceptions) {
            let mut problems = Vec::new();
            if let Err(e) = ipv6_exception_rows(kernel, buckets, &route, jiffies, &mut look, &mut rows, &mut problems) {
                problems.push(format!("IPv6 exception table at {buckets:#x}: {e}"));
            }
            warnings.extend(problems.into_iter().map(|p| format!("{label} inet6 route cache: {p}")));
        }
    }
    // Kernels before 3.6 cache routes in one global hash of `rtable`s instead.
    if kernel.symbols().has_symbol("rt_hash_table") && kernel.symbols().has_type("rt_hash_bucket") {
        let by_net = namespace_map(&namespaces);
        if let Err(e) = legacy_cache(kernel, &by_net, &mut look, &mut rows, &mut warnings) {
            warnings.push(format!("route cache (rt_hash_table) unreadable: {e}"));
        }
    }
    Ok(Analysis { rows, warnings })
}

/// The route cache of kernels before 3.6 (as Volatility 2's `linux_route_cache` reads it): `rt_hash_table`
/// points at `rt_hash_mask + 1` buckets, each a chain of `struct rtable` linked through
/// `dst.rt_next`. Each entry is a host route: `rt_dst` through `rt_gateway` (shown only when it differs,
/// as `ip route show cache` does) on `dst.dev`, labelled with that device's namespace; table `cache`,
/// numbered `main` as the kernel reported it.
fn legacy_cache(
    kernel: &Kernel,
    by_net: &HashMap<u64, NetNs>,
    look: &mut Lookups,
    rows: &mut Vec<Route>,
    warnings: &mut Vec<String>,
) -> Result<(), KernelError> {
    let array = kernel
        .read_u64(kernel.symbol_addr("rt_hash_table")?)
        .map_err(|e| KernelError::memory("rt_hash_table".into(), Some(e)))?;
    let mut mask = [0u8; 4];
    kernel
        .read(kernel.symbol_addr("rt_hash_mask")?, &mut mask)
        .map_err(|e| KernelError::memory("rt_hash_mask".into(), Some(e)))?;
    let count = u64::from(u32::from_le_bytes(mask)) + 1;
    if array == 0 {
        return Ok(());
    }
    if !kernel.is_kernel_pointer(array) || count > 1 << 24 {
        return Err(KernelError::Layout(format!(
            "rt_hash_table {array:#x} with {count} buckets is implausible"
        )));
    }
    let stride = kernel.symbols().layout("rt_hash_bucket")?.size();
    let chain_off = kernel.member_offset("rt_hash_bucket", "chain")?;
    let rtable = kernel.symbols().layout("rtable")?;
    // `struct rtable` embeds its `dst_entry` as `dst`, or as `u.dst` before 2.6.36.
    let dst_path = if rtable.has_field("dst") { "dst" } else { "u.dst" };
    let next_off = kernel.member_offset("rtable", &format!("{dst_path}.rt_next"))?;
    let dev_off = kernel.member_offset("rtable", &format!("{dst_path}.dev"))?;
    let (mut found, mut cut) = (0usize, 0usize);
    let mut seen = HashSet::new();
    for b in 0..count {
        let mut next = match kernel.read_u64(array.wrapping_add(b * stride + chain_off)) {
            Ok(n) => n,
            Err(_) => {
                cut += 1;
                continue;
            }
        };
        while next != 0 {
            if !kernel.is_kernel_pointer(next) || !seen.insert(next) || found >= MAX_ROUTES {
                cut += 1;
                break;
            }
            let Ok(rt) = kernel.object("rtable", next) else {
                cut += 1;
                break;
            };
            let dst: [u8; 4] = rt
                .bytes("rt_dst")?
                .try_into()
                .map_err(|_| KernelError::Layout("rtable.rt_dst is not 4 bytes".into()))?;
            let gw: [u8; 4] = rt
                .bytes("rt_gateway")?
                .try_into()
                .map_err(|_| KernelError::Layout("rtable.rt_gateway is not 4 bytes".into()))?;
            let dev = kernel.read_u64(next.wrapping_add(dev_off)).unwrap_or(0);
            let ns = crate::kernel::net::device_net(kernel, dev).and_then(|n| by_net.get(&n));
            rows.push(Route {
                netns: ns.and_then(|n| n.inum),
                family: "inet",
                table: "cache".into(),
                table_id: 254,
                route_type: "unicast".into(),
                destination: format!("{}/32", ipv4(dst)),
                gateway: (gw != dst && gw != [0; 4]).then(|| ipv4(gw)),
                device: look.name(kernel, dev),
                metric: None,
                protocol: None,
                scope: None,
                prefsrc: None,
                nexthop_id: None,
                pmtu: None,
                expires_jiffies: None,
                expired: None,
                addr: Some(next),
            });
            found += 1;
            next = match kernel.read_u64(next.wrapping_add(next_off)) {
                Ok(n) => n,
                Err(_) => {
                    cut += 1;
                    break;
                }
            };
        }
    }
    if cut > 0 {
        warnings.push(format!(
            "route cache (rt_hash_table): {cut} chains cut short (unreadable bucket, bad link, cycle or bound)"
        ));
    }
    Ok(())
}

/// What a walk reads once: device names by `net_device` address, and the IPv4 next hops met (by their
/// `fib_nh_common` address), whose exception caches are read after the tables.
#[derive(Default)]
struct Lookups {
    names: HashMap<u64, Option<String>>,
    hops: Vec<(Hop, Route)>,
    hops_seen: HashSet<u64>,
    /// IPv6 next hops with an exception table: its address (flag bit cleared) and the route they serve.
    v6_exceptions: Vec<(u64, Route)>,
}

impl Lookups {
    fn name(&mut self, kernel: &Kernel, dev: u64) -> Option<String> {
        if dev == 0 {
            return None;
        }
        self.names
            .entry(dev)
            .or_insert_with(|| kernel.object("net_device", dev).and_then(|d| d.string("name")).ok())
            .clone()
    }

    /// Remember an IPv4 next hop and the route that uses it (the first one), for its exception cache.
    fn note(&mut self, hop: &Hop, route: &Route) {
        if hop.exceptions != 0 && hop.family == AF_INET && self.hops_seen.insert(hop.common) {
            self.hops.push((hop.clone(), route.clone()));
        }
    }
}

/// One next hop: where it goes, and where its exception cache is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Hop {
    gateway: Option<String>,
    device: Option<String>,
    /// Address of its `fib_nh_common` (0 on kernels without one).
    common: u64,
    /// Its family (`nhc_family`; `AF_INET` for an old `fib_nh`).
    family: u64,
    /// `nhc_exceptions` (or an old `fib_nh.nh_exceptions`): the exception buckets, 0 for none.
    exceptions: u64,
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

/// The gateway of family `family` stored at `at`: an IPv4 address (none when 0.0.0.0) or an IPv6 one;
/// none for any other family.
fn gateway_at(kernel: &Kernel, at: u64, family: u64) -> Result<Option<String>, KernelError> {
    let len = match family {
        AF_INET => 4,
        AF_INET6 => 16,
        _ => return Ok(None),
    };
    let mut b = [0u8; 16];
    kernel
        .read(at, &mut b[..len])
        .map_err(|e| KernelError::memory(format!("next hop gateway at {at:#x}"), Some(e)))?;
    Ok(if len == 4 {
        let v4 = [b[0], b[1], b[2], b[3]];
        (v4 != [0; 4]).then(|| ipv4(v4))
    } else {
        Some(ipv6(b))
    })
}

/// A next hop from a `fib_nh_common` (Linux 5.3 on).
fn common_hop(kernel: &Kernel, c: &Object<'_>, look: &mut Lookups) -> Result<Hop, KernelError> {
    Ok(Hop {
        gateway: gateway_at(kernel, c.field_addr("nhc_gw")?, c.u64("nhc_gw_family")?)?,
        device: look.name(kernel, c.pointer("nhc_dev")?),
        common: c.addr(),
        family: c.u64("nhc_family")?,
        exceptions: if c.has("nhc_exceptions") {
            c.pointer("nhc_exceptions")?
        } else {
            0
        },
    })
}

/// A next hop from a `fib_nh` or `fib6_nh`: through its `fib_nh_common` (Linux 5.3+), or the older
/// layouts' own members.
fn next_hop(kernel: &Kernel, nh: &Object<'_>, look: &mut Lookups) -> Result<Hop, KernelError> {
    if nh.has("nh_common") {
        return common_hop(kernel, &nh.member("nh_common")?, look);
    }
    if nh.has("nh_gw") {
        return Ok(Hop {
            gateway: gateway_at(kernel, nh.field_addr("nh_gw")?, AF_INET)?,
            device: look.name(kernel, nh.pointer("nh_dev")?),
            family: AF_INET,
            exceptions: if nh.has("nh_exceptions") {
                nh.pointer("nh_exceptions")?
            } else {
                0
            },
            common: nh.addr(),
        });
    }
    Ok(Hop {
        device: look.name(kernel, nh.pointer(nh.which(&["fib_nh_dev", "nh_dev"])?)?),
        family: AF_INET6,
        ..Hop::default()
    })
}

/// The next hops of a next-hop object (`struct nexthop`): its `nh_info`, or each member of its group
/// (`nh_group.nh_entries[]`, `num_nh` of them, each pointing at a non-group `nexthop`); and its id.
fn nexthop_object(kernel: &Kernel, addr: u64, look: &mut Lookups) -> Result<(u64, Vec<Hop>), KernelError> {
    let nh = kernel.object("nexthop", addr)?;
    let id = nh.u64("id")?;
    let info_hop = |nh: &Object<'_>, look: &mut Lookups| -> Result<Hop, KernelError> {
        let info = nh
            .deref_as("nh_info", "nh_info")?
            .ok_or_else(|| KernelError::Layout(format!("nexthop {} has no nh_info", nh.addr())))?;
        let common = match info.which(&["fib_nhc", "fib_nh"])? {
            "fib_nhc" => info.member("fib_nhc")?,
            _ => info.member("fib_nh")?.member("nh_common")?,
        };
        common_hop(kernel, &common, look)
    };
    if nh.u64("is_group")? == 0 {
        return Ok((id, vec![info_hop(&nh, look)?]));
    }
    let group = nh
        .deref_as("nh_grp", "nh_group")?
        .ok_or_else(|| KernelError::Layout(format!("nexthop group {id} has no nh_group")))?;
    let count = group.u64("num_nh")?;
    if count > MAX_GROUP {
        return Err(KernelError::Layout(format!(
            "nexthop group {id} claims {count} members"
        )));
    }
    let stride = kernel.symbols().layout("nh_grp_entry")?.size();
    let first = group.field_addr("nh_entries")?;
    let mut hops = Vec::new();
    for i in 0..count {
        let entry = kernel.object("nh_grp_entry", first.wrapping_add(i * stride))?;
        let member = entry
            .deref_as("nh", "nexthop")?
            .ok_or_else(|| KernelError::Layout(format!("nexthop group {id}: member {i} is NULL")))?;
        if member.u64("is_group")? != 0 {
            return Err(KernelError::Layout(format!(
                "nexthop group {id}: member {i} is itself a group"
            )));
        }
        hops.push(info_hop(&member, look)?);
    }
    Ok((id, hops))
}

/// The rows of the exception cache of one IPv4 next hop (`hop.exceptions`, `FNHE_HASH_SIZE` buckets of
/// `fib_nh_exception` chains): one host route per destination, through the exception's gateway (a
/// redirect) or else the next hop's, on its device; `route` is the route the next hop belongs to. `jiffies`
/// is the kernel's clock at the capture, to tell expired entries.
fn exception_rows(
    kernel: &Kernel,
    hop: &Hop,
    route: &Route,
    jiffies: Option<u64>,
    rows: &mut Vec<Route>,
    problems: &mut Vec<String>,
) -> Result<usize, KernelError> {
    let array = hop.exceptions;
    if !kernel.is_kernel_pointer(array) {
        return Err(KernelError::Layout(format!(
            "exception table pointer {array:#x} is not a kernel pointer"
        )));
    }
    let stride = kernel.symbols().layout("fnhe_hash_bucket")?.size();
    let chain_off = kernel.member_offset("fnhe_hash_bucket", "chain")?;
    let mut buckets = vec![0u8; (FNHE_HASH_SIZE * stride) as usize];
    kernel
        .read(array, &mut buckets)
        .map_err(|e| KernelError::memory(format!("exception table at {array:#x}"), Some(e)))?;
    let mut found = 0usize;
    let mut seen = HashSet::new();
    for b in 0..FNHE_HASH_SIZE {
        let at = (b * stride + chain_off) as usize;
        let mut next = u64::from_le_bytes(buckets[at..at + 8].try_into().unwrap_or_default());
        let mut depth = 0usize;
        while next != 0 {
            if !kernel.is_kernel_pointer(next) || !seen.insert(next) || depth >= MAX_FNHE_CHAIN {
                problems.push(format!(
                    "exception table at {array:#x}: bucket {b} chain cut at {next:#x} (bad link, cycle or too long)"
                ));
                break;
            }
            depth += 1;
            let fnhe = kernel.object("fib_nh_exception", next)?;
            let daddr: [u8; 4] = fnhe
                .bytes("fnhe_daddr")?
                .try_into()
                .map_err(|_| KernelError::Layout("fib_nh_exception.fnhe_daddr is not 4 bytes".into()))?;
            let gateway = gateway_at(kernel, fnhe.field_addr("fnhe_gw")?, AF_INET)?;
            let expires = fnhe.u64("fnhe_expires")?;
            rows.push(Route {
                table: "cache".into(),
                route_type: "unicast".into(),
                destination: format!("{}/32", ipv4(daddr)),
                gateway: gateway.or_else(|| hop.gateway.clone()),
                device: hop.device.clone(),
                metric: None,
                protocol: None,
                scope: None,
                prefsrc: None,
                pmtu: Some(fnhe.u64("fnhe_pmtu")?).filter(|&m| m != 0),
                expires_jiffies: (expires != 0).then_some(expires),
                // `time_after(jiffies, expires)`, with the kernel's wrap-around arithmetic.
                expired: if expires == 0 {
                    Some(false)
                } else {
                    jiffies.map(|j| (expires.wrapping_sub(j) as i64) < 0)
                },
                addr: Some(next),
                ..route.clone()
            });
            found += 1;
            next = fnhe.pointer("fnhe_next")?;
        }
    }
    Ok(found)
}

/// Read the IPv4 tables of a namespace into `rows`; returns the problems met.
fn ipv4_routes(
    kernel: &Kernel,
    ns: &NetNs,
    look: &mut Lookups,
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
            walk_trie(kernel, ns, trie, table_id, look, rows, &mut problems)?;
        }
    }
    Ok(problems)
}

fn walk_trie(
    kernel: &Kernel,
    ns: &NetNs,
    trie: u64,
    table_id: u64,
    look: &mut Lookups,
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
                if let Err(e) = ipv4_alias(kernel, ns, key, alias, table_id, look, rows) {
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
    look: &mut Lookups,
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
        nexthop_id: None,
        pmtu: None,
        expires_jiffies: None,
        expired: None,
        addr: Some(info.addr()),
    };
    let object = if info.has("nh") { info.pointer("nh")? } else { 0 };
    let (nexthop_id, hops) = if object != 0 {
        let (id, hops) = nexthop_object(kernel, object, look)?;
        (Some(id), hops)
    } else {
        let count = info.u64("fib_nhs")?.clamp(1, MAX_NEXTHOPS);
        let nh_size = kernel.symbols().layout("fib_nh")?.size();
        let first = info.field_addr("fib_nh")?;
        let mut hops = Vec::new();
        for i in 0..count {
            let nh = kernel.object("fib_nh", first.wrapping_add(i * nh_size))?;
            hops.push(next_hop(kernel, &nh, look)?);
        }
        (None, hops)
    };
    for hop in hops {
        let route = Route {
            gateway: hop.gateway.clone(),
            device: hop.device.clone(),
            nexthop_id,
            ..base.clone()
        };
        look.note(&hop, &route);
        rows.push(route);
    }
    Ok(())
}

/// Read the IPv6 tables of a namespace into `rows`; returns the problems met.
fn ipv6_routes(
    kernel: &Kernel,
    ns: &NetNs,
    look: &mut Lookups,
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
            walk_fib6(kernel, ns, root, table_id, null_entry, look, rows, &mut problems)?;
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
    look: &mut Lookups,
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
            if let Err(e) = ipv6_info(kernel, ns, &info, table_id, look, rows) {
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
    look: &mut Lookups,
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
        nexthop_id: None,
        pmtu: None,
        expires_jiffies: None,
        expired: None,
        addr: Some(info.addr()),
    };
    let object = if info.has("nh") { info.pointer("nh")? } else { 0 };
    if object != 0 {
        let (id, hops) = nexthop_object(kernel, object, look)?;
        route.nexthop_id = Some(id);
        for hop in hops {
            rows.push(Route {
                gateway: hop.gateway,
                device: hop.device,
                ..route.clone()
            });
        }
        return Ok(());
    }
    let nh = kernel.object("fib6_nh", info.field_addr("fib6_nh")?)?;
    let hop = next_hop(kernel, &nh, look)?;
    (route.gateway, route.device) = (hop.gateway, hop.device);
    if nh.has("rt6i_exception_bucket") {
        // The low bit marks a flushed table (`FIB6_EXCEPTION_BUCKET_FLUSHED`).
        let buckets = nh.pointer("rt6i_exception_bucket")? & !1;
        if buckets != 0 && look.hops_seen.insert(nh.addr()) {
            look.v6_exceptions.push((buckets, route.clone()));
        }
    }
    rows.push(route);
    Ok(())
}

/// The rows of one IPv6 next hop's exception table (`FIB6_EXCEPTION_BUCKETS` buckets of `rt6_exception`
/// chains, each holding a cached `rt6_info`: what `ip -6 route show cache` prints, learned path MTUs and
/// redirects): destination and gateway from the cached route, its device, expiry and path MTU.
fn ipv6_exception_rows(
    kernel: &Kernel,
    buckets: u64,
    route: &Route,
    jiffies: Option<u64>,
    look: &mut Lookups,
    rows: &mut Vec<Route>,
    problems: &mut Vec<String>,
) -> Result<(), KernelError> {
    if !kernel.is_kernel_pointer(buckets) {
        return Err(KernelError::Layout(format!("{buckets:#x} is not a kernel pointer")));
    }
    let stride = kernel.symbols().layout("rt6_exception_bucket")?.size();
    let chain_off = kernel.member_offset("rt6_exception_bucket", "chain")?;
    let mut table = vec![0u8; (FIB6_EXCEPTION_BUCKETS * stride) as usize];
    kernel
        .read(buckets, &mut table)
        .map_err(|e| KernelError::memory(format!("IPv6 exception table at {buckets:#x}"), Some(e)))?;
    let mtu_at = (RTAX_MTU - 1) * 4;
    for b in 0..FIB6_EXCEPTION_BUCKETS {
        let at = (b * stride + chain_off) as usize;
        let first = u64::from_le_bytes(table[at..at + 8].try_into().unwrap_or_default());
        if first == 0 {
            continue;
        }
        let chain = kernel.walk_hlist(first, "rt6_exception", "hlist", MAX_RT6_CHAIN)?;
        if let Some(p) = chain.problem {
            problems.push(format!("bucket {b}: {p}"));
        }
        for exception in chain.items {
            let Some(rt) = kernel
                .object("rt6_exception", exception)?
                .deref_as("rt6i", "rt6_info")?
            else {
                continue;
            };
            let dst = rt.member("rt6i_dst")?;
            let addr: [u8; 16] = dst
                .bytes("addr")?
                .try_into()
                .map_err(|_| KernelError::Layout("in6_addr is not 16 bytes".into()))?;
            let gateway = if rt.u64("rt6i_flags")? & RTF_GATEWAY != 0 {
                gateway_at(kernel, rt.field_addr("rt6i_gateway")?, AF_INET6)?
            } else {
                None
            };
            let entry = rt.member("dst")?;
            let expires = entry.u64("expires")?;
            // `dst._metrics` points at the metrics array, its low bits flags (`DST_METRICS_FLAGS`).
            let metrics = entry.u64("_metrics")? & !3;
            let mut mtu = [0u8; 4];
            let pmtu = (metrics != 0 && kernel.read(metrics + mtu_at, &mut mtu).is_ok())
                .then(|| u64::from(u32::from_le_bytes(mtu)))
                .filter(|&m| m != 0);
            rows.push(Route {
                table: "cache".into(),
                route_type: "unicast".into(),
                destination: format!("{}/{}", ipv6(addr), dst.u64("plen")?.min(128)),
                gateway,
                device: look.name(kernel, entry.pointer("dev")?),
                metric: None,
                protocol: None,
                scope: None,
                prefsrc: None,
                pmtu,
                expires_jiffies: (expires != 0).then_some(expires),
                expired: if expires == 0 {
                    Some(false)
                } else {
                    jiffies.map(|j| (expires.wrapping_sub(j) as i64) < 0)
                },
                addr: Some(rt.addr()),
                ..route.clone()
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::testkit::{Memory, IMAGE};

    /// The types next hops, next-hop objects and exception caches are read with, at their 6.1 offsets.
    const ISF: &str = r#"{"metadata": {"format": "6.2.0"},
      "base_types": {
        "pointer": {"size": 8, "signed": false, "kind": "int", "endian": "little"},
        "char": {"size": 1, "signed": false, "kind": "char", "endian": "little"},
        "unsigned char": {"size": 1, "signed": false, "kind": "char", "endian": "little"},
        "_Bool": {"size": 1, "signed": false, "kind": "bool", "endian": "little"},
        "short unsigned int": {"size": 2, "signed": false, "kind": "int", "endian": "little"},
        "unsigned int": {"size": 4, "signed": false, "kind": "int", "endian": "little"},
        "long unsigned int": {"size": 8, "signed": false, "kind": "int", "endian": "little"}},
      "user_types": {
        "net_device": {"kind": "struct", "size": 16, "fields": {
          "name": {"type": {"kind": "array", "count": 16, "subtype": {"kind": "base", "name": "char"}}, "offset": 0}}},
        "fib_nh_common": {"kind": "struct", "size": 72, "fields": {
          "nhc_dev": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "net_device"}}, "offset": 0},
          "nhc_family": {"type": {"kind": "base", "name": "unsigned char"}, "offset": 13},
          "nhc_gw_family": {"type": {"kind": "base", "name": "unsigned char"}, "offset": 14},
          "nhc_gw": {"type": {"kind": "array", "count": 16, "subtype": {"kind": "base", "name": "unsigned char"}}, "offset": 24},
          "nhc_exceptions": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "fnhe_hash_bucket"}}, "offset": 64}}},
        "fib_nh": {"kind": "struct", "size": 112, "fields": {
          "nh_common": {"type": {"kind": "struct", "name": "fib_nh_common"}, "offset": 0}}},
        "fnhe_hash_bucket": {"kind": "struct", "size": 8, "fields": {
          "chain": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "fib_nh_exception"}}, "offset": 0}}},
        "fib_nh_exception": {"kind": "struct", "size": 80, "fields": {
          "fnhe_next": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "fib_nh_exception"}}, "offset": 0},
          "fnhe_daddr": {"type": {"kind": "base", "name": "unsigned int"}, "offset": 12},
          "fnhe_pmtu": {"type": {"kind": "base", "name": "unsigned int"}, "offset": 16},
          "fnhe_gw": {"type": {"kind": "base", "name": "unsigned int"}, "offset": 24},
          "fnhe_expires": {"type": {"kind": "base", "name": "long unsigned int"}, "offset": 32}}},
        "nexthop": {"kind": "struct", "size": 136, "fields": {
          "id": {"type": {"kind": "base", "name": "unsigned int"}, "offset": 96},
          "is_group": {"type": {"kind": "base", "name": "_Bool"}, "offset": 102},
          "unnamed_field_80": {"type": {"kind": "union", "name": "unnamed_nh"}, "offset": 128, "anonymous": true}}},
        "unnamed_nh": {"kind": "union", "size": 8, "fields": {
          "nh_info": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "nh_info"}}, "offset": 0},
          "nh_grp": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "nh_group"}}, "offset": 0}}},
        "nh_info": {"kind": "struct", "size": 144, "fields": {
          "family": {"type": {"kind": "base", "name": "unsigned char"}, "offset": 24},
          "unnamed_field_20": {"type": {"kind": "union", "name": "unnamed_info"}, "offset": 32, "anonymous": true}}},
        "unnamed_info": {"kind": "union", "size": 112, "fields": {
          "fib_nhc": {"type": {"kind": "struct", "name": "fib_nh_common"}, "offset": 0},
          "fib_nh": {"type": {"kind": "struct", "name": "fib_nh"}, "offset": 0}}},
        "nh_group": {"kind": "struct", "size": 24, "fields": {
          "num_nh": {"type": {"kind": "base", "name": "short unsigned int"}, "offset": 8},
          "nh_entries": {"type": {"kind": "array", "count": 0, "subtype": {"kind": "struct", "name": "nh_grp_entry"}}, "offset": 24}}},
        "nh_grp_entry": {"kind": "struct", "size": 64, "fields": {
          "nh": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "nexthop"}}, "offset": 0}}}},
      "enums": {},
      "symbols": {}}"#;

    const DEV: u64 = IMAGE + 0x1000;
    const DEV6: u64 = IMAGE + 0x1100;

    fn devices(mem: &mut Memory) {
        mem.write(DEV, b"eth9\0");
        mem.write(DEV6, b"veth6\0");
    }

    /// A `fib_nh_common` at `at` on `dev` through gateway `gw` (4 or 16 bytes), with exceptions `fnhe`.
    fn common(mem: &mut Memory, at: u64, dev: u64, gw: &[u8], fnhe: u64) {
        mem.write(at, &dev.to_le_bytes());
        let family = if gw.len() == 4 { 2u8 } else { 10 };
        mem.write(at + 13, &[family, family]);
        mem.write(at + 24, gw);
        mem.write(at + 64, &fnhe.to_le_bytes());
    }

    /// A single next-hop object `id` at `at` whose `nh_info` sits at `at + 0x100`.
    fn single(mem: &mut Memory, at: u64, id: u32, dev: u64, gw: &[u8]) {
        mem.write(at + 96, &id.to_le_bytes());
        mem.write(at + 128, &(at + 0x100).to_le_bytes());
        common(mem, at + 0x100 + 32, dev, gw, 0);
    }

    fn base_route() -> Route {
        Route {
            netns: Some(4026531840),
            family: "inet",
            table: "main".into(),
            table_id: 254,
            route_type: "unicast".into(),
            destination: "10.0.0.0/8".into(),
            gateway: Some("10.0.0.1".into()),
            device: Some("eth9".into()),
            metric: Some(0),
            protocol: Some("static".into()),
            scope: Some("universe".into()),
            prefsrc: None,
            nexthop_id: None,
            pmtu: None,
            expires_jiffies: None,
            expired: None,
            addr: Some(IMAGE + 0x9000),
        }
    }

    #[test]
    fn nexthop_objects_single_and_grouped() {
        let mut mem = Memory::new();
        devices(&mut mem);
        single(&mut mem, IMAGE + 0x2000, 7, DEV, &[10, 1, 2, 3]);
        let v6 = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        single(&mut mem, IMAGE + 0x2400, 8, DEV6, &v6);
        // Group 9 of 7 and 8; group 10 holding group 9; group 11 claiming 5000 members.
        let group = IMAGE + 0x3000;
        mem.write(group + 96, &9u32.to_le_bytes());
        mem.write(group + 102, &[1]);
        mem.write(group + 128, &(group + 0x100).to_le_bytes());
        mem.write(group + 0x100 + 8, &2u16.to_le_bytes());
        mem.write(group + 0x100 + 24, &(IMAGE + 0x2000).to_le_bytes());
        mem.write(group + 0x100 + 24 + 64, &(IMAGE + 0x2400).to_le_bytes());
        let nested = IMAGE + 0x3400;
        mem.write(nested + 96, &10u32.to_le_bytes());
        mem.write(nested + 102, &[1]);
        mem.write(nested + 128, &(nested + 0x100).to_le_bytes());
        mem.write(nested + 0x100 + 8, &1u16.to_le_bytes());
        mem.write(nested + 0x100 + 24, &group.to_le_bytes());
        let huge = IMAGE + 0x3800;
        mem.write(huge + 96, &11u32.to_le_bytes());
        mem.write(huge + 102, &[1]);
        mem.write(huge + 128, &(huge + 0x100).to_le_bytes());
        mem.write(huge + 0x100 + 8, &5000u16.to_le_bytes());
        let kernel = mem.kernel(ISF);
        let mut look = Lookups::default();

        let (id, hops) = nexthop_object(&kernel, IMAGE + 0x2000, &mut look).unwrap();
        assert_eq!(id, 7);
        assert_eq!(hops.len(), 1);
        assert_eq!(hops[0].gateway.as_deref(), Some("10.1.2.3"));
        assert_eq!(hops[0].device.as_deref(), Some("eth9"));
        assert_eq!((hops[0].family, hops[0].common), (AF_INET, IMAGE + 0x2100 + 32));

        let (id, hops) = nexthop_object(&kernel, group, &mut look).unwrap();
        assert_eq!(id, 9);
        let got: Vec<(Option<&str>, Option<&str>)> = hops
            .iter()
            .map(|h| (h.gateway.as_deref(), h.device.as_deref()))
            .collect();
        assert_eq!(
            got,
            [(Some("10.1.2.3"), Some("eth9")), (Some("fd00::1"), Some("veth6"))]
        );

        let nested_err = nexthop_object(&kernel, nested, &mut look).unwrap_err().to_string();
        assert!(nested_err.contains("itself a group"), "{nested_err}");
        let huge_err = nexthop_object(&kernel, huge, &mut look).unwrap_err().to_string();
        assert!(huge_err.contains("5000 members"), "{huge_err}");
    }

    #[test]
    fn exception_cache_rows_with_expiry_and_bounded_chains() {
        let mut mem = Memory::new();
        devices(&mut mem);
        let table = IMAGE + 0x10000;
        let (a, b, c) = (IMAGE + 0x20000, IMAGE + 0x20100, IMAGE + 0x20200);
        // Bucket 5: a (a PMTU of 1400, expired at jiffies 1000) then b (a redirect to 10.0.0.9, no expiry).
        mem.write(table + 5 * 8, &a.to_le_bytes());
        mem.write(a, &b.to_le_bytes());
        mem.write(a + 12, &[192, 0, 2, 99]);
        mem.write(a + 16, &1400u32.to_le_bytes());
        mem.write(a + 32, &1000u64.to_le_bytes());
        mem.write(b + 12, &[192, 0, 2, 100]);
        mem.write(b + 24, &[10, 0, 0, 9]);
        // Bucket 2047: c, which links to itself; expires at 3000.
        mem.write(table + 2047 * 8, &c.to_le_bytes());
        mem.write(c, &c.to_le_bytes());
        mem.write(c + 12, &[198, 51, 100, 7]);
        mem.write(c + 32, &3000u64.to_le_bytes());
        let kernel = mem.kernel(ISF);
        let hop = Hop {
            gateway: Some("10.0.0.1".into()),
            device: Some("eth9".into()),
            common: IMAGE + 0x5000,
            family: AF_INET,
            exceptions: table,
        };
        let (mut rows, mut problems) = (Vec::new(), Vec::new());
        let n = exception_rows(&kernel, &hop, &base_route(), Some(2000), &mut rows, &mut problems).unwrap();
        assert_eq!(n, 3);
        let got: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.table.as_str(),
                    r.destination.as_str(),
                    r.gateway.as_deref(),
                    r.device.as_deref(),
                    r.pmtu,
                    r.expires_jiffies,
                    r.expired,
                    r.addr,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "cache",
                    "192.0.2.99/32",
                    Some("10.0.0.1"),
                    Some("eth9"),
                    Some(1400),
                    Some(1000),
                    Some(true),
                    Some(a)
                ),
                (
                    "cache",
                    "192.0.2.100/32",
                    Some("10.0.0.9"),
                    Some("eth9"),
                    None,
                    None,
                    Some(false),
                    Some(b)
                ),
                (
                    "cache",
                    "198.51.100.7/32",
                    Some("10.0.0.1"),
                    Some("eth9"),
                    None,
                    Some(3000),
                    Some(false),
                    Some(c)
                ),
            ]
        );
        assert!(rows
            .iter()
            .all(|r| r.metric.is_none() && r.table_id == 254 && r.netns == Some(4026531840)));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("bucket 2047"), "{problems:?}");

        // Unknown clock: expiry unknown, except for entries that never expire.
        rows.clear();
        exception_rows(&kernel, &hop, &base_route(), None, &mut rows, &mut problems).unwrap();
        assert_eq!(
            rows.iter().map(|r| r.expired).collect::<Vec<_>>(),
            [None, Some(false), None]
        );

        // A table pointer that is no kernel pointer, and one on unmapped memory, are errors.
        let bad = Hop {
            exceptions: 0x1234,
            ..hop.clone()
        };
        assert!(exception_rows(&kernel, &bad, &base_route(), None, &mut rows, &mut problems).is_err());
        let unmapped = Hop {
            exceptions: IMAGE + (4 << 20),
            ..hop
        };
        assert!(exception_rows(&kernel, &unmapped, &base_route(), None, &mut rows, &mut problems).is_err());
    }

    #[test]
    fn ipv6_exception_rows_with_gateway_mtu_and_cut_chains() {
        let types = r#""user_types": {
        "hlist_node": {"kind": "struct", "size": 16, "fields": {
          "next": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "hlist_node"}}, "offset": 0}}},
        "hlist_head": {"kind": "struct", "size": 8, "fields": {
          "first": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "hlist_node"}}, "offset": 0}}},
        "rt6_exception_bucket": {"kind": "struct", "size": 16, "fields": {
          "chain": {"type": {"kind": "struct", "name": "hlist_head"}, "offset": 0}}},
        "rt6_exception": {"kind": "struct", "size": 48, "fields": {
          "hlist": {"type": {"kind": "struct", "name": "hlist_node"}, "offset": 0},
          "rt6i": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "rt6_info"}}, "offset": 16}}},
        "in6_addr": {"kind": "struct", "size": 16, "fields": {
          "s6_addr": {"type": {"kind": "array", "count": 16, "subtype": {"kind": "base", "name": "unsigned char"}}, "offset": 0}}},
        "rt6key": {"kind": "struct", "size": 20, "fields": {
          "addr": {"type": {"kind": "struct", "name": "in6_addr"}, "offset": 0},
          "plen": {"type": {"kind": "base", "name": "unsigned int"}, "offset": 16}}},
        "dst_entry": {"kind": "struct", "size": 112, "fields": {
          "dev": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "net_device"}}, "offset": 0},
          "_metrics": {"type": {"kind": "base", "name": "long unsigned int"}, "offset": 16},
          "expires": {"type": {"kind": "base", "name": "long unsigned int"}, "offset": 24}}},
        "rt6_info": {"kind": "struct", "size": 232, "fields": {
          "dst": {"type": {"kind": "struct", "name": "dst_entry"}, "offset": 0},
          "rt6i_dst": {"type": {"kind": "struct", "name": "rt6key"}, "offset": 124},
          "rt6i_gateway": {"type": {"kind": "struct", "name": "in6_addr"}, "offset": 164},
          "rt6i_flags": {"type": {"kind": "base", "name": "unsigned int"}, "offset": 192}}},"#;
        let isf = ISF.replacen(r#""user_types": {"#, types, 1);
        let mut mem = Memory::new();
        devices(&mut mem);
        let table = IMAGE + 0x10000;
        let (e1, e2, e3) = (IMAGE + 0x20000, IMAGE + 0x20100, IMAGE + 0x20200);
        let (rt1, rt2, metrics) = (IMAGE + 0x30000, IMAGE + 0x30400, IMAGE + 0x31000);
        let v6 = |s: &str| s.parse::<std::net::Ipv6Addr>().unwrap().octets();
        // Bucket 3: e1 (a path MTU of 1280 through fd00:200::2, expiring at 5000) then e2 (no gateway flag,
        // no metrics, no expiry).
        mem.write(table + 3 * 16, &e1.to_le_bytes());
        mem.write(e1, &e2.to_le_bytes());
        mem.write(e1 + 16, &rt1.to_le_bytes());
        mem.write(e2 + 16, &rt2.to_le_bytes());
        mem.write(rt1, &DEV6.to_le_bytes());
        mem.write(rt1 + 16, &(metrics | 1).to_le_bytes()); // low bits: DST_METRICS_* flags
        mem.write(metrics + 4, &1280u32.to_le_bytes()); // metrics[RTAX_MTU - 1]
        mem.write(rt1 + 24, &5000u64.to_le_bytes());
        mem.write(rt1 + 124, &v6("fd00:201::2"));
        mem.write(rt1 + 140, &128u32.to_le_bytes());
        mem.write(rt1 + 164, &v6("fd00:200::2"));
        mem.write(rt1 + 192, &(RTF_GATEWAY as u32).to_le_bytes());
        mem.write(rt2, &DEV6.to_le_bytes());
        mem.write(rt2 + 124, &v6("2001:db8::7"));
        mem.write(rt2 + 140, &128u32.to_le_bytes());
        mem.write(rt2 + 164, &v6("fe80::1")); // ignored: no RTF_GATEWAY
                                              // Bucket 1023: e3 links to itself, and holds no route.
        mem.write(table + 1023 * 16, &e3.to_le_bytes());
        mem.write(e3, &e3.to_le_bytes());
        let kernel = mem.kernel(&isf);
        let route = Route {
            family: "inet6",
            ..base_route()
        };
        let (mut rows, mut problems, mut look) = (Vec::new(), Vec::new(), Lookups::default());
        ipv6_exception_rows(&kernel, table, &route, Some(6000), &mut look, &mut rows, &mut problems).unwrap();
        let got: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.table.as_str(),
                    r.destination.as_str(),
                    r.gateway.as_deref(),
                    r.device.as_deref(),
                    r.pmtu,
                    r.expires_jiffies,
                    r.expired,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "cache",
                    "fd00:201::2/128",
                    Some("fd00:200::2"),
                    Some("veth6"),
                    Some(1280),
                    Some(5000),
                    Some(true)
                ),
                ("cache", "2001:db8::7/128", None, Some("veth6"), None, None, Some(false)),
            ]
        );
        assert!(
            problems.len() == 1 && problems[0].starts_with("bucket 1023"),
            "{problems:?}"
        );
        // A table pointer outside the kernel is refused, not read.
        assert!(ipv6_exception_rows(&kernel, 0x1000, &route, None, &mut look, &mut rows, &mut problems).is_err());
    }

    #[test]
    fn legacy_route_cache_from_rt_hash_table() {
        let isf = ISF.replace(
            r#""nh_grp_entry":"#,
            r#""rt_hash_bucket": {"kind": "struct", "size": 8, "fields": {
                 "chain": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "rtable"}}, "offset": 0}}},
               "dst_entry": {"kind": "struct", "size": 32, "fields": {
                 "dev": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "net_device"}}, "offset": 0},
                 "unnamed_field_8": {"type": {"kind": "union", "name": "unnamed_next"}, "offset": 8, "anonymous": true}}},
               "unnamed_next": {"kind": "union", "size": 8, "fields": {
                 "rt_next": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "rtable"}}, "offset": 0}}},
               "rtable": {"kind": "struct", "size": 80, "fields": {
                 "dst": {"type": {"kind": "struct", "name": "dst_entry"}, "offset": 0},
                 "rt_dst": {"type": {"kind": "base", "name": "unsigned int"}, "offset": 64},
                 "rt_gateway": {"type": {"kind": "base", "name": "unsigned int"}, "offset": 68}}},
               "nh_grp_entry":"#,
        )
        .replace(
            r#""symbols": {}"#,
            &format!(
                r#""symbols": {{"rt_hash_table": {{"address": {}}}, "rt_hash_mask": {{"address": {}}}}}"#,
                IMAGE + 0x100,
                IMAGE + 0x108
            ),
        );
        let mut mem = Memory::new();
        devices(&mut mem);
        let table = IMAGE + 0x8000;
        let (r1, r2, r3) = (IMAGE + 0x9000, IMAGE + 0x9100, IMAGE + 0x9200);
        mem.write(IMAGE + 0x100, &table.to_le_bytes());
        mem.write(IMAGE + 0x108, &3u32.to_le_bytes());
        // Bucket 0: r1 (10.0.0.5, on link) then r2 (8.8.8.8 via 10.0.0.1); bucket 3: r3, linked to itself.
        mem.write(table, &r1.to_le_bytes());
        for (rt, dst, gw, next) in [
            (r1, [10, 0, 0, 5], [10, 0, 0, 5], r2),
            (r2, [8, 8, 8, 8], [10, 0, 0, 1], 0),
            (r3, [192, 0, 2, 1], [0, 0, 0, 0], r3),
        ] {
            mem.write(rt, &DEV.to_le_bytes());
            mem.write(rt + 8, &next.to_le_bytes());
            mem.write(rt + 64, &dst);
            mem.write(rt + 68, &gw);
        }
        mem.write(table + 3 * 8, &r3.to_le_bytes());
        let kernel = mem.kernel(&isf);
        let (mut rows, mut warnings) = (Vec::new(), Vec::new());
        legacy_cache(
            &kernel,
            &HashMap::new(),
            &mut Lookups::default(),
            &mut rows,
            &mut warnings,
        )
        .unwrap();
        let got: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.table.as_str(),
                    r.destination.as_str(),
                    r.gateway.as_deref(),
                    r.device.as_deref(),
                    r.addr,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("cache", "10.0.0.5/32", None, Some("eth9"), Some(r1)),
                ("cache", "8.8.8.8/32", Some("10.0.0.1"), Some("eth9"), Some(r2)),
                ("cache", "192.0.2.1/32", None, Some("eth9"), Some(r3)),
            ]
        );
        assert!(rows.iter().all(|r| r.netns.is_none() && r.table_id == 254));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("1 chains cut short"), "{warnings:?}");

        // A mask claiming 2^32 buckets is refused.
        let mut mem = Memory::new();
        mem.write(IMAGE + 0x100, &table.to_le_bytes());
        mem.write(IMAGE + 0x108, &u32::MAX.to_le_bytes());
        let kernel = mem.kernel(&isf);
        let err = legacy_cache(
            &kernel,
            &HashMap::new(),
            &mut Lookups::default(),
            &mut rows,
            &mut warnings,
        );
        assert!(err.is_err());
    }
}
