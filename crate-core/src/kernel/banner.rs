//! Kernel banners (`Linux version 6.1.0-56-amd64 (...) #1 SMP ...`) found anywhere in a capture's memory:
//! when no symbols fit a capture, they tell the investigator which kernel's symbols to fetch. A streamed
//! scan, run only on that failure path.

use crate::formats::Capture;

const PREFIX: &[u8] = b"Linux version ";
/// Longest banner kept; the kernel's own are under 300 bytes.
const MAX_LEN: usize = 400;
/// Bytes read per step of the scan.
const CHUNK: usize = 1 << 20;

/// Stop scanning once one banner has been seen this often.
const ENOUGH: usize = 4;
/// Distinct texts kept while scanning (stale or smeared copies differ).
const MAX_DISTINCT: usize = 64;

/// The banners in physical memory, most often seen first, at most `max`. Each starts with `Linux version `,
/// then a release beginning with a digit, and ends at a newline or NUL; text that is not printable ASCII
/// is no banner. The scan stops once one banner has been seen [`ENOUGH`] times (the kernel's own copy, the
/// log's and /proc/version's readers' agree, where stale copies of other text do not). Unreadable
/// stretches are skipped.
pub fn banners(capture: &Capture, max: usize) -> Vec<String> {
    let finder = memchr::memmem::Finder::new(PREFIX);
    let mut seen: Vec<(String, usize)> = Vec::new();
    let mut buf = vec![0u8; CHUNK + MAX_LEN];
    'scan: for seg in capture.segments() {
        let mut at = seg.phys_start;
        while at < seg.phys_end() {
            let len = (seg.phys_end() - at).min((CHUNK + MAX_LEN) as u64) as usize;
            let window = &mut buf[..len];
            if capture.peek_phys(at, window).is_ok() {
                // Matches starting in the first CHUNK bytes; the overlap lets each finish its text.
                let starts = len.min(CHUNK);
                for pos in finder.find_iter(window).take_while(|&p| p < starts) {
                    let Some(b) = banner_at(&window[pos..]) else {
                        continue;
                    };
                    match seen.iter().position(|(text, _)| *text == b) {
                        Some(i) => {
                            seen[i].1 += 1;
                            if seen[i].1 >= ENOUGH {
                                break 'scan;
                            }
                        }
                        None if seen.len() < MAX_DISTINCT => seen.push((b, 1)),
                        None => {}
                    }
                }
            }
            at += CHUNK as u64;
        }
    }
    // Most often seen first; among equals, the first met.
    seen.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    seen.into_iter().take(max).map(|(text, _)| text).collect()
}

/// The banner at the start of `text` (which starts with [`PREFIX`]), if it is one.
fn banner_at(text: &[u8]) -> Option<String> {
    let rest = &text[PREFIX.len()..];
    if !rest.first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let end = text.iter().take(MAX_LEN).position(|&b| b == b'\n' || b == 0)?;
    let line = &text[..end];
    if !line.iter().all(|b| (0x20..0x7f).contains(b)) {
        return None;
    }
    String::from_utf8(line.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_distinct_banners_across_chunk_edges() {
        let mut mem = vec![0u8; 3 << 20];
        let one = b"Linux version 7.3-amd64 (debian-kernel@lists.debian.org) #1 SMP Debian 7.3-1\n";
        let two = b"Linux version 5.10.0-32-amd64 (x) #1 SMP\0";
        mem[100..100 + one.len()].copy_from_slice(one);
        let edge = CHUNK - 20; // starts in one chunk, ends in the next
        mem[edge..edge + two.len()].copy_from_slice(two);
        mem[(2 << 20)..(2 << 20) + two.len()].copy_from_slice(two); // seen twice: first in the answer
        mem[(2 << 20) + 500..(2 << 20) + 500 + 25].copy_from_slice(b"Linux version of the text"); // prose
        let capture = Capture::open(Box::new(mem)).unwrap();
        let text = |b: &[u8]| String::from_utf8(b[..b.len() - 1].to_vec()).unwrap();
        assert_eq!(banners(&capture, 5), vec![text(two), text(one)]);
        assert_eq!(banners(&capture, 1), vec![text(two)]);
    }
}
