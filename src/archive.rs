//! Tar archives of a backup tree: pack a directory into a `.tar.gz`, list one, and unpack one
//! under a safety policy that cannot be skipped by accident.
//!
//! # Security
//!
//! [`unpack`] treats every archive as hostile. By default it writes only regular files and
//! directories, and refuses (with [`Error::UnsafeEntry`] naming the entry):
//!
//! * absolute paths, `..` components, and paths that would pass through a symlink, including
//!   names that come from GNU long-name records or PAX `path` overrides;
//! * symlinks and hardlinks, unless allowed by [`UnpackOptions::allow_symlinks`] /
//!   [`UnpackOptions::allow_hardlinks`], and then only when they resolve inside the destination
//!   without passing through another symlink (a hardlink must name a regular file extracted
//!   earlier from the same archive);
//! * devices, FIFOs, sparse files and other special entries;
//! * an entry that collides with an earlier one (never a silent overwrite).
//!
//! Setuid, setgid and sticky bits are dropped and ownership is never set. Limits on total bytes,
//! entry count and path length ([`UnpackOptions`]) stop a gzip bomb with
//! [`Error::LimitExceeded`] instead of a full disk. The gzip stream is read to its end (all
//! members, CRC and length checked), a tar stream that ends without its end-of-archive marker is
//! [`Error::Malformed`], and bytes after the marker are counted in
//! [`UnpackSummary::trailing_bytes`].
//!
//! The destination must be empty (or absent) so that nothing in it predates the archive; to
//! extract into a directory that is renamed into place only on success, use
//! [`restore`](crate::restore).

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use flate2::read::MultiGzDecoder;

use crate::checksum::{HashingWriter, Md5Digest};
use crate::error::{Error, Result};
use crate::kdf::{Format, Password};
use crate::parallel_gzip::ParallelGzEncoder;
use crate::progress::Progress;
use crate::stream::{EncryptWriter, GZIP_MAGIC};

/// What kind of entry an archive holds.
///
/// # Examples
///
/// ```
/// use a0backup::archive::{list, pack, EntryKind, PackOptions};
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("users.bson"), b"x")?;
/// std::os::unix::fs::symlink("users.bson", dir.path().join("latest"))?;
/// let mut gz = Vec::new();
/// pack(dir.path(), &mut gz, &PackOptions::new().prefix("dump"))?;
/// let mut kinds = Vec::new();
/// list(&gz[..], |e| kinds.push(e.kind))?;
/// assert_eq!(kinds, [EntryKind::Directory, EntryKind::Symlink, EntryKind::File]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A hard link to an earlier entry.
    Hardlink,
    /// A character or block device.
    Device,
    /// A named pipe.
    Fifo,
    /// Anything else (sparse files, vendor extensions).
    Other,
}

impl EntryKind {
    fn of(t: tar::EntryType) -> EntryKind {
        match t {
            tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
            tar::EntryType::Directory => EntryKind::Directory,
            tar::EntryType::Symlink => EntryKind::Symlink,
            tar::EntryType::Link => EntryKind::Hardlink,
            tar::EntryType::Char | tar::EntryType::Block => EntryKind::Device,
            tar::EntryType::Fifo => EntryKind::Fifo,
            _ => EntryKind::Other,
        }
    }

    /// A one-letter code as `ls -l` shows it: `-`, `d`, `l`, `h`, `c`, `p`, `?`.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::archive::EntryKind;
    /// let kinds = [EntryKind::File, EntryKind::Directory, EntryKind::Symlink, EntryKind::Fifo];
    /// assert_eq!(kinds.iter().map(EntryKind::letter).collect::<String>(), "-dlp");
    /// ```
    pub fn letter(&self) -> char {
        match self {
            EntryKind::File => '-',
            EntryKind::Directory => 'd',
            EntryKind::Symlink => 'l',
            EntryKind::Hardlink => 'h',
            EntryKind::Device => 'c',
            EntryKind::Fifo => 'p',
            EntryKind::Other => '?',
        }
    }
}

/// One entry of an archive, as [`list`] reports it.
///
/// # Examples
///
/// ```
/// use std::os::unix::fs::PermissionsExt;
/// use std::path::Path;
/// use a0backup::archive::{list, pack, EntryInfo, PackOptions};
/// let dir = tempfile::tempdir()?;
/// let file = dir.path().join("users.bson");
/// std::fs::write(&file, b"\x05\0\0\0\0")?;
/// std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640))?;
/// std::os::unix::fs::symlink("users.bson", dir.path().join("latest"))?;
/// let mut gz = Vec::new();
/// pack(dir.path(), &mut gz, &PackOptions::new().prefix(""))?;
/// let mut entries: Vec<EntryInfo> = Vec::new();
/// list(&gz[..], |e| entries.push(e.clone()))?;
/// let (link, users) = (&entries[0], &entries[1]);
/// assert_eq!(link.path, Path::new("latest"));
/// assert_eq!(link.link_target.as_deref(), Some(Path::new("users.bson")));
/// assert_eq!(users.path, Path::new("users.bson"));
/// assert_eq!((users.size, users.mode & 0o777), (5, 0o640));
/// assert!(users.mtime > 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EntryInfo {
    /// The path stored in the archive (long-name and PAX records applied).
    pub path: PathBuf,
    /// The entry's kind.
    pub kind: EntryKind,
    /// Size of the entry's data in bytes.
    pub size: u64,
    /// Permission bits as stored.
    pub mode: u32,
    /// Modification time, seconds since the Unix epoch.
    pub mtime: u64,
    /// Target of a symlink or hardlink.
    pub link_target: Option<PathBuf>,
}

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

/// Lists the entries of a `.tar.gz` stream (decrypt first with
/// [`DecryptReader`](crate::DecryptReader) for a `.tar.gz.enc`), calling `each` for every entry.
///
/// # Errors
///
/// [`Error::Malformed`] for a damaged gzip or tar stream (truncation included).
///
/// # Examples
///
/// ```
/// use a0backup::archive::{list, pack, PackOptions};
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("a.bson"), b"x")?;
/// let mut gz = Vec::new();
/// pack(dir.path(), &mut gz, &PackOptions::new().prefix(""))?;
/// let mut names = Vec::new();
/// list(&gz[..], |e| names.push(e.path.clone()))?;
/// assert_eq!(names, [std::path::PathBuf::from("a.bson")]);
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn list<R: Read>(gz: R, mut each: impl FnMut(&EntryInfo)) -> Result<()> {
    let eof = EofSignal::default();
    let mut archive = tar::Archive::new(EofFlag::new(GzipChecked::new(gz)?, eof.clone()));
    for entry in archive.entries().map_err(tar_err)? {
        let entry = entry.map_err(tar_err)?;
        let h = entry.header();
        let info = EntryInfo {
            path: PathBuf::from(OsStr::from_bytes(&entry.path_bytes())),
            kind: EntryKind::of(h.entry_type()),
            size: entry.size(),
            mode: h.mode().unwrap_or(0),
            mtime: h.mtime().unwrap_or(0),
            link_target: entry
                .link_name_bytes()
                .map(|b| PathBuf::from(OsStr::from_bytes(&b))),
        };
        if h.entry_type() == tar::EntryType::XGlobalHeader {
            continue;
        }
        each(&info);
    }
    if eof.get() {
        return Err(truncated_tar());
    }
    let mut rest = archive.into_inner();
    drain_counting(&mut rest, u64::MAX)?;
    Ok(())
}

/// Limits and permissions for [`unpack`].
///
/// # Examples
///
/// ```
/// use a0backup::archive::UnpackOptions;
/// let o = UnpackOptions::new().max_total_bytes(1 << 20).allow_symlinks(true);
/// assert_eq!(o.total_bytes_limit(), 1 << 20);
/// ```
///
/// A limit stops an archive that would exceed it:
///
/// ```
/// use a0backup::archive::{pack, unpack, PackOptions, UnpackOptions};
/// use a0backup::Error;
/// let src = tempfile::tempdir()?;
/// std::fs::write(src.path().join("big.bson"), vec![0u8; 10_000])?;
/// let mut gz = Vec::new();
/// pack(src.path(), &mut gz, &PackOptions::new().prefix(""))?;
/// let dest = tempfile::tempdir()?;
/// let small = UnpackOptions::new().max_total_bytes(1_000);
/// match unpack(&gz[..], dest.path(), &small) {
///     Err(Error::LimitExceeded { limit, .. }) => assert_eq!(limit, 1_000),
///     other => panic!("unexpected {other:?}"),
/// }
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct UnpackOptions {
    allow_symlinks: bool,
    allow_hardlinks: bool,
    max_total_bytes: u64,
    max_entries: u64,
    max_path_len: usize,
}

impl Default for UnpackOptions {
    fn default() -> Self {
        UnpackOptions {
            allow_symlinks: false,
            allow_hardlinks: false,
            max_total_bytes: 1 << 40,
            max_entries: 10_000_000,
            max_path_len: 4096,
        }
    }
}

impl UnpackOptions {
    /// Files and directories only; at most 1 TiB, 10 million entries, 4096-byte paths.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::archive::UnpackOptions;
    /// assert_eq!(UnpackOptions::new().total_bytes_limit(), 1 << 40);
    /// ```
    pub fn new() -> UnpackOptions {
        UnpackOptions::default()
    }

    /// Allow symlinks that resolve inside the destination.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::archive::{pack, unpack, PackOptions, UnpackOptions};
    /// use a0backup::Error;
    /// let src = tempfile::tempdir()?;
    /// std::fs::write(src.path().join("users.bson"), b"x")?;
    /// std::os::unix::fs::symlink("users.bson", src.path().join("latest"))?;
    /// let mut gz = Vec::new();
    /// pack(src.path(), &mut gz, &PackOptions::new().prefix(""))?;
    ///
    /// let refused = unpack(&gz[..], tempfile::tempdir()?.path(), &UnpackOptions::new());
    /// assert!(matches!(refused, Err(Error::UnsafeEntry { .. })));
    /// let dest = tempfile::tempdir()?;
    /// let s = unpack(&gz[..], dest.path(), &UnpackOptions::new().allow_symlinks(true))?;
    /// assert_eq!(s.links, 1);
    /// assert_eq!(std::fs::read_link(dest.path().join("latest"))?, std::path::Path::new("users.bson"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allow_symlinks(mut self, yes: bool) -> Self {
        self.allow_symlinks = yes;
        self
    }

    /// Allow hardlinks to regular files extracted earlier from the same archive.
    ///
    /// # Examples
    ///
    /// [`pack`] never writes hardlinks, so the option changes nothing for its archives:
    ///
    /// ```
    /// use a0backup::archive::{pack, unpack, PackOptions, UnpackOptions};
    /// let src = tempfile::tempdir()?;
    /// std::fs::write(src.path().join("users.bson"), b"x")?;
    /// std::fs::hard_link(src.path().join("users.bson"), src.path().join("copy.bson"))?;
    /// let mut gz = Vec::new();
    /// pack(src.path(), &mut gz, &PackOptions::new().prefix(""))?;
    /// let dest = tempfile::tempdir()?;
    /// let s = unpack(&gz[..], dest.path(), &UnpackOptions::new().allow_hardlinks(true))?;
    /// assert_eq!((s.files, s.links), (2, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allow_hardlinks(mut self, yes: bool) -> Self {
        self.allow_hardlinks = yes;
        self
    }

    /// The most bytes of file data to write (and to read past the end of the archive).
    pub fn max_total_bytes(mut self, bytes: u64) -> Self {
        self.max_total_bytes = bytes;
        self
    }

    /// The most entries to accept.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::archive::{pack, unpack, PackOptions, UnpackOptions};
    /// use a0backup::Error;
    /// let src = tempfile::tempdir()?;
    /// for name in ["a", "b", "c"] {
    ///     std::fs::write(src.path().join(name), b"x")?;
    /// }
    /// let mut gz = Vec::new();
    /// pack(src.path(), &mut gz, &PackOptions::new().prefix(""))?;
    /// let r = unpack(&gz[..], tempfile::tempdir()?.path(), &UnpackOptions::new().max_entries(2));
    /// assert!(matches!(r, Err(Error::LimitExceeded { limit: 2, .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_entries(mut self, entries: u64) -> Self {
        self.max_entries = entries;
        self
    }

    /// The longest entry path, in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::archive::{pack, unpack, PackOptions, UnpackOptions};
    /// use a0backup::Error;
    /// let src = tempfile::tempdir()?;
    /// std::fs::write(src.path().join("a-rather-long-name.bson"), b"x")?;
    /// let mut gz = Vec::new();
    /// pack(src.path(), &mut gz, &PackOptions::new().prefix(""))?;
    /// let r = unpack(&gz[..], tempfile::tempdir()?.path(), &UnpackOptions::new().max_path_len(8));
    /// assert!(matches!(r, Err(Error::LimitExceeded { limit: 8, .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_path_len(mut self, bytes: usize) -> Self {
        self.max_path_len = bytes;
        self
    }

    /// The total-bytes limit.
    pub fn total_bytes_limit(&self) -> u64 {
        self.max_total_bytes
    }
}

/// What [`unpack`] wrote.
///
/// # Examples
///
/// ```
/// use a0backup::archive::{pack, unpack, PackOptions, UnpackOptions, UnpackSummary};
/// let src = tempfile::tempdir()?;
/// std::fs::create_dir(src.path().join("admin"))?;
/// std::fs::write(src.path().join("admin/users.bson"), b"abc")?;
/// std::fs::write(src.path().join("oplog.bson"), b"de")?;
/// let mut gz = Vec::new();
/// pack(src.path(), &mut gz, &PackOptions::new().prefix("dump"))?;
/// let dest = tempfile::tempdir()?;
/// let s: UnpackSummary = unpack(&gz[..], dest.path(), &UnpackOptions::new())?;
/// assert_eq!((s.files, s.directories, s.links, s.bytes), (2, 2, 0, 5));
/// assert_eq!(s.trailing_bytes, 0);
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnpackSummary {
    /// Regular files written.
    pub files: u64,
    /// Directories created (explicit entries and implied parents).
    pub directories: u64,
    /// Symlinks and hardlinks created.
    pub links: u64,
    /// Bytes of file data written.
    pub bytes: u64,
    /// Bytes after the end-of-archive marker that are not zero padding.
    pub trailing_bytes: u64,
}

/// Unpacks a `.tar.gz` stream into `dest`, which must be empty or not exist yet. See the
/// [module docs](self) for what is refused.
///
/// On an error, what was written so far stays in `dest`; [`restore`](crate::restore) extracts
/// into a staging directory and removes it on failure.
///
/// # Errors
///
/// [`Error::UnsafeEntry`], [`Error::LimitExceeded`], [`Error::Malformed`] (bad or truncated
/// gzip or tar), [`Error::WrongPassword`] when the stream does not start with a gzip header,
/// [`Error::AlreadyExists`] when `dest` is not empty, and I/O errors.
///
/// # Examples
///
/// ```
/// use a0backup::archive::{pack, unpack, PackOptions, UnpackOptions};
/// let src = tempfile::tempdir()?;
/// std::fs::write(src.path().join("users.bson"), b"\x05\0\0\0\0")?;
/// let mut gz = Vec::new();
/// pack(src.path(), &mut gz, &PackOptions::new().prefix("dump"))?;
/// let dest = tempfile::tempdir()?;
/// let s = unpack(&gz[..], dest.path(), &UnpackOptions::new())?;
/// assert_eq!(s.files, 1);
/// assert_eq!(std::fs::read(dest.path().join("dump/users.bson"))?, b"\x05\0\0\0\0");
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn unpack<R: Read>(gz: R, dest: &Path, options: &UnpackOptions) -> Result<UnpackSummary> {
    prepare_empty_dest(dest)?;
    let eof = EofSignal::default();
    unpack_tar_checked(
        EofFlag::new(GzipChecked::new(gz)?, eof.clone()),
        eof,
        dest,
        options,
    )
}

fn prepare_empty_dest(dest: &Path) -> Result<()> {
    match fs::read_dir(dest) {
        Ok(mut it) => {
            if it.next().is_some() {
                return Err(Error::AlreadyExists(dest.to_path_buf()));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir(dest).map_err(Error::path(dest))
        }
        Err(e) => Err(Error::Path {
            path: dest.to_path_buf(),
            source: e,
        }),
    }
}

/// Unpacks an uncompressed tar stream whose end-of-stream is signalled through `eof`.
pub(crate) fn unpack_tar_checked<R: Read>(
    tar_stream: R,
    eof: EofSignal,
    dest: &Path,
    options: &UnpackOptions,
) -> Result<UnpackSummary> {
    let mut archive = tar::Archive::new(tar_stream);
    let mut state = Extraction::new(dest, options);
    for entry in archive.entries().map_err(tar_err)? {
        let mut entry = entry.map_err(tar_err)?;
        state.entry(&mut entry)?;
    }
    if eof.get() {
        return Err(truncated_tar());
    }
    state.finish_directories()?;
    let mut rest = archive.into_inner();
    state.summary.trailing_bytes = drain_counting(&mut rest, options.max_total_bytes)?;
    Ok(state.summary)
}

fn truncated_tar() -> Error {
    Error::malformed(
        "tar archive",
        None,
        "the stream ended before the end-of-archive marker (truncated)",
    )
}

/// Converts an error from the tar crate, keeping errors that travelled through it.
fn tar_err(e: io::Error) -> Error {
    match Error::from(e) {
        Error::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => truncated_tar(),
        Error::Io(e)
            if e.kind() == io::ErrorKind::InvalidData || e.kind() == io::ErrorKind::Other =>
        {
            Error::malformed("tar archive", None, e.to_string())
        }
        other => other,
    }
}

/// Reads the rest of a stream (checking gzip to its end) and counts bytes that are not zero.
fn drain_counting<R: Read>(r: &mut R, limit: u64) -> Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut nonzero = 0u64;
    let mut total = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(nonzero),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(tar_err(e)),
        };
        total += n as u64;
        if total > limit {
            return Err(Error::LimitExceeded {
                what: "bytes after the end of the archive",
                limit,
            });
        }
        nonzero += buf[..n].iter().filter(|&&b| b != 0).count() as u64;
    }
}

/// Whether the stream under the tar reader reached its end.
pub(crate) type EofSignal = std::rc::Rc<std::cell::Cell<bool>>;

/// Records whether the inner reader reached its end. tar stops at the end-of-archive marker
/// without reading further, so reaching the end during the entries means the marker is missing.
pub(crate) struct EofFlag<R> {
    inner: R,
    eof: EofSignal,
}

impl<R> EofFlag<R> {
    pub(crate) fn new(inner: R, eof: EofSignal) -> Self {
        EofFlag { inner, eof }
    }
}

impl<R: Read> Read for EofFlag<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.eof.set(true);
        }
        Ok(n)
    }
}

/// A gzip decoder that first checks the magic (a wrong password shows here) and maps damage to
/// [`Error::Malformed`].
pub(crate) struct GzipChecked<R: Read> {
    inner: MultiGzDecoder<io::Chain<io::Cursor<[u8; 3]>, R>>,
}

impl<R: Read> GzipChecked<R> {
    pub(crate) fn new(mut r: R) -> Result<Self> {
        let mut magic = [0u8; 3];
        let n = crate::pipeline::read_full(&mut r, &mut magic)?;
        if n < 3 || magic != GZIP_MAGIC {
            return Err(Error::WrongPassword {
                detail: if n < 3 {
                    "the stream is too short to be gzip".into()
                } else {
                    "the stream does not start with a gzip header".into()
                },
            });
        }
        let chained = io::Cursor::new(magic).chain(r);
        Ok(GzipChecked {
            inner: MultiGzDecoder::new(chained),
        })
    }
}

impl<R: Read> Read for GzipChecked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(gzip_error)
    }
}

fn gzip_error(e: io::Error) -> io::Error {
    let travelled = e.get_ref().is_some_and(|i| i.is::<Error>());
    if travelled || e.kind() == io::ErrorKind::Interrupted {
        return e;
    }
    io::Error::from(Error::malformed(
        "gzip stream",
        None,
        if e.kind() == io::ErrorKind::UnexpectedEof {
            "truncated".to_string()
        } else {
            e.to_string()
        },
    ))
}

/// The state of one extraction: what exists, what is a link, how much was written.
struct Extraction<'a> {
    dest: &'a Path,
    options: &'a UnpackOptions,
    summary: UnpackSummary,
    entries: u64,
    /// Directories that exist, created explicitly (true) or as implied parents (false).
    dirs: std::collections::HashMap<PathBuf, bool>,
    files: HashSet<PathBuf>,
    symlinks: HashSet<PathBuf>,
    /// Paths that a symlink target's resolution passed through; nothing may become a symlink
    /// there later.
    traversed_by_links: HashSet<PathBuf>,
    /// Directory modes and mtimes to apply last, so that extraction can write into them.
    dir_attrs: Vec<(PathBuf, u32, Option<u64>)>,
    buf: Vec<u8>,
}

impl<'a> Extraction<'a> {
    fn new(dest: &'a Path, options: &'a UnpackOptions) -> Self {
        Extraction {
            dest,
            options,
            summary: UnpackSummary::default(),
            entries: 0,
            dirs: Default::default(),
            files: HashSet::new(),
            symlinks: HashSet::new(),
            traversed_by_links: HashSet::new(),
            dir_attrs: Vec::new(),
            buf: vec![0u8; 256 * 1024],
        }
    }

    fn refuse(path: &[u8], reason: impl Into<String>) -> Error {
        Error::UnsafeEntry {
            path: String::from_utf8_lossy(path).into_owned(),
            reason: reason.into(),
        }
    }

    /// The entry's path as normal components only.
    fn safe_relative(&self, raw: &[u8]) -> Result<PathBuf> {
        if raw.len() > self.options.max_path_len {
            return Err(Error::LimitExceeded {
                what: "entry path length",
                limit: self.options.max_path_len as u64,
            });
        }
        let mut out = PathBuf::new();
        for c in Path::new(OsStr::from_bytes(raw)).components() {
            match c {
                Component::Normal(n) => out.push(n),
                Component::CurDir => {}
                Component::ParentDir => return Err(Self::refuse(raw, "path contains '..'")),
                Component::RootDir | Component::Prefix(_) => {
                    return Err(Self::refuse(raw, "absolute path"))
                }
            }
        }
        if out.as_os_str().is_empty() {
            return Err(Self::refuse(raw, "empty path"));
        }
        for ancestor in out.ancestors().skip(1) {
            if self.symlinks.contains(ancestor) {
                return Err(Self::refuse(raw, "path passes through a symlink"));
            }
        }
        Ok(out)
    }

    fn ensure_parents(&mut self, rel: &Path, raw: &[u8]) -> Result<()> {
        let Some(parent) = rel.parent() else {
            return Ok(());
        };
        if parent.as_os_str().is_empty() || self.dirs.contains_key(parent) {
            return Ok(());
        }
        let mut missing: Vec<&Path> = Vec::new();
        for a in parent.ancestors() {
            if a.as_os_str().is_empty() || self.dirs.contains_key(a) {
                break;
            }
            if self.files.contains(a) || self.symlinks.contains(a) {
                return Err(Self::refuse(
                    raw,
                    "a parent of this entry is not a directory",
                ));
            }
            missing.push(a);
        }
        for a in missing.into_iter().rev() {
            let full = self.dest.join(a);
            fs::DirBuilder::new()
                .mode(0o700)
                .create(&full)
                .map_err(Error::path(&full))?;
            self.dirs.insert(a.to_path_buf(), false);
            self.summary.directories += 1;
            self.dir_attrs.push((a.to_path_buf(), 0o755, None));
        }
        Ok(())
    }

    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<()> {
        let raw = entry.path_bytes().into_owned();
        let entry_type = entry.header().entry_type();
        if matches!(
            entry_type,
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader
        ) {
            return Ok(());
        }
        self.entries += 1;
        if self.entries > self.options.max_entries {
            return Err(Error::LimitExceeded {
                what: "entry count",
                limit: self.options.max_entries,
            });
        }
        let rel = self.safe_relative(&raw)?;
        let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
        let mtime = entry.header().mtime().ok();
        match EntryKind::of(entry_type) {
            EntryKind::Directory => self.directory(&rel, &raw, mode, mtime),
            EntryKind::File => self.file(entry, &rel, &raw, mode, mtime),
            EntryKind::Symlink => self.symlink(entry, &rel, &raw),
            EntryKind::Hardlink => self.hardlink(entry, &rel, &raw),
            EntryKind::Device => Err(Self::refuse(&raw, "device entries are never extracted")),
            EntryKind::Fifo => Err(Self::refuse(&raw, "FIFO entries are never extracted")),
            EntryKind::Other => Err(Self::refuse(
                &raw,
                format!("unsupported entry type {:?}", entry_type),
            )),
        }
    }

    fn collision(raw: &[u8]) -> Error {
        Self::refuse(raw, "collides with an earlier entry")
    }

    fn directory(&mut self, rel: &Path, raw: &[u8], mode: u32, mtime: Option<u64>) -> Result<()> {
        match self.dirs.get(rel) {
            Some(true) => return Err(Self::collision(raw)),
            Some(false) => {
                self.dirs.insert(rel.to_path_buf(), true);
            }
            None => {
                if self.files.contains(rel) || self.symlinks.contains(rel) {
                    return Err(Self::collision(raw));
                }
                self.ensure_parents(rel, raw)?;
                let full = self.dest.join(rel);
                fs::DirBuilder::new()
                    .mode(0o700)
                    .create(&full)
                    .map_err(|e| self.create_error(e, raw, &full))?;
                self.dirs.insert(rel.to_path_buf(), true);
                self.summary.directories += 1;
            }
        }
        self.dir_attrs.push((rel.to_path_buf(), mode, mtime));
        Ok(())
    }

    fn create_error(&self, e: io::Error, raw: &[u8], full: &Path) -> Error {
        if e.kind() == io::ErrorKind::AlreadyExists {
            Self::collision(raw)
        } else {
            Error::Path {
                path: full.to_path_buf(),
                source: e,
            }
        }
    }

    fn file<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        rel: &Path,
        raw: &[u8],
        mode: u32,
        mtime: Option<u64>,
    ) -> Result<()> {
        let size = entry.size();
        if self.summary.bytes.saturating_add(size) > self.options.max_total_bytes {
            return Err(Error::LimitExceeded {
                what: "total bytes extracted",
                limit: self.options.max_total_bytes,
            });
        }
        if self.dirs.contains_key(rel) {
            return Err(Self::collision(raw));
        }
        self.ensure_parents(rel, raw)?;
        let full = self.dest.join(rel);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&full)
            .map_err(|e| self.create_error(e, raw, &full))?;
        self.files.insert(rel.to_path_buf());
        let mut written = 0u64;
        loop {
            let n = match entry.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(tar_err(e)),
            };
            f.write_all(&self.buf[..n]).map_err(Error::path(&full))?;
            written += n as u64;
        }
        if written != size {
            return Err(truncated_tar());
        }
        self.summary.bytes += written;
        self.summary.files += 1;
        f.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(Error::path(&full))?;
        if let Some(t) = mtime {
            f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(t))
                .map_err(Error::path(&full))?;
        }
        Ok(())
    }

    fn symlink<R: Read>(
        &mut self,
        entry: &tar::Entry<'_, R>,
        rel: &Path,
        raw: &[u8],
    ) -> Result<()> {
        if !self.options.allow_symlinks {
            return Err(Self::refuse(
                raw,
                "symlinks are not allowed (opt in to extract them)",
            ));
        }
        let target = entry
            .link_name_bytes()
            .ok_or_else(|| Self::refuse(raw, "symlink without a target"))?
            .into_owned();
        if self.traversed_by_links.contains(rel) {
            return Err(Self::refuse(
                raw,
                "an earlier symlink resolves through this path",
            ));
        }
        // Resolve the target from the link's directory, lexically, refusing to leave the
        // destination or to pass through another symlink.
        let mut at: PathBuf = rel.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut traversed = Vec::new();
        let target_path = Path::new(OsStr::from_bytes(&target));
        let components: Vec<_> = target_path.components().collect();
        for (i, c) in components.iter().enumerate() {
            match c {
                Component::Normal(n) => {
                    at.push(n);
                    let last = i + 1 == components.len();
                    if !last {
                        if self.symlinks.contains(&at) {
                            return Err(Self::refuse(
                                raw,
                                "symlink target passes through a symlink",
                            ));
                        }
                        traversed.push(at.clone());
                    }
                }
                Component::CurDir => {}
                Component::ParentDir => {
                    if !at.pop() {
                        return Err(Self::refuse(raw, "symlink target leaves the destination"));
                    }
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(Self::refuse(raw, "symlink target is absolute"))
                }
            }
        }
        if self.dirs.contains_key(rel) || self.files.contains(rel) || self.symlinks.contains(rel) {
            return Err(Self::collision(raw));
        }
        self.ensure_parents(rel, raw)?;
        let full = self.dest.join(rel);
        std::os::unix::fs::symlink(target_path, &full)
            .map_err(|e| self.create_error(e, raw, &full))?;
        self.symlinks.insert(rel.to_path_buf());
        self.traversed_by_links.extend(traversed);
        self.summary.links += 1;
        Ok(())
    }

    fn hardlink<R: Read>(
        &mut self,
        entry: &tar::Entry<'_, R>,
        rel: &Path,
        raw: &[u8],
    ) -> Result<()> {
        if !self.options.allow_hardlinks {
            return Err(Self::refuse(
                raw,
                "hardlinks are not allowed (opt in to extract them)",
            ));
        }
        let target = entry
            .link_name_bytes()
            .ok_or_else(|| Self::refuse(raw, "hardlink without a target"))?
            .into_owned();
        let target_rel = self
            .safe_relative(&target)
            .map_err(|_| Self::refuse(raw, "hardlink target is outside the destination"))?;
        if !self.files.contains(&target_rel) {
            return Err(Self::refuse(
                raw,
                "hardlink target is not a regular file extracted earlier from this archive",
            ));
        }
        if self.dirs.contains_key(rel) || self.symlinks.contains(rel) {
            return Err(Self::collision(raw));
        }
        self.ensure_parents(rel, raw)?;
        let full = self.dest.join(rel);
        fs::hard_link(self.dest.join(&target_rel), &full)
            .map_err(|e| self.create_error(e, raw, &full))?;
        self.files.insert(rel.to_path_buf());
        self.summary.links += 1;
        Ok(())
    }

    fn finish_directories(&mut self) -> Result<()> {
        // Deepest first, so setting a parent's mtime is not undone by touching a child.
        let mut attrs = std::mem::take(&mut self.dir_attrs);
        attrs.sort_by_key(|a| std::cmp::Reverse(a.0.components().count()));
        for (rel, mode, mtime) in attrs {
            let full = self.dest.join(&rel);
            if let Some(t) = mtime {
                let d = File::open(&full).map_err(Error::path(&full))?;
                d.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(t))
                    .map_err(Error::path(&full))?;
            }
            fs::set_permissions(&full, fs::Permissions::from_mode(mode))
                .map_err(Error::path(&full))?;
        }
        Ok(())
    }
}
