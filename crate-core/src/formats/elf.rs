//! ELF core captures (QEMU `dump-guest-memory`, `virsh dump`, VirtualBox `dumpvmcore`, kdump): PT_LOAD
//! segments give physical ranges by `p_paddr`; a PT_NOTE may carry the kernel's VMCOREINFO text.

use object::elf::{FileHeader64, ProgramHeader64, PN_XNUM, PT_LOAD, PT_NOTE};
use object::read::elf::{FileHeader, ProgramHeader};
use object::LittleEndian;

use super::{corrupt, Capture, CaptureFormat, FormatError, Segment};
use crate::reader::ReadAt;

const FORMAT: CaptureFormat = CaptureFormat::ElfCore;
/// Size of one ELF64 program header.
const PHDR_LEN: u64 = 56;
/// Bound on the bytes of program headers read (QEMU writes one PT_LOAD per RAM block).
const MAX_HEADER_BYTES: u64 = 16 << 20;
/// Bound on one note segment.
const MAX_NOTE_BYTES: u64 = 4 << 20;

/// Whether the first bytes are a 64-bit little-endian ELF header.
pub(super) fn is_elf(magic: &[u8; 8]) -> bool {
    magic[..4] == *b"\x7fELF" && magic[4] == 2 && magic[5] == 1
}

/// Map the PT_LOAD segments of an ELF core by physical address.
pub(super) fn open(file: Box<dyn ReadAt>) -> Result<Capture, FormatError> {
    let size = file.size();
    let head = read_bounded(file.as_ref(), 0, 64)?;
    let header = FileHeader64::<LittleEndian>::parse(&head[..]).map_err(|e| corrupt(FORMAT, e.to_string()))?;
    let endian = LittleEndian;
    // With more than 0xfffe program headers (PN_XNUM), the count is in section header 0's sh_info.
    let count = match header.e_phnum(endian) {
        PN_XNUM => u64::from(file.read_u32(header.e_shoff(endian).saturating_add(44))?),
        n => u64::from(n),
    };
    let table_len = count.saturating_mul(PHDR_LEN);
    if table_len > MAX_HEADER_BYTES {
        return Err(corrupt(FORMAT, format!("{count} program headers")));
    }
    let table = read_bounded(file.as_ref(), header.e_phoff(endian), table_len)?;
    let program_headers: &[ProgramHeader64<LittleEndian>] =
        object::pod::slice_from_all_bytes(&table).map_err(|()| corrupt(FORMAT, "program header table is cut off"))?;

    let mut segments = Vec::new();
    let mut vmcoreinfo = None;
    for ph in program_headers {
        let (offset, filesz) = (ph.p_offset(endian), ph.p_filesz(endian));
        match ph.p_type(endian) {
            PT_LOAD if filesz > 0 => {
                let available = size.saturating_sub(offset).min(filesz);
                segments.push(Segment {
                    phys_start: ph.p_paddr(endian),
                    len: available,
                    data_offset: offset,
                });
            }
            PT_NOTE if vmcoreinfo.is_none() && filesz <= MAX_NOTE_BYTES => {
                if let Ok(notes) = file.read_vec(offset, filesz as usize) {
                    vmcoreinfo = find_vmcoreinfo(&notes);
                }
            }
            _ => {}
        }
    }
    Capture::from_parts(FORMAT, size, segments, file, vmcoreinfo)
}

/// Read `len` bytes at `offset`, or fewer where the file ends first.
fn read_bounded(file: &dyn ReadAt, offset: u64, len: u64) -> Result<Vec<u8>, FormatError> {
    let len = len.min(file.size().saturating_sub(offset));
    file.read_vec(offset, len as usize).map_err(FormatError::from)
}

/// The text of the first note named `VMCOREINFO` in a note segment.
fn find_vmcoreinfo(notes: &[u8]) -> Option<String> {
    let align4 = |n: usize| n.checked_add(3).map(|n| n & !3);
    let mut at = 0usize;
    while at + 12 <= notes.len() {
        let word = |i: usize| u32::from_le_bytes(notes[at + i..at + i + 4].try_into().unwrap_or_default()) as usize;
        let (namesz, descsz) = (word(0), word(4));
        let name_at = at + 12;
        let desc_at = name_at.checked_add(align4(namesz)?)?;
        let next = desc_at.checked_add(align4(descsz)?)?;
        let name = notes.get(name_at..name_at + namesz)?;
        if name.strip_suffix(b"\0").unwrap_or(name) == b"VMCOREINFO" {
            let desc = notes.get(desc_at..desc_at + descsz)?;
            return Some(String::from_utf8_lossy(desc).trim_end_matches('\0').to_string());
        }
        at = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_vmcoreinfo_note() {
        let mut notes = Vec::new();
        for (name, desc) in [
            (&b"CORE\0"[..], &b"xxxxxx"[..]),
            (b"VMCOREINFO\0", b"OSRELEASE=6.1.0\nKERNELOFFSET=1a000000\n"),
        ] {
            notes.extend((name.len() as u32).to_le_bytes());
            notes.extend((desc.len() as u32).to_le_bytes());
            notes.extend(0u32.to_le_bytes());
            notes.extend(name);
            notes.resize(notes.len().next_multiple_of(4), 0);
            notes.extend(desc);
            notes.resize(notes.len().next_multiple_of(4), 0);
        }
        assert_eq!(
            find_vmcoreinfo(&notes).unwrap(),
            "OSRELEASE=6.1.0\nKERNELOFFSET=1a000000\n"
        );
        assert_eq!(find_vmcoreinfo(&notes[..20]), None);
    }
}
