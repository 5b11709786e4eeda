//! `docker inspect`: one object per container with everything `ps` gives and what `docker inspect` adds
//! where memory holds it: from Docker's documents its environment, labels, port bindings, binds and mount
//! points, capability adds and drops, security options and AppArmor profile; from the kernel its main
//! process's seccomp mode, `no_new_privs`, AppArmor label, namespaces and capability sets.

use serde::Serialize;
use serde_json::Value;

use super::{inventory_with, Container, Found, Inventory};
use crate::analyses::Analysis;
use crate::kernel::security;
use crate::kernel::tasks::Namespaces;
use crate::kernel::{Kernel, KernelError};

/// One mount point as Docker keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MountPoint {
    /// Where the container sees it.
    pub destination: String,
    /// The source Docker was given.
    pub source: String,
    /// Whether it is mounted read-write.
    pub rw: bool,
}

/// One container, inspected.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InspectRow {
    /// What `ps` gives.
    #[serde(flatten)]
    pub container: Container,
    /// `Config.Env`.
    pub env: Option<Vec<String>>,
    /// `Config.Labels`.
    pub labels: Option<Value>,
    /// `HostConfig.PortBindings`.
    pub port_bindings: Option<Value>,
    /// `HostConfig.Binds`.
    pub binds: Option<Vec<String>>,
    /// Docker's mount points (binds and volumes).
    pub mount_points: Vec<MountPoint>,
    /// `HostConfig.CapAdd`.
    pub cap_add: Option<Vec<String>>,
    /// `HostConfig.CapDrop`.
    pub cap_drop: Option<Vec<String>>,
    /// `HostConfig.SecurityOpt`.
    pub security_opt: Option<Vec<String>>,
    /// `AppArmorProfile` as Docker configured it.
    pub apparmor_profile: Option<String>,
    /// The main process's seccomp mode (`disabled`, `strict`, `filter`).
    pub seccomp_mode: Option<String>,
    /// Its count of seccomp filters.
    pub seccomp_filters: Option<u32>,
    /// Whether it runs with `no_new_privs`.
    pub no_new_privs: Option<bool>,
    /// Its AppArmor label, as the kernel holds it.
    pub apparmor_label: Option<String>,
    /// Its namespaces' inodes.
    pub ns: Option<Namespaces>,
    /// Its capability sets.
    pub cap_inh: Option<u64>,
    pub cap_prm: Option<u64>,
    pub cap_eff: Option<u64>,
    pub cap_bnd: Option<u64>,
    pub cap_amb: Option<u64>,
}

/// Whether `id` names the container `full` (a prefix of its id, as Docker accepts, or its name).
fn selects(ids: &[String], c: &Found) -> bool {
    ids.is_empty()
        || ids.iter().any(|id| {
            (!id.is_empty() && c.row.container_id.starts_with(id.as_str())) || c.row.name.as_deref() == Some(id)
        })
}

/// A checked `--id`: a container id or a prefix of one (hex), or a name.
pub fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 128 || id.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(format!("{id:?} is not a container id, id prefix or name"));
    }
    Ok(())
}

/// `docker inspect`: the containers `ids` names (all where empty), stopped ones too.
pub fn inspect(kernel: &Kernel, ids: &[String]) -> Result<Analysis<InspectRow>, KernelError> {
    let inv = inventory_with(kernel, true)?;
    let mut warnings = inv.warnings.clone();
    let mut rows = Vec::new();
    for c in inv.containers.iter().filter(|c| selects(ids, c)) {
        let (r, extra) = row(kernel, &inv, c);
        let short = &c.row.container_id[..12];
        let mut missing: Vec<&str> = inv
            .unknown
            .iter()
            .filter(|(s, _)| s == short)
            .flat_map(|(_, keys)| keys.iter().copied())
            .collect();
        missing.extend(extra);
        if !missing.is_empty() {
            warnings.push(format!(
                "container {short}: found in neither the kernel nor dockerd's memory, null: {}",
                missing.join(", ")
            ));
        }
        rows.push(r);
    }
    for id in ids {
        if !inv.containers.iter().any(|c| selects(std::slice::from_ref(id), c)) {
            warnings.push(format!("no container {id} in this capture"));
        }
    }
    Ok(Analysis { rows, warnings })
}

fn strings(v: Option<(&Value, &super::dockerd::Document)>) -> Option<Vec<String>> {
    match v?.0 {
        Value::Array(a) => Some(a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()),
        _ => None,
    }
}

/// A list of the HostConfig: null in an inspect document is Docker's empty list; without one, unknown.
fn host_list(c: &Found, key: &str) -> Option<Vec<String>> {
    c.inspect.as_ref()?;
    Some(strings(c.host_config(key)).unwrap_or_default())
}

/// The row of `c`, and what docker inspect would add that no document held.
fn row(kernel: &Kernel, inv: &Inventory, c: &Found) -> (InspectRow, Vec<&'static str>) {
    let main = c.main(inv);
    let confinement = main
        .and_then(|m| kernel.object("task_struct", m.task_addr).ok())
        .map(|t| security::confinement(kernel, &t))
        .unwrap_or_default();
    let out = InspectRow {
        container: c.row.clone(),
        env: strings(c.doc(&["Config", "Env"])),
        labels: c.doc(&["Config", "Labels"]).map(|(v, _)| v.clone()),
        port_bindings: c.inspect.as_ref().map(|_| {
            c.host_config("PortBindings")
                .map_or_else(|| Value::Object(Default::default()), |(v, _)| v.clone())
        }),
        binds: host_list(c, "Binds"),
        mount_points: c
            .mount_points()
            .into_iter()
            .map(|(destination, source, rw)| MountPoint {
                destination,
                source,
                rw,
            })
            .collect(),
        cap_add: host_list(c, "CapAdd"),
        cap_drop: host_list(c, "CapDrop"),
        security_opt: host_list(c, "SecurityOpt"),
        apparmor_profile: c
            .doc(&["AppArmorProfile"])
            .and_then(|(v, _)| v.as_str().map(str::to_string)),
        seccomp_mode: confinement.seccomp_mode,
        seccomp_filters: confinement.seccomp_filters,
        no_new_privs: confinement.no_new_privs,
        apparmor_label: confinement.apparmor_label,
        ns: main.map(|m| m.ns),
        cap_inh: main.and_then(|m| m.cap_inh),
        cap_prm: main.and_then(|m| m.cap_prm),
        cap_eff: main.and_then(|m| m.cap_eff),
        cap_bnd: main.and_then(|m| m.cap_bnd),
        cap_amb: main.and_then(|m| m.cap_amb),
    };
    // HostConfig is only in inspect documents.
    let missing: Vec<&'static str> = [
        ("env", out.env.is_none()),
        ("port_bindings", out.port_bindings.is_none()),
        ("binds", out.binds.is_none()),
        ("cap_add", out.cap_add.is_none()),
        ("cap_drop", out.cap_drop.is_none()),
        ("security_opt", out.security_opt.is_none()),
    ]
    .into_iter()
    .filter_map(|(k, m)| m.then_some(k))
    .collect();
    (out, missing)
}
