//! `skbuff` on every corpus capture: every socket buffer `queues` finds waiting in a socket's queue is in
//! the skb slab caches, allocated, with the same length and socket (a received one's kept headers naming
//! the socket's ports), and the manifest's queue
//! markers are among the carved bytes, and a skb charged to a socket a process holds names that process
//! as `queues` does; `--freed` adds rows and drops none. `--pcap`: tshark reads the file, with a packet
//! between the right ports for every skb that keeps its headers, the receive queue's marker in one.

use std::collections::HashMap;

use memscope_core::analyses::{queues, skbuff};
use memscope_tests::{checks, corpus, pcap};

#[test]
fn every_queued_skb_is_carved_from_its_cache() {
    let mut total = 0;
    for capture in corpus::corpus_captures() {
        let name = &capture.name;
        let kernel = corpus::kernel(&capture);
        let carved = skbuff::skbuff(
            &kernel,
            &skbuff::Options {
                freed: false,
                dump: true,
                pcap: false,
            },
        )
        .unwrap_or_else(|e| panic!("{name}: skbuff: {e}"));
        let by_addr: HashMap<u64, &skbuff::SkbuffRow> = carved.found.rows.iter().map(|r| (r.skb_addr, r)).collect();
        // A packet ring's frames are no skbs.
        let mut queued = queues::queues(&kernel, &queues::Options::default())
            .unwrap_or_else(|e| panic!("{name}: queues: {e}"))
            .found
            .rows;
        queued.retain(|q| q.queue != "ring");
        assert!(!queued.is_empty(), "{name}: no queued skb to look for");
        let mut headers = 0usize;
        for q in &queued {
            total += 1;
            let Some(c) = by_addr.get(&q.skb_addr) else {
                panic!(
                    "{name}: the {} queue's skb {:#x} ({} bytes, pid {:?}) is not among the carved",
                    q.queue, q.skb_addr, q.len, q.pid
                );
            };
            assert_eq!(c.state, "allocated", "{name}: {:#x}", q.skb_addr);
            assert_eq!(
                (c.len, c.data_len),
                (q.len, Some(q.data_len)),
                "{name}: {:#x} lengths",
                q.skb_addr
            );
            // A received skb keeps its headers: they name the socket's own port as the destination.
            if q.queue == "receive" && c.dst_port.is_some() {
                assert_eq!(c.dst_port, q.local_port, "{name}: {:#x} destination port", q.skb_addr);
                assert_eq!(
                    c.src_port,
                    q.remote_port.filter(|&p| p != 0).or(c.src_port),
                    "{name}: {:#x} source port",
                    q.skb_addr
                );
                headers += 1;
            }
            // `skb->sk` is set where the protocol charges the skb to its socket (TCP's and UDP's receive
            // queues); where it is, it is the queue's socket.
            assert!(
                c.socket_addr.is_none_or(|s| s == q.sock_addr),
                "{name}: {:#x} charged to {:?}, queued on {:#x}",
                q.skb_addr,
                c.socket_addr,
                q.sock_addr
            );
            // Charged to a socket a process holds: that process (queues names the lowest pid first).
            if c.socket_addr.is_some() {
                total += 1;
                assert_eq!(
                    (c.pid, c.comm.as_ref()),
                    (q.pid, q.comm.as_ref()),
                    "{name}: {:#x} holder",
                    q.skb_addr
                );
            }
        }
        assert!(headers > 0, "{name}: no received skb's headers were read");
        total += headers;
        let blob: Vec<u8> = carved.files.iter().flat_map(|(_, b)| b.iter().copied()).collect();
        for key in ["recv_queue", "send_queue", "udp_queue"] {
            let Some(marker) = capture.markers.get(key) else {
                continue;
            };
            total += 1;
            assert!(
                memchr::memmem::find(&blob, marker.as_bytes()).is_some(),
                "{name}: the {key} marker {marker} is in no carved skb"
            );
        }
        let with_freed = skbuff::skbuff(
            &kernel,
            &skbuff::Options {
                freed: true,
                dump: false,
                pcap: false,
            },
        )
        .unwrap_or_else(|e| panic!("{name}: skbuff --freed: {e}"));
        total += 1;
        let allocated: Vec<u64> = with_freed
            .found
            .rows
            .iter()
            .filter(|r| r.state == "allocated")
            .map(|r| r.skb_addr)
            .collect();
        let without: Vec<u64> = carved.found.rows.iter().map(|r| r.skb_addr).collect();
        assert_eq!(allocated, without, "{name}: --freed changed the allocated rows");
        println!(
            "{name}: {} skbs carved, every one of the {} queued found; {} freed",
            carved.found.rows.len(),
            queued.len(),
            with_freed.found.rows.len() - allocated.len()
        );
    }
    checks::ran("skbuff", total);
}

#[test]
fn pcap_is_read_by_tshark_with_a_packet_per_skb_that_keeps_its_headers() {
    let mut total = 0;
    for capture in corpus::corpus_captures() {
        let name = &capture.name;
        let kernel = corpus::kernel(&capture);
        let carved = skbuff::skbuff(
            &kernel,
            &skbuff::Options {
                pcap: true,
                ..skbuff::Options::default()
            },
        )
        .unwrap_or_else(|e| panic!("{name}: skbuff --pcap: {e}"));
        let path = corpus::cache_dir().join(format!("{name}-skbuff.pcapng"));
        std::fs::write(&path, carved.pcap.expect("a pcapng file")).expect("write the pcapng file");
        let lines = pcap::tshark_fields(name, &path);
        let kept: Vec<&skbuff::SkbuffRow> = carved
            .found
            .rows
            .iter()
            .filter(|r| matches!(r.transport.as_deref(), Some("tcp" | "udp")) && r.dst_port.is_some())
            .collect();
        assert!(!kept.is_empty(), "{name}: no skb keeps its TCP or UDP headers");
        for r in &kept {
            total += 1;
            let want = format!("{}\t{}", r.src_port.unwrap_or(0), r.dst_port.unwrap_or(0));
            assert!(
                lines.iter().any(|l| l.contains(&want)),
                "{name}: no packet {want:?} for the skb {:#x}",
                r.skb_addr
            );
        }
        let marker = pcap::hex(&capture.markers["recv_queue"]);
        total += 1;
        assert!(
            lines.iter().any(|l| l.contains(&marker)),
            "{name}: tshark shows no payload holding {}",
            capture.markers["recv_queue"]
        );
        println!(
            "{name}: {} packets, {} skbs keep their headers",
            lines.len(),
            kept.len()
        );
    }
    checks::ran("skbuff-pcap", total);
}

/// A report that asks to stop once it has been told of `after` slabs' progress.
struct CancelAfter {
    after: u64,
    progress_calls: u64,
    rows: usize,
    warnings: Vec<memscope_core::warning::Warning>,
}

impl memscope_core::warning::Report<skbuff::SkbuffRow> for CancelAfter {
    fn row(&mut self, _row: skbuff::SkbuffRow) {
        self.rows += 1;
    }
    fn warn(&mut self, warning: memscope_core::warning::Warning) {
        self.warnings.push(warning);
    }
    fn progress(&mut self, _done: u64, _total: u64) {
        self.progress_calls += 1;
    }
    fn cancelled(&mut self) -> bool {
        self.progress_calls >= self.after
    }
}

#[test]
fn a_cancelled_carving_stops_early_with_the_rows_so_far_and_says_so() {
    let mut total = 0;
    for capture in corpus::corpus_captures() {
        let name = &capture.name;
        let kernel = corpus::kernel(&capture);
        let options = skbuff::Options {
            freed: true,
            dump: false,
            pcap: false,
        };
        let full = skbuff::skbuff(&kernel, &options).unwrap_or_else(|e| panic!("{name}: skbuff: {e}"));
        let mut report = CancelAfter {
            after: 1,
            progress_calls: 0,
            rows: 0,
            warnings: Vec::new(),
        };
        skbuff::skbuff_to(&kernel, &options, &mut report).unwrap_or_else(|e| panic!("{name}: skbuff_to: {e}"));
        assert!(
            report.rows < full.found.rows.len(),
            "{name}: cancelled after one slab, {} rows, the full run {}",
            report.rows,
            full.found.rows.len()
        );
        let cancelled: Vec<_> = report
            .warnings
            .iter()
            .filter(|w| w.kind == memscope_core::warning::WarningKind::Cancelled)
            .collect();
        assert_eq!(
            cancelled.len(),
            1,
            "{name}: one warning says it was cancelled: {:?}",
            report.warnings
        );
        total += 2;
    }
    checks::ran("a_cancelled_carving_stops_early", total);
}
