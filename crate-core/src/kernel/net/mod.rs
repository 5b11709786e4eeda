//! Network namespaces and their devices, shared by the network analyses (`ifconfig`, `arp`, `netstat`,
//! `routes`), with the address formatting they have in common; the forwarding tables ([`fib`]).

pub mod device;
pub mod fib;
pub mod neigh;
pub mod packet_ring;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Kernel, KernelError};

/// Most network namespaces walked on `net_namespace_list`.
pub const MAX_NAMESPACES: usize = 4096;
/// Most devices walked on one namespace's `dev_base_head` list.
pub const MAX_DEVICES: usize = 65536;

/// A network namespace (`struct net`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetNs {
    /// Virtual address of its `struct net`.
    pub addr: u64,
    /// Its inode number (`net->ns.inum`), as `/proc/PID/ns/net` shows it; `None` if unreadable.
    pub inum: Option<u64>,
}

/// Every network namespace of the kernel, `init_net` first: the `net_namespace_list` walk (or `init_net`
/// alone where the symbols have no such list), and warnings about what could not be read.
pub fn network_namespaces(kernel: &Kernel) -> Result<(Vec<NetNs>, Vec<String>), KernelError> {
    let mut warnings = Vec::new();
    let symbols = kernel.symbols();
    let inum_off = kernel.member_offset("net", "ns.inum").ok();
    let inum_of = |addr: u64| -> Option<u64> {
        let off = inum_off?;
        let mut b = [0u8; 4];
        kernel.read(addr.wrapping_add(off), &mut b).ok()?;
        Some(u64::from(u32::from_le_bytes(b)))
    };
    if inum_off.is_none() {
        warnings.push("net has no ns.inum: network namespace inodes are unknown".into());
    }
    let mut addrs = Vec::new();
    if symbols.has_symbol("net_namespace_list") {
        let head = kernel.symbol_addr("net_namespace_list")?;
        let walk = kernel.walk_list(head, "net", "list", MAX_NAMESPACES)?;
        if let Some(p) = walk.problem {
            warnings.push(p);
        }
        addrs = walk.items;
    }
    if let Ok(init) = kernel.symbol_addr("init_net") {
        if symbols.has_symbol("init_net") {
            if let Some(pos) = addrs.iter().position(|&a| a == init) {
                addrs.remove(pos);
            } else if !addrs.is_empty() {
                warnings.push("init_net is not on net_namespace_list".into());
            }
            addrs.insert(0, init);
        }
    }
    if addrs.is_empty() {
        return Err(KernelError::Layout(
            "no network namespace found (no net_namespace_list, no init_net)".into(),
        ));
    }
    let list = addrs
        .into_iter()
        .map(|addr| NetNs {
            addr,
            inum: inum_of(addr),
        })
        .collect();
    Ok((list, warnings))
}

/// Map from `struct net` address to namespace, to label objects that point at their namespace.
pub fn namespace_map(namespaces: &[NetNs]) -> HashMap<u64, NetNs> {
    namespaces.iter().map(|n| (n.addr, *n)).collect()
}

/// The `struct net_device` addresses of a namespace (its `dev_base_head` list), in list (registration)
/// order, and why the walk stopped early if it did.
pub fn net_devices(kernel: &Kernel, net: &NetNs) -> Result<(Vec<u64>, Option<String>), KernelError> {
    let head = net.addr.wrapping_add(kernel.member_offset("net", "dev_base_head")?);
    let walk = kernel.walk_list(head, "net_device", "dev_list", MAX_DEVICES)?;
    let problem = walk.problem.map(|p| match net.inum {
        Some(i) => format!("netns {i}: {p}"),
        None => format!("netns at {:#x}: {p}", net.addr),
    });
    Ok((walk.items, problem))
}

/// The `struct net` a device belongs to (`dev->nd_net.net`), where the kernel has network namespaces.
pub fn device_net(kernel: &Kernel, dev: u64) -> Option<u64> {
    let off = kernel.member_offset("net_device", "nd_net.net").ok()?;
    kernel.read_u64(dev.wrapping_add(off)).ok()
}

/// Device names by `net_device` address, each read once (`dev->name`; none for a NULL or unreadable
/// device).
#[derive(Debug, Default)]
pub struct DeviceNames(HashMap<u64, Option<String>>);

impl DeviceNames {
    /// The name of the device at `dev`.
    pub fn name(&mut self, kernel: &Kernel, dev: u64) -> Option<String> {
        if dev == 0 {
            return None;
        }
        self.0
            .entry(dev)
            .or_insert_with(|| kernel.object("net_device", dev).and_then(|d| d.string("name")).ok())
            .clone()
    }
}

/// An IPv4 address from its four bytes in network order, as `ip` prints it.
pub fn ipv4(bytes: [u8; 4]) -> String {
    Ipv4Addr::from(bytes).to_string()
}

/// An IPv6 address from its sixteen bytes, in the RFC 5952 form `ip` prints (`fd00:c0de::1`).
pub fn ipv6(bytes: [u8; 16]) -> String {
    Ipv6Addr::from(bytes).to_string()
}

/// An IPv4 or IPv6 address from 4 or 16 bytes; `None` for any other length.
pub fn ip_addr(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?))),
        16 => Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?))),
        _ => None,
    }
}

/// An IPv4 or IPv6 address from 4 or 16 bytes, as `ip` prints it; `None` for any other length.
pub fn ip(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => Some(ipv4(bytes.try_into().ok()?)),
        16 => Some(ipv6(bytes.try_into().ok()?)),
        _ => None,
    }
}

/// A link-layer address as lowercase colon-separated hex (`52:54:00:c0:de:01`); `None` when empty.
pub fn mac(bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() {
        return None;
    }
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(ipv4([10, 0, 2, 15]), "10.0.2.15");
        let mut v6 = [0u8; 16];
        v6[0] = 0xfd;
        v6[2] = 0xc0;
        v6[3] = 0xde;
        v6[15] = 1;
        assert_eq!(ipv6(v6), "fd00:c0de::1");
        assert_eq!(ip(&[1, 2, 3]), None);
        assert_eq!(
            mac(&[0x52, 0x54, 0, 0xc0, 0xde, 1]).as_deref(),
            Some("52:54:00:c0:de:01")
        );
        assert_eq!(mac(&[]), None);
    }
}
