//! Packing, the appliance's direction: a directory (a mongodump tree) to a `.tar.gz`, encrypted
//! when a password is given, and the md5 that `a0cli backup-status` would report for it.
//!
//! The job composes the layers: the tar and gzip of `crate::archive` (gzip on every core),
//! encryption by [`EncryptWriter`], and an md5 of every byte written.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::archive::{write_tar_gz, TarGz, DEFAULT_LEVEL};
use crate::atomic_file::AtomicFile;
use crate::checksum::{HashingWriter, Md5Digest};
use crate::error::Result;
use crate::kdf::{Format, Password};
use crate::progress::Progress;
use crate::stream::EncryptWriter;

/// Options of [`pack_file`] and [`pack_writer`].
///
/// # Examples
///
/// ```
/// use a0backup::pack::{pack_writer, PackOptions};
/// use a0backup::{archive, DecryptOptions, DecryptReader, Format, Password};
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("users.bson"), b"x")?;
/// let pw = Password::from("Passw0rd");
/// let format = Format::OpenSslPbkdf2 { iterations: 1000 };
/// let options = PackOptions::new().prefix("dump").format(format).level(9);
/// let mut enc = Vec::new();
/// pack_writer(dir.path(), &mut enc, Some(&pw), options)?;
/// assert!(enc.starts_with(b"Salted__"));
/// let plain = DecryptReader::new(&enc[..], &pw, DecryptOptions::new().format(format))?;
/// let names: Vec<_> = archive::list(plain, archive::UnpackOptions::new())?
///     .map(|e| e.map(|e| e.path))
///     .collect::<Result<_, _>>()?;
/// assert_eq!(names, [std::path::Path::new("dump"), std::path::Path::new("dump/users.bson")]);
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug)]
pub struct PackOptions<'a> {
    level: u32,
    prefix: Option<PathBuf>,
    format: Format,
    replace: bool,
    sync: bool,
    progress: Progress<'a>,
}

impl Default for PackOptions<'_> {
    fn default() -> Self {
        PackOptions {
            level: DEFAULT_LEVEL,
            prefix: None,
            format: Format::Node,
            replace: false,
            sync: true,
            progress: Progress::none(),
        }
    }
}

impl<'a> PackOptions<'a> {
    /// gzip level 5, entries under the directory's own name, the appliance's format when a
    /// password is given, an existing output kept, the output made durable before it appears.
    ///
    /// Level 5, not gzip's 6: with the deflate of zlib-rs, level 5 makes mongodump data about
    /// 2.4% smaller than `gzip -6` does and takes about 16% less time than level 6
    /// (BENCHMARKS.md).
    pub fn new() -> Self {
        PackOptions::default()
    }

    /// gzip level, 0 (store) to 9 (smallest). Values above 9 are taken as 9.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::pack::{pack_writer, PackOptions};
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("zeros"), vec![0u8; 100_000])?;
    /// let stored = pack_writer(dir.path(), std::io::sink(), None, PackOptions::new().level(0))?;
    /// let smallest = pack_writer(dir.path(), std::io::sink(), None, PackOptions::new().level(9))?;
    /// assert!(stored.output_bytes > 100_000);
    /// assert!(smallest.output_bytes < 1_000);
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn level(mut self, level: u32) -> Self {
        self.level = level.min(9);
        self
    }

    /// The path entries are stored under (default: the packed directory's own name, as
    /// `tar czf out.tar.gz dump` stores `dump/...`). An empty path stores them at the top.
    pub fn prefix(mut self, prefix: impl Into<PathBuf>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// The format to encrypt in when a password is given (default: [`Format::Node`], the
    /// appliance's).
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// Replace an existing output file ([`pack_file`]), only ever by a complete one.
    pub fn replace(mut self, yes: bool) -> Self {
        self.replace = yes;
        self
    }

    /// Make the output file durable before it appears under its name (on by default): its
    /// data is flushed to stable storage before the rename and its directory after it.
    pub fn sync(mut self, yes: bool) -> Self {
        self.sync = yes;
        self
    }

    /// Where to report the bytes of file data packed so far (the total is not known up
    /// front); returning `false` cancels.
    pub fn progress(mut self, progress: Progress<'a>) -> Self {
        self.progress = progress;
        self
    }

    fn tar_gz(&self) -> TarGz {
        TarGz {
            level: self.level,
            prefix: self.prefix.clone(),
            leave_out: Vec::new(),
        }
    }
}

/// What a pack wrote.
///
/// # Examples
///
/// ```
/// use a0backup::pack::{pack_writer, PackOptions, PackSummary};
/// let dir = tempfile::tempdir()?;
/// std::fs::create_dir(dir.path().join("dump"))?;
/// std::fs::write(dir.path().join("dump/a.bson"), b"abc")?;
/// std::fs::write(dir.path().join("dump/b.bson"), b"de")?;
/// let mut out = Vec::new();
/// let s: PackSummary = pack_writer(&dir.path().join("dump"), &mut out, None, PackOptions::new())?;
/// assert_eq!((s.entries, s.file_bytes), (3, 5));
/// assert_eq!(s.output_bytes, out.len() as u64);
/// assert_eq!(s.md5, a0backup::checksum::md5_bytes(&out));
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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

/// Packs the directory `src` into the file `output`: a `.tar.gz`, encrypted with `password` in
/// the options' format when one is given. The output appears (by rename) only when complete
/// and flushed; it is left out of the archive if it is inside `src`, as GNU tar leaves out
/// "the archive; not dumped".
///
/// Each file is read as GNU tar reads it (opened without following a symlink, exactly the
/// size its open handle reports copied, checked afterwards not to have changed), so a file
/// that changed while it was packed fails the pack with [`Error::ChangedWhileReading`]
/// instead of shifting every later entry.
///
/// [`Error::ChangedWhileReading`]: crate::Error::ChangedWhileReading
///
/// # Errors
///
/// [`Error::AlreadyExists`](crate::Error::AlreadyExists) when `output` exists and replacing
/// it was not asked for; [`Error::Path`](crate::Error::Path) for files that cannot be read or
/// written; [`Error::InvalidArgument`](crate::Error::InvalidArgument) for a `src` that is not
/// a directory or holds special files (devices, FIFOs, sockets);
/// [`Error::ChangedWhileReading`]; [`Error::Cancelled`](crate::Error::Cancelled).
///
/// # Examples
///
/// ```
/// use a0backup::pack::{pack_file, PackOptions};
/// use a0backup::{checksum, Password};
/// let dir = tempfile::tempdir()?;
/// std::fs::create_dir(dir.path().join("dump"))?;
/// std::fs::write(dir.path().join("dump/users.bson"), b"\x05\0\0\0\0")?;
/// let out = dir.path().join("backup.tar.gz.enc");
/// let s = pack_file(&dir.path().join("dump"), &out, Some(&Password::from("Passw0rd")), PackOptions::new())?;
/// assert_eq!(s.md5, checksum::md5_file(&out)?);
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn pack_file(
    src: &Path,
    output: &Path,
    password: Option<&Password>,
    mut options: PackOptions<'_>,
) -> Result<PackSummary> {
    let out = AtomicFile::create(output, options.replace)?.sync(options.sync);
    let mut tar_gz = options.tar_gz();
    tar_gz.leave_out(&out.as_file().metadata()?);
    if let Ok(existing) = fs::symlink_metadata(output) {
        tar_gz.leave_out(&existing);
    }
    let packed = pack_layers(src, out.writer(), password, &tar_gz, &mut options);
    match packed {
        Ok(summary) => out.commit().map(|()| summary),
        Err(e) => Err(out.discard_after(e)),
    }
}

/// Packs the directory `src` into `output` (see [`pack_file`]); what was written is the
/// caller's to throw away on an error.
///
/// # Errors
///
/// As [`pack_file`], with the writer's errors as they come.
///
/// # Examples
///
/// ```
/// use a0backup::pack::{pack_writer, PackOptions};
/// use a0backup::{Error, Progress};
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("a.bson"), b"abc")?;
/// std::fs::write(dir.path().join("b.bson"), b"de")?;
/// let mut reports = Vec::new();
/// let options = PackOptions::new().progress(Progress::new(|done, total| { reports.push((done, total)); true }));
/// pack_writer(dir.path(), std::io::sink(), None, options)?;
/// assert_eq!(reports, [(3, None), (5, None)]);
///
/// let stop = PackOptions::new().progress(Progress::new(|_, _| false));
/// let r = pack_writer(dir.path(), std::io::sink(), None, stop);
/// assert!(matches!(r, Err(Error::Cancelled)));
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn pack_writer<W: Write>(
    src: &Path,
    output: W,
    password: Option<&Password>,
    mut options: PackOptions<'_>,
) -> Result<PackSummary> {
    let tar_gz = options.tar_gz();
    pack_layers(src, output, password, &tar_gz, &mut options)
}

/// tar and gzip, encryption when there is a password, and the md5 of every byte written.
fn pack_layers<W: Write>(
    src: &Path,
    output: W,
    password: Option<&Password>,
    tar_gz: &TarGz,
    options: &mut PackOptions<'_>,
) -> Result<PackSummary> {
    let mut hashing = HashingWriter::new(io::BufWriter::with_capacity(256 * 1024, output));
    let progress = &mut options.progress;
    let (entries, file_bytes) = match password {
        Some(password) => {
            let enc = EncryptWriter::new(&mut hashing, password, options.format)?;
            let (enc, counts) = write_tar_gz(src, enc, tar_gz, progress)?;
            enc.finish()?;
            counts
        }
        None => write_tar_gz(src, &mut hashing, tar_gz, progress)?.1,
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
