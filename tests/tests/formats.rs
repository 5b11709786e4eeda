//! Capture formats on the real corpus: each LiME capture of the manifest is converted to AVML (by
//! Microsoft's avml), raw and ELF core, and all four must show the same physical memory.

use memscope_core::formats::{Capture, CaptureFormat, PhysError, Segment};

use memscope_tests::corpus::{self as support, CorpusCapture, LimeRange};

/// A deterministic xorshift PRNG.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// avml cuts ranges into blocks of this size and leaves out the blocks that are all zero.
const AVML_BLOCK: u64 = 16 << 20;

/// Reads to compare, `(address, length)`, all inside the LiME ranges: range starts and ends, AVML block
/// and snappy chunk boundaries, and random places.
fn samples(ranges: &[LimeRange], seed: u64) -> Vec<(u64, u64)> {
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    for r in ranges {
        out.extend([
            (r.start, 1),
            (r.start, r.len.min(4096)),
            (r.end() - 1, 1),
            (r.end() - r.len.min(8), r.len.min(8)),
        ]);
        out.push((r.end() - r.len.min(100_000), r.len.min(100_000)));
        let mut block = AVML_BLOCK;
        while block < r.len {
            out.push((r.start + block - 5, 10));
            let chunk = block - AVML_BLOCK + 65_536 * rng.below(256);
            out.push((r.start + chunk - 3, 6));
            block += AVML_BLOCK;
        }
        for _ in 0..150 {
            let len = 1 + rng.below(8192).min(r.len - 1);
            out.push((r.start + rng.below(r.len - len + 1), len));
        }
    }
    out
}

/// Read `len` bytes at `addr` from `cap`.
fn read(cap: &Capture, addr: u64, len: u64, what: &str) -> Vec<u8> {
    let mut buf = vec![0; len as usize];
    cap.read_phys(addr, &mut buf)
        .unwrap_or_else(|e| panic!("{what}: read of {len} bytes at {addr:#x}: {e}"));
    buf
}

/// Compare `expected` (LiME bytes at `addr`) with the AVML capture, piece by piece: where AVML has the
/// address the bytes must match, where it does not (a block avml left out) the LiME bytes must be zero.
/// Returns how many bytes were absent.
fn compare_avml(avml: &Capture, addr: u64, expected: &[u8], what: &str) -> u64 {
    let end = addr + expected.len() as u64;
    let mut at = addr;
    let mut absent = 0;
    while at < end {
        let segs = avml.segments();
        let i = segs.partition_point(|s| s.phys_end() <= at);
        let from = (at - addr) as usize;
        match segs.get(i) {
            Some(s) if s.phys_start <= at => {
                let to = end.min(s.phys_end());
                let got = read(avml, at, to - at, what);
                let want = &expected[from..(to - addr) as usize];
                if let Some(k) = got.iter().zip(want).position(|(a, b)| a != b) {
                    panic!(
                        "{what}: byte at {:#x} differs: avml {:#04x}, lime {:#04x}",
                        at + k as u64,
                        got[k],
                        want[k]
                    );
                }
                at = to;
            }
            next => {
                let to = end.min(next.map_or(u64::MAX, |s| s.phys_start));
                assert!(
                    matches!(avml.read_phys(at, &mut [0]), Err(PhysError::NotPresent(_))),
                    "{what}: {at:#x}"
                );
                let want = &expected[from..(to - addr) as usize];
                assert!(
                    want.iter().all(|&b| b == 0),
                    "{what}: {at:#x}..{to:#x} is absent from the AVML capture but not zero in the LiME capture"
                );
                absent += to - at;
                at = to;
            }
        }
    }
    absent
}

/// Check that every part of the LiME ranges the AVML capture lacks is zero in the LiME capture, and that
/// AVML maps nothing outside them. Returns the bytes absent.
fn check_avml_gaps(lime: &Capture, avml: &Capture, ranges: &[LimeRange], name: &str) -> u64 {
    for s in avml.segments() {
        assert!(
            ranges
                .iter()
                .any(|r| r.start <= s.phys_start && s.phys_end() <= r.end()),
            "{name}: AVML segment {:#x}+{:#x} is outside the LiME ranges",
            s.phys_start,
            s.len
        );
    }
    let mut absent = 0;
    for r in ranges {
        let mut at = r.start;
        while at < r.end() {
            let len = (r.end() - at).min(4 << 20);
            let lime_bytes = read(lime, at, len, name);
            absent += compare_avml_presence(avml, at, &lime_bytes, name);
            at += len;
        }
    }
    absent
}

/// Like [`compare_avml`] for absent parts only (the present bytes are compared at the samples): cheap
/// enough to cover whole ranges in a debug build.
fn compare_avml_presence(avml: &Capture, addr: u64, expected: &[u8], what: &str) -> u64 {
    let end = addr + expected.len() as u64;
    let segs = avml.segments();
    let mut absent = 0;
    let mut at = addr;
    while at < end {
        let i = segs.partition_point(|s| s.phys_end() <= at);
        match segs.get(i) {
            Some(s) if s.phys_start <= at => at = end.min(s.phys_end()),
            next => {
                let to = end.min(next.map_or(u64::MAX, |s| s.phys_start));
                let part = &expected[(at - addr) as usize..(to - addr) as usize];
                assert!(
                    part.iter().all(|&b| b == 0),
                    "{what}: {at:#x}..{to:#x} is absent from the AVML capture but not zero in the LiME capture"
                );
                absent += to - at;
                at = to;
            }
        }
    }
    absent
}

fn check_capture(c: &CorpusCapture) -> usize {
    let name = &c.name;
    let ranges = support::lime_ranges(&c.lime_path);
    let lime = support::open_capture(&c.lime_path);
    assert_eq!(lime.format(), CaptureFormat::Lime, "{name}");
    let lime_segments: Vec<Segment> = lime.segments().to_vec();
    assert_eq!(
        lime_segments.iter().map(|s| (s.phys_start, s.len)).collect::<Vec<_>>(),
        ranges.iter().map(|r| (r.start, r.len)).collect::<Vec<_>>(),
        "{name}: LiME segments"
    );
    let mut checks = 1;

    let avml_path = support::avml_file(c);
    let avml = support::open_capture(&avml_path);
    assert_eq!(
        avml.format(),
        CaptureFormat::Avml,
        "{name}: {} is not detected as AVML (formats::Capture::open must dispatch on the AVML magic)",
        avml_path.display()
    );
    let raw = support::open_capture(&support::raw_file(c));
    assert_eq!(raw.format(), CaptureFormat::Raw, "{name}");
    let elf = support::open_capture(&support::elf_file(c));
    assert_eq!(elf.format(), CaptureFormat::ElfCore, "{name}");
    assert_eq!(
        elf.vmcoreinfo(),
        Some(support::ELF_VMCOREINFO),
        "{name}: VMCOREINFO of the ELF core"
    );
    assert_eq!(
        elf.segments().iter().map(|s| (s.phys_start, s.len)).collect::<Vec<_>>(),
        { lime_segments.iter().map(|s| (s.phys_start, s.len)).collect::<Vec<_>>() }
    );
    checks += 4;

    let absent = check_avml_gaps(&lime, &avml, &ranges, name);
    assert_eq!(
        avml.phys_bytes() + absent,
        lime.phys_bytes(),
        "{name}: AVML bytes plus the blocks left out"
    );
    eprintln!(
        "{name}: AVML {} bytes for {} bytes of LiME; {} segments, {absent} zero bytes left out by avml",
        avml.file_size(),
        lime.file_size(),
        avml.segments().len()
    );
    checks += 1;

    let samples = samples(&ranges, 0x5eed ^ lime.file_size());
    for &(addr, len) in &samples {
        let what = format!("{name} at {addr:#x}+{len:#x}");
        let want = read(&lime, addr, len, &what);
        assert!(read(&raw, addr, len, &what) == want, "{what}: raw differs from LiME");
        assert!(
            read(&elf, addr, len, &what) == want,
            "{what}: ELF core differs from LiME"
        );
        compare_avml(&avml, addr, &want, &what);
        checks += 3;
    }

    // Addresses outside every range are absent (the raw file holds the gaps as zeros, as it should).
    for r in &ranges {
        if ranges.iter().all(|o| !(o.start <= r.end() && r.end() < o.end())) {
            for cap in [&lime, &avml, &elf] {
                assert!(
                    matches!(cap.read_phys(r.end(), &mut [0; 8]), Err(PhysError::NotPresent(_))),
                    "{name}"
                );
            }
            checks += 1;
        }
    }
    checks
}

#[test]
fn corpus_in_four_formats_reads_the_same() {
    let captures = support::corpus_captures();
    let mut checks = 0;
    for c in &captures {
        checks += check_capture(c);
    }
    eprintln!("formats: {checks} corpus checks ran on {} captures", captures.len());
    memscope_tests::checks::ran("formats", checks);
}

/// A real AVML capture cut at 3 MiB and at half its length keeps the ranges and chunks that are whole,
/// and reads them right.
#[test]
fn corpus_avml_cut_short_keeps_what_is_whole() {
    let captures = support::corpus_captures();
    let mut checks = 0;
    for c in &captures {
        let lime = support::open_capture(&c.lime_path);
        let path = support::avml_file(c);
        let full = support::open_capture(&path);
        for cut in [3 << 20, full.file_size() / 2] {
            let what = format!("{} cut at {cut:#x}", c.name);
            let source = support::Truncated {
                inner: support::file_source(&path),
                size: cut,
            };
            let cap = Capture::open(Box::new(source)).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(cap.format(), CaptureFormat::Avml, "{what}");
            assert!(
                cap.phys_bytes() > 0 && cap.phys_bytes() < full.phys_bytes(),
                "{what}: {}",
                cap.phys_bytes()
            );
            // The kept part is a prefix of the full capture's ranges.
            let last = *cap.segments().last().expect("a segment");
            let prefix = &full.segments()[..cap.segments().len()];
            assert_eq!(cap.segments()[..prefix.len() - 1], prefix[..prefix.len() - 1], "{what}");
            assert_eq!(last.phys_start, prefix[prefix.len() - 1].phys_start, "{what}");
            let mut rng = Rng(cut);
            for _ in 0..50 {
                let seg = cap.segments()[rng.below(cap.segments().len() as u64) as usize];
                let len = 1 + rng.below(4096).min(seg.len - 1);
                let addr = seg.phys_start + rng.below(seg.len - len + 1);
                assert!(
                    read(&cap, addr, len, &what) == read(&lime, addr, len, &what),
                    "{what}: {addr:#x}"
                );
                checks += 1;
            }
            assert!(
                cap.read_phys(last.phys_end(), &mut [0]).is_err(),
                "{what}: past the cut"
            );
            checks += 1;
        }
    }
    eprintln!(
        "formats: {checks} truncated-AVML checks ran on {} captures",
        captures.len()
    );
    memscope_tests::checks::ran("formats truncated AVML", checks);
}
