//! Sockets: recognising a socket among a process's open files and decoding its `struct sock` (family,
//! protocol, type, state, addresses and ports, network namespace, socket inode; UNIX sockets' bound path
//! and peer), shared by `netstat` and the packet and queue analyses.
//!
//! A file is a socket when `file->f_op` is `&socket_file_ops`; then `file->private_data` is the
//! `struct socket`, which lives in a `struct socket_alloc` beside its inode (`SOCK_INODE`), and
//! `socket->sk` is the `struct sock` whose `__sk_common` holds family, state, ports, addresses and netns.
//!
//! This module also holds a small bounded walk of a task's descriptor table ([`open_files`]), since the
//! lsof analysis keeps its own private.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use super::layouts::{ListenNode, ListeningHash};
use super::{Kernel, KernelError, Object};
use crate::symbols::TypeRef;

/// `AF_UNIX`.
pub const AF_UNIX: u16 = 1;
/// `AF_INET`.
pub const AF_INET: u16 = 2;
/// `AF_INET6`.
pub const AF_INET6: u16 = 10;
/// `AF_NETLINK`.
pub const AF_NETLINK: u16 = 16;
/// `AF_PACKET`.
pub const AF_PACKET: u16 = 17;

/// Name of an address family as `ss` and Volatility spell it (`inet`, `inet6`, `unix`, `netlink`...).
pub fn family_name(family: u16) -> String {
    match family {
        0 => "unspec",
        AF_UNIX => "unix",
        AF_INET => "inet",
        3 => "ax25",
        4 => "ipx",
        5 => "appletalk",
        AF_INET6 => "inet6",
        15 => "key",
        AF_NETLINK => "netlink",
        AF_PACKET => "packet",
        30 => "tipc",
        31 => "bluetooth",
        38 => "alg",
        40 => "vsock",
        42 => "qipcrtr",
        44 => "xdp",
        45 => "mctp",
        _ => return format!("af_{family}"),
    }
    .to_string()
}

/// Name of a socket type (`sk_type`): `stream`, `dgram`, `raw`, `rdm`, `seqpacket`, `dccp`, `packet`.
pub fn type_name(sock_type: u16) -> String {
    match sock_type {
        1 => "stream",
        2 => "dgram",
        3 => "raw",
        4 => "rdm",
        5 => "seqpacket",
        6 => "dccp",
        10 => "packet",
        _ => return format!("type_{sock_type}"),
    }
    .to_string()
}

/// A socket state (`skc_state`, TCP numbering, also used by UDP and UNIX sockets) as `ss` prints it:
/// `ESTAB`, `SYN-SENT`, `SYN-RECV`, `FIN-WAIT-1`, `FIN-WAIT-2`, `TIME-WAIT`, `UNCONN` (TCP_CLOSE),
/// `CLOSE-WAIT`, `LAST-ACK`, `LISTEN`, `CLOSING`, `NEW-SYN-RECV`.
pub fn state_name(state: u8) -> String {
    match state {
        1 => "ESTAB",
        2 => "SYN-SENT",
        3 => "SYN-RECV",
        4 => "FIN-WAIT-1",
        5 => "FIN-WAIT-2",
        6 => "TIME-WAIT",
        7 => "UNCONN",
        8 => "CLOSE-WAIT",
        9 => "LAST-ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        12 => "NEW-SYN-RECV",
        13 => "BOUND-INACTIVE",
        _ => return format!("state_{state}"),
    }
    .to_string()
}

/// The protocol name of a socket: `tcp`, `udp`, `udplite`, `raw`, `icmp` (ping sockets), `sctp`, `mptcp`
/// for inet families; the family name for the others (`unix`, `netlink`, `packet`...).
pub fn proto_name(family: u16, sock_type: u16, protocol: u16) -> String {
    if family != AF_INET && family != AF_INET6 {
        return family_name(family);
    }
    if sock_type == 3 {
        return "raw".into();
    }
    match protocol {
        6 => "tcp",
        17 => "udp",
        136 => "udplite",
        1 | 58 => "icmp",
        132 => "sctp",
        262 => "mptcp",
        33 => "dccp",
        // IPPROTO_IP (0) picks the default protocol of the type.
        0 if sock_type == 1 => "tcp",
        0 if sock_type == 2 => "udp",
        p => return format!("ipproto_{p}"),
    }
    .to_string()
}

/// What a `struct sock` says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SockInfo {
    /// Address of the `struct sock`.
    pub sock_addr: u64,
    /// Address of its `struct socket` (`sk->sk_socket`, or the file's `private_data`), when it has one.
    pub socket_addr: Option<u64>,
    /// Address family (`AF_*`).
    pub family: u16,
    /// `sk_type` (`SOCK_*`).
    pub sock_type: Option<u16>,
    /// `sk_protocol` (`IPPROTO_*`, or the netlink protocol); for packet sockets the ethertype in host
    /// order.
    pub protocol: Option<u16>,
    /// `skc_state`.
    pub state: Option<u8>,
    /// Local address (inet families).
    pub local_addr: Option<String>,
    /// Local port, host order (inet families; the protocol number for raw sockets).
    pub local_port: Option<u16>,
    /// Remote address (inet families).
    pub remote_addr: Option<String>,
    /// Remote port (inet families).
    pub remote_port: Option<u16>,
    /// Inode number of the network namespace (`skc_net->ns.inum`).
    pub netns: Option<u64>,
    /// Socket inode number (`SOCK_INODE(socket)->i_ino`).
    pub inode: Option<u64>,
    /// UNIX: the bound name (`unix_sock->addr->name.sun_path`); abstract names start with `@`.
    pub path: Option<String>,
    /// UNIX: the peer's `struct sock` (`unix_sock->peer`).
    pub peer_sock_addr: Option<u64>,
    /// UNIX: the peer's socket inode number.
    pub peer_inode: Option<u64>,
    /// Packet sockets: the interface index bound to (`packet_sock.ifindex`; 0 for all interfaces).
    pub ifindex: Option<i32>,
    /// Netlink sockets: the port id (`netlink_sock.portid`): 0 while unbound (and for the kernel's own
    /// sockets), the process id for the first socket a process binds, a negative number (shown unsigned,
    /// as `/proc/net/netlink` does) for later ones.
    pub portid: Option<u32>,
    /// Netlink sockets: the multicast groups 1 to 64 subscribed to (bit `n - 1` for group `n`, the first
    /// word of `netlink_sock.groups`); 0 when none.
    pub groups: Option<u64>,
}

/// Decodes sockets, caching what many sockets share (the netns inode of each `struct net`).
pub struct SocketReader<'k> {
    kernel: &'k Kernel,
    socket_file_ops: u64,
    /// Offset of `vfs_inode` from the `struct socket` inside `struct socket_alloc`.
    inode_from_socket: Option<u64>,
    netns: RefCell<HashMap<u64, Option<u64>>>,
}

impl<'k> SocketReader<'k> {
    /// A reader for `kernel`; fails when the symbols lack `socket_file_ops`.
    pub fn new(kernel: &'k Kernel) -> Result<Self, KernelError> {
        let socket_file_ops = kernel.symbol_addr("socket_file_ops")?;
        let inode_from_socket = kernel
            .member_offset("socket_alloc", "vfs_inode")
            .ok()
            .zip(kernel.member_offset("socket_alloc", "socket").ok())
            .map(|(i, s)| i.wrapping_sub(s));
        Ok(SocketReader {
            kernel,
            socket_file_ops,
            inode_from_socket,
            netns: RefCell::new(HashMap::new()),
        })
    }

    /// The kernel read.
    pub fn kernel(&self) -> &'k Kernel {
        self.kernel
    }

    /// Run-time address of `socket_file_ops`.
    pub fn socket_file_ops(&self) -> u64 {
        self.socket_file_ops
    }

    /// Whether an open `struct file` is a socket (its `f_op` is `&socket_file_ops`).
    pub fn is_socket_file(&self, file: &Object<'_>) -> bool {
        file.pointer("f_op").is_ok_and(|op| op == self.socket_file_ops)
    }

    /// Decode the socket of an open file known to be a socket; the inode number comes from `f_inode`.
    pub fn read_file(&self, file: &Object<'_>) -> Result<SockInfo, KernelError> {
        let socket_addr = file.pointer("private_data")?;
        if socket_addr == 0 {
            return Err(KernelError::Layout("socket file has no private_data".into()));
        }
        let mut info = self.read_socket(socket_addr)?;
        if let Ok(Some(inode)) = file.deref("f_inode") {
            if let Ok(ino) = inode.u64("i_ino") {
                info.inode = Some(ino);
            }
        }
        Ok(info)
    }

    /// Decode a `struct socket` and its `sk`.
    pub fn read_socket(&self, socket_addr: u64) -> Result<SockInfo, KernelError> {
        let socket = self.kernel.object("socket", socket_addr)?;
        let sk = socket.pointer("sk")?;
        if sk == 0 {
            // A socket not yet (or no longer) backed by a sock: family unknown.
            return Err(KernelError::Layout(format!("socket at {socket_addr:#x} has no sock")));
        }
        let mut info = self.read_sock(sk)?;
        info.socket_addr = Some(socket_addr);
        if info.inode.is_none() {
            info.inode = self.socket_inode(socket_addr);
        }
        if info.sock_type.is_none() {
            info.sock_type = socket.int("type").ok().map(|t| t as u16);
        }
        Ok(info)
    }

    /// Inode number of a `struct socket` (`SOCK_INODE`: the inode beside it in `struct socket_alloc`).
    pub fn socket_inode(&self, socket_addr: u64) -> Option<u64> {
        let off = self.inode_from_socket?;
        let ino_off = self.kernel.member_offset("inode", "i_ino").ok()?;
        self.kernel
            .read_u64(socket_addr.wrapping_add(off).wrapping_add(ino_off))
            .ok()
    }

    /// Decode a `struct sock`.
    pub fn read_sock(&self, sk_addr: u64) -> Result<SockInfo, KernelError> {
        let mut info = self.read_common(sk_addr)?;
        let sk = self.kernel.object("sock", sk_addr)?;
        info.sock_type = sk.int("sk_type").ok().map(|t| t as u16);
        info.protocol = sk.int("sk_protocol").ok().map(|p| p as u16);
        match sk.pointer("sk_socket") {
            Ok(s) if s != 0 => info.socket_addr = Some(s),
            _ => {}
        }
        match info.family {
            AF_UNIX => self.unix(sk_addr, &mut info),
            AF_PACKET => self.packet(sk_addr, &mut info),
            AF_NETLINK => self.netlink(sk_addr, &mut info),
            _ => {}
        }
        Ok(info)
    }

    /// Decode only the `struct sock_common` at the start of a socket: what TIME-WAIT (`inet_timewait_sock`)
    /// and NEW-SYN-RECV (`request_sock`) minisockets have of a full `struct sock`. Type, protocol and
    /// `struct socket` stay unknown.
    pub fn read_common(&self, sk_addr: u64) -> Result<SockInfo, KernelError> {
        let off = self.kernel.member_offset("sock", "__sk_common")?;
        let common = self.kernel.object("sock_common", sk_addr.wrapping_add(off))?;
        let family = common.u64("skc_family")? as u16;
        let mut info = SockInfo {
            sock_addr: sk_addr,
            family,
            state: common.u64("skc_state").ok().map(|s| s as u8),
            ..SockInfo::default()
        };
        info.netns = common
            .member("skc_net")
            .and_then(|n| n.pointer("net"))
            .ok()
            .and_then(|net| self.netns_inum(net));
        match family {
            AF_INET => {
                info.local_addr = common.bytes("skc_rcv_saddr").ok().and_then(ipv4);
                info.remote_addr = common.bytes("skc_daddr").ok().and_then(ipv4);
                self.ports(&common, &mut info);
            }
            AF_INET6 => {
                info.local_addr = common.bytes("skc_v6_rcv_saddr").ok().and_then(ipv6);
                info.remote_addr = common.bytes("skc_v6_daddr").ok().and_then(ipv6);
                self.ports(&common, &mut info);
            }
            _ => {}
        }
        Ok(info)
    }

    fn ports(&self, common: &Object<'_>, info: &mut SockInfo) {
        info.local_port = common.u64("skc_num").ok().map(|p| p as u16);
        info.remote_port = common.u64("skc_dport").ok().map(|p| (p as u16).swap_bytes());
    }

    /// Packet sockets: the bound interface and the protocol (`packet_sock.num`, an ethertype in network
    /// order, given in host order: 0x0003 for `ETH_P_ALL`).
    fn packet(&self, sk_addr: u64, info: &mut SockInfo) {
        let Ok(po) = self.kernel.object("packet_sock", sk_addr) else {
            return;
        };
        info.ifindex = po.i64("ifindex").ok().map(|i| i as i32);
        if let Ok(num) = po.u64("num") {
            info.protocol = Some((num as u16).swap_bytes());
        }
    }

    /// Netlink sockets: port id and the first word of the group bitmap (`groups` points at `ngroups` bits;
    /// NULL or no groups means none subscribed).
    fn netlink(&self, sk_addr: u64, info: &mut SockInfo) {
        let Ok(nlk) = self.kernel.object("netlink_sock", sk_addr) else {
            return;
        };
        info.portid = nlk.u64("portid").ok().map(|p| p as u32);
        let ngroups = nlk.u64("ngroups").ok();
        info.groups = match (nlk.pointer("groups"), ngroups) {
            (Ok(0), Some(_)) | (Ok(_), Some(0)) => Some(0),
            (Ok(p), Some(n)) => self
                .kernel
                .read_u64(p)
                .ok()
                .map(|w| if n < 64 { w & ((1u64 << n) - 1) } else { w }),
            _ => None,
        };
    }

    /// UNIX sockets: bound name and peer.
    fn unix(&self, sk_addr: u64, info: &mut SockInfo) {
        let Ok(unix) = self.kernel.object("unix_sock", sk_addr) else {
            return;
        };
        if let Ok(addr) = unix.pointer("addr") {
            if addr != 0 {
                info.path = self.unix_name(addr);
            }
        }
        if let Ok(peer) = unix.pointer("peer") {
            if peer != 0 {
                info.peer_sock_addr = Some(peer);
                info.peer_inode = self
                    .kernel
                    .object("sock", peer)
                    .and_then(|p| p.pointer("sk_socket"))
                    .ok()
                    .filter(|&s| s != 0)
                    .and_then(|s| self.socket_inode(s));
            }
        }
    }

    /// The name of a `struct unix_address`: `len` counts `sun_family` and the path bytes; an abstract
    /// name (first byte NUL) is shown as `@name` as `ss` does. A length outside the `sockaddr_un` is
    /// refused.
    fn unix_name(&self, addr: u64) -> Option<String> {
        let ua = self.kernel.object("unix_address", addr).ok()?;
        let len = ua.int("len").ok()?;
        let name_off = self.kernel.member_offset("unix_address", "name").ok()?;
        let path_off = self.kernel.member_offset("sockaddr_un", "sun_path").ok()?;
        let max = self.kernel.symbols().layout("sockaddr_un").ok()?.size();
        if len <= path_off as i128 || len > max as i128 {
            return None;
        }
        let n = (len as u64 - path_off) as usize;
        let mut buf = vec![0u8; n];
        self.kernel
            .read(addr.wrapping_add(name_off).wrapping_add(path_off), &mut buf)
            .ok()?;
        Some(unix_path_text(&buf))
    }

    /// Inode number of the network namespace `net` (cached).
    pub fn netns_inum(&self, net: u64) -> Option<u64> {
        if net == 0 {
            return None;
        }
        if let Some(v) = self.netns.borrow().get(&net) {
            return *v;
        }
        let v = self
            .kernel
            .member_offset("net", "ns.inum")
            .ok()
            .and_then(|off| {
                let mut b = [0u8; 4];
                self.kernel
                    .read(net.wrapping_add(off), &mut b)
                    .ok()
                    .map(|_| u32::from_le_bytes(b) as u64)
            })
            .filter(|&v| v != 0);
        self.netns.borrow_mut().insert(net, v);
        v
    }
}

/// A socket a process holds through a descriptor.
#[derive(Debug, Clone)]
pub struct HeldSocket {
    /// The process id (thread-group id).
    pub pid: u32,
    /// The process's `comm`.
    pub comm: String,
    /// The descriptor.
    pub fd: u32,
    /// Address of the `struct file`.
    pub file_addr: u64,
    /// The socket.
    pub info: SockInfo,
}

/// Every socket held through a descriptor of a process that `want` accepts (by pid), in task-list and
/// descriptor order: each open file whose `f_op` is `socket_file_ops`, as Volatility's `linux_netstat`
/// finds them. Problems (a descriptor table or a file that cannot be read, summed up per process) go to
/// `warnings`.
pub fn held_sockets(
    reader: &SocketReader<'_>,
    want: impl Fn(u32) -> bool,
    warnings: &mut Vec<String>,
) -> Result<Vec<HeldSocket>, KernelError> {
    let kernel = reader.kernel();
    let mut out = Vec::new();
    super::tasks::for_each_process(kernel, warnings, |task, pid, warnings| {
        if !want(pid) {
            return;
        }
        let comm = task.string("comm").unwrap_or_default();
        let holder = super::files::descriptor_holder(kernel, task);
        let mut task_warnings = Vec::new();
        let descriptors = match super::files::open_files(kernel, &holder, &mut task_warnings) {
            Ok(f) => f,
            Err(e) => {
                warnings.push(format!("pid {pid} ({comm}): open files not readable: {e}"));
                return;
            }
        };
        warnings.extend(task_warnings.into_iter().map(|w| format!("pid {pid} ({comm}): {w}")));
        // Unreadable open files are summed up per process: a corrupt table can name a million of them.
        let mut unreadable = (0usize, String::new());
        for (fd, file_addr) in descriptors {
            let file = match kernel.object("file", file_addr) {
                Ok(f) => f,
                Err(e) => {
                    if unreadable.0 == 0 {
                        unreadable.1 = format!("fd {fd}: {e}");
                    }
                    unreadable.0 += 1;
                    continue;
                }
            };
            if !reader.is_socket_file(&file) {
                continue;
            }
            match reader.read_file(&file) {
                Ok(info) => out.push(HeldSocket {
                    pid,
                    comm: comm.clone(),
                    fd,
                    file_addr,
                    info,
                }),
                Err(e) => warnings.push(format!("pid {pid} ({comm}) fd {fd}: socket: {e}")),
            }
        }
        if unreadable.0 > 0 {
            warnings.push(format!(
                "pid {pid} ({comm}): {} open files unreadable (first {})",
                unreadable.0, unreadable.1
            ));
        }
    })?;
    Ok(out)
}

/// The sockets of the TCP and UDP hash tables (and the UNIX ones unless `no_unix`) that are not in
/// `held` (addresses of `struct sock`), each once, in table order: full sockets decoded with their inode,
/// TIME-WAIT and NEW-SYN-RECV minisockets from their `sock_common` (type stream, protocol TCP). A socket
/// of the wrong family for its table is skipped; every problem goes to `warnings`.
pub fn unowned_sockets(
    reader: &SocketReader<'_>,
    no_unix: bool,
    held: &HashSet<u64>,
    warnings: &mut Vec<String>,
) -> Vec<SockInfo> {
    let kernel = reader.kernel();
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut tables = vec![("tcp", tcp_hashed(kernel)), ("udp", udp_hashed(kernel))];
    if !no_unix {
        tables.push(("unix", unix_hashed(kernel)));
    }
    for (proto, walk) in tables {
        let walk = match walk {
            Ok(w) => w,
            Err(e) => {
                warnings.push(format!(
                    "{proto} hash tables not readable, sockets no process holds not listed: {e}"
                ));
                continue;
            }
        };
        warnings.extend(walk.warnings);
        for sk in walk.socks {
            if held.contains(&sk) || !seen.insert(sk) {
                continue;
            }
            let common = match reader.read_common(sk) {
                Ok(c) => c,
                Err(e) => {
                    warnings.push(format!("{proto} hash: socket at {sk:#x}: {e}"));
                    continue;
                }
            };
            let mini = matches!(common.state, Some(TCP_TIME_WAIT | TCP_NEW_SYN_RECV)) && proto == "tcp";
            let info = if mini {
                SockInfo {
                    sock_type: Some(1),
                    protocol: Some(6),
                    ..common
                }
            } else {
                match reader.read_sock(sk) {
                    Ok(mut i) => {
                        if let Some(s) = i.socket_addr {
                            i.inode = reader.socket_inode(s);
                        }
                        i
                    }
                    Err(e) => {
                        warnings.push(format!("{proto} hash: socket at {sk:#x}: {e}"));
                        continue;
                    }
                }
            };
            let expected = if proto == "unix" {
                info.family == AF_UNIX
            } else {
                matches!(info.family, AF_INET | AF_INET6)
            };
            if !expected {
                warnings.push(format!(
                    "{proto} hash: socket at {sk:#x} has family {}: skipped",
                    info.family
                ));
                continue;
            }
            out.push(info);
        }
    }
    out
}

/// The text of a UNIX socket name's path bytes (without `sun_family`): an abstract name (leading NUL) as
/// `@name` with its NULs kept as `@` like `ss`, a file-system path up to its first NUL.
pub fn unix_path_text(bytes: &[u8]) -> String {
    match bytes.first() {
        Some(0) => {
            let rest: Vec<u8> = bytes[1..].iter().map(|&b| if b == 0 { b'@' } else { b }).collect();
            format!("@{}", String::from_utf8_lossy(&rest))
        }
        _ => super::c_string(bytes),
    }
}

fn ipv4(b: &[u8]) -> Option<String> {
    Some(super::net::ipv4(b.get(..4)?.try_into().ok()?))
}

fn ipv6(b: &[u8]) -> Option<String> {
    Some(super::net::ipv6(b.get(..16)?.try_into().ok()?))
}

/// `TCP_TIME_WAIT`.
pub const TCP_TIME_WAIT: u8 = 6;
/// `TCP_NEW_SYN_RECV`.
pub const TCP_NEW_SYN_RECV: u8 = 12;
/// `TCP_LISTEN` (also a listening UNIX socket's state).
pub const TCP_LISTEN: u8 = 10;

/// At most this many sockets are taken from one protocol's hash tables.
pub const MAX_HASHED: usize = 1 << 18;
/// At most this many buckets are read from one hash table.
pub const MAX_BUCKETS: u64 = 1 << 22;

/// Sockets found in a protocol's hash tables, and what went wrong on the way.
#[derive(Debug, Clone, Default)]
pub struct HashWalk {
    /// Addresses of the `struct sock` (or minisocket) of each entry.
    pub socks: Vec<u64>,
    /// One line per problem (an unreadable bucket array or chain, a cut-off walk).
    pub warnings: Vec<String>,
}

/// The first-node pointers of `count` buckets of `stride` bytes at `array` (each bucket's head pointer
/// at `head_off` within it); buckets on unreadable pages are skipped with a warning.
fn bucket_heads(
    kernel: &Kernel,
    array: u64,
    count: u64,
    stride: u64,
    head_off: u64,
    what: &str,
    walk: &mut HashWalk,
) -> Vec<u64> {
    let total = count.saturating_mul(stride);
    let mut buf = vec![0u8; usize::try_from(total).unwrap_or(0)];
    let mut bad = Vec::new();
    let mut done = 0usize;
    while done < buf.len() {
        let at = array.wrapping_add(done as u64);
        let take = ((0x1000 - (at & 0xfff)) as usize).min(buf.len() - done);
        if kernel.read(at, &mut buf[done..done + take]).is_err() {
            bad.push((done, done + take));
        }
        done += take;
    }
    if !bad.is_empty() {
        walk.warnings
            .push(format!("{what}: {} pages of the bucket array unreadable", bad.len()));
    }
    (0..count)
        .filter_map(|b| {
            let o = usize::try_from(b * stride + head_off).ok()?;
            if bad.iter().any(|&(x, y)| o < y && x < o + 8) {
                return None;
            }
            Some(u64::from_le_bytes(buf.get(o..o + 8)?.try_into().ok()?))
        })
        .collect()
}

/// Follow hash chains from their first nodes: `hlist` (NULL-terminated) and `hlist_nulls` (ended by an
/// odd "nulls" marker) alike; the node sits `node_off` bytes into each socket.
fn walk_chains(kernel: &Kernel, heads: Vec<u64>, node_off: u64, what: &str, walk: &mut HashWalk) {
    walk_chains_checked(kernel, heads, node_off, what, walk, &|_| Ok(()));
}

/// [`walk_chains`], with each socket checked before it is taken: a socket `check` refuses ends its chain
/// (what follows it is not to be trusted), and the refusals are summed up in one warning.
fn walk_chains_checked(
    kernel: &Kernel,
    heads: Vec<u64>,
    node_off: u64,
    what: &str,
    walk: &mut HashWalk,
    check: &dyn Fn(u64) -> Result<(), String>,
) {
    let mut seen = std::collections::HashSet::new();
    let mut broken = 0usize;
    let mut refused = (0usize, String::new());
    for head in heads {
        let mut node = head;
        while node != 0 && node & 1 == 0 {
            if walk.socks.len() >= MAX_HASHED {
                walk.warnings
                    .push(format!("{what}: stopped after {MAX_HASHED} sockets"));
                return;
            }
            if !seen.insert(node) {
                broken += 1;
                break;
            }
            if let Err(why) = check(node.wrapping_sub(node_off)) {
                if refused.0 == 0 {
                    refused.1 = why;
                }
                refused.0 += 1;
                break;
            }
            walk.socks.push(node.wrapping_sub(node_off));
            match kernel.read_u64(node) {
                Ok(n) => node = n,
                Err(_) => {
                    broken += 1;
                    break;
                }
            }
        }
    }
    if broken > 0 {
        walk.warnings.push(format!(
            "{what}: {broken} hash chains cut short (unreadable link or cycle)"
        ));
    }
    if refused.0 > 0 {
        walk.warnings.push(format!(
            "{what}: {} hash chains cut short at a socket that does not belong there (first: {})",
            refused.0, refused.1
        ));
    }
}

/// The per-namespace pointer at `path` in each `struct net` (`ipv4.tcp_death_row.hashinfo`,
/// `ipv4.udp_table`), where the symbols have it: tables a namespace may have of its own.
fn per_netns_tables(kernel: &Kernel, path: &str, walk: &mut HashWalk) -> Vec<u64> {
    let Ok(off) = kernel.member_offset("net", path) else {
        return Vec::new();
    };
    match super::net::network_namespaces(kernel) {
        Ok((namespaces, _)) => namespaces
            .iter()
            .filter_map(|n| kernel.read_u64(n.addr.wrapping_add(off)).ok())
            .filter(|&p| p != 0)
            .collect(),
        Err(e) => {
            walk.warnings.push(format!(
                "network namespaces not readable, per-namespace tables ({path}) not read: {e}"
            ));
            Vec::new()
        }
    }
}

/// TCP sockets (IPv4 and IPv6) in `tcp_hashinfo` and in the per-namespace tables some namespaces have
/// (`net->ipv4.tcp_death_row.hashinfo`, with `tcp_child_ehash_entries`): the listening hash, as
/// [`ListeningHash`] says it is chained, and the established hash (`ehash`, holding full sockets,
/// TIME-WAIT and NEW-SYN-RECV minisockets). Kernels with no walkable listening hash get the established
/// hash only, with a warning.
pub fn tcp_hashed(kernel: &Kernel) -> Result<HashWalk, KernelError> {
    let mut walk = HashWalk::default();
    let global = kernel.symbol_addr("tcp_hashinfo")?;
    let mut tables = vec![global];
    for t in per_netns_tables(kernel, "ipv4.tcp_death_row.hashinfo", &mut walk) {
        if !tables.contains(&t) {
            tables.push(t);
        }
    }
    let node_off = kernel.member_offset("sock_common", "skc_nulls_node")?;
    let first_off = kernel.member_offset("hlist_nulls_head", "first")?;
    let listen_node_off = match kernel.layouts().listening() {
        ListeningHash::Lhash2 {
            node_member: ListenNode::PortAddr,
        } => Some(kernel.member_offset("inet_connection_sock", "icsk_listen_portaddr_node")?),
        ListeningHash::Lhash2 {
            node_member: ListenNode::SkcNulls,
        } => Some(node_off),
        ListeningHash::None => None,
    };
    let mut arrays = Vec::new();
    for (i, addr) in tables.into_iter().enumerate() {
        let info = match kernel.object("inet_hashinfo", addr) {
            Ok(o) => o,
            Err(e) if i > 0 => {
                walk.warnings
                    .push(format!("per-namespace tcp hash table at {addr:#x}: {e}"));
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Some(listen_node_off) = listen_node_off {
            let array = info.pointer("lhash2")?;
            if array != 0 && !arrays.contains(&array) {
                arrays.push(array);
                let stride = kernel.symbols().layout("inet_listen_hashbucket")?.size();
                let count = info.u64("lhash2_mask")?.saturating_add(1).min(MAX_BUCKETS);
                let head_off = kernel.member_offset("inet_listen_hashbucket", "nulls_head")? + first_off;
                let heads = bucket_heads(kernel, array, count, stride, head_off, "tcp listening hash", &mut walk);
                walk_chains(kernel, heads, listen_node_off, "tcp listening hash", &mut walk);
            }
        } else if i == 0 {
            walk.warnings.push(
                "tcp listening hash: this kernel's layout is not supported; listening sockets no process holds are \
                 not listed"
                    .into(),
            );
        }
        let array = info.pointer("ehash")?;
        if array != 0 && !arrays.contains(&array) {
            arrays.push(array);
            let stride = kernel.symbols().layout("inet_ehash_bucket")?.size();
            let count = info.u64("ehash_mask")?.saturating_add(1).min(MAX_BUCKETS);
            let head_off = kernel.member_offset("inet_ehash_bucket", "chain")? + first_off;
            let heads = bucket_heads(
                kernel,
                array,
                count,
                stride,
                head_off,
                "tcp established hash",
                &mut walk,
            );
            walk_chains(kernel, heads, node_off, "tcp established hash", &mut walk);
        }
    }
    Ok(walk)
}

/// UDP sockets (IPv4 and IPv6) bound to a port: `udp_table.hash` and the per-namespace tables some
/// namespaces have (`net->ipv4.udp_table`, with `udp_child_hash_entries`); `hlist` chains through
/// `skc_node`.
pub fn udp_hashed(kernel: &Kernel) -> Result<HashWalk, KernelError> {
    let mut walk = HashWalk::default();
    let global = kernel.symbol_addr("udp_table")?;
    let mut tables = vec![global];
    for t in per_netns_tables(kernel, "ipv4.udp_table", &mut walk) {
        if !tables.contains(&t) {
            tables.push(t);
        }
    }
    let node_off = kernel.member_offset("sock_common", "skc_node")?;
    let stride = kernel.symbols().layout("udp_hslot")?.size();
    let head_off = kernel.member_offset("udp_hslot", "head")? + kernel.member_offset("hlist_head", "first")?;
    let mut arrays = Vec::new();
    for (i, addr) in tables.into_iter().enumerate() {
        let table = match kernel.object("udp_table", addr) {
            Ok(o) => o,
            Err(e) if i > 0 => {
                walk.warnings
                    .push(format!("per-namespace udp hash table at {addr:#x}: {e}"));
                continue;
            }
            Err(e) => return Err(e),
        };
        let count = table.u64("mask")?.saturating_add(1).min(MAX_BUCKETS);
        let array = table.pointer("hash")?;
        if array != 0 && !arrays.contains(&array) {
            arrays.push(array);
            let heads = bucket_heads(kernel, array, count, stride, head_off, "udp hash", &mut walk);
            walk_chains(kernel, heads, node_off, "udp hash", &mut walk);
        }
    }
    Ok(walk)
}

/// `UNIX_HASH_SIZE` of kernels whose UNIX sockets hash per namespace (`net->unx.table`, Linux 5.19 on):
/// 256 buckets for unbound and path-bound sockets, then 256 for abstract names. A compile-time constant the
/// symbols do not record, except as the size of `bsd_socket_buckets`, which holds half as many.
pub const UNIX_HASH_SIZE: u64 = 512;

/// Every UNIX socket in the kernel's UNIX hash tables, the layout chosen by what the symbols have:
///
/// - `net->unx.table.buckets` (Linux 5.19 on): each namespace's own [`UNIX_HASH_SIZE`] buckets, every
///   socket of the namespace chained through `sk_node`; and the global `bsd_socket_buckets`, where
///   sockets bound to a file-system path are also chained, through `sk_bind_node`;
/// - `unix_socket_table[]` (before): one global array, its size taken from the symbol's type (512 when
///   the symbols do not say).
///
/// Each bucket head must be NULL or a kernel pointer, and each socket must be `AF_UNIX` and belong to the
/// namespace walked (to some namespace of `net_namespace_list` for the global tables): a socket that does
/// not ends its chain, with a warning. Each socket is given once.
pub fn unix_hashed(kernel: &Kernel) -> Result<HashWalk, KernelError> {
    let mut walk = HashWalk::default();
    let symbols = kernel.symbols();
    let common = kernel.member_offset("sock", "__sk_common")?;
    let family_off = common + kernel.member_offset("sock_common", "skc_family")?;
    let net_off = kernel
        .member_offset("sock_common", "skc_net.net")
        .ok()
        .map(|o| o + common);
    let node_off = common + kernel.member_offset("sock_common", "skc_node")?;
    let head_size = symbols.layout("hlist_head")?.size();
    let (namespaces, problems) = super::net::network_namespaces(kernel)?;
    walk.warnings
        .extend(problems.into_iter().map(|p| format!("unix hash: {p}")));
    let known: HashSet<u64> = namespaces.iter().map(|n| n.addr).collect();
    // `Some(net)`: the socket must belong to that namespace; `None`: to any known one.
    let check = |sk: u64, want: Option<u64>| -> Result<(), String> {
        let mut fam = [0u8; 2];
        kernel
            .read(sk.wrapping_add(family_off), &mut fam)
            .map_err(|e| format!("socket at {sk:#x} unreadable: {e}"))?;
        let family = u16::from_le_bytes(fam);
        if family != AF_UNIX {
            return Err(format!("socket at {sk:#x} has family {family}"));
        }
        // Without network namespaces (no `skc_net.net`) every socket is the initial namespace's.
        let Some(off) = net_off else { return Ok(()) };
        let net = kernel
            .read_u64(sk.wrapping_add(off))
            .map_err(|e| format!("socket at {sk:#x}: namespace unreadable: {e}"))?;
        match want {
            Some(w) if net != w => Err(format!("socket at {sk:#x} is in the namespace at {net:#x}, not {w:#x}")),
            None if !known.contains(&net) => Err(format!("socket at {sk:#x} is in no known namespace ({net:#x})")),
            _ => Ok(()),
        }
    };
    let heads_of = |array: u64, count: u64, what: &str, walk: &mut HashWalk| -> Vec<u64> {
        let heads = bucket_heads(kernel, array, count, head_size, 0, what, walk);
        let bad = heads
            .iter()
            .filter(|&&h| h != 0 && !kernel.is_kernel_pointer(h))
            .count();
        if bad > 0 {
            walk.warnings
                .push(format!("{what}: {bad} bucket heads are not kernel pointers: skipped"));
        }
        // More than a quarter of garbage: not a bucket array at all.
        if bad as u64 > count / 4 {
            walk.warnings
                .push(format!("{what}: the bucket array at {array:#x} is not one: not walked"));
            return Vec::new();
        }
        heads.into_iter().filter(|&h| kernel.is_kernel_pointer(h)).collect()
    };
    if let Ok(buckets_off) = kernel.member_offset("net", "unx.table.buckets") {
        let count = match symbols.symbol("bsd_socket_buckets")?.and_then(|s| s.ty) {
            Some(TypeRef::Array { count, .. }) if count > 0 => (count * 2).min(MAX_BUCKETS),
            _ => UNIX_HASH_SIZE,
        };
        for ns in &namespaces {
            let what = match ns.inum {
                Some(i) => format!("unix hash of netns {i}"),
                None => format!("unix hash of the netns at {:#x}", ns.addr),
            };
            let array = match kernel.read_u64(ns.addr.wrapping_add(buckets_off)) {
                Ok(a) => a,
                Err(e) => {
                    walk.warnings
                        .push(format!("{what}: bucket array pointer unreadable: {e}"));
                    continue;
                }
            };
            if array == 0 {
                continue;
            }
            if !kernel.is_kernel_pointer(array) {
                walk.warnings.push(format!(
                    "{what}: bucket array pointer {array:#x} is not a kernel pointer"
                ));
                continue;
            }
            let heads = heads_of(array, count, &what, &mut walk);
            let want = ns.addr;
            walk_chains_checked(kernel, heads, node_off, &what, &mut walk, &|sk| check(sk, Some(want)));
        }
        if symbols.has_symbol("bsd_socket_buckets") {
            let array = kernel.symbol_addr("bsd_socket_buckets")?;
            let heads = heads_of(array, count / 2, "unix bound-path hash", &mut walk);
            let bind_off = common + kernel.member_offset("sock_common", "skc_bind_node")?;
            walk_chains_checked(kernel, heads, bind_off, "unix bound-path hash", &mut walk, &|sk| {
                check(sk, None)
            });
        }
    } else if let Some(sym) = symbols.symbol("unix_socket_table")? {
        // Symbols made from BTF and kallsyms have no variable types: then the size every kernel since 3.10
        // gives it (`2 * UNIX_HASH_SIZE` with 256, or `UNIX_HASH_SIZE` with 512); an older, smaller array
        // would end in heads and sockets the checks refuse.
        let count = match sym.ty {
            Some(TypeRef::Array { count, .. }) => count.min(MAX_BUCKETS),
            _ => UNIX_HASH_SIZE,
        };
        let array = kernel.symbol_addr("unix_socket_table")?;
        let heads = heads_of(array, count, "unix hash", &mut walk);
        walk_chains_checked(kernel, heads, node_off, "unix hash", &mut walk, &|sk| check(sk, None));
    } else {
        return Err(KernelError::Layout(
            "no UNIX socket table in the symbols (net.unx.table, unix_socket_table)".into(),
        ));
    }
    let mut seen = HashSet::new();
    walk.socks.retain(|&sk| seen.insert(sk));
    Ok(walk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(proto_name(AF_INET, 1, 6), "tcp");
        assert_eq!(proto_name(AF_INET6, 2, 17), "udp");
        assert_eq!(proto_name(AF_INET, 3, 1), "raw");
        assert_eq!(proto_name(AF_INET, 2, 1), "icmp");
        assert_eq!(proto_name(AF_UNIX, 1, 0), "unix");
        assert_eq!(proto_name(16, 3, 0), "netlink");
        assert_eq!(state_name(10), "LISTEN");
        assert_eq!(state_name(1), "ESTAB");
        assert_eq!(state_name(7), "UNCONN");
        assert_eq!(type_name(5), "seqpacket");
        assert_eq!(family_name(99), "af_99");
    }

    #[test]
    fn unix_paths() {
        assert_eq!(unix_path_text(b"/run/x.sock\0\0"), "/run/x.sock");
        assert_eq!(unix_path_text(b"\x004b940"), "@4b940");
        assert_eq!(unix_path_text(b"\0a\0b"), "@a@b");
        assert_eq!(unix_path_text(b""), "");
    }
}
