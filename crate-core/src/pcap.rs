//! Packets as a capture file for Wireshark and tshark: pcapng (a section header, an interface of raw IP
//! packets, `LINKTYPE_RAW`, and one of Ethernet frames once one is added, then one enhanced packet block
//! per packet with a comment saying where in memory it was found), and IPv4/IPv6 packets with TCP or UDP
//! headers made around data whose own headers the kernel no longer keeps (a socket queue holds payload
//! only).

use std::net::IpAddr;

/// `LINKTYPE_RAW`: each packet begins with its IPv4 or IPv6 header.
const LINKTYPE_RAW: u16 = 101;
/// `LINKTYPE_ETHERNET`: each packet begins with its Ethernet header.
const LINKTYPE_ETHERNET: u16 = 1;
/// The most payload one made packet carries (an IPv4 packet's length field is 16 bits).
pub const MAX_PAYLOAD: usize = 65_000;

/// A pcapng file being written into memory.
#[derive(Debug, Clone)]
pub struct Pcapng {
    bytes: Vec<u8>,
    packets: usize,
    /// The Ethernet interface's number, once its description block is written.
    ethernet: Option<u32>,
}

/// How a packet's bytes begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// With its IPv4 or IPv6 header.
    RawIp,
    /// With its Ethernet header.
    Ethernet,
}

impl Default for Pcapng {
    fn default() -> Self {
        Pcapng::new()
    }
}

fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    let len = 12 + body.len().div_ceil(4) * 4;
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.extend_from_slice(body);
    out.resize(out.len() + (4 - body.len() % 4) % 4, 0);
    out.extend_from_slice(&(len as u32).to_le_bytes());
}

/// An option (code, value) padded to 4 bytes.
fn option(out: &mut Vec<u8>, code: u16, value: &[u8]) {
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    out.extend_from_slice(value);
    out.resize(out.len() + (4 - value.len() % 4) % 4, 0);
}

/// An interface description block: `link`'s packets, nanosecond timestamps.
fn interface(out: &mut Vec<u8>, link: u16, name: &[u8]) {
    let mut idb = Vec::new();
    idb.extend_from_slice(&link.to_le_bytes());
    idb.extend_from_slice(&0u16.to_le_bytes());
    idb.extend_from_slice(&0u32.to_le_bytes()); // no snap length
    option(&mut idb, 2, name); // if_name
    option(&mut idb, 9, &[9]); // if_tsresol: nanoseconds
    option(&mut idb, 0, b"");
    block(out, 1, &idb);
}

impl Pcapng {
    /// A file with its section header and its one interface.
    pub fn new() -> Pcapng {
        let mut bytes = Vec::new();
        let mut shb = Vec::new();
        shb.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes()); // byte-order magic
        shb.extend_from_slice(&1u16.to_le_bytes()); // version 1.0
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes()); // section length unknown
        option(&mut shb, 4, b"memscope"); // shb_userappl
        option(&mut shb, 0, b"");
        block(&mut bytes, 0x0A0D_0D0A, &shb);
        interface(&mut bytes, LINKTYPE_RAW, b"kernel memory");
        Pcapng {
            bytes,
            packets: 0,
            ethernet: None,
        }
    }

    /// Add a raw IP packet seen at `ns` nanoseconds since the epoch (0 when unknown), with a comment.
    pub fn packet(&mut self, ns: u64, data: &[u8], comment: &str) {
        self.frame(Link::RawIp, ns, data, data.len() as u32, comment);
    }

    /// Add a packet of `link` seen at `ns` nanoseconds since the epoch (0 when unknown), of which `data`
    /// holds the first bytes of `original` (a sniffer's snap length cuts it), with a comment.
    pub fn frame(&mut self, link: Link, ns: u64, data: &[u8], original: u32, comment: &str) {
        let id = match link {
            Link::RawIp => 0,
            Link::Ethernet => *self.ethernet.get_or_insert_with(|| {
                interface(&mut self.bytes, LINKTYPE_ETHERNET, b"kernel memory (Ethernet)");
                1
            }),
        };
        let mut epb = Vec::with_capacity(data.len() + comment.len() + 40);
        epb.extend_from_slice(&id.to_le_bytes());
        epb.extend_from_slice(&((ns >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ns as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&original.max(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(data);
        epb.resize(epb.len() + (4 - data.len() % 4) % 4, 0);
        option(&mut epb, 1, comment.as_bytes()); // opt_comment
        option(&mut epb, 0, b"");
        block(&mut self.bytes, 6, &epb);
        self.packets += 1;
    }

    /// How many packets it holds.
    pub fn packets(&self) -> usize {
        self.packets
    }

    /// The file's bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// The transport header a made packet gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TCP from port to port, the segment's first sequence number, flags PSH|ACK.
    Tcp { src: u16, dst: u16, seq: u32 },
    /// UDP from port to port.
    Udp { src: u16, dst: u16 },
}

/// The ones' complement sum of `data` in 16-bit big-endian words, folded.
fn sum(data: &[u8], mut acc: u32) -> u32 {
    for pair in data.chunks(2) {
        acc += u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]));
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc
}

fn checksum(acc: u32) -> [u8; 2] {
    (!(sum(&[], acc) as u16)).to_be_bytes()
}

/// An IP packet from `src` to `dst` (both IPv4 or both IPv6, else `None`) carrying `payload` under
/// `transport`, lengths and checksums computed.
pub fn ip_packet(src: IpAddr, dst: IpAddr, transport: Transport, payload: &[u8]) -> Option<Vec<u8>> {
    let (proto, mut segment) = match transport {
        Transport::Tcp { src, dst, seq } => {
            let mut h = Vec::with_capacity(20 + payload.len());
            h.extend_from_slice(&src.to_be_bytes());
            h.extend_from_slice(&dst.to_be_bytes());
            h.extend_from_slice(&seq.to_be_bytes());
            h.extend_from_slice(&0u32.to_be_bytes()); // ack number unknown
            h.extend_from_slice(&[0x50, 0x18]); // 5 words, PSH|ACK
            h.extend_from_slice(&0xffffu16.to_be_bytes()); // window
            h.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
            (6u8, h)
        }
        Transport::Udp { src, dst } => {
            let mut h = Vec::with_capacity(8 + payload.len());
            h.extend_from_slice(&src.to_be_bytes());
            h.extend_from_slice(&dst.to_be_bytes());
            h.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            h.extend_from_slice(&[0, 0]);
            (17u8, h)
        }
    };
    segment.extend_from_slice(payload);
    let len = segment.len();
    let at = if proto == 6 { 16 } else { 6 };
    let mut packet = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = u16::try_from(20 + len).ok()?;
            let mut h = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, proto, 0, 0];
            h[2..4].copy_from_slice(&total.to_be_bytes());
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            let c = checksum(sum(&h, 0));
            h[10..12].copy_from_slice(&c);
            let pseudo = [&s.octets()[..], &d.octets(), &[0, proto], &(len as u16).to_be_bytes()].concat();
            let c = checksum(sum(&segment, sum(&pseudo, 0)));
            segment[at..at + 2].copy_from_slice(&c);
            h
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut h = vec![0x60, 0, 0, 0];
            h.extend_from_slice(&u16::try_from(len).ok()?.to_be_bytes());
            h.extend_from_slice(&[proto, 64]);
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            let pseudo = [
                &s.octets()[..],
                &d.octets(),
                &(len as u32).to_be_bytes(),
                &[0, 0, 0, proto],
            ]
            .concat();
            let c = checksum(sum(&segment, sum(&pseudo, 0)));
            segment[at..at + 2].copy_from_slice(&c);
            h
        }
        _ => return None,
    };
    packet.extend_from_slice(&segment);
    Some(packet)
}

/// Where the payload of the IPv4 or IPv6 packet at `ip` of `frame` begins: past its TCP or UDP header,
/// or past the IP header for other protocols; `None` where the headers do not parse.
pub fn payload_offset(frame: &[u8], ip: usize) -> Option<usize> {
    let header = frame.get(ip..)?;
    let (proto, transport) = match header.first()? >> 4 {
        4 => (*header.get(9)?, ip + usize::from(header[0] & 0x0f) * 4),
        6 => (*header.get(6)?, ip + 40),
        _ => return None,
    };
    let at = match proto {
        6 => transport + usize::from(frame.get(transport + 12)? >> 4) * 4,
        17 => transport + 8,
        _ => transport,
    };
    (at <= frame.len()).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_laid_out_as_pcapng() {
        let mut p = Pcapng::new();
        p.packet(1, b"abc", "x");
        let b = p.into_bytes();
        assert_eq!(&b[..4], &0x0A0D_0D0Au32.to_le_bytes());
        let kinds: Vec<u32> = blocks(&b).iter().map(|blk| word(blk, 0)).collect();
        assert_eq!(kinds, [0x0A0D_0D0A, 1, 6]);
    }

    /// The little-endian `u32` at `at` of `b`.
    fn word(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    /// The file's blocks, each checked: its two length fields agree, it is a multiple of 4 bytes, and the
    /// blocks fill the file.
    fn blocks(b: &[u8]) -> Vec<&[u8]> {
        let (mut at, mut out) = (0, Vec::new());
        while at < b.len() {
            let len = word(b, at + 4) as usize;
            assert_eq!(word(b, at + len - 4) as usize, len);
            assert_eq!(len % 4, 0);
            out.push(&b[at..at + len]);
            at += len;
        }
        out
    }

    #[test]
    fn an_ethernet_frame_gets_its_own_interface_once() {
        let mut p = Pcapng::new();
        p.frame(Link::Ethernet, 1, &[0; 20], 1500, "a");
        p.frame(Link::Ethernet, 2, &[0; 20], 20, "b");
        p.packet(3, b"abc", "c");
        let b = p.into_bytes();
        let blocks = blocks(&b);
        // The section, the raw interface, the Ethernet interface, then packets on interfaces 1, 1, 0.
        let kinds: Vec<(u32, u32)> = blocks.iter().map(|blk| (word(blk, 0), word(blk, 8) & 0xffff)).collect();
        assert_eq!(kinds, [(0x0A0D_0D0A, 0x3C4D), (1, 101), (1, 1), (6, 1), (6, 1), (6, 0)]);
        // The first packet: 20 of 1500 bytes captured.
        assert_eq!(&blocks[3][20..28], &[20, 0, 0, 0, 0xdc, 5, 0, 0]);
    }

    /// A UDP datagram from 10.0.0.1:53 to 10.0.0.2:5353 carrying `payload`.
    fn udp_v4(payload: &[u8]) -> Vec<u8> {
        let (src, dst) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        ip_packet(src, dst, Transport::Udp { src: 53, dst: 5353 }, payload).unwrap()
    }

    /// A TCP segment from [::1]:1 to [::1]:2, sequence number 7, carrying `payload`.
    fn tcp_v6(payload: &[u8]) -> Vec<u8> {
        let local = "::1".parse().unwrap();
        ip_packet(local, local, Transport::Tcp { src: 1, dst: 2, seq: 7 }, payload).unwrap()
    }

    #[test]
    fn payloads_begin_past_the_transport_header() {
        let frame = [&[0u8; 14][..], &udp_v4(b"hi")].concat();
        assert_eq!(payload_offset(&frame, 14), Some(14 + 28));
        let tcp = tcp_v6(b"payload");
        assert_eq!(&tcp[payload_offset(&tcp, 0).unwrap()..], b"payload");
        assert_eq!(payload_offset(&[0x45, 0, 0], 0), None, "cut IPv4 header");
        assert_eq!(payload_offset(&frame[..30], 14), None, "cut UDP header");
        assert_eq!(payload_offset(b"\x20abc", 0), None, "not IP");
    }

    #[test]
    fn made_packets_check_out() {
        let p = udp_v4(b"hi");
        assert_eq!(p.len(), 20 + 8 + 2);
        assert_eq!(sum(&p[..20], 0), 0xffff, "IPv4 header checksum");
        let tcp = tcp_v6(b"payload");
        assert_eq!(tcp[0] >> 4, 6);
        assert_eq!(&tcp[40 + 4..40 + 8], &7u32.to_be_bytes());
        assert!(ip_packet(
            "::1".parse().unwrap(),
            "10.0.0.1".parse().unwrap(),
            Transport::Udp { src: 1, dst: 2 },
            b""
        )
        .is_none());
    }
}
