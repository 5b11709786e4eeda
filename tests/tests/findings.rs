//! `findings` on every corpus capture against what the live truth shows: each sniffer alive at the dump
//! (a `tcpdump` of truth/final/ps-eo.txt) is a `promiscuous_interface` finding naming its pid and an
//! interface the truth shows promiscuous (ip -d link's `promiscuity`); each listener whose command line
//! (truth/final/ps-eo.txt) hands a program to whoever connects is a `shell_on_socket` finding naming its
//! pid; `preload_environment` findings are exactly the processes whose truth/proc/<pid>.txt environment
//! has `LD_PRELOAD` or `LD_AUDIT`; `kernel_taint` findings exactly the modules truth/proc-modules.txt
//! shows tainted; no process is hidden; and no finding names a pid the truth does not know.

use std::collections::BTreeSet;

use memscope_core::analyses::findings::{findings, Finding};
use memscope_tests::corpus;
use memscope_tests::{checks, truth};
use serde_json::Value;

fn pids_of(f: &Finding) -> BTreeSet<i64> {
    f.evidence
        .iter()
        .filter_map(|e| e.keys.get("pid").and_then(Value::as_i64))
        .collect()
}

#[test]
fn findings_are_what_the_truth_shows() {
    let (mut compared, mut diffs) = (0usize, Vec::new());
    for capture in corpus::corpus_captures() {
        let name = &capture.name;
        let kernel = corpus::kernel(&capture);
        let found = findings(&kernel).unwrap_or_else(|e| panic!("{name}: findings: {e}"));
        assert!(
            found.warnings.is_empty(),
            "{name}: warnings on an intact capture: {:?}",
            found.warnings
        );
        let of_kind = |k: &str| found.rows.iter().filter(|f| f.kind == k).collect::<Vec<_>>();
        let ps = truth::final_ps(&capture.truth_dir);
        let alive = truth::final_ps_pids_at_dump(&capture.truth_dir);

        // Sniffers.
        let namespaces = truth::network_namespaces(&capture.truth_dir);
        let link_files = std::iter::once(capture.truth_dir.join("ip-d-addr.txt"))
            .chain(namespaces.iter().map(|ns| ns.dir.join("ip-d-addr.txt")));
        let promisc: BTreeSet<String> = link_files
            .filter(|f| f.exists())
            .flat_map(|f| truth::ip_links(&f))
            .filter(|l| l.promiscuity.is_some_and(|p| p > 0))
            .map(|l| l.name.clone())
            .collect();
        let sniffers: BTreeSet<i64> = ps
            .values()
            .filter(|p| p.comm == "tcpdump" && alive.contains(&p.pid))
            .map(|p| i64::from(p.pid))
            .collect();
        let promiscuous = of_kind("promiscuous_interface");
        for pid in &sniffers {
            compared += 1;
            if !promiscuous.iter().any(|f| pids_of(f).contains(pid)) {
                diffs.push(format!(
                    "{name}: tcpdump {pid} holds an interface promiscuous: no finding"
                ));
            }
        }
        for f in &promiscuous {
            compared += 1;
            let interface = f.evidence[0]
                .keys
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !promisc.contains(interface) {
                diffs.push(format!(
                    "{name}: {interface} is not promiscuous in the truth: {}",
                    f.summary
                ));
            }
        }

        // Listeners that hand a program to whoever connects.
        let hands = |args: &str| {
            let w: Vec<&str> = args.split_whitespace().collect();
            let program = w.first().map(|p| p.rsplit('/').next().unwrap_or(p)).unwrap_or_default();
            (["nc", "ncat", "netcat"].contains(&program) && w.iter().any(|a| *a == "-e" || *a == "-c"))
                || (program == "socat" && w.iter().any(|a| a.to_uppercase().starts_with("EXEC:")))
        };
        let handing: BTreeSet<i64> = ps
            .values()
            .filter(|p| alive.contains(&p.pid) && hands(&p.args))
            .map(|p| i64::from(p.pid))
            .collect();
        let found_handing: BTreeSet<i64> = of_kind("shell_on_socket")
            .iter()
            .filter(|f| f.evidence.iter().any(|e| e.analysis == "psaux"))
            .flat_map(|f| pids_of(f))
            .collect();
        compared += handing.len().max(1);
        if handing != found_handing {
            diffs.push(format!(
                "{name}: listeners handing out programs: truth {handing:?}, findings {found_handing:?}"
            ));
        }

        // Preloaded libraries, by the truth's environments.
        let preloaded: BTreeSet<i64> = truth::proc_fds(&capture.truth_dir)
            .values()
            .filter(|p| alive.contains(&p.pid))
            .filter(|p| {
                p.environ
                    .iter()
                    .any(|v| v.starts_with("LD_PRELOAD=") || v.starts_with("LD_AUDIT="))
            })
            .map(|p| i64::from(p.pid))
            .collect();
        let found_preloaded: BTreeSet<i64> = of_kind("preload_environment").iter().flat_map(|f| pids_of(f)).collect();
        compared += 1;
        if preloaded != found_preloaded {
            diffs.push(format!(
                "{name}: preloads: truth {preloaded:?}, findings {found_preloaded:?}"
            ));
        }

        // Tainting modules, by /proc/modules.
        let tainted: BTreeSet<String> = truth::proc_modules(&capture.truth_dir)
            .iter()
            .filter(|m| !m.taints.is_empty())
            .map(|m| m.name.clone())
            .collect();
        let found_tainted: BTreeSet<String> = of_kind("kernel_taint")
            .iter()
            .filter_map(|f| {
                f.evidence[0]
                    .keys
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect();
        compared += 1;
        if tainted != found_tainted {
            diffs.push(format!(
                "{name}: tainting modules: truth {tainted:?}, findings {found_tainted:?}"
            ));
        }

        // No hidden process (the truth's processes are all on the task list), and every pid named is real.
        compared += 1;
        if let Some(f) = of_kind("hidden_process").first() {
            diffs.push(format!("{name}: {}", f.summary));
        }
        let known = truth::ps_pids_ever(&capture.truth_dir);
        for f in &found.rows {
            for pid in pids_of(f) {
                compared += 1;
                if !u32::try_from(pid).is_ok_and(|p| known.contains(&p)) {
                    diffs.push(format!(
                        "{name}: finding names pid {pid}, which the truth never lists: {}",
                        f.summary
                    ));
                }
            }
        }
        for f in &found.rows {
            println!("{name}: {:?} {}: {}", f.severity, f.kind, f.summary);
        }
    }
    checks::ran("findings", compared);
    assert!(
        diffs.is_empty(),
        "findings differ from the truth:\n{}",
        diffs.join("\n")
    );
}
