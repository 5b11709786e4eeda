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

use memscope_core::analyses::queues::{queues, Options, QueueRow};
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

/// `--pcap`: tshark reads the file, and it holds one packet per TCP and UDP skb of the rows (more for an
/// skb over one packet's payload), each between the socket's ports in the queue's direction, the receive
/// queue's marker (the manifest's `recv_queue`) among the TCP payloads.
#[test]
fn pcap_is_read_by_tshark_with_a_packet_per_inet_skb() {
    let mut total = 0;
    for capture in corpus::corpus_captures() {
        let kernel = corpus::kernel(&capture);
        let found = queues(
            &kernel,
            &Options {
                pcap: true,
                ..Options::default()
            },
        )
        .expect("queues --pcap");
        let bytes = found.pcap.expect("a pcapng file");
        let path = corpus::cache_dir().join(format!("{}-queues.pcapng", capture.name));
        std::fs::write(&path, &bytes).expect("write the pcapng file");
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
