//! `queues`: the socket buffers waiting in the queues of every socket a process holds, and of those in
//! the TCP, UDP and UNIX hash tables no process holds: a row per skb of the receive queue
//! (`sk_receive_queue`; a UNIX socket's pending data sits in the receiving socket's), the write queue
//! (`sk_write_queue`: TCP's unsent data), TCP's retransmit queue (`tcp_rtx_queue`) and out-of-order queue
//! (`out_of_order_queue`), and the error queue (`sk_error_queue`). Sockets are found as `netstat` finds
//! them ([`crate::kernel::sockets`]); skbs and their bytes are read by [`crate::kernel::skb`].
//!
//! A packet socket's memory-mapped receive ring (tcpdump's) gives a row per frame it holds, `queue`
//! `ring` ([`crate::kernel::net::packet_ring`]): the frames the sniffer captured most recently.
//!
//! `consumed` is what the owner already read of an skb at the head of a receive queue: TCP's
//! `copied_seq - TCP_SKB_CB(skb)->seq`, a UNIX stream socket's `UNIXCB(skb).consumed`; `queued` is the
//! rest. `--dump DIR` writes each socket's queued bytes in stream order: `receive.PID.FD` (the receive
//! queue) and `send.PID.FD` (TCP's retransmit queue, then the write queue), named after the lowest pid
//! holding the socket and its lowest descriptor, or `receive.none.INODE` for a socket no process holds;
//! `ring.PID.FD` holds a ring's frames one after the other, each from its link header.
//! `--pcap FILE` writes the TCP and UDP skbs as pcapng: each skb's bytes under IPv4/IPv6 and TCP/UDP
//! headers made from the socket's addresses and ports (the queues hold payload: the kernel consumed the
//! headers of what it received and has not built those of what it will send), TCP's sequence number from
//! the skb's control block, each packet's comment naming the socket, the queue and the skb; and a ring's
//! frames as they were captured, link header and all, timestamped by the kernel.

use std::collections::BTreeMap;

use serde::Serialize;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Analysis;
use crate::kernel::net::packet_ring;
use crate::kernel::skb::{SkbReader, SocketQueues};
use crate::kernel::sockets::{self, SockInfo, SocketReader, AF_INET, AF_INET6, AF_PACKET, AF_UNIX};
use crate::kernel::{Kernel, KernelError};
use crate::pcap::{ip_packet, payload_offset, Link, Pcapng, Transport, MAX_PAYLOAD};

/// Bytes of queued data a preview shows (before escaping).
pub const PREVIEW_BYTES: usize = 64;

/// One skb waiting in a socket's queue.
#[derive(Debug, Clone, Serialize)]
pub struct QueueRow {
    /// The lowest process id holding the socket; null for a socket no process holds.
    pub pid: Option<u32>,
    /// That process's lowest descriptor for it.
    pub fd: Option<u32>,
    /// That process's `comm`.
    pub comm: Option<String>,
    /// Every holder as `PID:FD`.
    pub holders: Vec<String>,
    /// Inode number of the socket's network namespace.
    pub netns: Option<u64>,
    /// `tcp`, `udp`, `raw`, `unix`, `netlink`, `packet`... (as `netstat` names them).
    pub proto: Option<String>,
    /// Socket type: `stream`, `dgram`, `seqpacket`, `raw`...
    #[serde(rename = "type")]
    pub sock_type: Option<String>,
    /// State as `ss` names it (inet and UNIX sockets).
    pub state: Option<String>,
    /// Local address (inet families).
    pub local_addr: Option<String>,
    /// Local port (inet families).
    pub local_port: Option<u16>,
    /// Remote address (inet families).
    pub remote_addr: Option<String>,
    /// Remote port (inet families).
    pub remote_port: Option<u16>,
    /// UNIX sockets: the bound name (`@name` for abstract ones).
    pub path: Option<String>,
    /// Socket inode number.
    pub inode: Option<u64>,
    /// `receive`, `send`, `retransmit`, `out_of_order`, `error`, or `ring` for a frame in a packet socket's
    /// memory-mapped receive ring.
    pub queue: &'static str,
    /// Position of the skb in its queue (0 first).
    pub index: usize,
    /// Address of the `struct sk_buff`; for a ring frame, of its header (`struct tpacket*_hdr`).
    #[serde(with = "crate::hex")]
    pub skb_addr: u64,
    /// `skb->len`: bytes of data; for a ring frame the bytes captured (`tp_snaplen`).
    pub len: u32,
    /// `skb->data_len`: bytes in paged fragments and the frag_list (the rest, `len - data_len`, is linear).
    pub data_len: u32,
    /// `skb->truesize`: memory charged to the socket (what `ss` shows as Recv-Q for UDP, raw and packet
    /// sockets).
    pub truesize: u32,
    /// Bytes of this skb the owner already read (the head of a TCP or UNIX stream receive queue); null
    /// where the protocol keeps no such count.
    pub consumed: Option<u32>,
    /// Bytes still waiting: `len - consumed`.
    pub queued: u32,
    /// Bytes of the skb that could not be read from the capture.
    pub missing: u64,
    /// The first queued bytes as text: printable ASCII as is, `\n`, `\r`, `\t`, `\\` and `\xNN`
    /// otherwise; at most [`PREVIEW_BYTES`] bytes.
    pub preview: String,
    /// Address of the `struct sock`.
    #[serde(with = "crate::hex")]
    pub sock_addr: u64,
}

/// Options of [`queues`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Only sockets these processes hold (then none no process holds).
    pub pids: Vec<u32>,
    /// Gather each socket's queued bytes for `--dump`.
    pub dump: bool,
    /// Make a pcapng file of the TCP and UDP skbs for `--pcap`.
    pub pcap: bool,
}

/// A socket's queued bytes, as `--dump` writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dumped {
    /// The file name: `receive.PID.FD`, `send.PID.FD`, `receive.none.INODE`.
    pub name: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// What [`queues`] gives: rows, and the dumped bytes when asked.
pub struct Queues {
    /// Rows and warnings.
    pub found: Analysis<QueueRow>,
    /// Files for `--dump`, in row order.
    pub files: Vec<Dumped>,
    /// The pcapng file for `--pcap`.
    pub pcap: Option<Vec<u8>>,
}

struct Held {
    info: SockInfo,
    /// (pid, fd, comm), sorted.
    holders: Vec<(u32, u32, String)>,
}

/// The skbs in the queues of every socket.
pub fn queues(kernel: &Kernel, options: &Options) -> Result<Queues, KernelError> {
    let reader = SocketReader::new(kernel)?;
    let skbs = SkbReader::new(kernel)?;
    let members = SocketQueues::new(kernel, &skbs)?;
    let mut warnings = Vec::new();
    let mut held: BTreeMap<u64, Held> = BTreeMap::new();
    let want = |pid| options.pids.is_empty() || options.pids.contains(&pid);
    for h in sockets::held_sockets(&reader, want, &mut warnings)? {
        held.entry(h.info.sock_addr)
            .or_insert_with(|| Held {
                info: h.info,
                holders: Vec::new(),
            })
            .holders
            .push((h.pid, h.fd, h.comm));
    }
    if options.pids.is_empty() {
        let known = held.keys().copied().collect();
        for info in sockets::unowned_sockets(&reader, false, &known, &mut warnings) {
            // TIME-WAIT and NEW-SYN-RECV minisockets have no queues.
            if matches!(info.state, Some(sockets::TCP_TIME_WAIT | sockets::TCP_NEW_SYN_RECV))
                && matches!(info.family, AF_INET | AF_INET6)
            {
                continue;
            }
            held.insert(
                info.sock_addr,
                Held {
                    info,
                    holders: Vec::new(),
                },
            );
        }
    }
    if options.pids.is_empty() {
        embryos(&reader, &skbs, &members, &mut held, &mut warnings);
    }
    let mut sockets: Vec<Held> = held.into_values().collect();
    for s in &mut sockets {
        s.holders.sort();
    }
    // Held sockets by their first holder, then those no process holds by inode.
    sockets.sort_by_key(|s| {
        (
            s.holders.is_empty(),
            s.holders.first().map(|h| (h.0, h.1)),
            s.info.inode,
        )
    });
    let mut rows = Vec::new();
    let mut files = Vec::new();
    let mut pcap = options.pcap.then(Pcapng::new);
    for s in &sockets {
        socket_rows(
            kernel,
            &skbs,
            &members,
            s,
            options.dump,
            &mut pcap,
            &mut rows,
            &mut files,
            &mut warnings,
        );
    }
    Ok(Queues {
        found: Analysis { rows, warnings },
        files,
        pcap: pcap.map(Pcapng::into_bytes),
    })
}

/// The embryo sockets of pending connections to the UNIX listening sockets of `held`: each connection
/// request on a listener's receive queue is an skb charged to the socket `accept()` will return, which
/// holds what the client sent before it is accepted. They are added as sockets no process holds.
fn embryos(
    reader: &SocketReader<'_>,
    skbs: &SkbReader<'_>,
    queues: &SocketQueues,
    held: &mut BTreeMap<u64, Held>,
    warnings: &mut Vec<String>,
) {
    let listeners: Vec<u64> = held
        .values()
        .filter(|h| h.info.family == AF_UNIX && h.info.state == Some(sockets::TCP_LISTEN))
        .map(|h| h.info.sock_addr)
        .collect();
    for listener in listeners {
        // The listener's walk problems are reported with its own rows.
        for addr in queues.receive(skbs, listener).skbs {
            let Ok(skb) = skbs.read(addr) else { continue };
            if skb.sk == 0 || skb.sk == listener || held.contains_key(&skb.sk) {
                continue;
            }
            match reader.read_sock(skb.sk) {
                Ok(info) if info.family == AF_UNIX => {
                    held.insert(
                        skb.sk,
                        Held {
                            info,
                            holders: Vec::new(),
                        },
                    );
                }
                Ok(info) => warnings.push(format!(
                    "UNIX listener at {listener:#x}: connection request {addr:#x} is charged to a socket of family {}",
                    info.family
                )),
                Err(e) => warnings.push(format!(
                    "UNIX listener at {listener:#x}: connection request {addr:#x}: {e}"
                )),
            }
        }
    }
}

/// Most bytes read from one socket's queues (a smeared socket can claim any number of gigabytes).
pub const MAX_SOCKET_BYTES: u64 = 64 << 20;

#[allow(clippy::too_many_arguments)]
fn socket_rows(
    kernel: &Kernel,
    skbs: &SkbReader<'_>,
    m: &SocketQueues,
    s: &Held,
    dump: bool,
    pcap: &mut Option<Pcapng>,
    rows: &mut Vec<QueueRow>,
    files: &mut Vec<Dumped>,
    warnings: &mut Vec<String>,
) {
    let info = &s.info;
    let proto = info
        .sock_type
        .map(|t| sockets::proto_name(info.family, t, info.protocol.unwrap_or(0)));
    let tcp = proto.as_deref() == Some("tcp");
    let unix_stream = info.family == AF_UNIX && info.sock_type == Some(1);
    let who = match s.holders.first() {
        Some((pid, fd, _)) => format!("pid {pid} fd {fd}"),
        None => format!("socket at {:#x}", info.sock_addr),
    };
    let sk = info.sock_addr;
    let walks = m.walk(skbs, sk, tcp);
    // TCP's read position (`copied_seq`), unknown when unreadable.
    let copied_seq = if tcp {
        match m.copied_seq(kernel, sk) {
            Ok(c) => Some(c),
            Err(e) => {
                warnings.push(format!("{who}: consumed unknown: {e}"));
                None
            }
        }
    } else {
        None
    };
    let mut budget = MAX_SOCKET_BYTES;
    let (mut received, mut sent_unacked, mut unsent) = (Vec::new(), Vec::new(), Vec::new());
    let mut any = false;
    for (queue, walk) in walks {
        let queue = queue.name();
        if let Some(p) = &walk.problem {
            warnings.push(format!("{who}: {queue} queue: {p}; {} skbs read", walk.skbs.len()));
        }
        for (index, addr) in walk.skbs.into_iter().enumerate() {
            let skb = match skbs.read(addr) {
                Ok(b) => b,
                Err(e) => {
                    warnings.push(format!("{who}: {queue} queue: skb {index}: {e}"));
                    continue;
                }
            };
            let consumed = match queue {
                "receive" if tcp => copied_seq.and_then(|c| m.tcp_consumed(&skb, c)),
                "receive" if unix_stream => m.unix_consumed(&skb),
                _ => None,
            };
            let mut data = skbs.bytes(&skb, budget);
            budget -= data.bytes.len() as u64;
            let cut = u64::from(skb.len).saturating_sub(data.bytes.len() as u64);
            if cut > 0 {
                warnings.push(format!(
                    "{who}: {queue} queue: skb {addr:#x}: {cut} of {} bytes past what is read of one skb ({} bytes) \
                     or one socket ({MAX_SOCKET_BYTES} bytes): not read",
                    skb.len,
                    crate::kernel::skb::MAX_SKB_BYTES
                ));
                data.missing += cut;
            }
            if data.missing > cut {
                warnings.push(format!(
                    "{who}: {queue} queue: skb {addr:#x}: {} of {} bytes not in the capture",
                    data.missing - cut,
                    skb.len
                ));
            }
            let skip = consumed.unwrap_or(0) as usize;
            let waiting = data.bytes.get(skip..).unwrap_or_default();
            if let Some(p) = pcap.as_mut() {
                let seq = m.tcp_seq(&skb);
                let comment = format!(
                    "{who}: {} {queue} queue, skb {addr:#x}",
                    proto.as_deref().unwrap_or("?")
                );
                add_packets(p, info, proto.as_deref(), queue, seq, &data.bytes, &comment);
            }
            if dump {
                match queue {
                    "receive" => received.extend_from_slice(waiting),
                    "retransmit" => sent_unacked.extend_from_slice(waiting),
                    "send" => unsent.extend_from_slice(waiting),
                    _ => {}
                }
            }
            any = true;
            rows.push(QueueRow {
                queue,
                index,
                skb_addr: addr,
                len: skb.len,
                data_len: skb.data_len,
                truesize: skb.truesize,
                consumed,
                queued: skb.len - consumed.unwrap_or(0),
                missing: data.missing,
                preview: preview(&waiting[..waiting.len().min(PREVIEW_BYTES)]),
                ..socket_row(s, &proto)
            });
        }
    }
    let mut ring = Vec::new();
    if info.family == AF_PACKET {
        ring_rows(kernel, s, &proto, &who, pcap, rows, dump.then_some(&mut ring), warnings);
    }
    if !dump || (!any && ring.is_empty()) {
        return;
    }
    let owner = match s.holders.first() {
        Some((pid, fd, _)) => format!("{pid}.{fd}"),
        None => match info.inode {
            Some(i) => format!("none.{i}"),
            None => format!("none.{sk:#x}"),
        },
    };
    if !received.is_empty() {
        files.push(Dumped {
            name: format!("receive.{owner}"),
            bytes: received,
        });
    }
    if !ring.is_empty() {
        files.push(Dumped {
            name: format!("ring.{owner}"),
            bytes: ring,
        });
    }
    sent_unacked.extend_from_slice(&unsent);
    if !sent_unacked.is_empty() {
        files.push(Dumped {
            name: format!("send.{owner}"),
            bytes: sent_unacked,
        });
    }
}

/// A row of socket `s` with its socket's columns filled and the skb's zero.
fn socket_row(s: &Held, proto: &Option<String>) -> QueueRow {
    let info = &s.info;
    let (pid, fd, comm) = match s.holders.first() {
        Some((p, f, c)) => (Some(*p), Some(*f), Some(c.clone())),
        None => (None, None, None),
    };
    QueueRow {
        pid,
        fd,
        comm,
        holders: s.holders.iter().map(|(p, f, _)| format!("{p}:{f}")).collect(),
        netns: info.netns,
        proto: proto.clone(),
        sock_type: info.sock_type.map(sockets::type_name),
        state: info
            .state
            .filter(|_| matches!(info.family, AF_INET | AF_INET6 | AF_UNIX))
            .map(sockets::state_name),
        local_addr: info.local_addr.clone(),
        local_port: info.local_port,
        remote_addr: info.remote_addr.clone(),
        remote_port: info.remote_port,
        path: info.path.clone(),
        inode: info.inode,
        queue: "",
        index: 0,
        skb_addr: 0,
        len: 0,
        data_len: 0,
        truesize: 0,
        consumed: None,
        queued: 0,
        missing: 0,
        preview: String::new(),
        sock_addr: info.sock_addr,
    }
}

/// The frames in the receive ring of packet socket `s`, oldest first, as rows (`queue` `ring`): a frame the
/// sniffer has read counts as consumed whole, and its preview shows its payload all the same (past the
/// link, IP and TCP or UDP headers where they parse), since the frame is what the ring still holds. In
/// the pcap each frame goes out as it was captured, with its link header; its bytes join `dump`.
#[allow(clippy::too_many_arguments)]
fn ring_rows(
    kernel: &Kernel,
    s: &Held,
    proto: &Option<String>,
    who: &str,
    pcap: &mut Option<Pcapng>,
    rows: &mut Vec<QueueRow>,
    mut dump: Option<&mut Vec<u8>>,
    warnings: &mut Vec<String>,
) {
    let walk = match packet_ring::rx_ring(kernel, s.info.sock_addr) {
        Ok(Some(w)) => w,
        Ok(None) => return,
        Err(e) => {
            warnings.push(format!("{who}: ring: {e}"));
            return;
        }
    };
    if let Some(p) = &walk.problem {
        warnings.push(format!("{who}: ring: {p}; {} frames read", walk.frames.len()));
    }
    for (index, frame) in walk.frames.into_iter().enumerate() {
        let len = frame.bytes.len() as u32;
        let consumed = if frame.unread { 0 } else { len };
        let net = usize::from(frame.link_len);
        let payload = payload_offset(&frame.bytes, net).unwrap_or(0);
        if frame.missing > 0 {
            warnings.push(format!(
                "{who}: ring: frame {:#x}: {} of {len} bytes not in the capture",
                frame.addr, frame.missing
            ));
        }
        if let Some(p) = pcap.as_mut() {
            let state = if frame.unread { "not yet read" } else { "already read" };
            let time = if frame.time_ns.is_some() { "" } else { ", time unknown" };
            let comment = format!(
                "{who}: packet ring frame {:#x}, {state} by the sniffer{time}",
                frame.addr
            );
            let ip = frame.bytes.get(net).map(|b| b >> 4);
            match (frame.link_len, ip) {
                (14, _) => p.frame(
                    Link::Ethernet,
                    frame.time_ns.unwrap_or(0),
                    &frame.bytes,
                    frame.len,
                    &comment,
                ),
                (0, Some(4 | 6)) => p.frame(
                    Link::RawIp,
                    frame.time_ns.unwrap_or(0),
                    &frame.bytes,
                    frame.len,
                    &comment,
                ),
                _ => {}
            }
        }
        if let Some(d) = dump.as_mut() {
            d.extend_from_slice(&frame.bytes);
        }
        let shown = &frame.bytes[payload..];
        rows.push(QueueRow {
            queue: "ring",
            index,
            skb_addr: frame.addr,
            len,
            consumed: Some(consumed),
            queued: len - consumed,
            missing: frame.missing,
            preview: preview(&shown[..shown.len().min(PREVIEW_BYTES)]),
            ..socket_row(s, proto)
        });
    }
}

/// An skb of an inet socket as IP packets (one per [`MAX_PAYLOAD`] bytes) under headers made from the
/// socket's addresses and ports: from the peer for what the socket received, to it for what it sends.
/// Other families, and sockets whose addresses do not read as one IP family, give none.
fn add_packets(
    pcap: &mut Pcapng,
    info: &SockInfo,
    proto: Option<&str>,
    queue: &str,
    seq: Option<u32>,
    bytes: &[u8],
    comment: &str,
) {
    if !matches!(info.family, AF_INET | AF_INET6) {
        return;
    }
    let unspecified = || -> IpAddr {
        if info.family == AF_INET6 {
            Ipv6Addr::UNSPECIFIED.into()
        } else {
            Ipv4Addr::UNSPECIFIED.into()
        }
    };
    let addr = |a: &Option<String>| {
        a.as_deref()
            .and_then(|a| a.trim_matches(['[', ']']).parse::<IpAddr>().ok())
            .unwrap_or_else(unspecified)
    };
    let local = (addr(&info.local_addr), info.local_port.unwrap_or(0));
    let remote = (addr(&info.remote_addr), info.remote_port.unwrap_or(0));
    let ((src, sport), (dst, dport)) = match queue {
        "send" | "retransmit" => (local, remote),
        _ => (remote, local),
    };
    let mut offset = 0u32;
    for chunk in bytes.chunks(MAX_PAYLOAD) {
        let transport = match proto {
            Some("tcp") => Transport::Tcp {
                src: sport,
                dst: dport,
                seq: seq.unwrap_or(0).wrapping_add(offset),
            },
            Some("udp") => Transport::Udp { src: sport, dst: dport },
            _ => return,
        };
        if let Some(packet) = ip_packet(src, dst, transport, chunk) {
            pcap.packet(0, &packet, comment);
        }
        offset = offset.wrapping_add(chunk.len() as u32);
    }
}

/// Queued bytes as text: printable ASCII as is, `\n`, `\r`, `\t` and `\\` escaped, anything else `\xNN`.
pub fn preview(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_escape() {
        assert_eq!(preview(b"ab\\c\n\x00\x7f\t"), "ab\\\\c\\n\\x00\\x7f\\t");
    }
}
