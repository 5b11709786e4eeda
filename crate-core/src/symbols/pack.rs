//! The symbol pack: a compact binary form of an ISF that loads without parsing.
//!
//! Layout (all integers little-endian):
//! ```text
//! magic "MSPACK\x01\0" | u32 version | u32 section count (5) | [u8; 32] SHA-256 of the source ISF file
//! 5 x (u64 offset, u64 length): banner, base types, user types, enums, symbols | u32 CRC-32 of the banner
//! banner: UTF-8 text (empty when the ISF has none)
//! table:  u32 count | count x (u32 name offset, u32 name length, u32 value offset, u32 value length,
//!         u32 CRC-32 of name and value) | blob (names and postcard-encoded values; offsets are relative to
//!         the blob)
//! ```
//! Table entries are sorted by name, so a lookup is a binary search and decodes one value, checked against
//! its CRC first: a damaged pack (a cut or flipped byte in a cache file) is refused where it is read,
//! without hashing all of it at load.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::SymbolError;

const MAGIC: &[u8; 8] = b"MSPACK\x01\0";
const VERSION: u32 = 2;
const SECTIONS: usize = 5;
const HEADER_LEN: usize = 8 + 4 + 4 + 32 + SECTIONS * 16 + 4;
const RECORD_LEN: usize = 20;

/// Which table of the pack.
#[derive(Debug, Clone, Copy)]
pub(super) enum Table {
    BaseTypes = 1,
    UserTypes = 2,
    Enums = 3,
    Symbols = 4,
}

/// Serialize the sections of a pack.
pub(super) fn build<B, U, E, S>(
    source_hash: &[u8; 32],
    banner: Option<&str>,
    base: &[(impl AsRef<str>, B)],
    user: &[(impl AsRef<str>, U)],
    enums: &[(impl AsRef<str>, E)],
    symbols: &[(impl AsRef<str>, S)],
) -> Result<Vec<u8>, SymbolError>
where
    B: Serialize,
    U: Serialize,
    E: Serialize,
    S: Serialize,
{
    // One buffer, written in place: header, banner, then each table (its index patched as its blob grows).
    let names: usize = [base.len(), user.len(), enums.len(), symbols.len()].iter().sum();
    let mut out = Vec::with_capacity(HEADER_LEN + names * (RECORD_LEN + 64));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(SECTIONS as u32).to_le_bytes());
    out.extend_from_slice(source_hash);
    let table_at = out.len();
    out.resize(HEADER_LEN, 0);
    let banner = banner.unwrap_or_default().as_bytes();
    let mut spans = [(0usize, 0usize); SECTIONS];
    spans[0] = (out.len(), banner.len());
    out.extend_from_slice(banner);
    spans[1] = table_into(&mut out, base)?;
    spans[2] = table_into(&mut out, user)?;
    spans[3] = table_into(&mut out, enums)?;
    spans[4] = table_into(&mut out, symbols)?;
    for (i, (offset, len)) in spans.iter().enumerate() {
        let at = table_at + i * 16;
        out[at..at + 8].copy_from_slice(&(*offset as u64).to_le_bytes());
        out[at + 8..at + 16].copy_from_slice(&(*len as u64).to_le_bytes());
    }
    let crc = crc32fast::hash(banner).to_le_bytes();
    out[table_at + SECTIONS * 16..HEADER_LEN].copy_from_slice(&crc);
    Ok(out)
}

/// Append a table of `entries` to `out`; its offset and length there.
fn table_into<K: AsRef<str>, V: Serialize>(
    out: &mut Vec<u8>,
    entries: &[(K, V)],
) -> Result<(usize, usize), SymbolError> {
    let mut order = name_order(entries);
    order.dedup_by(|a, b| entries[*a].0.as_ref() == entries[*b].0.as_ref()); // the first definition of a name wins
    let start = out.len();
    out.extend_from_slice(&(order.len() as u32).to_le_bytes());
    let records = out.len();
    out.resize(records + order.len() * RECORD_LEN, 0);
    let blob = out.len();
    let too_big = || SymbolError::Pack("table over 4 GiB".into());
    let mut buf = std::mem::take(out);
    for (k, i) in order.into_iter().enumerate() {
        let (name, value) = (entries[i].0.as_ref(), &entries[i].1);
        // The name, then the encoded value, straight into the blob.
        let name_at = buf.len();
        buf.extend_from_slice(name.as_bytes());
        let value_at = buf.len();
        buf = postcard::to_io(value, buf).map_err(|e| SymbolError::Pack(e.to_string()))?;
        let crc = entry_crc(name.as_bytes(), &buf[value_at..]);
        let fields = [
            name_at - blob,
            value_at - name_at,
            value_at - blob,
            buf.len() - value_at,
        ];
        let rec = records + k * RECORD_LEN;
        for (j, v) in fields.iter().enumerate() {
            let v = u32::try_from(*v).map_err(|_| too_big())?;
            buf[rec + 4 * j..rec + 4 * j + 4].copy_from_slice(&v.to_le_bytes());
        }
        buf[rec + 16..rec + 20].copy_from_slice(&crc.to_le_bytes());
    }
    *out = buf;
    Ok((start, out.len() - start))
}

/// The indices of `entries` by name, then by place (so that the first definition of a name comes first).
fn name_order<K: AsRef<str>, V>(entries: &[(K, V)]) -> Vec<usize> {
    let name = |i: usize| entries[i].0.as_ref().as_bytes();
    let mut keys: Vec<(u64, usize)> = (0..entries.len()).map(|i| (chunk(name(i), 0), i)).collect();
    sort_by_chunks(&mut keys, &name, 0);
    keys.into_iter().map(|(_, i)| i).collect()
}

/// Chunks of a name compared before whole names are.
const MAX_CHUNKS: usize = 8;

/// Bytes `8 * depth` to `8 * depth + 8` of a name, zero-padded, as a big-endian integer: their order is
/// the bytes' order.
fn chunk(name: &[u8], depth: usize) -> u64 {
    let rest = name.get(8 * depth..).unwrap_or_default();
    let mut b = [0u8; 8];
    let n = rest.len().min(8);
    b[..n].copy_from_slice(&rest[..n]);
    u64::from_be_bytes(b)
}

/// Sort `keys` (chunk `depth` of each name, the entry's index), whose names agree before that chunk, by
/// name then index: on the integers, then each run that shares the chunk on the next one, so that each
/// name is read once a chunk rather than at every comparison.
fn sort_by_chunks<'a>(keys: &mut [(u64, usize)], name: &impl Fn(usize) -> &'a [u8], depth: usize) {
    keys.sort_unstable();
    for run in keys.chunk_by_mut(|a, b| a.0 == b.0).filter(|r| r.len() > 1) {
        let longer = run.iter().any(|&(_, i)| name(i).len() > 8 * (depth + 1));
        if longer && depth + 1 < MAX_CHUNKS {
            for k in run.iter_mut() {
                k.0 = chunk(name(k.1), depth + 1);
            }
            sort_by_chunks(run, name, depth + 1);
        } else {
            // Names that end in this chunk (the same name, but for NUL bytes), or long ones.
            run.sort_unstable_by(|a, b| name(a.1).cmp(name(b.1)).then(a.1.cmp(&b.1)));
        }
    }
}

/// The CRC-32 an entry's record holds: of its name, then its value.
fn entry_crc(name: &[u8], value: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(name);
    h.update(value);
    h.finalize()
}

/// A validated view of a pack's bytes.
#[derive(Debug, Clone)]
pub(super) struct PackView {
    sections: [(usize, usize); SECTIONS],
    source_hash: [u8; 32],
}

fn pack_error(detail: &str) -> SymbolError {
    SymbolError::Pack(detail.to_string())
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

impl PackView {
    /// Check the header and section bounds of `bytes`.
    pub fn new(bytes: &[u8]) -> Result<PackView, SymbolError> {
        if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
            return Err(pack_error("not a memscope symbol pack"));
        }
        if u32_at(bytes, 8) != Some(VERSION) || u32_at(bytes, 12) != Some(SECTIONS as u32) {
            return Err(pack_error("symbol pack of another version"));
        }
        let mut source_hash = [0u8; 32];
        source_hash.copy_from_slice(&bytes[16..48]);
        let mut sections = [(0usize, 0usize); SECTIONS];
        for (i, s) in sections.iter_mut().enumerate() {
            let at = 48 + i * 16;
            let offset = u64_at(bytes, at).and_then(|v| usize::try_from(v).ok());
            let len = u64_at(bytes, at + 8).and_then(|v| usize::try_from(v).ok());
            let (Some(offset), Some(len)) = (offset, len) else {
                return Err(pack_error("bad section"));
            };
            if offset.checked_add(len).is_none_or(|end| end > bytes.len()) {
                return Err(pack_error("section past the end of the pack"));
            }
            *s = (offset, len);
        }
        let view = PackView { sections, source_hash };
        if u32_at(bytes, 48 + SECTIONS * 16) != Some(crc32fast::hash(view.section(bytes, 0))) {
            return Err(pack_error("banner damaged (its CRC does not match)"));
        }
        for t in [Table::BaseTypes, Table::UserTypes, Table::Enums, Table::Symbols] {
            let count = view.count(bytes, t);
            let section = view.section(bytes, t as usize);
            if count
                .checked_mul(RECORD_LEN)
                .and_then(|n| n.checked_add(4))
                .is_none_or(|n| n > section.len())
            {
                return Err(pack_error("table index past its section"));
            }
        }
        Ok(view)
    }

    /// SHA-256 of the ISF file the pack was built from.
    pub fn source_hash(&self) -> [u8; 32] {
        self.source_hash
    }

    fn section<'b>(&self, bytes: &'b [u8], i: usize) -> &'b [u8] {
        let (offset, len) = self.sections[i];
        bytes.get(offset..offset + len).unwrap_or_default()
    }

    /// The banner text, if any.
    pub fn banner<'b>(&self, bytes: &'b [u8]) -> Option<&'b str> {
        std::str::from_utf8(self.section(bytes, 0))
            .ok()
            .filter(|s| !s.is_empty())
    }

    /// Number of entries in a table.
    pub fn count(&self, bytes: &[u8], t: Table) -> usize {
        u32_at(self.section(bytes, t as usize), 0).unwrap_or(0) as usize
    }

    /// Entry `i` of a table: its name, encoded value and recorded CRC.
    fn entry<'b>(&self, bytes: &'b [u8], t: Table, i: usize) -> Option<(&'b [u8], &'b [u8], u32)> {
        let section = self.section(bytes, t as usize);
        let count = u32_at(section, 0)? as usize;
        let blob = section.get(4 + count * RECORD_LEN..)?;
        let rec = 4 + i * RECORD_LEN;
        let part = |at: usize| {
            let (off, len) = (u32_at(section, at)? as usize, u32_at(section, at + 4)? as usize);
            blob.get(off..off.checked_add(len)?)
        };
        Some((part(rec)?, part(rec + 8)?, u32_at(section, rec + 16)?))
    }

    /// Every entry of a table, in name order, decoded (each checked against its CRC).
    pub fn all<V: DeserializeOwned>(&self, bytes: &[u8], t: Table) -> Result<Vec<(String, V)>, SymbolError> {
        (0..self.count(bytes, t))
            .map(|i| {
                let (key, value, crc) = self
                    .entry(bytes, t, i)
                    .ok_or_else(|| pack_error("entry past its section"))?;
                if entry_crc(key, value) != crc {
                    return Err(SymbolError::Pack(format!("entry {i} damaged (its CRC does not match)")));
                }
                let name = std::str::from_utf8(key).map_err(|_| pack_error("a name is not UTF-8"))?;
                let value = postcard::from_bytes(value).map_err(|e| SymbolError::Pack(format!("entry {name}: {e}")))?;
                Ok((name.to_string(), value))
            })
            .collect()
    }

    /// Look `name` up in a table and decode its value.
    pub fn get<V: DeserializeOwned>(&self, bytes: &[u8], t: Table, name: &str) -> Result<Option<V>, SymbolError> {
        let (mut lo, mut hi) = (0usize, self.count(bytes, t));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (key, value, crc) = self
                .entry(bytes, t, mid)
                .ok_or_else(|| pack_error("entry past its section"))?;
            // Every entry the search passes is checked: a damaged name would otherwise send it astray.
            if entry_crc(key, value) != crc {
                return Err(SymbolError::Pack(format!(
                    "looking up {name}: entry {mid} damaged (its CRC does not match)"
                )));
            }
            match key.cmp(name.as_bytes()) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => {
                    return postcard::from_bytes(value)
                        .map(Some)
                        .map_err(|e| SymbolError::Pack(format!("entry {name}: {e}")));
                }
            }
        }
        Ok(None)
    }
}
