//! `routes` on every corpus capture against `ip route` as the live machine printed it: the host's every
//! table (truth/ip-route-table-all.txt) and each container's main tables (truth/netns/<name>/ip-route.txt,
//! ip-6-route.txt).

use std::collections::BTreeSet;

use memscope_core::analyses::routes::{routes, Route};
use memscope_tests::corpus;
use memscope_tests::truth::{self, TruthRoute};

fn as_truth(r: &Route) -> Option<TruthRoute> {
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
    assert!(diffs.is_empty(), "differences from the truth:\n{}", diffs.join("\n"));
}
