//! A packet socket's memory-mapped receive ring (`PACKET_RX_RING`, what libpcap and so tcpdump use): the
//! kernel copies each frame the socket sees into the ring, which the sniffer reads without a system call,
//! so the ring holds the frames it captured most recently, those it has not read yet and, until the
//! kernel writes over them, those it has.
//!
//! The ring (`packet_sock.rx_ring`, a `struct packet_ring_buffer`) is `pg_vec_len` blocks of
//! `pg_vec_pages` pages, each `pg_vec[i].buffer`. Its frames are laid out by the socket's
//! `tp_version`:
//! - `TPACKET_V1` and `TPACKET_V2`: `frames_per_block` frames of `frame_size` bytes in each block, each
//!   starting with a `struct tpacket_hdr` (V1) or `tpacket2_hdr` (V2) whose `tp_status` says whether the
//!   sniffer has it (`TP_STATUS_USER`) or gave it back; `rx_ring.head` is the next frame the kernel fills,
//!   so the oldest.
//! - `TPACKET_V3`: variable-length frames (`struct tpacket3_hdr`, chained by `tp_next_offset`) packed into
//!   blocks, each with a `struct tpacket_block_desc` whose `hdr.bh1` gives the number of frames, the first's
//!   offset and the block's status; `prb_bdqc.kactive_blk_num` is the block being filled, the newest.
//!
//! The header types are the user-space ABI (`linux/if_packet.h`), read through the symbols like any other.

use crate::kernel::{Kernel, KernelError, Object};

/// `TP_STATUS_USER`: the frame (V1, V2) or block (V3) is the sniffer's to read.
const TP_STATUS_USER: u64 = 1;
/// Most blocks read from one ring.
pub const MAX_BLOCKS: u64 = 1 << 16;
/// Most frames read from one ring.
pub const MAX_FRAMES: usize = 1 << 18;
/// Most bytes of frames read from one ring (a smeared socket can claim any size).
pub const MAX_RING_BYTES: u64 = 64 << 20;
/// Largest block (`PAGE_SIZE << pg_vec_order`) a ring is read with.
const MAX_BLOCK_BYTES: u64 = 1 << 30;

/// The frame layout a ring was set up with (`packet_sock.tp_version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingVersion {
    /// `TPACKET_V1`: fixed-size frames, `struct tpacket_hdr`, microsecond timestamps.
    V1,
    /// `TPACKET_V2`: fixed-size frames, `struct tpacket2_hdr`, nanosecond timestamps.
    V2,
    /// `TPACKET_V3`: frames packed into blocks, `struct tpacket3_hdr`.
    V3,
}

impl RingVersion {
    /// `TPACKET_V1`, `TPACKET_V2`, `TPACKET_V3` (`enum tpacket_versions`).
    fn from_tp_version(v: u64) -> Option<RingVersion> {
        match v {
            0 => Some(RingVersion::V1),
            1 => Some(RingVersion::V2),
            2 => Some(RingVersion::V3),
            _ => None,
        }
    }

    /// The frame header's type.
    fn header_type(self) -> &'static str {
        match self {
            RingVersion::V1 => "tpacket_hdr",
            RingVersion::V2 => "tpacket2_hdr",
            RingVersion::V3 => "tpacket3_hdr",
        }
    }
}

/// One frame in a ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingFrame {
    /// Virtual address of the frame's header.
    pub addr: u64,
    /// `tp_len`: the frame's length as it was seen.
    pub len: u32,
    /// Whether the sniffer has yet to read it (its status, or its V3 block's, is `TP_STATUS_USER`, or it
    /// sits in the V3 block being filled).
    pub unread: bool,
    /// When the kernel saw it, in nanoseconds since the epoch (`tp_sec`, `tp_usec` or `tp_nsec`); `None`
    /// where unset.
    pub time_ns: Option<u64>,
    /// Bytes from `tp_mac` to the network header (`tp_net`): 14 for Ethernet, 0 where the socket receives
    /// packets without their link header (`SOCK_DGRAM`).
    pub link_len: u16,
    /// The captured bytes (`tp_snaplen` of them from `tp_mac`), zero where not in the capture.
    pub bytes: Vec<u8>,
    /// How many of `bytes` were not in the capture.
    pub missing: u64,
}

/// A ring's frames, oldest first, and what cut the walk short.
#[derive(Debug, Clone, Default)]
pub struct RingWalk {
    /// The frames.
    pub frames: Vec<RingFrame>,
    /// Why frames may be missing: an unreadable block or header, a bound reached.
    pub problem: Option<String>,
}

/// The receive ring of the packet socket at `sk` (a `struct packet_sock`), `None` where it has none.
pub fn rx_ring(kernel: &Kernel, sk: u64) -> Result<Option<RingWalk>, KernelError> {
    let po = kernel.object("packet_sock", sk)?;
    let ring = po.member("rx_ring")?;
    let pg_vec = ring.pointer("pg_vec")?;
    let blocks = ring.u64("pg_vec_len")?;
    if pg_vec == 0 || blocks == 0 {
        return Ok(None);
    }
    let version = po.u64("tp_version")?;
    let version = RingVersion::from_tp_version(version)
        .ok_or_else(|| KernelError::Layout(format!("packet socket at {sk:#x}: unknown tp_version {version}")))?;
    let block_bytes = ring.u64("pg_vec_pages")?.saturating_mul(0x1000);
    if blocks > MAX_BLOCKS || block_bytes == 0 || block_bytes > MAX_BLOCK_BYTES {
        return Err(KernelError::Layout(format!(
            "packet socket at {sk:#x}: a ring of {blocks} blocks of {block_bytes} bytes is past what a kernel allows"
        )));
    }
    let pgv_size = kernel.symbols().layout("pgv")?.size();
    let buffer = kernel.member_offset("pgv", "buffer")?;
    let mut walk = RingWalk::default();
    let mut buffers = Vec::with_capacity(blocks as usize);
    for i in 0..blocks {
        match kernel.read_u64(pg_vec + i * pgv_size + buffer) {
            Ok(b) => buffers.push(b),
            Err(e) => {
                walk.problem = Some(format!("block {i}'s address: {e}"));
                buffers.push(0);
            }
        }
    }
    let mut reader = Frames {
        kernel,
        version,
        budget: MAX_RING_BYTES,
        walk,
    };
    match version {
        RingVersion::V1 | RingVersion::V2 => {
            let frame_size = ring.u64("frame_size")?;
            let per_block = ring.u64("frames_per_block")?;
            let frames = ring.u64("frame_max")? + 1;
            let head = ring.u64("head")?;
            if frame_size == 0 || per_block == 0 || per_block.saturating_mul(frame_size) > block_bytes {
                return Err(KernelError::Layout(format!(
                    "packet socket at {sk:#x}: {per_block} frames of {frame_size} bytes do not fit a block of {block_bytes}"
                )));
            }
            let frames = frames.min(blocks * per_block);
            for n in 0..frames {
                let i = (head + n) % frames;
                let block = buffers[(i / per_block) as usize];
                if block != 0 && !reader.fixed_frame(block + (i % per_block) * frame_size, frame_size) {
                    break;
                }
            }
        }
        RingVersion::V3 => {
            let active = ring.member("prb_bdqc")?.u64("kactive_blk_num")?;
            for n in 1..=blocks {
                let i = (active + n) % blocks;
                let block = buffers[i as usize];
                if block != 0 && !reader.block(block, block_bytes, i == active) {
                    break;
                }
            }
        }
    }
    Ok(Some(reader.walk))
}

/// Reads frames into a walk, within the ring's byte budget.
struct Frames<'k> {
    kernel: &'k Kernel,
    version: RingVersion,
    budget: u64,
    walk: RingWalk,
}

impl<'k> Frames<'k> {
    /// Note why the walk stops or skips; the first problem is kept.
    fn problem(&mut self, p: String) {
        self.walk.problem.get_or_insert(p);
    }

    /// The frame header at `addr`, or `None` with why it did not read noted.
    fn header(&mut self, addr: u64) -> Option<Object<'k>> {
        match self.kernel.object(self.version.header_type(), addr) {
            Ok(h) => Some(h),
            Err(e) => {
                self.problem(format!("frame at {addr:#x}: {e}"));
                None
            }
        }
    }

    /// A V1 or V2 frame of `size` bytes at `addr`; false once the walk must stop.
    fn fixed_frame(&mut self, addr: u64, size: u64) -> bool {
        let Some(h) = self.header(addr) else { return true };
        let Ok(status) = h.u64("tp_status") else { return true };
        self.frame(&h, addr, size, status & TP_STATUS_USER != 0)
    }

    /// A V3 block of `size` bytes at `addr`, `active` when the kernel is filling it; false once the walk
    /// must stop.
    fn block(&mut self, addr: u64, size: u64, active: bool) -> bool {
        let header = (|| {
            let desc = self.kernel.object("tpacket_block_desc", addr)?;
            let bh1 = desc.member("hdr")?.member("bh1")?;
            Ok::<_, KernelError>((
                bh1.u64("block_status")?,
                bh1.u64("num_pkts")?,
                bh1.u64("offset_to_first_pkt")?,
            ))
        })();
        let (status, count, mut offset) = match header {
            Ok(h) => h,
            Err(e) => {
                self.problem(format!("block at {addr:#x}: {e}"));
                return true;
            }
        };
        let unread = active || status & TP_STATUS_USER != 0;
        for n in 0..count {
            if offset == 0 || offset >= size {
                self.problem(format!(
                    "block at {addr:#x}: frame {n} of {count} lies outside the block"
                ));
                return true;
            }
            let at = addr + offset;
            let Some(h) = self.header(at) else { return true };
            if !self.frame(&h, at, size - offset, unread) {
                return false;
            }
            match h.u64("tp_next_offset") {
                Ok(next) if n + 1 < count => offset += next,
                _ => break,
            }
        }
        true
    }

    /// The frame whose header `h` is at `addr`, within `room` bytes; false once the walk must stop.
    fn frame(&mut self, h: &Object<'_>, addr: u64, room: u64, unread: bool) -> bool {
        let fields = (|| {
            Ok::<_, KernelError>((
                h.u64("tp_len")?,
                h.u64("tp_snaplen")?,
                h.u64("tp_mac")?,
                h.u64("tp_net")?,
                h.u64("tp_sec")?,
                match self.version {
                    RingVersion::V1 => h.u64("tp_usec")? * 1000,
                    _ => h.u64("tp_nsec")?,
                },
            ))
        })();
        let Ok((len, snaplen, mac, net, sec, ns)) = fields else {
            self.problem(format!("frame at {addr:#x}: header unreadable"));
            return true;
        };
        if len == 0 && snaplen == 0 {
            return true; // never filled
        }
        if mac == 0 || net < mac || mac.saturating_add(snaplen) > room {
            self.problem(format!(
                "frame at {addr:#x}: {snaplen} bytes at offset {mac} do not fit its {room}-byte slot"
            ));
            return true;
        }
        if self.walk.frames.len() >= MAX_FRAMES || snaplen > self.budget {
            self.problem(format!(
                "more than {MAX_FRAMES} frames or {MAX_RING_BYTES} bytes: the rest not read"
            ));
            return false;
        }
        self.budget -= snaplen;
        let mut bytes = vec![0; snaplen as usize];
        let missing = self
            .kernel
            .read_present(addr + mac, &mut bytes)
            .map_or(0, |m| m.iter().map(|(a, b)| (b - a) as u64).sum());
        self.walk.frames.push(RingFrame {
            addr,
            len: len as u32,
            unread,
            time_ns: (sec != 0).then(|| sec * 1_000_000_000 + ns),
            link_len: (net - mac) as u16,
            bytes,
            missing,
        });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::testkit::{self, Memory, IMAGE};

    /// The ring's types at their 6.1 offsets (cut to the members read).
    fn isf() -> String {
        let ptr = r#"{"kind": "pointer", "subtype": {"kind": "base", "name": "char"}}"#;
        let u = |n: &str| format!(r#"{{"kind": "base", "name": "{n}"}}"#);
        let (uint, ushort) = (u("unsigned int"), u("short unsigned int"));
        let s = |n: &str| format!(r#"{{"kind": "struct", "name": "{n}"}}"#);
        let (ring, bdqc, bd, bh1) = (
            s("packet_ring_buffer"),
            s("tpacket_kbdq_core"),
            r#"{"kind": "union", "name": "tpacket_bd_header_u"}"#,
            s("tpacket_hdr_v1"),
        );
        let types = format!(
            r#""packet_sock": {{"kind": "struct", "size": 1600, "fields": {{
                  "rx_ring": {{"type": {ring}, "offset": 800}},
                  "tp_version": {{"type": {uint}, "offset": 1296}}}}}},
                "packet_ring_buffer": {{"kind": "struct", "size": 208, "fields": {{
                  "pg_vec": {{"type": {ptr}, "offset": 0}},
                  "head": {{"type": {uint}, "offset": 8}},
                  "frames_per_block": {{"type": {uint}, "offset": 12}},
                  "frame_size": {{"type": {uint}, "offset": 16}},
                  "frame_max": {{"type": {uint}, "offset": 20}},
                  "pg_vec_pages": {{"type": {uint}, "offset": 28}},
                  "pg_vec_len": {{"type": {uint}, "offset": 32}},
                  "unnamed_field_30": {{"type": {{"kind": "union", "name": "ring_u"}}, "offset": 48, "anonymous": true}}}}}},
                "ring_u": {{"kind": "union", "size": 160, "fields": {{
                  "rx_owner_map": {{"type": {ptr}, "offset": 0}},
                  "prb_bdqc": {{"type": {bdqc}, "offset": 0}}}}}},
                "tpacket_kbdq_core": {{"kind": "struct", "size": 160, "fields": {{
                  "kactive_blk_num": {{"type": {ushort}, "offset": 18}}}}}},
                "pgv": {{"kind": "struct", "size": 8, "fields": {{"buffer": {{"type": {ptr}, "offset": 0}}}}}},
                "tpacket2_hdr": {{"kind": "struct", "size": 32, "fields": {{
                  "tp_status": {{"type": {uint}, "offset": 0}},
                  "tp_len": {{"type": {uint}, "offset": 4}},
                  "tp_snaplen": {{"type": {uint}, "offset": 8}},
                  "tp_mac": {{"type": {ushort}, "offset": 12}},
                  "tp_net": {{"type": {ushort}, "offset": 14}},
                  "tp_sec": {{"type": {uint}, "offset": 16}},
                  "tp_nsec": {{"type": {uint}, "offset": 20}}}}}},
                "tpacket_block_desc": {{"kind": "struct", "size": 48, "fields": {{"hdr": {{"type": {bd}, "offset": 8}}}}}},
                "tpacket_bd_header_u": {{"kind": "union", "size": 40, "fields": {{"bh1": {{"type": {bh1}, "offset": 0}}}}}},
                "tpacket_hdr_v1": {{"kind": "struct", "size": 40, "fields": {{
                  "block_status": {{"type": {uint}, "offset": 0}},
                  "num_pkts": {{"type": {uint}, "offset": 4}},
                  "offset_to_first_pkt": {{"type": {uint}, "offset": 8}}}}}},
                "tpacket3_hdr": {{"kind": "struct", "size": 48, "fields": {{
                  "tp_next_offset": {{"type": {uint}, "offset": 0}},
                  "tp_sec": {{"type": {uint}, "offset": 4}},
                  "tp_nsec": {{"type": {uint}, "offset": 8}},
                  "tp_snaplen": {{"type": {uint}, "offset": 12}},
                  "tp_len": {{"type": {uint}, "offset": 16}},
                  "tp_status": {{"type": {uint}, "offset": 20}},
                  "tp_mac": {{"type": {ushort}, "offset": 24}},
                  "tp_net": {{"type": {ushort}, "offset": 26}}}}}}"#
        );
        testkit::isf(&types, "")
    }

    const SK: u64 = IMAGE + 0x1000;
    const PG_VEC: u64 = IMAGE + 0x2000;
    const BLOCKS: [u64; 2] = [IMAGE + 0x10000, IMAGE + 0x20000];

    fn put(mem: &mut Memory, at: u64, v: u64, n: usize) {
        mem.write(at, &v.to_le_bytes()[..n]);
    }

    /// A socket with `version`, two one-page blocks, `frames_per_block` frames of 2048 bytes, `head`.
    fn socket(mem: &mut Memory, version: u64, head: u64, active: u64) {
        let ring = SK + 800;
        put(mem, SK + 1296, version, 4);
        put(mem, ring, PG_VEC, 8);
        put(mem, ring + 8, head, 4);
        put(mem, ring + 12, 2, 4);
        put(mem, ring + 16, 2048, 4);
        put(mem, ring + 20, 3, 4);
        put(mem, ring + 28, 1, 4);
        put(mem, ring + 32, 2, 4);
        put(mem, ring + 48 + 18, active, 2);
        for (i, b) in BLOCKS.iter().enumerate() {
            put(mem, PG_VEC + 8 * i as u64, *b, 8);
        }
    }

    #[test]
    fn v2_frames_come_oldest_first_from_head_with_their_status() {
        let mut mem = Memory::new();
        socket(&mut mem, 1, 1, 0);
        // Frames 0..4 over the two blocks; 0 and 2 used, 2 not yet read; 1 and 3 never filled.
        for (frame, status, sec) in [(0u64, 0u64, 100u64), (2, 1, 200)] {
            let at = BLOCKS[(frame / 2) as usize] + (frame % 2) * 2048;
            put(&mut mem, at, status, 4);
            put(&mut mem, at + 4, 1500, 4);
            put(&mut mem, at + 8, 4, 4);
            put(&mut mem, at + 12, 66, 2);
            put(&mut mem, at + 14, 80, 2);
            put(&mut mem, at + 16, sec, 4);
            put(&mut mem, at + 20, 7, 4);
            mem.write(at + 66, &[frame as u8; 4]);
        }
        let walk = rx_ring(&mem.kernel(&isf()), SK).unwrap().unwrap();
        assert_eq!(walk.problem, None);
        let got: Vec<_> = walk
            .frames
            .iter()
            .map(|f| (f.addr, f.unread, f.time_ns, f.len, f.link_len, f.bytes.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (BLOCKS[1], true, Some(200_000_000_007), 1500, 14, vec![2; 4]),
                (BLOCKS[0], false, Some(100_000_000_007), 1500, 14, vec![0; 4]),
            ]
        );
    }

    #[test]
    fn v3_blocks_come_after_the_active_one_with_their_chained_frames() {
        let mut mem = Memory::new();
        socket(&mut mem, 2, 0, 0);
        // Block 1 (the oldest) handed to the sniffer with two frames; block 0 (active) with one.
        for (block, status, frames) in [(0usize, 0u64, 1u64), (1, 1, 2)] {
            let b = BLOCKS[block];
            put(&mut mem, b + 8, status, 4);
            put(&mut mem, b + 12, frames, 4);
            put(&mut mem, b + 16, 48, 4);
            for n in 0..frames {
                let at = b + 48 + n * 128;
                put(&mut mem, at, 128, 4);
                put(&mut mem, at + 4, 10 + n, 4);
                put(&mut mem, at + 12, 2, 4);
                put(&mut mem, at + 16, 2, 4);
                put(&mut mem, at + 24, 80, 2);
                put(&mut mem, at + 26, 80, 2);
                mem.write(at + 80, &[block as u8, n as u8]);
            }
        }
        let walk = rx_ring(&mem.kernel(&isf()), SK).unwrap().unwrap();
        assert_eq!(walk.problem, None);
        let got: Vec<_> = walk
            .frames
            .iter()
            .map(|f| (f.unread, f.link_len, f.bytes.clone()))
            .collect();
        assert_eq!(
            got,
            [(true, 0, vec![1, 0]), (true, 0, vec![1, 1]), (true, 0, vec![0, 0])]
        );
    }

    #[test]
    fn a_ring_past_what_a_kernel_allows_is_an_error_and_no_ring_is_none() {
        let mut mem = Memory::new();
        socket(&mut mem, 1, 0, 0);
        put(&mut mem, SK + 800 + 32, MAX_BLOCKS + 1, 4);
        assert!(rx_ring(&mem.kernel(&isf()), SK).is_err());
        let mut mem = Memory::new();
        put(&mut mem, SK + 1296, 1, 4);
        assert!(rx_ring(&mem.kernel(&isf()), SK).unwrap().is_none());
    }
}
