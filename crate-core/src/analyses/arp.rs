//! `arp`: the neighbour tables (ARP for IPv4, neighbour discovery for IPv6) of every network namespace, as
//! `ip neigh` shows them ([`crate::kernel::net::neigh`] walks them), grouped by namespace, family and
//! device.

use serde::Serialize;

use super::Analysis;
use crate::kernel::net::{self, neigh};
use crate::kernel::{Kernel, KernelError};

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

/// `NTF_ROUTER`.
const NTF_ROUTER: u64 = 0x80;

/// Every neighbour entry of every table, labelled with its device's network namespace.
pub fn arp(kernel: &Kernel) -> Result<Analysis<Neighbour>, KernelError> {
    let (namespaces, mut warnings) = net::network_namespaces(kernel)?;
    let ns_map = net::namespace_map(&namespaces);
    let (entries, problems) = neigh::neighbours(kernel)?;
    warnings.extend(problems);
    let mut rows: Vec<(Neighbour, std::net::IpAddr)> = entries
        .into_iter()
        .map(|n| {
            let row = Neighbour {
                netns: n.net.and_then(|net| ns_map.get(&net)).and_then(|ns| ns.inum),
                family: n.family,
                ip: n.ip.to_string(),
                mac: n.lladdr.as_deref().and_then(net::mac),
                device: n.device,
                state: nud_state(n.state),
                router: n.flags & NTF_ROUTER != 0,
                neighbour_addr: n.addr,
            };
            (row, n.ip)
        })
        .collect();
    // Hash order means nothing to a reader: group by namespace, family and device, then by address.
    rows.sort_by(|(a, a_ip), (b, b_ip)| {
        (a.netns, a.family, &a.device, a_ip).cmp(&(b.netns, b.family, &b.device, b_ip))
    });
    Ok(Analysis {
        rows: rows.into_iter().map(|(row, _)| row).collect(),
        warnings,
    })
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
