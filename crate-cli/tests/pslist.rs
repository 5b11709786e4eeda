//! `memscope pslist` and `memscope pstree` as a user meets them, on every corpus capture: the JSON keys
//! the issue names (addresses as hex strings, start times as ISO 8601 with nanoseconds), the table and
//! CSV forms, the filters, and bad usage. The values are checked against the truth in
//! tests/tests/pslist.rs; here the init process is checked against `truth/proc-summary.tsv`.

use std::process::Output;

use memscope_tests::corpus;
use memscope_tests::truth;
use serde_json::Value;

fn memscope(args: &[&str]) -> Output {
    memscope_tests::cli::run(
        env!("CARGO_BIN_EXE_memscope"),
        args,
        std::time::Duration::from_secs(300),
    )
}

fn stdout_ok(what: &str, out: &Output) -> String {
    assert!(
        out.status.success(),
        "{what}: exit {:?}, stderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.lines().all(|l| l.starts_with("warning: ")),
        "{what}: stderr has more than warnings: {stderr}"
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

const KEYS: [&str; 22] = [
    "task_addr",
    "pid",
    "tid",
    "tgid",
    "ppid",
    "comm",
    "name",
    "start_time",
    "start_time_since_boot",
    "kernel_thread",
    "pid_in_ns",
    "ns",
    "uid",
    "gid",
    "euid",
    "egid",
    "cap_inh",
    "cap_prm",
    "cap_eff",
    "cap_bnd",
    "cap_amb",
    "cap_eff_names",
];

#[test]
fn pslist_and_pstree_on_every_corpus_capture() {
    let captures = corpus::corpus_captures();
    let mut checks = 0;
    for c in &captures {
        let lime = c.lime_path.to_str().expect("UTF-8 path");
        let symbols = c.symbols_path.to_str().expect("UTF-8 path");
        let base = ["--symbols", symbols];
        let json = |cmd: &str, extra: &[&str]| -> Vec<Value> {
            let mut args = vec![cmd, lime, "--format", "json"];
            args.extend(base);
            args.extend(extra);
            let text = stdout_ok(&format!("{} {cmd} {extra:?}", c.name), &memscope(&args));
            serde_json::from_str::<Vec<Value>>(&text)
                .unwrap_or_else(|e| panic!("{}: {cmd}: not a JSON array: {e}", c.name))
        };
        let rows = json("pslist", &[]);
        // Every process of truth/final/ps-eo.txt not gone by the dump (absent from all three of vol3's
        // process listings) is a row.
        let pids: std::collections::BTreeSet<u64> = rows.iter().filter_map(|r| r["pid"].as_u64()).collect();
        let missing: Vec<u32> = truth::final_ps_pids_at_dump(&c.truth_dir)
            .into_iter()
            .filter(|p| !pids.contains(&u64::from(*p)))
            .collect();
        assert!(
            missing.is_empty(),
            "{}: pids of truth/final/ps-eo.txt alive at the dump (in vol3's listings) missing from pslist: {missing:?}",
            c.name
        );
        for r in &rows {
            for k in KEYS {
                assert!(r.get(k).is_some(), "{}: row lacks {k}: {r}", c.name);
            }
            let addr = r["task_addr"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: task_addr not a string: {r}", c.name));
            assert!(
                addr.starts_with("0xffff") && u64::from_str_radix(&addr[2..], 16).is_ok(),
                "{}: {addr}",
                c.name
            );
            let start = r["start_time"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: no start_time: {r}", c.name));
            assert!(
                start.len() == 30 && start.ends_with('Z') && start.as_bytes()[19] == b'.',
                "{}: start_time {start}",
                c.name
            );
            assert_eq!(
                r["ns"].as_object().map(|o| o.len()),
                Some(8),
                "{}: ns {}",
                c.name,
                r["ns"]
            );
            checks += 1;
        }
        // pid 1 against the truth.
        let summary = truth::proc_summary(&c.truth_dir);
        let init = rows
            .iter()
            .find(|r| r["pid"] == 1)
            .unwrap_or_else(|| panic!("{}: no pid 1", c.name));
        let t = &summary[&1];
        assert_eq!(
            init["cap_eff"].as_u64(),
            Some(t.caps[2]),
            "{}: pid 1 cap_eff vs proc-summary.tsv",
            c.name
        );
        assert_eq!(
            init["ns"]["net"].as_u64(),
            t.ns.get("net").copied(),
            "{}: pid 1 ns.net vs proc-summary.tsv",
            c.name
        );
        checks += 2;

        // Filters.
        let net = init["ns"]["net"].as_u64().expect("pid 1 has a net namespace");
        let ns_arg = format!("net:{net}");
        let in_ns = json("pslist", &["--ns", &ns_arg]);
        assert!(
            !in_ns.is_empty() && in_ns.iter().all(|r| r["ns"]["net"] == net),
            "{}: --ns {ns_arg}",
            c.name
        );
        assert_eq!(
            in_ns.len(),
            rows.iter().filter(|r| r["ns"]["net"] == net).count(),
            "{}: --ns {ns_arg}",
            c.name
        );
        let two = json("pslist", &["--pid", "1", "2"]);
        assert_eq!(
            two.iter().map(|r| r["pid"].as_i64()).collect::<Vec<_>>(),
            [Some(1), Some(2)],
            "{}",
            c.name
        );
        let threads = json("pslist", &["--threads"]);
        assert!(threads.len() > rows.len(), "{}: --threads adds no rows", c.name);
        checks += 3;

        // pstree: parent links and depths.
        let tree = json("pstree", &[]);
        assert_eq!(tree.len(), rows.len(), "{}: pstree rows", c.name);
        let root = tree.iter().find(|r| r["pid"] == 1).expect("pid 1 in pstree");
        assert_eq!(
            (root["depth"].as_u64(), root["parent_task_addr"].is_null()),
            (Some(0), true),
            "{}",
            c.name
        );
        let child = tree.iter().find(|r| r["ppid"] == 1).expect("a child of pid 1");
        assert_eq!(
            child["parent_task_addr"], init["task_addr"],
            "{}: pstree parent link",
            c.name
        );
        assert_eq!(child["depth"].as_u64(), Some(1), "{}", c.name);
        checks += 4;

        // Table and CSV.
        let mut args = vec!["pstree", lime, "--nsinfo", "--credinfo"];
        args.extend(base);
        let table = stdout_ok("pstree table", &memscope(&args));
        let header = table.lines().next().unwrap_or_default();
        for col in ["pid", "ppid", "comm", "start_time", "ns.net", "cap_eff"] {
            assert!(
                header.split_whitespace().any(|h| h == col),
                "{}: table header lacks {col}: {header}",
                c.name
            );
        }
        assert!(
            table.lines().any(|l| l.contains(". ")),
            "{}: pstree table not indented",
            c.name
        );
        let mut args = vec!["pslist", lime, "--format", "csv"];
        args.extend(base);
        let csv = stdout_ok("pslist csv", &memscope(&args));
        let header = csv.lines().next().unwrap_or_default();
        assert!(
            header.starts_with("task_addr,pid,") && header.contains(",ns.net,"),
            "{}: csv header {header}",
            c.name
        );
        assert_eq!(csv.lines().count(), rows.len() + 1, "{}: csv lines", c.name);
        checks += 2;
    }
    eprintln!("cli pslist: {checks} corpus checks ran on {} captures", captures.len());
    memscope_tests::checks::ran("cli pslist", checks);
}

#[test]
fn pslist_bad_usage_exits_2() {
    for args in [
        &["pslist", "x.lime", "--ns", "net"][..],
        &["pslist", "x.lime", "--ns", "bogus:1"],
        &["pslist", "x.lime", "--pid", "abc"],
        &["pstree"],
    ] {
        let out = memscope(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "memscope {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = memscope(&["pslist", "/nonexistent/capture.lime"]);
    assert_eq!(out.status.code(), Some(1), "a missing capture exits 1");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: ") && stderr.lines().count() == 1,
        "one clear line: {stderr}"
    );
}
