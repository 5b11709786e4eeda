//! Sockets: `ss` snapshots (`truth/ss-*.txt`, `truth/final/ss-*.txt`, `truth/netns/<name>/ss-*.txt`) and
//! `/proc/net/*` listings (`truth/proc-net-*.txt`).

use std::path::Path;

use super::*;

/// Every number that occurs in the truth's socket listings (`ss-*.txt`, `final/ss-*.txt`,
/// `proc-net-*.txt`, and the same in each container's `netns/<name>/`, split at anything not a digit): a superset of the inode numbers of the unix, TCP,
/// UDP, raw and packet sockets those listings show. A socket whose inode is not in it was never seen by
/// any of them.
pub fn numbers_in_socket_listings(truth: &Path) -> std::collections::BTreeSet<u64> {
    let mut files = Vec::new();
    let mut dirs = vec![truth.to_path_buf(), truth.join("final")];
    // Each container's network namespace has listings of its own (`truth/netns/<name>/`).
    dirs.extend(network_namespaces(truth).into_iter().map(|n| n.dir));
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        files.extend(files_named(&dir, &["ss-", "proc-net-"], ".txt"));
    }
    assert!(
        !files.is_empty(),
        "truth folder {} has no ss-*.txt or proc-net-*.txt file",
        truth.display()
    );
    let mut out = std::collections::BTreeSet::new();
    for f in files {
        for line in output_lines(&f) {
            out.extend(
                line.split(|c: char| !c.is_ascii_digit())
                    .filter_map(|w| w.parse::<u64>().ok()),
            );
        }
    }
    out
}

/// A process using a socket, from `ss -p` (`users:(("comm",pid=N,fd=M),...)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsUser {
    /// The command name ss printed.
    pub comm: String,
    /// Process id.
    pub pid: u32,
    /// Descriptor number.
    pub fd: u32,
}

/// One TCP or UDP socket of an `ss -tanpue` snapshot.
#[derive(Debug, Clone)]
pub struct SsInet {
    /// The file read.
    pub file: std::path::PathBuf,
    /// `host` for `final/ss-tanpue.txt`, the container name for `final/ss-tanpue-<name>.txt`.
    pub namespace: String,
    /// `tcp` or `udp`.
    pub proto: String,
    /// State as ss prints it (`LISTEN`, `ESTAB`, `UNCONN`, `TIME-WAIT`...).
    pub state: String,
    /// Local address without brackets or `%interface`; `*` for a dual-stack wildcard.
    pub local_addr: String,
    /// Local port.
    pub local_port: u16,
    /// Remote address (`*` when unconnected).
    pub remote_addr: String,
    /// Remote port (0 for `*`).
    pub remote_port: u16,
    /// The `ino:` field (0 for sockets without a file).
    pub inode: Option<u64>,
    /// The processes holding it.
    pub users: Vec<SsUser>,
    /// Column `Recv-Q`: TCP's unread bytes (`rcv_nxt - copied_seq`), UDP's receive memory
    /// (`sk_rmem_alloc`, skbs' truesize); a listening socket's accept queue length.
    pub recv_q: u64,
    /// Column `Send-Q`: TCP's unacknowledged and unsent bytes (`write_seq - snd_una`), UDP's send memory;
    /// a listening socket's backlog limit.
    pub send_q: u64,
}

/// One UNIX socket of `ss -xanp`.
#[derive(Debug, Clone)]
pub struct SsUnix {
    /// The file read.
    pub file: std::path::PathBuf,
    /// `u_str`, `u_dgr` or `u_seq`.
    pub netid: String,
    /// State as ss prints it (`LISTEN`, `ESTAB`, `UNCONN`).
    pub state: String,
    /// The bound name (`@name` for abstract ones); `None` for `*`.
    pub path: Option<String>,
    /// Socket inode number.
    pub inode: u64,
    /// The peer's socket inode number (0: no peer).
    pub peer_inode: u64,
    /// The processes holding it.
    pub users: Vec<SsUser>,
    /// Column `Recv-Q` (`unix_inq_len()`): a stream or seqpacket socket's unread bytes, a datagram
    /// socket's first datagram's length; a listening socket's count of connections waiting for accept.
    pub recv_q: u64,
    /// Column `Send-Q` (`sk_wmem_alloc`): the truesize of what it sent that its receivers hold; a
    /// listening socket's backlog limit.
    pub send_q: u64,
}

/// The users of an `ss -p` line.
pub fn ss_users(line: &str) -> Vec<SsUser> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("(\"") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find("\",pid=") else { break };
        let comm = rest[..end].to_string();
        rest = &rest[end + 6..];
        let digits = |s: &str| s.chars().take_while(char::is_ascii_digit).collect::<String>();
        let pid = digits(rest);
        let Some(f) = rest.find(",fd=") else { break };
        let fd = digits(&rest[f + 4..]);
        if let (Ok(pid), Ok(fd)) = (pid.parse(), fd.parse()) {
            out.push(SsUser { comm, pid, fd });
        }
    }
    out
}

/// A `Recv-Q` or `Send-Q` column of an ss line.
fn queue_column(file: &Path, line: &str, text: &str) -> u64 {
    text.parse().unwrap_or_else(|_| {
        panic!(
            "truth file {}: line {line:?}: queue column {text:?} is not a number",
            file.display()
        )
    })
}

/// Split an ss `address:port` into address (brackets and `%interface` removed) and port (`*` is 0).
pub fn ss_endpoint(text: &str) -> Option<(String, u16)> {
    let (addr, port) = text.rsplit_once(':')?;
    let port = if port == "*" { 0 } else { port.parse().ok()? };
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    let addr = addr.split_once('%').map_or(addr, |(a, _)| a);
    Some((addr.to_string(), port))
}

/// Every TCP and UDP socket of the last snapshots, `truth/final/ss-tanpue.txt` (host) and
/// `truth/final/ss-tanpue-<container>.txt` (each container's network namespace).
pub fn ss_inet_final(truth: &Path) -> Vec<SsInet> {
    let dir = truth.join("final");
    let files = files_named(&dir, &["ss-tanpue"], ".txt");
    assert!(
        !files.is_empty(),
        "truth folder {} has no ss-tanpue*.txt file",
        dir.display()
    );
    let mut out = Vec::new();
    for file in files {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let namespace = name
            .strip_prefix("ss-tanpue-")
            .and_then(|n| n.strip_suffix(".txt"))
            .unwrap_or("host")
            .to_string();
        for line in output_lines(&file) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 6 || !matches!(cols[0], "tcp" | "udp") {
                continue;
            }
            let (Some((local_addr, local_port)), Some((remote_addr, remote_port))) =
                (ss_endpoint(cols[4]), ss_endpoint(cols[5]))
            else {
                panic!("truth file {}: line {line:?} has no address:port", file.display())
            };
            let inode = cols
                .iter()
                .find_map(|c| c.strip_prefix("ino:"))
                .and_then(|i| i.parse().ok());
            out.push(SsInet {
                file: file.clone(),
                namespace: namespace.clone(),
                proto: cols[0].to_string(),
                state: cols[1].to_string(),
                local_addr,
                local_port,
                remote_addr,
                remote_port,
                inode,
                users: ss_users(&line),
                recv_q: queue_column(&file, &line, cols[2]),
                send_q: queue_column(&file, &line, cols[3]),
            });
        }
    }
    out
}

/// Every UNIX socket of the last snapshot `truth/final/ss-xanp.txt` (columns: netid state recv-q send-q
/// local-path local-inode peer-path peer-inode users).
pub fn ss_unix_final(truth: &Path) -> Vec<SsUnix> {
    let file = truth.join("final/ss-xanp.txt");
    let out = ss_unix(&file);
    assert!(!out.is_empty(), "truth file {} lists no UNIX socket", file.display());
    out
}

/// Every UNIX socket of an `ss -xanp` listing (`truth/final/ss-xanp.txt`, `truth/netns/<name>/ss-xanp.txt`),
/// possibly none.
pub fn ss_unix(file: &Path) -> Vec<SsUnix> {
    let file = file.to_path_buf();
    let mut out = Vec::new();
    for line in output_lines(&file) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 8 || !cols[0].starts_with("u_") {
            continue;
        }
        let (Ok(inode), Ok(peer_inode)) = (cols[5].parse(), cols[7].parse()) else {
            panic!("truth file {}: line {line:?} has no inode numbers", file.display())
        };
        out.push(SsUnix {
            file: file.clone(),
            netid: cols[0].to_string(),
            state: cols[1].to_string(),
            path: (cols[4] != "*").then(|| cols[4].to_string()),
            inode,
            peer_inode,
            users: ss_users(&line),
            recv_q: queue_column(&file, &line, cols[2]),
            send_q: queue_column(&file, &line, cols[3]),
        });
    }
    out
}

/// One line of `truth/proc-net-unix.txt` (`cat /proc/net/unix`: every UNIX socket of the host network
/// namespace while the truth was collected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcNetUnix {
    /// Socket inode number (column `Inode`).
    pub inode: u64,
    /// Socket type (column `Type`: 1 stream, 2 dgram, 5 seqpacket).
    pub sock_type: u16,
    /// The bound name (`@name` for abstract ones), if any.
    pub path: Option<String>,
}

/// Every socket of `truth/proc-net-unix.txt` (columns Num RefCount Protocol Flags Type St Inode Path).
pub fn proc_net_unix(truth: &Path) -> Vec<ProcNetUnix> {
    let file = truth.join("proc-net-unix.txt");
    let out = proc_net_unix_file(&file);
    assert!(!out.is_empty(), "truth file {} lists no UNIX socket", file.display());
    out
}

/// Every socket of a `/proc/net/unix` listing (`truth/proc-net-unix.txt`, `truth/netns/<name>/proc-net-unix.txt`),
/// possibly none.
pub fn proc_net_unix_file(file: &Path) -> Vec<ProcNetUnix> {
    let mut out = Vec::new();
    for line in output_lines(file).iter().skip(1) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 7 {
            continue;
        }
        let (Ok(sock_type), Ok(inode)) = (u16::from_str_radix(cols[4], 16), cols[6].parse()) else {
            panic!("truth file {}: line {line:?} is not a UNIX socket", file.display())
        };
        out.push(ProcNetUnix {
            inode,
            sock_type,
            path: cols.get(7).map(|p| p.to_string()),
        });
    }
    out
}

/// `truth/proc-net-NAME.txt` (`cat /proc/net/NAME`) and its lines after the header, which must name each
/// of `header`'s columns; blank lines left out.
fn proc_net_table(truth: &Path, name: &str, header: &[&str]) -> (std::path::PathBuf, Vec<String>) {
    let file = truth.join(format!("proc-net-{name}.txt"));
    let mut lines = output_lines(&file);
    assert!(
        lines.first().is_some_and(|h| header.iter().all(|c| h.contains(c))),
        "truth file {} has no /proc/net/{name} header",
        file.display()
    );
    lines.remove(0);
    lines.retain(|l| !l.trim().is_empty());
    (file, lines)
}

/// One raw socket of `truth/proc-net-raw.txt` (`cat /proc/net/raw`: the host namespace's IPv4 raw sockets
/// while the truth was collected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcNetRaw {
    /// Socket inode number (column `inode`).
    pub inode: u64,
    /// The protocol number (the port of `local_address`, hex).
    pub protocol: u16,
}

/// Every socket of `truth/proc-net-raw.txt` (columns sl local_address rem_address st tx_queue:rx_queue
/// tr:tm->when retrnsmt uid timeout inode ...), possibly none.
pub fn proc_net_raw(truth: &Path) -> Vec<ProcNetRaw> {
    let (file, lines) = proc_net_table(truth, "raw", &["local_address", "inode"]);
    lines
        .iter()
        .map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let protocol = cols
                .get(1)
                .and_then(|a| a.split_once(':'))
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            match (protocol, cols.get(9).and_then(|i| i.parse().ok())) {
                (Some(protocol), Some(inode)) => ProcNetRaw { inode, protocol },
                _ => panic!("truth file {}: line {line:?} is not a raw socket", file.display()),
            }
        })
        .collect()
}

/// One packet socket of `truth/proc-net-packet.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcNetPacket {
    /// Socket type (`SOCK_RAW` 3, `SOCK_DGRAM` 2).
    pub sock_type: u16,
    /// The ethertype it receives (0x0003 for all).
    pub protocol: u16,
    /// The interface index bound to (0 for all).
    pub ifindex: i32,
    /// Socket inode.
    pub inode: u64,
}

/// Every socket of `truth/proc-net-packet.txt` (columns sk RefCnt Type Proto Iface R Rmem User Inode;
/// taken during collection, held by long-lived processes), possibly none.
pub fn proc_net_packet(truth: &Path) -> Vec<ProcNetPacket> {
    let (file, lines) = proc_net_table(truth, "packet", &["Iface", "Inode"]);
    lines
        .iter()
        .map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let parsed = (
                cols.get(2).and_then(|c| c.parse().ok()),
                cols.get(3).and_then(|c| u16::from_str_radix(c, 16).ok()),
                cols.get(4).and_then(|c| c.parse().ok()),
                cols.get(8).and_then(|c| c.parse().ok()),
            );
            let (Some(sock_type), Some(protocol), Some(ifindex), Some(inode)) = parsed else {
                panic!("truth file {}: line {line:?} is not a packet socket", file.display())
            };
            ProcNetPacket {
                sock_type,
                protocol,
                ifindex,
                inode,
            }
        })
        .collect()
}

/// One raw socket of `truth/ss-wanp.txt` (`ss -wanp`: IPv4 and IPv6 raw sockets of the host namespace).
#[derive(Debug, Clone)]
pub struct SsRaw {
    /// The local address and the protocol number ss shows as its port.
    pub local: (String, u16),
    /// The processes holding it.
    pub users: Vec<SsUser>,
}

/// Every socket of `truth/ss-wanp.txt` (columns State Recv-Q Send-Q Local Peer users), possibly none.
pub fn ss_raw(truth: &Path) -> Vec<SsRaw> {
    let file = truth.join("ss-wanp.txt");
    let lines = output_lines(&file);
    assert!(
        lines.first().is_some_and(|h| h.starts_with("State")),
        "truth file {} has no ss header",
        file.display()
    );
    lines[1..]
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let local = cols
                .get(3)
                .and_then(|a| ss_endpoint(a))
                .unwrap_or_else(|| panic!("truth file {}: line {line:?} is not a raw socket", file.display()));
            SsRaw {
                local,
                users: ss_users(line),
            }
        })
        .collect()
}
