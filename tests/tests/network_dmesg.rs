//! `dmesg` on every corpus capture against `truth/dmesg.txt` (what `dmesg` printed on the live system
//! shortly before the dump): every line, continuation lines of multi-line records included, must be found
//! in order with the same text, and every timestamped line with the same time to the microsecond dmesg
//! prints.
//!
//! Extras are counted and explained: records written after the truth was collected (they follow the last
//! truth line, stamped no earlier than its time; the collecting script and the dump itself make the kernel
//! log a few more lines). A row between truth lines, or after them with an earlier stamp, is a difference.

use memscope_core::analyses::dmesg::{dmesg, LogLine};
use memscope_tests::corpus::{self, CorpusCapture};
use memscope_tests::truth;

fn rows_of(capture: &CorpusCapture) -> (Vec<LogLine>, Vec<String>) {
    let kernel = corpus::kernel(capture);
    let found = dmesg(&kernel).unwrap_or_else(|e| panic!("{}: dmesg failed: {e}", capture.name));
    (found.rows, found.warnings)
}

#[test]
fn kernel_log_matches_truth_dmesg() {
    let captures = corpus::corpus_captures();
    let mut diffs = Vec::new();
    let mut checks = 0usize;
    for capture in &captures {
        let (rows, warnings) = rows_of(capture);
        assert!(warnings.is_empty(), "{}: dmesg warnings: {warnings:?}", capture.name);
        let want = truth::dmesg(&capture.truth_dir);
        // Match in order: each truth line is the next row with the same text.
        let mut at = 0usize;
        let mut last_match = None;
        let mut matched = 0usize;
        for line in &want {
            checks += 1;
            let found = rows[at..]
                .iter()
                .position(|r| r.text.trim() == line.text)
                .map(|i| at + i);
            let Some(i) = found else {
                diffs.push(format!(
                    "{}: truth/dmesg.txt line {:?} not found (in order)",
                    capture.name, line.text
                ));
                continue;
            };
            let row = &rows[i];
            match line.timestamp {
                Some(ts) => {
                    // dmesg prints the microseconds, truncated.
                    let micros = row.timestamp.map(|t| (t * 1e6).floor() / 1e6);
                    if row.line != 0 || micros.is_none_or(|m| (m - ts).abs() > 1.5e-6) {
                        diffs.push(format!(
                            "{}: {:?} at {:?} (record line {}), truth/dmesg.txt says [{ts:.6}]",
                            capture.name, line.text, row.timestamp, row.line
                        ));
                    }
                }
                None if row.line == 0 => diffs.push(format!(
                    "{}: {:?} is a continuation line in truth/dmesg.txt, the first line of a record in memory",
                    capture.name, line.text
                )),
                None => {}
            }
            if row.level > 7 {
                diffs.push(format!("{}: {:?} has level {}", capture.name, line.text, row.level));
            }
            at = i + 1;
            last_match = Some(i);
            matched += 1;
        }
        // Extras: rows skipped between matches are unexplained; rows after the last match were logged after
        // the truth was collected.
        let matched_upto = last_match.map(|i| i + 1).unwrap_or(0);
        let skipped = matched_upto.saturating_sub(matched);
        if skipped > 0 {
            diffs.push(format!(
                "{}: {skipped} line(s) in memory between truth/dmesg.txt lines that the truth does not have",
                capture.name
            ));
        }
        let later = rows.len() - matched_upto;
        // Those later rows must be stamped no earlier than the truth's last stamped line (the kernel stamps
        // records in the order it logs them), and their continuation lines belong to such a record.
        let last_stamp = want.iter().rev().find_map(|l| l.timestamp);
        for row in &rows[matched_upto..] {
            checks += 1;
            let ok = match (row.line, row.timestamp, last_stamp) {
                (_, Some(t), Some(last)) => (t * 1e6).floor() / 1e6 >= last - 1e-7,
                (0, _, _) | (_, _, None) => false,
                // A continuation line has its record's stamp; its first line was checked above.
                (_, None, Some(_)) => true,
            };
            if !ok {
                diffs.push(format!(
                    "{}: row {:?} (seq {}, line {}) at {:?} follows the last line of truth/dmesg.txt but is \
                     stamped before its last time [{:.6}]: not logged after the truth was taken",
                    capture.name,
                    row.text,
                    row.seq,
                    row.line,
                    row.timestamp,
                    last_stamp.unwrap_or(f64::NAN)
                ));
            }
        }
        eprintln!(
            "{}: {} truth lines, {} rows; {later} extra row(s) logged after truth/dmesg.txt was taken",
            capture.name,
            want.len(),
            rows.len()
        );
        let mut seqs: Vec<u64> = rows.iter().filter(|r| r.line == 0).map(|r| r.seq).collect();
        seqs.dedup();
        if seqs.windows(2).any(|w| w[1] != w[0] + 1) {
            diffs.push(format!("{}: record sequence numbers are not consecutive", capture.name));
        }
    }
    eprintln!("dmesg: {checks} corpus checks on {} captures", captures.len());
    memscope_tests::checks::ran("dmesg", checks);
    assert!(diffs.is_empty(), "{} difference(s):\n{}", diffs.len(), diffs.join("\n"));
}
