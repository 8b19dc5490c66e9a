//! Whole-file decryption, encryption and verification, with outputs that appear only when
//! complete.
//!
//! Every output is written to a temporary file beside its final name and renamed into place only
//! after everything checked out, so a failure (a wrong password, an MD5 mismatch, a full disk,
//! a cancel) never leaves a partial file under the final name, and an existing file is replaced
//! only when asked and only by a complete one.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::checksum::Md5Digest;
use crate::durable::{self, Kind, Owned, Pattern};
use crate::error::{Error, Leftover, Result};
use crate::kdf::{Format, Password};
use crate::pipeline::{copy_with_writer_thread, MaybeHashed, CHUNK};
use crate::progress::Progress;
use crate::stream::{DecryptOptions, DecryptReader, EncryptWriter};

/// Options for the whole-file operations.
///
/// # Examples
///
/// ```
/// use a0backup::files::FileOptions;
/// let opts = FileOptions::new().overwrite(true).expected_md5(Some("d41d8cd98f00b204e9800998ecf8427e".parse()?));
/// assert!(opts.overwrites());
/// # Ok::<(), a0backup::Error>(())
/// ```
///
/// The MD5 without a value to check it against, a format that detection cannot find, and
/// progress reports:
///
/// ```
/// use a0backup::{files, DecryptOptions, Format, Password, Progress};
/// let pw = Password::from("Passw0rd");
/// let mut enc = Vec::new();
/// files::encrypt_stream(&b"bson"[..], &mut enc, None, &pw, Format::OpenSslMd5, files::FileOptions::new())?;
/// let mut last = 0;
/// let opts = files::FileOptions::new()
///     .compute_md5(true)
///     .decrypt_options(DecryptOptions::new().format(Format::OpenSslMd5))
///     .progress(Progress::new(|done, _| { last = done; true }));
/// let s = files::decrypt_stream(&enc[..], Vec::new(), None, &pw, opts)?;
/// assert_eq!(s.ciphertext_md5, Some(a0backup::checksum::md5_bytes(&enc)));
/// assert_eq!(last, enc.len() as u64);
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct FileOptions<'a> {
    overwrite: bool,
    expected_md5: Option<Md5Digest>,
    compute_md5: bool,
    decrypt: DecryptOptions,
    progress: Progress<'a>,
    no_sync: bool,
}

impl<'a> FileOptions<'a> {
    /// Defaults: never overwrite, no MD5 check, detect the format.
    pub fn new() -> FileOptions<'a> {
        FileOptions::default()
    }

    /// Replace an existing output (only ever by a complete one).
    pub fn overwrite(mut self, yes: bool) -> Self {
        self.overwrite = yes;
        self
    }

    /// Check the MD5 of the encrypted file (the input of a decrypt); on a mismatch nothing is
    /// published and the error is [`Error::ChecksumMismatch`].
    pub fn expected_md5(mut self, md5: Option<Md5Digest>) -> Self {
        self.expected_md5 = md5;
        self
    }

    /// Compute the MD5 of the encrypted side even without an expected value, for the summary.
    pub fn compute_md5(mut self, yes: bool) -> Self {
        self.compute_md5 = yes;
        self
    }

    /// How to read the encrypted input.
    pub fn decrypt_options(mut self, options: DecryptOptions) -> Self {
        self.decrypt = options;
        self
    }

    /// Where to report progress (bytes of input processed).
    pub fn progress(mut self, progress: Progress<'a>) -> Self {
        self.progress = progress;
        self
    }

    /// Whether an existing output may be replaced.
    pub fn overwrites(&self) -> bool {
        self.overwrite
    }

    /// Whether to make an output file durable before it appears under its name (on by
    /// default): its data is flushed to stable storage (fsync) before the rename and its
    /// directory after it, so that after a power loss the name holds either the old file or
    /// the complete new one. Off, the kernel writes it back in its own time. Applies to the
    /// `*_file` functions; a stream written to a caller's writer is the caller's to flush.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::files::FileOptions;
    /// assert!(FileOptions::new().syncs());
    /// assert!(!FileOptions::new().sync(false).syncs());
    /// ```
    pub fn sync(mut self, yes: bool) -> Self {
        self.no_sync = !yes;
        self
    }

    /// Whether output files are made durable before they are published.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::files::FileOptions;
    /// let o = FileOptions::new().overwrite(true).sync(false);
    /// assert!(!o.syncs() && o.overwrites());
    /// ```
    pub fn syncs(&self) -> bool {
        !self.no_sync
    }
}

/// What a decryption did.
///
/// # Examples
///
/// ```
/// use a0backup::{files, Format, Password};
/// let pw = Password::from("Passw0rd");
/// let mut enc = Vec::new();
/// files::encrypt_stream(&b"bson"[..], &mut enc, None, &pw, Format::OpenSslMd5, files::FileOptions::new())?;
/// let opts = files::FileOptions::new().decrypt_options(a0backup::DecryptOptions::new().format(Format::OpenSslMd5));
/// let s: files::DecryptSummary = files::decrypt_stream(&enc[..], Vec::new(), None, &pw, opts)?;
/// assert_eq!(s.format, Format::OpenSslMd5);
/// assert_eq!((s.ciphertext_bytes, s.plaintext_bytes), (16 + 4, 4));
/// assert_eq!(s.ciphertext_md5, None);
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecryptSummary {
    /// The format the input was read as.
    pub format: Format,
    /// Bytes of encrypted input, header included.
    pub ciphertext_bytes: u64,
    /// Bytes of plaintext written.
    pub plaintext_bytes: u64,
    /// MD5 of the encrypted input, when it was computed (an expected MD5 was given, or
    /// [`FileOptions::compute_md5`]).
    pub ciphertext_md5: Option<Md5Digest>,
}

/// What an encryption did.
///
/// # Examples
///
/// ```
/// use a0backup::{checksum::md5_bytes, files, Format, Password};
/// let mut enc = Vec::new();
/// let s: files::EncryptSummary = files::encrypt_stream(
///     &b"bson"[..], &mut enc, None, &Password::from("Passw0rd"), Format::Node, files::FileOptions::new())?;
/// assert_eq!(s.ciphertext_bytes, 4);
/// assert_eq!(s.ciphertext_md5, md5_bytes(&enc));
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EncryptSummary {
    /// Bytes of encrypted output, header included.
    pub ciphertext_bytes: u64,
    /// MD5 of the encrypted output: what `a0cli backup-status` would report for it.
    pub ciphertext_md5: Md5Digest,
}

/// Decrypts `input` into `output`.
///
/// The output appears (atomically, by rename) only if the whole input decrypted and, when an
/// MD5 was expected, it matched. With [`DecryptOptions::expect_gzip`] a wrong password is
/// found from the first bytes, before the output is created at all.
///
/// # Errors
///
/// [`Error::AlreadyExists`] when `output` exists and overwrite was not asked for,
/// [`Error::Path`] for files that cannot be read or written (a missing output directory among
/// them), [`Error::WrongPassword`], [`Error::ChecksumMismatch`], [`Error::Malformed`],
/// [`Error::Cancelled`].
///
/// # Examples
///
/// ```
/// use a0backup::{files, Password};
/// let dir = tempfile::tempdir()?;
/// let (plain, enc, back) = (dir.path().join("a"), dir.path().join("a.enc"), dir.path().join("b"));
/// std::fs::write(&plain, b"backup")?;
/// let pw = Password::from("Passw0rd");
/// let made = files::encrypt_file(&plain, &enc, &pw, a0backup::Format::Node, files::FileOptions::new())?;
/// let opts = files::FileOptions::new().expected_md5(Some(made.ciphertext_md5));
/// files::decrypt_file(&enc, &back, &pw, opts)?;
/// assert_eq!(std::fs::read(&back)?, b"backup");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decrypt_file(
    input: &Path,
    output: &Path,
    password: &Password,
    options: FileOptions<'_>,
) -> Result<DecryptSummary> {
    let source = File::open(input).map_err(Error::path(input))?;
    let total = source.metadata().ok().map(|m| m.len());
    decrypt_to_file(
        Labeled::new(source, input),
        total,
        output,
        password,
        options,
    )
}

/// Decrypts a reader (stdin, a socket) into the file `output`, with the guarantees of
/// [`decrypt_file`]: the file appears only when complete and checked.
///
/// # Errors
///
/// As [`decrypt_file`].
///
/// # Examples
///
/// ```
/// use a0backup::{files, Error, Format, Password};
/// let pw = Password::from("Passw0rd");
/// let mut enc = Vec::new();
/// let made = files::encrypt_stream(&b"bson"[..], &mut enc, None, &pw, Format::Node, files::FileOptions::new())?;
/// let dir = tempfile::tempdir()?;
/// let out = dir.path().join("backup.tar.gz");
///
/// let damaged = [&enc[..3], &b"!"[..]].concat();
/// let opts = files::FileOptions::new().expected_md5(Some(made.ciphertext_md5));
/// let r = files::decrypt_to_file(&damaged[..], None, &out, &pw, opts);
/// assert!(matches!(r, Err(Error::ChecksumMismatch { .. })));
/// assert!(!out.exists());
///
/// let opts = files::FileOptions::new().expected_md5(Some(made.ciphertext_md5));
/// files::decrypt_to_file(&enc[..], None, &out, &pw, opts)?;
/// assert_eq!(std::fs::read(&out)?, b"bson");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decrypt_to_file<R: Read>(
    input: R,
    total: Option<u64>,
    output: &Path,
    password: &Password,
    options: FileOptions<'_>,
) -> Result<DecryptSummary> {
    let out = AtomicFile::create(output, options.overwrite)?.sync(options.syncs());
    match decrypt_stream(input, out.writer(), total, password, options) {
        Ok(summary) => out.commit().map(|()| summary),
        Err(e) => Err(out.discard_after(e)),
    }
}

/// Decrypts a stream into a writer (a pipe, stdout). Unlike [`decrypt_file`], bytes reach
/// `output` as they are decrypted, so an MD5 mismatch is reported only after everything was
/// written; check the MD5 first (see [`verify_file`]) when the input can be read twice.
///
/// `total` is the input's size when known, for progress reports.
///
/// # Errors
///
/// As [`decrypt_file`], with I/O errors as [`Error::Io`].
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// use a0backup::{files, EncryptWriter, Format, Password};
/// let pw = Password::from("Passw0rd");
/// let mut w = EncryptWriter::new(Vec::new(), &pw, Format::Node)?;
/// w.write_all(b"bson")?;
/// let enc = w.finish()?;
/// let mut plain = Vec::new();
/// let s = files::decrypt_stream(&enc[..], &mut plain, Some(4), &pw, files::FileOptions::new())?;
/// assert_eq!(plain, b"bson");
/// assert_eq!(s.plaintext_bytes, 4);
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn decrypt_stream<R: Read, W: Write + Send>(
    input: R,
    mut output: W,
    total: Option<u64>,
    password: &Password,
    mut options: FileOptions<'_>,
) -> Result<DecryptSummary> {
    let hash = options.expected_md5.is_some() || options.compute_md5;
    let mut progress_cb = |done: u64| -> io::Result<()> {
        options
            .progress
            .report(done, total)
            .map_err(io::Error::from)
    };
    let mut reader = DecryptReader::new(MaybeHashed::new(input, hash), password, &options.decrypt)?;
    let format = reader.format();
    let header = reader.header_len();
    let plain = copy_with_writer_thread(&mut reader, &mut output, |n| progress_cb(n + header))?;
    let (ciphertext_md5, ciphertext_bytes) = reader.into_inner().finish()?;
    if let (Some(expected), Some(actual)) = (&options.expected_md5, &ciphertext_md5) {
        actual.verify(expected)?;
    }
    Ok(DecryptSummary {
        format,
        ciphertext_bytes,
        plaintext_bytes: plain,
        ciphertext_md5,
    })
}

/// Encrypts `input` into `output` in `format`, and returns the MD5 of what was written.
///
/// # Errors
///
/// [`Error::AlreadyExists`], [`Error::Path`], [`Error::Cancelled`], as for [`decrypt_file`].
///
/// # Examples
///
/// ```
/// use a0backup::{checksum::md5_file, files, Error, Format, Password};
/// let dir = tempfile::tempdir()?;
/// let (plain, enc) = (dir.path().join("dump.tar.gz"), dir.path().join("dump.tar.gz.enc"));
/// std::fs::write(&plain, b"bson")?;
/// let pw = Password::from("Passw0rd");
/// let s = files::encrypt_file(&plain, &enc, &pw, Format::Node, files::FileOptions::new())?;
/// assert_eq!(s.ciphertext_md5, md5_file(&enc)?);
/// let again = files::encrypt_file(&plain, &enc, &pw, Format::Node, files::FileOptions::new());
/// assert!(matches!(again, Err(Error::AlreadyExists(_))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encrypt_file(
    input: &Path,
    output: &Path,
    password: &Password,
    format: Format,
    options: FileOptions<'_>,
) -> Result<EncryptSummary> {
    let source = File::open(input).map_err(Error::path(input))?;
    let total = source.metadata().ok().map(|m| m.len());
    encrypt_to_file(
        Labeled::new(source, input),
        total,
        output,
        password,
        format,
        options,
    )
}

/// Encrypts a reader into the file `output`, which appears only when complete.
///
/// # Errors
///
/// As [`encrypt_file`].
///
/// # Examples
///
/// ```
/// use a0backup::{checksum::md5_file, files, Format, Password};
/// let dir = tempfile::tempdir()?;
/// let enc = dir.path().join("dump.tar.gz.enc");
/// let pw = Password::from("Passw0rd");
/// let s = files::encrypt_to_file(&b"bson"[..], Some(4), &enc, &pw, Format::OpenSslMd5, files::FileOptions::new())?;
/// assert_eq!(s.ciphertext_bytes, 16 + 4);
/// assert_eq!(md5_file(&enc)?, s.ciphertext_md5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encrypt_to_file<R: Read>(
    input: R,
    total: Option<u64>,
    output: &Path,
    password: &Password,
    format: Format,
    options: FileOptions<'_>,
) -> Result<EncryptSummary> {
    let out = AtomicFile::create(output, options.overwrite)?.sync(options.syncs());
    match encrypt_stream(input, out.writer(), total, password, format, options) {
        Ok(summary) => out.commit().map(|()| summary),
        Err(e) => Err(out.discard_after(e)),
    }
}

/// Encrypts a stream into a writer in `format`, and returns the MD5 of what was written.
///
/// # Errors
///
/// I/O errors of either side, [`Error::Cancelled`].
///
/// # Examples
///
/// ```
/// use std::io::Read;
/// use a0backup::{files, DecryptOptions, DecryptReader, Format, Password};
/// let pw = Password::from("Passw0rd");
/// let mut enc = Vec::new();
/// files::encrypt_stream(&b"bson"[..], &mut enc, None, &pw, Format::Node, files::FileOptions::new())?;
/// let mut back = Vec::new();
/// DecryptReader::new(&enc[..], &pw, &DecryptOptions::new())?.read_to_end(&mut back)?;
/// assert_eq!(back, b"bson");
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn encrypt_stream<R: Read, W: Write>(
    mut input: R,
    output: W,
    total: Option<u64>,
    password: &Password,
    format: Format,
    mut options: FileOptions<'_>,
) -> Result<EncryptSummary> {
    let hashing = crate::checksum::HashingWriter::new(io::BufWriter::with_capacity(CHUNK, output));
    let mut w = EncryptWriter::new(hashing, password, format)?;
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    loop {
        let n = crate::pipeline::read_full(&mut input, &mut buf)?;
        if n == 0 {
            break;
        }
        w.write_all(&buf[..n])?;
        done += n as u64;
        options.progress.report(done, total)?;
    }
    let hashing = w.finish()?;
    let ciphertext_bytes = hashing.bytes_written();
    let (mut buffered, ciphertext_md5) = hashing.into_parts();
    buffered.flush()?;
    Ok(EncryptSummary {
        ciphertext_bytes,
        ciphertext_md5,
    })
}

/// The MD5 of a file, checked against `expected`.
///
/// # Errors
///
/// [`Error::ChecksumMismatch`] on a mismatch, [`Error::Path`] when the file cannot be read.
///
/// # Examples
///
/// ```
/// use a0backup::{checksum::md5_bytes, files, Error};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("backup.tar.gz.enc");
/// std::fs::write(&path, b"abc")?;
/// assert_eq!(files::verify_file(&path, &md5_bytes(b"abc"))?, md5_bytes(b"abc"));
/// let r = files::verify_file(&path, &md5_bytes(b"abd"));
/// assert!(matches!(r, Err(Error::ChecksumMismatch { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_file(path: &Path, expected: &Md5Digest) -> Result<Md5Digest> {
    let actual = crate::checksum::md5_file(path)?;
    actual.verify(expected)?;
    Ok(actual)
}

/// A reader or writer whose I/O errors name its file, so that an error coming out of a long
/// pipeline still says which file failed.
pub(crate) struct Labeled<'p, T> {
    inner: T,
    path: &'p Path,
}

impl<'p, T> Labeled<'p, T> {
    pub(crate) fn new(inner: T, path: &'p Path) -> Self {
        Labeled { inner, path }
    }

    fn label(&self, e: io::Error) -> io::Error {
        let already = e.get_ref().is_some_and(|inner| inner.is::<Error>());
        if already || e.kind() == io::ErrorKind::Interrupted {
            e
        } else {
            io::Error::from(Error::Path {
                path: self.path.to_path_buf(),
                source: e,
            })
        }
    }
}

impl<T: Read> Read for Labeled<'_, T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| self.label(e))
    }
}

impl<T: Write> Write for Labeled<'_, T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(|e| self.label(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.label(e))
    }
}

/// A file written under a temporary name beside its final path, renamed into place by
/// [`commit`](Self::commit) and removed by [`discard`](Self::discard) or if dropped
/// uncommitted.
///
/// The temporary file (`.NAME.XXXXXX.a0backup-tmp`, mode 0600 from the start) is locked
/// (`flock`) for as long as this value lives. Creating one first removes the temporary files
/// of earlier runs for the same name whose lock is free (their run was killed, or the machine
/// lost power); those of live runs are left alone. [`commit`](Self::commit) makes the data
/// durable (fsync) before the rename and the directory entry after it, unless
/// [`sync`](Self::sync) turned that off.
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// use a0backup::files::AtomicFile;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("out");
/// let f = AtomicFile::create(&path, false)?;
/// f.as_file().write_all(b"done")?;
/// assert!(!path.exists());
/// f.commit()?;
/// assert_eq!(std::fs::read(&path)?, b"done");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct AtomicFile {
    /// The temporary file; `None` once committed or discarded.
    temp: Option<Owned>,
    path: PathBuf,
    parent: PathBuf,
    overwrite: bool,
    sync: bool,
}

/// Start writeback of a streamed output every this many bytes, so the fsync before the rename
/// has little left to do.
const WRITEBACK_EVERY: u64 = 8 << 20;

impl AtomicFile {
    /// Creates the temporary file beside `path`, after removing the unowned temporary files of
    /// earlier runs for the same `path`.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`] when `path` exists and `overwrite` is false; [`Error::Path`]
    /// naming `path` when it is a directory, or naming its directory when that is missing or
    /// cannot be written; [`Error::Leftover`] when an earlier run's temporary file cannot be
    /// removed.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::{files::AtomicFile, Error};
    /// let dir = tempfile::tempdir()?;
    /// let missing = dir.path().join("no/such/dir/out");
    /// match AtomicFile::create(&missing, false) {
    ///     Err(Error::Path { path, .. }) => assert_eq!(path, dir.path().join("no/such/dir")),
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create(path: &Path, overwrite: bool) -> Result<AtomicFile> {
        match path.symlink_metadata() {
            // Not even with overwrite: a file is never renamed over a directory.
            Ok(m) if m.is_dir() => {
                return Err(Error::Path {
                    path: path.to_path_buf(),
                    source: io::Error::new(
                        io::ErrorKind::IsADirectory,
                        "is a directory; the output must be a file",
                    ),
                })
            }
            Ok(_) if !overwrite => return Err(Error::AlreadyExists(path.to_path_buf())),
            _ => {}
        }
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = path.file_name().ok_or_else(|| {
            Error::InvalidArgument(format!("{} is not a file name", path.display()))
        })?;
        let pattern = temp_pattern(name);
        durable::remove_leftovers(parent, &[pattern], Kind::File)?;
        let temp = durable::create_file(parent, pattern)?;
        Ok(AtomicFile {
            temp: Some(temp),
            path: path.to_path_buf(),
            parent: parent.to_path_buf(),
            overwrite,
            sync: true,
        })
    }

    /// Whether [`commit`](Self::commit) flushes the file and its directory to stable storage
    /// (on by default).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// use a0backup::files::AtomicFile;
    /// let dir = tempfile::tempdir()?;
    /// let f = AtomicFile::create(&dir.path().join("scratch"), false)?.sync(false);
    /// f.as_file().write_all(b"rebuilt on demand")?;
    /// f.commit()?;
    /// assert!(dir.path().join("scratch").exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sync(mut self, yes: bool) -> Self {
        self.sync = yes;
        self
    }

    fn temp(&self) -> &Owned {
        self.temp.as_ref().expect("not committed yet")
    }

    /// The temporary file, as a writer whose errors name the final path, starting writeback
    /// as it goes when syncing.
    pub(crate) fn writer(&self) -> Labeled<'_, Writeback<'_>> {
        Labeled::new(
            Writeback {
                file: self.temp().file(),
                written: 0,
                started: 0,
                on: self.sync,
            },
            &self.path,
        )
    }

    /// The temporary file, to write into.
    pub fn as_file(&self) -> &File {
        self.temp().file()
    }

    /// The path the file is published under.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file into place (replacing an existing one only if `overwrite` was given),
    /// flushed to stable storage first and its directory after, unless [`sync`](Self::sync)
    /// is off. On failure the temporary file is removed.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`] if a file appeared at `path` meanwhile and overwrite is off;
    /// [`Error::Path`] when the flush or the rename fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::{files::AtomicFile, Error};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("out");
    /// let f = AtomicFile::create(&path, false)?;
    /// std::fs::write(&path, b"someone else's")?;
    /// assert!(matches!(f.commit(), Err(Error::AlreadyExists(_))));
    /// assert_eq!(std::fs::read_dir(dir.path())?.count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn commit(mut self) -> Result<()> {
        if let Err(e) = self.rename_into_place() {
            return Err(self.discard_after(e));
        }
        match self.sync {
            true => crate::tree::fsync_dir(&self.parent),
            false => Ok(()),
        }
    }

    fn rename_into_place(&mut self) -> Result<()> {
        let temp = self.temp();
        if self.sync {
            temp.file().sync_all().map_err(Error::path(&self.path))?;
        }
        let renamed = if self.overwrite {
            fs::rename(temp.path(), &self.path)
        } else {
            durable::rename_noreplace(temp.path(), &self.path)
        };
        match renamed {
            Ok(()) => {
                self.temp = None; // published: closing it releases the lock
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Err(Error::AlreadyExists(self.path.clone()))
            }
            Err(e) => Err(Error::path(&self.path)(e)),
        }
    }

    /// Removes the temporary file: the output is not made.
    ///
    /// # Errors
    ///
    /// [`Error::Leftover`] naming the temporary file when it cannot be removed.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::files::AtomicFile;
    /// let dir = tempfile::tempdir()?;
    /// let f = AtomicFile::create(&dir.path().join("out"), false)?;
    /// f.discard()?;
    /// assert_eq!(std::fs::read_dir(dir.path())?.count(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn discard(mut self) -> Result<()> {
        let temp = self.temp.take().expect("discard runs once");
        match fs::remove_file(temp.path()) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::Leftover {
                what: Leftover::TemporaryFile,
                path: temp.path().to_path_buf(),
                source: e,
                after: None,
            }),
            _ => Ok(()),
        }
    }

    /// Discards the file because of `cause`, the error that stopped the writing, and returns
    /// the error to report: `cause`, or an [`Error::Leftover`] carrying it when the temporary
    /// file cannot be removed (so that a failed cleanup is never silent).
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::{files::AtomicFile, Error};
    /// let dir = tempfile::tempdir()?;
    /// let f = AtomicFile::create(&dir.path().join("out"), false)?;
    /// let e = f.discard_after(Error::Cancelled);
    /// assert!(matches!(e, Error::Cancelled));
    /// assert_eq!(std::fs::read_dir(dir.path())?.count(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn discard_after(self, cause: Error) -> Error {
        match self.discard() {
            Ok(()) => cause,
            Err(Error::Leftover {
                what, path, source, ..
            }) => Error::Leftover {
                what,
                path,
                source,
                after: Some(Box::new(cause)),
            },
            Err(other) => other,
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = fs::remove_file(temp.path());
        }
    }
}

fn temp_pattern(name: &std::ffi::OsStr) -> Pattern<'_> {
    Pattern {
        name,
        tag: ".",
        suffix: ".a0backup-tmp",
    }
}

/// A writer into a temporary output that starts writeback of what it wrote every
/// [`WRITEBACK_EVERY`] bytes when `on`.
pub(crate) struct Writeback<'f> {
    file: &'f File,
    written: u64,
    started: u64,
    on: bool,
}

impl Write for Writeback<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.on && self.written - self.started >= WRITEBACK_EVERY {
            durable::start_writeback_range(self.file, self.started, self.written - self.started);
            self.started = self.written;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}
