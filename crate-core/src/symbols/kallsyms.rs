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
    /// The 256 token strings.
    strings: Vec<&'a [u8]>,
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
    let mut i = anchor + DIGIT_TOKENS.len();
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
fn token_strings<'a>(w: &'a [u8], start: usize, end: usize, idx: &[u16; 256]) -> Option<Vec<&'a [u8]>> {
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
        strings.push(token);
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
    let mut buf = Vec::with_capacity(128);
    for index in 0..front.count {
        let next = next_entry(w, q, front.big_lengths).ok_or_else(|| bad(index, "has no length"))?;
        let data = if front.big_lengths && w[q] & 0x80 != 0 {
            q + 2
        } else {
            q + 1
        };
        buf.clear();
        for &t in &w[data..next] {
            buf.extend_from_slice(tokens.strings[usize::from(t)]);
            if buf.len() > MAX_NAME_BYTES {
                return Err(bad(index, "is too long"));
            }
        }
        let (&kind, name) = buf.split_first().ok_or_else(|| bad(index, "is empty"))?;
        if !kind.is_ascii_alphabetic() {
            return Err(bad(index, "has no type letter"));
        }
        // Tokens hold only printable ASCII.
        let name = String::from_utf8(name.to_vec()).map_err(|_| bad(index, "is not ASCII"))?;
        out.push((name, kind));
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

    /// A token table whose tokens are the single bytes 0x21..0x7e (each standing for itself) and, in the
    /// remaining slots, multi-character tokens.
    fn token_table() -> Vec<Vec<u8>> {
        let mut tokens: Vec<Vec<u8>> = Vec::with_capacity(256);
        let mut multi = 0usize;
        for c in 0..=255u8 {
            if is_token_byte(c) {
                tokens.push(vec![c]);
            } else {
                let words = ["init_", "task", "_text", "kallsyms_", "__pfx_", "linux_", "banner"];
                let mut t = words[multi % words.len()].as_bytes().to_vec();
                t.extend(format!("{multi}").bytes());
                tokens.push(t);
                multi += 1;
            }
        }
        tokens
    }

    /// Compress `kind` + `name` with single-byte tokens (every character is its own token).
    fn entry(kind: u8, name: &str, big: bool) -> Vec<u8> {
        let mut body = vec![kind];
        body.extend(name.bytes());
        let mut e = Vec::new();
        if body.len() > 0x7f && big {
            e.push((body.len() & 0x7f) as u8 | 0x80);
            e.push((body.len() >> 7) as u8);
        } else {
            e.push(body.len() as u8);
        }
        e.extend(body);
        e
    }

    fn pad_to(buf: &mut Vec<u8>, base: usize, alignment: usize) {
        while (buf.len() - base) % alignment != 0 {
            buf.push(0);
        }
    }

    /// A 6.12-like layout: num_syms, names, markers, token table, index, offsets with absolute per-CPU
    /// symbols, relative base, seqs_of_names; `base` bytes of garbage before it so that nothing is aligned
    /// to the window.
    fn build_6_12(names: &[(u8, String, i64)], base: usize) -> (Vec<u8>, usize) {
        let mut w = vec![0x5au8; base];
        let tokens = token_table();
        w.extend((names.len() as u32).to_le_bytes());
        pad_to(&mut w, base, 8);
        let names_at = w.len();
        let mut markers = Vec::new();
        for (i, (kind, name, _)) in names.iter().enumerate() {
            if i % 256 == 0 {
                markers.push((w.len() - names_at) as u32);
            }
            w.extend(entry(*kind, name, true));
        }
        pad_to(&mut w, base, 8);
        for m in markers {
            w.extend(m.to_le_bytes());
        }
        pad_to(&mut w, base, 8);
        let table_at = w.len();
        let mut index = Vec::new();
        for t in &tokens {
            index.push((w.len() - table_at) as u16);
            w.extend(t);
            w.push(0);
        }
        pad_to(&mut w, base, 8);
        for i in index {
            w.extend(i.to_le_bytes());
        }
        pad_to(&mut w, base, 8);
        let rb: u64 = 0xffff_ffff_9a00_0000;
        for (_, _, offset) in names {
            let v = if *offset < 0x1_0000 {
                *offset as i32
            } else {
                (rb as i64 - 1 - (rb as i64 + offset)) as i32
            };
            w.extend(v.to_le_bytes());
        }
        pad_to(&mut w, base, 8);
        w.extend(rb.to_le_bytes());
        pad_to(&mut w, base, 8);
        for i in 0..names.len() as u32 {
            w.extend(&i.to_be_bytes()[1..]);
        }
        w.extend([0x77; 64]);
        let anchor = memchr::memmem::find(&w, DIGIT_TOKENS).unwrap();
        (w, anchor)
    }

    fn symbols(count: usize) -> Vec<(u8, String, i64)> {
        let mut s = vec![(b'D', "fixed_percpu_data".to_string(), 0)];
        s.push((b'T', "_text".into(), 0x10_0000));
        s.push((b'T', "_stext".into(), 0x10_0000));
        for i in 0..count {
            s.push((b't', format!("function_{i}"), 0x10_0000 + 16 * i as i64 + 16));
        }
        s.push((b'D', "linux_banner".into(), 0x200_0000));
        s.push((b'D', "init_task".into(), 0x300_0000));
        s.push((b'B', "x".repeat(200), 0x400_0000));
        s
    }

    #[test]
    fn decodes_names_tokens_and_percpu_offsets() {
        let syms = symbols(700);
        let (w, anchor) = build_6_12(&syms, 3);
        assert_eq!(token_table_candidates(&w), vec![anchor]);
        let k = decode(&w, anchor).expect("decodes");
        assert_eq!(k.encoding, AddressEncoding::BaseRelativeAbsolutePercpu);
        assert_eq!(k.tables.order, TableOrder::AddressesLast);
        assert_eq!(k.tables.marker_width, 4);
        assert!(k.tables.seqs_of_names.is_some());
        assert_eq!(k.symbols.len(), syms.len());
        assert_eq!(k.text_runtime, Some(0xffff_ffff_9a10_0000));
        assert_eq!(k.symbols[0].address, Address::Absolute(0));
        for (got, (kind, name, offset)) in k.symbols.iter().zip(&syms).skip(1) {
            assert_eq!((&got.name, got.kind), (name, *kind));
            assert_eq!(got.address, Address::Image(offset - 0x10_0000), "{name}");
        }
        // The long name took a two-byte length.
        assert_eq!(k.symbols.last().unwrap().name.len(), 200);
    }

    #[test]
    fn expands_multi_character_tokens() {
        let syms = symbols(300);
        let (mut w, anchor) = build_6_12(&syms, 5);
        let k = decode(&w, anchor).unwrap();
        // Rewrite `init_task`'s entry to use the multi-character tokens "init_N" and "taskN": find the
        // token indices by content.
        let tokens = find_tokens(&w, anchor).unwrap();
        let find = |s: &[u8]| tokens.strings.iter().position(|t| t.starts_with(s)).unwrap() as u8;
        let (init, task) = (find(b"init_"), find(b"task"));
        let want = format!(
            "{}{}",
            String::from_utf8_lossy(tokens.strings[init as usize]),
            String::from_utf8_lossy(tokens.strings[task as usize])
        );
        let names = k.tables.names.start;
        // Symbol 1 is `_text` (6 tokens: T _ t e x t); make it T + init_N + taskN + 3 single chars.
        let at = names + 1 + 1 + "fixed_percpu_data".len();
        assert_eq!(w[at], 6);
        w[at + 2] = init;
        w[at + 3] = task;
        let got = decode(&w, anchor).map(|k| k.symbols[1].name.clone());
        // `_text` is gone, so the table is rejected, naming what it missed.
        assert!(
            matches!(got, Err(KallsymsError::MissingSymbol { symbol: "_text", .. })),
            "{got:?}"
        );
        let k2 = {
            let tokens = find_tokens(&w, anchor).unwrap();
            let front = find_front(
                &w,
                &tokens,
                Grid {
                    origin: tokens.start,
                    alignment: 8,
                },
            )
            .unwrap();
            expand_names(&w, &tokens, &front).unwrap()
        };
        assert_eq!(k2[1].0, format!("{want}ext"));
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
        // A real table cut short at every point of interest is rejected, not a panic.
        let (w, anchor) = build_6_12(&symbols(600), 1);
        for cut in (0..w.len()).step_by(97) {
            let _ = decode(&w[..cut], anchor.min(cut));
            let _ = decode(&w[cut..], anchor.saturating_sub(cut));
        }
        // Zeroed tables.
        let mut z = w.clone();
        z[..anchor].fill(0);
        assert!(decode(&z, anchor).is_err());
    }
}
