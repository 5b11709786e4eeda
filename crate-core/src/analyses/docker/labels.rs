//! Who each process and each namespace belongs to, for front ends that mark containers where other
//! analyses show a pid or a namespace inode: the page's `container` column, namespaces named `host` or by
//! their container, the process tree with each container boxed; and each namespace's interfaces by
//! index, for tables that give an interface by its index only (a packet socket's `ifindex`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{inventory, Inventory};
use crate::kernel::layouts::NsKind;
use crate::kernel::{Kernel, KernelError};

/// The label of the host's own namespaces (pid 1's).
pub const HOST: &str = "host";

/// The containers and the owners of the namespaces that processes hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labels {
    /// The running and paused containers.
    pub containers: Vec<Labelled>,
    /// (namespace inode, who holds it), by inode: [`HOST`] for pid 1's namespaces, else the names of the
    /// containers whose processes hold it (`, `-joined: a container started with `--network container:X`
    /// shares X's network namespace). A namespace only other host processes hold (a service's private
    /// one) has no entry. (Pairs, not a map: the page's messages are internally tagged, which cannot read
    /// a map keyed by numbers.)
    pub namespaces: Vec<(u64, String)>,
    /// (network namespace inode, interface index, interface name), sorted.
    pub interfaces: Vec<(u64, i64, String)>,
}

/// One container, as the labels name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labelled {
    /// 64 hex digits.
    pub container_id: String,
    /// Docker's name, without its leading `/`, where memory holds it.
    pub name: Option<String>,
    /// Host pid of its main process.
    pub pid: Option<u32>,
    /// Every host pid in it, `docker exec` sessions included.
    pub pids: Vec<u32>,
    /// Whether it runs privileged, where known.
    pub privileged: Option<bool>,
    /// `running` or `paused`.
    pub state: String,
}

impl Labelled {
    /// What tables show for it: its name, else the first 12 digits of its id.
    pub fn label(&self) -> &str {
        match &self.name {
            Some(n) if !n.is_empty() => n,
            _ => self.container_id.get(..12).unwrap_or(&self.container_id),
        }
    }
}

impl Labels {
    /// The container host pid `pid` runs in.
    pub fn container_of(&self, pid: u32) -> Option<&Labelled> {
        self.containers.iter().find(|c| c.pids.contains(&pid))
    }

    /// The name of interface `index` of the network namespace `netns`.
    pub fn interface(&self, netns: u64, index: i64) -> Option<&str> {
        let at = self
            .interfaces
            .binary_search_by(|(n, i, _)| (*n, *i).cmp(&(netns, index)))
            .ok()?;
        Some(&self.interfaces[at].2)
    }

    /// Who holds the namespace with this inode.
    pub fn namespace(&self, inode: u64) -> Option<&str> {
        let at = self.namespaces.binary_search_by_key(&inode, |(i, _)| *i).ok()?;
        Some(&self.namespaces[at].1)
    }
}

/// The labels of a capture, with the warnings of the docker inventory they come from.
pub fn labels(kernel: &Kernel) -> Result<(Labels, Vec<String>), KernelError> {
    let inv = inventory(kernel)?;
    let mut warnings = inv.warnings_for(&["name", "privileged"]);
    let mut labels = from_inventory(&inv);
    match crate::analyses::ifconfig::ifconfig(kernel) {
        Ok(found) => {
            labels.interfaces = found
                .rows
                .into_iter()
                .filter_map(|i| Some((i.netns?, i.index, i.name)))
                .collect();
            labels.interfaces.sort();
        }
        Err(e) => warnings.push(format!("interface names unknown: {e}")),
    }
    Ok((labels, warnings))
}

fn from_inventory(inv: &Inventory) -> Labels {
    let containers = inv
        .containers
        .iter()
        .map(|c| Labelled {
            container_id: c.row.container_id.clone(),
            name: c.row.name.clone(),
            pid: c.row.pid,
            pids: c.row.pids.clone(),
            privileged: c.row.privileged,
            state: c.row.state.clone(),
        })
        .collect();
    // The containers first: each process is then looked up in them.
    let mut labels = Labels {
        containers,
        namespaces: Vec::new(),
        interfaces: Vec::new(),
    };
    let mut owners: BTreeMap<u64, BTreeSet<&str>> = BTreeMap::new();
    let host: BTreeSet<u64> = NsKind::ALL.iter().filter_map(|&k| inv.host.ns.get(k)).collect();
    for p in &inv.procs {
        let Some(c) = u32::try_from(p.pid).ok().and_then(|pid| labels.container_of(pid)) else {
            continue;
        };
        for inode in NsKind::ALL.iter().filter_map(|&k| p.ns.get(k)) {
            if !host.contains(&inode) {
                owners.entry(inode).or_default().insert(c.label());
            }
        }
    }
    let mut namespaces: BTreeMap<u64, String> = host.iter().map(|&i| (i, HOST.to_string())).collect();
    for (inode, names) in owners {
        namespaces.insert(inode, names.into_iter().collect::<Vec<_>>().join(", "));
    }
    labels.namespaces = namespaces.into_iter().collect();
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labelled(id: char, name: Option<&str>, pids: &[u32]) -> Labelled {
        Labelled {
            container_id: id.to_string().repeat(64),
            name: name.map(str::to_string),
            pid: pids.first().copied(),
            pids: pids.to_vec(),
            privileged: None,
            state: "running".into(),
        }
    }

    #[test]
    fn a_container_is_named_or_shown_by_its_short_id() {
        assert_eq!(labelled('a', Some("web"), &[]).label(), "web");
        assert_eq!(labelled('b', None, &[]).label(), "bbbbbbbbbbbb");
        assert_eq!(labelled('c', Some(""), &[]).label(), "cccccccccccc");
        let labels = Labels {
            containers: vec![labelled('a', Some("web"), &[905, 935])],
            namespaces: vec![(4026531840, HOST.to_string())],
            interfaces: vec![
                (4026531840, 1, "lo".into()),
                (4026531840, 2, "eth0".into()),
                (4026532301, 2, "eth0@web".into()),
            ],
        };
        assert_eq!(labels.interface(4026531840, 2), Some("eth0"));
        assert_eq!(labels.interface(4026532301, 2), Some("eth0@web"));
        assert_eq!(labels.interface(4026532301, 3), None);
        assert_eq!(labels.container_of(935).map(Labelled::label), Some("web"));
        assert_eq!(labels.container_of(1), None);
        assert_eq!(labels.namespace(4026531840), Some(HOST));
        assert_eq!(labels.namespace(1), None);
    }
}
