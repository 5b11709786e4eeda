//! kallsyms decoded by shape from each corpus capture's physical memory, with no symbols file, against the
//! kernel's real System.map (`symbols/System.map-<release>.xz`): every image symbol kallsyms names sits at
//! the System.map address less `_text`'s, with the same type letter; every per-CPU symbol at its absolute
//! value; each table where System.map puts its `kallsyms_*` label; and `_text`'s run-time address is the
//! one memscope's identification (with the ISF) finds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use memscope_core::formats::Capture;
use memscope_core::symbols::kallsyms::{self, Address, Kallsyms, KallsymsTables};
use memscope_tests::corpus::CorpusCapture;
use memscope_tests::truth::{self, MapSymbol};
use memscope_tests::{checks, corpus};

/// Bytes read before and after a candidate, as the caller in product code does.
const BEFORE: u64 = 24 << 20;
const AFTER: u64 = 8 << 20;
/// The scan's chunk, and the overlap that keeps a pattern across two chunks.
const CHUNK: u64 = 4 << 20;
const OVERLAP: u64 = 19;

/// A table decoded from a capture: the physical address of the window it was decoded from.
struct Found {
    window_phys: u64,
    window: Vec<u8>,
    anchor: usize,
    kallsyms: Kallsyms,
}

/// Scan the capture's physical memory for token-table candidates and decode each; returns the tables
/// that decoded and how many candidates there were.
fn scan(cap: &Capture) -> (Vec<Found>, usize) {
    let mut candidates = Vec::new();
    let mut buf = vec![0u8; (CHUNK + OVERLAP) as usize];
    for seg in cap.segments() {
        let mut at = seg.phys_start;
        while at < seg.phys_end() {
            let len = (seg.phys_end() - at).min(CHUNK + OVERLAP) as usize;
            cap.read_phys(at, &mut buf[..len])
                .unwrap_or_else(|e| panic!("reading {at:#x}: {e}"));
            candidates.extend(
                kallsyms::token_table_candidates(&buf[..len])
                    .into_iter()
                    .map(|o| at + o as u64),
            );
            at += CHUNK;
        }
    }
    candidates.sort_unstable();
    candidates.dedup();
    let mut found = Vec::new();
    for &c in &candidates {
        let seg = cap
            .segments()
            .iter()
            .find(|s| s.phys_start <= c && c < s.phys_end())
            .expect("a candidate is in a segment");
        let start = c.saturating_sub(BEFORE).max(seg.phys_start);
        let end = (c + AFTER).min(seg.phys_end());
        let mut window = vec![0u8; (end - start) as usize];
        cap.read_phys(start, &mut window)
            .unwrap_or_else(|e| panic!("reading the window at {start:#x}: {e}"));
        let anchor = (c - start) as usize;
        if let Ok(k) = kallsyms::decode(&window, anchor) {
            found.push(Found {
                window_phys: start,
                window,
                anchor,
                kallsyms: k,
            });
        }
    }
    (found, candidates.len())
}

/// The differences between a decoded table and System.map; returns (symbols compared, differences).
fn compare(what: &str, k: &Kallsyms, map: &[MapSymbol]) -> (usize, Vec<String>) {
    let mut diffs = Vec::new();
    let text = map
        .iter()
        .find(|s| s.name == "_text")
        .unwrap_or_else(|| panic!("{what}: System.map has no _text"))
        .address;
    let label = |name: &str| map.iter().find(|s| s.name == name).map(|s| s.address);
    let (percpu_start, percpu_end) = (
        label("__per_cpu_start").unwrap_or(u64::MAX),
        label("__per_cpu_end").unwrap_or(0),
    );
    // name -> (address relative to _text or absolute, type letter) of every System.map symbol.
    let mut by_name: HashMap<&str, Vec<(Address, u8)>> = HashMap::new();
    for s in map {
        let address = if s.address >= text {
            Address::Image((s.address - text) as i64)
        } else {
            Address::Absolute(s.address)
        };
        by_name.entry(&s.name).or_default().push((address, s.kind));
    }
    let mut compared = 0;
    let mut missing = 0;
    for s in &k.symbols {
        let Some(want) = by_name.get(s.name.as_str()) else {
            missing += 1;
            continue;
        };
        compared += 1;
        // scripts/kallsyms.c types the per-CPU symbols it makes absolute `A` (make_percpus_absolute).
        let in_percpu = |a: Address| matches!(a, Address::Absolute(v) if (percpu_start..=percpu_end).contains(&v));
        let matches = want
            .iter()
            .any(|&(a, kind)| a == s.address && (kind == s.kind || (s.kind == b'A' && in_percpu(a))));
        if !matches {
            diffs.push(format!(
                "{what}: {} {} at {:?}, System.map has {:?}",
                s.kind as char, s.name, s.address, want
            ));
        }
    }
    // kallsyms leaves out only what scripts/kallsyms.c ignores; System.map names all of it.
    if missing > 0 {
        diffs.push(format!("{what}: {missing} kallsyms names are not in System.map"));
    }
    let image_in_map = map.iter().filter(|s| s.address >= text).count();
    let image_in_kallsyms = k
        .symbols
        .iter()
        .filter(|s| matches!(s.address, Address::Image(_)))
        .count();
    println!(
        "{what}: {} kallsyms symbols ({image_in_kallsyms} in the image; System.map has {image_in_map} there), \
         {compared} compared with System.map",
        k.symbols.len()
    );
    // Only the kallsyms tables themselves and a few linker symbols are missing from kallsyms.
    if image_in_kallsyms > image_in_map || image_in_kallsyms + image_in_map / 100 < image_in_map {
        diffs.push(format!(
            "{what}: {image_in_kallsyms} image symbols in kallsyms, {image_in_map} in System.map"
        ));
    }
    (compared, diffs)
}

/// Each table found where System.map puts its label, counted from `kallsyms_num_syms`.
fn compare_tables(what: &str, t: &KallsymsTables, map: &[MapSymbol]) -> (usize, Vec<String>) {
    let label = |name: &str| map.iter().find(|s| s.name == name).map(|s| s.address);
    // System.map lists the tables' labels since 6.1 or so (older mksysmap left them out).
    let Some(num_syms) = label("kallsyms_num_syms") else {
        println!("{what}: System.map has no kallsyms labels: the tables' places are not compared");
        return (0, Vec::new());
    };
    let addresses = if label("kallsyms_offsets").is_some() {
        "kallsyms_offsets"
    } else {
        "kallsyms_addresses"
    };
    let tables = [
        ("kallsyms_names", Some(t.names.start)),
        ("kallsyms_markers", Some(t.markers.start)),
        ("kallsyms_seqs_of_names", t.seqs_of_names.as_ref().map(|r| r.start)),
        ("kallsyms_token_table", Some(t.token_table.start)),
        ("kallsyms_token_index", Some(t.token_index.start)),
        (addresses, Some(t.addresses.start)),
        ("kallsyms_relative_base", t.relative_base.as_ref().map(|r| r.start)),
    ];
    let mut diffs = Vec::new();
    let mut checked = 0;
    for (name, found) in tables {
        let want = label(name).map(|a| a as i64 - num_syms as i64);
        let got = found.map(|o| o as i64 - t.num_syms.start as i64);
        checked += 1;
        if want != got {
            diffs.push(format!(
                "{what}: {name} at num_syms{got:+?}, System.map says num_syms{want:+?}"
            ));
        }
    }
    (checked, diffs)
}

/// The real tables with a page zeroed in the middle of the names or of the addresses, or cut in the middle
/// of the token table, are rejected with an error; returns (checks, differences).
fn damaged(what: &str, found: &Found) -> (usize, Vec<String>) {
    let t = &found.kallsyms.tables;
    let middle = |r: &std::ops::Range<usize>| ((r.start + r.end) / 2) & !0xfff;
    let mut cases = Vec::new();
    for (name, table) in [("names", &t.names), ("addresses", &t.addresses)] {
        let mut w = found.window.clone();
        let page = middle(table);
        w[page..page + 4096].fill(0);
        cases.push((format!("a page of the {name} zeroed"), w));
    }
    let cut = (t.token_table.start + t.token_table.end) / 2;
    cases.push(("cut in the token table".to_string(), found.window[..cut].to_vec()));
    let mut diffs = Vec::new();
    for (case, w) in &cases {
        if let Ok(k) = kallsyms::decode(w, found.anchor) {
            diffs.push(format!("{what}: {case}: decoded {} symbols", k.symbols.len()));
        }
    }
    (cases.len(), diffs)
}

/// Decode the kallsyms of one capture and compare it with its System.map (and `_text`'s run-time address
/// with identification's); returns (checks, differences).
fn check(capture: &CorpusCapture, map_path: &Path) -> (usize, Vec<String>) {
    let what = capture.name.as_str();
    let map = truth::system_map(map_path);
    let cap = corpus::open_capture(&capture.lime_path);
    let (found, candidates) = scan(&cap);
    println!("{what}: {candidates} token-table candidates, {} decoded", found.len());
    let Some(first) = found.first() else {
        return (
            1,
            vec![format!("{what}: no kallsyms table among {candidates} candidates")],
        );
    };
    let mut checks = 0;
    let mut diffs = Vec::new();
    // The kernel image is in memory once.
    if found.len() != 1 {
        diffs.push(format!("{what}: {} tables decoded", found.len()));
    }
    let k = &first.kallsyms;
    println!(
        "{what}: {:?}, {:?}, labels aligned to {}, markers {} bytes, seqs_of_names {}, tables at physical \
         {:#x}..{:#x}",
        k.encoding,
        k.tables.order,
        k.tables.alignment,
        k.tables.marker_width,
        k.tables.seqs_of_names.is_some(),
        first.window_phys + k.tables.span().start as u64,
        first.window_phys + k.tables.span().end as u64,
    );
    let (n, d) = compare(what, k, &map);
    checks += n;
    diffs.extend(d);
    let (n, d) = compare_tables(what, &k.tables, &map);
    checks += n;
    diffs.extend(d);
    let (n, d) = damaged(what, first);
    checks += n;
    diffs.extend(d);
    // _text's run-time address is where identification with the ISF put the kernel.
    let kernel = corpus::kernel(capture);
    let want = kernel.symbol_addr("_text").expect("_text in the ISF");
    if let Some(got) = k.text_runtime {
        checks += 1;
        if got != want {
            diffs.push(format!(
                "{what}: _text at run time {got:#x}, identification says {want:#x}"
            ));
        }
    }
    (checks, diffs)
}

#[test]
fn kallsyms_decoded_by_shape_match_system_map() {
    let mut checks = 0;
    let mut diffs = Vec::new();
    let mut captures: Vec<(CorpusCapture, PathBuf)> = corpus::corpus_captures()
        .into_iter()
        .map(|c| {
            let map = corpus::corpus_dir()
                .join("symbols")
                .join(format!("System.map-{}.xz", c.kernel_release));
            (c, map)
        })
        .collect();
    captures.extend(corpus::harness_captures("kallsyms").into_iter().map(|c| {
        let map = c.lime_path.with_file_name(format!("System.map-{}", c.kernel_release));
        (c, map)
    }));
    for (capture, map) in &captures {
        let (n, d) = check(capture, map);
        checks += n;
        diffs.extend(d);
    }
    println!(
        "kallsyms: {} captures, {checks} checks, {} differences",
        captures.len(),
        diffs.len()
    );
    checks::ran("kallsyms", checks);
    assert!(diffs.is_empty(), "differences from System.map:\n{}", diffs.join("\n"));
}
