//! A tar archive (POSIX ustar) of the files an analysis wrote for a directory option, for the page's
//! downloads: the CLI writes the files into the directory; the page offers them as one `.tar`.
//!
//! Names are kept to ustar's 100 bytes (longer ones are cut and given a `~N` suffix to stay unique),
//! modes are 0644, owners root, times zero: an archive says nothing about the machine that made it.

const BLOCK: usize = 512;

/// A tar archive of `files` (name, bytes), in order.
pub fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (name, bytes)) in files.iter().enumerate() {
        out.extend_from_slice(&header(&entry_name(name, i), bytes.len() as u64));
        out.extend_from_slice(bytes);
        out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
    }
    // Two zero blocks end the archive.
    out.resize(out.len() + 2 * BLOCK, 0);
    out
}

/// A file name from memory made safe to create inside a directory: no separators, no control
/// characters, not `.` or `..`.
pub fn safe_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    match clean.as_str() {
        "" | "." | ".." => "_".to_string(),
        _ => clean,
    }
}

/// A name that fits ustar's name field and cannot leave the archive's directory.
fn entry_name(name: &str, index: usize) -> String {
    let clean = safe_name(name);
    if clean.len() <= 100 {
        return clean;
    }
    let suffix = format!("~{index}");
    let mut cut = 100 - suffix.len();
    while !clean.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{suffix}", &clean[..cut])
}

fn header(name: &str, size: u64) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    let put = |h: &mut [u8; BLOCK], at: usize, bytes: &[u8]| h[at..at + bytes.len()].copy_from_slice(bytes);
    put(&mut h, 0, name.as_bytes());
    put(&mut h, 100, b"0000644\0");
    put(&mut h, 108, b"0000000\0");
    put(&mut h, 116, b"0000000\0");
    put(&mut h, 124, format!("{size:011o}\0").as_bytes());
    put(&mut h, 136, b"00000000000\0");
    put(&mut h, 156, b"0");
    put(&mut h, 257, b"ustar\0");
    put(&mut h, 263, b"00");
    // The checksum is computed with its own field as spaces.
    put(&mut h, 148, b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    put(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_laid_out_as_ustar() {
        let t = tar(&[("receive.1.5", b"hello"), ("../etc/passwd", b"")]);
        assert_eq!(t.len(), 512 + 512 + 512 + 2 * 512);
        assert_eq!(&t[..11], b"receive.1.5");
        assert_eq!(&t[124..136], b"00000000005\0");
        assert_eq!(&t[257..263], b"ustar\0");
        assert_eq!(&t[512..517], b"hello");
        assert_eq!(&t[1024..1037], b".._etc_passwd");
        let sum: u32 = t[..512]
            .iter()
            .enumerate()
            .map(|(i, &b)| if (148..156).contains(&i) { 32 } else { u32::from(b) })
            .sum();
        let stored = u32::from_str_radix(std::str::from_utf8(&t[148..154]).unwrap(), 8).unwrap();
        assert_eq!(stored, sum);
        assert!(t[t.len() - 1024..].iter().all(|&b| b == 0));
    }

    #[test]
    fn long_names_are_cut_and_kept_unique() {
        let long = "x".repeat(150);
        let a = entry_name(&long, 3);
        assert_eq!(a.len(), 100);
        assert!(a.ends_with("~3"));
        assert_ne!(a, entry_name(&long, 4));
    }
}
