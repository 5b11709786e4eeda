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
use crate::kernel::{Kernel, KernelError};

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
    for held in sockets::held_sockets(&reader, |_| true, &mut warnings)? {
        if options.no_unix && held.info.family == AF_UNIX {
            continue;
        }
        let mut row = SocketRow::from_info(&held.info);
        row.pid = Some(held.pid);
        row.comm = Some(held.comm);
        row.fd = Some(held.fd);
        row.owner = "process".into();
        row.file_addr = Some(held.file_addr);
        rows.push(row);
    }
    if !options.owned_only {
        let held: HashSet<u64> = rows.iter().map(|r| r.sock_addr).collect();
        for info in sockets::unowned_sockets(&reader, options.no_unix, &held, &mut warnings) {
            rows.push(SocketRow::from_info(&info));
        }
    }
    Ok(Analysis { rows, warnings })
}
