//! Packing a directory tree into a (optionally encrypted) `.tar.gz`.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;

use std::path::{Path, PathBuf};

use crate::checksum::{HashingWriter, Md5Digest};
use crate::error::{Error, Result};
use crate::kdf::{Format, Password};
use crate::parallel_gzip::ParallelGzEncoder;
use crate::progress::Progress;
use crate::stream::EncryptWriter;

#[cfg(doc)]
use super::list;

/// Options for [`pack`].
///
/// # Examples
///
/// ```
/// use a0backup::archive::PackOptions;
/// let o = PackOptions::new().level(9);
/// assert_eq!(o.gzip_level(), 9);
/// ```
///
/// Encrypted, under a chosen top-level name:
///
/// ```
/// use a0backup::archive::{list, pack, PackOptions};
/// use a0backup::{DecryptOptions, DecryptReader, Format, Password};
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("users.bson"), b"x")?;
/// let pw = Password::from("Passw0rd");
/// let options = PackOptions::new().prefix("dump").encrypt(pw.clone(), Format::OpenSslPbkdf2 { iterations: 1000 });
/// let mut enc = Vec::new();
/// pack(dir.path(), &mut enc, &options)?;
/// assert!(enc.starts_with(b"Salted__"));
/// let opts = DecryptOptions::new().format(Format::OpenSslPbkdf2 { iterations: 1000 });
/// let mut names = Vec::new();
/// list(DecryptReader::new(&enc[..], &pw, &opts)?, |e| names.push(e.path.clone()))?;
/// assert_eq!(names, [std::path::Path::new("dump"), std::path::Path::new("dump/users.bson")]);
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct PackOptions {
    level: u32,
    encryption: Option<(Password, Format)>,
    prefix: Option<PathBuf>,
}

impl Default for PackOptions {
    fn default() -> Self {
        PackOptions {
            level: 6,
            encryption: None,
            prefix: None,
        }
    }
}

impl PackOptions {
    /// gzip level 6, no encryption, entries under the directory's own name.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::archive::{list, pack, PackOptions};
    /// assert_eq!(PackOptions::new().gzip_level(), 6);
    /// let dir = tempfile::tempdir()?;
    /// std::fs::create_dir(dir.path().join("dump"))?;
    /// let mut gz = Vec::new();
    /// pack(&dir.path().join("dump"), &mut gz, &PackOptions::new())?;
    /// let mut names = Vec::new();
    /// list(&gz[..], |e| names.push(e.path.clone()))?;
    /// assert_eq!(names, [std::path::Path::new("dump")]);
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn new() -> PackOptions {
        PackOptions::default()
    }

    /// gzip level, 0 (store) to 9 (smallest). Values above 9 are taken as 9.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::archive::{pack, PackOptions};
    /// assert_eq!(PackOptions::new().level(12).gzip_level(), 9);
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("zeros"), vec![0u8; 100_000])?;
    /// let stored = pack(dir.path(), std::io::sink(), &PackOptions::new().level(0))?;
    /// let smallest = pack(dir.path(), std::io::sink(), &PackOptions::new().level(9))?;
    /// assert!(stored.output_bytes > 100_000);
    /// assert!(smallest.output_bytes < 1_000);
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn level(mut self, level: u32) -> Self {
        self.level = level.min(9);
        self
    }

    /// Encrypt the `.tar.gz` with this password in this format.
    pub fn encrypt(mut self, password: Password, format: Format) -> Self {
        self.encryption = Some((password, format));
        self
    }

    /// The path entries are stored under (default: the packed directory's own name, as
    /// `tar czf out.tar.gz dump` stores `dump/...`). An empty path stores them at the top.
    pub fn prefix(mut self, prefix: impl Into<PathBuf>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// The gzip level.
    pub fn gzip_level(&self) -> u32 {
        self.level
    }
}

/// What [`pack`] wrote.
///
/// # Examples
///
/// ```
/// use a0backup::archive::{pack, PackOptions, PackSummary};
/// let dir = tempfile::tempdir()?;
/// std::fs::create_dir(dir.path().join("dump"))?;
/// std::fs::write(dir.path().join("dump/a.bson"), b"abc")?;
/// std::fs::write(dir.path().join("dump/b.bson"), b"de")?;
/// let mut out = Vec::new();
/// let s: PackSummary = pack(&dir.path().join("dump"), &mut out, &PackOptions::new())?;
/// assert_eq!((s.entries, s.file_bytes), (3, 5));
/// assert_eq!(s.output_bytes, out.len() as u64);
/// assert_eq!(s.md5, a0backup::checksum::md5_bytes(&out));
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PackSummary {
    /// Entries written (files, directories, links).
    pub entries: u64,
    /// Bytes of file data packed.
    pub file_bytes: u64,
    /// Bytes written to the output (after gzip and encryption).
    pub output_bytes: u64,
    /// MD5 of the bytes written: what `a0cli backup-status` reports for a backup.
    pub md5: Md5Digest,
}

/// Packs the directory `dir` as a tar (GNU headers, so long and non-ASCII names survive), gzip
/// at the chosen level, optionally encrypted, into `output`.
///
/// Entries come in a stable order (sorted by name bytes, each directory before its contents);
/// files, directories (empty ones too) and symlinks are kept with their modes and mtimes.
///
/// # Errors
///
/// [`Error::Path`] for unreadable files, [`Error::InvalidArgument`] for special files (devices,
/// FIFOs, sockets) in the tree, and the output's I/O errors.
///
/// # Examples
///
/// ```
/// use a0backup::archive::{pack, PackOptions};
/// let dir = tempfile::tempdir()?;
/// std::fs::create_dir(dir.path().join("dump"))?;
/// std::fs::write(dir.path().join("dump/users.bson"), b"\x05\0\0\0\0")?;
/// let mut out = Vec::new();
/// let summary = pack(&dir.path().join("dump"), &mut out, &PackOptions::new())?;
/// assert_eq!(summary.entries, 2);
/// assert_eq!(summary.md5, a0backup::checksum::md5_bytes(&out));
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn pack<W: Write>(dir: &Path, output: W, options: &PackOptions) -> Result<PackSummary> {
    pack_with_progress(dir, output, options, &mut Progress::none())
}

/// [`pack`], reporting the bytes of file data packed so far (the total is not known up front).
///
/// # Errors
///
/// As [`pack`], and [`Error::Cancelled`] when `progress` asks to stop.
///
/// # Examples
///
/// ```
/// use a0backup::archive::{pack_with_progress, PackOptions};
/// use a0backup::{Error, Progress};
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("a.bson"), b"abc")?;
/// std::fs::write(dir.path().join("b.bson"), b"de")?;
/// let mut reports = Vec::new();
/// let mut progress = Progress::new(|done, total| { reports.push((done, total)); true });
/// pack_with_progress(dir.path(), std::io::sink(), &PackOptions::new(), &mut progress)?;
/// drop(progress);
/// assert_eq!(reports, [(3, None), (5, None)]);
///
/// let mut stop = Progress::new(|_, _| false);
/// let r = pack_with_progress(dir.path(), std::io::sink(), &PackOptions::new(), &mut stop);
/// assert!(matches!(r, Err(Error::Cancelled)));
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn pack_with_progress<W: Write>(
    dir: &Path,
    output: W,
    options: &PackOptions,
    progress: &mut Progress<'_>,
) -> Result<PackSummary> {
    let meta = fs::metadata(dir).map_err(Error::path(dir))?;
    if !meta.is_dir() {
        return Err(Error::InvalidArgument(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    let prefix = match &options.prefix {
        Some(p) => p.clone(),
        None => dir
            .canonicalize()
            .map_err(Error::path(dir))?
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_default(),
    };
    let mut hashing = HashingWriter::new(io::BufWriter::with_capacity(256 * 1024, output));
    let (entries, file_bytes) = match &options.encryption {
        Some((password, format)) => {
            let enc = EncryptWriter::new(&mut hashing, password, *format)?;
            let (enc, counts) = pack_tar_gz(dir, &prefix, enc, options.level, progress)?;
            enc.finish()?;
            counts
        }
        None => pack_tar_gz(dir, &prefix, &mut hashing, options.level, progress)?.1,
    };
    let output_bytes = hashing.bytes_written();
    let (mut inner, md5) = hashing.into_parts();
    inner.flush()?;
    Ok(PackSummary {
        entries,
        file_bytes,
        output_bytes,
        md5,
    })
}

fn pack_tar_gz<W: Write>(
    dir: &Path,
    prefix: &Path,
    out: W,
    level: u32,
    progress: &mut Progress<'_>,
) -> Result<(W, (u64, u64))> {
    let gz = ParallelGzEncoder::new(out, level)?;
    let mut builder = tar::Builder::new(gz);
    builder.mode(tar::HeaderMode::Complete);
    builder.follow_symlinks(false);
    let mut counts = (0u64, 0u64);
    if !prefix.as_os_str().is_empty() {
        append_entry(&mut builder, dir, prefix, &mut counts)?;
    }
    walk(&mut builder, dir, prefix, &mut counts, progress)?;
    let gz = builder.into_inner()?;
    Ok((gz.finish()?, counts))
}

fn walk<W: Write>(
    builder: &mut tar::Builder<W>,
    dir: &Path,
    name: &Path,
    counts: &mut (u64, u64),
    progress: &mut Progress<'_>,
) -> Result<()> {
    let mut children: Vec<_> = fs::read_dir(dir)
        .map_err(Error::path(dir))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<io::Result<_>>()
        .map_err(Error::path(dir))?;
    children.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    for child in children {
        let path = dir.join(&child);
        let entry_name = name.join(&child);
        let is_dir = append_entry(builder, &path, &entry_name, counts)?;
        progress.report(counts.1, None)?;
        if is_dir {
            walk(builder, &path, &entry_name, counts, progress)?;
        }
    }
    Ok(())
}

/// Appends one entry; returns whether it was a directory to descend into.
fn append_entry<W: Write>(
    builder: &mut tar::Builder<W>,
    path: &Path,
    name: &Path,
    counts: &mut (u64, u64),
) -> Result<bool> {
    let meta = fs::symlink_metadata(path).map_err(Error::path(path))?;
    let mut header = tar::Header::new_gnu();
    header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
    let ft = meta.file_type();
    counts.0 += 1;
    if ft.is_dir() {
        header.set_size(0);
        builder
            .append_data(&mut header, name, io::empty())
            .map_err(Error::path(path))?;
        Ok(true)
    } else if ft.is_file() {
        let f = File::open(path).map_err(Error::path(path))?;
        builder
            .append_data(&mut header, name, f)
            .map_err(Error::path(path))?;
        counts.1 += meta.len();
        Ok(false)
    } else if ft.is_symlink() {
        let target = fs::read_link(path).map_err(Error::path(path))?;
        header.set_size(0);
        builder
            .append_link(&mut header, name, &target)
            .map_err(Error::path(path))?;
        Ok(false)
    } else {
        Err(Error::InvalidArgument(format!(
            "{} is a special file (device, FIFO or socket); backups hold only files, directories and symlinks",
            path.display()
        )))
    }
}
