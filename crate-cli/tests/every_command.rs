//! Every command of the `memscope` binary on every corpus capture, the analyses taken from `memscope list
//! --format json` (a new analysis is covered without an edit here): exit code 0, nothing on stderr (an
//! intact capture gives no warning), JSON that parses, and CSV and table that carry the JSON's rows cell
//! by cell (read back by `memscope_tests::rows`, not by the product's export code). Each option of the list
//! runs too, and the filters are checked for what they select: `--pid` against the unfiltered rows,
//! `--ns` against truth/proc-summary.tsv, `--owned-only` and `--no-unix` against the unfiltered rows,
//! `--threads` against truth/ps-eLf.txt's processes. `info` is checked against truth/proc-iomem.txt,
//! and `symbols index`, `symbols pack`, `symbols export` (read back by memscope and by Volatility 3),
//! `bench` and `list` run through the binary as well.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;
use std::time::Duration;

use serde_json::Value;

use memscope_core::kernel::START_KERNEL_MAP;
use memscope_tests::corpus::{self, CorpusCapture};
use memscope_tests::{checks, rows, truth};

/// How long one command may take before it counts as hung.
const TIME_LIMIT: Duration = Duration::from_secs(300);

/// Run `memscope` with `args`, the symbol pack cache under target/.
fn memscope(args: &[&str]) -> Output {
    memscope_tests::cli::run(env!("CARGO_BIN_EXE_memscope"), args, TIME_LIMIT)
}

/// Run a command that must succeed on an intact capture: exit 0 and an empty stderr (no warning); its
/// stdout as text. Problems go to `diffs`; `None` when there is no output to check.
fn run_clean(label: &str, args: &[&str], diffs: &mut Vec<String>) -> Option<String> {
    run_checked(label, args, true, diffs)
}

/// [`run_clean`], allowing lines on stderr that are no warning or error (what `symbols` wrote) unless
/// `quiet`.
fn run_checked(label: &str, args: &[&str], quiet: bool, diffs: &mut Vec<String>) -> Option<String> {
    let out = memscope(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        diffs.push(format!("{label}: exit {:?}: {stderr}", out.status.code()));
        return None;
    }
    // A fact memory does not hold even intact (a container's setting dockerd kept no document of) is null
    // with a warning saying so: no damage. tests/tests/docker.rs checks each such warning against the rows.
    let unknown_fact = |l: &str| l.starts_with("warning: container ") && l.contains(": found in neither the kernel");
    let noisy = |l: &str| {
        !unknown_fact(l) && (quiet || l.starts_with("warning") || l.starts_with("error") || l.contains("panicked"))
    };
    if stderr.lines().any(|l| !l.trim().is_empty() && noisy(l)) {
        diffs.push(format!("{label}: stderr on an intact capture: {stderr}"));
    }
    match String::from_utf8(out.stdout) {
        Ok(s) => Some(s),
        Err(e) => {
            diffs.push(format!("{label}: stdout is not UTF-8: {e}"));
            None
        }
    }
}

/// One analysis of `memscope list --format json`.
struct Spec {
    name: String,
    /// (option name, kind).
    options: Vec<(String, String)>,
    columns: Vec<String>,
    /// Column set name and its columns.
    column_sets: Vec<(String, Vec<String>)>,
    /// (depth key, label key) of a tree.
    tree: Option<(String, String)>,
}

fn analyses() -> Vec<Spec> {
    let out = memscope(&["list", "--format", "json"]);
    assert!(
        out.status.success(),
        "memscope list: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).expect("memscope list --format json prints JSON");
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    // A group's views are analyses of their own, run as `memscope GROUP VIEW CAPTURE`: named `GROUP VIEW`.
    let leaves: Vec<(String, &Value)> = list
        .as_array()
        .expect("memscope list --format json prints an array")
        .iter()
        .flat_map(|a| {
            let name = a["name"].as_str().expect("an analysis has a name").to_string();
            match a["views"].as_array().filter(|v| !v.is_empty()) {
                Some(views) => views
                    .iter()
                    .map(|v| (format!("{name} {}", v["name"].as_str().unwrap_or_default()), v))
                    .collect::<Vec<_>>(),
                None => vec![(name, a)],
            }
        })
        .collect();
    let specs: Vec<Spec> = leaves
        .into_iter()
        .map(|(name, a)| {
            Spec {
                name,
                options: a["options"]
                    .as_array()
                    .map(|o| {
                        o.iter()
                            .map(|o| {
                                (
                                    o["name"].as_str().unwrap_or_default().to_string(),
                                    // A directory output option is told apart: it must write files into it.
                                    match (o["kind"].as_str(), o["directory"].as_bool()) {
                                        (Some("output"), Some(true)) => "output_directory".to_string(),
                                        (kind, _) => kind.unwrap_or_default().to_string(),
                                    },
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                columns: strings(&a["columns"]),
                column_sets: a["column_sets"]
                    .as_array()
                    .map(|s| {
                        s.iter()
                            .map(|s| {
                                (
                                    s["name"].as_str().unwrap_or_default().to_string(),
                                    strings(&s["columns"]),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                tree: a["tree"]
                    .as_object()
                    .map(|t| (text_of(&t["depth"]), text_of(&t["label"]))),
            }
        })
        .collect();
    assert!(!specs.is_empty(), "memscope list names no analysis");
    specs
}

fn text_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// The rows of an analysis in JSON, after checking that its CSV carries the same rows; counts compared
/// cells in `checks`.
fn json_and_csv(label: &str, base: &[&str], diffs: &mut Vec<String>, checks: &mut usize) -> Option<Vec<Value>> {
    let json = run_clean(
        &format!("{label} --format json"),
        &[base, &["--format", "json"]].concat(),
        diffs,
    )?;
    let value: Value = match serde_json::from_str(&json) {
        Ok(v) => v,
        Err(e) => {
            diffs.push(format!("{label}: --format json does not parse: {e}"));
            return None;
        }
    };
    let Some(found) = value.as_array().cloned() else {
        diffs.push(format!("{label}: --format json is not an array of rows"));
        return None;
    };
    if let Some(csv) = run_clean(
        &format!("{label} --format csv"),
        &[base, &["--format", "csv"]].concat(),
        diffs,
    ) {
        compare_csv(label, &found, &csv, diffs, checks);
    }
    Some(found)
}

fn compare_csv(label: &str, found: &[Value], csv: &str, diffs: &mut Vec<String>, checks: &mut usize) {
    let (header, cells) = rows::columns_and_cells(found);
    let lines = match rows::parse_csv(csv) {
        Ok(l) => l,
        Err(e) => return diffs.push(format!("{label}: CSV does not parse: {e}")),
    };
    let Some((csv_header, csv_rows)) = lines.split_first() else {
        return diffs.push(format!("{label}: CSV has no header line"));
    };
    *checks += 1;
    if *csv_header != header {
        diffs.push(format!(
            "{label}: CSV header {csv_header:?}, the JSON rows' keys {header:?}"
        ));
        return;
    }
    *checks += 1;
    if csv_rows.len() != cells.len() {
        diffs.push(format!(
            "{label}: {} CSV rows, {} JSON rows",
            csv_rows.len(),
            cells.len()
        ));
    }
    for (i, (c, j)) in csv_rows.iter().zip(&cells).enumerate() {
        *checks += 1;
        if c != j {
            diffs.push(format!("{label}: CSV row {i} {c:?}, JSON row {j:?}"));
        }
    }
}

/// The table with every column set shown, compared with the JSON rows: its header is the spec's columns
/// and sets (those the rows have), each cell the JSON value, a tree's label indented by `. ` per level.
fn compare_table(
    label: &str,
    spec: &Spec,
    base: &[&str],
    found: &[Value],
    diffs: &mut Vec<String>,
    checks: &mut usize,
) {
    let mut args: Vec<&str> = base.to_vec();
    let set_flags: Vec<String> = spec.column_sets.iter().map(|(n, _)| format!("--{n}")).collect();
    args.extend(set_flags.iter().map(String::as_str));
    args.extend(["--format", "table"]);
    let Some(table) = run_clean(&format!("{label} --format table {}", set_flags.join(" ")), &args, diffs) else {
        return;
    };
    let (header, cells) = rows::columns_and_cells(found);
    let wanted: Vec<&String> = spec
        .columns
        .iter()
        .chain(spec.column_sets.iter().flat_map(|(_, c)| c))
        .collect();
    for w in &wanted {
        if !found.is_empty() && !header.contains(w) {
            diffs.push(format!("{label}: table column {w} is no key of the rows"));
        }
    }
    let shown: Vec<&String> = wanted.into_iter().filter(|w| header.contains(w)).collect();
    let (t_header, t_rows) = match rows::parse_table(&table) {
        Ok(t) => t,
        Err(e) => return diffs.push(format!("{label}: table does not parse: {e}")),
    };
    *checks += 1;
    if t_header.iter().collect::<Vec<_>>() != shown {
        return diffs.push(format!("{label}: table header {t_header:?}, want {shown:?}"));
    }
    if t_rows.len() != found.len() {
        diffs.push(format!(
            "{label}: {} table rows, {} JSON rows",
            t_rows.len(),
            found.len()
        ));
    }
    for (i, (t, (row, j))) in t_rows.iter().zip(found.iter().zip(&cells)).enumerate() {
        *checks += 1;
        let want: Vec<String> = shown
            .iter()
            .map(|col| {
                // A table shows control characters escaped and ends its lines without trailing blanks.
                let cell: String = j[header.iter().position(|h| h == *col).expect("shown columns are keys")]
                    .chars()
                    .map(|c| {
                        if c.is_control() {
                            c.escape_default().to_string()
                        } else {
                            c.to_string()
                        }
                    })
                    .collect();
                match &spec.tree {
                    Some((depth, label_key)) if label_key == *col => {
                        let d = row.get(depth).and_then(Value::as_u64).unwrap_or(0) as usize;
                        format!("{}{cell}", ". ".repeat(d)).trim_end().to_string()
                    }
                    _ => cell.trim_end().to_string(),
                }
            })
            .collect();
        if *t != want {
            diffs.push(format!("{label}: table row {i} {t:?}, JSON row {want:?}"));
        }
    }
}

/// The unfiltered rows a filter selects: those it matches, and in a tree every row below one (the tree shows
/// a selected process's whole subtree, at its depth in the whole tree).
fn selection<'a>(spec: &Spec, all: &'a [Value], matches: impl Fn(&Value) -> bool) -> Vec<&'a Value> {
    let Some((depth_key, _)) = &spec.tree else {
        return all.iter().filter(|r| matches(r)).collect();
    };
    // Depth-first order: a row's parent is the nearest earlier row one level up.
    let mut selected_at: Vec<bool> = Vec::new();
    let mut out = Vec::new();
    for r in all {
        let depth = r.get(depth_key).and_then(Value::as_u64).unwrap_or(0) as usize;
        selected_at.truncate(depth);
        let above = depth > 0 && selected_at.get(depth - 1).copied().unwrap_or(false);
        let selected = above || matches(r);
        selected_at.resize(depth, false);
        selected_at.push(selected);
        if selected {
            out.push(r);
        }
    }
    out
}

/// A key of the rows as an integer (pids and the like).
fn int(row: &Value, key: &str) -> Option<u64> {
    row.get(key).and_then(Value::as_u64)
}

fn finish(test: &str, checks: usize, diffs: Vec<String>) {
    assert!(
        diffs.is_empty(),
        "{test}: {} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    checks::ran(test, checks);
}

/// Every analysis in JSON, CSV and table, and with each of its options, on every capture.
#[test]
fn every_analysis_prints_the_same_rows_in_every_format() {
    let specs = analyses();
    let mut diffs = Vec::new();
    let mut checks = 0;
    for capture in corpus::corpus_captures() {
        let lime = capture.lime_path.to_string_lossy().into_owned();
        let symbols = capture.symbols_path.to_string_lossy().into_owned();
        for spec in &specs {
            let label = format!("{} {}", capture.name, spec.name);
            let base: Vec<&str> = spec
                .name
                .split(' ')
                .chain([lime.as_str(), "--symbols", symbols.as_str()])
                .collect();
            let Some(found) = json_and_csv(&label, &base, &mut diffs, &mut checks) else {
                continue;
            };
            if found.is_empty() {
                diffs.push(format!("{label}: no rows on an intact capture"));
            }
            compare_table(&label, spec, &base, &found, &mut diffs, &mut checks);
            for (option, kind) in &spec.options {
                check_option(&capture, spec, option, kind, &base, &found, &mut diffs, &mut checks);
            }
        }
    }
    for (flag, left_out) in LEFT_OUT.lock().unwrap().iter() {
        if *left_out == 0 {
            diffs.push(format!(
                "{flag}: selects every row on every capture: the test compared nothing"
            ));
        }
    }
    finish("cli every analysis", checks, diffs);
}

/// Rows each selecting flag (`netstat --owned-only`) left out, over all captures.
static LEFT_OUT: std::sync::Mutex<BTreeMap<String, usize>> = std::sync::Mutex::new(BTreeMap::new());

/// One option of an analysis: its rows in JSON and CSV agree, and a filter selects what it names.
#[allow(clippy::too_many_arguments)]
fn check_option(
    capture: &CorpusCapture,
    spec: &Spec,
    option: &str,
    kind: &str,
    base: &[&str],
    all: &[Value],
    diffs: &mut Vec<String>,
    checks: &mut usize,
) {
    let flag = format!("--{option}");
    let label = format!("{} {} {flag}", capture.name, spec.name);
    if spec.name == "files" && check_files_option(capture, option, &label, base, all, diffs, checks) {
        return;
    }
    match kind {
        "flag" => {
            let Some(found) = json_and_csv(&label, &[base, &[flag.as_str()]].concat(), diffs, checks) else {
                return;
            };
            let keep: Option<fn(&Value) -> bool> = match option {
                "owned-only" => Some(|r: &Value| !r["pid"].is_null()),
                "no-unix" => Some(|r: &Value| r["proto"] != "unix"),
                _ => None,
            };
            if let Some(keep) = keep {
                *checks += 1;
                let want: Vec<&Value> = all.iter().filter(|r| keep(r)).collect();
                if found.iter().collect::<Vec<_>>() != want {
                    diffs.push(format!(
                        "{label}: {} rows, the unfiltered rows it selects: {}",
                        found.len(),
                        want.len()
                    ));
                }
                // Whether the filter left rows out on some capture (else it was not tested for real).
                *LEFT_OUT
                    .lock()
                    .unwrap()
                    .entry(format!("{} {flag}", spec.name))
                    .or_default() += all.len() - want.len();
            } else if spec.name == "skbuff" && option == "freed" {
                // Freed skbs added to the allocated ones, none of those dropped.
                *checks += 1;
                let allocated: Vec<&Value> = found.iter().filter(|r| r["state"] == "allocated").collect();
                if allocated != all.iter().collect::<Vec<_>>() {
                    diffs.push(format!("{label}: the allocated rows differ from the run without it"));
                }
            } else if option == "threads" {
                check_threads(capture, &label, all, &found, diffs, checks);
            } else if spec.name == "mounts" && option == "sort" {
                // The same rows, ordered by mount id (stable: ties keep the namespaces' order).
                *checks += 1;
                let mut want: Vec<&Value> = all.iter().collect();
                want.sort_by_key(|r| int(r, "mount_id"));
                if found.iter().collect::<Vec<_>>() != want {
                    diffs.push(format!("{label}: not the unfiltered rows ordered by mount_id"));
                }
            } else if spec.name == "mounts" && option == "all" {
                // The mount hash holds every mount of every namespace: each unfiltered row's mount (by
                // address) is there, once, with the same id, parent and namespace.
                *checks += 1;
                let by_addr: BTreeMap<&str, &Value> =
                    found.iter().filter_map(|r| Some((r["addr"].as_str()?, r))).collect();
                if by_addr.len() != found.len() {
                    diffs.push(format!("{label}: a mount address repeats among {} rows", found.len()));
                }
                for r in all {
                    let same = r["addr"].as_str().and_then(|a| by_addr.get(a)).is_some_and(|f| {
                        ["mount_id", "parent_id", "mnt_ns", "root", "fstype"]
                            .iter()
                            .all(|k| f[k] == r[k])
                    });
                    if !same {
                        diffs.push(format!(
                            "{label}: mount {} of namespace {} ({}) not in the hash's rows as it is in its namespace's",
                            r["mount_id"], r["mnt_ns"], r["addr"]
                        ));
                    }
                }
            } else if spec.name == "docker ps" && option == "all" {
                // The running and paused containers, then stopped ones (no pid).
                *checks += 1;
                let (head, rest) = found.split_at(all.len().min(found.len()));
                if head != all || rest.iter().any(|r| r["state"] != "stopped" || !r["pid"].is_null()) {
                    diffs.push(format!(
                        "{label}: not the unfiltered rows followed by stopped containers"
                    ));
                }
            } else if spec.name == "docker mounts" && option == "all" {
                // Every unfiltered row, and besides them only Docker's default mounts.
                *checks += 1;
                let extra: Vec<&Value> = found.iter().filter(|r| !all.contains(r)).collect();
                if all.iter().any(|r| !found.contains(r) || r["default"] != false)
                    || extra.iter().any(|r| r["default"] != true)
                    || extra.is_empty()
                {
                    diffs.push(format!(
                        "{label}: {} rows: not the unfiltered {} and default mounts",
                        found.len(),
                        all.len()
                    ));
                }
            } else {
                diffs.push(format!("{label}: a flag this test does not know: say what it selects"));
            }
        }
        "integers" => {
            // A filter by a key of the rows (`--pid`): the rows are the unfiltered rows with that key.
            let mut values: Vec<u64> = all.iter().filter_map(|r| int(r, option)).collect();
            values.sort_unstable();
            values.dedup();
            // Two of three or more values; of fewer (queues: the few processes with data waiting), one.
            let picked: Vec<u64> = match values.len() {
                0 => return diffs.push(format!("{label}: the rows have no `{option}` value to filter")),
                1 | 2 => vec![values[0]],
                n => vec![values[1], values[n / 2]],
            };
            let texts: Vec<String> = picked.iter().map(u64::to_string).collect();
            let mut args: Vec<&str> = base.to_vec();
            args.push(&flag);
            args.extend(texts.iter().map(String::as_str));
            let Some(found) = json_and_csv(&format!("{label} {}", texts.join(" ")), &args, diffs, checks) else {
                return;
            };
            let want = selection(spec, all, |r| int(r, option).is_some_and(|v| picked.contains(&v)));
            *checks += 1;
            if found.iter().collect::<Vec<_>>() != want {
                diffs.push(format!(
                    "{label} {}: {} rows, the unfiltered rows with that {option}: {}",
                    texts.join(" "),
                    found.len(),
                    want.len()
                ));
            }
        }
        "text" if option == "ns" => check_ns(capture, spec, &label, base, all, diffs, checks),
        "text" if spec.name == "docker inspect" && option == "id" => {
            // A container by its id's first 12 digits, another by its name: those rows, in their order.
            let picked: Vec<String> = all
                .iter()
                .enumerate()
                .filter_map(|(i, r)| match i {
                    0 => r["container_id"].as_str().map(|id| id[..12].to_string()),
                    1 => r["name"].as_str().map(str::to_string),
                    _ => None,
                })
                .collect();
            if picked.is_empty() {
                return diffs.push(format!("{label}: no container to pick"));
            }
            let mut args: Vec<&str> = base.to_vec();
            for p in &picked {
                args.extend([flag.as_str(), p.as_str()]);
            }
            let Some(found) = json_and_csv(&format!("{label} {}", picked.join(" ")), &args, diffs, checks) else {
                return;
            };
            *checks += 1;
            let want: Vec<&Value> = all.iter().take(picked.len()).collect();
            if found.iter().collect::<Vec<_>>() != want {
                diffs.push(format!(
                    "{label} {}: {} rows, not the {} picked",
                    picked.join(" "),
                    found.len(),
                    want.len()
                ));
            }
        }
        "output" => {
            let dir = corpus::cache_dir().join("every-command");
            std::fs::create_dir_all(&dir).expect("create the output folder");
            let path = dir.join(format!("{}-{}-{option}", capture.name, spec.name));
            let _ = std::fs::remove_file(&path);
            let path_text = path.to_string_lossy().into_owned();
            let args = [base, &[flag.as_str(), path_text.as_str(), "--format", "json"]].concat();
            if let Some(json) = run_clean(&label, &args, diffs) {
                *checks += 1;
                if serde_json::from_str::<Value>(&json).ok().as_ref() != Some(&Value::Array(all.to_vec())) {
                    diffs.push(format!("{label}: rows differ from the run without {flag}"));
                }
                if std::fs::metadata(&path).map_or(true, |m| m.len() == 0) {
                    diffs.push(format!("{label}: wrote nothing to {path_text}"));
                }
            }
        }
        "output_directory" => {
            let dir = corpus::cache_dir()
                .join("every-command")
                .join(format!("{}-{}-{option}", capture.name, spec.name));
            let _ = std::fs::remove_dir_all(&dir);
            let dir_text = dir.to_string_lossy().into_owned();
            let args = [base, &[flag.as_str(), dir_text.as_str(), "--format", "json"]].concat();
            if let Some(json) = run_clean(&label, &args, diffs) {
                *checks += 1;
                if serde_json::from_str::<Value>(&json).ok().as_ref() != Some(&Value::Array(all.to_vec())) {
                    diffs.push(format!("{label}: rows differ from the run without {flag}"));
                }
                let written = std::fs::read_dir(&dir).map_or(0, |d| {
                    d.filter_map(Result::ok)
                        .filter(|e| e.metadata().is_ok_and(|m| m.is_file() && m.len() > 0))
                        .count()
                });
                if written == 0 {
                    diffs.push(format!("{label}: wrote no file into {dir_text}"));
                }
            }
        }
        other => diffs.push(format!("{label}: an option of kind {other} this test does not know")),
    }
}

/// `files`'s options that are no filter by a key of the rows: `--mount` (by `mount_id`), `--path`,
/// `--sort`, `--negative`, and reading one file back (`--extract`, `--extract-inode`, `--extract-fd`,
/// `--out`), checked against the unfiltered rows. `false` for an option the generic checks cover.
#[allow(clippy::too_many_arguments)]
fn check_files_option(
    capture: &CorpusCapture,
    option: &str,
    label: &str,
    base: &[&str],
    all: &[Value],
    diffs: &mut Vec<String>,
    checks: &mut usize,
) -> bool {
    let path_of = |r: &Value| r["path"].as_str().unwrap_or_default().to_string();
    // A regular file whose every page is cached: reading it back gives no warning.
    let whole = all.iter().find(|r| {
        r["file_type"] == "regular" && int(r, "size").is_some_and(|s| s > 0) && r["cached_pages"] == r["total_pages"]
    });
    let rows_of = |extra: &[&str], diffs: &mut Vec<String>, checks: &mut usize| {
        json_and_csv(label, &[base, extra].concat(), diffs, checks)
    };
    match option {
        "mount" => {
            let mut ids: Vec<u64> = all.iter().filter_map(|r| int(r, "mount_id")).collect();
            ids.sort_unstable();
            ids.dedup();
            let pick = ids[ids.len() / 2].to_string();
            let Some(found) = rows_of(&["--mount", &pick], diffs, checks) else {
                return true;
            };
            let want: Vec<&Value> = all
                .iter()
                .filter(|r| int(r, "mount_id").map(|v| v.to_string()) == Some(pick.clone()))
                .collect();
            *checks += 1;
            if found.iter().collect::<Vec<_>>() != want {
                diffs.push(format!(
                    "{label} {pick}: {} rows, the unfiltered rows of that mount: {}",
                    found.len(),
                    want.len()
                ));
            }
        }
        "path" => {
            let Some(found) = rows_of(&["--path", "/etc"], diffs, checks) else {
                return true;
            };
            let under = |p: &str| {
                let p = p.strip_suffix(" (deleted)").unwrap_or(p);
                p == "/etc" || p.starts_with("/etc/")
            };
            let want: Vec<&Value> = all.iter().filter(|r| under(&path_of(r))).collect();
            *checks += 1;
            if found.iter().collect::<Vec<_>>() != want || want.is_empty() {
                diffs.push(format!(
                    "{label} /etc: {} rows, the unfiltered rows under /etc: {}",
                    found.len(),
                    want.len()
                ));
            }
        }
        "sort" => {
            let Some(found) = rows_of(&["--sort"], diffs, checks) else {
                return true;
            };
            let mut want: Vec<&Value> = all.iter().collect();
            want.sort_by_key(|r| path_of(r));
            *checks += 1;
            if found.iter().collect::<Vec<_>>() != want {
                diffs.push(format!("{label}: not the unfiltered rows ordered by path"));
            }
        }
        "negative" => {
            let Some(found) = rows_of(&["--negative"], diffs, checks) else {
                return true;
            };
            let files: Vec<&Value> = found.iter().filter(|r| !r["inode"].is_null()).collect();
            *checks += 1;
            if files.len() != all.len() || files.len() == found.len() {
                diffs.push(format!(
                    "{label}: {} rows with an inode (the unfiltered {}) and {} negative",
                    files.len(),
                    all.len(),
                    found.len() - files.len()
                ));
            }
        }
        "extract" | "extract-inode" | "out" => {
            let Some(file) = whole else {
                diffs.push(format!("{label}: no wholly cached regular file to read back"));
                return true;
            };
            let path = path_of(file);
            let addr = file["inode_addr"].as_str().unwrap_or_default();
            let dir = corpus::cache_dir().join("every-command");
            std::fs::create_dir_all(&dir).expect("create the output folder");
            let out = dir.join(format!("{}-files-{option}", capture.name));
            let out_text = out.to_string_lossy().into_owned();
            let _ = std::fs::remove_file(&out);
            let extra: Vec<&str> = match option {
                "extract" => vec!["--extract", &path],
                "extract-inode" => vec!["--extract-inode", addr],
                _ => vec!["--extract", &path, "--out", &out_text],
            };
            let Some(found) = rows_of(&extra, diffs, checks) else {
                return true;
            };
            *checks += 1;
            let same =
                found.len() == 1 && found[0]["inode_addr"] == file["inode_addr"] && found[0]["size"] == file["size"];
            if !same || (option == "extract" && found[0] != *file) {
                diffs.push(format!("{label} {path}: rows {found:?}, not its row"));
            }
            if option == "out" {
                *checks += 1;
                let written = std::fs::metadata(&out).map_or(0, |m| m.len());
                if Some(written) != int(file, "size") {
                    diffs.push(format!(
                        "{label}: wrote {written} bytes of {path}, its size {}",
                        file["size"]
                    ));
                }
            }
        }
        "extract-fd" => {
            // A descriptor of a wholly cached regular file, from lsof.
            let lsof = run_clean(
                label,
                &[
                    "lsof",
                    &capture.lime_path.to_string_lossy(),
                    "--symbols",
                    &capture.symbols_path.to_string_lossy(),
                    "--format",
                    "json",
                ],
                diffs,
            )
            .and_then(|j| serde_json::from_str::<Vec<Value>>(&j).ok())
            .unwrap_or_default();
            let cached: BTreeSet<&str> = all
                .iter()
                .filter(|r| r["file_type"] == "regular" && r["cached_pages"] == r["total_pages"])
                .filter_map(|r| r["inode_addr"].as_str())
                .collect();
            let Some(fd) = lsof
                .iter()
                .find(|f| f["inode_addr"].as_str().is_some_and(|a| cached.contains(a)))
            else {
                diffs.push(format!("{label}: no descriptor of a wholly cached file"));
                return true;
            };
            let which = format!("{}:{}", fd["pid"], fd["fd"]);
            let Some(found) = rows_of(&["--extract-fd", &which], diffs, checks) else {
                return true;
            };
            *checks += 1;
            if found.len() != 1 || found[0]["inode_addr"] != fd["inode_addr"] {
                diffs.push(format!("{label} {which}: rows {found:?}, not that descriptor's file"));
            }
        }
        _ => return false,
    }
    true
}

/// `--threads`: a row per thread, with every thread of truth/ps-eLf.txt for the processes alive at the dump
/// (truth/final/ps-eo.txt) that the collector saw with all their threads still there; the process rows
/// (tid == pid) are the rows without the flag.
fn check_threads(
    capture: &CorpusCapture,
    label: &str,
    all: &[Value],
    found: &[Value],
    diffs: &mut Vec<String>,
    checks: &mut usize,
) {
    let leaders: Vec<&Value> = found.iter().filter(|r| int(r, "pid") == int(r, "tid")).collect();
    *checks += 1;
    if leaders != all.iter().collect::<Vec<_>>() {
        diffs.push(format!(
            "{label}: {} rows with tid == pid, {} rows without the flag",
            leaders.len(),
            all.len()
        ));
    }
    let got: BTreeSet<(u64, u64)> = found
        .iter()
        .filter_map(|r| Some((int(r, "pid")?, int(r, "tid")?)))
        .collect();
    let alive = truth::final_ps_pids(&capture.truth_dir);
    let mut more = 0;
    for (pid, tids) in truth::ps_threads(&capture.truth_dir) {
        if !alive.contains(&pid) {
            continue; // gone before the dump (truth/final/ps-eo.txt)
        }
        for tid in tids {
            *checks += 1;
            if !got.contains(&(u64::from(pid), u64::from(tid))) {
                more += 1;
                diffs.push(format!("{label}: thread {tid} of pid {pid} (truth/ps-eLf.txt) missing"));
            }
        }
    }
    if more == 0 && got.len() <= all.len() {
        diffs.push(format!("{label}: no thread row beyond the processes"));
    }
}

/// `--ns KIND:INODE` for each namespace of the truth's processes (truth/proc-summary.tsv): the rows are
/// the unfiltered rows in that namespace, and hold every process of the summary in it that was still alive
/// at the dump (truth/final/ps-eo.txt); a row the summary lacks must have started after the collector did
/// (truth/collect-start.txt).
fn check_ns(
    capture: &CorpusCapture,
    spec: &Spec,
    label: &str,
    base: &[&str],
    all: &[Value],
    diffs: &mut Vec<String>,
    checks: &mut usize,
) {
    let summary = truth::proc_summary(&capture.truth_dir);
    let alive = truth::final_ps_pids(&capture.truth_dir);
    let started = truth::collect_start(&capture.truth_dir);
    let mut namespaces: BTreeMap<(String, u64), BTreeSet<u32>> = BTreeMap::new();
    for p in summary.values() {
        for (kind, inode) in &p.ns {
            namespaces.entry((kind.clone(), *inode)).or_default().insert(p.pid);
        }
    }
    // Each kind's namespaces that hold fewer processes than the whole: the ones a filter can get wrong.
    let total = summary.len();
    let mut tried = 0;
    for ((kind, inode), members) in namespaces.iter().filter(|(_, m)| m.len() < total) {
        let arg = format!("{kind}:{inode}");
        let l = format!("{label} {arg}");
        let Some(found) = json_and_csv(&l, &[base, &["--ns", arg.as_str()]].concat(), diffs, checks) else {
            continue;
        };
        tried += 1;
        let want = selection(spec, all, |r| r["ns"][kind.as_str()].as_u64() == Some(*inode));
        *checks += 1;
        if found.iter().collect::<Vec<_>>() != want {
            diffs.push(format!(
                "{l}: {} rows, {} unfiltered rows in it",
                found.len(),
                want.len()
            ));
        }
        let pids: BTreeSet<u32> = found.iter().filter_map(|r| int(r, "pid")).map(|p| p as u32).collect();
        for pid in members.iter().filter(|p| alive.contains(p)) {
            *checks += 1;
            if !pids.contains(pid) {
                diffs.push(format!(
                    "{l}: pid {pid} of truth/proc-summary.tsv is in it, not in the rows"
                ));
            }
        }
        // A tree also shows the subtrees of the selected processes: only a list is all in the namespace.
        for r in found.iter().filter(|_| spec.tree.is_none()) {
            let Some(pid) = int(r, "pid").map(|p| p as u32) else {
                continue;
            };
            *checks += 1;
            match summary.get(&pid) {
                Some(p) if p.ns.get(kind.as_str()) == Some(inode) => {}
                Some(p) => diffs.push(format!(
                    "{l}: pid {pid} is in {kind}:{:?} by truth/proc-summary.tsv",
                    p.ns.get(kind.as_str())
                )),
                None => {
                    let start = r["start_time"].as_str().and_then(truth::iso_seconds);
                    if !start.is_some_and(|s| s > started) {
                        diffs.push(format!(
                            "{l}: pid {pid} is not in truth/proc-summary.tsv but started at {start:?}, before the \
                             collector ({started})"
                        ));
                    }
                }
            }
        }
    }
    if tried == 0 {
        diffs.push(format!("{label}: truth/proc-summary.tsv has no namespace to filter by"));
    }
}

/// `info` in JSON against the truth (release, banner, host name, the kernel's physical placement against
/// truth/proc-iomem.txt's `Kernel code`), and its CSV and table carrying the same keys and values.
#[test]
fn info_places_the_kernel_where_proc_iomem_says() {
    let mut diffs = Vec::new();
    let mut checks = 0;
    for capture in corpus::corpus_captures() {
        let name = &capture.name;
        let lime = capture.lime_path.to_string_lossy().into_owned();
        let symbols_path = capture.symbols_path.to_string_lossy().into_owned();
        let base = ["info", lime.as_str(), "--symbols", symbols_path.as_str()];
        let Some(json) = run_clean(
            &format!("{name} info"),
            &[&base[..], &["--format", "json"]].concat(),
            &mut diffs,
        ) else {
            continue;
        };
        let v: Value = serde_json::from_str(&json).expect("info prints one JSON object");
        let truth_dir = &capture.truth_dir;
        for (key, want) in [
            ("kernel_release", truth::uname_release(truth_dir)),
            ("banner", truth::proc_version(truth_dir)),
            ("hostname", truth::hostname(truth_dir)),
        ] {
            checks += 1;
            if v[key].as_str() != Some(want.as_str()) {
                diffs.push(format!("{name}: info {key} {}, the truth says {want:?}", v[key]));
            }
        }
        // The physical placement: `_text` of the ISF (linked at START_KERNEL_MAP + physical start) moved
        // by the physical KASLR shift is where /proc/iomem's "Kernel code" starts; `_etext` is where it ends.
        let iomem = iomem_range(&capture, "Kernel code");
        let table = corpus::load_symbols(&capture);
        let hex = |key: &str| {
            v[key]
                .as_str()
                .and_then(|t| t.strip_prefix("0x"))
                .and_then(|t| u64::from_str_radix(t, 16).ok())
        };
        let phys_shift = hex("kaslr_physical_shift");
        let virt_shift = hex("kaslr_virtual_shift");
        for (sym, want) in [("_text", iomem.0), ("_etext", iomem.1 + 1)] {
            checks += 1;
            let linked = table.address(sym).unwrap_or_else(|e| panic!("{name}: ISF {sym}: {e}"));
            let got = phys_shift.map(|s| linked - START_KERNEL_MAP + s);
            if got != Some(want) {
                diffs.push(format!(
                    "{name}: info places {sym} at physical {got:x?}, truth/proc-iomem.txt's Kernel code says {want:#x}"
                ));
            }
        }
        checks += 1;
        let init_task = table.address("init_task").expect("ISF init_task");
        if hex("init_task") != virt_shift.map(|s| init_task + s) {
            diffs.push(format!(
                "{name}: info init_task {} is not the ISF's {init_task:#x} moved by kaslr_virtual_shift {}",
                v["init_task"], v["kaslr_virtual_shift"]
            ));
        }
        // The page table root is a page of the capture's RAM inside the kernel's image (swapper_pg_dir or
        // init_top_pgt, between _text and _end, physically).
        checks += 1;
        let end = table.address("_end").expect("ISF _end");
        let root = hex("page_table_root");
        if !root.is_some_and(|r| {
            phys_shift.is_some_and(|s| r >= iomem.0 && r < end - START_KERNEL_MAP + s && r % 4096 == 0)
        }) {
            diffs.push(format!(
                "{name}: page_table_root {} is not a page of the kernel image",
                v["page_table_root"]
            ));
        }
        // CSV: one header and one row, the flattened keys and values; table: `key  value` lines.
        let flat = rows::flatten(&v);
        if let Some(csv) = run_clean(
            &format!("{name} info csv"),
            &[&base[..], &["--format", "csv"]].concat(),
            &mut diffs,
        ) {
            checks += 1;
            let want = vec![
                flat.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
                flat.iter().map(|(_, c)| c.clone()).collect(),
            ];
            if rows::parse_csv(&csv).as_ref() != Ok(&want) {
                diffs.push(format!("{name}: info CSV {csv:?} is not the JSON's keys and values"));
            }
        }
        if let Some(table) = run_clean(
            &format!("{name} info table"),
            &[&base[..], &["--format", "table"]].concat(),
            &mut diffs,
        ) {
            checks += 1;
            let lines: Vec<(String, String)> = table
                .lines()
                .map(|l| match l.split_once("  ") {
                    Some((k, v)) => (k.to_string(), v.trim_start().to_string()),
                    None => (l.to_string(), String::new()),
                })
                .collect();
            if lines != flat {
                diffs.push(format!("{name}: info table {lines:?}, JSON {flat:?}"));
            }
        }
    }
    finish("cli info", checks, diffs);
}

/// The (first, last) address of a top-level or nested range of truth/proc-iomem.txt named `what`.
fn iomem_range(capture: &CorpusCapture, what: &str) -> (u64, u64) {
    let path = capture.truth_dir.join("proc-iomem.txt");
    truth::output_lines(&path)
        .iter()
        .find_map(|l| {
            let (range, name) = l.trim().split_once(" : ")?;
            if name != what {
                return None;
            }
            let (a, b) = range.split_once('-')?;
            Some((u64::from_str_radix(a, 16).ok()?, u64::from_str_radix(b, 16).ok()?))
        })
        .unwrap_or_else(|| panic!("{}: no {what:?} range in {}", capture.name, path.display()))
}

/// `symbols export`: the symbols derived from each capture, written as an ISF, identify the same kernel
/// as `--symbols capture` when memscope reads them back, and Volatility 3 (2.28, installed by setup.sh)
/// runs linux.pslist with them and lists the processes its own run with the kernel's DWARF ISF lists
/// (the corpus's vol3/ output). Returns the checks made.
fn export_isf_for_volatility(
    captures: &[corpus::CorpusCapture],
    dir: &std::path::Path,
    diffs: &mut Vec<String>,
) -> usize {
    let mut checks = 0;
    let isf_dir = dir.join("exported");
    let linux = isf_dir.join("linux");
    std::fs::create_dir_all(&linux).expect("create the exported ISF folder");
    for capture in captures {
        let lime = capture.lime_path.to_string_lossy().into_owned();
        let out = linux.join(format!("{}.json.xz", capture.name));
        let out_text = out.to_string_lossy().into_owned();
        let label = format!("{} symbols export", capture.name);
        if run_checked(&label, &["symbols", "export", &lime, "--out", &out_text], false, diffs).is_none() {
            continue;
        }
        let keys = memscope_tests::KERNEL_PLACE_KEYS;
        let info = |symbols: &str, diffs: &mut Vec<String>| {
            run_clean(
                &format!("{label}: info --symbols {symbols}"),
                &["info", &lime, "--symbols", symbols, "--format", "json"],
                diffs,
            )
            .and_then(|j| serde_json::from_str::<Value>(&j).ok())
            .map(|v| keys.map(|k| v[k].clone()))
        };
        if let (Some(a), Some(b)) = (info(&out_text, diffs), info("capture", diffs)) {
            checks += 1;
            if a != b {
                diffs.push(format!(
                    "{label}: info with the exported ISF {a:?}, with --symbols capture {b:?}"
                ));
            }
        }
    }
    let cache = dir.join("volatility-cache");
    std::fs::create_dir_all(&cache).expect("create Volatility's cache folder");
    for capture in captures {
        let lime = capture.lime_path.to_string_lossy().into_owned();
        let label = format!("{}: Volatility 3 linux.pslist with the exported ISF", capture.name);
        let run = std::process::Command::new("vol")
            .args(["-q", "--cache-path"])
            .arg(&cache)
            .args(["-f", &lime, "-s"])
            .arg(&isf_dir)
            .args(["-r", "json", "linux.pslist.PsList"])
            .output();
        let out = match run {
            Ok(o) if o.status.success() => o,
            Ok(o) => {
                diffs.push(format!(
                    "{label}: exit {:?}: {}",
                    o.status.code(),
                    String::from_utf8_lossy(&o.stderr)
                ));
                continue;
            }
            Err(e) => {
                diffs.push(format!(
                    "{label}: cannot run vol ({e}); scripts/setup.sh installs Volatility 3"
                ));
                continue;
            }
        };
        let processes = |rows: &Value| -> Vec<(i64, i64, String)> {
            let mut v: Vec<(i64, i64, String)> = rows
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| {
                    (
                        r["PID"].as_i64().unwrap_or(-1),
                        r["PPID"].as_i64().unwrap_or(-1),
                        r["COMM"].to_string(),
                    )
                })
                .collect();
            v.sort();
            v
        };
        let ours = processes(&serde_json::from_slice(&out.stdout).unwrap_or(Value::Null));
        let peer_file = corpus::corpus_dir()
            .join(&capture.name)
            .join("vol3")
            .join("linux.pslist.PsList.json");
        let peer = std::fs::read(&peer_file).unwrap_or_else(|e| panic!("{}: {e}", peer_file.display()));
        let theirs = processes(&serde_json::from_slice(&peer).unwrap_or(Value::Null));
        checks += 1;
        if ours.is_empty() || ours != theirs {
            diffs.push(format!(
                "{label}: {} processes, {} with the DWARF ISF (vol3/linux.pslist.PsList.json)",
                ours.len(),
                theirs.len()
            ));
        }
    }
    checks
}

/// `symbols index`, `symbols pack`, `bench` and `list` through the binary: the index names each corpus
/// ISF's banner (manifest), the pack is refused by nobody (`info --symbols PACK` gives the same JSON as the
/// ISF), bench prints its timings as JSON, list in JSON and table name the same analyses.
#[test]
fn symbols_bench_and_list_run_through_the_binary() {
    let mut diffs = Vec::new();
    let mut checks = 0;
    let captures = corpus::corpus_captures();
    let dir = corpus::cache_dir().join("every-command-symbols");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the symbols folder");
    for capture in &captures {
        let file = capture.symbols_path.file_name().expect("an ISF file name");
        std::fs::copy(&capture.symbols_path, dir.join(file)).expect("copy an ISF");
    }
    let dir_text = dir.to_string_lossy().into_owned();
    if run_checked("symbols index", &["symbols", "index", &dir_text], false, &mut diffs).is_some() {
        let index: Value = std::fs::read(dir.join("index.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        let text = index.to_string();
        for capture in &captures {
            checks += 1;
            let file = capture
                .symbols_path
                .file_name()
                .and_then(|f| f.to_str())
                .unwrap_or_default();
            if !text.contains(&serde_json::to_string(&capture.banner).expect("a string")[1..]) || !text.contains(file) {
                diffs.push(format!(
                    "symbols index: {} does not name {file} with its banner",
                    dir.join("index.json").display()
                ));
            }
        }
    }
    let packs = dir.join("packs");
    let packs_text = packs.to_string_lossy().into_owned();
    // Each pack is the ISF's pack, byte for byte, named by the ISF file's SHA-256.
    if run_checked(
        "symbols pack",
        &["symbols", "pack", &dir_text, &packs_text],
        false,
        &mut diffs,
    )
    .is_some()
    {
        for capture in &captures {
            checks += 1;
            let isf = std::fs::read(&capture.symbols_path).expect("read an ISF");
            let want = memscope_core::symbols::SymbolTable::from_isf(&isf).expect("the ISF parses");
            let hash: String = memscope_core::symbols::SymbolTable::hash_isf(&isf)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let path = packs.join(format!("{hash}.mspack"));
            match std::fs::read(&path) {
                Ok(bytes) if bytes == want.pack() => {}
                Ok(_) => diffs.push(format!("{}: {} is not the ISF's pack", capture.name, path.display())),
                Err(e) => diffs.push(format!(
                    "{}: symbols pack wrote no {}: {e}",
                    capture.name,
                    path.display()
                )),
            }
        }
    }
    checks += export_isf_for_volatility(&captures, &dir, &mut diffs);
    for capture in &captures {
        let lime = capture.lime_path.to_string_lossy().into_owned();
        let isf = capture.symbols_path.to_string_lossy().into_owned();
        let label = format!("{} bench", capture.name);
        let args = [
            "bench",
            lime.as_str(),
            "--symbols",
            isf.as_str(),
            "--runs",
            "1",
            "--format",
            "json",
        ];
        if let Some(json) = run_clean(&label, &args, &mut diffs) {
            checks += 1;
            if !serde_json::from_str::<Value>(&json).is_ok_and(|v| v.is_object() || v.is_array()) {
                diffs.push(format!("{label}: --format json does not print JSON: {json:?}"));
            }
        }
    }
    let specs = analyses();
    if let Some(table) = run_clean("list", &["list"], &mut diffs) {
        for spec in &specs {
            checks += 1;
            // A view is listed on its group's line, with its usage.
            let (first, view) = spec.name.split_once(' ').unwrap_or((spec.name.as_str(), ""));
            let usage = format!("memscope {} CAPTURE", spec.name);
            if !table
                .lines()
                .any(|l| l.split_whitespace().next() == Some(first) && (view.is_empty() || l.contains(&usage)))
            {
                diffs.push(format!("list: the table has no line for {}", spec.name));
            }
        }
    }
    finish("cli symbols, bench, list", checks, diffs);
}

/// `memscope trim` through the binary, as LiME and as AVML: a capture under 64 MiB that gives every
/// analysis (each view of a group too) the same JSON as the full capture (tests/tests/trim.rs covers
/// each flag and choice in the core).
#[test]
fn trim_writes_a_small_capture_with_the_same_rows() {
    let (mut diffs, mut checks) = (Vec::new(), 0);
    let dir = corpus::cache_dir().join("every-command-trim");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the trim folder");
    // Every analysis, and each view of a group, as the words that run it.
    let commands: Vec<Vec<String>> = analyses()
        .iter()
        .map(|spec| spec.name.split(' ').map(str::to_string).collect())
        .collect();
    assert!(commands.len() > 10, "memscope list names {} analyses", commands.len());
    for capture in corpus::corpus_captures() {
        let lime = capture.lime_path.to_string_lossy().into_owned();
        let isf = capture.symbols_path.to_string_lossy().into_owned();
        for form in ["lime", "avml"] {
            let out = dir.join(format!("{}.{form}", capture.name));
            let out_text = out.to_string_lossy().into_owned();
            let label = format!("{} trim --as {form}", capture.name);
            let args = ["trim", &lime, "--symbols", &isf, "--out", &out_text, "--as", form];
            if run_checked(&label, &args, false, &mut diffs).is_none() {
                continue;
            }
            checks += 1;
            let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(u64::MAX);
            if size >= 64 << 20 {
                diffs.push(format!("{label}: {size} bytes, not under 64 MiB"));
            }
            for command in &commands {
                let run = |path: &str| {
                    let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
                    args.extend([path, "--symbols", isf.as_str(), "--format", "json"]);
                    memscope(&args).stdout
                };
                checks += 1;
                if run(&lime) != run(&out_text) {
                    diffs.push(format!(
                        "{label}: `{}` differs from the full capture's",
                        command.join(" ")
                    ));
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    finish("trim", checks, diffs);
}
