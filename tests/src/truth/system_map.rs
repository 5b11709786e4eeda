//! The kernel's System.map (`symbols/System.map-<release>.xz` of the corpus, or a plain System.map of the
//! cross-kernel harness): every symbol's link-time address and type letter, as `nm -n vmlinux` wrote them.

use std::io::Read;
use std::path::Path;

/// One line of a System.map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapSymbol {
    /// Link-time address (KASLR not applied).
    pub address: u64,
    /// `nm`'s type letter.
    pub kind: u8,
    /// The symbol's name.
    pub name: String,
}

/// The symbols of a System.map file, xz-compressed (`.xz`) or plain; panics naming the file when it cannot
/// be read.
pub fn system_map(path: &Path) -> Vec<MapSymbol> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read System.map {}: {e}", path.display()));
    let text = if path.extension().is_some_and(|e| e == "xz") {
        let mut text = Vec::new();
        lzma_rust2::XzReader::new(&bytes[..], true)
            .read_to_end(&mut text)
            .unwrap_or_else(|e| panic!("{} is not xz: {e}", path.display()));
        text
    } else {
        bytes
    };
    let text = String::from_utf8(text).unwrap_or_else(|e| panic!("{} is not text: {e}", path.display()));
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let address = u64::from_str_radix(words.next()?, 16).ok()?;
            let kind = *words.next()?.as_bytes().first()?;
            let name = words.next()?.to_string();
            Some(MapSymbol { address, kind, name })
        })
        .collect()
}
