//! Network devices (`struct net_device`) with their flags as `dev_get_flags()` computes them, their
//! link-layer address and their IPv4 (`in_device.ifa_list`) and IPv6 (`inet6_dev.addr_list`) addresses.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::kernel::{Kernel, KernelError, Object};

/// Most addresses walked on one interface's IPv4 or IPv6 list.
const MAX_ADDRS: usize = 4096;

/// `IFF_*` device flags.
pub const IFF_PROMISC: u64 = 1 << 8;
const IFF_ALLMULTI: u64 = 1 << 9;
pub const IFF_RUNNING: u64 = 1 << 6;
const IFF_LOWER_UP: u64 = 1 << 16;
const IFF_DORMANT: u64 = 1 << 17;

/// One address of a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevAddr {
    /// `inet` or `inet6`.
    pub family: &'static str,
    pub address: IpAddr,
    pub prefixlen: u32,
    /// `ifa_scope` (`RT_SCOPE_*`) or the IPv6 `scope` (`IFA_*`).
    pub scope: u64,
    /// The IPv4 label (`ifa_label`).
    pub label: Option<String>,
}

/// One network device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Address of the `struct net_device`.
    pub addr: u64,
    pub name: String,
    pub ifindex: i64,
    /// The flags `dev_get_flags()` reports (what `ip link` prints).
    pub flags: u64,
    /// `dev->flags` itself.
    pub raw_flags: u64,
    /// `dev->promiscuity`: how many users asked for promiscuous mode.
    pub promiscuity: u64,
    /// `IF_OPER_*`, where readable.
    pub operstate: Option<u64>,
    pub mtu: u64,
    /// The link-layer address (`addr_len` bytes), none for devices without one.
    pub lladdr: Option<Vec<u8>>,
    /// IPv4 addresses, then IPv6.
    pub addrs: Vec<DevAddr>,
}

/// A reader of devices, its choices resolved once: the `__LINK_STATE_*` bits and where a
/// `netdev_hw_addr` keeps its address.
pub struct DeviceReader<'k> {
    kernel: &'k Kernel,
    /// `__LINK_STATE_START`, `__LINK_STATE_NOCARRIER`, `__LINK_STATE_DORMANT` from the symbols'
    /// `netdev_state_t` (their values moved across versions), or their usual 0, 2, 4.
    start_bit: u64,
    nocarrier_bit: u64,
    dormant_bit: u64,
    /// `netdev_hw_addr.addr`, where the symbols have it.
    hw_addr_off: Option<u64>,
}

impl<'k> DeviceReader<'k> {
    pub fn new(kernel: &'k Kernel) -> DeviceReader<'k> {
        let bit = |name: &str, default: u64| {
            kernel
                .symbols()
                .enum_constant("netdev_state_t", name)
                .map_or(default, |v| v as u64)
        };
        DeviceReader {
            kernel,
            start_bit: bit("__LINK_STATE_START", 0),
            nocarrier_bit: bit("__LINK_STATE_NOCARRIER", 2),
            dormant_bit: bit("__LINK_STATE_DORMANT", 4),
            hw_addr_off: kernel.member_offset("netdev_hw_addr", "addr").ok(),
        }
    }

    /// The device at `addr`; problems with its address lists go to `warnings`.
    pub fn read(&self, addr: u64, warnings: &mut Vec<String>) -> Result<Device, KernelError> {
        let kernel = self.kernel;
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
        if state >> self.start_bit & 1 == 1 {
            if matches!(operstate, Some(0) | Some(6)) {
                flags |= IFF_RUNNING;
            }
            if state >> self.nocarrier_bit & 1 == 0 {
                flags |= IFF_LOWER_UP;
            }
            if state >> self.dormant_bit & 1 == 1 {
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
        Ok(Device {
            addr,
            ifindex: dev.i64("ifindex")?,
            lladdr: self.hw_addr(&dev),
            mtu: dev.u64("mtu")?,
            flags,
            raw_flags,
            promiscuity,
            operstate,
            addrs,
            name,
        })
    }

    /// The device's link-layer address: `dev_addr` (which points into the first `dev_addrs` entry), else
    /// that entry itself, else `perm_addr`; `addr_len` bytes, at most 32.
    fn hw_addr(&self, dev: &Object) -> Option<Vec<u8>> {
        let kernel = self.kernel;
        let len = dev.u64("addr_len").ok()?.min(32) as usize;
        if len == 0 {
            return None;
        }
        let mut buf = vec![0u8; len];
        if let Ok(p) = dev.pointer("dev_addr") {
            if p != 0 && kernel.read(p, &mut buf).is_ok() {
                return Some(buf);
            }
        }
        if let Ok(head) = dev.field_addr("dev_addrs") {
            let first = kernel.read_u64(head).ok();
            if let (Some(off), Some(first)) = (self.hw_addr_off, first) {
                if first != head && first != 0 && kernel.read(first.wrapping_add(off), &mut buf).is_ok() {
                    return Some(buf);
                }
            }
        }
        dev.bytes("perm_addr").ok().and_then(|b| Some(b.get(..len)?.to_vec()))
    }
}

fn ipv4_addrs(kernel: &Kernel, in_dev: &Object, out: &mut Vec<DevAddr>, warnings: &mut Vec<String>, name: &str) {
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
                out.push(DevAddr {
                    family: "inet",
                    address: IpAddr::V4(Ipv4Addr::from(bytes)),
                    prefixlen: ifa.u64("ifa_prefixlen").unwrap_or(0) as u32,
                    scope: ifa.u64("ifa_scope").unwrap_or(0),
                    label: ifa.string("ifa_label").ok(),
                });
            }
        }
        next = ifa.pointer("ifa_next").unwrap_or(0);
    }
}

fn ipv6_addrs(kernel: &Kernel, in6_dev: &Object, out: &mut Vec<DevAddr>, warnings: &mut Vec<String>, name: &str) {
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
        out.push(DevAddr {
            family: "inet6",
            address: IpAddr::V6(Ipv6Addr::from(bytes)),
            prefixlen: ifa.u64("prefix_len").unwrap_or(0) as u32,
            scope: ifa.u64("scope").unwrap_or(0),
            label: None,
        });
    }
}
