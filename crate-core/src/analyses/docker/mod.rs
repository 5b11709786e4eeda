//! `docker`: Docker's containers as the kernel and dockerd's own memory show them, in views: `detect` (what
//! shows Docker ran here), `ps` (its containers, as `docker ps` lists them), `caps` (their capabilities),
//! `mounts` (what they mount from the host) and `networks` (their networks, addresses and published ports).
//!
//! A container is found in the kernel: by its tasks' cgroup paths (`/system.slice/docker-<id>.scope` on
//! cgroup v2, `/docker/<id>` in a v1 hierarchy), never by a file it shares with another container (one
//! started with `--network container:X` has X's hostname and hosts files, yet is its own container). Its
//! main process is the one `containerd-shim` started first (the init of its pid namespace); the other
//! processes the shim started are `docker exec` sessions, which belong to the container (`exec_pids`).
//! What only Docker knows (the container's name, its image, its configuration) comes from the documents
//! dockerd keeps in its heap (see [`dockerd`]); each fact says where it came from in `evidence`, and a
//! fact found nowhere is null, with a warning. The views build on the other analyses' typed rows (pslist,
//! psaux, mounts, ifconfig, netstat), as `findings` does.

pub(crate) mod cached;
pub mod dockerd;
mod inspect;
pub mod labels;
mod views;

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;

pub use inspect::{check_id, inspect, InspectRow, MountPoint};
pub use labels::{labels, Labelled, Labels};
pub use views::{caps, detect, mounts, networks, CapsRow, Indicator, MountRow, NetworkRow};

use super::pslist::{self, ProcessRow};
use super::{psaux, Analysis};
use crate::kernel::{cgroups, Kernel, KernelError};

/// Where a fact came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Kernel structures (tasks, cgroups, namespaces, mounts, interfaces).
    Kernel,
    /// Docker's JSON documents in dockerd's heap.
    DockerdMemory,
    /// Docker's own files (`config.v2.json`, `hostconfig.json`) whose pages the kernel had cached.
    PageCache,
}

/// One fact and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The key it fills (`container_id`, `name`, `privileged`...).
    pub fact: &'static str,
    /// Where it was read.
    pub source: Source,
    /// What was read there (`cgroup /system.slice/docker-04f1....scope of pid 905`).
    pub detail: String,
}

/// One container, as `docker ps` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Container {
    /// Its id, 64 hex digits.
    pub container_id: String,
    /// Its name, without Docker's leading `/`.
    pub name: Option<String>,
    /// The image as the user named it (`Config.Image`).
    pub image: Option<String>,
    /// The image's id (`sha256:...`).
    pub image_id: Option<String>,
    /// When Docker created it (`Created`).
    pub created: Option<String>,
    /// When Docker last started it (`State.StartedAt`).
    pub started: Option<String>,
    /// The main process's start time (kernel).
    pub pid_start_time: Option<String>,
    /// `running`, `paused` (frozen by the cgroup freezer) or `stopped` (no task).
    pub state: String,
    /// The exit code of a stopped container; null while it runs.
    pub exit_code: Option<i64>,
    /// The main process's command line.
    pub command: Option<String>,
    /// Host pid of its main process (its init).
    pub pid: Option<u32>,
    /// Every host pid in it.
    pub pids: Vec<u32>,
    /// The processes of `docker exec` sessions (and their children).
    pub exec_pids: Vec<u32>,
    /// Whether it runs `--privileged`.
    pub privileged: Option<bool>,
    /// The main process's effective uid.
    pub euid: Option<u32>,
    /// The user it was configured to run as (`Config.User`; empty: the image's default).
    pub user: Option<String>,
    /// `bridge`, `host`, `none`, `container:<id>` or a user network's name.
    pub network_mode: Option<String>,
    /// `host`, `container:<id>` or `private`.
    pub pid_mode: Option<String>,
    /// `host`, `container:<id>`, `private` or `shareable`.
    pub ipc_mode: Option<String>,
    /// `host` or `private`.
    pub uts_mode: Option<String>,
    /// Whether its root file system is read-only.
    pub read_only_rootfs: Option<bool>,
    /// Where the host mounts its root file system (`/var/lib/docker/overlay2/<layer>/merged`).
    pub rootfs: Option<String>,
    /// The OCI runtime (`runc`).
    pub runtime: Option<String>,
    /// The container engine that made it.
    pub engine: &'static str,
    /// Where each fact came from.
    pub evidence: Vec<Evidence>,
}

/// Options of [`ps`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Stopped containers too.
    pub all: bool,
}

/// What the views share: the processes, each container with its main process and documents.
pub(crate) struct Inventory {
    pub procs: Vec<ProcessRow>,
    pub cmdlines: HashMap<u32, psaux::CommandLine>,
    pub containers: Vec<Found>,
    pub warnings: Vec<String>,
    /// The host's namespaces (pid 1's).
    pub host: pslist::ProcessRow,
    /// How many documents dockerd's memory gave, and how many bytes were searched.
    pub documents: usize,
    pub scanned: u64,
    /// Tasks whose cgroup path names a Docker container: (pid, path).
    pub cgroup_hits: Vec<(u32, String)>,
    /// Facts of each container (by 12-hex id) found nowhere: warned about by the views that show them.
    pub unknown: Vec<(String, Vec<&'static str>)>,
}

/// One container found in the kernel, with what was learnt about it.
pub(crate) struct Found {
    pub row: Container,
    /// Index of the main process in [`Inventory::procs`].
    pub main: Option<usize>,
    /// Its best `config.v2.json`, inspect and `hostconfig.json` documents.
    pub config: Option<dockerd::Document>,
    pub inspect: Option<dockerd::Document>,
    pub host: Option<dockerd::Document>,
}

impl Found {
    /// A value of the documents at `path` (`Config.Image`), the config document first.
    pub(crate) fn doc(&self, path: &[&str]) -> Option<(&Value, &dockerd::Document)> {
        [&self.config, &self.inspect].into_iter().flatten().find_map(|d| {
            let mut v = &d.value;
            for p in path {
                v = v.get(p)?;
            }
            (!v.is_null()).then_some((v, d))
        })
    }

    /// A value of the HostConfig: an inspect document's, else `hostconfig.json`'s.
    pub(crate) fn host_config(&self, key: &str) -> Option<(&Value, &dockerd::Document)> {
        let in_inspect = self
            .inspect
            .as_ref()
            .and_then(|d| Some((d.value.get("HostConfig")?.get(key)?, d)));
        let in_file = self.host.as_ref().and_then(|d| Some((d.value.get(key)?, d)));
        in_inspect
            .filter(|(v, _)| !v.is_null())
            .or(in_file.filter(|(v, _)| !v.is_null()))
    }

    /// The main process's row.
    pub fn main<'i>(&self, inv: &'i Inventory) -> Option<&'i ProcessRow> {
        self.main.map(|i| &inv.procs[i])
    }

    /// Where [`Found::mount_points`] come from.
    pub fn mount_points_source(&self) -> Option<Source> {
        match (&self.config, &self.inspect) {
            (Some(c), _) if c.value.get("MountPoints").is_some() => Some(c.source()),
            (_, Some(i)) if i.value.get("Mounts").is_some() => Some(i.source()),
            _ => None,
        }
    }

    /// Docker's mount points: (container path, source as Docker was given it, read-write).
    pub fn mount_points(&self) -> Vec<(String, String, bool)> {
        let mut out = Vec::new();
        if let Some(Value::Object(points)) = self.config.as_ref().and_then(|d| d.value.get("MountPoints")) {
            for (dst, p) in points {
                let source = p.get("Source").and_then(Value::as_str).unwrap_or_default();
                out.push((
                    dst.clone(),
                    source.to_string(),
                    p.get("RW").and_then(Value::as_bool).unwrap_or(false),
                ));
            }
        } else if let Some(Value::Array(mounts)) = self.inspect.as_ref().and_then(|d| d.value.get("Mounts")) {
            for m in mounts {
                let (Some(dst), Some(src)) = (
                    m.get("Destination").and_then(Value::as_str),
                    m.get("Source").and_then(Value::as_str),
                ) else {
                    continue;
                };
                out.push((
                    dst.to_string(),
                    src.to_string(),
                    m.get("RW").and_then(Value::as_bool).unwrap_or(false),
                ));
            }
        }
        out
    }

    /// The networks Docker connected it to.
    pub fn doc_networks(&self) -> Vec<DocNetwork> {
        let Some((Value::Object(nets), _)) = self.doc(&["NetworkSettings", "Networks"]) else {
            return Vec::new();
        };
        let text = |v: &Value, k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        nets.iter()
            .map(|(name, n)| DocNetwork {
                name: name.clone(),
                ip: text(n, "IPAddress"),
                gateway: text(n, "Gateway"),
            })
            .collect()
    }
}

/// A network Docker's documents say a container is connected to.
pub(crate) struct DocNetwork {
    /// The network's name.
    pub name: String,
    /// The container's IPv4 address on it.
    pub ip: Option<String>,
    /// Its gateway.
    pub gateway: Option<String>,
}

/// A Docker container id in a cgroup path: `docker-<id>.scope` (systemd's cgroup driver) or a `<id>`
/// directory under `docker` (cgroupfs's).
pub fn container_id_in(path: &str) -> Option<&str> {
    let is_id = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let parts: Vec<&str> = path.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        if let Some(id) = part.strip_prefix("docker-").and_then(|p| p.strip_suffix(".scope")) {
            if is_id(id) {
                return Some(id);
            }
        }
        if is_id(part) && i > 0 && parts[i - 1] == "docker" {
            return Some(part);
        }
    }
    None
}

/// The facts of a container that may be unknown, warned about where null.
pub(crate) const ALL_FACTS: [&str; 14] = [
    "name",
    "image",
    "image_id",
    "created",
    "started",
    "pid",
    "privileged",
    "user",
    "network_mode",
    "pid_mode",
    "ipc_mode",
    "uts_mode",
    "read_only_rootfs",
    "runtime",
];

/// comm of containerd's shim (`containerd-shim-runc-v2`, cut at 15 characters).
const SHIM: &str = "containerd-shim";

/// The docker views' common ground: processes, running and paused containers, documents.
pub(crate) fn inventory(kernel: &Kernel) -> Result<Inventory, KernelError> {
    inventory_with(kernel, false)
}

/// Where Docker keeps each container's files.
const CONTAINERS_DIR: &str = "/var/lib/docker/containers/";

/// Container ids named by directories under [`CONTAINERS_DIR`] in paths the kernel holds open (dockerd
/// keeps each running container's log open; a `docker logs -f` or a `tail` keeps a stopped one's), with
/// what showed it.
fn container_dirs(kernel: &Kernel, warnings: &mut Vec<String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    match super::lsof::lsof(kernel, &super::lsof::Options::default()) {
        Ok(found) => {
            for f in found.rows {
                let Some(path) = f.path else { continue };
                let Some(id) = path.strip_prefix(CONTAINERS_DIR).and_then(|r| r.split('/').next()) else {
                    continue;
                };
                if container_id_in(&format!("/docker/{id}")).is_some() {
                    out.entry(id.to_string()).or_insert(format!(
                        "directory {CONTAINERS_DIR}{id} in the path of a file pid {} holds open: {path}",
                        f.pid
                    ));
                }
            }
        }
        Err(e) => warnings.push(format!("open files unreadable, stopped containers cannot be told: {e}")),
    }
    out
}

/// The document of `kind` that best describes a container whose main process is `pid`: one that says it
/// runs with that pid, else a running one, else the latest started; ties to the highest address.
fn best_doc(docs: &[&dockerd::Document], kind: dockerd::DocKind, pid: Option<i64>) -> Option<dockerd::Document> {
    docs.iter()
        .filter(|d| d.kind == kind)
        .max_by_key(|d| {
            let state = d.value.get("State");
            let running = state.and_then(|s| s.get("Running")).and_then(Value::as_bool) == Some(true);
            let doc_pid = state.and_then(|s| s.get("Pid")).and_then(Value::as_i64);
            let started = state
                .and_then(|s| s.get("StartedAt"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            (
                pid.is_some() && running && doc_pid == pid,
                running == pid.is_some(),
                started,
                d.vaddr,
            )
        })
        .map(|d| (*d).clone())
}

/// [`inventory`], with `stopped` also the containers with no task whose documents dockerd holds and whose
/// directory under /var/lib/docker/containers the kernel shows.
pub(crate) fn inventory_with(kernel: &Kernel, stopped: bool) -> Result<Inventory, KernelError> {
    let found = pslist::pslist(kernel, &pslist::Options::default())?;
    let mut warnings = found.warnings;
    let procs = found.rows;
    let host = procs
        .iter()
        .find(|p| p.pid == 1)
        .or_else(|| procs.first())
        .cloned()
        .ok_or_else(|| KernelError::Layout("no process on the task list".into()))?;
    let cmdlines: HashMap<u32, psaux::CommandLine> = match psaux::psaux(kernel) {
        Ok(a) => {
            warnings.extend(a.warnings.into_iter().map(|w| format!("psaux: {w}")));
            a.rows.into_iter().map(|r| (r.pid, r)).collect()
        }
        Err(e) => {
            warnings.push(format!("command lines unreadable: {e}"));
            HashMap::new()
        }
    };
    // Each container's processes, by its cgroup.
    let mut members: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut cgroup_hits = Vec::new();
    let mut path_of: HashMap<String, (u32, String, Option<bool>)> = HashMap::new();
    let mut unreadable = 0usize;
    let mut layout_problem = None;
    for (i, p) in procs.iter().enumerate() {
        if p.kernel_thread {
            continue;
        }
        match cgroups::task_cgroups(kernel, p.task_addr) {
            Ok(found) => {
                let hit = found
                    .cgroups
                    .iter()
                    .find_map(|c| container_id_in(&c.path).map(|id| (id.to_string(), c.path.clone())));
                if let Some((id, path)) = hit {
                    cgroup_hits.push((p.pid as u32, path.clone()));
                    members.entry(id.clone()).or_default().push(i);
                    path_of.entry(id).or_insert((p.pid as u32, path, found.frozen));
                }
            }
            Err(e @ KernelError::Layout(_)) | Err(e @ KernelError::Symbols(_)) => {
                layout_problem.get_or_insert(e.to_string());
            }
            Err(_) => unreadable += 1,
        }
    }
    if let Some(e) = layout_problem {
        warnings.push(format!("cgroups unreadable, containers cannot be found by them: {e}"));
    }
    if unreadable > 0 {
        warnings.push(format!("the cgroups of {unreadable} processes could not be read"));
    }
    let by_pid: HashMap<i64, usize> = procs.iter().enumerate().map(|(i, p)| (p.pid, i)).collect();
    let parent_comm = |p: &ProcessRow| p.ppid.and_then(|pp| by_pid.get(&pp)).map(|&i| procs[i].comm.as_str());
    // dockerd's documents about these containers.
    // Docker's own files where their pages are cached: each container's directory, its documents.
    let cache = kernel.memo("docker page cache", || cached::cached(kernel));
    warnings.extend(cache.warnings.iter().cloned());
    let dirs = if stopped {
        let mut d = container_dirs(kernel, &mut warnings);
        for (id, path) in &cache.dirs {
            d.entry(id.clone())
                .or_insert_with(|| format!("directory {path} in the dentry cache"));
        }
        d.retain(|id, _| !members.contains_key(id));
        d
    } else {
        BTreeMap::new()
    };
    let ids: HashSet<String> = members.keys().chain(dirs.keys()).cloned().collect();
    // Kept on the kernel for the other views of the session: the scan is the costly part.
    let mut sorted: Vec<&String> = ids.iter().collect();
    sorted.sort();
    let key = format!(
        "docker documents {}",
        sorted.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
    );
    let scans = kernel.memo(&key, || {
        let mut scan = dockerd::Scan::default();
        if ids.is_empty() {
            return scan;
        }
        for p in procs.iter().filter(|p| p.comm == "dockerd" && !p.kernel_thread) {
            let found = kernel
                .object("task_struct", p.task_addr)
                .and_then(|t| dockerd::scan(kernel, &t, p.pid as u32, &ids));
            match found {
                Ok(s) => {
                    scan.warnings.extend(s.warnings);
                    scan.scanned += s.scanned;
                    scan.documents.extend(s.documents);
                }
                Err(e) => scan
                    .warnings
                    .push(format!("dockerd (pid {}): memory unreadable: {e}", p.pid)),
            }
        }
        scan
    });
    warnings.extend(scans.warnings.iter().cloned());
    let documents: Vec<&dockerd::Document> = scans.documents.iter().chain(cache.documents.iter()).collect();
    let scanned = scans.scanned;
    let n_documents = documents.len();
    let mut containers = Vec::new();
    for (id, idx) in &members {
        let (first_pid, path, frozen) = path_of[id].clone();
        let mut evidence = vec![Evidence {
            fact: "container_id",
            source: Source::Kernel,
            detail: format!("cgroup {path} of pid {first_pid}"),
        }];
        // The main process: started by the shim, the init of its pid namespace where it has its own, else
        // the first the shim started.
        let shim_children: Vec<usize> = idx
            .iter()
            .copied()
            .filter(|&i| parent_comm(&procs[i]) == Some(SHIM))
            .collect();
        let own_pid_ns = |i: usize| procs[i].ns.pid.is_some() && procs[i].ns.pid != host.ns.pid;
        let earliest = |set: &[usize]| {
            set.iter().copied().min_by(|&a, &b| {
                let t = |i: usize| procs[i].start_time_since_boot.unwrap_or(f64::MAX);
                t(a).total_cmp(&t(b)).then(procs[a].pid.cmp(&procs[b].pid))
            })
        };
        let main = shim_children
            .iter()
            .copied()
            .find(|&i| own_pid_ns(i) && procs[i].pid_in_ns == Some(1))
            .or_else(|| earliest(&shim_children))
            .or_else(|| earliest(idx));
        if let Some(m) = main {
            let how = if shim_children.contains(&m) {
                format!("started by {SHIM} (pid {})", procs[m].ppid.unwrap_or(0))
            } else {
                "the first process of its cgroup (no containerd-shim parent seen)".to_string()
            };
            evidence.push(Evidence {
                fact: "pid",
                source: Source::Kernel,
                detail: format!("pid {} ({}), {how}", procs[m].pid, procs[m].comm),
            });
        }
        // docker exec sessions: the shim's other children, and their descendants in the container.
        let mut exec: HashSet<i64> = shim_children
            .iter()
            .filter(|&&i| Some(i) != main)
            .map(|&i| procs[i].pid)
            .collect();
        loop {
            let more: Vec<i64> = idx
                .iter()
                .map(|&i| &procs[i])
                .filter(|p| !exec.contains(&p.pid) && p.ppid.is_some_and(|pp| exec.contains(&pp)))
                .map(|p| p.pid)
                .collect();
            if more.is_empty() {
                break;
            }
            exec.extend(more);
        }
        let mut pids: Vec<u32> = idx.iter().map(|&i| procs[i].pid as u32).collect();
        pids.sort_unstable();
        let mut exec_pids: Vec<u32> = exec.iter().map(|&p| p as u32).collect();
        exec_pids.sort_unstable();
        if !exec_pids.is_empty() {
            evidence.push(Evidence {
                fact: "exec_pids",
                source: Source::Kernel,
                detail: format!("started by {SHIM} after the main process"),
            });
        }
        let m = main.map(|i| &procs[i]);
        let docs: Vec<&dockerd::Document> = documents.iter().copied().filter(|d| &d.id == id).collect();
        let mut found = Found {
            main,
            config: best_doc(&docs, dockerd::DocKind::Config, m.map(|m| m.pid)),
            inspect: best_doc(&docs, dockerd::DocKind::Inspect, m.map(|m| m.pid)),
            host: best_doc(&docs, dockerd::DocKind::HostConfig, m.map(|m| m.pid)),
            row: Container {
                container_id: id.clone(),
                name: None,
                image: None,
                image_id: None,
                created: None,
                started: None,
                pid_start_time: m.and_then(|m| m.start_time.clone()),
                state: if frozen == Some(true) { "paused" } else { "running" }.to_string(),
                exit_code: None,
                command: m
                    .and_then(|m| cmdlines.get(&(m.pid as u32)))
                    .and_then(|c| c.cmdline.clone()),
                pid: m.map(|m| m.pid as u32),
                pids,
                exec_pids,
                privileged: None,
                euid: m.and_then(|m| m.euid),
                user: None,
                network_mode: None,
                pid_mode: None,
                ipc_mode: None,
                uts_mode: None,
                read_only_rootfs: None,
                rootfs: None,
                runtime: None,
                engine: "docker",
                evidence,
            },
        };
        if let Some(f) = frozen {
            found.row.evidence.push(Evidence {
                fact: "state",
                source: Source::Kernel,
                detail: format!("cgroup v2 freezer: {}", if f { "frozen" } else { "thawed" }),
            });
        }
        fill_from_documents(&mut found);
        containers.push(found);
    }
    // Stopped containers: no task, only Docker's documents, their id confirmed by their directory.
    for (id, seen) in &dirs {
        let docs: Vec<&dockerd::Document> = documents.iter().copied().filter(|d| &d.id == id).collect();
        let config = best_doc(&docs, dockerd::DocKind::Config, None);
        let inspect = best_doc(&docs, dockerd::DocKind::Inspect, None);
        let host = best_doc(&docs, dockerd::DocKind::HostConfig, None);
        let Some(doc) = config.as_ref().or(inspect.as_ref()) else {
            warnings.push(format!(
                "container {}: its {seen}, but neither dockerd's memory nor the page cache holds its config: left out",
                &id[..12]
            ));
            continue;
        };
        let state = doc.value.get("State");
        let evidence = vec![
            Evidence {
                fact: "container_id",
                source: doc.source(),
                detail: doc.place(),
            },
            Evidence {
                fact: "container_id",
                source: Source::Kernel,
                detail: seen.clone(),
            },
            Evidence {
                fact: "state",
                source: Source::Kernel,
                detail: "no task in its cgroup".into(),
            },
        ];
        let command = [doc.value.get("Path")]
            .into_iter()
            .chain(
                doc.value
                    .get("Args")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(Some),
            )
            .map(|v| v.and_then(Value::as_str).map(str::to_string))
            .collect::<Option<Vec<String>>>()
            .map(|a| a.join(" "));
        let mut found = Found {
            main: None,
            row: Container {
                container_id: id.clone(),
                name: None,
                image: None,
                image_id: None,
                created: None,
                started: None,
                pid_start_time: None,
                state: "stopped".into(),
                exit_code: state.and_then(|s| s.get("ExitCode")).and_then(Value::as_i64),
                command,
                pid: None,
                pids: Vec::new(),
                exec_pids: Vec::new(),
                privileged: None,
                euid: None,
                user: None,
                network_mode: None,
                pid_mode: None,
                ipc_mode: None,
                uts_mode: None,
                read_only_rootfs: None,
                rootfs: None,
                runtime: None,
                engine: "docker",
                evidence,
            },
            config,
            inspect,
            host,
        };
        fill_from_documents(&mut found);
        found.row.state = "stopped".into();
        containers.push(found);
    }
    let mut inv = Inventory {
        procs,
        cmdlines,
        containers,
        warnings,
        host,
        documents: n_documents,
        scanned,
        cgroup_hits,
        unknown: Vec::new(),
    };
    fill_from_kernel(kernel, &mut inv);
    Ok(inv)
}

/// The facts dockerd's documents give.
fn fill_from_documents(f: &mut Found) {
    let mut ev = Vec::new();
    let text = |f: &Found, fact: &'static str, path: &[&str], ev: &mut Vec<Evidence>| -> Option<String> {
        let (v, d) = f.doc(path)?;
        let s = v.as_str()?.to_string();
        ev.push(Evidence {
            fact,
            source: d.source(),
            detail: format!("{} in {}", path.join("."), d.place()),
        });
        Some(s)
    };
    f.row.name = text(f, "name", &["Name"], &mut ev).map(|n| n.trim_start_matches('/').to_string());
    f.row.image = text(f, "image", &["Config", "Image"], &mut ev);
    f.row.image_id = text(f, "image_id", &["Image"], &mut ev);
    f.row.created = text(f, "created", &["Created"], &mut ev);
    f.row.started = text(f, "started", &["State", "StartedAt"], &mut ev);
    f.row.user = text(f, "user", &["Config", "User"], &mut ev);
    if f.doc(&["State", "Paused"])
        .is_some_and(|(v, _)| v == &Value::Bool(true))
        && f.row.state == "running"
    {
        f.row.state = "paused".into();
    }
    let host = |f: &Found, fact: &'static str, key: &str, ev: &mut Vec<Evidence>| -> Option<Value> {
        let (v, d) = f.host_config(key)?;
        ev.push(Evidence {
            fact,
            source: d.source(),
            detail: format!("HostConfig.{key} in {}", d.place()),
        });
        Some(v.clone())
    };
    let as_text = |v: Value| v.as_str().map(str::to_string);
    let private = |s: String| if s.is_empty() { "private".to_string() } else { s };
    f.row.privileged = host(f, "privileged", "Privileged", &mut ev).and_then(|v| v.as_bool());
    f.row.network_mode = host(f, "network_mode", "NetworkMode", &mut ev).and_then(as_text);
    f.row.pid_mode = host(f, "pid_mode", "PidMode", &mut ev).and_then(as_text).map(private);
    f.row.ipc_mode = host(f, "ipc_mode", "IpcMode", &mut ev).and_then(as_text).map(private);
    f.row.uts_mode = host(f, "uts_mode", "UTSMode", &mut ev).and_then(as_text).map(private);
    f.row.read_only_rootfs = host(f, "read_only_rootfs", "ReadonlyRootfs", &mut ev).and_then(|v| v.as_bool());
    f.row.runtime = host(f, "runtime", "Runtime", &mut ev).and_then(as_text);
    f.row.evidence.extend(ev);
}

/// The facts the kernel gives where no document did: privileged from the bounding set, the namespace
/// modes from the namespaces shared with the host or another container, the runtime from the shim, a
/// read-only root from the root mount.
fn fill_from_kernel(kernel: &Kernel, inv: &mut Inventory) {
    let last_cap = cap_last_cap(kernel);
    let mains: Vec<(String, Option<pslist::ProcessRow>)> = inv
        .containers
        .iter()
        .map(|c| (c.row.container_id.clone(), c.main(inv).cloned()))
        .collect();
    let roots = root_mounts(kernel, inv);
    for (n, f) in inv.containers.iter_mut().enumerate() {
        let Some(m) = mains[n].1.clone() else { continue };
        let mut ev = Vec::new();
        if f.row.privileged.is_none() {
            if let (Some(bnd), Some((last, how))) = (m.cap_bnd, &last_cap) {
                let full = if *last >= 63 {
                    u64::MAX
                } else {
                    (1u64 << (last + 1)) - 1
                };
                f.row.privileged = Some(bnd & full == full);
                ev.push(Evidence {
                    fact: "privileged",
                    source: Source::Kernel,
                    detail: format!(
                        "bounding set {bnd:#x} of pid {} {} every capability up to {last} ({how})",
                        m.pid,
                        if bnd & full == full { "holds" } else { "lacks some of" }
                    ),
                });
            }
        }
        // Namespace modes: shared with the host, with another (earlier) container's main process, or its own.
        let mode = |kind: pslist::NsKind, slot: &mut Option<String>, fact: &'static str, ev: &mut Vec<Evidence>| {
            if slot.is_some() {
                return;
            }
            let Some(mine) = m.ns.get(kind) else { return };
            let (value, why) = if Some(mine) == inv.host.ns.get(kind) {
                ("host".to_string(), "the host's (pid 1's)".to_string())
            } else if let Some((other, _)) = mains.iter().take(n).chain(mains.iter().skip(n + 1)).find(|(_, o)| {
                o.as_ref().is_some_and(|o| {
                    o.ns.get(kind) == Some(mine)
                        && o.start_time_since_boot.unwrap_or(f64::MAX) < m.start_time_since_boot.unwrap_or(f64::MAX)
                })
            }) {
                (format!("container:{other}"), format!("container {}'s", &other[..12]))
            } else {
                ("private".to_string(), "its own".to_string())
            };
            *slot = Some(value);
            ev.push(Evidence {
                fact,
                source: Source::Kernel,
                detail: format!("{} namespace {mine} of pid {} is {why}", kind.name(), m.pid),
            });
        };
        mode(pslist::NsKind::Pid, &mut f.row.pid_mode, "pid_mode", &mut ev);
        mode(pslist::NsKind::Ipc, &mut f.row.ipc_mode, "ipc_mode", &mut ev);
        mode(pslist::NsKind::Uts, &mut f.row.uts_mode, "uts_mode", &mut ev);
        if f.row.network_mode.is_none() {
            let mut shared = None;
            mode(pslist::NsKind::Net, &mut shared, "network_mode", &mut ev);
            f.row.network_mode = match shared.as_deref() {
                Some("private") => {
                    // Its own network namespace: the one network Docker connected it to, if only one.
                    let nets = f.doc_networks();
                    match nets.as_slice() {
                        [net] => Some(net.name.clone()),
                        _ => {
                            ev.pop();
                            None
                        }
                    }
                }
                _ => shared,
            };
        }
        if f.row.runtime.is_none() {
            let shim = m.ppid.and_then(|pp| inv.cmdlines.get(&(pp as u32)));
            let program = shim.and_then(|c| c.args.as_ref()).and_then(|a| a.first()).cloned();
            if let Some(p) = program.filter(|p| p.ends_with("containerd-shim-runc-v2")) {
                f.row.runtime = Some("runc".into());
                ev.push(Evidence {
                    fact: "runtime",
                    source: Source::Kernel,
                    detail: format!("its shim (pid {}) is {p}", m.ppid.unwrap_or(0)),
                });
            }
        }
        if let Some(root) = m.ns.mnt.and_then(|ns| roots.get(&ns)) {
            f.row.rootfs.clone_from(&root.host_path);
            if let Some(at) = &root.host_path {
                ev.push(Evidence {
                    fact: "container_id",
                    source: Source::Kernel,
                    detail: format!(
                        "its own root file system ({}), mounted on the host at {at}",
                        root.fstype.as_deref().unwrap_or("?")
                    ),
                });
            }
            if f.row.read_only_rootfs.is_none() {
                f.row.read_only_rootfs = Some(root.access == "ro");
                ev.push(Evidence {
                    fact: "read_only_rootfs",
                    source: Source::Kernel,
                    detail: format!("its root mount is {}", root.access),
                });
            }
        }
        f.row.evidence.extend(ev);
    }
    let mut unknown = Vec::new();
    for f in &inv.containers {
        let short = &f.row.container_id[..12];
        let r = &f.row;
        let missing: Vec<&'static str> = [
            ("name", r.name.is_none()),
            ("image", r.image.is_none()),
            ("image_id", r.image_id.is_none()),
            ("created", r.created.is_none()),
            ("started", r.started.is_none()),
            ("pid", r.pid.is_none() && r.state != "stopped"),
            ("privileged", r.privileged.is_none()),
            ("user", r.user.is_none()),
            ("network_mode", r.network_mode.is_none()),
            ("pid_mode", r.pid_mode.is_none()),
            ("ipc_mode", r.ipc_mode.is_none()),
            ("uts_mode", r.uts_mode.is_none()),
            ("read_only_rootfs", r.read_only_rootfs.is_none()),
            ("runtime", r.runtime.is_none()),
        ]
        .into_iter()
        .filter_map(|(k, m)| m.then_some(k))
        .collect();
        if !missing.is_empty() {
            unknown.push((short.to_string(), missing));
        }
    }
    inv.unknown = unknown;
}

impl Inventory {
    /// Its warnings, with one per container whose facts among `shown` (the keys a view's rows carry) were
    /// found nowhere.
    pub fn warnings_for(&self, shown: &[&str]) -> Vec<String> {
        let mut out = self.warnings.clone();
        for (short, keys) in &self.unknown {
            let keys: Vec<&str> = keys.iter().copied().filter(|k| shown.contains(k)).collect();
            if !keys.is_empty() {
                out.push(format!(
                    "container {short}: found in neither the kernel nor dockerd's memory, null: {}",
                    keys.join(", ")
                ));
            }
        }
        out
    }
}

/// The root mount of a container's mount namespace.
struct RootMount {
    /// `ro` or `rw`.
    access: String,
    /// Its file system type (`overlay`).
    fstype: Option<String>,
    /// Where the host mounts the same file system (`/var/lib/docker/overlay2/<layer>/merged`).
    host_path: Option<String>,
}

/// The root mount of each container's mount namespace, by the namespace's inode, and where the host
/// mounts the same file system (the same device in pid 1's namespace).
fn root_mounts(kernel: &Kernel, inv: &mut Inventory) -> HashMap<u64, RootMount> {
    let mut pids: Vec<u32> = inv.containers.iter().filter_map(|c| c.row.pid).collect();
    if pids.is_empty() {
        return HashMap::new();
    }
    pids.push(inv.host.pid as u32);
    let options = super::mounts::Options {
        pids,
        ..Default::default()
    };
    let rows = match super::mounts::mounts(kernel, &options) {
        Ok(found) => {
            inv.warnings
                .extend(found.warnings.into_iter().map(|w| format!("mounts: {w}")));
            found.rows
        }
        Err(e) => {
            inv.warnings.push(format!("mounts unreadable: {e}"));
            return HashMap::new();
        }
    };
    let host_ns = inv.host.ns.mnt;
    rows.iter()
        .filter(|r| r.path.as_deref() == Some("/") && r.mnt_ns.is_some() && r.mnt_ns != host_ns)
        .map(|r| {
            let host_path = rows
                .iter()
                .filter(|h| h.mnt_ns == host_ns && h.root.as_deref() == Some("/"))
                .find(|h| h.major_minor.is_some() && h.major_minor == r.major_minor && h.fstype == r.fstype)
                .and_then(|h| h.absolute_path.clone());
            let ns = r.mnt_ns.unwrap_or_default();
            (
                ns,
                RootMount {
                    access: r.access.clone(),
                    fstype: r.fstype.clone(),
                    host_path,
                },
            )
        })
        .collect()
}

/// The highest capability this kernel defines: the `cap_last_cap` variable (what
/// `/proc/sys/kernel/cap_last_cap` prints), else the highest the names list knows, with where it came
/// from.
pub fn cap_last_cap(kernel: &Kernel) -> Option<(u32, &'static str)> {
    let from_var = kernel.symbol_addr("cap_last_cap").ok().and_then(|at| {
        let mut b = [0u8; 4];
        kernel.read(at, &mut b).ok()?;
        let v = u32::from_le_bytes(b);
        (v < 64).then_some(v)
    });
    match from_var {
        Some(v) => Some((v, "the kernel's cap_last_cap")),
        None => Some((
            pslist::CAP_NAMES.len() as u32 - 1,
            "the highest capability memscope names",
        )),
    }
}

/// `docker ps`: the containers, running and paused (with `all`, stopped ones too).
pub fn ps(kernel: &Kernel, options: &Options) -> Result<Analysis<Container>, KernelError> {
    let inv = inventory_with(kernel, options.all)?;
    let warnings = inv.warnings_for(&ALL_FACTS);
    Ok(Analysis {
        rows: inv.containers.into_iter().map(|c| c.row).collect(),
        warnings,
    })
}

/// The containers and their mounts from the host, from one inventory: what `findings` reads.
pub fn containers_and_mounts(kernel: &Kernel) -> Result<Analysis<(Container, Vec<MountRow>)>, KernelError> {
    let mut inv = inventory(kernel)?;
    let mounts = views::mounts_of(kernel, &mut inv, false);
    let warnings = inv.warnings_for(&["name", "privileged"]);
    let rows = inv
        .containers
        .into_iter()
        .map(|c| {
            let mine = mounts
                .iter()
                .filter(|m| m.container_id == c.row.container_id)
                .cloned()
                .collect();
            (c.row, mine)
        })
        .collect();
    Ok(Analysis { rows, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "04f128f030161bb7850fd3fcce5aa9a4d98ae66ed1bc5d73fc537795e918aba6";

    #[test]
    fn ids_come_from_both_cgroup_drivers_only() {
        assert_eq!(container_id_in(&format!("/system.slice/docker-{ID}.scope")), Some(ID));
        assert_eq!(container_id_in(&format!("/docker/{ID}")), Some(ID));
        assert_eq!(container_id_in(&format!("/docker/{ID}/sub")), Some(ID));
        assert_eq!(container_id_in(&format!("/other/{ID}")), None);
        assert_eq!(
            container_id_in(&format!("/system.slice/docker-{}.scope", &ID[..12])),
            None
        );
        assert_eq!(container_id_in("/system.slice/docker.service"), None);
        assert_eq!(container_id_in(&format!("/docker/{}", ID.to_uppercase())), None);
    }
}
