//! Route caches: the exceptions a next hop learned for single destinations (redirects, path MTUs) — IPv4's
//! `fib_nh_exception` chains (`nhc_exceptions`, 3.6 on), IPv6's cached `rt6_info`s
//! (`fib6_nh.rt6i_exception_bucket`, 5.3 on) — and the global `rt_hash_table` of kernels before 3.6.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{gateway_at, has_field, Fib, AF_INET, AF_INET6, MAX_ROUTES};
use crate::kernel::net::device_net;
use crate::kernel::{Kernel, KernelError};
use crate::symbols::SymbolTable;

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

/// One cached route: a `fib_nh_exception` or a cached `rt6_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    /// The destination (a host: /32 or, for IPv6, the cached route's prefix length).
    pub destination: IpAddr,
    pub prefix_len: u64,
    /// Its own gateway: a redirect's (`fnhe_gw`), or the cached IPv6 route's with `RTF_GATEWAY`.
    pub gateway: Option<IpAddr>,
    /// The cached IPv6 route's device (IPv4 exceptions use their next hop's).
    pub device: Option<String>,
    /// The learned path MTU, none when 0.
    pub pmtu: Option<u64>,
    /// The `jiffies` value at which it expires; 0 when it does not.
    pub expires: u64,
    /// Address of the `fib_nh_exception` or `rt6_info`.
    pub addr: u64,
}

/// One entry of the pre-3.6 route cache (`struct rtable`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyEntry {
    pub destination: Ipv4Addr,
    /// `rt_gateway`: the destination itself (or 0.0.0.0) for a route on the link.
    pub gateway: Ipv4Addr,
    pub device: Option<String>,
    /// The `struct net` of its device.
    pub net: Option<u64>,
    pub addr: u64,
}

/// Where `struct rtable` embeds its `dst_entry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtableDst {
    /// 2.6.36 to 3.5: `rtable.dst`.
    Dst,
    /// Before 2.6.36: `rtable.u.dst`.
    UDst,
}

/// The route caches' layouts.
#[derive(Debug, Clone)]
pub struct CacheLayout {
    /// `fib6_nh.rt6i_exception_bucket` (5.3 on; before, the buckets hung off `fib6_info`, unread).
    pub fib6_nh_exceptions: bool,
    /// Stride and `chain` offset of `fnhe_hash_bucket`.
    fnhe_bucket: Result<(u64, u64), KernelError>,
    /// Stride and `chain` offset of `rt6_exception_bucket`.
    rt6_bucket: Result<(u64, u64), KernelError>,
    /// The pre-3.6 global cache, where the symbols have it (`rt_hash_table` and `rt_hash_bucket`).
    pub legacy: Option<RtableDst>,
}

/// A bucket type's size and its `chain` member's offset.
fn bucket(symbols: &SymbolTable, ty: &str) -> Result<(u64, u64), KernelError> {
    let layout = symbols.layout(ty)?;
    Ok((layout.size(), layout.field("chain")?.0))
}

impl CacheLayout {
    pub fn new(symbols: &SymbolTable) -> CacheLayout {
        let legacy = symbols.has_symbol("rt_hash_table") && symbols.has_type("rt_hash_bucket");
        CacheLayout {
            fib6_nh_exceptions: has_field(symbols, "fib6_nh", "rt6i_exception_bucket"),
            fnhe_bucket: bucket(symbols, "fnhe_hash_bucket"),
            rt6_bucket: bucket(symbols, "rt6_exception_bucket"),
            legacy: legacy.then(|| {
                if has_field(symbols, "rtable", "dst") {
                    RtableDst::Dst
                } else {
                    RtableDst::UDst
                }
            }),
        }
    }
}

/// The kernel's clock at the capture, to tell expired entries: `jiffies` (the low word of `jiffies_64`, an
/// alias the linker script makes), or `jiffies_64` where the symbols name only that; none when unreadable.
pub fn jiffies(kernel: &Kernel) -> Option<u64> {
    let symbol = ["jiffies", "jiffies_64"]
        .into_iter()
        .find(|s| kernel.symbols().has_symbol(s))?;
    kernel.read_u64(kernel.symbol_addr(symbol).ok()?).ok()
}

/// Whether an entry expiring at `expires` had expired at `jiffies` (`time_after(jiffies, expires)`, with
/// the kernel's wrap-around arithmetic): never for 0 (no expiry), unknown without a clock.
pub fn expired(expires: u64, jiffies: Option<u64>) -> Option<bool> {
    if expires == 0 {
        Some(false)
    } else {
        jiffies.map(|j| (expires.wrapping_sub(j) as i64) < 0)
    }
}

impl Fib<'_> {
    /// The entries of one IPv4 next hop's exception table (`FNHE_HASH_SIZE` buckets of
    /// `fib_nh_exception` chains at `array`) into `out`; returns how many.
    pub fn fnhe(&self, array: u64, out: &mut Vec<Exception>, problems: &mut Vec<String>) -> Result<usize, KernelError> {
        let kernel = self.kernel;
        if !kernel.is_kernel_pointer(array) {
            return Err(KernelError::Layout(format!(
                "exception table pointer {array:#x} is not a kernel pointer"
            )));
        }
        let (stride, chain_off) = self.layout.cache.fnhe_bucket.clone()?;
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
                out.push(Exception {
                    destination: IpAddr::V4(Ipv4Addr::from(daddr)),
                    prefix_len: 32,
                    gateway,
                    device: None,
                    pmtu: Some(fnhe.u64("fnhe_pmtu")?).filter(|&m| m != 0),
                    expires,
                    addr: next,
                });
                found += 1;
                next = fnhe.pointer("fnhe_next")?;
            }
        }
        Ok(found)
    }

    /// The cached routes of one IPv6 next hop's exception table (`FIB6_EXCEPTION_BUCKETS` buckets of
    /// `rt6_exception` chains at `buckets`, each holding a cached `rt6_info`) into `out`.
    pub fn rt6_exceptions(
        &mut self,
        buckets: u64,
        out: &mut Vec<Exception>,
        problems: &mut Vec<String>,
    ) -> Result<(), KernelError> {
        let kernel = self.kernel;
        if !kernel.is_kernel_pointer(buckets) {
            return Err(KernelError::Layout(format!("{buckets:#x} is not a kernel pointer")));
        }
        let (stride, chain_off) = self.layout.cache.rt6_bucket.clone()?;
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
                let prefix_len = dst.u64("plen")?.min(128);
                out.push(Exception {
                    destination: IpAddr::V6(Ipv6Addr::from(addr)),
                    prefix_len,
                    gateway,
                    device: self.names.name(kernel, entry.pointer("dev")?),
                    pmtu,
                    expires,
                    addr: rt.addr(),
                });
            }
        }
        Ok(())
    }

    /// The route cache of kernels before 3.6 (as Volatility 2's `linux_route_cache` reads it):
    /// `rt_hash_table` points at `rt_hash_mask + 1` buckets, each a chain of `struct rtable` linked
    /// through `dst.rt_next`; into `out`, with a warning for the chains cut short.
    pub fn legacy_cache(
        &mut self,
        dst: RtableDst,
        out: &mut Vec<LegacyEntry>,
        warnings: &mut Vec<String>,
    ) -> Result<(), KernelError> {
        let kernel = self.kernel;
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
        let dst_path = match dst {
            RtableDst::Dst => "dst",
            RtableDst::UDst => "u.dst",
        };
        let next_off = kernel.member_offset("rtable", &format!("{dst_path}.rt_next"))?;
        let dev_off = kernel.member_offset("rtable", &format!("{dst_path}.dev"))?;
        let (mut found, mut cut) = (0usize, 0usize);
        let mut seen = HashSet::new();
        for b in 0..count {
            let Ok(mut next) = kernel.read_u64(array.wrapping_add(b * stride + chain_off)) else {
                cut += 1;
                continue;
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
                let v4 = |field: &str| -> Result<Ipv4Addr, KernelError> {
                    let b: [u8; 4] = rt
                        .bytes(field)?
                        .try_into()
                        .map_err(|_| KernelError::Layout(format!("rtable.{field} is not 4 bytes")))?;
                    Ok(Ipv4Addr::from(b))
                };
                let (destination, gateway) = (v4("rt_dst")?, v4("rt_gateway")?);
                let dev = kernel.read_u64(next.wrapping_add(dev_off)).unwrap_or(0);
                out.push(LegacyEntry {
                    destination,
                    gateway,
                    device: self.names.name(kernel, dev),
                    net: device_net(kernel, dev),
                    addr: next,
                });
                found += 1;
                let Ok(n) = kernel.read_u64(next.wrapping_add(next_off)) else {
                    cut += 1;
                    break;
                };
                next = n;
            }
        }
        if cut > 0 {
            warnings.push(format!(
                "route cache (rt_hash_table): {cut} chains cut short (unreadable bucket, bad link, cycle or bound)"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{devices, DEV, DEV6, ISF};
    use super::*;
    use crate::kernel::testkit::{Memory, IMAGE};

    fn text(e: &Exception) -> (String, Option<String>, Option<String>, Option<u64>, u64, u64) {
        (
            format!("{}/{}", e.destination, e.prefix_len),
            e.gateway.map(|g| g.to_string()),
            e.device.clone(),
            e.pmtu,
            e.expires,
            e.addr,
        )
    }

    #[test]
    fn exception_entries_with_expiry_and_bounded_chains() {
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
        let fib = Fib::new(&kernel);
        let (mut out, mut problems) = (Vec::new(), Vec::new());
        assert_eq!(fib.fnhe(table, &mut out, &mut problems).unwrap(), 3);
        let got: Vec<_> = out.iter().map(text).collect();
        assert_eq!(
            got,
            [
                ("192.0.2.99/32".into(), None, None, Some(1400), 1000, a),
                ("192.0.2.100/32".into(), Some("10.0.0.9".into()), None, None, 0, b),
                ("198.51.100.7/32".into(), None, None, None, 3000, c),
            ]
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("bucket 2047"), "{problems:?}");
        assert_eq!(
            [
                expired(1000, Some(2000)),
                expired(0, Some(2000)),
                expired(3000, Some(2000))
            ],
            [Some(true), Some(false), Some(false)]
        );
        // Unknown clock: expiry unknown, except for entries that never expire.
        assert_eq!([expired(1000, None), expired(0, None)], [None, Some(false)]);

        // A table pointer that is no kernel pointer, and one on unmapped memory, are errors.
        assert!(fib.fnhe(0x1234, &mut out, &mut problems).is_err());
        assert!(fib.fnhe(IMAGE + (4 << 20), &mut out, &mut problems).is_err());
    }

    #[test]
    fn ipv6_exceptions_with_gateway_mtu_and_cut_chains() {
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
        let mut fib = Fib::new(&kernel);
        let (mut out, mut problems) = (Vec::new(), Vec::new());
        fib.rt6_exceptions(table, &mut out, &mut problems).unwrap();
        let got: Vec<_> = out.iter().map(text).collect();
        assert_eq!(
            got,
            [
                (
                    "fd00:201::2/128".into(),
                    Some("fd00:200::2".into()),
                    Some("veth6".into()),
                    Some(1280),
                    5000,
                    rt1
                ),
                ("2001:db8::7/128".into(), None, Some("veth6".into()), None, 0, rt2),
            ]
        );
        assert!(
            problems.len() == 1 && problems[0].starts_with("bucket 1023"),
            "{problems:?}"
        );
        // A table pointer outside the kernel is refused, not read.
        assert!(fib.rt6_exceptions(0x1000, &mut out, &mut problems).is_err());
    }

    #[test]
    fn legacy_route_cache_from_rt_hash_table() {
        let isf = ISF
            .replace(
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
        let mut fib = Fib::new(&kernel);
        let dst = fib.layout().cache.legacy.expect("legacy cache in these symbols");
        assert_eq!(dst, RtableDst::Dst);
        let (mut out, mut warnings) = (Vec::new(), Vec::new());
        fib.legacy_cache(dst, &mut out, &mut warnings).unwrap();
        let got: Vec<_> = out
            .iter()
            .map(|e| {
                (
                    e.destination.to_string(),
                    e.gateway.to_string(),
                    e.device.as_deref(),
                    e.addr,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("10.0.0.5".into(), "10.0.0.5".into(), Some("eth9"), r1),
                ("8.8.8.8".into(), "10.0.0.1".into(), Some("eth9"), r2),
                ("192.0.2.1".into(), "0.0.0.0".into(), Some("eth9"), r3),
            ]
        );
        assert!(out.iter().all(|e| e.net.is_none()));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("1 chains cut short"), "{warnings:?}");

        // A mask claiming 2^32 buckets is refused.
        let mut mem = Memory::new();
        mem.write(IMAGE + 0x100, &table.to_le_bytes());
        mem.write(IMAGE + 0x108, &u32::MAX.to_le_bytes());
        let kernel = mem.kernel(&isf);
        let err = Fib::new(&kernel).legacy_cache(dst, &mut out, &mut warnings);
        assert!(err.is_err());
    }
}
