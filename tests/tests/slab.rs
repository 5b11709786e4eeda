//! The slab layer (`kernel::slab`) on every cache of every corpus capture, against the kernel's own
//! counters: the pass over the page array finds as many slabs of each cache as its nodes count
//! (`kmem_cache_node.nr_slabs`), and every slab no CPU holds counts in use (`slab.inuse`) exactly the
//! objects its freelist does not hold, under the freelist decoding the cache uses (the corpus kernels harden
//! their freelists). Any problem `free_objects` reports fails. With `MEMSCOPE_XKERNEL` set, the
//! cross-kernel harness's captures (5.10 to 7.x: per-CPU slabs, then sheaves and barns) are checked too.

use memscope_core::kernel::slab;
use memscope_tests::{checks, corpus};

#[test]
fn every_cache_has_its_counted_slabs_and_free_objects_its_counters_allow() {
    let mut total = 0;
    let mut captures = corpus::corpus_captures();
    captures.extend(corpus::harness_captures("slab"));
    for capture in captures {
        let name = &capture.name;
        let kernel = corpus::kernel(&capture);
        let caches = slab::every_cache(&kernel).unwrap_or_else(|e| panic!("{name}: slab caches: {e}"));
        assert!(caches.len() > 50, "{name}: only {} slab caches", caches.len());
        let (slabs, unreadable) = slab::slabs(&kernel, &caches).unwrap_or_else(|e| panic!("{name}: slabs: {e}"));
        assert_eq!(unreadable, 0, "{name}: page descriptors not in the capture");
        let (mut free, mut counted, mut checked, mut in_sheaves) = (0usize, 0usize, 0usize, 0usize);
        for (i, cache) in caches.iter().enumerate() {
            let mine: Vec<&slab::Slab> = slabs.iter().filter(|s| s.cache == i).collect();
            if let Some(want) = slab::counted_slabs(&kernel, cache) {
                total += 1;
                counted += 1;
                assert_eq!(
                    mine.len() as u64,
                    want,
                    "{name}: {}: slabs found against counted",
                    cache.name
                );
            }
            let found = slab::free_objects(&kernel, cache, &mine);
            total += mine.len();
            assert!(
                found.problems.is_empty(),
                "{name}: {}:\n{}",
                cache.name,
                found
                    .problems
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            free += found.objects.len();
            checked += found.checked_slabs;
            in_sheaves += found.in_sheaves;
        }
        eprintln!(
            "{name}: {} caches ({counted} with counted slabs), {} slabs ({checked} counters compared), {free} free \
             objects ({in_sheaves} in sheaves)",
            caches.len(),
            slabs.len()
        );
        assert!(free > 0, "{name}: no free object found");
        assert!(
            checked * 2 > slabs.len(),
            "{name}: counters compared on only {checked} slabs"
        );
        if kernel.symbols().layout("slab_sheaf").is_ok() {
            assert!(in_sheaves > 0, "{name}: a kernel with sheaves, none holding an object");
        }
    }
    checks::ran("slab", total);
}
