//! The kernel's own symbol table, kallsyms, decoded from the bytes of a memory capture by its shape, with
//! no symbols file: every x86-64 kernel from 5.10 to 7.x.
//!
//! `scripts/kallsyms.c` writes these tables into the kernel's `.rodata` at link time (`kernel/kallsyms.c`
//! reads them):
//!
//! - `kallsyms_num_syms`: the number of symbols, a u32.
//! - `kallsyms_names`: one entry per symbol in address order: its length in tokens (one byte; since 6.1,
//!   commit 73bbb94466fd "kallsyms: support "big" kernel symbols", two when bit 7 is set: `(b0 & 0x7f) |
//!   b1 << 7`), then that many token indices. The first expanded character is the symbol's type letter.
//! - `kallsyms_markers`: the offset in `kallsyms_names` of every 256th symbol (u32; `unsigned long` in
//!   older kernels: both widths are tried).
//! - `kallsyms_seqs_of_names` (6.2 and backports to 6.1): the symbol indices in name order, 3 bytes each,
//!   big-endian.
//! - `kallsyms_token_table`: 256 NUL-terminated strings; `kallsyms_token_index`: 256 u16 offsets into it.
//! - the addresses, in one of the [`AddressEncoding`]s.
//!
//! Each table starts at a label aligned to 8 bytes (4 since 7.0), so zero padding may sit between them, and
//! their order changed in 6.4 ([`TableOrder`]). Nothing here relies on a version number: the decoder
//! starts from the token table (found by [`token_table_candidates`]: the tokens of the ten digits stand in
//! a row in every kernel's table), walks back to the markers, the names and the symbol count, and then
//! accepts the address table whose encoding decodes to a self-consistent table: the count matches the
//! names walk and every marker, the addresses are sorted, `_text`, `_stext`, `init_task` and `linux_banner`
//! are there, and the name-order permutation (where the kernel has one) is a permutation.
//!
//! Addresses come out relative to `_text` ([`Address::Image`]), which every encoding can give (the
//! place-relative one of 7.0 gives nothing else); the caller adds the link-time address of `_text`.

use std::ops::Range;

/// The token strings of the ten digits as every kernel's `kallsyms_token_table` holds them, in a row.
const DIGIT_TOKENS: &[u8] = b"0\x001\x002\x003\x004\x005\x006\x007\x008\x009\x00";

/// Most symbols a table may hold: the name-order permutation has 3 bytes per entry, and real kernels hold
/// well under a million.
pub const MAX_SYMBOLS: usize = 1 << 21;

/// Most tokens one names entry may hold (`KSYM_NAME_LEN` is 512 since 6.1, 128 before).
const MAX_ENTRY_TOKENS: usize = 1024;

/// Most bytes of one names entry: the length bytes and the tokens.
const MAX_ENTRY_BYTES: usize = MAX_ENTRY_TOKENS + 2;

/// Most bytes the token table may span (`kallsyms_token_index` holds u16 offsets).
const MAX_TOKEN_TABLE: usize = 1 << 16;

/// Most bytes of one expanded name (with its type letter) before it is taken for garbage.
const MAX_NAME_BYTES: usize = 4096;

/// Where a token-table candidate may be: offsets in `chunk` where the token strings of the ten digits
/// (`"0\01\02\0...9\0"`) stand in a row, as they do in every kernel's `kallsyms_token_table`.
///
/// A scan over a whole capture in chunks must overlap the chunks by 19 bytes (the pattern's length less
/// one) to see a pattern that straddles two of them.
pub fn token_table_candidates(chunk: &[u8]) -> Vec<usize> {
    memchr::memmem::find_iter(chunk, DIGIT_TOKENS).collect()
}

/// Why the bytes around a candidate are not a kallsyms table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KallsymsError {
    /// No token table with its token index holds the candidate.
    #[error("no kallsyms token table at window offset {anchor:#x}: {reason}")]
    TokenTable {
        /// The candidate's offset in the window.
        anchor: usize,
        /// What did not match.
        reason: &'static str,
    },
    /// Before the token table there are no markers, names and symbol count that agree with each other.
    #[error(
        "kallsyms token table at window offset {token_table:#x}: no kallsyms_markers, kallsyms_names and \
         kallsyms_num_syms before it agree with each other"
    )]
    Names {
        /// Offset of the token table in the window.
        token_table: usize,
    },
    /// A names entry expands to something that is no symbol name.
    #[error("kallsyms names at window offset {names:#x}: symbol {index} {reason}")]
    BadName {
        /// Offset of `kallsyms_names` in the window.
        names: usize,
        /// The symbol's index.
        index: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The table lacks a symbol every kernel has.
    #[error("kallsyms names at window offset {names:#x}: no symbol {symbol}")]
    MissingSymbol {
        /// Offset of `kallsyms_names` in the window.
        names: usize,
        /// The missing symbol.
        symbol: &'static str,
    },
    /// No address table in any encoding and place decodes to a self-consistent table.
    #[error("kallsyms names at window offset {names:#x}: no address table decodes consistently ({tried})")]
    Addresses {
        /// Offset of `kallsyms_names` in the window.
        names: usize,
        /// Each layout and encoding tried, with why it failed.
        tried: String,
    },
}

/// How a kernel stores its symbols' addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressEncoding {
    /// `kallsyms_addresses`: one `unsigned long` per symbol, its run-time address (per-CPU symbols of
    /// x86-64 SMP kernels keep their absolute offset). Kernels built with `CONFIG_KALLSYMS_BASE_RELATIVE=n`
    /// until 6.11 dropped the option (commit 64e166099b69 "kallsyms: get rid of code for absolute
    /// kallsyms"); stock x86-64 kernels are base-relative.
    Absolute,
    /// `kallsyms_offsets` (u32) above `kallsyms_relative_base` (u64, the first symbol's run-time address):
    /// x86-64 from 6.15, which dropped `CONFIG_KALLSYMS_ABSOLUTE_PERCPU`, until 7.0.
    BaseRelative,
    /// `kallsyms_offsets` (i32) and `kallsyms_relative_base` with absolute per-CPU symbols: a non-negative
    /// offset is an absolute value (a per-CPU offset), a negative one the address `relative_base - 1 -
    /// offset`. x86-64 SMP kernels from 4.6 until 6.14 (the corpus's 6.1 and 6.12).
    BaseRelativeAbsolutePercpu,
    /// `kallsyms_offsets` (i32), each relative to its own place: the address of entry `i` is
    /// `&kallsyms_offsets[i] + kallsyms_offsets[i]`; no relative base. 7.0 onwards (commit a081b5789255
    /// "kallsyms: Get rid of kallsyms relative base").
    PlaceRelative,
}

/// The order of the tables in `.rodata`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableOrder {
    /// Addresses (with the relative base) first, then num_syms, names, markers, seqs_of_names (6.2, 6.3
    /// and backports), token_table, token_index: kernels before 6.4.
    AddressesFirst,
    /// num_syms, names, markers, token_table, token_index, then the addresses (with the relative base,
    /// before 7.0) and seqs_of_names: 6.4 onwards (commit 404bad70fcf7 "scripts/kallsyms: change the
    /// output order").
    AddressesLast,
}

/// Where each table was found: byte ranges in the decoded window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KallsymsTables {
    /// The tables' order.
    pub order: TableOrder,
    /// The alignment of the tables' labels: 8, or 4 from 7.0.
    pub alignment: usize,
    /// `kallsyms_num_syms`.
    pub num_syms: Range<usize>,
    /// `kallsyms_names`.
    pub names: Range<usize>,
    /// `kallsyms_markers`.
    pub markers: Range<usize>,
    /// Bytes per marker: 4, or 8 where the kernel keeps them as `unsigned long`.
    pub marker_width: usize,
    /// `kallsyms_seqs_of_names`, on kernels that have it.
    pub seqs_of_names: Option<Range<usize>>,
    /// `kallsyms_token_table`.
    pub token_table: Range<usize>,
    /// `kallsyms_token_index`.
    pub token_index: Range<usize>,
    /// `kallsyms_addresses` or `kallsyms_offsets`.
    pub addresses: Range<usize>,
    /// `kallsyms_relative_base`, for the base-relative encodings.
    pub relative_base: Option<Range<usize>>,
}

impl KallsymsTables {
    /// The stretch of the window that holds all the tables.
    pub fn span(&self) -> Range<usize> {
        let all = [
            Some(&self.num_syms),
            Some(&self.names),
            Some(&self.markers),
            self.seqs_of_names.as_ref(),
            Some(&self.token_table),
            Some(&self.token_index),
            Some(&self.addresses),
            self.relative_base.as_ref(),
        ];
        let start = all.iter().flatten().map(|r| r.start).min().unwrap_or(0);
        let end = all.iter().flatten().map(|r| r.end).max().unwrap_or(0);
        start..end
    }
}

/// A symbol's address. The caller turns it into a link-time address knowing `_text`'s link address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Address {
    /// Relative to `_text` (bytes; may be negative): every symbol in the kernel image.
    Image(i64),
    /// An absolute value not relocated by KASLR (per-CPU symbols of kernels with absolute per-CPU
    /// kallsyms, `A` symbols).
    Absolute(u64),
}

/// One symbol of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KallsymsSymbol {
    /// Its name.
    pub name: String,
    /// Its type letter as `/proc/kallsyms` shows it (`T`, `t`, `D`, `d`, `B`, `R`, `A`...).
    pub kind: u8,
    /// Its address.
    pub address: Address,
}

/// A decoded kallsyms table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kallsyms {
    /// Every symbol in table order, with its type letter (the first expanded character: T, t, D, d, B, R,
    /// A ...).
    pub symbols: Vec<KallsymsSymbol>,
    /// Which address encoding decoded to a self-consistent table.
    pub encoding: AddressEncoding,
    /// Offsets in `window` of each table found, for messages and the caller's bytes-read report.
    pub tables: KallsymsTables,
    /// The run-time (KASLR'd) address of `_text`, where the encoding gives run-time addresses (all but
    /// [`AddressEncoding::PlaceRelative`]).
    pub text_runtime: Option<u64>,
}

impl Kallsyms {
    /// The first symbol of this name in table order.
    pub fn symbol(&self, name: &str) -> Option<&KallsymsSymbol> {
        self.symbols.iter().find(|s| s.name == name)
    }

    /// The offset from `_text` of the first image symbol of this name.
    pub fn image_offset(&self, name: &str) -> Option<i64> {
        match self.symbol(name)?.address {
            Address::Image(o) => Some(o),
            Address::Absolute(_) => None,
        }
    }
}

/// Decode the kallsyms tables around a candidate. `window` is a stretch of physical memory (the caller
/// reads e.g. 24 MiB before and 8 MiB after the candidate; the kernel image is contiguous in physical
/// memory), `anchor` the candidate's offset in it (from [`token_table_candidates`]).
pub fn decode(window: &[u8], anchor: usize) -> Result<Kallsyms, KallsymsError> {
    let tokens = find_tokens(window, anchor).map_err(|reason| KallsymsError::TokenTable { anchor, reason })?;
    let mut last_error = None;
    // Before 7.0 every label is aligned to 8 (and so is the token index's distance from the table); from
    // 7.0 to 4.
    for alignment in [8, 4] {
        if (tokens.index - tokens.start) % alignment != 0 {
            continue;
        }
        let grid = Grid {
            origin: tokens.start,
            alignment,
        };
        let Some(front) = find_front(window, &tokens, grid) else {
            continue;
        };
        match decode_with(window, &tokens, grid, &front) {
            Ok(k) => return Ok(k),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or(KallsymsError::Names {
        token_table: tokens.start,
    }))
}

/// Positions aligned like a table label: `alignment`-aligned counting from `origin` (the token table,
/// whose physical address is aligned; the window's start need not be).
#[derive(Debug, Clone, Copy)]
struct Grid {
    origin: usize,
    alignment: usize,
}

impl Grid {
    fn is_aligned(&self, p: usize) -> bool {
        p % self.alignment == self.origin % self.alignment
    }

    /// The first aligned position at or after `p`.
    fn up(&self, p: usize) -> usize {
        let r = (self.origin % self.alignment + self.alignment - p % self.alignment) % self.alignment;
        p + r
    }

    /// The last aligned position at or before `p`, if any.
    fn down(&self, p: usize) -> Option<usize> {
        let r = (p % self.alignment + self.alignment - self.origin % self.alignment) % self.alignment;
        p.checked_sub(r)
    }
}

fn bytes_at<const N: usize>(w: &[u8], p: usize) -> Option<[u8; N]> {
    w.get(p..p.checked_add(N)?)?.try_into().ok()
}

fn u32_at(w: &[u8], p: usize) -> Option<u32> {
    bytes_at(w, p).map(u32::from_le_bytes)
}

fn u64_at(w: &[u8], p: usize) -> Option<u64> {
    bytes_at(w, p).map(u64::from_le_bytes)
}

/// A little-endian unsigned value of `width` (4 or 8) bytes.
fn word_at(w: &[u8], p: usize, width: usize) -> Option<u64> {
    if width == 8 {
        u64_at(w, p)
    } else {
        u32_at(w, p).map(u64::from)
    }
}

fn all_zero(w: &[u8], r: Range<usize>) -> bool {
    w.get(r).is_some_and(|b| b.iter().all(|&x| x == 0))
}

/// A character a token may hold: symbol names and type letters are printable ASCII.
fn is_token_byte(b: u8) -> bool {
    (0x21..0x7f).contains(&b)
}

/// The token table and its index.
struct Tokens<'a> {
    /// Offset of `kallsyms_token_table`.
    start: usize,
    /// One past its last token's NUL.
    end: usize,
    /// Offset of `kallsyms_token_index`.
    index: usize,
    /// The 256 token strings (printable ASCII).
    strings: Vec<&'a str>,
}

/// The token table holding the digit tokens at `anchor`, and its index right after it.
fn find_tokens(w: &[u8], anchor: usize) -> Result<Tokens<'_>, &'static str> {
    if anchor.checked_add(DIGIT_TOKENS.len()).is_none_or(|end| end > w.len())
        || &w[anchor..anchor + DIGIT_TOKENS.len()] != DIGIT_TOKENS
    {
        return Err("the digit tokens are not there");
    }
    // Tokens are non-empty, so the table's first double NUL is its last token's NUL and the padding or the
    // index's first entry (0) after it.
    let limit = w.len().min(anchor + MAX_TOKEN_TABLE);
    let mut i = anchor + DIGIT_TOKENS.len() - 1;
    let end = loop {
        if i + 1 >= limit {
            return Err("no end of the token table");
        }
        match w[i] {
            0 if w[i + 1] == 0 => break i + 1,
            0 => {}
            b if !is_token_byte(b) => return Err("a byte that is no symbol character follows the digit tokens"),
            _ => {}
        }
        i += 1;
    };
    let last_nul = end - 1;
    // The digits' own NULs bound this search.
    let last_start = w[anchor..last_nul]
        .iter()
        .rposition(|&b| b == 0)
        .map_or(anchor, |p| anchor + p + 1);
    for index in end..end + 8 {
        if !all_zero(w, end..index) {
            break;
        }
        let Some(idx) = read_token_index(w, index) else {
            continue;
        };
        let Some(start) = last_start.checked_sub(usize::from(idx[255])) else {
            continue;
        };
        if start > anchor || (index - start) % 4 != 0 {
            continue;
        }
        if let Some(strings) = token_strings(w, start, end, &idx) {
            return Ok(Tokens {
                start,
                end,
                index,
                strings,
            });
        }
    }
    Err("no kallsyms_token_index follows the table")
}

/// 256 u16 at `p` that start at 0 and strictly increase, as token offsets do.
fn read_token_index(w: &[u8], p: usize) -> Option<[u16; 256]> {
    let bytes = w.get(p..p.checked_add(512)?)?;
    let mut idx = [0u16; 256];
    for (k, pair) in bytes.chunks_exact(2).enumerate() {
        idx[k] = u16::from_le_bytes([pair[0], pair[1]]);
        if (k == 0 && idx[0] != 0) || (k > 0 && idx[k] <= idx[k - 1]) {
            return None;
        }
    }
    Some(idx)
}

/// The 256 tokens of a table at `start` ending at `end` with offsets `idx`, if each is a non-empty string
/// of symbol characters ending where the next begins.
fn token_strings<'a>(w: &'a [u8], start: usize, end: usize, idx: &[u16; 256]) -> Option<Vec<&'a str>> {
    let mut strings = Vec::with_capacity(256);
    for k in 0..256 {
        let s = start + usize::from(idx[k]);
        let nul = if k < 255 {
            start + usize::from(idx[k + 1]) - 1
        } else {
            end - 1
        };
        if s >= nul || w.get(nul) != Some(&0) {
            return None;
        }
        let token = &w[s..nul];
        if !token.iter().all(|&b| is_token_byte(b)) {
            return None;
        }
        strings.push(std::str::from_utf8(token).ok()?);
    }
    Some(strings)
}

/// The tables before the token table: num_syms, names, markers and, where they sit there,
/// seqs_of_names.
#[derive(Debug, Clone)]
struct Front {
    num_syms: usize,
    count: usize,
    names: Range<usize>,
    /// Whether a length byte with bit 7 set starts a two-byte length (6.1 onwards).
    big_lengths: bool,
    markers: Range<usize>,
    marker_width: usize,
    seqs: Option<Range<usize>>,
}

/// Find the markers, names and symbol count before the token table: directly before it (5.10 to 6.1,
/// 6.4 onwards), or with seqs_of_names between the markers and the table (6.2, 6.3 and backports).
fn find_front(w: &[u8], tokens: &Tokens<'_>, grid: Grid) -> Option<Front> {
    let widths: &[usize] = if grid.alignment == 8 { &[4, 8] } else { &[4] };
    let t = tokens.start;
    // Markers right before the token table: their end is within the padding before it.
    for &width in widths {
        for e in (t.saturating_sub(grid.alignment - 1)..=t).rev() {
            if (t - e) % 4 != 0 || !all_zero(w, e..t) {
                continue;
            }
            let Some((m0, markers)) = markers_ending_at(w, e, width, grid) else {
                continue;
            };
            if let Some(front) = names_before(w, grid, m0, &markers, None) {
                return Some(Front {
                    markers: m0..e,
                    marker_width: width,
                    seqs: None,
                    ..front
                });
            }
        }
    }
    seqs_then_front(w, tokens, grid, widths)
}

/// The markers array ending at `e` (exclusive), read backwards down to its first element, 0.
fn markers_ending_at(w: &[u8], e: usize, width: usize, grid: Grid) -> Option<(usize, Vec<u64>)> {
    let mut values = Vec::new();
    let mut p = e;
    loop {
        p = p.checked_sub(width)?;
        let v = word_at(w, p, width)?;
        if let Some(&next) = values.last() {
            if !marker_step_ok(v, next) {
                return None;
            }
        }
        if v == 0 {
            break;
        }
        values.push(v);
        if values.len() > MAX_SYMBOLS / 256 {
            return None;
        }
    }
    if !grid.is_aligned(p) {
        return None;
    }
    values.push(0);
    values.reverse();
    Some((p, values))
}

/// Whether `next` may follow `prev` in the markers: 256 entries of 2 to [`MAX_ENTRY_BYTES`] bytes.
fn marker_step_ok(prev: u64, next: u64) -> bool {
    next.checked_sub(prev)
        .is_some_and(|d| (512..=(256 * MAX_ENTRY_BYTES) as u64).contains(&d))
}

/// `count` markers of `width` bytes at `m0`, if they are markers.
fn markers_at(w: &[u8], m0: usize, count: usize, width: usize) -> Option<Vec<u64>> {
    let mut values = Vec::with_capacity(count);
    for k in 0..count {
        let v = word_at(w, m0 + k * width, width)?;
        if (k == 0 && v != 0) || (k > 0 && !marker_step_ok(values[k - 1], v)) {
            return None;
        }
        values.push(v);
    }
    Some(values)
}

/// The names table and symbol count before markers at `m0`: a u32 count (at an aligned place, its label's
/// padding after it), then names whose walk of that many entries meets every marker and ends in the
/// padding before `m0`. `count`, when known (from seqs_of_names), must match.
fn names_before(w: &[u8], grid: Grid, m0: usize, markers: &[u64], count: Option<usize>) -> Option<Front> {
    let m = markers.len();
    let last = usize::try_from(markers[m - 1]).ok()?;
    let header = grid.alignment;
    let counts = (256 * (m - 1) + 1)..=(256 * m);
    let hi = grid.down(m0.checked_sub(last.checked_add(2)?)?)?;
    let lo = hi.saturating_sub(256 * MAX_ENTRY_BYTES);
    let mut names = hi;
    while names >= lo && names >= header {
        let n = u32_at(w, names - header).map_or(0, |n| n as usize);
        if counts.contains(&n) && count.is_none_or(|c| c == n) && (header == 4 || u32_at(w, names - 4) == Some(0)) {
            for big_lengths in [true, false] {
                if let Some(end) = walk_names(w, names, n, big_lengths, markers, m0, grid.alignment) {
                    return Some(Front {
                        num_syms: names - header,
                        count: n,
                        names: names..end,
                        big_lengths,
                        markers: 0..0,
                        marker_width: 0,
                        seqs: None,
                    });
                }
            }
        }
        let Some(next) = names.checked_sub(grid.alignment) else {
            break;
        };
        names = next;
    }
    None
}

/// The start of the names entry after the one at `q`, if it is one.
fn next_entry(w: &[u8], q: usize, big_lengths: bool) -> Option<usize> {
    let b0 = usize::from(*w.get(q)?);
    let (len, data) = if big_lengths && b0 & 0x80 != 0 {
        (b0 & 0x7f | usize::from(*w.get(q + 1)?) << 7, q + 2)
    } else {
        (b0, q + 1)
    };
    (len != 0 && len <= MAX_ENTRY_TOKENS).then_some(data + len)
}

/// Walk `count` names entries from `names`: the last 256 or fewer first (cheap rejection), then all,
/// checking every marker. Returns the end of the last entry, which must be in the zero padding before
/// `m0`.
fn walk_names(
    w: &[u8],
    names: usize,
    count: usize,
    big_lengths: bool,
    markers: &[u64],
    m0: usize,
    alignment: usize,
) -> Option<usize> {
    let tail_start = 256 * (markers.len() - 1);
    let mut q = names + usize::try_from(markers[markers.len() - 1]).ok()?;
    for _ in tail_start..count {
        q = next_entry(w, q, big_lengths)?;
        if q > m0 {
            return None;
        }
    }
    if m0 - q >= alignment || !all_zero(w, q..m0) {
        return None;
    }
    let end = q;
    let mut q = names;
    for i in 0..count {
        if i % 256 == 0 && (q - names) as u64 != markers[i / 256] {
            return None;
        }
        q = next_entry(w, q, big_lengths)?;
        if q > end {
            return None;
        }
    }
    (q == end).then_some(end)
}

/// The front of kernels with seqs_of_names between the markers and the token table (6.2, 6.3 and
/// backports such as Debian's 6.1.192): the permutation (3-byte values below [`MAX_SYMBOLS`], so each
/// begins with a byte below 0x20) ends in the padding before the table, and its length gives the count.
fn seqs_then_front(w: &[u8], tokens: &Tokens<'_>, grid: Grid, widths: &[usize]) -> Option<Front> {
    let t = tokens.start;
    // Each plausible markers array costs a search for the names before it: bound them, so that crafted
    // bytes cannot make this slow.
    let mut budget = 64usize;
    for seqs_end in (t.saturating_sub(grid.alignment - 1)..=t).rev() {
        if !all_zero(w, seqs_end..t) {
            continue;
        }
        // How many 3-byte values back from the end could be seqs.
        let mut run = 0usize;
        while run < MAX_SYMBOLS && seqs_end >= 3 * (run + 1) && w[seqs_end - 3 * (run + 1)] < 0x20 {
            run += 1;
        }
        // The real start is at most a few markers' worth before the run's end (8-byte markers read as
        // 3-byte values mostly begin with a zero byte too).
        let floor = run.saturating_sub(run / 64 + 64).max(1);
        for count in (floor..=run).rev() {
            let seqs = seqs_end - 3 * count;
            if !grid.is_aligned(seqs) {
                continue;
            }
            let m = count.div_ceil(256);
            for &width in widths {
                for e in (seqs.saturating_sub(grid.alignment - 1)..=seqs).rev() {
                    if (seqs - e) % 4 != 0 || !all_zero(w, e..seqs) {
                        continue;
                    }
                    let Some(m0) = e.checked_sub(m * width) else {
                        continue;
                    };
                    if !grid.is_aligned(m0) || word_at(w, m0, width) != Some(0) {
                        continue;
                    }
                    let Some(markers) = markers_at(w, m0, m, width) else {
                        continue;
                    };
                    budget = budget.checked_sub(1)?;
                    let Some(front) = names_before(w, grid, m0, &markers, Some(count)) else {
                        continue;
                    };
                    if !is_permutation(w, seqs, count) {
                        continue;
                    }
                    return Some(Front {
                        markers: m0..e,
                        marker_width: width,
                        seqs: Some(seqs..seqs_end),
                        ..front
                    });
                }
            }
        }
    }
    None
}

/// Whether the `count` 3-byte big-endian values at `p` are a permutation of `0..count`.
fn is_permutation(w: &[u8], p: usize, count: usize) -> bool {
    let Some(bytes) = p.checked_add(3 * count).and_then(|end| w.get(p..end)) else {
        return false;
    };
    let mut seen = vec![0u64; count.div_ceil(64)];
    for v in bytes.chunks_exact(3) {
        let v = usize::from(v[0]) << 16 | usize::from(v[1]) << 8 | usize::from(v[2]);
        if v >= count || seen[v / 64] & (1 << (v % 64)) != 0 {
            return false;
        }
        seen[v / 64] |= 1 << (v % 64);
    }
    true
}

/// Expand every names entry into a name and type letter.
fn expand_names(w: &[u8], tokens: &Tokens<'_>, front: &Front) -> Result<Vec<(String, u8)>, KallsymsError> {
    let names = front.names.start;
    let bad = |index, reason| KallsymsError::BadName { names, index, reason };
    let mut out = Vec::with_capacity(front.count);
    let mut q = names;
    let mut buf = String::with_capacity(128);
    for index in 0..front.count {
        let next = next_entry(w, q, front.big_lengths).ok_or_else(|| bad(index, "has no length"))?;
        let data = if front.big_lengths && w[q] & 0x80 != 0 {
            q + 2
        } else {
            q + 1
        };
        buf.clear();
        for &t in &w[data..next] {
            buf.push_str(tokens.strings[usize::from(t)]);
            if buf.len() > MAX_NAME_BYTES {
                return Err(bad(index, "is too long"));
            }
        }
        let &kind = buf.as_bytes().first().ok_or_else(|| bad(index, "is empty"))?;
        if !kind.is_ascii_alphabetic() {
            return Err(bad(index, "has no type letter"));
        }
        // Tokens hold only printable ASCII, so the type letter is one byte.
        out.push((buf[1..].to_string(), kind));
        q = next;
    }
    Ok(out)
}

/// Symbols every kernel's table holds, with `CONFIG_KALLSYMS_ALL` (which every distribution kernel has).
const REQUIRED: [&str; 4] = ["_text", "_stext", "init_task", "linux_banner"];

/// Decode names and addresses once the front is known, trying each place and encoding of the addresses.
fn decode_with(w: &[u8], tokens: &Tokens<'_>, grid: Grid, front: &Front) -> Result<Kallsyms, KallsymsError> {
    let names_at = front.names.start;
    let named = expand_names(w, tokens, front)?;
    let index_of = |name: &str| named.iter().position(|(n, _)| n == name);
    let mut required = [0usize; REQUIRED.len()];
    for (slot, symbol) in required.iter_mut().zip(REQUIRED) {
        *slot = index_of(symbol).ok_or(KallsymsError::MissingSymbol {
            names: names_at,
            symbol,
        })?;
    }
    let text = required[0];
    let n = front.count;
    let index_end = tokens.index + 512;

    let mut tried = Vec::new();
    let mut hypotheses = Vec::new();
    if front.seqs.is_none() {
        let x = grid.up(index_end);
        hypotheses.push(Hypothesis::PlaceRelative { offsets: x });
        if grid.alignment == 8 {
            hypotheses.push(Hypothesis::BaseRelative {
                order: TableOrder::AddressesLast,
                offsets: x,
                base: grid.up(x + 4 * n),
            });
            hypotheses.push(Hypothesis::Absolute {
                order: TableOrder::AddressesLast,
                addresses: x,
            });
        }
    }
    if grid.alignment == 8 {
        if let Some(base) = front.num_syms.checked_sub(8) {
            if let Some(offsets) = base.checked_sub((4 * n).next_multiple_of(8)) {
                hypotheses.push(Hypothesis::BaseRelative {
                    order: TableOrder::AddressesFirst,
                    offsets,
                    base,
                });
            }
        }
        if let Some(addresses) = front.num_syms.checked_sub(8 * n) {
            hypotheses.push(Hypothesis::Absolute {
                order: TableOrder::AddressesFirst,
                addresses,
            });
        }
    }
    for h in hypotheses {
        match h.decode(w, grid, n, text) {
            Ok(decoded) => {
                // The image's own symbols are in the image, at or after _text.
                if let Some(&i) = required[1..]
                    .iter()
                    .find(|&&i| !matches!(decoded.addresses[i], Address::Image(o) if o >= 0))
                {
                    tried.push(format!("{}: {} is not in the image", h.name(), named[i].0));
                    continue;
                }
                let symbols: Vec<KallsymsSymbol> = named
                    .into_iter()
                    .zip(decoded.addresses)
                    .map(|((name, kind), address)| KallsymsSymbol { name, kind, address })
                    .collect();
                let seqs_of_names = front.seqs.clone().or(decoded.seqs);
                return Ok(Kallsyms {
                    symbols,
                    encoding: decoded.encoding,
                    tables: KallsymsTables {
                        order: h.order(),
                        alignment: grid.alignment,
                        num_syms: front.num_syms..front.num_syms + 4,
                        names: front.names.clone(),
                        markers: front.markers.clone(),
                        marker_width: front.marker_width,
                        seqs_of_names,
                        token_table: tokens.start..tokens.end,
                        token_index: tokens.index..index_end,
                        addresses: decoded.table,
                        relative_base: decoded.base,
                    },
                    text_runtime: decoded.text_runtime,
                });
            }
            Err(reason) => tried.push(format!("{}: {reason}", h.name())),
        }
    }
    Err(KallsymsError::Addresses {
        names: names_at,
        tried: tried.join("; "),
    })
}

/// Where the addresses may be and how they may be encoded.
#[derive(Debug, Clone, Copy)]
enum Hypothesis {
    /// i32 offsets after the token index, seqs_of_names right after them.
    PlaceRelative { offsets: usize },
    /// u32 offsets and the u64 base after them: after the token index (seqs_of_names after the base), or
    /// before num_syms.
    BaseRelative {
        order: TableOrder,
        offsets: usize,
        base: usize,
    },
    /// u64 addresses: after the token index (seqs_of_names after them), or before num_syms.
    Absolute { order: TableOrder, addresses: usize },
}

/// An address table that decoded consistently.
struct Decoded {
    addresses: Vec<Address>,
    encoding: AddressEncoding,
    table: Range<usize>,
    base: Option<Range<usize>>,
    seqs: Option<Range<usize>>,
    text_runtime: Option<u64>,
}

/// Lowest run-time address of the kernel image: the top 2 GiB of the address space.
const KERNEL_IMAGE_FLOOR: u64 = 0xffff_ffff_8000_0000;

impl Hypothesis {
    fn name(&self) -> &'static str {
        match self {
            Hypothesis::PlaceRelative { .. } => "place-relative offsets after the token index",
            Hypothesis::BaseRelative {
                order: TableOrder::AddressesLast,
                ..
            } => "base-relative offsets after the token index",
            Hypothesis::BaseRelative { .. } => "base-relative offsets before num_syms",
            Hypothesis::Absolute {
                order: TableOrder::AddressesLast,
                ..
            } => "absolute addresses after the token index",
            Hypothesis::Absolute { .. } => "absolute addresses before num_syms",
        }
    }

    fn order(&self) -> TableOrder {
        match *self {
            Hypothesis::PlaceRelative { .. } => TableOrder::AddressesLast,
            Hypothesis::BaseRelative { order, .. } | Hypothesis::Absolute { order, .. } => order,
        }
    }

    /// seqs_of_names at `p` for the addresses-last order, which always has it.
    fn seqs_after(&self, w: &[u8], grid: Grid, p: usize, n: usize) -> Result<Option<Range<usize>>, &'static str> {
        if self.order() == TableOrder::AddressesFirst {
            return Ok(None);
        }
        let seqs = grid.up(p);
        if !is_permutation(w, seqs, n) {
            return Err("no kallsyms_seqs_of_names after it");
        }
        Ok(Some(seqs..seqs + 3 * n))
    }

    fn decode(&self, w: &[u8], grid: Grid, n: usize, text: usize) -> Result<Decoded, &'static str> {
        match *self {
            Hypothesis::PlaceRelative { offsets } => {
                let table = offsets..offsets + 4 * n;
                let raw = w.get(table.clone()).ok_or("outside the window")?;
                let seqs = self.seqs_after(w, grid, table.end, n)?;
                let value = |i: usize| i64::from(i32::from_le_bytes(raw[4 * i..4 * i + 4].try_into().unwrap()));
                // Entry i holds target - &entry[i]; _text's entry gives where the table is in the image.
                let table_in_image = -(value(text) + 4 * text as i64);
                if !(1..1 << 30).contains(&table_in_image) {
                    return Err("the table would not be in the image's read-only data");
                }
                let addresses: Vec<Address> = (0..n)
                    .map(|i| Address::Image(table_in_image + 4 * i as i64 + value(i)))
                    .collect();
                check_sorted(&addresses, |a| match a {
                    Address::Image(o) => *o as u64 ^ (1 << 63),
                    Address::Absolute(v) => *v,
                })?;
                Ok(Decoded {
                    addresses,
                    encoding: AddressEncoding::PlaceRelative,
                    table,
                    base: None,
                    seqs,
                    text_runtime: None,
                })
            }
            Hypothesis::BaseRelative { offsets, base, .. } => {
                let table = offsets..offsets + 4 * n;
                let raw = w.get(table.clone()).ok_or("outside the window")?;
                if base < table.end || base - table.end >= 8 || !all_zero(w, table.end..base) {
                    return Err("no relative base after the offsets");
                }
                let rb = u64_at(w, base).ok_or("outside the window")?;
                if rb < KERNEL_IMAGE_FLOOR {
                    return Err("the relative base is no kernel image address");
                }
                let seqs = self.seqs_after(w, grid, base + 8, n)?;
                let value = |i: usize| i32::from_le_bytes(raw[4 * i..4 * i + 4].try_into().unwrap());
                // With absolute per-CPU symbols _text, like every image symbol, is a negative offset.
                let percpu = value(text) < 0;
                let runtime = |i: usize| -> Option<u64> {
                    let v = value(i);
                    if !percpu {
                        rb.checked_add(u64::from(v as u32))
                    } else if v < 0 {
                        (rb - 1).checked_add(v.unsigned_abs().into())
                    } else {
                        None
                    }
                };
                let text_runtime = runtime(text).ok_or("_text is past the end of the address space")?;
                if text_runtime % 4096 != 0 {
                    return Err("_text is not page-aligned");
                }
                let mut keys = Vec::with_capacity(n);
                let mut addresses = Vec::with_capacity(n);
                for i in 0..n {
                    match runtime(i) {
                        Some(a) => {
                            keys.push(a);
                            addresses.push(Address::Image(a.wrapping_sub(text_runtime) as i64));
                        }
                        None => {
                            let v = u64::from(value(i) as u32);
                            keys.push(v);
                            addresses.push(Address::Absolute(v));
                        }
                    }
                }
                check_sorted(&keys, |k| *k)?;
                Ok(Decoded {
                    addresses,
                    encoding: if percpu {
                        AddressEncoding::BaseRelativeAbsolutePercpu
                    } else {
                        AddressEncoding::BaseRelative
                    },
                    table,
                    base: Some(base..base + 8),
                    seqs,
                    text_runtime: Some(text_runtime),
                })
            }
            Hypothesis::Absolute { addresses: at, .. } => {
                let table = at..at + 8 * n;
                let raw = w.get(table.clone()).ok_or("outside the window")?;
                let seqs = self.seqs_after(w, grid, table.end, n)?;
                let value = |i: usize| u64::from_le_bytes(raw[8 * i..8 * i + 8].try_into().unwrap());
                let text_runtime = value(text);
                if text_runtime < KERNEL_IMAGE_FLOOR || text_runtime % 4096 != 0 {
                    return Err("_text is no page-aligned kernel image address");
                }
                if (1..n).any(|i| value(i - 1) > value(i)) {
                    return Err("the addresses are not sorted");
                }
                let addresses = (0..n)
                    .map(|i| {
                        let v = value(i);
                        if v >= KERNEL_IMAGE_FLOOR {
                            Address::Image(v.wrapping_sub(text_runtime) as i64)
                        } else {
                            Address::Absolute(v)
                        }
                    })
                    .collect();
                Ok(Decoded {
                    addresses,
                    encoding: AddressEncoding::Absolute,
                    table,
                    base: None,
                    seqs,
                    text_runtime: Some(text_runtime),
                })
            }
        }
    }
}

/// kallsyms keeps its symbols sorted by address (equal neighbours are aliases).
fn check_sorted<T>(items: &[T], key: impl Fn(&T) -> u64) -> Result<(), &'static str> {
    if items.windows(2).all(|p| key(&p[0]) <= key(&p[1])) {
        Ok(())
    } else {
        Err("the addresses are not sorted")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Multi-character tokens of the test tables, in the slots no symbol character takes.
    const WORDS: [&str; 8] = [
        "init_",
        "task",
        "_text",
        "function_",
        "__pfx_",
        "linux_",
        "banner",
        "per_cpu",
    ];

    /// A token table: the printable bytes stand for themselves, the other 162 slots hold [`WORDS`] and
    /// then filler tokens.
    fn token_table() -> Vec<Vec<u8>> {
        let mut multi = 0usize;
        (0..=255u8)
            .map(|c| {
                if is_token_byte(c) {
                    vec![c]
                } else {
                    multi += 1;
                    match WORDS.get(multi - 1) {
                        Some(w) => w.as_bytes().to_vec(),
                        None => format!("q{multi}z").into_bytes(),
                    }
                }
            })
            .collect()
    }

    /// Compress the type letter and name greedily with the table's tokens.
    fn compress(tokens: &[Vec<u8>], kind: u8, name: &str) -> Vec<u8> {
        let mut body = vec![kind];
        body.extend(name.bytes());
        let mut out = Vec::new();
        let mut i = 0;
        while i < body.len() {
            let (index, len) = tokens
                .iter()
                .enumerate()
                .filter(|(_, t)| body[i..].starts_with(t))
                .map(|(k, t)| (k, t.len()))
                .max_by_key(|&(_, len)| len)
                .expect("every printable byte is a token");
            out.push(index as u8);
            i += len;
        }
        out
    }

    /// How a test table is laid out.
    #[derive(Debug, Clone, Copy)]
    struct Layout {
        order: TableOrder,
        alignment: usize,
        encoding: AddressEncoding,
        /// seqs_of_names (between markers and token table in the addresses-first order).
        seqs: bool,
        marker_width: usize,
    }

    /// `_text`'s run-time address in the test tables.
    const TEXT: u64 = 0xffff_ffff_9a20_0000;

    /// The test tables in `layout`, after `garbage` bytes so that nothing is aligned to the window; returns
    /// the window and the digit tokens' offset.
    fn build(layout: Layout, syms: &[(u8, String, Address)], garbage: usize) -> (Vec<u8>, usize) {
        let tokens = token_table();
        let mut w = vec![0x5au8; garbage];
        let pad = |w: &mut Vec<u8>| {
            while (w.len() - garbage) % layout.alignment != 0 {
                w.push(0);
            }
        };
        let runtime = |a: Address| match a {
            Address::Image(o) => TEXT.wrapping_add(o as u64),
            Address::Absolute(v) => v,
        };
        let base = syms
            .iter()
            .filter(|s| matches!(s.2, Address::Image(_)))
            .map(|s| runtime(s.2))
            .min()
            .unwrap();
        let addresses = |w: &mut Vec<u8>| {
            pad(w);
            let table = w.len();
            for (i, s) in syms.iter().enumerate() {
                match layout.encoding {
                    AddressEncoding::Absolute => w.extend(runtime(s.2).to_le_bytes()),
                    AddressEncoding::BaseRelative => w.extend(((runtime(s.2) - base) as u32).to_le_bytes()),
                    AddressEncoding::BaseRelativeAbsolutePercpu => {
                        let v = match s.2 {
                            Address::Absolute(v) => v as i32,
                            Address::Image(_) => (base as i64 - 1 - runtime(s.2) as i64) as i32,
                        };
                        w.extend(v.to_le_bytes());
                    }
                    AddressEncoding::PlaceRelative => {
                        // The table sits 0x180_0000 bytes after _text, its entry i at that plus 4 i.
                        let Address::Image(o) = s.2 else {
                            panic!("no absolute symbol is place-relative")
                        };
                        let place = 0x180_0000 + 4 * i as i64;
                        w.extend(((o - place) as i32).to_le_bytes());
                    }
                }
            }
            let _ = table;
            if matches!(
                layout.encoding,
                AddressEncoding::BaseRelative | AddressEncoding::BaseRelativeAbsolutePercpu
            ) {
                pad(w);
                w.extend(base.to_le_bytes());
            }
        };
        let seqs = |w: &mut Vec<u8>| {
            pad(w);
            let mut order: Vec<u32> = (0..syms.len() as u32).collect();
            order.sort_by_key(|&i| (&syms[i as usize].1, i));
            for i in order {
                w.extend(&i.to_be_bytes()[1..]);
            }
        };
        if layout.order == TableOrder::AddressesFirst {
            addresses(&mut w);
        }
        pad(&mut w);
        w.extend((syms.len() as u32).to_le_bytes());
        pad(&mut w);
        let names = w.len();
        let mut markers = Vec::new();
        for (i, (kind, name, _)) in syms.iter().enumerate() {
            if i % 256 == 0 {
                markers.push((w.len() - names) as u64);
            }
            let body = compress(&tokens, *kind, name);
            if body.len() > 0x7f {
                w.push((body.len() & 0x7f) as u8 | 0x80);
                w.push((body.len() >> 7) as u8);
            } else {
                w.push(body.len() as u8);
            }
            w.extend(body);
        }
        pad(&mut w);
        for m in markers {
            w.extend(&m.to_le_bytes()[..layout.marker_width]);
        }
        if layout.order == TableOrder::AddressesFirst && layout.seqs {
            seqs(&mut w);
        }
        pad(&mut w);
        let table = w.len();
        let mut index = Vec::new();
        for t in &tokens {
            index.push((w.len() - table) as u16);
            w.extend(t);
            w.push(0);
        }
        pad(&mut w);
        for i in index {
            w.extend(i.to_le_bytes());
        }
        if layout.order == TableOrder::AddressesLast {
            addresses(&mut w);
            seqs(&mut w);
        }
        w.extend([0x77; 64]);
        let anchor = memchr::memmem::find(&w, DIGIT_TOKENS).unwrap();
        (w, anchor)
    }

    /// A symbol list: per-CPU symbols (absolute, where `percpu`), `_text`, functions, data, and a name
    /// long enough for a two-byte length.
    fn symbols(functions: usize, percpu: bool) -> Vec<(u8, String, Address)> {
        let mut s = Vec::new();
        if percpu {
            s.push((b'A', "fixed_percpu_data".to_string(), Address::Absolute(0)));
            s.push((b'A', "per_cpu_runqueues".to_string(), Address::Absolute(0x2_0000)));
        }
        s.push((b'T', "_text".into(), Address::Image(0)));
        s.push((b'T', "_stext".into(), Address::Image(0)));
        for i in 0..functions {
            s.push((b't', format!("function_{i}"), Address::Image(16 * i as i64 + 16)));
        }
        s.push((b'D', "linux_banner".into(), Address::Image(0x100_0000)));
        s.push((b'D', "init_task".into(), Address::Image(0x200_0000)));
        s.push((b'b', format!("__pfx_{}", "x".repeat(200)), Address::Image(0x300_0000)));
        s
    }

    fn check(layout: Layout, functions: usize, garbage: usize) {
        let percpu = matches!(
            layout.encoding,
            AddressEncoding::Absolute | AddressEncoding::BaseRelativeAbsolutePercpu
        );
        let syms = symbols(functions, percpu);
        let (w, anchor) = build(layout, &syms, garbage);
        assert_eq!(token_table_candidates(&w), vec![anchor]);
        let k = decode(&w, anchor).unwrap_or_else(|e| panic!("{layout:?}: {e}"));
        assert_eq!(k.encoding, layout.encoding, "{layout:?}");
        assert_eq!(k.tables.order, layout.order, "{layout:?}");
        assert_eq!(k.tables.alignment, layout.alignment, "{layout:?}");
        // One marker (0) followed by padding reads the same at either width.
        if syms.len() > 256 {
            assert_eq!(k.tables.marker_width, layout.marker_width, "{layout:?}");
        }
        assert_eq!(k.tables.seqs_of_names.is_some(), layout.seqs, "{layout:?}");
        assert_eq!(
            k.tables.relative_base.is_some(),
            matches!(
                layout.encoding,
                AddressEncoding::BaseRelative | AddressEncoding::BaseRelativeAbsolutePercpu
            ),
            "{layout:?}"
        );
        let want_runtime = (layout.encoding != AddressEncoding::PlaceRelative).then_some(TEXT);
        assert_eq!(k.text_runtime, want_runtime, "{layout:?}");
        assert_eq!(k.symbols.len(), syms.len(), "{layout:?}");
        for (got, (kind, name, address)) in k.symbols.iter().zip(&syms) {
            assert_eq!(
                (&got.name, got.kind, got.address),
                (name, *kind, *address),
                "{layout:?}"
            );
        }
        let span = k.tables.span();
        assert!(
            span.start >= garbage && span.end <= w.len() - 64,
            "{layout:?}: {span:?}"
        );
    }

    /// Every layout and encoding of 5.10 to 7.x, with counts that leave the last 256-symbol block short
    /// and full.
    #[test]
    fn decodes_every_layout_and_encoding() {
        use AddressEncoding::*;
        use TableOrder::*;
        let layouts = [
            // 5.10 to 6.1; unsigned long markers of older kernels.
            (AddressesFirst, 8, BaseRelativeAbsolutePercpu, false, 4),
            (AddressesFirst, 8, BaseRelativeAbsolutePercpu, false, 8),
            (AddressesFirst, 8, Absolute, false, 4),
            // 6.2, 6.3 and Debian's 6.1.192.
            (AddressesFirst, 8, BaseRelativeAbsolutePercpu, true, 4),
            (AddressesFirst, 8, Absolute, true, 4),
            // 6.4 to 6.14, 6.15 to 6.19, 7.0 onwards.
            (AddressesLast, 8, BaseRelativeAbsolutePercpu, true, 4),
            (AddressesLast, 8, Absolute, true, 4),
            (AddressesLast, 8, BaseRelative, true, 4),
            (AddressesLast, 4, PlaceRelative, true, 4),
        ];
        for (order, alignment, encoding, seqs, marker_width) in layouts {
            let layout = Layout {
                order,
                alignment,
                encoding,
                seqs,
                marker_width,
            };
            for (functions, garbage) in [(700, 3), (1019, 6), (5, 1)] {
                check(layout, functions, garbage);
            }
        }
    }

    #[test]
    fn names_expand_multi_character_tokens_and_two_byte_lengths() {
        let layout = Layout {
            order: TableOrder::AddressesLast,
            alignment: 8,
            encoding: AddressEncoding::BaseRelativeAbsolutePercpu,
            seqs: true,
            marker_width: 4,
        };
        let syms = symbols(300, true);
        let (w, anchor) = build(layout, &syms, 5);
        let tokens = find_tokens(&w, anchor).unwrap();
        assert_eq!(tokens.strings[b'a' as usize], "a");
        assert_eq!(tokens.strings[0], "init_");
        let k = decode(&w, anchor).unwrap();
        // `init_task` is stored as three tokens: D, init_, task.
        let i = k.symbols.iter().position(|s| s.name == "init_task").unwrap();
        let mut q = k.tables.names.start;
        for _ in 0..i {
            q = next_entry(&w, q, true).unwrap();
        }
        assert_eq!(&w[q..q + 4], &[3, b'D', 0, 1]);
        // The 206-character name has a two-byte length: 1 + 6 (type letter, `__pfx_` and 200 x) tokens.
        let long = k.symbols.last().unwrap();
        assert_eq!(long.name.len(), 206);
        // A name without a type letter is rejected, naming the symbol.
        let mut bad = w.clone();
        let mut q = k.tables.names.start;
        for _ in 0..2 {
            q = next_entry(&w, q, true).unwrap();
        }
        bad[q + 1] = b'_';
        assert!(
            matches!(decode(&bad, anchor), Err(KallsymsError::BadName { index: 2, .. })),
            "{:?}",
            decode(&bad, anchor)
        );
    }

    #[test]
    fn garbage_is_rejected_without_panic() {
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut random = |len: usize| -> Vec<u8> {
            (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect()
        };
        for len in [0usize, 1, 19, 20, 600, 70_000] {
            let mut w = random(len);
            for anchor in [0, len / 2, len.saturating_sub(20), len, usize::MAX] {
                assert!(decode(&w, anchor).is_err());
                if len >= 40 && anchor.checked_add(20).is_some_and(|end| end <= len) {
                    w[anchor..anchor + 20].copy_from_slice(DIGIT_TOKENS);
                    assert!(decode(&w, anchor).is_err());
                }
            }
        }
        // Real tables cut short anywhere, or with a stretch zeroed, are rejected or decoded, never a panic.
        let layout = Layout {
            order: TableOrder::AddressesFirst,
            alignment: 8,
            encoding: AddressEncoding::BaseRelativeAbsolutePercpu,
            seqs: true,
            marker_width: 4,
        };
        let (w, anchor) = build(layout, &symbols(600, true), 1);
        for cut in (0..w.len()).step_by(61) {
            let _ = decode(&w[..cut], anchor.min(cut));
            let _ = decode(&w[cut..], anchor.saturating_sub(cut));
            let mut z = w.clone();
            z[cut..(cut + 512).min(w.len())].fill(0);
            let _ = decode(&z, anchor);
        }
        let mut z = w.clone();
        z[..anchor].fill(0);
        assert!(decode(&z, anchor).is_err());
    }
}
