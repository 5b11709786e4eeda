//! `psaux` and `envars` on every corpus capture against the live truth: each process alive at the dump
//! (`final/ps-eo.txt`) has the command line its `truth/proc/<pid>.txt` records (`cmdline:`), kernel threads
//! none. The truth keeps only a command line's first line and drops trailing blanks, so those are compared.

use memscope_core::analyses::{envars, psaux};
use memscope_tests::corpus;
use memscope_tests::truth;

#[test]
fn psaux_matches_the_live_truth() {
    let mut checks = 0;
    let mut diffs = Vec::new();
    for capture in &corpus::corpus_captures() {
        let name = &capture.name;
        let kernel = corpus::kernel(capture);
        let got = psaux::psaux(&kernel).unwrap_or_else(|e| panic!("{name}: psaux: {e}"));
        let rows: std::collections::BTreeMap<u32, &psaux::CommandLine> = got.rows.iter().map(|r| (r.pid, r)).collect();
        let alive = truth::final_ps_pids(&capture.truth_dir);
        for (pid, t) in truth::proc_fds(&capture.truth_dir) {
            let Some(want) = t.cmdline.as_deref().filter(|_| alive.contains(&pid)) else {
                continue;
            };
            checks += 1;
            let Some(r) = rows.get(&pid) else {
                diffs.push(format!("{name}: pid {pid} ({}) has no psaux row", t.comm));
                continue;
            };
            let first_line = r.cmdline.as_deref().map(|c| c.lines().next().unwrap_or("").trim_end());
            let ok = match want {
                "" => r.kernel_thread && r.args.is_none(),
                w => first_line == Some(w),
            };
            if !ok {
                diffs.push(format!(
                    "{name}: pid {pid} ({}): cmdline {:?}, {} says {want:?}",
                    t.comm,
                    r.cmdline,
                    t.file.display()
                ));
            }
        }
        assert!(
            got.warnings.is_empty(),
            "{name}: psaux warnings on an undamaged capture: {:?}",
            got.warnings
        );
    }
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
    assert!(checks > 100, "only {checks} command lines compared");
    eprintln!("psaux: {checks} command lines match the truth");
}

/// `envars` against the `-- environ` sections of `truth/proc/<pid>.txt`: for each process alive at the
/// dump, the same strings (empty ones left out), in the same order.
#[test]
fn envars_match_the_live_truth() {
    let mut checks = 0;
    let mut diffs = Vec::new();
    for capture in &corpus::corpus_captures() {
        let name = &capture.name;
        let kernel = corpus::kernel(capture);
        let got = envars::envars(&kernel).unwrap_or_else(|e| panic!("{name}: envars: {e}"));
        let mut by_pid: std::collections::BTreeMap<u32, Vec<String>> = std::collections::BTreeMap::new();
        for r in &got.rows {
            let s = match &r.value {
                Some(v) => format!("{}={v}", r.name),
                None => r.name.clone(),
            };
            by_pid.entry(r.pid).or_default().push(s);
        }
        let alive = truth::final_ps_pids(&capture.truth_dir);
        for (pid, t) in truth::proc_fds(&capture.truth_dir) {
            if !alive.contains(&pid) {
                continue;
            }
            checks += 1;
            let want: Vec<&str> = t.environ.iter().map(String::as_str).filter(|s| !s.is_empty()).collect();
            let have: Vec<&str> = by_pid
                .get(&pid)
                .map(|v| v.iter().map(String::as_str).collect())
                .unwrap_or_default();
            if want != have {
                diffs.push(format!(
                    "{name}: pid {pid} ({}): environment {have:?}, {} says {want:?}",
                    t.comm,
                    t.file.display()
                ));
            }
        }
        assert!(
            got.warnings.is_empty(),
            "{name}: envars warnings on an undamaged capture: {:?}",
            got.warnings
        );
    }
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
    eprintln!("envars: the environments of {checks} processes match the truth");
}
