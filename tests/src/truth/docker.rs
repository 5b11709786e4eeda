//! Docker's view: `truth/docker/inspect-*.json`.

use std::path::Path;

/// The main pid of a container (`truth/docker/inspect-container-<name>.json`, `State.Pid`).
pub fn container_pid(truth: &Path, name: &str) -> Option<u32> {
    let path = truth.join(format!("docker/inspect-container-{name}.json"));
    let text = std::fs::read_to_string(&path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let v = if v.is_array() { v.get(0)? } else { &v };
    v.get("State")?.get("Pid")?.as_u64().map(|p| p as u32)
}

/// One container as `docker inspect` showed it (`truth/docker/inspect-container-<name>.json`).
#[derive(Debug, Clone, PartialEq)]
pub struct TruthContainer {
    /// The file it was read from.
    pub file: std::path::PathBuf,
    /// `Id`.
    pub id: String,
    /// `Name` without the leading `/`.
    pub name: String,
    /// `Config.Image`.
    pub image: String,
    /// `Image` (`sha256:...`).
    pub image_id: String,
    /// `Created`.
    pub created: String,
    /// `State.StartedAt`.
    pub started: String,
    /// `State.Pid` (0 when stopped).
    pub pid: u32,
    /// `State.Running` with a pid.
    pub running: bool,
    /// `State.Paused`.
    pub paused: bool,
    /// `Config.User`.
    pub user: String,
    /// `HostConfig.Privileged`.
    pub privileged: bool,
    /// `HostConfig.NetworkMode`, `PidMode`, `IpcMode`, `UTSMode` as Docker spells them (`""` for the default).
    pub network_mode: String,
    pub pid_mode: String,
    pub ipc_mode: String,
    pub uts_mode: String,
    /// `HostConfig.ReadonlyRootfs`.
    pub read_only_rootfs: bool,
    /// `HostConfig.Runtime`.
    pub runtime: String,
    /// `AppArmorProfile`.
    pub apparmor_profile: String,
    /// `Config.Env`.
    pub env: Vec<String>,
    /// `HostConfig.CapAdd`, `CapDrop`, `Binds`, `SecurityOpt` (empty where null).
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub binds: Vec<String>,
    pub security_opt: Vec<String>,
    /// `HostConfig.PortBindings`, as it is.
    pub port_bindings: serde_json::Value,
    /// `Mounts`: (source, destination, read-write).
    pub mounts: Vec<(String, String, bool)>,
    /// `NetworkSettings.Networks`: (network name, IPv4 address, global IPv6 address, MAC), empty strings
    /// where Docker has none.
    pub networks: Vec<(String, String, String, String)>,
}

/// Every container of `truth/docker/inspect-container-*.json`, by file name order.
pub fn docker_containers(truth: &Path) -> Vec<TruthContainer> {
    let dir = truth.join("docker");
    super::files_named(&dir, &["inspect-container-"], ".json")
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
            let v: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", file.display()));
            let v = if v.is_array() { v[0].clone() } else { v };
            let s = |path: &[&str]| -> String {
                let mut cur = &v;
                for p in path {
                    cur = &cur[*p];
                }
                cur.as_str().unwrap_or_default().to_string()
            };
            let b = |path: &[&str]| -> bool {
                let mut cur = &v;
                for p in path {
                    cur = &cur[*p];
                }
                cur.as_bool().unwrap_or(false)
            };
            let pid = v["State"]["Pid"].as_u64().unwrap_or(0) as u32;
            let mounts = v["Mounts"]
                .as_array()
                .map(|m| {
                    m.iter()
                        .map(|m| {
                            (
                                m["Source"].as_str().unwrap_or_default().to_string(),
                                m["Destination"].as_str().unwrap_or_default().to_string(),
                                m["RW"].as_bool().unwrap_or(false),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let networks = v["NetworkSettings"]["Networks"]
                .as_object()
                .map(|n| {
                    n.iter()
                        .map(|(name, n)| {
                            let t = |k: &str| n[k].as_str().unwrap_or_default().to_string();
                            (name.clone(), t("IPAddress"), t("GlobalIPv6Address"), t("MacAddress"))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let list = |v: &serde_json::Value| -> Vec<String> {
                v.as_array()
                    .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
                    .unwrap_or_default()
            };
            TruthContainer {
                apparmor_profile: s(&["AppArmorProfile"]),
                env: list(&v["Config"]["Env"]),
                cap_add: list(&v["HostConfig"]["CapAdd"]),
                cap_drop: list(&v["HostConfig"]["CapDrop"]),
                binds: list(&v["HostConfig"]["Binds"]),
                security_opt: list(&v["HostConfig"]["SecurityOpt"]),
                port_bindings: v["HostConfig"]["PortBindings"].clone(),
                id: s(&["Id"]),
                name: s(&["Name"]).trim_start_matches('/').to_string(),
                image: s(&["Config", "Image"]),
                image_id: s(&["Image"]),
                created: s(&["Created"]),
                started: s(&["State", "StartedAt"]),
                pid,
                running: b(&["State", "Running"]) && pid > 0,
                paused: b(&["State", "Paused"]),
                user: s(&["Config", "User"]),
                privileged: b(&["HostConfig", "Privileged"]),
                network_mode: s(&["HostConfig", "NetworkMode"]),
                pid_mode: s(&["HostConfig", "PidMode"]),
                ipc_mode: s(&["HostConfig", "IpcMode"]),
                uts_mode: s(&["HostConfig", "UTSMode"]),
                read_only_rootfs: b(&["HostConfig", "ReadonlyRootfs"]),
                runtime: s(&["HostConfig", "Runtime"]),
                mounts,
                networks,
                file,
            }
        })
        .collect()
}

/// Every network of `truth/docker/inspect-network-*.json`: (name, driver, IPAM subnets).
pub fn docker_networks(truth: &Path) -> Vec<(String, String, Vec<String>)> {
    let dir = truth.join("docker");
    super::files_named(&dir, &["inspect-network-"], ".json")
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
            let v: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", file.display()));
            let v = if v.is_array() { v[0].clone() } else { v };
            let subnets = v["IPAM"]["Config"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .filter_map(|c| c["Subnet"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            (
                v["Name"].as_str().unwrap_or_default().to_string(),
                v["Driver"].as_str().unwrap_or_default().to_string(),
                subnets,
            )
        })
        .collect()
}
