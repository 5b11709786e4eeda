//! Docker's own records of its containers, read from dockerd's memory: dockerd (Go) keeps each container's
//! `config.v2.json` (`{"StreamConfig":..,"State":..,"ID":..,"Config":..,"Name":..}`) and the answers it gave
//! to `docker inspect` (`{"Id":..,"State":..,"HostConfig":..,"Mounts":..}`) as JSON text in its heap.
//!
//! Only the pages dockerd has resident are read, through its own page tables (the tables are walked, not
//! its memory areas), streamed in bounded chunks, at most [`MAX_SCAN`] in all. A document is accepted only
//! when it parses as JSON and its top-level `ID` (or `Id`) is one of the container ids the caller found
//! otherwise (in the kernel's cgroups): text that merely looks like Docker's is never trusted.

use std::collections::HashSet;

use serde_json::Value;

use crate::kernel::{mm, Kernel, KernelError, Object};
use crate::paging::MappedPage;

/// Most of dockerd's resident memory read.
pub const MAX_SCAN: u64 = 512 << 20;

/// Bytes read at a time; consecutive chunks of one mapping overlap by [`MAX_DOC`].
const CHUNK: usize = 16 << 20;

/// Longest document accepted.
pub const MAX_DOC: usize = 256 << 10;

/// How far before an `"ID"` key a document's opening brace is looked for, how many braces are tried, and
/// how many bytes the tries may read in all (a container's own output passes through dockerd's heap: text
/// made to look like documents must not make the scan slow).
const MAX_BACK: usize = 64 << 10;
const MAX_TRIES: usize = 1024;
const MAX_TRY_BYTES: usize = 4 * MAX_DOC;

/// Most `"ID"` keys of a known container looked at in one scan.
pub const MAX_HITS: usize = 4096;

/// What kind of document it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// A container's `config.v2.json` (top-level `ID`).
    Config,
    /// `docker inspect`'s answer for a container (top-level `Id`, with `HostConfig` and `Mounts`).
    Inspect,
    /// A container's `hostconfig.json` (its `HostConfig` alone, no id: the directory it is in names it).
    HostConfig,
}

impl DocKind {
    /// How evidence names it.
    pub fn name(self) -> &'static str {
        match self {
            DocKind::Config => "config.v2.json",
            DocKind::Inspect => "inspect",
            DocKind::HostConfig => "hostconfig.json",
        }
    }
}

/// Where a document was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// dockerd's heap, at [`Document::vaddr`].
    DockerdMemory,
    /// The page cache of Docker's file at this path (pid 1's view).
    PageCache(String),
}

/// One accepted document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// What it is.
    pub kind: DocKind,
    /// The container's id (64 hex digits).
    pub id: String,
    /// Where it lies in dockerd's memory (0 for one read from the page cache).
    pub vaddr: u64,
    /// Where it was read.
    pub origin: Origin,
    /// The parsed JSON object.
    pub value: Value,
}

impl Document {
    /// Where its facts come from.
    pub fn source(&self) -> super::Source {
        match self.origin {
            Origin::DockerdMemory => super::Source::DockerdMemory,
            Origin::PageCache(_) => super::Source::PageCache,
        }
    }

    /// Where it was read, for evidence (`dockerd's config.v2.json document at 0x...`).
    pub fn place(&self) -> String {
        match &self.origin {
            Origin::DockerdMemory => format!("dockerd's {} document at {:#x}", self.kind.name(), self.vaddr),
            Origin::PageCache(path) => format!("{path} in the page cache"),
        }
    }
}

/// What a scan of dockerd's memory found.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// The accepted documents, each distinct text once, in address order.
    pub documents: Vec<Document>,
    /// Bytes of resident memory read.
    pub scanned: u64,
    /// Problems met (a cut-off scan, pages not in the capture).
    pub warnings: Vec<String>,
}

/// Scan the memory of the dockerd process `task` (pid `pid`) for documents about the containers `ids`.
pub fn scan(kernel: &Kernel, task: &Object<'_>, pid: u32, ids: &HashSet<String>) -> Result<Scan, KernelError> {
    let mut out = Scan::default();
    let Some(mm) = mm::mm_of(kernel, task)? else {
        return Ok(out);
    };
    let space = kernel
        .user_space(mm.pointer("pgd")?)
        .map_err(|e| KernelError::memory(format!("page tables of dockerd (pid {pid})"), Some(e)))?;
    let (pages, cut) = space.present_pages(0, u64::MAX, MAX_SCAN);
    if cut {
        out.warnings.push(format!(
            "dockerd (pid {pid}): only the first {} MiB of its resident memory were searched",
            MAX_SCAN >> 20
        ));
    }
    // Its anonymous memory only (the heap), where the kernel's page descriptors tell: the binary's own
    // pages (file-backed, a good half of what dockerd has resident) hold no document.
    let pages = match mm::AnonPages::of(kernel) {
        Ok(anon) => pages
            .into_iter()
            .filter(|p| anon.is_anon(kernel, p.paddr) != Some(false))
            .collect(),
        Err(_) => pages,
    };
    let capture = space.capture();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut hits = MAX_HITS;
    let mut unreadable = 0u64;
    // Pieces of the runs of at most CHUNK bytes (a run's consecutive pieces overlap by MAX_DOC, so that no
    // document is cut), read a batch of about CHUNK bytes at a time, each batch's pages in physical order:
    // a block of the capture is then fetched once per batch however scattered the heap's frames are.
    let pieces = pieces_of(&runs(&pages));
    let mut i = 0;
    while i < pieces.len() {
        let (mut j, mut bytes) = (i, 0usize);
        while j < pieces.len() && (j == i || bytes + pieces[j].1 <= CHUNK) {
            bytes += pieces[j].1;
            j += 1;
        }
        let batch = &pieces[i..j];
        let mut bufs: Vec<Vec<u8>> = batch.iter().map(|&(_, len)| vec![0u8; len]).collect();
        let mut reads: Vec<(u64, usize, usize, usize)> = Vec::new();
        for (k, &(vaddr, take)) in batch.iter().enumerate() {
            for p in pages_in(&pages, vaddr, take) {
                let from = (p.vaddr.max(vaddr) - vaddr) as usize;
                let to = ((p.vaddr + p.size).min(vaddr + take as u64) - vaddr) as usize;
                reads.push((p.paddr + (vaddr + from as u64 - p.vaddr), k, from, to));
            }
        }
        reads.sort_unstable_by_key(|r| r.0);
        for (phys, k, from, to) in reads {
            if capture.read_phys(phys, &mut bufs[k][from..to]).is_err() {
                unreadable += (to - from) as u64;
            }
        }
        for (k, &(vaddr, take)) in batch.iter().enumerate() {
            out.scanned += take as u64;
            for (at, doc) in find_documents(&bufs[k], ids, &mut hits) {
                let addr = vaddr + at as u64;
                if seen.insert(addr) {
                    out.documents.push(Document { vaddr: addr, ..doc });
                }
            }
        }
        i = j;
    }
    if hits == 0 {
        out.warnings.push(format!(
            "dockerd (pid {pid}): stopped looking for documents after {MAX_HITS} candidates"
        ));
    }
    if unreadable > 0 {
        out.warnings.push(format!(
            "dockerd (pid {pid}): {unreadable} bytes of its resident memory are not in the capture"
        ));
    }
    out.documents.sort_by_key(|d| d.vaddr);
    Ok(out)
}

/// Runs of virtually contiguous pages: (start, length).
fn runs(pages: &[MappedPage]) -> Vec<(u64, usize)> {
    let mut out: Vec<(u64, usize)> = Vec::new();
    for p in pages {
        match out.last_mut() {
            Some((start, len)) if *start + *len as u64 == p.vaddr => *len += p.size as usize,
            _ => out.push((p.vaddr, p.size as usize)),
        }
    }
    out
}

/// The runs cut in pieces of at most [`CHUNK`] bytes, a run's consecutive pieces overlapping by
/// [`MAX_DOC`]: (start, length).
fn pieces_of(runs: &[(u64, usize)]) -> Vec<(u64, usize)> {
    let mut out = Vec::new();
    for &(start, len) in runs {
        let mut off = 0usize;
        loop {
            let take = CHUNK.min(len - off);
            out.push((start + off as u64, take));
            if off + take >= len {
                break;
            }
            off += take - MAX_DOC.min(take);
        }
    }
    out
}

/// The pages overlapping `vaddr..vaddr + len` (pages are in address order).
fn pages_in(pages: &[MappedPage], vaddr: u64, len: usize) -> impl Iterator<Item = &MappedPage> {
    let first = pages.partition_point(|p| p.vaddr + p.size <= vaddr);
    pages[first..].iter().take_while(move |p| p.vaddr < vaddr + len as u64)
}

/// The documents in `bytes` about the containers `ids`: (offset, document without its address). At most
/// `hits` keys naming one of `ids` are looked at (the count left is written back).
pub fn find_documents(bytes: &[u8], ids: &HashSet<String>, hits: &mut usize) -> Vec<(usize, Document)> {
    let mut out: Vec<(usize, usize, Document)> = Vec::new();
    for (key, kind) in [
        (&b"\"ID\":\""[..], DocKind::Config),
        (&b"\"Id\":\""[..], DocKind::Inspect),
    ] {
        for hit in memchr::memmem::find_iter(bytes, key) {
            let at = hit + key.len();
            let Some(id) = bytes.get(at..at + 64) else { continue };
            if bytes.get(at + 64) != Some(&b'"') || !id.iter().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            {
                continue;
            }
            let id = String::from_utf8_lossy(id).into_owned();
            if !ids.contains(&id) || out.iter().any(|(s, e, _)| (*s..*e).contains(&hit)) {
                continue;
            }
            if *hits == 0 {
                break;
            }
            *hits -= 1;
            if let Some((start, end, value)) = enclosing_document(bytes, hit, kind, &id) {
                out.push((
                    start,
                    end,
                    Document {
                        kind,
                        id,
                        vaddr: 0,
                        origin: Origin::DockerdMemory,
                        value,
                    },
                ));
            }
        }
    }
    out.sort_by_key(|(s, _, _)| *s);
    out.into_iter().map(|(s, _, d)| (s, d)).collect()
}

/// The JSON object around the key at `hit` whose top-level `ID`/`Id` is `id`: (start, end, value).
fn enclosing_document(bytes: &[u8], hit: usize, kind: DocKind, id: &str) -> Option<(usize, usize, Value)> {
    let key = match kind {
        DocKind::Config | DocKind::HostConfig => "ID",
        DocKind::Inspect => "Id",
    };
    let floor = hit.saturating_sub(MAX_BACK);
    let mut pos = hit;
    let mut budget = MAX_TRY_BYTES;
    for _ in 0..MAX_TRIES {
        let start = floor + memchr::memrchr(b'{', &bytes[floor..pos])?;
        pos = start;
        let (end, read) = object_end_within(bytes, start, MAX_DOC.min(budget));
        budget = budget.saturating_sub(read);
        // A nested object closes before the key; the document is the first that encloses it and parses.
        if let Some(end) = end.filter(|&e| e > hit) {
            if let Ok(value) = serde_json::from_slice::<Value>(&bytes[start..end]) {
                if value.get(key).and_then(Value::as_str) == Some(id) {
                    return Some((start, end, value));
                }
            }
        }
        if budget == 0 {
            return None;
        }
    }
    None
}

/// The end (one past the closing brace) of the JSON object opening at `start`, strings and escapes
/// respected; `None` when it does not close within [`MAX_DOC`] or meets a byte JSON text cannot hold.
pub fn object_end(bytes: &[u8], start: usize) -> Option<usize> {
    object_end_within(bytes, start, MAX_DOC).0
}

/// [`object_end`] within `max` bytes, with how many bytes it read.
fn object_end_within(bytes: &[u8], start: usize, max: usize) -> (Option<usize>, usize) {
    let stop = bytes.len().min(start.saturating_add(max));
    let end = scan_object(bytes, start, stop);
    (end, end.unwrap_or(stop).saturating_sub(start).max(1))
}

fn scan_object(bytes: &[u8], start: usize, stop: usize) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, &b) in bytes.iter().enumerate().take(stop).skip(start) {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                0..=0x1f => return None,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return (b == b'}').then_some(i + 1);
                }
            }
            b' ' | b'\t' | b'\n' | b'\r' => {}
            0..=0x1f | 0x7f.. => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "04f128f030161bb7850fd3fcce5aa9a4d98ae66ed1bc5d73fc537795e918aba6";

    fn ids() -> HashSet<String> {
        [ID.to_string()].into_iter().collect()
    }

    #[test]
    fn documents_are_found_by_their_id_and_must_parse() {
        let config = format!(
            r#"{{"StreamConfig":{{}},"State":{{"Running":true,"Pid":905}},"ID":"{ID}","Config":{{"Cmd":["sh","-c","{{ echo \"}}\"; }}"],"Image":"corpus/busybox:1"}},"Name":"/web"}}"#
        );
        let inspect = format!(r#"{{"Id":"{ID}","HostConfig":{{"Privileged":false}}}}"#);
        let other = config.replace(ID, &"1".repeat(64));
        let cut = &config[..config.len() - 5];
        let mut bytes = b"\0\0garbage{\"x\":".to_vec();
        bytes.extend_from_slice(config.as_bytes());
        bytes.extend_from_slice(b"\0\0");
        bytes.extend_from_slice(inspect.as_bytes());
        bytes.extend_from_slice(other.as_bytes());
        bytes.extend_from_slice(cut.as_bytes());
        bytes.extend_from_slice(b"\0");
        let mut hits = MAX_HITS;
        let found = find_documents(&bytes, &ids(), &mut hits);
        let kinds: Vec<DocKind> = found.iter().map(|(_, d)| d.kind).collect();
        assert_eq!(kinds, [DocKind::Config, DocKind::Inspect]);
        assert_eq!(found[0].1.value["Name"], "/web");
        assert_eq!(found[0].0, 14);
        assert_eq!(found[1].1.value["HostConfig"]["Privileged"], false);
        assert_eq!(hits, MAX_HITS - 3, "three keys of a known container looked at");
        let mut none_left = 0;
        assert!(find_documents(&bytes, &ids(), &mut none_left).is_empty());
    }

    #[test]
    fn text_made_to_look_like_documents_costs_bounded_work() {
        // Braces before the key, none closing: every try reads to its bound, and the budget stops them.
        let mut bytes = vec![b'{'; MAX_BACK];
        bytes.extend_from_slice(format!(r#""ID":"{ID}""#).as_bytes());
        bytes.extend(std::iter::repeat_n(b'[', 1 << 20));
        let mut hits = MAX_HITS;
        assert!(find_documents(&bytes, &ids(), &mut hits).is_empty());
    }

    #[test]
    fn long_runs_are_cut_in_overlapping_pieces() {
        let pieces = pieces_of(&[(0x1000, 0x1000), (0x10_0000, CHUNK + 0x1000)]);
        let step = (CHUNK - MAX_DOC) as u64;
        assert_eq!(
            pieces,
            [
                (0x1000, 0x1000),
                (0x10_0000, CHUNK),
                (0x10_0000 + step, MAX_DOC + 0x1000)
            ]
        );
    }

    #[test]
    fn objects_end_where_their_braces_close() {
        assert_eq!(object_end(br#"{"a":"}\"{","b":[1,{}]} tail"#, 0), Some(23));
        assert_eq!(object_end(br#"{"a":1"#, 0), None);
        assert_eq!(object_end(b"{\"a\":\"\x01\"}", 0), None);
        assert_eq!(object_end(b"{]", 0), None);
    }
}
