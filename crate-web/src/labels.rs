//! Containers marked on the tables of other analyses, from the core's [`Labels`]: a `container` column
//! beside the pid of every process-bearing table, and namespace inodes shown as `host` or by the
//! container that holds them. Independent of the DOM, so it is tested on the host.

use memscope_core::analyses::docker::Labels;
use serde_json::Value;

/// The column added beside `pid`.
pub const CONTAINER: &str = "container";

/// Whether a key holds a namespace inode: `netns` (sockets, interfaces, routes...), `mnt_ns` (mounts),
/// `ns.net` and the other kinds (processes).
pub fn is_namespace_key(key: &str) -> bool {
    key == "netns" || key == "mnt_ns" || key.starts_with("ns.")
}

/// What a table shows once containers are known: the columns, each row's cells and all its fields
/// (the row details), and the container each row's process runs in (an index into
/// `labels.containers`).
pub struct Marked {
    pub columns: Vec<&'static str>,
    pub cells: Vec<Vec<String>>,
    pub full: Vec<Vec<(String, String)>>,
    pub containers: Vec<Option<usize>>,
}

/// Mark a table's rows. A table gets a `container` column after its `pid` column unless it is a
/// container table itself (it has `container_id`); a namespace cell shows its owner (the inode stays in
/// the row details, `4026531840 (host)`, and filters match either).
pub fn mark(
    labels: &Labels,
    rows: &[Value],
    mut columns: Vec<&'static str>,
    mut cells: Vec<Vec<String>>,
    mut full: Vec<Vec<(String, String)>>,
) -> Marked {
    let container_index = |row: &Value| {
        let pid = u32::try_from(row.get("pid")?.as_u64()?).ok()?;
        labels.containers.iter().position(|c| c.pids.contains(&pid))
    };
    let containers: Vec<Option<usize>> = rows.iter().map(container_index).collect();
    let label = |i: Option<usize>| i.map_or(String::new(), |i| labels.containers[i].label().to_string());
    let add_column = !columns.contains(&"container_id") && !columns.contains(&CONTAINER);
    if let Some(at) = columns.iter().position(|c| *c == "pid").filter(|_| add_column) {
        columns.insert(at + 1, CONTAINER);
        for (row, &c) in cells.iter_mut().zip(&containers) {
            if row.len() > at {
                row.insert(at + 1, label(c));
            }
        }
    }
    let ns_columns: Vec<usize> = (0..columns.len()).filter(|&i| is_namespace_key(columns[i])).collect();
    for row in &mut cells {
        for &i in &ns_columns {
            if let Some(owner) = row
                .get(i)
                .and_then(|c| c.parse().ok())
                .and_then(|n| labels.namespace(n))
            {
                row[i] = owner.to_string();
            }
        }
    }
    // An interface given by its index only (a packet socket's `ifindex`) is named after the interface of
    // that index in the row's network namespace.
    let interface = |row: &Value| {
        let netns = row.get("netns")?.as_u64()?;
        let index = row.get("ifindex")?.as_i64().filter(|&i| i > 0)?;
        labels.interface(netns, index)
    };
    if let Some(at) = columns.iter().position(|c| *c == "ifindex") {
        for (cells, row) in cells.iter_mut().zip(rows) {
            if let (Some(cell), Some(name)) = (cells.get_mut(at), interface(row)) {
                *cell = format!("{cell} ({name})");
            }
        }
    }
    for ((fields, &c), row) in full.iter_mut().zip(&containers).zip(rows) {
        for (key, value) in fields.iter_mut() {
            if is_namespace_key(key) {
                if let Some(owner) = value.parse().ok().and_then(|n| labels.namespace(n)) {
                    *value = format!("{value} ({owner})");
                }
            } else if key == "ifindex" {
                if let Some(name) = interface(row) {
                    *value = format!("{value} ({name})");
                }
            }
        }
        if let (Some(c), Some(at)) = (c, fields.iter().position(|(k, _)| k == "pid")) {
            fields.insert(at + 1, (CONTAINER.to_string(), label(Some(c))));
        }
    }
    Marked {
        columns,
        cells,
        full,
        containers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use memscope_core::analyses::docker::Labelled;
    use serde_json::json;

    fn labels() -> Labels {
        Labels {
            containers: vec![Labelled {
                container_id: "a".repeat(64),
                name: Some("web".into()),
                pid: Some(905),
                pids: vec![905, 935],
                privileged: Some(false),
                state: "running".into(),
            }],
            namespaces: vec![(4026531840, "host".into()), (4026532301, "web".into())],
            interfaces: vec![(4026531840, 2, "eth0".into())],
        }
    }

    #[test]
    fn pids_get_their_container_and_inodes_their_owner() {
        let rows = [
            json!({"pid": 905, "netns": 4026532301u64, "comm": "nc"}),
            json!({"pid": 1, "netns": 4026531840u64, "comm": "systemd"}),
            json!({"pid": 7, "netns": 4026532999u64, "comm": "service"}),
        ];
        let columns = vec!["pid", "netns", "comm"];
        let cells = rows.iter().map(|r| crate::table::cells(r, &columns)).collect();
        let full = rows.iter().map(memscope_core::export::flatten).collect();
        let m = mark(&labels(), &rows, columns, cells, full);
        assert_eq!(m.columns, ["pid", CONTAINER, "netns", "comm"]);
        assert_eq!(m.cells[0], ["905", "web", "web", "nc"]);
        assert_eq!(m.cells[1], ["1", "", "host", "systemd"]);
        assert_eq!(
            m.cells[2],
            ["7", "", "4026532999", "service"],
            "an unknown owner keeps the inode"
        );
        assert_eq!(m.containers, [Some(0), None, None]);
        assert_eq!(
            m.full[0][0..3],
            [
                ("pid".to_string(), "905".to_string()),
                (CONTAINER.to_string(), "web".to_string()),
                ("netns".to_string(), "4026532301 (web)".to_string()),
            ]
        );
        assert_eq!(m.full[1][1], ("netns".to_string(), "4026531840 (host)".to_string()));
    }

    #[test]
    fn an_interface_index_is_named_in_its_namespace() {
        let rows = [
            json!({"netns": 4026531840u64, "ifindex": 2, "proto": "packet"}),
            json!({"netns": 4026532301u64, "ifindex": 2, "proto": "packet"}),
            json!({"netns": 4026531840u64, "ifindex": 0, "proto": "packet"}),
        ];
        let columns = vec!["proto", "ifindex"];
        let cells = rows.iter().map(|r| crate::table::cells(r, &columns)).collect();
        let full = rows.iter().map(memscope_core::export::flatten).collect();
        let m = mark(&labels(), &rows, columns, cells, full);
        assert_eq!(m.cells[0], ["packet", "2 (eth0)"]);
        assert_eq!(
            m.cells[1],
            ["packet", "2"],
            "another namespace's interface 2 is unknown"
        );
        assert_eq!(m.cells[2], ["packet", "0"], "0: every interface");
        assert!(m.full[0].contains(&("ifindex".to_string(), "2 (eth0)".to_string())));
    }

    #[test]
    fn labels_travel_in_the_workers_messages() {
        let msg = crate::proto::FromWorker::Labels {
            labels: labels(),
            warnings: Vec::new(),
        };
        let back: crate::proto::FromWorker = serde_json::from_str(&msg.to_json()).unwrap();
        assert_eq!(back, msg);
    }

    #[test]
    fn container_tables_get_no_second_container_column() {
        let rows = [json!({"container_id": "a".repeat(64), "pid": 905})];
        let columns = vec!["container_id", "pid"];
        let cells = rows.iter().map(|r| crate::table::cells(r, &columns)).collect();
        let m = mark(&labels(), &rows, columns, cells, Vec::new());
        assert_eq!(m.columns, ["container_id", "pid"]);
        assert_eq!(m.containers, [Some(0)]);
    }
}
