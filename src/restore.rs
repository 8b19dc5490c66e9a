//! The main job: an encrypted backup (`.tar.gz.enc`) to a directory of files, in one pass.
//!
//! One thread reads the file, decrypts it and inflates it; a second hashes the ciphertext (MD5
//! cannot be split, so it runs beside everything else); a third parses the tar stream and writes
//! files. Extraction goes into a fresh staging directory beside the destination, which is
//! renamed into place only when everything checked out: the MD5 (when one was given), the gzip
//! CRC and length of every member, and a complete tar. On any failure the staging directory is
//! removed and the destination is as it was.

use std::cell::Cell;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use crate::archive::{
    note_trailing_zeros, unpack_tar, GzipChecked, NotGzip, UnpackOptions, UnpackSummary,
};
use crate::checksum::Md5Digest;
use crate::error::{Error, Result};
use crate::kdf::Password;
use crate::pipeline::{read_full, MaybeHashed, CHUNK};
use crate::progress::Progress;
use crate::stream::{DecryptOptions, DecryptReader};

/// Options for [`restore_file`] and [`restore_reader`].
///
/// # Examples
///
/// ```
/// use a0backup::restore::RestoreOptions;
/// use a0backup::archive::UnpackOptions;
/// let o = RestoreOptions::new().replace(true).unpack(UnpackOptions::new().max_entries(1000));
/// assert!(o.replaces());
/// ```
///
/// Replacing a destination that already holds an earlier restore, reporting progress:
///
/// ```
/// use a0backup::{archive, restore, Progress};
/// let src = tempfile::tempdir()?;
/// std::fs::write(src.path().join("users.bson"), b"new")?;
/// let mut gz = Vec::new();
/// archive::pack(src.path(), &mut gz, &archive::PackOptions::new().prefix(""))?;
/// let dest = tempfile::tempdir()?;
/// std::fs::write(dest.path().join("users.bson"), b"old")?;
/// let mut done = 0;
/// let opts = restore::RestoreOptions::new()
///     .replace(true)
///     .decrypt_options(a0backup::DecryptOptions::new())
///     .progress(Progress::new(|n, _| { done = n; true }));
/// restore::restore_reader(&gz[..], None, dest.path(), None, opts)?;
/// assert_eq!(std::fs::read(dest.path().join("users.bson"))?, b"new");
/// assert_eq!(done, gz.len() as u64);
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct RestoreOptions<'a> {
    expected_md5: Option<Md5Digest>,
    replace: bool,
    decrypt: DecryptOptions,
    unpack: UnpackOptions,
    progress: Progress<'a>,
}

impl<'a> RestoreOptions<'a> {
    /// No MD5 check, never replace a non-empty destination, safe unpack defaults.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::{archive, restore, Error};
    /// let src = tempfile::tempdir()?;
    /// std::fs::write(src.path().join("users.bson"), b"x")?;
    /// let mut gz = Vec::new();
    /// archive::pack(src.path(), &mut gz, &archive::PackOptions::new().prefix(""))?;
    /// let dest = tempfile::tempdir()?;
    /// std::fs::write(dest.path().join("keep.me"), b"")?;
    /// let r = restore::restore_reader(&gz[..], None, dest.path(), None, restore::RestoreOptions::new());
    /// assert!(matches!(r, Err(Error::AlreadyExists(_))));
    /// assert!(dest.path().join("keep.me").exists());
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn new() -> Self {
        RestoreOptions::default()
    }

    /// Check the MD5 of the input (the encrypted file) before publishing anything.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::{archive, checksum::md5_bytes, restore, Error};
    /// let src = tempfile::tempdir()?;
    /// std::fs::write(src.path().join("users.bson"), b"x")?;
    /// let mut gz = Vec::new();
    /// archive::pack(src.path(), &mut gz, &archive::PackOptions::new().prefix(""))?;
    /// let work = tempfile::tempdir()?;
    /// let dest = work.path().join("restored");
    /// let opts = restore::RestoreOptions::new().expected_md5(Some(md5_bytes(b"another file")));
    /// let r = restore::restore_reader(&gz[..], None, &dest, None, opts);
    /// assert!(matches!(r, Err(Error::ChecksumMismatch { .. })));
    /// assert!(!dest.exists());
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn expected_md5(mut self, md5: Option<Md5Digest>) -> Self {
        self.expected_md5 = md5;
        self
    }

    /// Replace a destination that exists and is not empty (only once the new tree is complete).
    pub fn replace(mut self, yes: bool) -> Self {
        self.replace = yes;
        self
    }

    /// How to read the encrypted input (the format; gzip is always expected).
    pub fn decrypt_options(mut self, options: DecryptOptions) -> Self {
        self.decrypt = options;
        self
    }

    /// The unpack safety policy and limits.
    pub fn unpack(mut self, options: UnpackOptions) -> Self {
        self.unpack = options;
        self
    }

    /// Where to report progress (bytes of input read).
    pub fn progress(mut self, progress: Progress<'a>) -> Self {
        self.progress = progress;
        self
    }

    /// Whether a non-empty destination may be replaced.
    pub fn replaces(&self) -> bool {
        self.replace
    }
}

/// What a restore did.
///
/// # Examples
///
/// ```
/// use a0backup::{archive, checksum::md5_bytes, restore};
/// let src = tempfile::tempdir()?;
/// std::fs::write(src.path().join("users.bson"), b"abc")?;
/// let mut gz = Vec::new();
/// archive::pack(src.path(), &mut gz, &archive::PackOptions::new().prefix(""))?;
/// let dest = tempfile::tempdir()?;
/// let opts = restore::RestoreOptions::new().expected_md5(Some(md5_bytes(&gz)));
/// let s: restore::RestoreSummary = restore::restore_reader(&gz[..], None, dest.path(), None, opts)?;
/// assert_eq!(s.md5, Some(md5_bytes(&gz)));
/// assert_eq!(s.input_bytes, gz.len() as u64);
/// assert_eq!((s.unpacked.files, s.unpacked.bytes), (1, 3));
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RestoreSummary {
    /// MD5 of the input file (computed whenever an MD5 was expected).
    pub md5: Option<Md5Digest>,
    /// Bytes of input read.
    pub input_bytes: u64,
    /// What was extracted.
    pub unpacked: UnpackSummary,
}

/// Restores the backup file `input` into the directory `dest`. With a password the input is a
/// `.tar.gz.enc` in any [format](crate::Format); without one, a plain `.tar.gz`.
///
/// `dest` may not exist yet, or be empty; a non-empty `dest` is refused unless
/// [`RestoreOptions::replace`] is set, and then replaced only after the new tree is complete.
///
/// # Errors
///
/// [`Error::WrongPassword`] (found from the first bytes, before any file is created),
/// [`Error::ChecksumMismatch`], [`Error::UnsafeEntry`], [`Error::LimitExceeded`],
/// [`Error::Malformed`], [`Error::AlreadyExists`], [`Error::Cancelled`], I/O errors. In every
/// case `dest` is left as it was.
///
/// # Examples
///
/// ```
/// use a0backup::{archive, restore, Format, Password};
/// let src = tempfile::tempdir()?;
/// std::fs::create_dir(src.path().join("dump"))?;
/// std::fs::write(src.path().join("dump/users.bson"), b"\x05\0\0\0\0")?;
/// let work = tempfile::tempdir()?;
/// let backup = work.path().join("backup.tar.gz.enc");
/// let pw = Password::from("Passw0rd");
/// let opts = archive::PackOptions::new().encrypt(pw.clone(), Format::Node);
/// let packed = archive::pack(&src.path().join("dump"), std::fs::File::create(&backup)?, &opts)?;
///
/// let dest = work.path().join("restored");
/// let r = restore::restore_file(&backup, &dest, Some(&pw),
///     restore::RestoreOptions::new().expected_md5(Some(packed.md5)))?;
/// assert_eq!(r.unpacked.files, 1);
/// assert_eq!(std::fs::read(dest.join("dump/users.bson"))?, b"\x05\0\0\0\0");
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn restore_file(
    input: &Path,
    dest: &Path,
    password: Option<&Password>,
    options: RestoreOptions<'_>,
) -> Result<RestoreSummary> {
    let f = File::open(input).map_err(Error::path(input))?;
    let total = f.metadata().ok().map(|m| m.len());
    restore_reader(
        crate::files::Labeled::new(f, input),
        total,
        dest,
        password,
        options,
    )
}

/// Restores from any reader (stdin, a socket); `total` is its size when known, for progress.
///
/// # Errors
///
/// As [`restore_file`].
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// use a0backup::{archive, restore, EncryptWriter, Error, Format, Password};
/// let src = tempfile::tempdir()?;
/// std::fs::write(src.path().join("users.bson"), b"x")?;
/// let pw = Password::from("Passw0rd");
/// let mut enc = EncryptWriter::new(Vec::new(), &pw, Format::Node)?;
/// archive::pack(src.path(), &mut enc, &archive::PackOptions::new().prefix("dump"))?;
/// let enc = enc.finish()?;
///
/// let work = tempfile::tempdir()?;
/// let dest = work.path().join("restored");
/// let wrong = restore::restore_reader(&enc[..], None, &dest, Some(&Password::from("nope")),
///     restore::RestoreOptions::new());
/// assert!(matches!(wrong, Err(Error::WrongPassword { .. })));
/// assert!(!dest.exists());
///
/// let s = restore::restore_reader(&enc[..], Some(enc.len() as u64), &dest, Some(&pw),
///     restore::RestoreOptions::new())?;
/// assert_eq!(s.unpacked.files, 1);
/// assert!(dest.join("dump/users.bson").exists());
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn restore_reader<R: Read>(
    input: R,
    total: Option<u64>,
    dest: &Path,
    password: Option<&Password>,
    mut options: RestoreOptions<'_>,
) -> Result<RestoreSummary> {
    check_destination(dest, options.replace)?;
    let counting = Counting::new(input);
    let count = counting.count.clone();
    let mut source = MaybeHashed::new(counting, options.expected_md5.is_some());
    let mut stage = Stage {
        dest,
        unpack: &options.unpack,
        progress: &mut options.progress,
        total,
        count: &count,
    };
    let extracted = match password {
        Some(pw) => {
            let decrypt = options.decrypt.expect_gzip(true);
            DecryptReader::new(&mut source, pw, &decrypt)
                .and_then(|r| stage.extract(r, NotGzip::WrongPassword))
        }
        None => stage.extract(&mut source, NotGzip::Malformed),
    };
    let (staging, unpacked) = match (extracted, &options.expected_md5) {
        (Ok(done), _) => done,
        (Err(e), Some(expected)) if e.may_be_corruption() => {
            // Damage shows up as a bad gzip stream, a "wrong password" or a nonsense tar
            // entry long before the end of the file. With an md5 to compare against, hash
            // the rest: a mismatch says the file itself is damaged (a bad download), which is
            // the more useful error.
            io::copy(&mut source, &mut io::sink())?;
            if let (Some(actual), _) = source.finish()? {
                actual.verify(expected)?;
            }
            return Err(e);
        }
        (Err(e), _) => return Err(e),
    };
    let (md5, _) = source.finish()?;
    if let (Some(expected), Some(actual)) = (&options.expected_md5, &md5) {
        actual.verify(expected)?;
    }
    publish(staging, dest, options.replace)?;
    Ok(RestoreSummary {
        md5,
        input_bytes: count.get(),
        unpacked,
    })
}

/// Refuses early (before any work) what [`publish`] would refuse at the end.
fn check_destination(dest: &Path, replace: bool) -> Result<()> {
    match fs::symlink_metadata(dest) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::Path {
            path: dest.to_path_buf(),
            source: e,
        }),
        Ok(m) if !m.is_dir() => Err(Error::InvalidArgument(format!(
            "{} exists and is not a directory",
            dest.display()
        ))),
        Ok(_) if replace || is_empty_dir(dest)? => Ok(()),
        Ok(_) => Err(Error::AlreadyExists(dest.to_path_buf())),
    }
}

fn is_empty_dir(dir: &Path) -> Result<bool> {
    Ok(fs::read_dir(dir)
        .map_err(Error::path(dir))?
        .next()
        .is_none())
}

fn sibling(dest: &Path, tag: &str) -> (PathBuf, std::ffi::OsString) {
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(dest.file_name().unwrap_or_else(|| "restore".as_ref()));
    prefix.push(tag);
    (parent, prefix)
}

/// Moves the complete staging directory to `dest`.
fn publish(staging: tempfile::TempDir, dest: &Path, replace: bool) -> Result<()> {
    check_destination(dest, replace)?;
    let exists = dest.symlink_metadata().is_ok();
    if !exists || is_empty_dir(dest)? {
        // rename(2) replaces an empty directory atomically.
        fs::rename(staging.path(), dest).map_err(Error::path(dest))?;
        let _ = staging.keep();
        return Ok(());
    }
    let (parent, prefix) = sibling(dest, ".a0backup-old-");
    let old = tempfile::Builder::new()
        .prefix(&prefix)
        .tempdir_in(&parent)
        .map_err(Error::path(&parent))?;
    // `old` is an empty directory, so renaming dest onto it is atomic too.
    fs::rename(dest, old.path()).map_err(Error::path(dest))?;
    if let Err(e) = fs::rename(staging.path(), dest) {
        let _ = fs::rename(old.path(), dest);
        return Err(Error::Path {
            path: dest.to_path_buf(),
            source: e,
        });
    }
    let _ = staging.keep();
    drop(old); // removes the replaced tree
    Ok(())
}

struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R> Counting<R> {
    fn new(inner: R) -> Self {
        Counting {
            inner,
            count: Rc::default(),
        }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

enum Msg {
    Data(Vec<u8>),
    End,
}

/// The tar side's view of the inflated stream: chunks from the inflating thread.
struct ChannelReader {
    rx: Receiver<Msg>,
    give_back: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    ended: bool,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            if self.ended {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Msg::Data(chunk)) => {
                    let old = std::mem::replace(&mut self.current, chunk);
                    let _ = self.give_back.try_send(old);
                    self.pos = 0;
                }
                Ok(Msg::End) => self.ended = true,
                Err(_) => return Err(io::Error::other("the inflating side stopped early")),
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Everything one extraction needs besides its input.
struct Stage<'s, 'p> {
    dest: &'s Path,
    unpack: &'s UnpackOptions,
    progress: &'s mut Progress<'p>,
    total: Option<u64>,
    count: &'s Rc<Cell<u64>>,
}

impl Stage<'_, '_> {
    /// Inflates `source` on this thread and unpacks it on another into a staging directory
    /// beside the destination. Returns the staging directory, which removes itself if dropped.
    fn extract<S: Read>(
        &mut self,
        mut source: S,
        not_gzip: NotGzip,
    ) -> Result<(tempfile::TempDir, UnpackSummary)> {
        // Checked before the staging directory exists: a wrong password creates nothing.
        let mut gz = GzipChecked::new(&mut source, not_gzip)?;
        let (parent, prefix) = sibling(self.dest, ".a0backup-staging-");
        let staging = tempfile::Builder::new()
            .prefix(&prefix)
            .tempdir_in(&parent)
            .map_err(Error::path(&parent))?;
        let root = staging.path().to_path_buf();
        let unpack = self.unpack;

        let (tx, rx) = sync_channel::<Msg>(IN_FLIGHT);
        let (give_back, recycled) = sync_channel::<Vec<u8>>(IN_FLIGHT + 2);
        let (inflate_result, unpack_result) = std::thread::scope(|scope| {
            let untar = std::thread::Builder::new()
                .name("a0backup-untar".into())
                .spawn_scoped(scope, move || {
                    let reader = ChannelReader {
                        rx,
                        give_back,
                        current: Vec::new(),
                        pos: 0,
                        ended: false,
                    };
                    unpack_tar(reader, &root, unpack).map(|(summary, _)| summary)
                })
                .expect("spawning the untar thread");

            let inflate_result = (|| -> Result<()> {
                loop {
                    let mut buf = recycled.try_recv().unwrap_or_default();
                    buf.resize(CHUNK, 0);
                    let n = read_full(&mut gz, &mut buf)?;
                    buf.truncate(n);
                    let last = n < CHUNK;
                    if n > 0 && tx.send(Msg::Data(buf)).is_err() {
                        return Ok(()); // the untar side failed; its error is reported
                    }
                    self.progress.report(self.count.get(), self.total)?;
                    if last {
                        let _ = tx.send(Msg::End);
                        return Ok(());
                    }
                }
            })();
            drop(tx);
            let unpack_result = untar
                .join()
                .unwrap_or_else(|_| Err(Error::Io(io::Error::other("the untar thread panicked"))));
            (inflate_result, unpack_result)
        });
        inflate_result?;
        let mut unpacked = unpack_result?;
        note_trailing_zeros(&mut unpacked, gz.trailing_zeros());
        Ok((staging, unpacked))
    }
}

const IN_FLIGHT: usize = 3;
