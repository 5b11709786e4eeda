//! Symbols derived from each corpus capture alone (its kernel's BTF and kallsyms in memory, no ISF read)
//! identify the same kernel as the capture's ISF (release, both KASLR shifts, page-table root, init_task)
//! and every analysis gives the same rows with them; the table written back as a Volatility 3 ISF and read
//! again gives the same rows too.

use std::rc::Rc;

use memscope_core::analyses::info::info;
use memscope_core::analyses::registry::{self, Body, Options};
use memscope_core::kernel::{identify, Kernel};
use memscope_core::session::{self, NoDerivedStore, Symbols, CAPTURE_SYMBOLS_NAME};
use memscope_core::symbols::SymbolTable;
use memscope_tests::{checks, corpus};

/// Analyses compared: every one that gives rows without options (the docker views by name).
const ANALYSES: &[&str] = &[
    "pslist", "psaux", "envars", "lsof", "netstat", "ifconfig", "arp", "routes", "dmesg", "lsmod", "mounts", "files",
    "queues", "skbuff", "findings",
];

/// Each analysis's rows, as sorted JSON texts (an analysis that fails gives its error).
fn rows(kernel: &Kernel) -> Vec<(String, Result<Vec<String>, String>)> {
    let mut out = Vec::new();
    let mut specs: Vec<&registry::Spec> = ANALYSES
        .iter()
        .map(|n| registry::find(n).unwrap_or_else(|| panic!("no analysis {n}")))
        .collect();
    specs.extend(
        registry::leaves()
            .iter()
            .filter(|l| l.id.starts_with("docker"))
            .map(|l| l.spec),
    );
    for spec in specs {
        if !matches!(spec.body, Body::Rows(_)) {
            continue;
        }
        let got = spec
            .run(kernel, &Options::new())
            .map(|o| {
                let mut r: Vec<String> = o.rows.iter().map(|r| r.to_string()).collect();
                r.sort();
                r
            })
            .map_err(|e| e.to_string());
        out.push((spec.name.to_string(), got));
    }
    out
}

#[test]
fn symbols_from_the_capture_give_the_isfs_rows() {
    let mut compared = 0;
    let mut diffs = Vec::new();
    for c in corpus::corpus_captures() {
        let derived = session::open(
            corpus::FileReader::open(&c.lime_path),
            Default::default(),
            Symbols::Capture(&mut NoDerivedStore),
            &mut |_| {},
        )
        .unwrap_or_else(|e| panic!("{}: not identified with symbols from the capture: {e}", c.name));
        assert_eq!(derived.symbols_name, CAPTURE_SYMBOLS_NAME);
        assert!(
            derived.warnings.is_empty(),
            "{}: warnings {:?}",
            c.name,
            derived.warnings
        );
        let by_isf = corpus::kernel(&c);
        let (a, b) = (
            info(&derived.capture, &derived.kernel, None),
            info(&derived.capture, &by_isf, None),
        );
        let keys = |i: &memscope_core::analyses::info::Info| {
            let v = serde_json::to_value(i).expect("info as JSON");
            memscope_tests::KERNEL_PLACE_KEYS.map(|k| (k, v[k].clone()))
        };
        for ((k, got), (_, want)) in keys(&a).iter().zip(keys(&b).iter()) {
            compared += 1;
            if got != want {
                diffs.push(format!(
                    "{}: info {k} {got} with the capture's symbols, {want} with the ISF",
                    c.name
                ));
            }
        }
        let want = rows(&by_isf);
        // The derived table as an ISF, read back as one.
        let isf = derived
            .kernel
            .symbols()
            .to_isf(serde_json::Value::Null)
            .expect("the table as an ISF");
        let isf = SymbolTable::from_isf(&serde_json::to_vec(&isf).expect("ISF JSON")).expect("our ISF reads back");
        let reread = identify(derived.capture.clone(), Rc::new(isf)).expect("identified with the exported ISF");
        for (how, kernel) in [
            ("the capture's symbols", &derived.kernel),
            ("their exported ISF", &reread),
        ] {
            for ((name, got), (_, want)) in rows(kernel).iter().zip(want.iter()) {
                compared += 1;
                match (got, want) {
                    (Ok(g), Ok(w)) if g == w => {}
                    (Ok(g), Ok(w)) => {
                        let extra: Vec<&String> = g.iter().filter(|r| !w.contains(r)).take(2).collect();
                        diffs.push(format!(
                            "{} {name} with {how}: {} rows, {} with the ISF; e.g. {extra:?}",
                            c.name,
                            g.len(),
                            w.len()
                        ));
                    }
                    (g, w) => diffs.push(format!("{} {name} with {how}: {g:?}, with the ISF {w:?}", c.name)),
                }
            }
        }
    }
    checks::ran("capture_symbols", compared);
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
}
