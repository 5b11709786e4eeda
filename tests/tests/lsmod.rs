//! `lsmod` on every corpus capture against `truth/proc-modules.txt` (`cat /proc/modules` just before the
//! dump): every module with its size, load address, reference count, users (as a set), state and taint
//! letters, in the same order, no module missing or extra, and no warning on these undamaged captures.
//!
//! Then damaged copies of each capture (the module list given a cycle, a module's user list pointed at
//! nothing, a module's `struct module` zeroed): rows and a warning each time, never a panic or a hang.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use memscope_core::analyses::lsmod::{lsmod, ModuleRow};
use memscope_core::formats::Capture;
use memscope_core::kernel::modules::{kernel_taint_table, TAINT_FLAGS};
use memscope_core::kernel::{identify, Kernel};
use memscope_core::paging::AddressSpace;
use memscope_tests::corpus::{self, load_symbols, CorpusCapture};
use memscope_tests::truth;

#[test]
fn modules_match_proc_modules() {
    let captures = corpus::corpus_captures();
    let mut diffs = Vec::new();
    let mut checks = 0usize;
    for capture in &captures {
        let name = &capture.name;
        let kernel = corpus::kernel(capture);
        let found = lsmod(&kernel).unwrap_or_else(|e| panic!("{name}: lsmod failed: {e}"));
        let file = "truth/proc-modules.txt";
        let want = truth::proc_modules(&capture.truth_dir);
        let rows: BTreeMap<&str, &ModuleRow> = found.rows.iter().map(|r| (r.name.as_str(), r)).collect();
        if rows.len() != found.rows.len() {
            diffs.push(format!("{name}: a module name repeats among {} rows", found.rows.len()));
        }
        let mut matched = 0usize;
        for t in &want {
            checks += 1;
            let Some(r) = rows.get(t.name.as_str()) else {
                diffs.push(format!("{name}: module {} missing; {file} lists it", t.name));
                continue;
            };
            let mut differs = Vec::new();
            if r.size != t.size {
                differs.push(format!("size {}, {file} says {}", r.size, t.size));
            }
            if r.address != t.address {
                differs.push(format!("address {:#x}, {file} says {:#x}", r.address, t.address));
            }
            if r.refcount != t.refcount {
                differs.push(format!("refcount {:?}, {file} says {:?}", r.refcount, t.refcount));
            }
            let (got_users, want_users): (BTreeSet<&str>, BTreeSet<&str>) = (
                r.used_by.iter().map(String::as_str).collect(),
                t.used_by.iter().map(String::as_str).collect(),
            );
            if got_users != want_users || r.used_by.len() != t.used_by.len() {
                differs.push(format!("used by {:?}, {file} says {:?}", r.used_by, t.used_by));
            }
            if r.state != t.state {
                differs.push(format!("state {}, {file} says {}", r.state, t.state));
            }
            if r.taints != t.taints {
                differs.push(format!("taints {:?}, {file} says {:?}", r.taints, t.taints));
            }
            if differs.is_empty() {
                matched += 1;
            } else {
                diffs.push(format!("{name}: module {}: {}", t.name, differs.join("; ")));
            }
        }
        let listed: BTreeSet<&str> = want.iter().map(|t| t.name.as_str()).collect();
        for r in &found.rows {
            if !listed.contains(r.name.as_str()) {
                diffs.push(format!(
                    "{name}: module {} ({} at {:#x}, {}) is not in {file}",
                    r.name, r.size, r.address, r.state
                ));
            }
        }
        let got_order: Vec<&str> = found
            .rows
            .iter()
            .map(|r| r.name.as_str())
            .filter(|n| listed.contains(n))
            .collect();
        let want_order: Vec<&str> = want
            .iter()
            .map(|t| t.name.as_str())
            .filter(|n| rows.contains_key(n))
            .collect();
        if got_order != want_order {
            diffs.push(format!(
                "{name}: modules in the order {got_order:?}, {file} has {want_order:?}"
            ));
        }
        if !found.warnings.is_empty() {
            diffs.push(format!(
                "{name}: lsmod warnings on an undamaged capture: {:?}",
                found.warnings
            ));
        }
        eprintln!(
            "{name}: {matched}/{} modules of {file} match ({} rows)",
            want.len(),
            found.rows.len()
        );
    }
    eprintln!("lsmod: {checks} corpus checks on {} captures", captures.len());
    memscope_tests::checks::ran("lsmod", checks);
    assert!(checks > 100, "only {checks} modules compared");
    assert!(diffs.is_empty(), "{} difference(s):\n{}", diffs.len(), diffs.join("\n"));
}

/// The taint letters come from each kernel's own `taint_flags` table; the table built into lsmod for a
/// kernel whose table cannot be read must agree with it, entry for entry (the corpus kernels have 19).
#[test]
fn kernel_taint_tables_match_the_built_in_one() {
    let captures = corpus::corpus_captures();
    for capture in &captures {
        let kernel = corpus::kernel(capture);
        let table = kernel_taint_table(&kernel)
            .unwrap_or_else(|e| panic!("{}: taint_flags: {e}", capture.name))
            .unwrap_or_else(|| panic!("{}: the ISF gives taint_flags no array type", capture.name));
        assert!(
            table.len() >= 19,
            "{}: taint_flags has {} entries",
            capture.name,
            table.len()
        );
        assert_eq!(
            table[..],
            TAINT_FLAGS[..table.len()],
            "{}: the kernel's taint_flags differ from lsmod's built-in table",
            capture.name
        );
    }
    eprintln!("lsmod taint tables: {} corpus checks", captures.len());
    memscope_tests::checks::ran("lsmod taint tables", captures.len());
}

/// Writes to kernel virtual addresses of a capture, as file offsets (through the kernel's page tables).
struct Damage<'k> {
    space: AddressSpace,
    capture: &'k Capture,
    patches: Vec<(u64, Vec<u8>)>,
}

impl Damage<'_> {
    fn put(&mut self, vaddr: u64, bytes: &[u8]) {
        let mut done = 0usize;
        while done < bytes.len() {
            let at = vaddr + done as u64;
            let take = (0x1000 - (at & 0xfff) as usize).min(bytes.len() - done);
            let phys = self
                .space
                .translate(at)
                .unwrap_or_else(|e| panic!("{at:#x} does not translate: {e}"))
                .paddr;
            let seg = self
                .capture
                .segments()
                .iter()
                .find(|s| s.phys_start <= phys && phys < s.phys_end())
                .unwrap_or_else(|| panic!("{at:#x} (physical {phys:#x}) is not in the capture"));
            self.patches.push((
                seg.data_offset + (phys - seg.phys_start),
                bytes[done..done + take].to_vec(),
            ));
            done += take;
        }
    }
}

fn damaged_kernel(capture: &CorpusCapture, patches: Vec<(u64, Vec<u8>)>) -> Kernel {
    corpus::patched_kernel(capture, load_symbols(capture), patches)
}

#[test]
fn damaged_module_lists_give_rows_and_warnings() {
    let captures = corpus::corpus_captures();
    let mut checks = 0usize;
    for capture in &captures {
        let name = &capture.name;
        let cap = Rc::new(corpus::open_capture(&capture.lime_path));
        let kernel = identify(cap.clone(), load_symbols(capture)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let good = lsmod(&kernel).unwrap_or_else(|e| panic!("{name}: {e}")).rows;
        assert!(good.len() >= 8, "{name}: needs eight modules, has {}", good.len());
        let off = |ty: &str, member: &str| {
            kernel
                .member_offset(ty, member)
                .unwrap_or_else(|e| panic!("{ty}.{member}: {e}"))
        };
        let (list, source_list) = (off("module", "list"), off("module", "source_list"));
        let p = kernel.placement();
        let new = || Damage {
            space: AddressSpace::new(cap.clone(), p.scheme, p.page_table_root),
            capture: &cap,
            patches: Vec::new(),
        };
        let unique =
            |rows: &[ModuleRow]| rows.iter().map(|r| r.module_addr).collect::<BTreeSet<_>>().len() == rows.len();

        // A: the fifth module's list link leads back to the second module: a cycle.
        let mut d = new();
        d.put(good[4].module_addr + list, &(good[1].module_addr + list).to_le_bytes());
        let a = lsmod(&damaged_kernel(capture, d.patches)).unwrap_or_else(|e| panic!("{name}: cycle: {e}"));
        assert!(
            a.warnings
                .iter()
                .any(|w| w.contains("cycle") || w.contains("point back")),
            "{name}: cycle: warnings {:?}",
            a.warnings
        );
        assert!(
            unique(&a.rows) && a.rows.len() <= good.len(),
            "{name}: cycle: {} rows",
            a.rows.len()
        );
        checks += 1;

        // B: a used module's source_list leads to an address outside the capture.
        let used = good
            .iter()
            .find(|r| r.used_by.iter().any(|u| u != "[permanent]"))
            .unwrap_or_else(|| panic!("{name}: no module has a user"));
        let mut d = new();
        d.put(used.module_addr + source_list, &0xffff_ffff_dead_0000u64.to_le_bytes());
        let b = lsmod(&damaged_kernel(capture, d.patches)).unwrap_or_else(|e| panic!("{name}: users: {e}"));
        assert!(
            b.warnings.iter().any(|w| w.contains(&used.name) && w.contains("users")),
            "{name}: users: warnings {:?}",
            b.warnings
        );
        assert_eq!(b.rows.len(), good.len(), "{name}: users: every module is still listed");
        checks += 1;

        // C: the third module's struct module zeroed: the list breaks there and is walked back from the head.
        let size = kernel.symbols().layout("module").expect("struct module").size() as usize;
        let mut d = new();
        d.put(good[2].module_addr, &vec![0u8; size]);
        let c = lsmod(&damaged_kernel(capture, d.patches)).unwrap_or_else(|e| panic!("{name}: zeroed: {e}"));
        assert!(!c.warnings.is_empty(), "{name}: zeroed: no warning");
        assert!(
            unique(&c.rows) && c.rows.len() < good.len() && c.rows.len() + 2 >= good.len(),
            "{name}: zeroed: {} rows of {}",
            c.rows.len(),
            good.len()
        );
        assert!(
            !c.rows.iter().any(|r| r.module_addr == good[2].module_addr),
            "{name}: zeroed module listed"
        );
        checks += 1;
        eprintln!(
            "{name}: damaged: cycle {} rows, bad user list {} rows, zeroed module {} rows (of {})",
            a.rows.len(),
            b.rows.len(),
            c.rows.len(),
            good.len()
        );
    }
    eprintln!("lsmod damaged: {checks} corpus checks on {} captures", captures.len());
    memscope_tests::checks::ran("lsmod damaged", checks);
}
