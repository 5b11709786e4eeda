//! `skbuff`: every socket buffer in the kernel's skb slab caches (`skbuff_head_cache`, and
//! `skbuff_fclone_cache` whose objects hold two), allocated and, with `--freed`, freed ones whose pointers
//! still check out: packets nothing else in memory holds any more. The slabs are [`kernel::slab`]'s.
//!
//! An object is taken as an skb when `head` is a kernel pointer, `data` lies in `head..head + end`, `tail`
//! between `data` and `end`, and `end` is below 1 MiB; an allocated one (`users` at least 1) must also
//! have `len - data_len` equal to its linear part. A freed object keeps its fields but where SLUB put the
//! freelist pointer (`kmem_cache.offset`, on these kernels over `len` and `data_len`): its `len` is its
//! linear part and `data_len` is null. `--dump DIR` writes each skb's bytes (linear part and fragments for
//! an allocated skb, linear part for a freed one) as `SKB_ADDR.bin`.

use serde::Serialize;

use super::queues::preview;
use super::Analysis;
use crate::kernel::skb::SkbReader;
use crate::kernel::slab::{self, Cache};

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
    /// `allocated` (`users` at least 1) or `freed`.
    pub state: &'static str,
    /// Bytes of data (a freed skb's: its linear part).
    pub len: u32,
    /// Bytes in fragments; null for a freed skb (its field is the freelist pointer's).
    pub data_len: Option<u32>,
    /// `skb->protocol`: the ethertype's name (`ipv4`, `ipv6`, `arp`) or its number.
    pub protocol: Option<String>,
    /// The socket it is charged to (`skb->sk`); null for none.
    #[serde(with = "crate::hex::option")]
    pub socket_addr: Option<u64>,
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
}

/// What [`skbuff`] gives: rows, and the bytes of each skb when asked.
pub struct Carved {
    /// Rows and warnings.
    pub found: Analysis<SkbuffRow>,
    /// `(file name, bytes)` for `--dump`, in row order.
    pub files: Vec<(String, Vec<u8>)>,
}

struct Offsets {
    head: u64,
    data: u64,
    tail: u64,
    end: u64,
    len: u64,
    data_len: u64,
    users: u64,
    protocol: u64,
    sk: u64,
    size: u64,
}

fn word(b: &[u8], at: u64, n: usize) -> u64 {
    let at = at as usize;
    let mut v = [0u8; 8];
    if let Some(s) = b.get(at..at + n) {
        v[..n].copy_from_slice(s);
    }
    u64::from_le_bytes(v)
}

fn ethertype(p: u16) -> String {
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
fn skb_caches(kernel: &Kernel, warnings: &mut Vec<String>) -> Result<Vec<Cache>, KernelError> {
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
            Err(e) => warnings.push(format!("skb cache at {addr:#x}: {e}")),
        }
    }
    if out.is_empty() {
        out = slab::caches(kernel, &CACHES)?;
    }
    if out.is_empty() {
        warnings.push(format!("no skb cache found ({})", CACHES.join(", ")));
    }
    // Whether a cache holds fclones is its size: two skbs and a reference count.
    Ok(out)
}

/// The skbs of the skb caches.
pub fn skbuff(kernel: &Kernel, options: &Options) -> Result<Carved, KernelError> {
    let mut warnings = Vec::new();
    let caches = skb_caches(kernel, &mut warnings)?;
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
        sk: off("sk")?,
        size: kernel.symbols().layout("sk_buff")?.size(),
    };
    let (slabs, unreadable) = slab::slabs(kernel, &caches)?;
    if unreadable > 0 {
        warnings.push(format!(
            "{unreadable} page descriptors not in the capture: their slabs, if any, are not read"
        ));
    }
    let reader = SkbReader::new(kernel)?;

    let mut rows = Vec::new();
    let mut files = Vec::new();
    for s in &slabs {
        let cache = &caches[s.cache];
        // An fclone object holds two skbs and their reference count (`struct sk_buff_fclones`).
        let per_object = if u64::from(cache.object_size) >= 2 * o.size {
            2
        } else {
            1
        };
        let slab_bytes = (crate::kernel::pages::PAGE_SIZE << cache.order.min(10)) as usize;
        let mut bytes = vec![0u8; slab_bytes];
        if kernel
            .read_present(s.base, &mut bytes)
            .is_some_and(|m| m.len() * 4096 >= slab_bytes)
        {
            continue;
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
                    continue;
                }
                let linear = tail - (data - head) as u32;
                let (len, data_len) = (word(b, o.len, 4) as u32, word(b, o.data_len, 4) as u32);
                let allocated = users >= 1;
                if allocated && (len < data_len || len - data_len != linear) {
                    continue;
                }
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
                rows.push(SkbuffRow {
                    skb_addr: addr,
                    cache: cache.name.clone(),
                    state: if allocated { "allocated" } else { "freed" },
                    len: if allocated { len } else { linear },
                    data_len: allocated.then_some(data_len),
                    protocol: Some(ethertype(u16::from_be_bytes(
                        (word(b, o.protocol, 2) as u16).to_le_bytes(),
                    )))
                    .filter(|_| allocated),
                    socket_addr: (sk != 0 && kernel.is_kernel_pointer(sk)).then_some(sk),
                    head_addr: head,
                    preview: preview(&linear_bytes[..linear_bytes.len().min(super::queues::PREVIEW_BYTES)]),
                });
                if options.dump {
                    files.push((format!("{addr:#x}.bin"), payload));
                }
            }
        }
    }
    Ok(Carved {
        found: Analysis { rows, warnings },
        files,
    })
}
