//! Tar archives of the files an analysis wrote for a directory option, for the page's downloads (the CLI
//! writes the files into the directory; the page offers them as one `.tar`). Written with the `tar`
//! crate: GNU headers (a name longer than 100 bytes is kept whole), modes 0644, owners root, times zero:
//! an archive says nothing about the machine that made it.

use std::io::Write;

use crate::analyses::FileSink;

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

/// A relative path made safe inside an archive or a directory: each `/`-separated component
/// [`safe_name`]d, empty ones dropped.
pub fn safe_path(path: &str) -> String {
    let parts: Vec<String> = path.split('/').filter(|p| !p.is_empty()).map(safe_name).collect();
    if parts.is_empty() {
        "_".to_string()
    } else {
        parts.join("/")
    }
}

/// A tar archive written file by file into `W`. As a [`FileSink`] it keeps the file being written until
/// the next one starts (a tar header comes before its file's bytes and is not rewritten), so it holds one
/// file at a time.
pub struct TarWriter<W: Write> {
    builder: tar::Builder<W>,
    current: Option<(String, Vec<u8>)>,
}

impl<W: Write> TarWriter<W> {
    /// An archive written into `out`.
    pub fn new(out: W) -> Self {
        let mut builder = tar::Builder::new(out);
        builder.mode(tar::HeaderMode::Deterministic);
        TarWriter { builder, current: None }
    }

    /// Add the file `name` (a relative path, made safe) holding `bytes`.
    pub fn add(&mut self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        self.flush_current()?;
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        self.builder.append_data(&mut header, safe_path(name), bytes)
    }

    fn flush_current(&mut self) -> std::io::Result<()> {
        match self.current.take() {
            Some((name, bytes)) => self.add(&name, &bytes),
            None => Ok(()),
        }
    }

    /// End the archive (two zero blocks) and give back what it was written into.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.flush_current()?;
        self.builder.into_inner()
    }
}

impl<W: Write> FileSink for TarWriter<W> {
    fn start(&mut self, name: &str, size: u64) -> Result<(), String> {
        self.flush_current().map_err(|e| e.to_string())?;
        self.current = Some((name.to_string(), Vec::with_capacity(size.min(1 << 26) as usize)));
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        match &mut self.current {
            Some((_, buf)) => {
                buf.extend_from_slice(bytes);
                Ok(())
            }
            None => Err("bytes before any file".into()),
        }
    }
}

/// A tar archive of `files` (name, bytes), in order.
pub fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut t = TarWriter::new(Vec::new());
    for (name, bytes) in files {
        // Writing into a Vec cannot fail; a name the crate refused would be a bug in safe_path.
        t.add(name, bytes).expect("a tar entry into memory");
    }
    t.finish().expect("a tar archive into memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (name, bytes) of each entry, read back with the crate's reader.
    fn entries(t: &[u8]) -> Vec<(String, Vec<u8>)> {
        use std::io::Read;
        let mut a = tar::Archive::new(t);
        a.entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let name = e.path().unwrap().to_string_lossy().into_owned();
                let mut bytes = Vec::new();
                e.read_to_end(&mut bytes).unwrap();
                (name, bytes)
            })
            .collect()
    }

    #[test]
    fn entries_read_back_with_safe_names() {
        let long = format!("files/{}/motd", "x".repeat(150));
        let t = tar(&[("receive.1.5", b"hello"), ("../etc/passwd", b""), (&long, b"long")]);
        assert_eq!(
            entries(&t),
            [
                ("receive.1.5".to_string(), b"hello".to_vec()),
                ("_/etc/passwd".to_string(), Vec::new()),
                (long.clone(), b"long".to_vec()),
            ]
        );
        assert!(t[t.len() - 1024..].iter().all(|&b| b == 0), "two zero blocks end it");
    }

    #[test]
    fn a_sink_writes_file_after_file() {
        let mut t = TarWriter::new(Vec::new());
        t.start("a/one", 3).unwrap();
        t.write(b"o").unwrap();
        t.write(b"ne").unwrap();
        t.start("two", 0).unwrap();
        let bytes = t.finish().unwrap();
        assert_eq!(
            entries(&bytes),
            [("a/one".to_string(), b"one".to_vec()), ("two".to_string(), Vec::new())]
        );
    }

    #[test]
    fn paths_stay_inside() {
        assert_eq!(safe_path("/etc/../motd"), "etc/_/motd");
        assert_eq!(safe_path(""), "_");
        assert_eq!(safe_name("a/b"), "a_b");
    }
}
