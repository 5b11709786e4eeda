//! `ifconfig`: the network interfaces of every network namespace, with their link-layer address, IPv4
//! and IPv6 addresses (CIDR), flags as `ip link` shows them, MTU and promiscuous state.

use std::collections::HashSet;

use serde::Serialize;

use super::Analysis;
use crate::kernel::net::{self, NetNs};
use crate::kernel::{Kernel, KernelError, Object};

/// Most addresses walked on one interface's IPv4 or IPv6 list.
const MAX_ADDRS: usize = 4096;

/// One address of an interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IfAddr {
    /// `inet` or `inet6`.
    pub family: &'static str,
    /// The address (`10.0.2.15`, `fd00:c0de::1`).
    pub address: String,
    /// Prefix length.
    pub prefixlen: u32,
    /// Scope as `ip` names it (`global`, `link`, `host`, `site`, or the number).
    pub scope: String,
    /// IPv4 label (`eth0:corp`); `null` for IPv6.
    pub label: Option<String>,
}

/// One network interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interface {
    /// Inode of its network namespace (`null` if unreadable).
    pub netns: Option<u64>,
    /// Interface index.
    pub index: i64,
    /// Name (`eth0`).
    pub name: String,
    /// Link-layer address (`52:54:00:c0:de:01`), `null` for devices without one.
    pub mac: Option<String>,
    /// Addresses in CIDR form, IPv4 then IPv6 (`10.0.2.15/24`).
    pub addresses: Vec<String>,
    /// The addresses with family, prefix length, scope and label.
    pub addrs: Vec<IfAddr>,
    /// Flags as `ip link` shows them (`BROADCAST`, `MULTICAST`, `UP`, `LOWER_UP`, `NO-CARRIER`...): those of
    /// `dev_get_flags()`, in `ip`'s order. `PROMISC` is there only when asked for with `ip link set promisc`.
    pub flags: Vec<String>,
    /// MTU.
    pub mtu: u64,
    /// Whether the device is in promiscuous mode (`IFF_PROMISC` in the device's flags or a non-zero
    /// promiscuity count: tcpdump, a bridge port), whether or not `ip link` shows `PROMISC`.
    pub promiscuous: bool,
    /// How many users asked for promiscuous mode (`dev->promiscuity`).
    pub promiscuity: u64,
    /// RFC 2863 operational state (`UP`, `DOWN`, `UNKNOWN`...).
    pub operstate: Option<String>,
    /// Virtual address of the `struct net_device`.
    #[serde(with = "crate::hex")]
    pub device_addr: u64,
}

/// `IFF_*` flag names by bit.
const IFF_NAMES: [(u64, &str); 19] = [
    (1 << 0, "UP"),
    (1 << 1, "BROADCAST"),
    (1 << 2, "DEBUG"),
    (1 << 3, "LOOPBACK"),
    (1 << 4, "POINTOPOINT"),
    (1 << 5, "NOTRAILERS"),
    (1 << 6, "RUNNING"),
    (1 << 7, "NOARP"),
    (1 << 8, "PROMISC"),
    (1 << 9, "ALLMULTI"),
    (1 << 10, "MASTER"),
    (1 << 11, "SLAVE"),
    (1 << 12, "MULTICAST"),
    (1 << 13, "PORTSEL"),
    (1 << 14, "AUTOMEDIA"),
    (1 << 15, "DYNAMIC"),
    (1 << 16, "LOWER_UP"),
    (1 << 17, "DORMANT"),
    (1 << 18, "ECHO"),
];
const IFF_PROMISC: u64 = 1 << 8;
const IFF_ALLMULTI: u64 = 1 << 9;
const IFF_RUNNING: u64 = 1 << 6;
const IFF_LOWER_UP: u64 = 1 << 16;
const IFF_DORMANT: u64 = 1 << 17;

/// Flag names as `ip link` prints them, in its order (`BROADCAST,MULTICAST,UP,LOWER_UP`): `RUNNING` is not
/// shown, and an interface that is up but not running is marked `NO-CARRIER` first.
pub fn flag_names(flags: u64) -> Vec<String> {
    const IP_ORDER: [&str; 18] = [
        "LOOPBACK",
        "BROADCAST",
        "POINTOPOINT",
        "MULTICAST",
        "NOARP",
        "ALLMULTI",
        "PROMISC",
        "MASTER",
        "SLAVE",
        "DEBUG",
        "DYNAMIC",
        "AUTOMEDIA",
        "PORTSEL",
        "NOTRAILERS",
        "UP",
        "LOWER_UP",
        "DORMANT",
        "ECHO",
    ];
    let mut out = Vec::new();
    if flags & 1 != 0 && flags & IFF_RUNNING == 0 {
        out.push("NO-CARRIER".to_string());
    }
    out.extend(
        IP_ORDER
            .iter()
            .filter(|n| IFF_NAMES.iter().any(|(bit, name)| name == *n && flags & bit != 0))
            .map(|n| n.to_string()),
    );
    out
}

/// `IF_OPER_*` names.
fn operstate_name(v: u64) -> String {
    match v {
        0 => "UNKNOWN",
        1 => "NOTPRESENT",
        2 => "DOWN",
        3 => "LOWERLAYERDOWN",
        4 => "TESTING",
        5 => "DORMANT",
        6 => "UP",
        _ => return v.to_string(),
    }
    .to_string()
}

/// IPv4 route scope names (`RT_SCOPE_*`).
fn scope4(v: u64) -> String {
    match v {
        0 => "global".into(),
        200 => "site".into(),
        253 => "link".into(),
        254 => "host".into(),
        255 => "nowhere".into(),
        _ => v.to_string(),
    }
}

/// IPv6 address scope names (`IFA_HOST`, `IFA_LINK`, `IFA_SITE`).
fn scope6(v: u64) -> String {
    match v {
        0 => "global".into(),
        0x10 => "host".into(),
        0x20 => "link".into(),
        0x40 => "site".into(),
        _ => v.to_string(),
    }
}

/// The value of a `__LINK_STATE_*` bit from the symbols' `netdev_state_t`, or its usual value.
fn link_state_bit(kernel: &Kernel, name: &str, default: u64) -> u64 {
    kernel
        .symbols()
        .enum_constant("netdev_state_t", name)
        .map_or(default, |v| v as u64)
}

/// Every interface of every network namespace.
pub fn ifconfig(kernel: &Kernel) -> Result<Analysis<Interface>, KernelError> {
    let (namespaces, mut warnings) = net::network_namespaces(kernel)?;
    let bits = (
        link_state_bit(kernel, "__LINK_STATE_START", 0),
        link_state_bit(kernel, "__LINK_STATE_NOCARRIER", 2),
        link_state_bit(kernel, "__LINK_STATE_DORMANT", 4),
    );
    let mut rows = Vec::new();
    for ns in &namespaces {
        let (devices, problem) = match net::net_devices(kernel, ns) {
            Ok(d) => d,
            Err(e) => {
                warnings.push(format!("netns {}: devices unreadable: {e}", label(ns)));
                continue;
            }
        };
        warnings.extend(problem);
        for dev in devices {
            match interface(kernel, ns, dev, bits, &mut warnings) {
                Ok(row) => rows.push(row),
                Err(e) => warnings.push(format!("netns {}: net_device at {dev:#x}: {e}", label(ns))),
            }
        }
    }
    Ok(Analysis { rows, warnings })
}

fn label(ns: &NetNs) -> String {
    ns.inum
        .map(|i| i.to_string())
        .unwrap_or_else(|| format!("at {:#x}", ns.addr))
}

fn interface(
    kernel: &Kernel,
    ns: &NetNs,
    addr: u64,
    (start_bit, nocarrier_bit, dormant_bit): (u64, u64, u64),
    warnings: &mut Vec<String>,
) -> Result<Interface, KernelError> {
    let dev = kernel.object("net_device", addr)?;
    let name = dev.string("name")?;
    let raw_flags = dev.u64("flags")?;
    let gflags = dev.u64("gflags").unwrap_or(0);
    let state = dev.u64("state").unwrap_or(0);
    let operstate = dev.u64("operstate").ok();
    let promiscuity = dev.u64("promiscuity").unwrap_or(0);

    // dev_get_flags(): PROMISC and ALLMULTI as the user set them (gflags); RUNNING, LOWER_UP and DORMANT
    // computed from the device state.
    let mut flags = (raw_flags & !(IFF_PROMISC | IFF_ALLMULTI | IFF_RUNNING | IFF_LOWER_UP | IFF_DORMANT))
        | (gflags & (IFF_PROMISC | IFF_ALLMULTI));
    if state >> start_bit & 1 == 1 {
        if matches!(operstate, Some(0) | Some(6)) {
            flags |= IFF_RUNNING;
        }
        if state >> nocarrier_bit & 1 == 0 {
            flags |= IFF_LOWER_UP;
        }
        if state >> dormant_bit & 1 == 1 {
            flags |= IFF_DORMANT;
        }
    }

    let mut addrs = Vec::new();
    if let Ok(Some(in_dev)) = dev.deref_as("ip_ptr", "in_device") {
        ipv4_addrs(kernel, &in_dev, &mut addrs, warnings, &name);
    }
    if let Ok(Some(in6_dev)) = dev.deref_as("ip6_ptr", "inet6_dev") {
        ipv6_addrs(kernel, &in6_dev, &mut addrs, warnings, &name);
    }
    Ok(Interface {
        netns: ns.inum,
        index: dev.i64("ifindex")?,
        mac: hw_addr(kernel, &dev),
        addresses: addrs.iter().map(|a| format!("{}/{}", a.address, a.prefixlen)).collect(),
        addrs,
        flags: flag_names(flags),
        mtu: dev.u64("mtu")?,
        promiscuous: raw_flags & IFF_PROMISC != 0 || promiscuity > 0,
        promiscuity,
        operstate: operstate.map(operstate_name),
        device_addr: addr,
        name,
    })
}

/// The device's link-layer address: `dev_addr` (which points into the first `dev_addrs` entry), else
/// that entry itself, else `perm_addr`; `addr_len` bytes, at most 32.
fn hw_addr(kernel: &Kernel, dev: &Object) -> Option<String> {
    let len = dev.u64("addr_len").ok()?.min(32) as usize;
    if len == 0 {
        return None;
    }
    let mut buf = vec![0u8; len];
    if let Ok(p) = dev.pointer("dev_addr") {
        if p != 0 && kernel.read(p, &mut buf).is_ok() {
            return net::mac(&buf);
        }
    }
    if let Ok(head) = dev.field_addr("dev_addrs") {
        let off = kernel.member_offset("netdev_hw_addr", "addr").ok();
        let first = kernel.read_u64(head).ok();
        if let (Some(off), Some(first)) = (off, first) {
            if first != head && first != 0 && kernel.read(first.wrapping_add(off), &mut buf).is_ok() {
                return net::mac(&buf);
            }
        }
    }
    dev.bytes("perm_addr").ok().and_then(|b| net::mac(b.get(..len)?))
}

fn ipv4_addrs(kernel: &Kernel, in_dev: &Object, out: &mut Vec<IfAddr>, warnings: &mut Vec<String>, name: &str) {
    let mut next = in_dev.pointer("ifa_list").unwrap_or(0);
    let mut seen = HashSet::new();
    while next != 0 {
        if !seen.insert(next) || seen.len() > MAX_ADDRS {
            warnings.push(format!("{name}: IPv4 address list cycles or is too long; cut"));
            break;
        }
        let ifa = match kernel.object("in_ifaddr", next) {
            Ok(o) => o,
            Err(e) => {
                warnings.push(format!("{name}: IPv4 address unreadable: {e}"));
                break;
            }
        };
        if let Ok(b) = ifa.bytes("ifa_local") {
            if let Ok(bytes) = <[u8; 4]>::try_from(b) {
                out.push(IfAddr {
                    family: "inet",
                    address: net::ipv4(bytes),
                    prefixlen: ifa.u64("ifa_prefixlen").unwrap_or(0) as u32,
                    scope: scope4(ifa.u64("ifa_scope").unwrap_or(0)),
                    label: ifa.string("ifa_label").ok(),
                });
            }
        }
        next = ifa.pointer("ifa_next").unwrap_or(0);
    }
}

fn ipv6_addrs(kernel: &Kernel, in6_dev: &Object, out: &mut Vec<IfAddr>, warnings: &mut Vec<String>, name: &str) {
    let Ok(head) = in6_dev.field_addr("addr_list") else {
        return;
    };
    let walk = match kernel.walk_list(head, "inet6_ifaddr", "if_list", MAX_ADDRS) {
        Ok(w) => w,
        Err(e) => {
            warnings.push(format!("{name}: IPv6 addresses unreadable: {e}"));
            return;
        }
    };
    if let Some(p) = walk.problem {
        warnings.push(format!("{name}: {p}"));
    }
    for a in walk.items {
        let Ok(ifa) = kernel.object("inet6_ifaddr", a) else {
            warnings.push(format!("{name}: IPv6 address at {a:#x} unreadable"));
            continue;
        };
        let Some(bytes) = ifa.bytes("addr").ok().and_then(|b| <[u8; 16]>::try_from(b).ok()) else {
            continue;
        };
        out.push(IfAddr {
            family: "inet6",
            address: net::ipv6(bytes),
            prefixlen: ifa.u64("prefix_len").unwrap_or(0) as u32,
            scope: scope6(ifa.u64("scope").unwrap_or(0)),
            label: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let running = 1 | 2 | (1 << 6) | (1 << 12) | (1 << 16);
        assert_eq!(flag_names(running), ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"]);
        assert_eq!(
            flag_names(1 | 2 | (1 << 12)),
            ["NO-CARRIER", "BROADCAST", "MULTICAST", "UP"]
        );
        assert_eq!(operstate_name(6), "UP");
        assert_eq!(scope4(254), "host");
        assert_eq!(scope6(0x20), "link");
    }
}
