//! Table logic of the page, independent of the DOM so it is tested on the host: cells from rows,
//! numeric-aware sorting, filtering, the process tree's collapsing, the visible window, and which analysis
//! an exported table belongs to.

use std::cmp::Ordering;
use std::collections::HashSet;

use memscope_core::analyses::registry::{leaves, Leaf};
use memscope_core::export;
use serde_json::Value;

/// The cells of `row` for `columns` (flattened keys, as CSV names them), as text.
pub fn cells(row: &Value, columns: &[&str]) -> Vec<String> {
    let flat = export::flatten(row);
    columns
        .iter()
        .map(|c| {
            flat.iter()
                .find(|(k, _)| k == c)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        })
        .collect()
}

/// The quick filters a tab offers, as (label, the filter it sets): the questions an investigator asks of
/// that table first, in the filter language the user can type too.
pub fn quick_filters(analysis: &str) -> &'static [(&'static str, &'static str)] {
    match analysis {
        "netstat" => &[
            ("Listening", "state:LISTEN"),
            ("Established", "state:ESTAB"),
            ("Packet sockets", "proto:packet"),
            ("Outside the host's network namespace", "-netns:host"),
        ],
        "ifconfig" => &[
            ("Promiscuous", "promiscuous:true"),
            ("Outside the host's network namespace", "-netns:host"),
        ],
        "pslist" | "psaux" => &[
            ("User processes", "kernel_thread:false"),
            ("Outside the host's mount namespace", "-ns.mnt:host"),
        ],
        "queues" => &[("Packet rings", "queue:ring"), ("Receive queues", "queue:receive")],
        "skbuff" => &[("Allocated", "state:allocated"), ("Freed", "state:freed")],
        "routes" | "arp" => &[("Outside the host's network namespace", "-netns:host")],
        _ => &[],
    }
}

/// Compare two cells: numbers as numbers (a cell's first word: `5 (notice)` is 5; hex addresses compare
/// as text of equal length), empty last.
pub fn compare_cells(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let first = |c: &str| c.split(' ').next().unwrap_or(c).parse::<f64>();
    match (first(a), first(b)) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => {
            if a.starts_with("0x") && b.starts_with("0x") && a.len() != b.len() {
                a.len().cmp(&b.len())
            } else {
                a.cmp(b)
            }
        }
    }
}

/// One term of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    /// A plain word: a whole number matches a cell's number exactly (`4444` is not `44447`, nor part of a
    /// time); other words match as case-insensitive text anywhere in a shown column.
    Word(String),
    /// `key:value`: the value in a column named `key`, or ending in `_key` or `.key` (`port:` is
    /// `local_port` or `remote_port`), among all the row's keys, shown or not; numbers exactly, text as
    /// case-insensitive text; a namespace by its inode or an owner's whole name (`netns:host`).
    Keyed(String, String),
}

/// A filter as typed: terms separated by spaces, all of which must hold; a term starting with `-` or `!`
/// must not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    terms: Vec<(bool, Term)>,
}

impl Filter {
    /// Read what the user typed.
    pub fn parse(text: &str) -> Filter {
        let terms = text
            .split_whitespace()
            .filter_map(|word| {
                let (negated, word) = match word.strip_prefix(['-', '!']) {
                    Some(rest) => (true, rest),
                    None => (false, word),
                };
                if word.is_empty() {
                    return None;
                }
                let term = match word.split_once(':') {
                    Some((k, v)) if is_key(k) && !v.is_empty() => Term::Keyed(k.to_lowercase(), v.to_lowercase()),
                    _ => Term::Word(word.to_lowercase()),
                };
                Some((negated, term))
            })
            .collect();
        Filter { terms }
    }

    /// Whether it has no term.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether a row passes: `shown` are its cells for the shown columns, `keys` all its keys.
    pub fn matches(&self, shown: &[String], keys: &[(String, String)]) -> bool {
        self.terms.iter().all(|(negated, term)| {
            let hit = match term {
                Term::Word(w) => shown.iter().any(|c| value_matches(c, w)),
                Term::Keyed(k, v) => keys.iter().any(|(key, c)| {
                    key_matches(key, k)
                        && if crate::labels::is_namespace_key(key) {
                            namespace_matches(c, v)
                        } else {
                            value_matches(c, v)
                        }
                }),
            };
            hit != *negated
        })
    }
}

/// A key name as the rows have them: a letter, then letters, digits, `_` and `.` (`local_port`, `ns.net`).
fn is_key(k: &str) -> bool {
    k.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

fn key_matches(key: &str, wanted: &str) -> bool {
    let key = key.to_lowercase();
    key == wanted
        || key
            .strip_suffix(wanted)
            .is_some_and(|head| head.ends_with('_') || head.ends_with('.'))
}

/// A whole number matches a whole number of the cell (the cell itself, or one item of a list); other
/// text matches case-insensitively anywhere in it.
fn value_matches(cell: &str, wanted: &str) -> bool {
    if !wanted.is_empty() && wanted.bytes().all(|b| b.is_ascii_digit()) {
        return cell.split(' ').any(|item| item == wanted);
    }
    cell.to_lowercase().contains(wanted)
}

/// A namespace's value (`4026531840 (host)`, its inode and who holds it) matches its inode or one of its
/// owners whole: `netns:host` is not the container `hostnet`'s.
fn namespace_matches(cell: &str, wanted: &str) -> bool {
    cell.split([' ', ',', '(', ')'])
        .any(|item| !item.is_empty() && item.eq_ignore_ascii_case(wanted))
}

/// The filter that shows the rows a finding's evidence names: `key:value` for each of its keys (a value
/// with a space cannot be written as a term and is left out).
pub fn filter_for(keys: &serde_json::Map<String, Value>) -> String {
    keys.iter()
        .filter_map(|(k, v)| {
            let value = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            (!value.is_empty() && !value.contains(char::is_whitespace)).then(|| format!("{k}:{value}"))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The row indices to show: those that pass `filter` (their cells for the shown columns, and all their
/// keys in `keys`), sorted by `sort` (column, ascending), else in the analysis's order.
pub fn view(
    cells: &[Vec<String>],
    keys: &[Vec<(String, String)>],
    filter: &Filter,
    sort: Option<(usize, bool)>,
) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..cells.len())
        .filter(|&i| filter.is_empty() || filter.matches(&cells[i], keys.get(i).map_or(&[][..], Vec::as_slice)))
        .collect();
    if let Some((col, asc)) = sort {
        idx.sort_by(|&a, &b| {
            let o = compare_cells(
                cells[a].get(col).map_or("", String::as_str),
                cells[b].get(col).map_or("", String::as_str),
            );
            if asc {
                o
            } else {
                o.reverse()
            }
        });
    }
    idx
}

/// For a tree in depth-first order (`depths[i]`): drop the descendants of every collapsed row.
pub fn collapse(order: &[usize], depths: &[u64], collapsed: &HashSet<usize>) -> Vec<usize> {
    let mut out = Vec::with_capacity(order.len());
    let mut hide_below: Option<u64> = None;
    for &i in order {
        let d = depths[i];
        if let Some(limit) = hide_below {
            if d > limit {
                continue;
            }
            hide_below = None;
        }
        out.push(i);
        if collapsed.contains(&i) {
            hide_below = Some(d);
        }
    }
    out
}

/// Whether row `i` (depth-first order) has children: the next row is deeper.
pub fn has_children(depths: &[u64], i: usize) -> bool {
    depths.get(i + 1).is_some_and(|&d| d > depths[i])
}

/// Height of one table row in pixels (style.css: `.grid tbody tr`).
pub const ROW_HEIGHT: f64 = 24.0;
/// Rows drawn beyond the visible ones, above and below.
pub const OVERSCAN: usize = 20;

/// The slice `[first, last)` of `total` rows to draw when the body is scrolled to `scroll_top` and
/// shows `height` pixels.
pub fn window(total: usize, scroll_top: f64, height: f64) -> (usize, usize) {
    let first = ((scroll_top / ROW_HEIGHT).floor().max(0.0) as usize).saturating_sub(OVERSCAN);
    let shown = (height / ROW_HEIGHT).ceil() as usize + 2 * OVERSCAN;
    let first = first.min(total);
    (first, (first + shown).min(total))
}

/// The analysis an exported table belongs to: by its file name as the app and the CLI's users save it
/// (`pslist.json`, `pslist (1).json`, `host-pslist.json`), else by its keys: of the analyses all of whose
/// columns the first row has, a tree (rows with a `depth`: `pstree` rows are `pslist` rows with a depth),
/// then the one with most columns.
pub fn analysis_of(file_name: &str, first_row: Option<&Value>) -> Option<&'static Leaf> {
    let stem = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name).to_lowercase();
    let stem = stem.strip_suffix(".json").unwrap_or(&stem);
    let words: Vec<&str> = stem.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    // A view's id joins words with `-` (`docker-ps`): it is looked for whole.
    let named = |l: &&Leaf| words.contains(&l.id.as_str()) || (l.id.contains('-') && stem.contains(l.id.as_str()));
    if let Some(leaf) = leaves().iter().find(named) {
        return Some(leaf);
    }
    let keys: HashSet<String> = export::flatten(first_row?).into_iter().map(|(k, _)| k).collect();
    leaves()
        .iter()
        .filter(|l| l.spec.columns.iter().all(|c| keys.contains(*c)))
        .max_by_key(|l| (l.spec.tree.is_some(), l.spec.columns.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_filters_parse_and_name_known_tabs_only() {
        for analysis in ["netstat", "ifconfig", "pslist", "queues", "skbuff", "routes"] {
            let quick = quick_filters(analysis);
            assert!(!quick.is_empty(), "{analysis}");
            for (_, f) in quick {
                assert!(!Filter::parse(f).is_empty(), "{analysis}: {f}");
            }
        }
        assert!(quick_filters("dmesg").is_empty());
    }
    use serde_json::json;

    #[test]
    fn cells_flatten_and_join_lists() {
        let row =
            json!({"pid": 7, "ns": {"net": 4026531840u64}, "cap_eff_names": ["CAP_CHOWN", "CAP_KILL"], "x": null});
        assert_eq!(
            cells(&row, &["pid", "ns.net", "cap_eff_names", "x", "missing"]),
            vec!["7", "4026531840", "CAP_CHOWN CAP_KILL", "", ""]
        );
    }

    #[test]
    fn sorting_is_numeric_aware_and_filter_is_case_insensitive() {
        let rows: Vec<Vec<String>> = [["10", "b"], ["9", "A"], ["100", "c"], ["", "ab"]]
            .iter()
            .map(|r| r.iter().map(|s| s.to_string()).collect())
            .collect();
        let none = Filter::default();
        assert_eq!(view(&rows, &[], &none, Some((0, true))), vec![1, 0, 2, 3]);
        assert_eq!(view(&rows, &[], &none, Some((0, false))), vec![3, 2, 0, 1]);
        assert_eq!(view(&rows, &[], &Filter::parse("a"), None), vec![1, 3]);
        assert_eq!(compare_cells("0xff", "0x100"), Ordering::Less);
    }

    #[test]
    fn filters_understand_numbers_keys_negation_and_several_terms() {
        let rows = [
            json!({"proto": "tcp", "local_port": 4444, "remote_port": 0, "state": "LISTEN", "pid": 982, "uid": 0}),
            json!({"proto": "tcp", "local_port": 44447, "remote_port": 22, "state": "ESTAB", "pid": 1145, "uid": 1000}),
            json!({"proto": "udp", "local_port": 5353, "remote_port": null, "state": "UNCONN", "pid": 1136, "uid": 0,
                   "start_time": "2026-11-21T21:05:03.982123Z"}),
        ];
        let shown = ["proto", "local_port", "remote_port", "state", "pid", "start_time"];
        let cells: Vec<Vec<String>> = rows.iter().map(|r| cells(r, &shown)).collect();
        let keys: Vec<Vec<(String, String)>> = rows.iter().map(export::flatten).collect();
        let find = |f: &str| view(&cells, &keys, &Filter::parse(f), None);
        // A number is a whole number: 4444 is not 44447, 982 is not part of a time.
        assert_eq!(find("4444"), vec![0]);
        assert_eq!(find("982"), vec![0]);
        // Terms are ANDed; text is case-insensitive.
        assert_eq!(find("tcp ESTAB"), vec![1]);
        assert_eq!(find("TCP estab 22"), vec![1]);
        // key:value on any key ending so, shown or not; negation with - or !.
        assert_eq!(find("port:4444"), vec![0]);
        assert_eq!(find("port:22"), vec![1]);
        assert_eq!(find("proto:tcp -state:LISTEN"), vec![1]);
        assert_eq!(find("!tcp"), vec![2]);
        assert_eq!(find("uid:1000"), vec![1], "uid is not a shown column");
        assert_eq!(find("state:est"), vec![1], "text values match as text");
        // A colon that does not follow a key name is text (an IPv6 address, a time).
        assert_eq!(Filter::parse("::1").terms, vec![(false, Term::Word("::1".into()))]);
        assert_eq!(find("21:05:03"), vec![2]);
        assert!(Filter::parse("  - ! ").is_empty());
        // A namespace by its owner or its inode, whole: host is not the container hostnet.
        let ns = [
            json!({"netns": "4026531840 (host)"}),
            json!({"netns": "4026532301 (hostnet, web)"}),
        ];
        let ns_keys: Vec<Vec<(String, String)>> = ns.iter().map(export::flatten).collect();
        let ns_cells = vec![Vec::new(); 2];
        let find_ns = |f: &str| view(&ns_cells, &ns_keys, &Filter::parse(f), None);
        assert_eq!(find_ns("netns:host"), vec![0]);
        assert_eq!(find_ns("netns:hostnet"), vec![1]);
        assert_eq!(find_ns("netns:web"), vec![1]);
        assert_eq!(find_ns("netns:4026532301"), vec![1]);
        assert_eq!(find_ns("-netns:host"), vec![1]);
    }

    #[test]
    fn a_findings_evidence_becomes_the_filter_of_its_rows() {
        let keys = json!({"pid": 982, "container_id": "acaf08", "path": "/a b", "flag": true});
        let filter = filter_for(keys.as_object().unwrap());
        assert_eq!(
            filter, "pid:982 container_id:acaf08 flag:true",
            "in the evidence's order"
        );
        let rows = [
            json!({"pid": 982, "container_id": "acaf08", "flag": true}),
            json!({"pid": 9820, "container_id": "acaf08"}),
        ];
        let keys: Vec<Vec<(String, String)>> = rows.iter().map(export::flatten).collect();
        assert_eq!(
            view(&[Vec::new(), Vec::new()], &keys, &Filter::parse(&filter), None),
            vec![0]
        );
    }

    #[test]
    fn collapsing_hides_descendants_only() {
        // 0 ─ 1 ─ 2
        //   └ 3
        // 4
        let depths = [0, 1, 2, 1, 0];
        let order: Vec<usize> = (0..5).collect();
        let mut c = HashSet::new();
        c.insert(1);
        assert_eq!(collapse(&order, &depths, &c), vec![0, 1, 3, 4]);
        c.insert(0);
        assert_eq!(collapse(&order, &depths, &c), vec![0, 4]);
        assert!(has_children(&depths, 0) && !has_children(&depths, 2));
    }

    #[test]
    fn exported_tables_are_recognised_by_name_then_by_keys() {
        let name = |file: &str, row: Option<&Value>| analysis_of(file, row).map(|l| l.id.as_str());
        assert_eq!(name("pslist.json", None), Some("pslist"));
        assert_eq!(name("Downloads/pstree (1).json", None), Some("pstree"));
        assert_eq!(name("host7-netstat.json", None), Some("netstat"));
        let process = json!({"task_addr": "0xffff8b6601212100", "pid": 1, "tid": 1, "ppid": 0, "comm": "systemd", "name": "systemd", "start_time": null,
            "kernel_thread": false, "uid": 0, "euid": 0, "pid_in_ns": 1,
            "ns": {"net": 1, "pid": 2, "mnt": 3}, "cap_eff_names": []});
        assert_eq!(name("rows.json", Some(&process)), Some("pslist"));
        let mut tree = process.clone();
        tree["depth"] = json!(0);
        assert_eq!(name("rows.json", Some(&tree)), Some("pstree"));
        assert_eq!(name("rows.json", Some(&json!({"x": 1}))), None);
        assert_eq!(name("rows.json", None), None);
    }

    #[test]
    fn window_is_bounded() {
        assert_eq!(window(0, 0.0, 500.0), (0, 0));
        assert_eq!(window(10, 0.0, 500.0), (0, 10));
        let (a, b) = window(40_000, 24_000.0, 480.0);
        assert_eq!(a, 1000 - OVERSCAN);
        assert_eq!(b, a + 20 + 2 * OVERSCAN);
    }
}
