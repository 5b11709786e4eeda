//! `ip` listings: network namespaces, links and addresses (`ip-link.txt`, `ip-d-addr.txt`), neighbours
//! (`ip-neigh*.txt`) and routes (`ip-route*.txt`), for the host (`truth/`) and each container
//! (`truth/netns/<name>/`).

use std::path::Path;

use super::*;

/// One network namespace of the truth: the host's (`truth/`) or a container's (`truth/netns/<name>/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruthNetns {
    /// `host` or the container name.
    pub name: String,
    /// The folder holding its `ip-*.txt` files.
    pub dir: std::path::PathBuf,
    /// Its inode: the `net` link of pid 1 for the host, else of the pid in the `# nsenter -t PID` header
    /// of `netns/<name>/ip-link.txt` (`truth/proc-summary.tsv`).
    pub inode: u64,
}

/// The pid after `nsenter -t` in the first `#` line of a truth file.
pub(crate) fn nsenter_pid(path: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with('#'))?;
    let rest = line.split("nsenter -t ").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

/// The host's network namespace and each container's (`truth/netns/*`), with their inodes.
pub fn network_namespaces(truth: &Path) -> Vec<TruthNetns> {
    let host = process_netns(truth, 1).unwrap_or_else(|| {
        panic!(
            "truth file {} has no net namespace for pid 1",
            truth.join("proc-summary.tsv").display()
        )
    });
    let mut out = vec![TruthNetns {
        name: "host".into(),
        dir: truth.to_path_buf(),
        inode: host,
    }];
    let dir = truth.join("netns");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list truth folder {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let link = dir.join(&name).join("ip-link.txt");
        let pid =
            nsenter_pid(&link).unwrap_or_else(|| panic!("truth file {}: no `nsenter -t PID` header", link.display()));
        let inode = process_netns(truth, pid).unwrap_or_else(|| {
            panic!(
                "truth/proc-summary.tsv: no net namespace for pid {pid} ({})",
                link.display()
            )
        });
        out.push(TruthNetns {
            name: name.clone(),
            dir: dir.join(&name),
            inode,
        });
    }
    out
}

/// One interface as `ip -d link` or `ip -d addr` printed it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TruthLink {
    /// Interface index.
    pub index: i64,
    /// Name, without the `@peer` suffix.
    pub name: String,
    /// The flags between `<` and `>`.
    pub flags: Vec<String>,
    /// MTU.
    pub mtu: u64,
    /// `state` (operational state).
    pub state: String,
    /// The `link/...` address (`link/ether`, `link/loopback`), where there is one.
    pub mac: Option<String>,
    /// The `promiscuity` count.
    pub promiscuity: Option<u64>,
    /// `inet`/`inet6` addresses in CIDR form, with their family, scope and (IPv4) label.
    pub addrs: Vec<TruthAddr>,
}

/// One address line of `ip addr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruthAddr {
    /// `inet` or `inet6`.
    pub family: String,
    /// `addr/prefix`.
    pub cidr: String,
    /// The word after `scope`.
    pub scope: String,
    /// The IPv4 label (the last word of the line), `None` for IPv6.
    pub label: Option<String>,
}

/// The interfaces of an `ip -d link` or `ip -d addr` output (`ip-link.txt`, `ip-d-addr.txt`).
pub fn ip_links(path: &Path) -> Vec<TruthLink> {
    let mut out: Vec<TruthLink> = Vec::new();
    for line in output_lines(path) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if !line.starts_with(' ') {
            // `2: eth0: <BROADCAST,...> mtu 1500 qdisc ... state UP ...`
            let (Some(index), Some(name)) = (words.first(), words.get(1)) else {
                continue;
            };
            let Ok(index) = index.trim_end_matches(':').parse() else {
                continue;
            };
            let name = name.trim_end_matches(':');
            let name = name.split('@').next().unwrap_or(name).to_string();
            let flags = words
                .get(2)
                .map(|f| {
                    f.trim_matches(|c| c == '<' || c == '>')
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let after = |key: &str| {
                words
                    .iter()
                    .position(|w| *w == key)
                    .and_then(|i| words.get(i + 1))
                    .map(|s| s.to_string())
            };
            out.push(TruthLink {
                index,
                name,
                flags,
                mtu: after("mtu").and_then(|m| m.parse().ok()).unwrap_or(0),
                state: after("state").unwrap_or_default(),
                ..Default::default()
            });
            continue;
        }
        let Some(cur) = out.last_mut() else { continue };
        match words.first().copied() {
            Some(w) if w.starts_with("link/") => {
                cur.mac = words.get(1).filter(|m| m.contains(':')).map(|m| m.to_string());
                let at = words.iter().position(|w| *w == "promiscuity");
                cur.promiscuity = at.and_then(|i| words.get(i + 1)).and_then(|p| p.parse().ok());
            }
            Some(family @ ("inet" | "inet6")) => {
                let Some(cidr) = words.get(1) else { continue };
                let scope = words.iter().position(|w| *w == "scope").and_then(|i| words.get(i + 1));
                let label = if family == "inet" {
                    words.last().map(|s| s.to_string())
                } else {
                    None
                };
                cur.addrs.push(TruthAddr {
                    family: family.to_string(),
                    cidr: cidr.to_string(),
                    scope: scope.map(|s| s.to_string()).unwrap_or_default(),
                    label,
                });
            }
            _ => {}
        }
    }
    assert!(!out.is_empty(), "truth file {} lists no interface", path.display());
    out
}

/// One entry of `ip neigh`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruthNeigh {
    /// The neighbour's address.
    pub ip: String,
    /// The device.
    pub dev: String,
    /// `lladdr`, where the entry has one.
    pub lladdr: Option<String>,
    /// The state word(s) at the end (`REACHABLE`, `STALE`, `FAILED`...).
    pub state: String,
    /// Whether `router` is printed.
    pub router: bool,
}

/// The entries of an `ip neigh` output (`final/ip-neigh*.txt`, `ip-neigh.txt`, `ip-6-neigh.txt`).
pub fn ip_neigh(path: &Path) -> Vec<TruthNeigh> {
    let mut out = Vec::new();
    for line in output_lines(path) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.len() < 3 || words[1] != "dev" {
            continue;
        }
        let lladdr = words
            .iter()
            .position(|w| *w == "lladdr")
            .and_then(|i| words.get(i + 1))
            .map(|s| s.to_lowercase());
        out.push(TruthNeigh {
            ip: words[0].to_lowercase(),
            dev: words[2].to_string(),
            lladdr,
            state: words.last().map(|s| s.to_string()).unwrap_or_default(),
            router: words.contains(&"router"),
        });
    }
    out
}

/// One route as `ip route` printed it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TruthRoute {
    /// Network namespace inode.
    pub netns: u64,
    /// `inet` or `inet6`.
    pub family: String,
    /// Table name (`main`, `local`, or a number).
    pub table: String,
    /// Route type (`unicast` where `ip` prints none).
    pub route_type: String,
    /// Destination in CIDR form (`default` as `0.0.0.0/0` or `::/0`, host routes with /32 or /128).
    pub destination: String,
    /// Gateway (`via`).
    pub gateway: Option<String>,
    /// Device (`dev`).
    pub device: Option<String>,
    /// Metric (0 where `ip` prints none).
    pub metric: u64,
    /// Protocol (`boot` where `ip` prints none).
    pub protocol: String,
}

/// The routing tables the truth holds, and whether each namespace's list covers every table (`ip route
/// show table all`) or only `main` (`ip route` and `ip -6 route` run in a container's namespace):
/// the host's from `truth/ip-route-table-all.txt`, each container's from `truth/netns/<name>/ip-route.txt`
/// and `ip-6-route.txt`, labelled with the namespace inodes of [`network_namespaces`].
pub fn routes(truth: &Path) -> Vec<(TruthRoute, bool)> {
    let mut out: Vec<(TruthRoute, bool)> = Vec::new();
    let namespaces = network_namespaces(truth);
    let (host, containers) = namespaces
        .split_first()
        .expect("network_namespaces lists the host first");
    for line in output_lines(&host.dir.join("ip-route-table-all.txt")) {
        out.extend(parse_route(&line, host.inode, None).map(|r| (r, true)));
    }
    for ns in containers {
        for (file, family) in [("ip-route.txt", "inet"), ("ip-6-route.txt", "inet6")] {
            for line in output_lines(&ns.dir.join(file)) {
                out.extend(parse_route(&line, ns.inode, Some(family)).map(|r| (r, false)));
            }
        }
    }
    out
}

/// Parse one line of `ip route` output.
fn parse_route(line: &str, netns: u64, family: Option<&str>) -> Option<TruthRoute> {
    const TYPES: [&str; 8] = [
        "local",
        "broadcast",
        "multicast",
        "anycast",
        "unreachable",
        "blackhole",
        "prohibit",
        "throw",
    ];
    let mut words = line.split_whitespace().peekable();
    let route_type = match words.peek() {
        Some(w) if TYPES.contains(w) => words.next()?.to_string(),
        _ => "unicast".to_string(),
    };
    let dest = words.next()?;
    let family = family
        .unwrap_or(if dest.contains(':') { "inet6" } else { "inet" })
        .to_string();
    let v6 = family == "inet6";
    let destination = match dest {
        "default" if v6 => "::/0".to_string(),
        "default" => "0.0.0.0/0".to_string(),
        d if d.contains('/') => d.to_string(),
        d => format!("{d}/{}", if v6 { 128 } else { 32 }),
    };
    let mut route = TruthRoute {
        netns,
        family,
        table: "main".into(),
        route_type,
        destination,
        gateway: None,
        device: None,
        metric: 0,
        protocol: "boot".into(),
    };
    let rest: Vec<&str> = words.collect();
    for pair in rest.windows(2) {
        let value = pair[1].to_string();
        match pair[0] {
            "via" => route.gateway = Some(value),
            "dev" => route.device = Some(value),
            "table" => route.table = value,
            "metric" => route.metric = value.parse().ok()?,
            "proto" => route.protocol = value,
            _ => {}
        }
    }
    Some(route)
}
