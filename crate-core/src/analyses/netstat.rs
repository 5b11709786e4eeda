//! `netstat`: every socket a process holds, found as Volatility's `linux_netstat`/`sockstat` find them:
//! each open file of each process whose file operations are `socket_file_ops` is a socket; its
//! `struct sock` gives protocol, addresses, ports, state and network namespace (see
//! [`crate::kernel::sockets`]).
//!
//! A socket shared by several processes (inherited across fork) gives one row per process and descriptor,
//! as `ss -p` lists each user. Sockets no process holds come from the protocol hash tables (TCP, UDP and
//! UNIX: see [`sockets::tcp_hashed`], [`sockets::udp_hashed`], [`sockets::unix_hashed`]) as rows with
//! owner `none`, never repeating a socket a process holds.

use std::collections::HashSet;

use serde::Serialize;

use super::Analysis;
use crate::kernel::sockets::{self, SockInfo, SocketReader, AF_UNIX};
use crate::kernel::{files, tasks, Kernel, KernelError};

/// One socket held by a process through a descriptor.
#[derive(Debug, Clone, Serialize)]
pub struct SocketRow {
    /// Inode number of the socket's network namespace.
    pub netns: Option<u64>,
    /// `tcp`, `udp`, `udplite`, `raw`, `icmp`, `sctp`, `mptcp` for inet sockets; else the family
    /// (`unix`, `netlink`, `packet`...).
    pub proto: Option<String>,
    /// `inet`, `inet6`, `unix`, `netlink`, `packet`...
    pub family: Option<String>,
    /// Local address (inet families).
    pub local_addr: Option<String>,
    /// Local port (inet families; for raw sockets the protocol number, as `ss` shows it).
    pub local_port: Option<u16>,
    /// Remote address (inet families; `0.0.0.0` or `::` when not connected).
    pub remote_addr: Option<String>,
    /// Remote port (inet families; 0 when not connected).
    pub remote_port: Option<u16>,
    /// State as `ss` names it: `LISTEN`, `ESTAB`, `UNCONN`, `TIME-WAIT`, `CLOSE-WAIT`, `SYN-SENT`...
    pub state: Option<String>,
    /// Process id (thread-group id) holding the socket; null for a socket no process holds.
    pub pid: Option<u32>,
    /// The process's `comm`.
    pub comm: Option<String>,
    /// Descriptor number in that process.
    pub fd: Option<u32>,
    /// Socket inode number (`socket:[N]`).
    pub inode: Option<u64>,
    /// UNIX sockets: the bound name (`@name` for abstract names), null when unbound.
    pub path: Option<String>,
    /// Socket type: `stream`, `dgram`, `seqpacket`, `raw`, `packet`...
    #[serde(rename = "type")]
    pub sock_type: Option<String>,
    /// `sk_protocol` as a number (`IPPROTO_*`; the netlink protocol for netlink sockets; the ethertype for
    /// packet sockets, 3 for `ETH_P_ALL`).
    pub protocol: Option<u16>,
    /// UNIX sockets: the peer's socket inode number.
    pub peer_inode: Option<u64>,
    /// Packet sockets: the interface index bound to (0: every interface).
    pub ifindex: Option<i32>,
    /// Netlink sockets: the port id (0 unbound; usually the owner's pid, or a negative number shown
    /// unsigned for a process's later sockets, as `/proc/net/netlink` prints it).
    pub portid: Option<u32>,
    /// Netlink sockets: bitmap of the multicast groups 1 to 64 subscribed to (bit `n - 1` for group `n`).
    pub groups: Option<u64>,
    /// `process` for a socket found through a process's descriptor table, `none` for one no process holds
    /// (found through the protocol hash tables: listening or connected sockets of the kernel or in flight,
    /// orphaned ones, TIME-WAIT and NEW-SYN-RECV minisockets; UNIX sockets passed in a message and not yet
    /// received, or not yet accepted).
    pub owner: String,
    /// The socket has no `struct socket` (`sk_socket` NULL or a minisocket): no file can hold it.
    pub orphan: bool,
    /// Address of the `struct sock`.
    #[serde(with = "crate::hex")]
    pub sock_addr: u64,
    /// Address of the `struct socket`.
    #[serde(with = "crate::hex::option")]
    pub socket_addr: Option<u64>,
    /// Address of the `struct file`.
    #[serde(with = "crate::hex::option")]
    pub file_addr: Option<u64>,
}

impl SocketRow {
    /// A row from a decoded socket, without an owner.
    pub fn from_info(info: &SockInfo) -> SocketRow {
        let inet = matches!(info.family, sockets::AF_INET | sockets::AF_INET6);
        SocketRow {
            netns: info.netns,
            proto: info
                .sock_type
                .map(|t| sockets::proto_name(info.family, t, info.protocol.unwrap_or(0))),
            family: Some(sockets::family_name(info.family)),
            local_addr: info.local_addr.clone(),
            local_port: info.local_port,
            remote_addr: info.remote_addr.clone(),
            remote_port: info.remote_port,
            state: info
                .state
                .filter(|_| inet || info.family == AF_UNIX)
                .map(sockets::state_name),
            pid: None,
            comm: None,
            fd: None,
            inode: info.inode,
            path: info.path.clone(),
            sock_type: info.sock_type.map(sockets::type_name),
            protocol: info.protocol,
            peer_inode: info.peer_inode,
            ifindex: info.ifindex,
            portid: info.portid,
            groups: info.groups,
            owner: "none".into(),
            orphan: info.socket_addr.is_none(),
            sock_addr: info.sock_addr,
            socket_addr: info.socket_addr,
            file_addr: None,
        }
    }
}

/// Options of [`netstat`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Leave out UNIX sockets.
    pub no_unix: bool,
    /// Leave out the sockets no process holds (TCP, UDP and UNIX ones found through the protocol hash
    /// tables).
    pub owned_only: bool,
}

/// Every socket held by a process.
pub fn netstat(kernel: &Kernel, options: &Options) -> Result<Analysis<SocketRow>, KernelError> {
    let reader = SocketReader::new(kernel)?;
    let mut warnings = Vec::new();
    let mut rows = Vec::new();
    tasks::for_each_process(kernel, &mut warnings, |task, pid, warnings| {
        let comm = task.string("comm").unwrap_or_default();
        let holder = files::descriptor_holder(kernel, task);
        let mut task_warnings = Vec::new();
        let descriptors = match files::open_files(kernel, &holder, &mut task_warnings) {
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
            let info = match reader.read_file(&file) {
                Ok(i) => i,
                Err(e) => {
                    warnings.push(format!("pid {pid} ({comm}) fd {fd}: socket: {e}"));
                    continue;
                }
            };
            if options.no_unix && info.family == AF_UNIX {
                continue;
            }
            let mut row = SocketRow::from_info(&info);
            row.pid = Some(pid);
            row.comm = Some(comm.clone());
            row.fd = Some(fd);
            row.owner = "process".into();
            row.file_addr = Some(file_addr);
            rows.push(row);
        }
        if unreadable.0 > 0 {
            warnings.push(format!(
                "pid {pid} ({comm}): {} open files unreadable (first {})",
                unreadable.0, unreadable.1
            ));
        }
    })?;
    if !options.owned_only {
        unowned(&reader, options.no_unix, &mut rows, &mut warnings);
    }
    Ok(Analysis { rows, warnings })
}

/// The TCP, UDP and UNIX sockets of the protocol hash tables that no descriptor of a listed process holds
/// (UNIX ones unless `no_unix`).
fn unowned(reader: &SocketReader<'_>, no_unix: bool, rows: &mut Vec<SocketRow>, warnings: &mut Vec<String>) {
    let kernel = reader.kernel();
    let held: HashSet<u64> = rows.iter().map(|r| r.sock_addr).collect();
    let mut seen = HashSet::new();
    let mut tables = vec![
        ("tcp", sockets::tcp_hashed(kernel)),
        ("udp", sockets::udp_hashed(kernel)),
    ];
    if !no_unix {
        tables.push(("unix", sockets::unix_hashed(kernel)));
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
            let mini =
                matches!(common.state, Some(sockets::TCP_TIME_WAIT | sockets::TCP_NEW_SYN_RECV)) && proto == "tcp";
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
                matches!(info.family, sockets::AF_INET | sockets::AF_INET6)
            };
            if !expected {
                warnings.push(format!(
                    "{proto} hash: socket at {sk:#x} has family {}: skipped",
                    info.family
                ));
                continue;
            }
            rows.push(SocketRow::from_info(&info));
        }
    }
}
