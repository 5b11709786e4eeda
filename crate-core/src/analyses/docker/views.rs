//! The docker views beside `ps`: `detect`, `caps`, `mounts` and `networks`, each built on the
//! [`Inventory`](super::Inventory) and the other analyses' rows.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use serde::Serialize;

use super::{inventory, Inventory, Source};
use crate::analyses::pslist::{cap_names, CapName, CAP_NAMES};
use crate::analyses::{ifconfig, lsof, mounts as mount_rows, netstat, Analysis};
use crate::kernel::{Kernel, KernelError};

// ---- detect ------------------------------------------------------------------------------------------------

/// One sign that Docker ran on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Indicator {
    /// What was looked for.
    pub indicator: &'static str,
    /// Whether it was seen.
    pub found: bool,
    /// What was seen where.
    pub evidence: Vec<String>,
}

/// `docker detect`: each sign of Docker, found or not.
pub fn detect(kernel: &Kernel) -> Result<Analysis<Indicator>, KernelError> {
    let mut inv = inventory(kernel)?;
    let mut out = Vec::new();
    let mut push = |indicator, evidence: Vec<String>| {
        out.push(Indicator {
            indicator,
            found: !evidence.is_empty(),
            evidence,
        })
    };
    let procs = |pred: &dyn Fn(&str) -> bool| -> Vec<String> {
        inv.procs
            .iter()
            .filter(|p| !p.kernel_thread && pred(&p.comm))
            .map(|p| format!("pid {} ({})", p.pid, p.comm))
            .collect()
    };
    push("dockerd process", procs(&|c| c == "dockerd"));
    push("containerd process", procs(&|c| c == "containerd"));
    push(
        "containerd-shim processes",
        procs(&|c| c.starts_with("containerd-shim")),
    );
    push("docker-proxy processes", procs(&|c| c == "docker-proxy"));
    push(
        "docker cgroups",
        inv.cgroup_hits
            .iter()
            .map(|(pid, path)| format!("pid {pid}: cgroup {path}"))
            .collect(),
    );
    push(
        "container documents in dockerd's memory",
        if inv.documents > 0 {
            vec![format!(
                "{} documents about {} containers in {} MiB of dockerd's resident memory",
                inv.documents,
                inv.containers
                    .iter()
                    .filter(|c| c.config.is_some() || c.inspect.is_some())
                    .count(),
                inv.scanned >> 20
            )]
        } else {
            Vec::new()
        },
    );
    let links = rows_of("ifconfig", ifconfig::ifconfig(kernel), &mut inv.warnings);
    let host_net = inv.host.ns.net;
    let host_links: Vec<&ifconfig::Interface> = links.iter().filter(|l| l.netns == host_net).collect();
    push(
        "docker bridge",
        host_links
            .iter()
            .filter(|l| is_docker_bridge(l))
            .map(|l| format!("{} ({})", l.name, l.mac.as_deref().unwrap_or("no MAC")))
            .collect(),
    );
    push(
        "container veths",
        host_links
            .iter()
            .filter(|l| l.name.starts_with("veth"))
            .map(|l| format!("{} in the host's network namespace", l.name))
            .collect(),
    );
    let host_mounts = rows_of(
        "mounts",
        mount_rows::mounts(
            kernel,
            &mount_rows::Options {
                pids: vec![inv.host.pid as u32],
                ..Default::default()
            },
        ),
        &mut inv.warnings,
    );
    push(
        "overlay mounts under /var/lib/docker",
        host_mounts
            .iter()
            .filter(|m| m.fstype.as_deref() == Some("overlay"))
            .filter_map(|m| m.absolute_path.as_deref().filter(|p| p.starts_with("/var/lib/docker/")))
            .map(str::to_string)
            .collect(),
    );
    let files = rows_of("lsof", lsof::lsof(kernel, &lsof::Options::default()), &mut inv.warnings);
    let mut open: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let p = f.path.as_deref()?;
            p.starts_with("/var/lib/docker/containers/")
                .then(|| format!("pid {} ({}) fd {}: {p}", f.pid, f.comm.as_deref().unwrap_or("?"), f.fd))
        })
        .collect();
    open.truncate(64);
    push("open files under /var/lib/docker/containers", open);
    let cache = kernel.memo("docker page cache", || super::cached::cached(kernel));
    push(
        "container directories under /var/lib/docker/containers in the dentry cache",
        cache.dirs.values().cloned().collect(),
    );
    push(
        "Docker's container files read back from the page cache",
        cache.documents.iter().map(|d| d.place()).collect(),
    );
    Ok(Analysis {
        rows: out,
        warnings: inv.warnings_for(&[]),
    })
}

/// A Docker bridge by its name: `docker0`, or `br-<the network id's first 12 hex digits>` (its MAC, `02:42:...`
/// before Docker 26, is shown as evidence, not required).
fn is_docker_bridge(l: &ifconfig::Interface) -> bool {
    l.name == "docker0"
        || l.name
            .strip_prefix("br-")
            .is_some_and(|id| id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn rows_of<T>(name: &str, found: Result<Analysis<T>, KernelError>, warnings: &mut Vec<String>) -> Vec<T> {
    match found {
        Ok(found) => {
            warnings.extend(found.warnings.into_iter().map(|w| format!("{name}: {w}")));
            found.rows
        }
        Err(e) => {
            warnings.push(format!("{name} could not run: {e}"));
            Vec::new()
        }
    }
}

// ---- caps --------------------------------------------------------------------------------------------------

/// Docker's default capability set (moby's `oci/caps/defaults.go`).
pub const DEFAULT_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Capabilities that let a container reach beyond itself.
pub const DANGEROUS_CAPS: [&str; 12] = [
    "CAP_SYS_ADMIN",
    "CAP_SYS_PTRACE",
    "CAP_SYS_MODULE",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_DAC_READ_SEARCH",
    "CAP_SYS_RAWIO",
    "CAP_BPF",
    "CAP_PERFMON",
    "CAP_SYS_BOOT",
    "CAP_SYS_TIME",
    "CAP_MAC_ADMIN",
];

/// One container's capabilities (its main process's).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapsRow {
    /// The container's id.
    pub container_id: String,
    /// Its name.
    pub name: Option<String>,
    /// Its main process.
    pub pid: Option<u32>,
    /// Effective capabilities (`CapEff`).
    pub cap_eff: Option<u64>,
    /// By name.
    pub cap_eff_names: Option<Vec<CapName>>,
    /// Permitted, by name.
    pub cap_prm_names: Option<Vec<CapName>>,
    /// Bounding set, by name.
    pub cap_bnd_names: Option<Vec<CapName>>,
    /// In the bounding set but not in Docker's default set (`--cap-add`, `--privileged`).
    pub added: Option<Vec<CapName>>,
    /// In Docker's default set but not in the bounding set (`--cap-drop`).
    pub dropped: Option<Vec<CapName>>,
    /// The dangerous capabilities of the bounding set.
    pub dangerous: Option<Vec<CapName>>,
}

fn set_of(names: &[&str]) -> u64 {
    names
        .iter()
        .filter_map(|n| CAP_NAMES.iter().position(|c| c == n))
        .fold(0, |s, b| s | 1 << b)
}

/// `docker caps`: each running container's capabilities.
pub fn caps(kernel: &Kernel) -> Result<Analysis<CapsRow>, KernelError> {
    let inv = inventory(kernel)?;
    let (default, dangerous) = (set_of(&DEFAULT_CAPS), set_of(&DANGEROUS_CAPS));
    let rows = inv
        .containers
        .iter()
        .map(|c| {
            let m = c.main(&inv);
            let bnd = m.and_then(|m| m.cap_bnd);
            CapsRow {
                container_id: c.row.container_id.clone(),
                name: c.row.name.clone(),
                pid: c.row.pid,
                cap_eff: m.and_then(|m| m.cap_eff),
                cap_eff_names: m.and_then(|m| m.cap_eff).map(cap_names),
                cap_prm_names: m.and_then(|m| m.cap_prm).map(cap_names),
                cap_bnd_names: bnd.map(cap_names),
                added: bnd.map(|b| cap_names(b & !default)),
                dropped: bnd.map(|b| cap_names(default & !b)),
                dangerous: bnd.map(|b| cap_names(b & dangerous)),
            }
        })
        .collect();
    Ok(Analysis {
        rows,
        warnings: inv.warnings_for(&["name"]),
    })
}

// ---- mounts ------------------------------------------------------------------------------------------------

/// One mount of a container.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MountRow {
    /// The container's id.
    pub container_id: String,
    /// Its name.
    pub name: Option<String>,
    /// The process the mounts are seen from (its main process).
    pub pid: Option<u32>,
    /// Where the container sees it.
    pub container_path: String,
    /// Its source as Docker was given it (from Docker's documents), else as the kernel resolves it.
    pub host_path: Option<String>,
    /// The kernel's resolution: the mount's root within its file system joined to where the host mounts
    /// that file system.
    pub host_path_kernel: Option<String>,
    /// File system type.
    pub fstype: Option<String>,
    /// `ro` or `rw`.
    pub access: String,
    /// Why it matters, if it does (`docker socket`, `writable host /etc`, `device node`).
    pub risk: Option<String>,
    /// Whether Docker adds it to every container (shown only with `--all`).
    pub default: bool,
    /// The mount's id.
    pub mount_id: i64,
    /// Where `host_path` came from.
    pub source: Option<Source>,
}

/// Mount points Docker gives every container.
const DEFAULT_MOUNTS: [&str; 12] = [
    "/",
    "/proc",
    "/dev",
    "/dev/pts",
    "/sys",
    "/sys/fs/cgroup",
    "/dev/mqueue",
    "/dev/shm",
    "/dev/console",
    "/etc/resolv.conf",
    "/etc/hostname",
    "/etc/hosts",
];

fn is_default_mount(path: &str) -> bool {
    DEFAULT_MOUNTS.contains(&path) || path.starts_with("/proc/") || path.starts_with("/sys/firmware")
}

/// Why a mount from the host matters.
fn risk(host_path: &str, access: &str, fstype: Option<&str>) -> Option<String> {
    let base = host_path.rsplit('/').next().unwrap_or_default();
    if base == "docker.sock" || base == "containerd.sock" {
        return Some(format!("{base}: control of the container engine"));
    }
    if fstype == Some("devtmpfs") || host_path.starts_with("/dev/") {
        return Some("device node".into());
    }
    let writable = access == "rw";
    const SENSITIVE: [&str; 8] = ["/", "/etc", "/root", "/var/run", "/run", "/proc", "/sys", "/dev"];
    SENSITIVE
        .iter()
        .find(|s| host_path == **s)
        .map(|s| format!("{} host {s}", if writable { "writable" } else { "read-only" }))
        .filter(|_| writable || host_path == "/")
}

/// `docker mounts`: each container's mounts from the host (with `all`, Docker's default ones too).
pub fn mounts(kernel: &Kernel, all: bool) -> Result<Analysis<MountRow>, KernelError> {
    let mut inv = inventory(kernel)?;
    let rows = mounts_of(kernel, &mut inv, all);
    Ok(Analysis {
        rows,
        warnings: inv.warnings_for(&["name"]),
    })
}

/// The mounts of the inventory's containers.
pub(crate) fn mounts_of(kernel: &Kernel, inv: &mut Inventory, all: bool) -> Vec<MountRow> {
    let mut pids: Vec<u32> = inv.containers.iter().filter_map(|c| c.row.pid).collect();
    if pids.is_empty() {
        return Vec::new();
    }
    pids.push(inv.host.pid as u32);
    let rows = rows_of(
        "mounts",
        mount_rows::mounts(
            kernel,
            &mount_rows::Options {
                pids,
                ..Default::default()
            },
        ),
        &mut inv.warnings,
    );
    let host: Vec<&mount_rows::MountRow> = rows.iter().filter(|r| r.mnt_ns == inv.host.ns.mnt).collect();
    let mut out = Vec::new();
    for c in &inv.containers {
        let Some(ns) = c.main(inv).and_then(|m| m.ns.mnt) else {
            continue;
        };
        if Some(ns) == inv.host.ns.mnt {
            continue;
        }
        let points = c.mount_points();
        for r in rows.iter().filter(|r| r.mnt_ns == Some(ns)) {
            let Some(path) = r.path.clone() else { continue };
            let given = points.iter().find(|(dst, ..)| *dst == path);
            let default = given.is_none() && is_default_mount(&path);
            if default && !all {
                continue;
            }
            let kernel_path = host_path(r, &host);
            let (host_path, source) = match given {
                Some((_, src, _)) if !src.is_empty() => (Some(src.clone()), c.mount_points_source()),
                _ => (kernel_path.clone(), kernel_path.as_ref().map(|_| Source::Kernel)),
            };
            let risk = [host_path.as_deref(), kernel_path.as_deref()]
                .into_iter()
                .flatten()
                .find_map(|h| risk(h, &r.access, r.fstype.as_deref()));
            out.push(MountRow {
                container_id: c.row.container_id.clone(),
                name: c.row.name.clone(),
                pid: c.row.pid,
                container_path: path,
                host_path,
                host_path_kernel: kernel_path,
                fstype: r.fstype.clone(),
                access: r.access.clone(),
                risk,
                default,
                mount_id: r.mount_id,
                source,
            });
        }
    }
    out
}

/// Where the host sees what `r` mounts: the host mount of the same file system whose root is the longest
/// prefix of `r`'s root, its mount point joined to the rest of `r`'s root.
fn host_path(r: &mount_rows::MountRow, host: &[&mount_rows::MountRow]) -> Option<String> {
    let root = r.root.as_deref()?;
    if !root.starts_with('/') {
        return None; // nsfs and the like
    }
    let dev = r.major_minor.as_deref()?;
    let within = |h: &str| root == h || h == "/" || root.starts_with(&format!("{h}/"));
    let best = host
        .iter()
        .filter(|h| h.major_minor.as_deref() == Some(dev) && h.absolute_path.is_some())
        .filter(|h| h.root.as_deref().is_some_and(within))
        .max_by_key(|h| h.root.as_deref().map_or(0, str::len))?;
    let (at, hroot) = (best.absolute_path.as_deref()?, best.root.as_deref()?);
    let rest = if hroot == "/" { root } else { &root[hroot.len()..] };
    Some(match (at, rest) {
        (a, "") => a.to_string(),
        ("/", r) => r.to_string(),
        (a, "/") => a.to_string(),
        (a, r) => format!("{a}{r}"),
    })
}

// ---- networks ----------------------------------------------------------------------------------------------

/// One container's place on a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// The container's id.
    pub container_id: String,
    /// Its name.
    pub name: Option<String>,
    /// Its IPv4 address on the network.
    pub ip: Option<String>,
    /// Its global IPv6 address on the network.
    pub ipv6: Option<String>,
    /// Its interface's MAC.
    pub mac: Option<String>,
}

/// A port published on the host: what docker-proxy forwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Published {
    /// `tcp` or `udp`.
    pub proto: String,
    /// The host address:port.
    pub host: String,
    /// The container address:port.
    pub container: String,
    /// The docker-proxy process.
    pub pid: u32,
    /// Whether that process holds a listening (or bound, for UDP) socket on the host port.
    pub listening: bool,
}

/// One network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkRow {
    /// Its name in Docker's documents, else its bridge's.
    pub network: String,
    /// `bridge`, `host`, `none`; null where the kernel does not tell (macvlan, ipvlan).
    pub driver: Option<String>,
    /// Its subnets, in network form (`172.17.0.0/16`).
    pub prefixes: Vec<String>,
    /// Its bridge device in the host's network namespace.
    pub bridge: Option<String>,
    /// The bridge's addresses (the containers' gateway).
    pub gateway: Option<String>,
    /// The containers on it.
    pub containers: Vec<Member>,
    /// Ports published to its containers.
    pub published: Vec<Published>,
}

/// `address/len` in network form.
fn network_of(address: &str, len: u32) -> Option<String> {
    let ip: IpAddr = address.parse().ok()?;
    Some(match ip {
        IpAddr::V4(v4) => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len.min(32)) };
            format!("{}/{len}", std::net::Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let mask = if len == 0 { 0 } else { u128::MAX << (128 - len.min(128)) };
            format!("{}/{len}", std::net::Ipv6Addr::from(u128::from(v6) & mask))
        }
    })
}

fn contains(prefix: &str, address: &str) -> bool {
    let Some((net, len)) = prefix.split_once('/') else {
        return false;
    };
    len.parse().ok().and_then(|l| network_of(address, l)).as_deref() == Some(prefix)
        && net.contains(':') == address.contains(':')
}

/// `docker networks`: each network with its subnets, bridge, containers and published ports.
pub fn networks(kernel: &Kernel) -> Result<Analysis<NetworkRow>, KernelError> {
    let mut inv = inventory(kernel)?;
    let links = rows_of("ifconfig", ifconfig::ifconfig(kernel), &mut inv.warnings);
    let host_net = inv.host.ns.net;
    let mut nets: Vec<NetworkRow> = Vec::new();
    // The bridges, named by Docker's documents where a container's gateway is the bridge's address.
    for l in links.iter().filter(|l| l.netns == host_net && is_docker_bridge(l)) {
        let prefixes: Vec<String> = l
            .addrs
            .iter()
            .filter(|a| a.scope == "global")
            .filter_map(|a| network_of(&a.address, a.prefixlen))
            .collect();
        let gateway = l.addrs.iter().find(|a| a.family == "inet").map(|a| a.address.clone());
        let doc_name = inv.containers.iter().find_map(|c| {
            c.doc_networks()
                .into_iter()
                .find(|n| n.gateway.is_some() && n.gateway == gateway)
                .map(|n| n.name)
        });
        nets.push(NetworkRow {
            network: doc_name.unwrap_or_else(|| l.name.clone()),
            driver: Some("bridge".into()),
            prefixes,
            bridge: Some(l.name.clone()),
            gateway,
            containers: Vec::new(),
            published: Vec::new(),
        });
    }
    let mut host_members = Vec::new();
    let mut none_members = Vec::new();
    for c in &inv.containers {
        let Some(m) = c.main(&inv) else { continue };
        let member = |ip: Option<String>, ipv6: Option<String>, mac: Option<String>| Member {
            container_id: c.row.container_id.clone(),
            name: c.row.name.clone(),
            ip,
            ipv6,
            mac,
        };
        if m.ns.net.is_some() && m.ns.net == host_net {
            host_members.push(member(None, None, None));
            continue;
        }
        let mine: Vec<&ifconfig::Interface> = links
            .iter()
            .filter(|l| l.netns.is_some() && l.netns == m.ns.net && l.name != "lo")
            .collect();
        if mine.is_empty() {
            none_members.push(member(None, None, None));
            continue;
        }
        for l in mine {
            let v4 = l.addrs.iter().find(|a| a.family == "inet");
            let v6 = l.addrs.iter().find(|a| a.family == "inet6" && a.scope == "global");
            let on = v4
                .and_then(|a| {
                    nets.iter()
                        .position(|n| n.prefixes.iter().any(|p| contains(p, &a.address)))
                })
                .or_else(|| {
                    v6.and_then(|a| {
                        nets.iter()
                            .position(|n| n.prefixes.iter().any(|p| contains(p, &a.address)))
                    })
                });
            let entry = member(
                v4.map(|a| a.address.clone()),
                v6.map(|a| a.address.clone()),
                l.mac.clone(),
            );
            match on {
                Some(i) => nets[i].containers.push(entry),
                None => {
                    // No bridge of the host holds its subnet (macvlan, ipvlan): a network of its own prefixes.
                    let prefixes: Vec<String> = l
                        .addrs
                        .iter()
                        .filter(|a| a.scope == "global")
                        .filter_map(|a| network_of(&a.address, a.prefixlen))
                        .collect();
                    let name = c
                        .doc_networks()
                        .into_iter()
                        .find(|n| n.ip.is_some() && n.ip == entry.ip)
                        .map(|n| n.name)
                        .or_else(|| prefixes.first().cloned())
                        .unwrap_or_else(|| l.name.clone());
                    match nets.iter_mut().find(|n| n.bridge.is_none() && n.network == name) {
                        Some(n) => n.containers.push(entry),
                        None => nets.push(NetworkRow {
                            network: name,
                            driver: None,
                            prefixes,
                            bridge: None,
                            gateway: None,
                            containers: vec![entry],
                            published: Vec::new(),
                        }),
                    }
                }
            }
        }
    }
    for (name, members) in [("host", host_members), ("none", none_members)] {
        if !members.is_empty() {
            nets.push(NetworkRow {
                network: name.into(),
                driver: Some(name.into()),
                prefixes: Vec::new(),
                bridge: None,
                gateway: None,
                containers: members,
                published: Vec::new(),
            });
        }
    }
    // Published ports: docker-proxy's arguments, checked against its sockets.
    let sockets = rows_of(
        "netstat",
        netstat::netstat(
            kernel,
            &netstat::Options {
                no_unix: true,
                owned_only: true,
            },
        ),
        &mut inv.warnings,
    );
    let mut by_pid: HashMap<u32, Vec<&netstat::SocketRow>> = HashMap::new();
    for s in &sockets {
        if let Some(pid) = s.pid {
            by_pid.entry(pid).or_default().push(s);
        }
    }
    for p in inv.procs.iter().filter(|p| p.comm == "docker-proxy") {
        let pid = p.pid as u32;
        let Some(args) = inv.cmdlines.get(&pid).and_then(|c| c.args.as_ref()) else {
            continue;
        };
        let flags = proxy_flags(args);
        let (Some(proto), Some(hip), Some(hport), Some(cip), Some(cport)) = (
            flags.get("proto"),
            flags.get("host-ip"),
            flags.get("host-port"),
            flags.get("container-ip"),
            flags.get("container-port"),
        ) else {
            continue;
        };
        let listening = by_pid.get(&pid).is_some_and(|socks| {
            socks.iter().any(|s| {
                s.proto.as_deref() == Some(proto.as_str())
                    && s.local_port.map(|p| p.to_string()).as_deref() == Some(hport.as_str())
                    && (proto == "udp" || s.state.as_deref() == Some("LISTEN"))
            })
        });
        let join = |ip: &str, port: &str| {
            if ip.contains(':') {
                format!("[{ip}]:{port}")
            } else {
                format!("{ip}:{port}")
            }
        };
        let entry = Published {
            proto: proto.clone(),
            host: join(hip, hport),
            container: join(cip, cport),
            pid,
            listening,
        };
        if let Some(n) = nets
            .iter_mut()
            .find(|n| n.prefixes.iter().any(|pre| contains(pre, cip)))
        {
            n.published.push(entry);
        }
    }
    Ok(Analysis {
        rows: nets,
        warnings: inv.warnings_for(&["name"]),
    })
}

/// docker-proxy's `-flag value` arguments.
fn proxy_flags(args: &[String]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        if let Some(flag) = a.strip_prefix('-') {
            let flag = flag.trim_start_matches('-');
            if let Some((k, v)) = flag.split_once('=') {
                out.insert(k.to_string(), v.to_string());
            } else if let Some(v) = it.next() {
                out.insert(flag.to_string(), v.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_in_network_form() {
        assert_eq!(network_of("172.17.0.1", 16).as_deref(), Some("172.17.0.0/16"));
        assert_eq!(network_of("10.123.0.20", 24).as_deref(), Some("10.123.0.0/24"));
        assert_eq!(network_of("fd00:c0de::1", 64).as_deref(), Some("fd00:c0de::/64"));
        assert!(contains("172.20.0.0/16", "172.20.0.10") && !contains("172.20.0.0/16", "172.17.0.2"));
        assert!(!contains("::/0", "10.0.0.1"));
    }

    #[test]
    fn risks_of_host_paths() {
        assert!(risk("/var/run/docker.sock", "rw", Some("tmpfs"))
            .unwrap()
            .contains("docker.sock"));
        assert_eq!(risk("/etc", "rw", Some("ext4")).as_deref(), Some("writable host /etc"));
        assert_eq!(risk("/etc", "ro", Some("ext4")), None);
        assert_eq!(risk("/srv/appdata", "rw", Some("ext4")), None);
        assert_eq!(risk("/dev/sda", "rw", Some("devtmpfs")).as_deref(), Some("device node"));
    }

    #[test]
    fn proxy_arguments() {
        let args: Vec<String> = "/usr/bin/docker-proxy -proto tcp -host-ip 0.0.0.0 -host-port 8080 -container-ip 172.17.0.2 -container-port 80"
            .split(' ')
            .map(str::to_string)
            .collect();
        let f = proxy_flags(&args);
        assert_eq!(f["host-port"], "8080");
        assert_eq!(f["container-ip"], "172.17.0.2");
    }

    #[test]
    fn default_mounts() {
        assert!(is_default_mount("/etc/hosts") && is_default_mount("/proc/kcore") && !is_default_mount("/data"));
    }
}
