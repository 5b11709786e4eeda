//! `queues` on every corpus capture against the live truth.
//!
//! Markers (manifest.json `markers`; see ../shared/corpus/README.md, "Data waiting in kernel queues"):
//! `recv_queue` must be in the receive queue of fd 5 (the accepted TCP connection), `send_queue` in the
//! send queue of fd 7 (the client) and in the receive queue of fd 8 (the server, not reading), `udp_queue`
//! in the receive queue of fd 9 (the UDP socket), each socket held by the process and descriptor that
//! `truth/final/ss-tanpue*.txt` names for it, and each only there among the sockets' dumped bytes.
//!
//! Every socket of `truth/final/ss-tanpue*.txt` (TCP, UDP), `truth/final/ss-xanp.txt` and each container's
//! `truth/netns/<name>/ss-xanp.txt` (UNIX) must hold in memory what ss's `Recv-Q` and `Send-Q` say, in
//! the kernel's own terms (`tcp_diag_get_info`, `udp_diag`, `unix_diag`):
//! - TCP: Recv-Q the unread bytes of the receive queue, Send-Q the bytes of the retransmit and write
//!   queues;
//! - UDP: Recv-Q and Send-Q the receive and write queues' truesize (`sk_rmem_alloc`, `sk_wmem_alloc`);
//! - UNIX stream and seqpacket: Recv-Q the unread bytes of the receive queue; datagram: the first
//!   datagram's length; Send-Q the truesize of the peer's receive queue (what this socket sent that the
//!   peer holds; exact for a peer with one sender);
//! - a listening socket (state `LISTEN` in the truth): Recv-Q and Send-Q are the accept queue and the
//!   backlog limit, and memory must hold no data in its queues;
//! - TIME-WAIT sockets have no queues: counted, not compared.
//!
//! And the other way: every TCP, UDP or UNIX socket holding queued data in memory must be in those
//! listings. Any warning on an intact capture fails.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use memscope_core::analyses::queues::{queues, Options, QueueRow, Queues};
use memscope_tests::corpus::{self, CorpusCapture};
use memscope_tests::{checks, pcap, truth};

/// Per socket inode: what memory holds.
#[derive(Debug, Default, Clone)]
struct Held {
    proto: String,
    holder: Option<(u32, u32)>,
    recv_bytes: u64,
    recv_truesize: u64,
    first_recv_len: Option<u64>,
    send_bytes: u64,
    send_truesize: u64,
    /// Bytes of the out-of-order and error queues.
    other: u64,
}

fn totals(rows: &[QueueRow]) -> BTreeMap<u64, Held> {
    let mut out: BTreeMap<u64, Held> = BTreeMap::new();
    for r in rows {
        let Some(inode) = r.inode else { continue };
        let h = out.entry(inode).or_default();
        h.proto = r.proto.clone().unwrap_or_default();
        h.holder = r.pid.zip(r.fd);
        match r.queue {
            "receive" => {
                h.recv_bytes += u64::from(r.queued);
                h.recv_truesize += u64::from(r.truesize);
                h.first_recv_len.get_or_insert(u64::from(r.len));
            }
            "send" | "retransmit" => {
                h.send_bytes += u64::from(r.queued);
                h.send_truesize += u64::from(r.truesize);
            }
            _ => h.other += u64::from(r.queued),
        }
    }
    out
}

/// The queue, protocol and descriptor each marker must be found in (the corpus README's lines).
const MARKERS: &[(&str, &str, &str, u32)] = &[
    ("recv_queue", "receive", "tcp", 5),
    ("send_queue", "send", "tcp", 7),
    ("send_queue", "receive", "tcp", 8),
    ("udp_queue", "receive", "udp", 9),
];

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn check_capture(capture: &CorpusCapture) -> usize {
    let name = &capture.name;
    let kernel = corpus::kernel(capture);
    let found = queues(
        &kernel,
        &Options {
            dump: true,
            ..Options::default()
        },
    )
    .unwrap_or_else(|e| panic!("{name}: queues failed: {e}"));
    assert!(
        found.found.warnings.is_empty(),
        "{name}: warnings on an intact capture:\n{}",
        found.found.warnings.join("\n")
    );
    let rows = &found.found.rows;
    let held = totals(rows);
    let inet = truth::ss_inet_final(&capture.truth_dir);
    let mut unix = truth::ss_unix_final(&capture.truth_dir);
    for ns in truth::network_namespaces(&capture.truth_dir) {
        let file = ns.dir.join("ss-xanp.txt");
        if file.exists() {
            unix.extend(truth::ss_unix(&file));
        }
    }
    let mut checks = 0usize;
    let mut diffs = Vec::new();

    // Markers: in the expected queue of the expected descriptor, held by the process ss names.
    let by_inode: HashMap<u64, &truth::SsInet> = inet.iter().filter_map(|s| Some((s.inode?, s))).collect();
    for &(key, queue, proto, fd) in MARKERS {
        let marker = capture
            .markers
            .get(key)
            .unwrap_or_else(|| panic!("{name}: manifest.json has no marker {key}"));
        let prefix = if queue == "receive" { "receive." } else { "send." };
        let files: Vec<&str> = found
            .files
            .iter()
            .filter(|f| f.name.starts_with(prefix) && contains(&f.bytes, marker.as_bytes()))
            .map(|f| f.name.as_str())
            .collect();
        let sockets: BTreeSet<u64> = rows
            .iter()
            .filter(|r| r.queue == queue || (queue == "send" && r.queue == "retransmit"))
            .filter(|r| r.fd == Some(fd) && r.proto.as_deref() == Some(proto))
            .filter_map(|r| {
                let owner = format!("{}{}.{}", prefix, r.pid?, r.fd?);
                files.contains(&owner.as_str()).then_some(r.inode).flatten()
            })
            .collect();
        checks += 1;
        if files.len() != 1 || sockets.len() != 1 {
            diffs.push(format!(
                "marker {key} {marker:?}: in {queue} dumps {files:?}; wanted one, of a {proto} socket at fd {fd} \
                 (sockets {sockets:?})"
            ));
            continue;
        }
        let inode = *sockets.iter().next().unwrap();
        let Some(ss) = by_inode.get(&inode) else {
            diffs.push(format!(
                "marker {key}: socket inode {inode} (fd {fd}) not in truth/final/ss-tanpue*.txt"
            ));
            continue;
        };
        let holder = held[&inode].holder;
        checks += 1;
        if !ss.users.iter().any(|u| Some((u.pid, u.fd)) == holder) {
            diffs.push(format!(
                "marker {key}: socket {inode} held by {holder:?} in memory, by {:?} in {}",
                ss.users,
                ss.file.display()
            ));
        }
        eprintln!(
            "{name}: marker {key} in the {queue} queue of pid {:?} fd {fd} ({} Recv-Q {} Send-Q {})",
            holder.map(|h| h.0),
            ss.proto,
            ss.recv_q,
            ss.send_q
        );
    }

    // Every socket's queued bytes against ss.
    let mut listed = BTreeSet::new();
    let (mut time_wait, mut listening, mut compared) = (0usize, 0usize, 0usize);
    let mut seen_inet = BTreeSet::new();
    for s in &inet {
        let inode = s.inode.filter(|&i| i != 0);
        if s.state == "TIME-WAIT" {
            time_wait += 1;
            continue;
        }
        let Some(inode) = inode else { continue };
        listed.insert(inode);
        if !seen_inet.insert((inode, s.recv_q, s.send_q)) {
            continue; // the same socket in the host's and a container's listing (--network host)
        }
        let h = held.get(&inode).cloned().unwrap_or_default();
        checks += 1;
        let (got, want) = if s.state == "LISTEN" {
            listening += 1;
            ((h.recv_bytes + h.send_bytes + h.other, 0), (0, 0))
        } else if s.proto == "udp" {
            ((h.recv_truesize, h.send_truesize), (s.recv_q, s.send_q))
        } else {
            ((h.recv_bytes, h.send_bytes), (s.recv_q, s.send_q))
        };
        compared += 1;
        if got != want {
            diffs.push(format!(
                "{} {} {}:{} inode {inode}: memory holds {got:?}, {} says Recv-Q/Send-Q {want:?}",
                s.proto,
                s.state,
                s.local_addr,
                s.local_port,
                s.file.display()
            ));
        }
    }
    let by_unix: HashMap<u64, &truth::SsUnix> = unix.iter().map(|u| (u.inode, u)).collect();
    for u in by_unix.values() {
        listed.insert(u.inode);
        let h = held.get(&u.inode).cloned().unwrap_or_default();
        let peer = held.get(&u.peer_inode).cloned().unwrap_or_default();
        checks += 1;
        let (got, want) = if u.state == "LISTEN" {
            listening += 1;
            ((h.recv_bytes + h.send_bytes + h.other, 0), (0, 0))
        } else if u.netid == "u_dgr" {
            (
                (h.first_recv_len.unwrap_or(0), peer.recv_truesize),
                (u.recv_q, u.send_q),
            )
        } else {
            ((h.recv_bytes, peer.recv_truesize), (u.recv_q, u.send_q))
        };
        compared += 1;
        if got != want {
            diffs.push(format!(
                "{} {} {:?} inode {}: memory holds {got:?}, {} says Recv-Q/Send-Q {want:?}",
                u.netid,
                u.state,
                u.path,
                u.inode,
                u.file.display()
            ));
        }
    }
    for (inode, h) in &held {
        if matches!(h.proto.as_str(), "tcp" | "udp" | "unix") && !listed.contains(inode) {
            checks += 1;
            diffs.push(format!(
                "{} socket {inode} (holder {:?}) holds {} bytes but is in no final ss listing",
                h.proto,
                h.holder,
                h.recv_bytes + h.send_bytes + h.other
            ));
        }
    }
    eprintln!(
        "{name}: {} rows, {} sockets with data; {compared} sockets compared with ss ({listening} listening), \
         {time_wait} TIME-WAIT counted",
        rows.len(),
        held.len()
    );
    assert!(
        diffs.is_empty(),
        "{name}: queues differ from the truth:\n{}",
        diffs.join("\n")
    );
    checks
}

#[test]
fn queues_match_the_truth() {
    let mut total = 0;
    for capture in corpus::corpus_captures() {
        total += check_capture(&capture);
    }
    checks::ran("queues", total);
}

#[test]
fn pid_option_selects_the_holders_rows() {
    let mut total = 0;
    for capture in corpus::corpus_captures() {
        let kernel = corpus::kernel(&capture);
        let all = queues(&kernel, &Options::default()).expect("queues").found.rows;
        let pids: BTreeSet<u32> = all.iter().filter_map(|r| r.pid).collect();
        for pid in pids {
            let some = queues(
                &kernel,
                &Options {
                    pids: vec![pid],
                    ..Options::default()
                },
            )
            .expect("queues --pid")
            .found;
            assert!(
                some.warnings.is_empty(),
                "{}: --pid {pid}: {:?}",
                capture.name,
                some.warnings
            );
            // A socket several processes hold is given under the lowest pid selected.
            let holder = format!("{pid}:");
            let want: Vec<String> = all
                .iter()
                .filter(|r| r.holders.iter().any(|h| h.starts_with(&holder)))
                .map(|r| format!("{} {:#x}", r.queue, r.skb_addr))
                .collect();
            let got: Vec<String> = some
                .rows
                .iter()
                .map(|r| format!("{} {:#x}", r.queue, r.skb_addr))
                .collect();
            assert!(
                some.rows.iter().all(|r| r.pid == Some(pid)),
                "{}: --pid {pid}: rows of another pid",
                capture.name
            );
            assert_eq!(got, want, "{}: --pid {pid}", capture.name);
            total += 1;
        }
    }
    checks::ran("queues --pid", total);
}

/// `queues --pcap` on `capture`: what it found, and its pcapng file written for tshark to the cache
/// folder as `NAME-TAG.pcapng`.
fn queues_pcap(capture: &CorpusCapture, tag: &str) -> (Queues, std::path::PathBuf) {
    let kernel = corpus::kernel(capture);
    let found = queues(
        &kernel,
        &Options {
            pcap: true,
            ..Options::default()
        },
    )
    .expect("queues --pcap");
    let path = corpus::cache_dir().join(format!("{}-{tag}.pcapng", capture.name));
    std::fs::write(&path, found.pcap.as_ref().expect("a pcapng file")).expect("write the pcapng file");
    (found, path)
}

/// `--pcap`: tshark reads the file, and it holds one packet per TCP and UDP skb of the rows (more for an
/// skb over one packet's payload), each between the socket's ports in the queue's direction, the receive
/// queue's marker (the manifest's `recv_queue`) among the TCP payloads.
#[test]
fn pcap_is_read_by_tshark_with_a_packet_per_inet_skb() {
    let mut total = 0;
    for capture in corpus::corpus_captures() {
        let (found, path) = queues_pcap(&capture, "queues");
        let lines = pcap::tshark_fields(&capture.name, &path);
        let inet: Vec<_> = found
            .found
            .rows
            .iter()
            .filter(|r| matches!(r.proto.as_deref(), Some("tcp") | Some("udp")))
            .collect();
        total += 1;
        assert!(
            lines.len() >= inet.len() && !inet.is_empty(),
            "{}: {} packets for {} TCP and UDP skbs",
            capture.name,
            lines.len(),
            inet.len()
        );
        for r in &inet {
            total += 1;
            let (local, remote) = (
                r.local_port.unwrap_or(0).to_string(),
                r.remote_port.unwrap_or(0).to_string(),
            );
            let (src, dst) = match r.queue {
                "send" | "retransmit" => (&local, &remote),
                _ => (&remote, &local),
            };
            let want = format!("{src}\t{dst}");
            assert!(
                lines.iter().any(|l| l.contains(&want)),
                "{}: no packet {src} -> {dst} for the {} skb {:#x}",
                capture.name,
                r.queue,
                r.skb_addr
            );
        }
        let marker = pcap::hex(&capture.markers["recv_queue"]);
        total += 1;
        assert!(
            lines.iter().any(|l| l.contains(&marker)),
            "{}: tshark shows no payload holding {}",
            capture.name,
            capture.markers["recv_queue"]
        );
    }
    checks::ran("queues-pcap", total);
}

/// Whether `addr` lies in the network of `cidr` (`addr/prefix`, both of one family; an IPv4-mapped IPv6
/// address, as ss shows a dual-stack socket's, counts as IPv4).
fn in_network(addr: &str, cidr: &str) -> bool {
    let (Some((net, prefix)), Ok(addr)) = (cidr.split_once('/'), addr.parse::<std::net::IpAddr>()) else {
        return false;
    };
    let (Ok(net), Ok(prefix)) = (net.parse::<std::net::IpAddr>(), prefix.parse::<u32>()) else {
        return false;
    };
    let bits = |a: std::net::IpAddr| match a {
        std::net::IpAddr::V4(a) => (u128::from(u32::from(a)) << 96, 4),
        std::net::IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => (u128::from(u32::from(v4)) << 96, 4),
            None => (u128::from(a), 6),
        },
    };
    let ((a, fa), (n, fn_)) = (bits(addr), bits(net));
    let prefix = if fa == 4 { prefix + 96 } else { prefix };
    fa == fn_ && prefix <= 128 && (prefix == 0 || (a ^ n) >> (128 - prefix) == 0)
}

/// The sniffers' rings: every packet socket of `truth/proc-net-packet.txt` held by a process the truth
/// names `tcpdump` (libpcap captures through a memory-mapped ring since 1.9) has `ring` rows, held by that
/// process and descriptor (`truth/proc/<pid>.txt`), and only such sockets' rows say `ring`. In the pcap
/// (read by tshark) each ring frame is an Ethernet frame to or from the bound interface's MAC
/// (`ip-d-addr.txt`, by the socket's interface index) or to a group address, stamped between the
/// sniffer's start (`final/ps-eo.txt`) and the dump; every established TCP connection of the host
/// (`final/ss-tanpue.txt`) whose local address lies in one of that interface's networks has frames between
/// its ports; a frame carrying the manifest's `traffic` marker is one of them.
#[test]
fn packet_rings_hold_the_sniffers_frames() {
    let mut total = 0;
    for capture in corpus::corpus_captures() {
        let name = &capture.name;
        let truth_dir = &capture.truth_dir;
        let (found, path) = queues_pcap(&capture, "rings");
        let fields = [
            "frame.comment",
            "frame.interface_id",
            "frame.time_epoch",
            "eth.src",
            "eth.dst",
            "tcp.srcport",
            "tcp.dstport",
            "tcp.payload",
        ];
        let frames: Vec<Vec<String>> = pcap::tshark_lines(name, &path, &fields)
            .into_iter()
            .map(|l| l.split('\t').map(str::to_string).collect())
            .filter(|c: &Vec<String>| c[0].contains("packet ring frame"))
            .collect();
        let fds = truth::proc_fds(truth_dir);
        let ps = truth::final_ps(truth_dir);
        let links = truth::ip_links(&truth_dir.join("ip-d-addr.txt"));
        let dump = truth::dump_time(truth_dir);
        let ring_rows: Vec<&QueueRow> = found.found.rows.iter().filter(|r| r.queue == "ring").collect();
        let mut sniffed = 0;
        for socket in truth::proc_net_packet(truth_dir) {
            let link = format!("socket:[{}]", socket.inode);
            let holders: Vec<(u32, u32, &str)> = fds
                .values()
                .flat_map(|p| {
                    p.fds
                        .iter()
                        .filter(|(_, target)| **target == link)
                        .map(|(fd, _)| (p.pid, *fd, p.comm.as_str()))
                })
                .collect();
            let Some(&(pid, fd, _)) = holders.iter().find(|h| h.2 == "tcpdump") else {
                continue;
            };
            sniffed += 1;
            let rows: Vec<&&QueueRow> = ring_rows.iter().filter(|r| r.inode == Some(socket.inode)).collect();
            total += 1;
            assert!(!rows.is_empty(), "{name}: tcpdump pid {pid} fd {fd}: no ring rows");
            assert!(
                rows.iter().all(|r| r.pid == Some(pid) && r.fd == Some(fd)),
                "{name}: ring rows of socket {} not held by pid {pid} fd {fd}",
                socket.inode
            );
            let iface = links
                .iter()
                .find(|l| i64::from(socket.ifindex) == l.index)
                .unwrap_or_else(|| panic!("{name}: ip-d-addr.txt has no interface {}", socket.ifindex));
            let mac = iface.mac.clone().expect("the sniffed interface's MAC");
            let started = ps[&pid].started as f64;
            let mine: Vec<&Vec<String>> = frames
                .iter()
                .filter(|c| c[0].starts_with(&format!("pid {pid} fd {fd}: ")))
                .collect();
            total += 1;
            assert_eq!(mine.len(), rows.len(), "{name}: pid {pid}: a packet per ring row");
            for c in &mine {
                total += 1;
                let group = c[4]
                    .split(':')
                    .next()
                    .and_then(|o| u8::from_str_radix(o, 16).ok())
                    .is_some_and(|o| o & 1 == 1);
                assert!(
                    c[1] == "1" && (c[3] == mac || c[4] == mac || group),
                    "{name}: ring frame {} is not an Ethernet frame of {} ({mac}): {c:?}",
                    c[0],
                    iface.name
                );
                let time: f64 = c[2].parse().expect("a frame time");
                assert!(
                    (started..=dump + 1.0).contains(&time),
                    "{name}: ring frame {} stamped {time}, outside the sniffer's life {started}..{dump}",
                    c[0]
                );
            }
            let connections: Vec<(u16, u16)> = truth::ss_inet_final(truth_dir)
                .into_iter()
                .filter(|s| s.namespace == "host" && s.proto == "tcp" && s.state == "ESTAB")
                .filter(|s| iface.addrs.iter().any(|a| in_network(&s.local_addr, &a.cidr)))
                .map(|s| (s.local_port, s.remote_port))
                .collect();
            let between = |c: &Vec<String>, (a, b): (u16, u16)| {
                let (s, d) = (c[5].parse::<u16>().ok(), c[6].parse::<u16>().ok());
                (s, d) == (Some(a), Some(b)) || (s, d) == (Some(b), Some(a))
            };
            for &ports in &connections {
                total += 1;
                assert!(
                    mine.iter().any(|c| between(c, ports)),
                    "{name}: no ring frame of the connection {ports:?} on {}",
                    iface.name
                );
            }
            let marker = pcap::hex(&capture.markers["traffic"]);
            for c in mine.iter().filter(|c| c[7].contains(&marker)) {
                total += 1;
                assert!(
                    connections.iter().any(|&p| between(c, p)),
                    "{name}: the traffic marker in ring frame {} of no established connection on {}",
                    c[0],
                    iface.name
                );
            }
            eprintln!(
                "{name}: tcpdump pid {pid} fd {fd} on {}: {} ring frames, {} with the traffic marker, connections {connections:?}",
                iface.name,
                rows.len(),
                mine.iter().filter(|c| c[7].contains(&marker)).count()
            );
        }
        total += 1;
        assert_eq!(
            ring_rows.iter().filter_map(|r| r.inode).collect::<BTreeSet<_>>().len(),
            sniffed,
            "{name}: ring rows of sockets no sniffer holds"
        );
    }
    checks::ran("queues-rings", total);
}
