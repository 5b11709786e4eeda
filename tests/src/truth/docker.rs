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
