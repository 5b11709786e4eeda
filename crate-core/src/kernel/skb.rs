//! Socket buffers (`struct sk_buff`) and the queues that hold them: `sk_buff_head` lists (a socket's
//! receive, write and error queues), rb-trees of skbs (TCP's retransmit queue `tcp_rtx_queue` and its
//! out-of-order queue), and the bytes an skb carries, as `skb_copy_bits()` gathers them: the linear part
//! (`skb->data`, `skb_headlen() = len - data_len` bytes), then each paged fragment of
//! `skb_shinfo(skb)->frags[]` (`skb_shared_info` at `skb_end_pointer()`: `head + end` where `end` is an
//! offset), then each skb on `skb_shinfo(skb)->frag_list`. A fragment's `struct page *` is turned into its
//! direct-map address as `page_to_virt()` does on x86-64 (see [`PageMap`]). The layout is the kernel's
//! [`SkbLayout`], chosen once.
//!
//! Walks are bounded; a broken or cyclic list stops with a problem, keeping the skbs read before it.

use std::collections::HashSet;

use super::layouts::{RetransmitQueue, SkbEnd, SkbFrag, SkbLayout};
use super::pages::PageMap;
use super::{Kernel, KernelError};

/// Most skbs taken from one queue.
pub const MAX_QUEUE: usize = 1 << 16;
/// Most bytes read from one skb (BIG TCP skbs reach 512 KiB).
pub const MAX_SKB_BYTES: u64 = 4 << 20;
/// Deepest `frag_list` nesting followed (the kernel builds one level).
const MAX_FRAG_DEPTH: usize = 2;
/// `NET_IOV`: a `netmem_ref` with bit 0 set is a `net_iov` (device memory), not a page.
const NET_IOV: u64 = 1;

/// The skbs of a queue, in queue order, and why the walk stopped early if it did.
#[derive(Debug, Clone, Default)]
pub struct SkbWalk {
    /// Addresses of the skbs.
    pub skbs: Vec<u64>,
    /// Set when the queue could not be walked to its end (an unreadable or cyclic link, the bound), or
    /// its length differs from the count it keeps.
    pub problem: Option<String>,
}

/// What an skb says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skb {
    /// Address of the `struct sk_buff`.
    pub addr: u64,
    /// `len`: bytes of data, linear part, fragments and frag_list together.
    pub len: u32,
    /// `data_len`: bytes outside the linear part.
    pub data_len: u32,
    /// `truesize`: the memory the skb is charged for (what a socket's memory accounting sums).
    pub truesize: u32,
    /// `sk`: the socket it is charged to (for a connection request on a UNIX listening socket's queue,
    /// the embryo socket the connection will be accepted as); 0 when none or unreadable.
    pub sk: u64,
    /// The control buffer `cb[]` (48 bytes): `tcp_skb_cb`, `unix_skb_parms`... by protocol.
    pub cb: Vec<u8>,
}

/// The bytes of an skb.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkbBytes {
    /// The data, `len` bytes (bytes that could not be read are zero).
    pub bytes: Vec<u8>,
    /// How many of them could not be read (pages not in the capture, a fragment in device memory, a
    /// fragment or frag_list that does not add up to `len`).
    pub missing: u64,
}

/// Reads skbs and their queues, with the offsets resolved once.
pub struct SkbReader<'k> {
    kernel: &'k Kernel,
    layout: SkbLayout,
    /// `sk_buff.next`, `.prev`, `.rbnode`, `.len`, `.data_len`, `.truesize`, `.head`, `.data`, `.end`,
    /// `.cb`, and `cb`'s size.
    next: u64,
    prev: u64,
    rbnode: u64,
    len: u64,
    data_len: u64,
    truesize: u64,
    sk: u64,
    head: u64,
    data: u64,
    end: u64,
    cb: u64,
    cb_size: u64,
    /// `sk_buff_head.next`, `.qlen`.
    head_next: u64,
    head_qlen: u64,
    /// `rb_node.rb_left`, `.rb_right`; `rb_root.rb_node`.
    rb_left: u64,
    rb_right: u64,
    rb_root: u64,
    /// `skb_shared_info.nr_frags`, `.frag_list`, `.frags`, the array's length and stride.
    nr_frags: u64,
    frag_list: u64,
    frags: u64,
    max_frags: u64,
    frag_size: u64,
    /// The fragment's page (or netmem), length and offset members.
    frag_page: u64,
    frag_len: u64,
    frag_offset: u64,
    /// Where fragments' pages are.
    pages: PageMap,
}

impl<'k> SkbReader<'k> {
    /// A reader for `kernel`; fails when its symbols have no skb layout memscope knows, or the direct
    /// map's bases cannot be read.
    pub fn new(kernel: &'k Kernel) -> Result<Self, KernelError> {
        let layout = kernel.layouts().skb()?;
        let symbols = kernel.symbols();
        let off = |ty: &str, path: &str| kernel.member_offset(ty, path);
        let shinfo = symbols.layout("skb_shared_info")?;
        let (frags, frags_ty) = shinfo.field("frags")?;
        let crate::symbols::TypeRef::Array { count, element } = frags_ty else {
            return Err(KernelError::Layout("skb_shared_info.frags is not an array".into()));
        };
        let frag_type = element
            .user_name()
            .ok_or_else(|| KernelError::Layout("skb_shared_info.frags holds no struct".into()))?
            .to_string();
        let (frag_page, frag_len, frag_offset) = match layout.frag {
            SkbFrag::Netmem => ("netmem", "len", "offset"),
            SkbFrag::BioVec => ("bv_page", "bv_len", "bv_offset"),
        };
        let cb_size = match symbols.layout("sk_buff")?.field("cb")?.1 {
            crate::symbols::TypeRef::Array { count, .. } => *count,
            _ => 48,
        };
        Ok(SkbReader {
            kernel,
            layout,
            next: off("sk_buff", "next")?,
            prev: off("sk_buff", "prev")?,
            rbnode: off("sk_buff", "rbnode")?,
            len: off("sk_buff", "len")?,
            data_len: off("sk_buff", "data_len")?,
            truesize: off("sk_buff", "truesize")?,
            sk: off("sk_buff", "sk")?,
            head: off("sk_buff", "head")?,
            data: off("sk_buff", "data")?,
            end: off("sk_buff", "end")?,
            cb: off("sk_buff", "cb")?,
            cb_size,
            head_next: off("sk_buff_head", "next")?,
            head_qlen: off("sk_buff_head", "qlen")?,
            rb_left: off("rb_node", "rb_left")?,
            rb_right: off("rb_node", "rb_right")?,
            rb_root: off("rb_root", "rb_node")?,
            nr_frags: shinfo.field("nr_frags")?.0,
            frag_list: shinfo.field("frag_list")?.0,
            frags,
            max_frags: *count,
            frag_size: symbols.size_of(element)?,
            frag_page: off(&frag_type, frag_page)?,
            frag_len: off(&frag_type, frag_len)?,
            frag_offset: off(&frag_type, frag_offset)?,
            pages: PageMap::new(kernel)?,
        })
    }

    /// The layout in use.
    pub fn layout(&self) -> SkbLayout {
        self.layout
    }

    fn u32_at(&self, addr: u64) -> Result<u32, KernelError> {
        let mut b = [0u8; 4];
        self.kernel
            .read(addr, &mut b)
            .map_err(|e| KernelError::memory(format!("u32 at {addr:#x}"), Some(e)))?;
        Ok(u32::from_le_bytes(b))
    }

    fn u64_at(&self, addr: u64) -> Result<u64, KernelError> {
        self.kernel
            .read_u64(addr)
            .map_err(|e| KernelError::memory(format!("pointer at {addr:#x}"), Some(e)))
    }

    /// The skbs of the `sk_buff_head` at `head`, first to last. Each skb's `prev` must point back; the
    /// walk stops at an unreadable link, a cycle or [`MAX_QUEUE`] skbs, and a count different from
    /// `qlen` is a problem too.
    pub fn queue(&self, head: u64) -> SkbWalk {
        let mut walk = SkbWalk::default();
        let qlen = self.u32_at(head.wrapping_add(self.head_qlen));
        let mut seen = HashSet::new();
        let mut prev = head;
        let mut node = match self.u64_at(head.wrapping_add(self.head_next)) {
            Ok(n) => n,
            Err(e) => {
                walk.problem = Some(format!("queue head at {head:#x}: {e}"));
                return walk;
            }
        };
        while node != head {
            if node == 0 || !self.kernel.is_kernel_pointer(node) {
                walk.problem = Some(format!("skb link {prev:#x} -> {node:#x} is not a kernel pointer"));
                return walk;
            }
            if !seen.insert(node) {
                walk.problem = Some(format!("met skb {node:#x} twice (a cycle)"));
                return walk;
            }
            if walk.skbs.len() >= MAX_QUEUE {
                walk.problem = Some(format!("stopped after {MAX_QUEUE} skbs"));
                return walk;
            }
            match self.u64_at(node.wrapping_add(self.prev)) {
                Ok(p) if p == prev => {}
                Ok(p) => {
                    walk.problem = Some(format!(
                        "skb {node:#x} does not point back to {prev:#x} (it points to {p:#x})"
                    ));
                    return walk;
                }
                Err(e) => {
                    walk.problem = Some(format!("skb {node:#x}: {e}"));
                    return walk;
                }
            }
            walk.skbs.push(node);
            prev = node;
            node = match self.u64_at(node.wrapping_add(self.next)) {
                Ok(n) => n,
                Err(e) => {
                    walk.problem = Some(format!("skb {prev:#x}: next link: {e}"));
                    return walk;
                }
            };
        }
        match qlen {
            Ok(q) if q as usize != walk.skbs.len() => {
                walk.problem = Some(format!("queue holds {} skbs but counts {q}", walk.skbs.len()));
            }
            Err(e) => walk.problem = Some(format!("queue length: {e}")),
            _ => {}
        }
        walk
    }

    /// The skbs of the `rb_root` at `root` (its nodes are each skb's `rbnode`), in order (lowest sequence
    /// first); bounded, a node met twice or an unreadable link stops that branch with a problem.
    pub fn rb_tree(&self, root: u64) -> SkbWalk {
        let mut walk = SkbWalk::default();
        let top = match self.u64_at(root.wrapping_add(self.rb_root)) {
            Ok(n) => n,
            Err(e) => {
                walk.problem = Some(format!("tree root at {root:#x}: {e}"));
                return walk;
            }
        };
        let mut seen = HashSet::new();
        // In-order traversal with an explicit stack of nodes whose left subtree is done.
        let mut stack: Vec<u64> = Vec::new();
        let mut node = top;
        loop {
            while node != 0 {
                if !self.kernel.is_kernel_pointer(node) || !seen.insert(node) || seen.len() > MAX_QUEUE {
                    walk.problem = Some(format!(
                        "tree node {node:#x}: not a kernel pointer, met twice, or past {MAX_QUEUE} nodes"
                    ));
                    break;
                }
                stack.push(node);
                node = match self.u64_at(node.wrapping_add(self.rb_left)) {
                    Ok(n) => n,
                    Err(e) => {
                        walk.problem = Some(format!("tree node {node:#x}: {e}"));
                        0
                    }
                };
            }
            let Some(n) = stack.pop() else { break };
            walk.skbs.push(n.wrapping_sub(self.rbnode));
            node = match self.u64_at(n.wrapping_add(self.rb_right)) {
                Ok(r) => r,
                Err(e) => {
                    walk.problem = Some(format!("tree node {n:#x}: {e}"));
                    0
                }
            };
        }
        walk
    }

    /// Read an skb's header.
    pub fn read(&self, addr: u64) -> Result<Skb, KernelError> {
        let mut cb = vec![0u8; self.cb_size as usize];
        self.kernel
            .read(addr.wrapping_add(self.cb), &mut cb)
            .map_err(|e| KernelError::memory(format!("sk_buff.cb at {addr:#x}"), Some(e)))?;
        Ok(Skb {
            addr,
            len: self.u32_at(addr.wrapping_add(self.len))?,
            data_len: self.u32_at(addr.wrapping_add(self.data_len))?,
            truesize: self.u32_at(addr.wrapping_add(self.truesize))?,
            sk: self.u64_at(addr.wrapping_add(self.sk)).unwrap_or(0),
            cb,
        })
    }

    /// The direct-map address of the memory a fragment's page (or netmem) names; `None` for a `net_iov`.
    fn page_address(&self, page: u64) -> Option<u64> {
        if self.layout.frag == SkbFrag::Netmem && page & NET_IOV != 0 {
            return None;
        }
        self.pages.direct_address(page)
    }

    /// Read `len` bytes at `addr` into `out`, counting what is not in the capture as missing.
    fn gather(&self, addr: u64, len: u64, out: &mut SkbBytes) {
        let start = out.bytes.len();
        out.bytes.resize(start + len as usize, 0);
        if let Some(gaps) = self.kernel.read_present(addr, &mut out.bytes[start..]) {
            out.missing += gaps.iter().map(|(a, b)| (b - a) as u64).sum::<u64>();
        }
    }

    /// The bytes of `skb`, `len` of them, or the first `limit` (and at most [`MAX_SKB_BYTES`]).
    pub fn bytes(&self, skb: &Skb, limit: u64) -> SkbBytes {
        let mut out = SkbBytes::default();
        let want = u64::from(skb.len).min(MAX_SKB_BYTES).min(limit) as usize;
        self.bytes_into(skb, 0, want, &mut out);
        if out.bytes.len() < want {
            out.missing += (want - out.bytes.len()) as u64;
            out.bytes.resize(want, 0);
        }
        out.bytes.truncate(want);
        out
    }

    fn bytes_into(&self, skb: &Skb, depth: usize, limit: usize, out: &mut SkbBytes) {
        let headlen = u64::from(skb.len.saturating_sub(skb.data_len));
        let at = skb.addr;
        let data = self.u64_at(at.wrapping_add(self.data)).unwrap_or(0);
        let room = (limit.saturating_sub(out.bytes.len())) as u64;
        if data != 0 {
            self.gather(data, headlen.min(room), out);
        } else {
            out.missing += headlen.min(room);
            out.bytes.resize(out.bytes.len() + headlen.min(room) as usize, 0);
        }
        if skb.data_len == 0 {
            return;
        }
        let Some(shinfo) = self.shared_info(at) else {
            return;
        };
        let mut nr = [0u8; 1];
        if self.kernel.read(shinfo.wrapping_add(self.nr_frags), &mut nr).is_err() {
            return;
        }
        for i in 0..u64::from(nr[0]).min(self.max_frags) {
            if out.bytes.len() >= limit {
                return;
            }
            let frag = shinfo.wrapping_add(self.frags).wrapping_add(i * self.frag_size);
            let (Ok(page), Ok(len), Ok(offset)) = (
                self.u64_at(frag.wrapping_add(self.frag_page)),
                self.u32_at(frag.wrapping_add(self.frag_len)),
                self.u32_at(frag.wrapping_add(self.frag_offset)),
            ) else {
                return;
            };
            let len = u64::from(len).min((limit - out.bytes.len()) as u64);
            match self.page_address(page) {
                Some(base) => self.gather(base.wrapping_add(u64::from(offset)), len, out),
                None => {
                    out.missing += len;
                    out.bytes.resize(out.bytes.len() + len as usize, 0);
                }
            }
        }
        if depth >= MAX_FRAG_DEPTH {
            return;
        }
        let mut next = self.u64_at(shinfo.wrapping_add(self.frag_list)).unwrap_or(0);
        let mut seen = HashSet::new();
        while next != 0 && self.kernel.is_kernel_pointer(next) && seen.insert(next) && out.bytes.len() < limit {
            let Ok(child) = self.read(next) else { return };
            self.bytes_into(&child, depth + 1, limit, out);
            next = self.u64_at(next.wrapping_add(self.next)).unwrap_or(0);
        }
    }

    /// Where an skb's `skb_shared_info` is (`skb_end_pointer()`).
    fn shared_info(&self, skb: u64) -> Option<u64> {
        match self.layout.end {
            SkbEnd::Offset => {
                let head = self.u64_at(skb.wrapping_add(self.head)).ok()?;
                let end = self.u32_at(skb.wrapping_add(self.end)).ok()?;
                Some(head.wrapping_add(u64::from(end)))
            }
            SkbEnd::Pointer => self.u64_at(skb.wrapping_add(self.end)).ok(),
        }
    }
}

impl Skb {
    /// A little-endian `u32` of the control buffer at `offset` (`tcp_skb_cb.seq`,
    /// `unix_skb_parms.consumed`...).
    pub fn cb_u32(&self, offset: u64) -> Option<u32> {
        let o = usize::try_from(offset).ok()?;
        Some(u32::from_le_bytes(self.cb.get(o..o + 4)?.try_into().ok()?))
    }
}

/// One of a socket's queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// `sk_receive_queue`: data received and not read (a UNIX socket's pending data sits in the
    /// receiving socket's).
    Receive,
    /// `sk_write_queue`: data not sent yet (TCP's unsent data; UDP's corked datagram).
    Send,
    /// `sk_error_queue`: ICMP errors and transmit timestamps waiting for `MSG_ERRQUEUE`.
    Error,
    /// `tcp_rtx_queue`: TCP data sent and not acknowledged.
    Retransmit,
    /// `tcp_sock.out_of_order_queue`: TCP segments received past a gap.
    OutOfOrder,
}

impl Queue {
    /// The name rows give it: `receive`, `send`, `error`, `retransmit`, `out_of_order`.
    pub fn name(self) -> &'static str {
        match self {
            Queue::Receive => "receive",
            Queue::Send => "send",
            Queue::Error => "error",
            Queue::Retransmit => "retransmit",
            Queue::OutOfOrder => "out_of_order",
        }
    }
}

/// Where a `struct sock` keeps its queues and read positions (offsets resolved once), and what of an skb
/// at the head of a receive queue its reader already took.
#[derive(Debug, Clone)]
pub struct SocketQueues {
    /// `sock.sk_receive_queue`, `.sk_write_queue`, `.sk_error_queue`.
    receive: u64,
    write: u64,
    error: u64,
    /// `sock.tcp_rtx_queue`, where [`RetransmitQueue::RbTree`].
    retransmit: Option<u64>,
    /// `tcp_sock.out_of_order_queue`, `tcp_sock.copied_seq`.
    out_of_order: u64,
    copied_seq: u64,
    /// `tcp_skb_cb.seq` and `unix_skb_parms.consumed` within `skb->cb`.
    tcp_seq: u64,
    unix_consumed: u64,
}

impl SocketQueues {
    /// The offsets of `kernel`'s symbols; fails when one is missing.
    pub fn new(kernel: &Kernel, skbs: &SkbReader<'_>) -> Result<SocketQueues, KernelError> {
        let off = |ty: &str, member: &str| kernel.member_offset(ty, member);
        Ok(SocketQueues {
            receive: off("sock", "sk_receive_queue")?,
            write: off("sock", "sk_write_queue")?,
            error: off("sock", "sk_error_queue")?,
            retransmit: match skbs.layout().retransmit {
                RetransmitQueue::RbTree => Some(off("sock", "tcp_rtx_queue")?),
                RetransmitQueue::WriteQueue => None,
            },
            out_of_order: off("tcp_sock", "out_of_order_queue")?,
            copied_seq: off("tcp_sock", "copied_seq")?,
            tcp_seq: off("tcp_skb_cb", "seq")?,
            unix_consumed: off("unix_skb_parms", "consumed")?,
        })
    }

    /// The queues of the socket at `sk`: receive, send and error; for a TCP socket (`tcp`) also the
    /// retransmit queue (where the kernel has one) and the out-of-order queue.
    pub fn walk(&self, skbs: &SkbReader<'_>, sk: u64, tcp: bool) -> Vec<(Queue, SkbWalk)> {
        let mut walks = vec![
            (Queue::Receive, skbs.queue(sk.wrapping_add(self.receive))),
            (Queue::Send, skbs.queue(sk.wrapping_add(self.write))),
            (Queue::Error, skbs.queue(sk.wrapping_add(self.error))),
        ];
        if tcp {
            if let Some(o) = self.retransmit {
                walks.push((Queue::Retransmit, skbs.rb_tree(sk.wrapping_add(o))));
            }
            walks.push((Queue::OutOfOrder, skbs.rb_tree(sk.wrapping_add(self.out_of_order))));
        }
        walks
    }

    /// The receive queue of the socket at `sk` alone.
    pub fn receive(&self, skbs: &SkbReader<'_>, sk: u64) -> SkbWalk {
        skbs.queue(sk.wrapping_add(self.receive))
    }

    /// A TCP socket's read position (`tcp_sock.copied_seq`).
    pub fn copied_seq(&self, kernel: &Kernel, sk: u64) -> Result<u32, KernelError> {
        let at = sk.wrapping_add(self.copied_seq);
        let mut b = [0u8; 4];
        kernel
            .read(at, &mut b)
            .map_err(|e| KernelError::memory(format!("tcp_sock.copied_seq at {at:#x}"), Some(e)))?;
        Ok(u32::from_le_bytes(b))
    }

    /// Bytes of a TCP receive-queue skb already read: `copied_seq - TCP_SKB_CB(skb)->seq` when the read
    /// position lies inside it (the offset `tcp_recvmsg()` starts copying at), else 0.
    pub fn tcp_consumed(&self, skb: &Skb, copied_seq: u32) -> Option<u32> {
        let read = copied_seq.wrapping_sub(self.tcp_seq(skb)?);
        Some(if read < skb.len { read } else { 0 })
    }

    /// The first sequence number of a TCP skb (`TCP_SKB_CB(skb)->seq`).
    pub fn tcp_seq(&self, skb: &Skb) -> Option<u32> {
        skb.cb_u32(self.tcp_seq)
    }

    /// Bytes of a UNIX stream receive-queue skb already read (`UNIXCB(skb).consumed`).
    pub fn unix_consumed(&self, skb: &Skb) -> Option<u32> {
        skb.cb_u32(self.unix_consumed).map(|c| c.min(skb.len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::testkit::{self, Memory, IMAGE};

    /// `sk_buff`, `sk_buff_head`, `skb_shared_info` with netmem fragments, `rb_node` at their 6.12 offsets;
    /// `vmemmap_base` and `page_offset_base` at `IMAGE + 0x100` and `+ 0x108`.
    fn isf() -> String {
        let ptr = r#"{"kind": "pointer", "subtype": {"kind": "base", "name": "unsigned char"}}"#;
        let uint = r#"{"kind": "base", "name": "unsigned int"}"#;
        let ulong = r#"{"kind": "base", "name": "long unsigned int"}"#;
        let rb = r#"{"kind": "pointer", "subtype": {"kind": "struct", "name": "rb_node"}}"#;
        let types = format!(
            r#""rb_node": {{"kind": "struct", "size": 24, "fields": {{
                  "__rb_parent_color": {{"type": {ulong}, "offset": 0}},
                  "rb_right": {{"type": {rb}, "offset": 8}},
                  "rb_left": {{"type": {rb}, "offset": 16}}}}}},
                "rb_root": {{"kind": "struct", "size": 8, "fields": {{"rb_node": {{"type": {rb}, "offset": 0}}}}}},
                "sk_buff": {{"kind": "struct", "size": 232, "fields": {{
                  "unnamed_field_0": {{"type": {{"kind": "union", "name": "skb_links"}}, "offset": 0, "anonymous": true}},
                  "sk": {{"type": {ptr}, "offset": 24}},
                  "cb": {{"type": {{"kind": "array", "count": 48, "subtype": {{"kind": "base", "name": "char"}}}}, "offset": 40}},
                  "len": {{"type": {uint}, "offset": 112}},
                  "data_len": {{"type": {uint}, "offset": 116}},
                  "end": {{"type": {uint}, "offset": 192}},
                  "head": {{"type": {ptr}, "offset": 200}},
                  "data": {{"type": {ptr}, "offset": 208}},
                  "truesize": {{"type": {uint}, "offset": 216}}}}}},
                "skb_links": {{"kind": "union", "size": 24, "fields": {{
                  "next": {{"type": {ptr}, "offset": 0}},
                  "prev": {{"type": {ptr}, "offset": 8}},
                  "rbnode": {{"type": {{"kind": "struct", "name": "rb_node"}}, "offset": 0}}}}}},
                "sk_buff_head": {{"kind": "struct", "size": 24, "fields": {{
                  "next": {{"type": {ptr}, "offset": 0}},
                  "prev": {{"type": {ptr}, "offset": 8}},
                  "qlen": {{"type": {uint}, "offset": 16}}}}}},
                "skb_frag": {{"kind": "struct", "size": 16, "fields": {{
                  "netmem": {{"type": {ulong}, "offset": 0}},
                  "len": {{"type": {uint}, "offset": 8}},
                  "offset": {{"type": {uint}, "offset": 12}}}}}},
                "skb_shared_info": {{"kind": "struct", "size": 320, "fields": {{
                  "nr_frags": {{"type": {{"kind": "base", "name": "unsigned char"}}, "offset": 2}},
                  "frag_list": {{"type": {ptr}, "offset": 8}},
                  "frags": {{"type": {{"kind": "array", "count": 17, "subtype": {{"kind": "struct", "name": "skb_frag"}}}}, "offset": 48}}}}}},
                "page": {{"kind": "struct", "size": 64, "fields": {{"flags": {{"type": {ulong}, "offset": 0}}}}}},
                "sock": {{"kind": "struct", "size": 776, "fields": {{"tcp_rtx_queue": {{"type": {{"kind": "struct", "name": "rb_root"}}, "offset": 256}}}}}}"#
        );
        let symbols = format!(
            r#""vmemmap_base": {{"address": {}}}, "page_offset_base": {{"address": {}}}"#,
            IMAGE + 0x100,
            IMAGE + 0x108
        );
        testkit::isf(&types, &symbols)
    }

    const VMEMMAP: u64 = IMAGE + 0x10_0000;

    fn put(mem: &mut Memory, at: u64, v: u64) {
        mem.write(at, &v.to_le_bytes());
    }

    fn put32(mem: &mut Memory, at: u64, v: u32) {
        mem.write(at, &v.to_le_bytes());
    }

    /// An skb at `at` linked `next`/`prev`, with `len`, `data_len`, `data` and `head + end`.
    fn skb(mem: &mut Memory, at: u64, links: (u64, u64), len: u32, data_len: u32, data: u64, head: u64) {
        put(mem, at, links.0);
        put(mem, at + 8, links.1);
        put32(mem, at + 112, len);
        put32(mem, at + 116, data_len);
        put32(mem, at + 192, 0x100);
        put(mem, at + 200, head);
        put(mem, at + 208, data);
        put32(mem, at + 216, 768);
    }

    fn memory() -> Memory {
        let mut mem = Memory::new();
        put(&mut mem, IMAGE + 0x100, VMEMMAP);
        // The direct map starts at the image: page frame N is at IMAGE + N * 4096.
        put(&mut mem, IMAGE + 0x108, IMAGE);
        let (head, a, b) = (IMAGE + 0x1000, IMAGE + 0x2000, IMAGE + 0x3000);
        put(&mut mem, head, a);
        put(&mut mem, head + 8, b);
        put32(&mut mem, head + 16, 2);
        // A: "hello " linear, "world" in a fragment of page frame 8 at offset 0x10.
        skb(&mut mem, a, (b, head), 11, 5, IMAGE + 0x5000, IMAGE + 0x6000);
        mem.write(IMAGE + 0x5000, b"hello ");
        mem.write(IMAGE + 0x6100 + 2, &[1]);
        put(&mut mem, IMAGE + 0x6100 + 48, VMEMMAP + 8 * 64);
        put32(&mut mem, IMAGE + 0x6100 + 56, 5);
        put32(&mut mem, IMAGE + 0x6100 + 60, 0x10);
        mem.write(IMAGE + 0x8010, b"world");
        // B: four bytes in device memory (a net_iov: bit 0 of the netmem set).
        skb(&mut mem, b, (head, a), 4, 4, IMAGE + 0x7000, IMAGE + 0x7000);
        mem.write(IMAGE + 0x7100 + 2, &[1]);
        put(&mut mem, IMAGE + 0x7100 + 48, (VMEMMAP + 9 * 64) | 1);
        put32(&mut mem, IMAGE + 0x7100 + 56, 4);
        // A queue whose only skb links to itself, and one whose first skb does not point back to it.
        let (cyclic, c) = (IMAGE + 0x1100, IMAGE + 0x4000);
        put(&mut mem, cyclic, c);
        skb(&mut mem, c, (c, cyclic), 1, 0, IMAGE + 0x5000, IMAGE + 0x6000);
        put(&mut mem, IMAGE + 0x1200, b);
        // A tree: D with E on its left and F on its right; and one whose node is its own left child.
        let (d, e, f) = (IMAGE + 0x9000, IMAGE + 0xa000, IMAGE + 0xb000);
        put(&mut mem, IMAGE + 0x1300, d);
        put(&mut mem, d + 16, e);
        put(&mut mem, d + 8, f);
        let g = IMAGE + 0xc000;
        put(&mut mem, IMAGE + 0x1308, g);
        put(&mut mem, g + 16, g);
        mem
    }

    #[test]
    fn queue_walk_and_bytes_through_fragments() {
        let kernel = memory().kernel(&isf());
        let reader = SkbReader::new(&kernel).expect("reader");
        assert_eq!(
            reader.layout(),
            SkbLayout {
                end: SkbEnd::Offset,
                frag: SkbFrag::Netmem,
                retransmit: crate::kernel::layouts::RetransmitQueue::RbTree,
            }
        );
        let walk = reader.queue(IMAGE + 0x1000);
        assert_eq!(walk.skbs, [IMAGE + 0x2000, IMAGE + 0x3000]);
        assert_eq!(walk.problem, None);
        let a = reader.read(IMAGE + 0x2000).expect("skb");
        assert_eq!((a.len, a.data_len, a.truesize), (11, 5, 768));
        let bytes = reader.bytes(&a, u64::MAX);
        assert_eq!((&bytes.bytes[..], bytes.missing), (&b"hello world"[..], 0));
        let b = reader.read(IMAGE + 0x3000).expect("skb");
        assert_eq!(
            reader.bytes(&b, u64::MAX),
            SkbBytes {
                bytes: vec![0; 4],
                missing: 4
            }
        );
    }

    #[test]
    fn broken_queues_and_trees_stop_with_a_problem() {
        let kernel = memory().kernel(&isf());
        let reader = SkbReader::new(&kernel).expect("reader");
        let cyclic = reader.queue(IMAGE + 0x1100);
        assert_eq!(cyclic.skbs, [IMAGE + 0x4000]);
        assert!(cyclic.problem.is_some_and(|p| p.contains("twice")));
        let unlinked = reader.queue(IMAGE + 0x1200);
        assert!(unlinked.skbs.is_empty());
        assert!(unlinked.problem.is_some_and(|p| p.contains("point back")));
        let tree = reader.rb_tree(IMAGE + 0x1300);
        assert_eq!(tree.skbs, [IMAGE + 0xa000, IMAGE + 0x9000, IMAGE + 0xb000]);
        assert_eq!(tree.problem, None);
        let looped = reader.rb_tree(IMAGE + 0x1308);
        assert_eq!(looped.skbs, [IMAGE + 0xc000]);
        assert!(looped.problem.is_some());
    }

    #[test]
    fn tcp_read_position() {
        let queues = SocketQueues {
            receive: 0,
            write: 0,
            error: 0,
            retransmit: None,
            out_of_order: 0,
            copied_seq: 0,
            tcp_seq: 0,
            unix_consumed: 28,
        };
        let mut cb = vec![0u8; 48];
        cb[..4].copy_from_slice(&1000u32.to_le_bytes());
        cb[28..32].copy_from_slice(&7u32.to_le_bytes());
        let skb = Skb {
            addr: 0,
            len: 100,
            data_len: 0,
            truesize: 0,
            sk: 0,
            cb,
        };
        assert_eq!(queues.tcp_consumed(&skb, 1010), Some(10));
        assert_eq!(queues.tcp_consumed(&skb, 1000), Some(0));
        assert_eq!(queues.tcp_consumed(&skb, 900), Some(0));
        assert_eq!(queues.unix_consumed(&skb), Some(7));
    }
}
