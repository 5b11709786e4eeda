//! `ifconfig`: the network interfaces of every network namespace ([`crate::kernel::net::device`] reads
//! them), with their link-layer address, IPv4 and IPv6 addresses (CIDR), flags as `ip link` shows them, MTU
//! and promiscuous state.

use serde::Serialize;

use super::Analysis;
use crate::kernel::net::device::{DevAddr, Device, DeviceReader, IFF_PROMISC, IFF_RUNNING};
use crate::kernel::net::{self, NetNs};
use crate::kernel::{Kernel, KernelError};

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

/// Every interface of every network namespace.
pub fn ifconfig(kernel: &Kernel) -> Result<Analysis<Interface>, KernelError> {
    let (namespaces, mut warnings) = net::network_namespaces(kernel)?;
    let reader = DeviceReader::new(kernel);
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
            match reader.read(dev, &mut warnings) {
                Ok(device) => rows.push(interface(ns, device)),
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

/// The row of one device of namespace `ns`.
fn interface(ns: &NetNs, d: Device) -> Interface {
    let addrs: Vec<IfAddr> = d.addrs.into_iter().map(if_addr).collect();
    Interface {
        netns: ns.inum,
        index: d.ifindex,
        name: d.name,
        mac: d.lladdr.as_deref().and_then(net::mac),
        addresses: addrs.iter().map(|a| format!("{}/{}", a.address, a.prefixlen)).collect(),
        addrs,
        flags: flag_names(d.flags),
        mtu: d.mtu,
        promiscuous: d.raw_flags & IFF_PROMISC != 0 || d.promiscuity > 0,
        promiscuity: d.promiscuity,
        operstate: d.operstate.map(operstate_name),
        device_addr: d.addr,
    }
}

fn if_addr(a: DevAddr) -> IfAddr {
    IfAddr {
        family: a.family,
        address: a.address.to_string(),
        prefixlen: a.prefixlen,
        scope: if a.family == "inet" {
            scope4(a.scope)
        } else {
            scope6(a.scope)
        },
        label: a.label,
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
