//! `routes`: the forwarding tables (FIB) of every network namespace, IPv4 and IPv6, as `ip route show
//! table all` prints them: a row per next hop of each route the kernel's tables hold
//! ([`crate::kernel::net::fib`] walks them), and rows of table `cache` for the exceptions the next hops
//! learned (redirects and path MTUs, what `ip route show cache` and `ip -6 route show cache` print, with
//! the expired ones `ip` leaves out, marked `expired`), or for the global route cache of kernels before 3.6.

use std::collections::HashSet;
use std::net::IpAddr;

use serde::Serialize;

use super::Analysis;
use crate::kernel::net::fib::cache::{expired, jiffies};
use crate::kernel::net::fib::{Exception, Fib, FibRoute, Hop, AF_INET};
use crate::kernel::net::{namespace_map, network_namespaces, NetNs};
use crate::kernel::{Kernel, KernelError};

/// One route (one per next hop of a multipath route).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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

/// The next hops whose exception caches are read after a namespace's tables, each with the route row it
/// serves (the first that uses it).
#[derive(Default)]
struct Pending {
    /// IPv4 next hops with an exception table.
    hops: Vec<(Hop, Route)>,
    /// IPv6 next hops with an exception table: its address (flag bit cleared) and the route they serve.
    v6_exceptions: Vec<(u64, Route)>,
    /// Next hops already noted (by `fib_nh_common` or `fib6_nh` address).
    seen: HashSet<u64>,
}

/// Every route of every network namespace.
pub fn routes(kernel: &Kernel) -> Result<Analysis<Route>, KernelError> {
    let (namespaces, mut warnings) = network_namespaces(kernel)?;
    let mut rows = Vec::new();
    let mut fib = Fib::new(kernel);
    let mut pending = Pending::default();
    let jiffies = jiffies(kernel);
    for ns in &namespaces {
        let label = match ns.inum {
            Some(i) => format!("netns {i}"),
            None => format!("netns at {:#x}", ns.addr),
        };
        let mut found = Vec::new();
        let v4 = fib.ipv4_routes(ns, &mut found);
        for route in found.drain(..) {
            route_rows(ns, "inet", route, &mut pending, &mut rows);
        }
        let v6 = fib.ipv6_routes(ns, &mut found);
        for route in found.drain(..) {
            route_rows(ns, "inet6", route, &mut pending, &mut rows);
        }
        for (family, result) in [("inet", v4), ("inet6", v6)] {
            match result {
                Ok(problems) => warnings.extend(problems.into_iter().map(|p| format!("{label} {family}: {p}"))),
                Err(e) => warnings.push(format!("{label} {family} routes unreadable: {e}")),
            }
        }
        // The exception caches of the IPv4 and IPv6 next hops met in this namespace's tables.
        for (hop, route) in std::mem::take(&mut pending.hops) {
            let (mut cached, mut problems) = (Vec::new(), Vec::new());
            let result = fib.fnhe(hop.exceptions, &mut cached, &mut problems);
            rows.extend(cached.into_iter().map(|e| cache_row(&route, e, Some(&hop), jiffies)));
            if let Err(e) = result {
                problems.push(format!("next hop at {:#x}: {e}", hop.common));
            }
            warnings.extend(problems.into_iter().map(|p| format!("{label} route cache: {p}")));
        }
        for (buckets, route) in std::mem::take(&mut pending.v6_exceptions) {
            let (mut cached, mut problems) = (Vec::new(), Vec::new());
            let result = fib.rt6_exceptions(buckets, &mut cached, &mut problems);
            rows.extend(cached.into_iter().map(|e| cache_row(&route, e, None, jiffies)));
            if let Err(e) = result {
                problems.push(format!("IPv6 exception table at {buckets:#x}: {e}"));
            }
            warnings.extend(problems.into_iter().map(|p| format!("{label} inet6 route cache: {p}")));
        }
    }
    // Kernels before 3.6 cache routes in one global hash of `rtable`s instead.
    if let Some(dst) = fib.layout().cache.legacy {
        let by_net = namespace_map(&namespaces);
        let mut entries = Vec::new();
        let result = fib.legacy_cache(dst, &mut entries, &mut warnings);
        rows.extend(entries.into_iter().map(|e| Route {
            netns: e.net.and_then(|n| by_net.get(&n)).and_then(|n| n.inum),
            family: "inet",
            table: "cache".into(),
            table_id: 254,
            route_type: "unicast".into(),
            destination: format!("{}/32", e.destination),
            gateway: (e.gateway != e.destination && !e.gateway.is_unspecified()).then(|| e.gateway.to_string()),
            device: e.device,
            addr: Some(e.addr),
            ..Route::default()
        }));
        if let Err(e) = result {
            warnings.push(format!("route cache (rt_hash_table) unreadable: {e}"));
        }
    }
    Ok(Analysis { rows, warnings })
}

/// The rows of one route of namespace `ns`, a row per next hop; its next hops with an exception cache
/// are noted in `pending`.
fn route_rows(ns: &NetNs, family: &'static str, r: FibRoute, pending: &mut Pending, rows: &mut Vec<Route>) {
    let base = Route {
        netns: ns.inum,
        family,
        table: table_name(r.table_id),
        table_id: r.table_id,
        route_type: route_type(r.route_type),
        destination: format!("{}/{}", r.destination, r.prefix_len),
        metric: Some(r.metric),
        protocol: Some(protocol(r.protocol)),
        scope: r.scope.map(scope),
        prefsrc: r.prefsrc.map(|p| p.to_string()),
        nexthop_id: r.nexthop_id,
        addr: Some(r.info),
        ..Route::default()
    };
    for hop in r.hops {
        let route = Route {
            gateway: hop.gateway.map(|g| g.to_string()),
            device: hop.device.clone(),
            ..base.clone()
        };
        // IPv4 routes' next hops keep IPv4 exception caches (the first route using one labels its rows).
        if family == "inet" && hop.exceptions != 0 && hop.family == AF_INET && pending.seen.insert(hop.common) {
            pending.hops.push((hop, route.clone()));
        }
        if let Some((nh, buckets)) = r.exceptions6 {
            if pending.seen.insert(nh) {
                pending.v6_exceptions.push((buckets, route.clone()));
            }
        }
        rows.push(route);
    }
}

/// A row of table `cache` for one exception of a next hop of `route`: through the exception's own gateway
/// (a redirect) or else the next hop's, on the next hop's device (IPv4) or the cached route's (IPv6).
fn cache_row(route: &Route, e: Exception, hop: Option<&Hop>, jiffies: Option<u64>) -> Route {
    let fallback = |h: &Hop| h.gateway.map(|g: IpAddr| g.to_string());
    Route {
        table: "cache".into(),
        route_type: "unicast".into(),
        destination: format!("{}/{}", e.destination, e.prefix_len),
        gateway: e.gateway.map(|g| g.to_string()).or_else(|| hop.and_then(fallback)),
        device: match hop {
            Some(h) => h.device.clone(),
            None => e.device,
        },
        metric: None,
        protocol: None,
        scope: None,
        prefsrc: None,
        pmtu: e.pmtu,
        expires_jiffies: (e.expires != 0).then_some(e.expires),
        expired: expired(e.expires, jiffies),
        addr: Some(e.addr),
        ..route.clone()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_rows_take_the_next_hop_where_the_entry_has_none() {
        let route = Route {
            netns: Some(4026531840),
            family: "inet",
            table: "main".into(),
            table_id: 254,
            destination: "10.0.0.0/8".into(),
            metric: Some(0),
            nexthop_id: Some(3),
            ..Route::default()
        };
        let hop = Hop {
            gateway: "10.0.0.1".parse().ok(),
            device: Some("eth9".into()),
            common: 0xffff_8880_0000_2000,
            family: AF_INET,
            exceptions: 0xffff_8880_0000_3000,
        };
        let entry = Exception {
            destination: "192.0.2.99".parse().unwrap(),
            prefix_len: 32,
            gateway: None,
            device: None,
            pmtu: Some(1400),
            expires: 1000,
            addr: 0xffff_8880_0000_4000,
        };
        let row = cache_row(&route, entry.clone(), Some(&hop), Some(2000));
        assert_eq!(
            (
                row.table.as_str(),
                row.destination.as_str(),
                row.gateway.as_deref(),
                row.device.as_deref()
            ),
            ("cache", "192.0.2.99/32", Some("10.0.0.1"), Some("eth9"))
        );
        assert_eq!(
            (row.pmtu, row.expires_jiffies, row.expired),
            (Some(1400), Some(1000), Some(true))
        );
        assert_eq!(
            (row.metric, row.table_id, row.nexthop_id, row.netns),
            (None, 254, Some(3), Some(4026531840))
        );
        // An IPv6 entry keeps its own device and, without RTF_GATEWAY, no gateway.
        let v6 = Exception {
            device: Some("veth6".into()),
            expires: 0,
            ..entry
        };
        let row = cache_row(&route, v6, None, None);
        assert_eq!(
            (row.gateway, row.device.as_deref(), row.expired),
            (None, Some("veth6"), Some(false))
        );
    }
}
