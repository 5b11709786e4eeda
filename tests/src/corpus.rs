//! The corpus: its manifest, the decompressed captures, capture files derived from them in other formats,
//! and a file reader for [`Capture::open`].
//!
//! The corpus lives beside the repository (`../shared/corpus/`, or `$MEMSCOPE_CORPUS`). Decompressed and
//! derived files are cached under `target/corpus-cache/<capture>/` at the repository root and built once:
//! each is written to a `.part` file and renamed, so a concurrent test never sees half a file. A missing
//! corpus or tool fails the test with a message saying how to get it; nothing is skipped.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use std::rc::Rc;

use memscope_cli::source::FileSource;
use memscope_core::formats::Capture;
use memscope_core::kernel::Kernel;
use memscope_core::reader::{BlockCache, CacheConfig, ReadAt, ReadError};
use memscope_core::session::{self, Symbols};
use memscope_core::symbols::SymbolTable;

/// How to get the corpus, for failure messages.
pub const CORPUS_HELP: &str = "the test corpus is expected at ../shared/corpus/ beside the repository (manifest.json, \
     <capture>/capture.lime.zst, symbols/, truth/); set MEMSCOPE_CORPUS to its directory if it lives elsewhere";

/// How to install the avml converter, for failure messages.
pub const AVML_HELP: &str = "install the avml converter with `cargo install avml --no-default-features --features \
     convert` (it installs the binary `avml`, used as `avml convert`), or set AVML to its path";

/// One capture of the corpus manifest, with its LiME file decompressed.
#[derive(Debug, Clone)]
pub struct CorpusCapture {
    /// The capture's name in the manifest (`deb12-6.1-docker`).
    pub name: String,
    /// The decompressed LiME capture, in the cache.
    pub lime_path: PathBuf,
    /// The Volatility 3 ISF of the capture's kernel (`.json.xz`).
    pub symbols_path: PathBuf,
    /// The folder of live ground truth.
    pub truth_dir: PathBuf,
    /// `uname -r` of the captured kernel.
    pub kernel_release: String,
    /// The kernel's `linux_banner`.
    pub banner: String,
    /// Marker strings the manifest lists (`recv_queue`, `traffic`, ...).
    pub markers: BTreeMap<String, String>,
    /// Files whose pages the live system kept (the manifest's `cached_files`).
    pub cached_files: Vec<CachedFile>,
}

/// A file the manifest says the page cache held at the dump, and what it holds.
#[derive(Debug, Clone)]
pub struct CachedFile {
    /// The container whose mount namespace sees it at `path`; `None` for the host's.
    pub container: Option<String>,
    /// Its path there.
    pub path: String,
    /// Its size.
    pub size: u64,
    /// How its content ends.
    pub ends_with: String,
}

impl CorpusCapture {
    /// The directory of this capture's cached and derived files.
    pub fn cache_dir(&self) -> PathBuf {
        cache_dir().join(&self.name)
    }
}

/// The repository root (the workspace holding crate-core).
pub fn repo_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// The corpus directory: `$MEMSCOPE_CORPUS`, else `../shared/corpus` from the repository root.
pub fn corpus_dir() -> PathBuf {
    match std::env::var_os("MEMSCOPE_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => repo_root().join("../shared/corpus"),
    }
}

/// Where decompressed and derived corpus files are cached.
pub fn cache_dir() -> PathBuf {
    repo_root().join("target/corpus-cache")
}

/// Every capture of the corpus manifest, its LiME file decompressed into the cache (once). Panics, saying
/// how to get them, if the corpus or `zstd` is missing.
pub fn corpus_captures() -> Vec<CorpusCapture> {
    let corpus = corpus_dir();
    let manifest_path = corpus.join("manifest.json");
    let text = fs::read_to_string(&manifest_path).unwrap_or_else(|e| {
        panic!(
            "cannot read the corpus manifest {}: {e}; {CORPUS_HELP}",
            manifest_path.display()
        )
    });
    let manifest: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("corpus manifest {} is not JSON: {e}", manifest_path.display()));
    let entries = manifest["captures"]
        .as_array()
        .unwrap_or_else(|| panic!("corpus manifest {} has no `captures` array", manifest_path.display()));
    assert!(
        !entries.is_empty(),
        "corpus manifest {} lists no capture",
        manifest_path.display()
    );
    entries
        .iter()
        .map(|entry| {
            let field = |key: &str| -> String {
                entry[key]
                    .as_str()
                    .unwrap_or_else(|| panic!("capture entry in {} lacks `{key}`", manifest_path.display()))
                    .to_string()
            };
            let name = field("name");
            let compressed = corpus.join(field("capture"));
            let markers = entry["markers"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            let cached_files = entry["cached_files"]
                .as_array()
                .map(|files| {
                    files
                        .iter()
                        .map(|f| CachedFile {
                            container: f["container"].as_str().map(str::to_string),
                            path: f["path"].as_str().unwrap_or_default().to_string(),
                            size: f["size"].as_u64().unwrap_or_default(),
                            ends_with: f["ends_with"].as_str().unwrap_or_default().to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let lime_path = cache_dir().join(&name).join("capture.lime");
            cached(&lime_path, &compressed, |part| decompress_zstd(&compressed, part));
            CorpusCapture {
                name,
                lime_path,
                symbols_path: corpus.join(field("symbols")),
                truth_dir: corpus.join(field("truth")),
                kernel_release: field("kernel_release"),
                banner: field("banner"),
                markers,
                cached_files,
            }
        })
        .collect()
}

/// Serialises cache building within one test process (other processes are kept apart by the `.part` names).
static CACHE_LOCK: Mutex<()> = Mutex::new(());
static PART_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Make sure `path` exists and is not older than `source`, building it with `build` into a `.part` file
/// renamed into place.
pub fn cached(path: &Path, source: &Path, build: impl FnOnce(&Path)) {
    let _guard = CACHE_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    if let Some(built) = modified(path) {
        if modified(source).is_none_or(|source| built >= source) {
            return;
        }
    }
    let dir = path.parent().expect("a cache path has a parent");
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let unique = PART_COUNTER.fetch_add(1, Ordering::Relaxed);
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a cache path has a file name");
    let part = dir.join(format!("{file_name}.{}-{unique}.part", std::process::id()));
    let _ = fs::remove_file(&part);
    let guard = RemoveOnDrop(&part);
    build(&part);
    fs::rename(&part, path).unwrap_or_else(|e| panic!("cannot rename {} to {}: {e}", part.display(), path.display()));
    std::mem::forget(guard);
}

/// Removes a half-built `.part` file when its builder panics.
struct RemoveOnDrop<'a>(&'a Path);

impl Drop for RemoveOnDrop<'_> {
    fn drop(&mut self) {
        let _ = fs::remove_file(self.0);
    }
}

/// Decompress a `.zst` file with the `zstd` tool.
fn decompress_zstd(src: &Path, dst: &Path) {
    assert!(
        src.exists(),
        "corpus capture {} is missing; {CORPUS_HELP}",
        src.display()
    );
    let status = Command::new("zstd")
        .args(["-q", "-f", "-d", "--long=27"])
        .arg(src)
        .arg("-o")
        .arg(dst)
        .status()
        .unwrap_or_else(|e| panic!("cannot run zstd ({e}): install it with `apt-get install zstd`"));
    assert!(status.success(), "zstd -d --long=27 {} failed: {status}", src.display());
}

/// One physical range of a LiME file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimeRange {
    /// First physical address.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
    /// File offset of the range's first byte.
    pub file_offset: u64,
}

impl LimeRange {
    /// One past the last physical address.
    pub fn end(&self) -> u64 {
        self.start + self.len
    }
}

/// The ranges of a LiME file, parsed here independently of memscope's reader.
pub fn lime_ranges(path: &Path) -> Vec<LimeRange> {
    let file = FileReader::open(path);
    let size = file.size();
    let mut ranges = Vec::new();
    let mut offset = 0;
    while offset < size {
        let mut h = [0u8; 32];
        file.read_at(offset, &mut h)
            .unwrap_or_else(|e| panic!("{}: header at {offset:#x}: {e}", path.display()));
        let word = |i: usize| u64::from_le_bytes(h[i..i + 8].try_into().unwrap());
        assert_eq!(&h[..4], b"EMiL", "{}: no LiME magic at {offset:#x}", path.display());
        let (start, last) = (word(8), word(16));
        let range = LimeRange {
            start,
            len: last - start + 1,
            file_offset: offset + 32,
        };
        assert!(
            range.file_offset + range.len <= size,
            "{}: range {start:#x} is cut off",
            path.display()
        );
        ranges.push(range);
        offset = range.file_offset + range.len;
        assert!(ranges.len() < 1 << 16, "{}: too many ranges", path.display());
    }
    ranges
}

/// The capture converted to AVML v2 by Microsoft's avml (`avml convert`), cached beside the LiME file.
pub fn avml_file(capture: &CorpusCapture) -> PathBuf {
    let path = capture.cache_dir().join("capture.avml");
    cached(&path, &capture.lime_path, |part| {
        let avml = std::env::var_os("AVML").map_or_else(|| PathBuf::from("avml"), PathBuf::from);
        let output = Command::new(&avml)
            .args(["convert", "--source-format", "lime", "--format", "lime_compressed"])
            .arg(&capture.lime_path)
            .arg(part)
            .output()
            .unwrap_or_else(|e| panic!("cannot run `{} convert` ({e}); {AVML_HELP}", avml.display()));
        assert!(
            output.status.success(),
            "`{} convert` failed ({}): {}; {AVML_HELP}",
            avml.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    });
    path
}

/// The capture as a raw file: physical memory from address 0, the gaps between LiME ranges left as holes
/// of a sparse file (they read as zeros). Cached beside the LiME file.
pub fn raw_file(capture: &CorpusCapture) -> PathBuf {
    let path = capture.cache_dir().join("capture.raw");
    cached(&path, &capture.lime_path, |part| {
        let ranges = lime_ranges(&capture.lime_path);
        let mut lime = File::open(&capture.lime_path).expect("open the LiME capture");
        let mut raw = File::create(part).unwrap_or_else(|e| panic!("cannot create {}: {e}", part.display()));
        let end = ranges.iter().map(LimeRange::end).max().unwrap_or(0);
        raw.set_len(end).expect("size the raw file");
        for r in &ranges {
            copy_range(&mut lime, r.file_offset, &mut raw, r.start, r.len);
        }
        raw.sync_all().expect("write the raw file");
    });
    path
}

/// Contents of the VMCOREINFO note the derived ELF core carries (deliberately not the manifest's
/// release: product code must identify the kernel from memory, not from test data).
pub const ELF_VMCOREINFO: &str = "OSRELEASE=memscope-test\nPAGESIZE=4096\n";

/// The capture as an ELF core: one PT_LOAD per LiME range (physical address in `p_paddr`) and a PT_NOTE
/// with a VMCOREINFO note holding [`ELF_VMCOREINFO`]. Cached beside the LiME file.
pub fn elf_file(capture: &CorpusCapture) -> PathBuf {
    let path = capture.cache_dir().join("capture.elf");
    cached(&path, &capture.lime_path, |part| {
        let ranges = lime_ranges(&capture.lime_path);
        let mut lime = File::open(&capture.lime_path).expect("open the LiME capture");
        let mut elf = File::create(part).unwrap_or_else(|e| panic!("cannot create {}: {e}", part.display()));

        let mut note = Vec::new();
        let name = b"VMCOREINFO\0";
        note.extend((name.len() as u32).to_le_bytes());
        note.extend((ELF_VMCOREINFO.len() as u32).to_le_bytes());
        note.extend(0u32.to_le_bytes());
        note.extend(name);
        note.resize(note.len().next_multiple_of(4), 0);
        note.extend(ELF_VMCOREINFO.as_bytes());
        note.resize(note.len().next_multiple_of(4), 0);

        let phnum = ranges.len() as u64 + 1;
        let note_offset = 64 + 56 * phnum;
        let mut data_offset = (note_offset + note.len() as u64).next_multiple_of(4096);
        let mut head = Vec::new();
        head.extend(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
        head.extend(4u16.to_le_bytes()); // ET_CORE
        head.extend(62u16.to_le_bytes()); // EM_X86_64
        head.extend(1u32.to_le_bytes()); // EV_CURRENT
        head.extend(0u64.to_le_bytes()); // e_entry
        head.extend(64u64.to_le_bytes()); // e_phoff
        head.extend(0u64.to_le_bytes()); // e_shoff
        head.extend(0u32.to_le_bytes()); // e_flags
        head.extend(64u16.to_le_bytes()); // e_ehsize
        head.extend(56u16.to_le_bytes()); // e_phentsize
        head.extend((phnum as u16).to_le_bytes());
        head.extend([0u8; 6]); // e_shentsize, e_shnum, e_shstrndx
        let mut phdr = |p_type: u32, flags: u32, offset: u64, paddr: u64, size: u64, align: u64| {
            head.extend(p_type.to_le_bytes());
            head.extend(flags.to_le_bytes());
            head.extend(offset.to_le_bytes());
            head.extend(0u64.to_le_bytes()); // p_vaddr: unknown, as QEMU writes for a non-paging dump
            head.extend(paddr.to_le_bytes());
            head.extend(size.to_le_bytes()); // p_filesz
            head.extend(size.to_le_bytes()); // p_memsz
            head.extend(align.to_le_bytes());
        };
        phdr(4, 0, note_offset, 0, note.len() as u64, 4); // PT_NOTE
        let mut placed = Vec::new();
        for r in &ranges {
            phdr(1, 7, data_offset, r.start, r.len, 0); // PT_LOAD
            placed.push((data_offset, *r));
            data_offset = (data_offset + r.len).next_multiple_of(4096);
        }
        head.extend(&note);
        elf.write_all(&head).expect("write the ELF headers");
        elf.set_len(data_offset).expect("size the ELF core");
        for (offset, r) in placed {
            copy_range(&mut lime, r.file_offset, &mut elf, offset, r.len);
        }
        elf.sync_all().expect("write the ELF core");
    });
    path
}

/// Copy `len` bytes at `src_offset` of `src` to `dst_offset` of `dst`.
fn copy_range(src: &mut File, src_offset: u64, dst: &mut File, dst_offset: u64, len: u64) {
    src.seek(SeekFrom::Start(src_offset)).expect("seek the source");
    dst.seek(SeekFrom::Start(dst_offset)).expect("seek the destination");
    let copied = io::copy(&mut Read::by_ref(src).take(len), dst).expect("copy a range");
    assert_eq!(copied, len, "short copy of a range");
}

/// The CLI's capture file reader ([`FileSource`]: positioned, bounds-checked reads), opened or the test
/// fails with the file's name.
pub struct FileReader(FileSource);

impl FileReader {
    /// Open `path` for reading.
    pub fn open(path: &Path) -> FileReader {
        FileReader(FileSource::open(path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display())))
    }
}

impl ReadAt for FileReader {
    fn size(&self) -> u64 {
        self.0.size()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        self.0.read_at(offset, buf)
    }
}

/// `inner` seen only up to `size` bytes: a capture cut short.
pub struct Truncated<R> {
    /// The whole source.
    pub inner: R,
    /// Bytes kept.
    pub size: u64,
}

impl<R: ReadAt> ReadAt for Truncated<R> {
    fn size(&self) -> u64 {
        self.size.min(self.inner.size())
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let size = self.size();
        if offset.checked_add(buf.len() as u64).is_none_or(|end| end > size) {
            return Err(ReadError::OutOfBounds {
                offset,
                len: buf.len(),
                size,
            });
        }
        self.inner.read_at(offset, buf)
    }
}

/// `path` behind a [`BlockCache`], as the CLI reads it.
pub fn file_source(path: &Path) -> BlockCache<FileReader> {
    BlockCache::new(FileReader::open(path), CacheConfig::default())
}

/// Open `path` with [`Capture::open`], panicking with the file's name on error.
pub fn open_capture(path: &Path) -> Capture {
    Capture::open(Box::new(file_source(path))).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()))
}

/// The symbols of a capture's kernel. The ISF is parsed once per test process; later calls load the pack
/// kept from that parse, which takes a millisecond instead of a second.
pub fn load_symbols(capture: &CorpusCapture) -> Rc<SymbolTable> {
    static PACKS: Mutex<BTreeMap<PathBuf, Vec<u8>>> = Mutex::new(BTreeMap::new());
    let path = &capture.symbols_path;
    let mut packs = PACKS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(pack) = packs.get(path) {
        return Rc::new(SymbolTable::from_pack(pack.clone()).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    }
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}; {CORPUS_HELP}", path.display()));
    let table = SymbolTable::from_isf(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    packs.insert(path.clone(), table.pack().to_vec());
    Rc::new(table)
}

/// The identified kernel of a capture's LiME file, with its symbols.
pub fn kernel(capture: &CorpusCapture) -> Kernel {
    let symbols = Symbols::Table {
        table: load_symbols(capture),
        name: capture.name.clone(),
    };
    session::open(
        FileReader::open(&capture.lime_path),
        CacheConfig::default(),
        symbols,
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("{}: kernel not identified: {e}", capture.name))
    .kernel
}

/// Queue `bytes` to be written at kernel virtual address `vaddr` of the direct map (`page_offset_base`
/// onwards), as (file offset, bytes) pairs for [`Patched`], split at page boundaries; panics if a page is
/// outside the direct map or the capture.
pub fn patch_direct_map(kernel: &Kernel, cap: &Capture, vaddr: u64, bytes: &[u8], patches: &mut Vec<(u64, Vec<u8>)>) {
    let pob = kernel
        .read_u64(kernel.symbol_addr("page_offset_base").expect("page_offset_base"))
        .expect("page_offset_base readable");
    let mut done = 0usize;
    while done < bytes.len() {
        let at = vaddr + done as u64;
        let take = (0x1000 - (at & 0xfff) as usize).min(bytes.len() - done);
        let phys = at
            .checked_sub(pob)
            .unwrap_or_else(|| panic!("{at:#x} is not in the direct map"));
        let seg = cap
            .segments()
            .iter()
            .find(|s| s.phys_start <= phys && phys < s.phys_end())
            .unwrap_or_else(|| panic!("{at:#x} (physical {phys:#x}) is not in the capture"));
        patches.push((
            seg.data_offset + (phys - seg.phys_start),
            bytes[done..done + take].to_vec(),
        ));
        done += take;
    }
}

/// The kernel of `capture` with the bytes at some of its file offsets replaced (see [`Patched`] and
/// [`patch_direct_map`]), identified with `symbols`; panics, naming the capture, when it cannot be.
pub fn patched_kernel(capture: &CorpusCapture, symbols: Rc<SymbolTable>, patches: Vec<(u64, Vec<u8>)>) -> Kernel {
    let reader = Patched {
        inner: FileReader::open(&capture.lime_path),
        patches,
    };
    let cap = Capture::open(Box::new(BlockCache::new(reader, CacheConfig::default())))
        .unwrap_or_else(|e| panic!("{}: damaged capture does not open: {e}", capture.name));
    memscope_core::kernel::identify(Rc::new(cap), symbols)
        .unwrap_or_else(|e| panic!("{}: damaged capture: {e}", capture.name))
}

/// A capture file with some of its bytes replaced: damage for robustness tests, at file offsets.
pub struct Patched {
    /// The undamaged file.
    pub inner: FileReader,
    /// (file offset, new bytes).
    pub patches: Vec<(u64, Vec<u8>)>,
}

impl ReadAt for Patched {
    fn size(&self) -> u64 {
        self.inner.size()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        self.inner.read_at(offset, buf)?;
        let end = offset + buf.len() as u64;
        for (at, bytes) in &self.patches {
            let p_end = at + bytes.len() as u64;
            if *at < end && offset < p_end {
                let (from, to) = ((*at).max(offset), p_end.min(end));
                buf[(from - offset) as usize..(to - offset) as usize]
                    .copy_from_slice(&bytes[(from - at) as usize..(to - at) as usize]);
            }
        }
        Ok(())
    }
}

/// The cross-kernel harness's captures (`scripts/xkernel`: 5.10 to 7.x), when `MEMSCOPE_XKERNEL` names
/// the folder of its `manifest.json` (each capture's folder also holds the kernel's System.map); none,
/// saying so for `test`, when it is unset. Panics, naming the file, when the variable is set and the
/// manifest cannot be read.
pub fn harness_captures(test: &str) -> Vec<CorpusCapture> {
    let Some(root) = std::env::var_os("MEMSCOPE_XKERNEL").map(PathBuf::from) else {
        println!(
            "{test}: the cross-kernel harness's captures are not checked (set MEMSCOPE_XKERNEL to the \
             folder of its manifest.json, scripts/xkernel/run.sh makes them)"
        );
        return Vec::new();
    };
    let manifest_path = root.join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path)
        .unwrap_or_else(|e| panic!("cannot read the harness manifest {}: {e}", manifest_path.display()));
    let manifest: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("harness manifest {} is not JSON: {e}", manifest_path.display()));
    let entries = manifest["captures"].as_array().cloned().unwrap_or_default();
    assert!(
        !entries.is_empty(),
        "harness manifest {} lists no capture",
        manifest_path.display()
    );
    entries
        .iter()
        .map(|e| {
            let field = |key: &str| {
                e[key]
                    .as_str()
                    .unwrap_or_else(|| panic!("a capture in {} lacks `{key}`", manifest_path.display()))
                    .to_string()
            };
            let name = field("name");
            let release = field("kernel_release");
            CorpusCapture {
                lime_path: root.join(field("capture")),
                symbols_path: root.join(field("symbols")),
                truth_dir: root.join(field("truth")),
                kernel_release: release,
                banner: field("banner"),
                markers: Default::default(),
                cached_files: Vec::new(),
                name,
            }
        })
        .collect()
}
