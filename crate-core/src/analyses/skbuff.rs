//! `skbuff`: every socket buffer in the kernel's skb slab caches (`skbuff_head_cache`, and
//! `skbuff_fclone_cache` whose objects hold two), allocated and, with `--freed`, freed ones whose pointers
//! still check out: packets nothing else in memory holds any more. The slabs are [`kernel::slab`]'s.
//!
//! An object is taken as an skb when `head` is a kernel pointer, `data` lies in `head..head + end`, `tail`
//! between `data` and `end`, and `end` is below 1 MiB. It is freed when the allocator holds it free
//! ([`slab::free_objects`]: a slab's or a CPU's freelist, a sheaf, a barn), when NAPI keeps it for reuse
//! (`napi_alloc_cache`), or when no user is left (`users` 0); else allocated, and then its `len - data_len`
//! must equal its linear part. A freed object keeps its fields but where SLUB put the freelist pointer
//! (`kmem_cache.offset`, on these kernels over `len` and `data_len`): a field it overwrote is null (for
//! `len`, the linear part is given). Where an skb keeps its IP and TCP/UDP headers (`network_header`,
//! `transport_header`, offsets from `head`, of the version `protocol` names), its `transport`, addresses
//! and ports come from them. `--dump DIR` writes each skb's bytes (linear part and fragments for
//! an allocated skb, linear part for a freed one) as `SKB_ADDR.bin`. An skb charged to a socket a process
//! holds names that process (`pid`, `comm`: the lowest pid holding it); `tstamp` is `skb->tstamp` where it
//! is a wall-clock time (received packets; a sent one's is a monotonic delivery time, or 0). `--pcap FILE`
//! writes every allocated skb whose IP header is kept as a raw-IP packet (from its network header to the
//! end of its linear data), stamped with `tstamp` where it has one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use std::collections::{HashMap, HashSet};

use super::pslist::iso8601_ns;
use super::queues::preview;
use super::Analysis;
use crate::kernel::skb::SkbReader;
use crate::kernel::slab::{self, Cache};
use crate::kernel::sockets::{self, SocketReader};
use crate::pcap::Pcapng;
use crate::warning::{Collect, Report, Warning, WarningKind};

use crate::kernel::{Kernel, KernelError};

/// The caches skbs are allocated from.
pub const CACHES: [&str; 2] = ["skbuff_head_cache", "skbuff_fclone_cache"];
/// Largest `end` (head buffer size) taken as real.
const MAX_END: u32 = 1 << 20;

/// One sk_buff carved from a slab.
#[derive(Debug, Clone, Serialize)]
pub struct SkbuffRow {
    /// Address of the `struct sk_buff`.
    #[serde(with = "crate::hex")]
    pub skb_addr: u64,
    /// The slab cache it is in.
    pub cache: String,
    /// `allocated`, or `freed` (held free by the allocator or NAPI's cache, or with no user left).
    pub state: &'static str,
    /// Bytes of data (of a freed skb whose length the freelist pointer overwrote: its linear part).
    pub len: u32,
    /// Bytes in fragments; null for a freed skb whose field the freelist pointer overwrote.
    pub data_len: Option<u32>,
    /// `skb->protocol`: the ethertype's name (`ipv4`, `ipv6`, `arp`) or its number; null where the
    /// freelist pointer overwrote it.
    pub protocol: Option<String>,
    /// The transport protocol of the IP header the skb keeps (`tcp`, `udp`, `icmp`, `icmpv6`, or its number).
    pub transport: Option<String>,
    /// Source and destination addresses and ports from the headers the skb keeps (`network_header` and
    /// `transport_header` from `head`), where they are there and match `protocol`.
    pub src_addr: Option<String>,
    /// See `src_addr`.
    pub src_port: Option<u16>,
    /// See `src_addr`.
    pub dst_addr: Option<String>,
    /// See `src_addr`.
    pub dst_port: Option<u16>,
    /// The socket it is charged to (`skb->sk`); null for none.
    #[serde(with = "crate::hex::option")]
    pub socket_addr: Option<u64>,
    /// The lowest pid holding that socket through a descriptor; null for none.
    pub pid: Option<u32>,
    /// That process's `comm`.
    pub comm: Option<String>,
    /// `skb->tstamp` as UTC, where it is a wall-clock time.
    pub tstamp: Option<String>,
    /// The head buffer.
    #[serde(with = "crate::hex")]
    pub head_addr: u64,
    /// The first bytes of the linear data as text (escaped as `queues` escapes them).
    pub preview: String,
}

/// Options of [`skbuff`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Freed skbs too.
    pub freed: bool,
    /// Gather each skb's bytes for `--dump`.
    pub dump: bool,
    /// Make a pcapng file of the skbs whose IP header is kept, for `--pcap`.
    pub pcap: bool,
}

/// What [`skbuff`] gives: rows, and the bytes of each skb when asked.
pub struct Carved {
    /// Rows and warnings.
    pub found: Analysis<SkbuffRow>,
    /// `(file name, bytes)` for `--dump`, in row order.
    pub files: Vec<(String, Vec<u8>)>,
    /// The pcapng file for `--pcap`.
    pub pcap: Option<Vec<u8>>,
}

/// Wall-clock nanoseconds taken as a real `tstamp`: 2000 to 2100 (a monotonic delivery time is far below).
const WALL_CLOCK_NS: std::ops::Range<i64> = 946_684_800_000_000_000..4_102_444_800_000_000_000;

struct Offsets {
    head: u64,
    data: u64,
    tail: u64,
    end: u64,
    len: u64,
    data_len: u64,
    users: u64,
    protocol: u64,
    network: u64,
    transport: u64,
    sk: u64,
    tstamp: Option<u64>,
    size: u64,
}

/// What an skb's kept headers say: transport, source and destination.
#[derive(Debug, Default)]
struct Headers {
    /// Offset of the IP header from `head`, where it was accepted.
    network: Option<u64>,
    transport: Option<String>,
    src: Option<(String, Option<u16>)>,
    dst: Option<(String, Option<u16>)>,
}

/// `transport_header`/`network_header` when unset (`(typeof(skb->network_header))~0U`).
const UNSET: u64 = 0xffff;

/// The headers at `head + network` (and `head + transport`), taken only when their IP version is the one
/// `ethertype` names and they lie inside the head buffer.
fn headers(kernel: &Kernel, head: u64, end: u32, ethertype: u16, network: u64, transport: u64) -> Headers {
    let mut out = Headers::default();
    if network == UNSET || network + 40 > u64::from(end) {
        return out;
    }
    let mut ip = [0u8; 40];
    if kernel.read(head + network, &mut ip).is_err() {
        return out;
    }
    let (proto, src, dst): (u8, IpAddr, IpAddr) = match (ethertype, ip[0] >> 4) {
        (0x0800, 4) if ip[0] & 0xf >= 5 => (
            ip[9],
            Ipv4Addr::from(<[u8; 4]>::try_from(&ip[12..16]).expect("4 bytes")).into(),
            Ipv4Addr::from(<[u8; 4]>::try_from(&ip[16..20]).expect("4 bytes")).into(),
        ),
        (0x86dd, 6) => (
            ip[6],
            Ipv6Addr::from(<[u8; 16]>::try_from(&ip[8..24]).expect("16 bytes")).into(),
            Ipv6Addr::from(<[u8; 16]>::try_from(&ip[24..40]).expect("16 bytes")).into(),
        ),
        _ => return out,
    };
    out.network = Some(network);
    out.transport = Some(match proto {
        6 => "tcp".into(),
        17 => "udp".into(),
        1 => "icmp".into(),
        58 => "icmpv6".into(),
        other => other.to_string(),
    });
    let mut ports = [0u8; 4];
    let have_ports = matches!(proto, 6 | 17)
        && transport != UNSET
        && transport + 4 <= u64::from(end)
        && kernel.read(head + transport, &mut ports).is_ok();
    let port = |at: usize| have_ports.then(|| u16::from_be_bytes([ports[at], ports[at + 1]]));
    out.src = Some((src.to_string(), port(0)));
    out.dst = Some((dst.to_string(), port(2)));
    out
}

fn word(b: &[u8], at: u64, n: usize) -> u64 {
    let at = at as usize;
    let mut v = [0u8; 8];
    if let Some(s) = b.get(at..at + n) {
        v[..n].copy_from_slice(s);
    }
    u64::from_le_bytes(v)
}

fn ethertype_name(p: u16) -> String {
    match p {
        0x0800 => "ipv4".into(),
        0x86dd => "ipv6".into(),
        0x0806 => "arp".into(),
        0x8100 => "vlan".into(),
        0x0003 => "all".into(),
        other => format!("{other:#06x}"),
    }
}

/// The skb caches: where the kernel keeps pointers to them (the variables `skbuff_head_cache` and
/// `skbuff_fclone_cache`, or `net_hotdata.skbuff_cache` and `.skbuff_fclone_cache` from 6.9), which also
/// finds a cache merged into another (then named after that one); else by name on `slab_caches`.
fn skb_caches(kernel: &Kernel, report: &mut dyn Report<SkbuffRow>) -> Result<Vec<Cache>, KernelError> {
    let pointer = |at: u64| kernel.read_u64(at).ok().filter(|&p| p != 0);
    let addrs: Vec<u64> = if kernel.symbols().has_symbol("net_hotdata") {
        let base = kernel.symbol_addr("net_hotdata")?;
        ["skbuff_cache", "skbuff_fclone_cache"]
            .iter()
            .filter_map(|m| pointer(base + kernel.member_offset("net_hotdata", m).ok()?))
            .collect()
    } else {
        CACHES
            .iter()
            .filter_map(|s| pointer(kernel.symbol_addr(s).ok()?))
            .collect()
    };
    let mut out = Vec::new();
    for addr in addrs {
        match slab::cache_at(kernel, addr) {
            Ok(c) => out.push(c),
            Err(e) => report.warn(
                Warning::new(WarningKind::Unreadable, format!("skb cache at {addr:#x}: {e}"))
                    .at(addr)
                    .reading("skb cache"),
            ),
        }
    }
    if out.is_empty() {
        out = slab::caches(kernel, &CACHES)?;
    }
    if out.is_empty() {
        report.warn(
            Warning::new(
                WarningKind::MissingSymbol,
                format!("no skb cache found ({})", CACHES.join(", ")),
            )
            .reading("skb caches"),
        );
    }
    // Whether a cache holds fclones is its size: two skbs and a reference count.
    Ok(out)
}

/// Most skbs read from one CPU's NAPI cache (`NAPI_SKB_CACHE_SIZE` is 64).
const MAX_NAPI_CACHE: u64 = 1024;

/// The skbs each CPU's NAPI cache keeps for reuse (`napi_alloc_cache.skb_cache[..skb_count]`): freed, but
/// still allocated for the slab allocator. None where the symbols have no such cache.
fn napi_cached(kernel: &Kernel) -> Vec<u64> {
    let (Ok(base), Ok(count_at), Ok(cache_at)) = (
        kernel.symbol_addr("napi_alloc_cache"),
        kernel.member_offset("napi_alloc_cache", "skb_count"),
        kernel.member_offset("napi_alloc_cache", "skb_cache"),
    ) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for offset in slab::per_cpu_offsets(kernel) {
        let at = base.wrapping_add(offset);
        let Ok(count) = kernel.read_u32(at + count_at) else {
            continue;
        };
        for i in 0..u64::from(count).min(MAX_NAPI_CACHE) {
            if let Ok(skb) = kernel.read_u64(at + cache_at + 8 * i) {
                out.push(skb);
            }
        }
    }
    out
}

/// The skbs of the skb caches.
pub fn skbuff(kernel: &Kernel, options: &Options) -> Result<Carved, KernelError> {
    let mut found = Collect::default();
    let Dumped { files, pcap } = skbuff_to(kernel, options, &mut found)?;
    Ok(Carved {
        found: found.into_analysis(),
        files,
        pcap,
    })
}

/// What [`skbuff_to`] gives besides the rows it reports.
pub struct Dumped {
    /// `(file name, bytes)` for `--dump`, in row order.
    pub files: Vec<(String, Vec<u8>)>,
    /// The pcapng file for `--pcap`.
    pub pcap: Option<Vec<u8>>,
}

/// The skbs of the skb caches, each row pushed to `report` as it is carved, with progress in slabs. When
/// `report` says it is cancelled, the carving stops between two slabs and warns so.
pub fn skbuff_to(
    kernel: &Kernel,
    options: &Options,
    report: &mut dyn Report<SkbuffRow>,
) -> Result<Dumped, KernelError> {
    let caches = skb_caches(kernel, report)?;
    let off = |m: &str| kernel.member_offset("sk_buff", m);
    let o = Offsets {
        head: off("head")?,
        data: off("data")?,
        tail: off("tail")?,
        end: off("end")?,
        len: off("len")?,
        data_len: off("data_len")?,
        users: off("users")?,
        protocol: off("protocol")?,
        network: off("network_header")?,
        transport: off("transport_header")?,
        sk: off("sk")?,
        tstamp: off("tstamp").ok(),
        size: kernel.symbols().layout("sk_buff")?.size(),
    };
    // Who holds each socket: the lowest pid, and its comm.
    let mut holders: HashMap<u64, (u32, String)> = HashMap::new();
    let sockets = SocketReader::new(kernel)?;
    let mut lines = Vec::new();
    for h in sockets::held_sockets(&sockets, |_| true, &mut lines)? {
        let e = holders.entry(h.info.sock_addr).or_insert((h.pid, h.comm.clone()));
        if h.pid < e.0 {
            *e = (h.pid, h.comm);
        }
    }
    for line in lines {
        report.warn(Warning::new(WarningKind::Other, line).reading("sockets held by tasks"));
    }
    let mut pcap = options.pcap.then(Pcapng::new);
    let (slabs, unreadable) = slab::slabs(kernel, &caches)?;
    if unreadable > 0 {
        report.warn(
            Warning::new(
                WarningKind::Unreadable,
                format!("{unreadable} page descriptors not in the capture: their slabs, if any, are not read"),
            )
            .reading("page descriptors"),
        );
    }
    // A slab the cache counts but the page array did not show (a smeared page descriptor) is a loss.
    for (i, cache) in caches.iter().enumerate() {
        let found = slabs.iter().filter(|s| s.cache == i).count() as u64;
        if let Some(counted) = slab::counted_slabs(kernel, cache) {
            if found < counted {
                report.warn(
                    Warning::new(
                        WarningKind::Inconsistent,
                        format!(
                            "{}: {found} of the {counted} slabs it counts found in the page array: the others' skbs are missing",
                            cache.name
                        ),
                    )
                    .reading("page array"),
                );
            }
        }
    }
    // Where the allocator keeps each cache's free objects, and the skbs NAPI keeps for reuse.
    let mut free: Vec<HashSet<u64>> = Vec::new();
    for (i, cache) in caches.iter().enumerate() {
        let mine: Vec<&slab::Slab> = slabs.iter().filter(|s| s.cache == i).collect();
        let found = slab::free_objects(kernel, cache, &mine);
        for p in found.problems {
            report.warn(p.reading("free lists"));
        }
        free.push(found.objects);
    }
    let napi: HashSet<u64> = napi_cached(kernel).into_iter().collect();
    let reader = SkbReader::new(kernel)?;
    let mut unchecked = 0usize;

    let mut files = Vec::new();
    let total = slabs.len() as u64;
    for (done, s) in slabs.iter().enumerate() {
        if report.cancelled() {
            report.warn(
                Warning::new(
                    WarningKind::Cancelled,
                    format!("cancelled after {done} of the {total} skb slabs: the rows are those carved so far"),
                )
                .reading("skb slabs"),
            );
            break;
        }
        report.progress(done as u64, total);
        let cache = &caches[s.cache];
        // An fclone object holds two skbs and their reference count (`struct sk_buff_fclones`).
        let per_object = if u64::from(cache.object_size) >= 2 * o.size {
            2
        } else {
            1
        };
        let slab_bytes = (crate::kernel::pages::PAGE_SIZE << cache.order.min(10)) as usize;
        let mut bytes = vec![0u8; slab_bytes];
        if let Some(missing) = kernel.read_present(s.base, &mut bytes) {
            report.warn(
                Warning::new(
                    WarningKind::Unreadable,
                    format!(
                        "{}: {} of the {slab_bytes} bytes of the slab at {:#x} not in the capture",
                        cache.name,
                        missing.iter().map(|(a, b)| b - a).sum::<usize>(),
                        s.base
                    ),
                )
                .at(s.base)
                .reading("slab"),
            );
        }
        for i in 0..u64::from(cache.objects) {
            for k in 0..per_object {
                let at = i * u64::from(cache.size) + k * o.size;
                if at + o.size > slab_bytes as u64 {
                    continue;
                }
                let b = &bytes[at as usize..(at + o.size) as usize];
                let addr = s.base + at;
                let (head, data) = (word(b, o.head, 8), word(b, o.data, 8));
                let (tail, end) = (word(b, o.tail, 4) as u32, word(b, o.end, 4) as u32);
                let users = word(b, o.users, 4) as u32;
                let ok = kernel.is_kernel_pointer(head)
                    && data >= head
                    && data - head <= u64::from(tail)
                    && tail <= end
                    && end > 0
                    && end < MAX_END;
                if !ok {
                    // A never-used object is zeros, a freed one keeps its pointers: an object in use whose
                    // pointers do not check out is a spoiled one.
                    // (The second skb of an fclone is left out of this: a free fclone keeps its freelist
                    // pointer where that skb starts.)
                    unchecked += usize::from(k == 0 && b.iter().any(|&x| x != 0) && users != 0);

                    continue;
                }
                let linear = tail - (data - head) as u32;
                let (len, data_len) = (word(b, o.len, 4) as u32, word(b, o.data_len, 4) as u32);
                // Free: on the allocator's free lists or NAPI's cache, or released (no user left).
                let object = s.base + i * u64::from(cache.size);
                let allocated = users >= 1 && !free[s.cache].contains(&object) && !napi.contains(&object);
                // Of a free object, the fields the allocator's free pointer did not overwrite.
                let pointer = u64::from(cache.free_offset);
                let intact = |field: u64, n: u64| {
                    let at = k * o.size + field;
                    allocated || at + n <= pointer || at >= pointer + 8
                };
                // In use but not a whole skb (being set up or torn down): no packet to show.
                if allocated && (len < data_len || len - data_len != linear) {
                    continue;
                }
                let lengths = intact(o.len, 4) && intact(o.data_len, 4) && len >= data_len && len - data_len == linear;
                if !allocated && !options.freed {
                    continue;
                }
                let mut linear_bytes = vec![0u8; linear as usize];
                let _ = kernel.read_present(data, &mut linear_bytes);
                // What --dump writes: an allocated skb's fragments too.
                let payload = match (allocated && options.dump).then(|| reader.read(addr)) {
                    Some(Ok(skb)) => reader.bytes(&skb, u64::MAX).bytes,
                    _ => linear_bytes.clone(),
                };
                let sk = word(b, o.sk, 8);
                let ethertype = u16::from_be_bytes((word(b, o.protocol, 2) as u16).to_le_bytes());
                let kept = if intact(o.protocol, 2) && intact(o.network, 2) && intact(o.transport, 2) {
                    headers(
                        kernel,
                        head,
                        end,
                        ethertype,
                        word(b, o.network, 2),
                        word(b, o.transport, 2),
                    )
                } else {
                    Headers::default()
                };
                let tstamp = o
                    .tstamp
                    .filter(|&t| intact(t, 8))
                    .map(|t| word(b, t, 8) as i64)
                    .filter(|t| WALL_CLOCK_NS.contains(t));
                let socket_addr = (sk != 0 && kernel.is_kernel_pointer(sk)).then_some(sk);
                let holder = socket_addr.and_then(|s| holders.get(&s));
                if let (Some(pcap), Some(network), true) = (pcap.as_mut(), kept.network, allocated) {
                    // The packet: its headers from the IP header up to `data`, then its data (the linear
                    // part and the fragments).
                    let start = head + network;
                    let headers_len = data.checked_sub(start).filter(|&l| l < 1 << 16);
                    let body = reader.read(addr).map(|skb| reader.bytes(&skb, u64::MAX));
                    if let (Some(headers_len), Ok(body)) = (headers_len, body) {
                        let mut packet = vec![0u8; headers_len as usize];
                        if kernel.read_present(start, &mut packet).is_none() && body.missing == 0 {
                            packet.extend_from_slice(&body.bytes);
                            // A coalesced skb holds more than its headers' length: they describe its first
                            // segment.
                            let ip_len = match packet.first().map(|b| b >> 4) {
                                Some(4) => packet.get(2..4).map(|l| u16::from_be_bytes([l[0], l[1]]) as usize),
                                Some(6) => packet.get(4..6).map(|l| u16::from_be_bytes([l[0], l[1]]) as usize + 40),
                                _ => None,
                            };
                            let coalesced = if ip_len.is_some_and(|l| l < packet.len()) {
                                format!(
                                    ", coalesced: {} bytes, its headers describe the first segment",
                                    packet.len()
                                )
                            } else {
                                String::new()
                            };
                            let when = match tstamp {
                                Some(_) => "stamped by the kernel",
                                None => "no timestamp (the kernel stamped none)",
                            };
                            let comment = format!(
                                "carved from {} at {addr:#x} ({}, {when}{coalesced}); socket {}",
                                cache.name,
                                if allocated { "allocated" } else { "freed" },
                                socket_addr.map_or("none".to_string(), |s| format!("{s:#x}"))
                            );
                            pcap.packet(tstamp.map_or(0, |t| t as u64), &packet, &comment);
                        }
                    }
                }
                report.row(SkbuffRow {
                    skb_addr: addr,
                    cache: cache.name.clone(),
                    state: if allocated { "allocated" } else { "freed" },
                    len: if lengths { len } else { linear },
                    data_len: lengths.then_some(data_len),
                    protocol: intact(o.protocol, 2).then(|| ethertype_name(ethertype)),
                    transport: kept.transport,
                    src_addr: kept.src.as_ref().map(|s| s.0.clone()),
                    src_port: kept.src.and_then(|s| s.1),
                    dst_addr: kept.dst.as_ref().map(|d| d.0.clone()),
                    dst_port: kept.dst.and_then(|d| d.1),
                    socket_addr,
                    pid: holder.map(|h| h.0),
                    comm: holder.map(|h| h.1.clone()),
                    tstamp: tstamp.map(|t| iso8601_ns(i128::from(t))),
                    head_addr: head,
                    preview: preview(&linear_bytes[..linear_bytes.len().min(super::queues::PREVIEW_BYTES)]),
                });
                if options.dump {
                    files.push((format!("{addr:#x}.bin"), payload));
                }
            }
        }
    }
    if unchecked > 0 {
        report.warn(
            Warning::new(
                WarningKind::Inconsistent,
                format!(
                    "{unchecked} objects of the skb caches in use whose pointers do not check out (spoiled pages?): left out"
                ),
            )
            .reading("skb objects"),
        );
    }
    Ok(Dumped {
        files,
        pcap: pcap.map(Pcapng::into_bytes),
    })
}
