//! `routes` on every corpus capture against `ip route` as the live machine printed it: the host's every
//! table (truth/ip-route-table-all.txt) and each container's main tables (truth/netns/<name>/ip-route.txt,
//! ip-6-route.txt). The route cache (next-hop exceptions) is empty on the corpus; it is read for real by
//! giving one real next hop an exception table in otherwise free memory.

use std::collections::BTreeSet;
use std::rc::Rc;

use memscope_core::analyses::routes::{routes, Route};
use memscope_core::kernel::identify;
use memscope_core::reader::ReadAt;
use memscope_tests::corpus::{self, patch_direct_map, FileReader};
use memscope_tests::truth::{self, TruthRoute};

fn as_truth(r: &Route) -> Option<TruthRoute> {
    // `ip route show table all` does not print the cache.
    if r.table == "cache" {
        return None;
    }
    Some(TruthRoute {
        netns: r.netns?,
        family: r.family.to_string(),
        table: r.table.clone(),
        route_type: r.route_type.clone(),
        destination: r.destination.clone(),
        gateway: r.gateway.clone(),
        device: r.device.clone(),
        metric: r.metric?,
        protocol: r.protocol.clone()?,
    })
}

#[test]
fn routes_match_ip_route_in_every_namespace() {
    let mut diffs = Vec::new();
    let mut checked = 0;
    for capture in corpus::corpus_captures() {
        let kernel = corpus::kernel(&capture);
        let found = routes(&kernel).expect("routes");
        let got: BTreeSet<TruthRoute> = found.rows.iter().filter_map(as_truth).collect();
        let want = truth::routes(&capture.truth_dir);
        // Namespaces whose truth lists every table; elsewhere only `main` was printed.
        let complete: BTreeSet<u64> = want.iter().filter(|(_, all)| *all).map(|(r, _)| r.netns).collect();
        let want: BTreeSet<TruthRoute> = want.into_iter().map(|(r, _)| r).collect();
        for r in want.difference(&got) {
            diffs.push(format!("{}: missing {r:?} (truth/ip-route*.txt)", capture.name));
        }
        let extra: Vec<&TruthRoute> = got
            .difference(&want)
            .filter(|r| complete.contains(&r.netns) || r.table == "main")
            .filter(|r| want.iter().any(|w| w.netns == r.netns))
            .collect();
        for r in &extra {
            diffs.push(format!("{}: extra {r:?} not in truth/ip-route*.txt", capture.name));
        }
        // An intact capture gives no warning.
        for w in &found.warnings {
            diffs.push(format!("{}: routes warning on an intact capture: {w}", capture.name));
        }
        let uncompared = got.len() - got.intersection(&want).count() - extra.len();
        println!(
            "{}: {} truth routes, {} found, {} rows outside what the truth printed (local tables of containers, namespaces without a truth listing); warnings: {:?}",
            capture.name,
            want.len(),
            want.intersection(&got).count(),
            uncompared,
            found.warnings
        );
        checked += want.len();
    }
    println!("routes: {checked} corpus checks, {} differences", diffs.len());
    memscope_tests::checks::ran("routes", checked);
    assert!(diffs.is_empty(), "differences from the truth:\n{}", diffs.join("\n"));
}

/// The corpus kernels hold no next-hop exception (no redirect or path MTU was learned): routes must read
/// every next hop's exception table pointer, list no `cache` row and warn about nothing. Then one real
/// gateway route's next hop is given an exception table (`FNHE_HASH_SIZE` buckets) in free memory, with a
/// learned path MTU, a redirect, and a chain that loops: routes must list both as `cache` rows through
/// that next hop's device (the first through its gateway, the second through the redirect) and warn about
/// the loop.
#[test]
fn the_route_cache_is_read_from_real_next_hops() {
    let mut checks = 0usize;
    for capture in corpus::corpus_captures() {
        let name = &capture.name;
        let symbols = corpus::load_symbols(&capture);
        let cap = Rc::new(corpus::open_capture(&capture.lime_path));
        let kernel = identify(cap.clone(), symbols.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let clean = routes(&kernel).unwrap_or_else(|e| panic!("{name}: routes: {e}"));
        assert!(clean.warnings.is_empty(), "{name}: routes warns: {:?}", clean.warnings);
        let cached = clean.rows.iter().filter(|r| r.table == "cache").count();
        assert_eq!(cached, 0, "{name}: the corpus kernels have no route cache entry");
        let route = clean
            .rows
            .iter()
            .find(|r| r.family == "inet" && r.table == "main" && r.gateway.is_some() && r.nexthop_id.is_none())
            .unwrap_or_else(|| panic!("{name}: needs an IPv4 route through a gateway"));
        let info = route
            .addr
            .unwrap_or_else(|| panic!("{name}: route without fib_info address"));
        let off = |ty: &str, m: &str| kernel.member_offset(ty, m).unwrap_or_else(|e| panic!("{name}: {e}"));
        let pointer = info + off("fib_info", "fib_nh") + off("fib_nh", "nh_common.nhc_exceptions");
        assert_eq!(
            kernel.read_u64(pointer).ok(),
            Some(0),
            "{name}: the next hop has an exception table"
        );

        // Five zero pages of RAM above 64 MiB: four for the buckets, one for the exceptions.
        let file = FileReader::open(&capture.lime_path);
        let seg = cap.segments().iter().max_by_key(|s| s.len).expect("a RAM segment");
        let mut page = vec![0u8; 4096];
        let (mut run, mut at) = (0u64, seg.phys_start + (64 << 20));
        while run < 5 {
            assert!(at < seg.phys_end(), "{name}: no five free pages in a row");
            file.read_at(seg.data_offset + (at - seg.phys_start), &mut page)
                .expect("capture readable");
            run = if page.iter().all(|&b| b == 0) { run + 1 } else { 0 };
            at += 4096;
        }
        let pob = kernel
            .read_u64(kernel.symbol_addr("page_offset_base").expect("page_offset_base"))
            .expect("page_offset_base");
        let table = pob + at - 5 * 4096;
        let (a, b) = (table + 0x4000, table + 0x4100);
        let fnhe = |o: &str| off("fib_nh_exception", o);
        let mut p = Vec::new();
        patch_direct_map(&kernel, &cap, pointer, &table.to_le_bytes(), &mut p);
        patch_direct_map(&kernel, &cap, table + 100 * 8, &a.to_le_bytes(), &mut p);
        // a: 192.0.2.77 with a path MTU of 1280, then b: 192.0.2.78 redirected to 10.9.9.9, linking back to a.
        patch_direct_map(&kernel, &cap, a + fnhe("fnhe_next"), &b.to_le_bytes(), &mut p);
        patch_direct_map(&kernel, &cap, a + fnhe("fnhe_daddr"), &[192, 0, 2, 77], &mut p);
        patch_direct_map(&kernel, &cap, a + fnhe("fnhe_pmtu"), &1280u32.to_le_bytes(), &mut p);
        patch_direct_map(&kernel, &cap, b + fnhe("fnhe_next"), &a.to_le_bytes(), &mut p);
        patch_direct_map(&kernel, &cap, b + fnhe("fnhe_daddr"), &[192, 0, 2, 78], &mut p);
        patch_direct_map(&kernel, &cap, b + fnhe("fnhe_gw"), &[10, 9, 9, 9], &mut p);
        let k = corpus::patched_kernel(&capture, symbols, p);
        let got = routes(&k).unwrap_or_else(|e| panic!("{name}: patched: routes: {e}"));
        let cache: Vec<_> = got
            .rows
            .iter()
            .filter(|r| r.table == "cache")
            .map(|r| {
                (
                    r.netns,
                    r.destination.as_str(),
                    r.gateway.as_deref(),
                    r.device.as_deref(),
                    r.pmtu,
                    r.expired,
                )
            })
            .collect();
        let (gw, dev) = (route.gateway.as_deref(), route.device.as_deref());
        assert_eq!(
            cache,
            [
                (route.netns, "192.0.2.77/32", gw, dev, Some(1280), Some(false)),
                (route.netns, "192.0.2.78/32", Some("10.9.9.9"), dev, None, Some(false)),
            ],
            "{name}: cache rows"
        );
        assert!(
            got.warnings.len() == 1
                && got.warnings[0].contains("route cache")
                && got.warnings[0].contains("bucket 100"),
            "{name}: the looping chain: {:?}",
            got.warnings
        );
        assert_eq!(got.rows.len(), clean.rows.len() + 2, "{name}: other rows changed");
        checks += 3;
    }
    println!("routes cache: {checks} corpus checks");
    memscope_tests::checks::ran("routes cache", checks);
}
