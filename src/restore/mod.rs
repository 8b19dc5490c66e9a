//! The main job: an encrypted backup (`.tar.gz.enc`) to a directory of files, in one pass.
//!
//! One thread reads the file, decrypts it and inflates it; a second hashes the ciphertext (MD5
//! cannot be split, so it runs beside everything else); a third parses the tar stream and writes
//! files. Extraction goes into a fresh staging directory beside the destination, which is
//! renamed into place only when everything checked out: the MD5 (when one was given), the gzip
//! CRC and length of every member, and a complete tar. On any failure the staging directory is
//! removed and the destination is as it was.
//!
//! The rooms: `target.rs` (where a restore goes and the checks of it), `extract.rs` (inflate
//! and unpack into the staging directory), `publish.rs` (the rename into place, durably, and
//! the sweep of what a dead run left).

mod extract;
mod publish;
mod target;

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::archive::{UnpackOptions, UnpackSummary};
use crate::checksum::Md5Digest;
use crate::durable::{self, Kind};
use crate::error::{Error, Result};
use crate::io_ext::{Counting, Labeled};
use crate::kdf::{Format, Password};
use crate::progress::Progress;
use crate::source::Source;
use crate::stream::DecryptOptions;

use extract::Stage;
use publish::{publish, recover_set_aside};
use target::{check_destination, Target};

pub(crate) use target::refuse_dest_holding;

/// Options of [`restore_file`] and [`restore_reader`].
///
/// # Examples
///
/// Replacing a destination that already holds an earlier restore, reporting progress:
///
/// ```
/// use a0backup::pack::{pack_writer, PackOptions};
/// use a0backup::restore::{restore_reader, RestoreOptions};
/// use a0backup::Progress;
/// let src = tempfile::tempdir()?;
/// std::fs::write(src.path().join("users.bson"), b"new")?;
/// let mut gz = Vec::new();
/// pack_writer(src.path(), &mut gz, None, PackOptions::new().prefix(""))?;
/// let dest = tempfile::tempdir()?;
/// std::fs::write(dest.path().join("users.bson"), b"old")?;
/// let mut done = 0;
/// let options = RestoreOptions::new()
///     .replace(true)
///     .progress(Progress::new(|n, _| { done = n; true }));
/// restore_reader(&gz[..], dest.path(), None, options)?;
/// assert_eq!(std::fs::read(dest.path().join("users.bson"))?, b"new");
/// assert_eq!(done, gz.len() as u64);
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug)]
pub struct RestoreOptions<'a> {
    expected_md5: Option<Md5Digest>,
    replace: bool,
    sync: bool,
    format: Option<Format>,
    unpack: UnpackOptions,
    progress: Progress<'a>,
    input_len: Option<u64>,
}

impl Default for RestoreOptions<'_> {
    fn default() -> Self {
        RestoreOptions {
            expected_md5: None,
            replace: false,
            sync: true,
            format: None,
            unpack: UnpackOptions::new(),
            progress: Progress::none(),
            input_len: None,
        }
    }
}

impl<'a> RestoreOptions<'a> {
    /// No MD5 check, a non-empty destination never replaced, the new tree made durable before
    /// it appears, the format detected, the unpack policy's safe defaults.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::pack::{pack_writer, PackOptions};
    /// use a0backup::restore::{restore_reader, RestoreOptions};
    /// use a0backup::Error;
    /// let src = tempfile::tempdir()?;
    /// std::fs::write(src.path().join("users.bson"), b"x")?;
    /// let mut gz = Vec::new();
    /// pack_writer(src.path(), &mut gz, None, PackOptions::new().prefix(""))?;
    /// let dest = tempfile::tempdir()?;
    /// std::fs::write(dest.path().join("keep.me"), b"")?;
    /// let r = restore_reader(&gz[..], dest.path(), None, RestoreOptions::new());
    /// assert!(matches!(r, Err(Error::AlreadyExists(_))));
    /// assert!(dest.path().join("keep.me").exists());
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn new() -> Self {
        RestoreOptions::default()
    }

    /// Check the MD5 of the input (the encrypted file, as `a0cli backup-status` reports it)
    /// before publishing anything; a mismatch is [`Error::ChecksumMismatch`].
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::checksum::md5_bytes;
    /// use a0backup::pack::{pack_writer, PackOptions};
    /// use a0backup::restore::{restore_reader, RestoreOptions};
    /// use a0backup::Error;
    /// let src = tempfile::tempdir()?;
    /// std::fs::write(src.path().join("users.bson"), b"x")?;
    /// let mut gz = Vec::new();
    /// pack_writer(src.path(), &mut gz, None, PackOptions::new().prefix(""))?;
    /// let work = tempfile::tempdir()?;
    /// let dest = work.path().join("restored");
    /// let options = RestoreOptions::new().expected_md5(md5_bytes(b"another file"));
    /// let r = restore_reader(&gz[..], &dest, None, options);
    /// assert!(matches!(r, Err(Error::ChecksumMismatch { .. })));
    /// assert!(!dest.exists());
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn expected_md5(mut self, md5: Md5Digest) -> Self {
        self.expected_md5 = Some(md5);
        self
    }

    /// Replace a destination that exists and is not empty (only once the new tree is
    /// complete; the command's `--force`).
    pub fn replace(mut self, yes: bool) -> Self {
        self.replace = yes;
        self
    }

    /// Make the new tree durable before it is published (on by default): every file and
    /// directory of the staging tree is flushed to stable storage (fsync) before the rename,
    /// and the destination's parent after it, so that after a power loss the destination is
    /// either the old one or the complete new tree, never empty files. With
    /// [`replace`](Self::replace), the old tree is removed only after that. Off, a restore is
    /// faster (see BENCHMARKS.md) and the kernel writes the tree back in its own time.
    pub fn sync(mut self, yes: bool) -> Self {
        self.sync = yes;
        self
    }

    /// Read the encrypted input as `format` instead of detecting it (the plaintext must be
    /// gzip either way).
    pub fn format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }

    /// The unpack safety policy, its limits, the selection of what to write, and how to
    /// inflate.
    pub fn unpack(mut self, options: UnpackOptions) -> Self {
        self.unpack = options;
        self
    }

    /// Where to report progress (bytes of input read, and the input's length when known);
    /// returning `false` cancels the restore.
    pub fn progress(mut self, progress: Progress<'a>) -> Self {
        self.progress = progress;
        self
    }

    /// The input's length, for progress reports, when [`restore_reader`] reads a stream whose
    /// length it cannot ask ([`restore_file`] asks the file).
    pub fn input_len(mut self, bytes: u64) -> Self {
        self.input_len = Some(bytes);
        self
    }

    /// How the input is decrypted: as the format given, or detected, and gzip expected.
    fn decrypt(&self) -> DecryptOptions {
        let options = DecryptOptions::new().expect_gzip(true);
        match self.format {
            Some(f) => options.format(f),
            None => options,
        }
    }
}

/// What a restore did.
///
/// # Examples
///
/// ```
/// use a0backup::checksum::md5_bytes;
/// use a0backup::pack::{pack_writer, PackOptions};
/// use a0backup::restore::{restore_reader, RestoreOptions, RestoreSummary};
/// let src = tempfile::tempdir()?;
/// std::fs::write(src.path().join("users.bson"), b"abc")?;
/// let mut gz = Vec::new();
/// pack_writer(src.path(), &mut gz, None, PackOptions::new().prefix(""))?;
/// let dest = tempfile::tempdir()?;
/// let options = RestoreOptions::new().expected_md5(md5_bytes(&gz));
/// let s: RestoreSummary = restore_reader(&gz[..], dest.path(), None, options)?;
/// assert_eq!(s.md5, Some(md5_bytes(&gz)));
/// assert_eq!(s.input_bytes, gz.len() as u64);
/// assert_eq!((s.unpacked.files, s.unpacked.bytes), (1, 3));
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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
/// A non-empty `dest` that holds `input` or the current directory is refused either way:
/// replacing it would delete them.
///
/// # Errors
///
/// [`Error::WrongPassword`] (found from the first bytes, before any file is created),
/// [`Error::ChecksumMismatch`], [`Error::UnsafeEntry`], [`Error::LimitExceeded`],
/// [`Error::Malformed`], [`Error::Truncated`], [`Error::AlreadyExists`],
/// [`Error::DestinationAppeared`] (`dest` was missing or empty at the start, and another
/// restore published there meanwhile), [`Error::InvalidArgument`] (a `dest` that holds `input`
/// or the current directory), [`Error::NotInArchive`] (a selection that matches no file),
/// [`Error::Cancelled`], I/O errors. In every case `dest` is left as it was.
///
/// # Examples
///
/// ```
/// use a0backup::pack::{pack_file, PackOptions};
/// use a0backup::restore::{restore_file, RestoreOptions};
/// use a0backup::Password;
/// let src = tempfile::tempdir()?;
/// std::fs::create_dir(src.path().join("dump"))?;
/// std::fs::write(src.path().join("dump/users.bson"), b"\x05\0\0\0\0")?;
/// let work = tempfile::tempdir()?;
/// let backup = work.path().join("backup.tar.gz.enc");
/// let pw = Password::from("Passw0rd");
/// let packed = pack_file(&src.path().join("dump"), &backup, Some(&pw), PackOptions::new())?;
///
/// let dest = work.path().join("restored");
/// let r = restore_file(&backup, &dest, Some(&pw), RestoreOptions::new().expected_md5(packed.md5))?;
/// assert_eq!(r.unpacked.files, 1);
/// assert_eq!(std::fs::read(dest.join("dump/users.bson"))?, b"\x05\0\0\0\0");
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn restore_file(
    input: &Path,
    dest: &Path,
    password: Option<&Password>,
    mut options: RestoreOptions<'_>,
) -> Result<RestoreSummary> {
    refuse_dest_holding(dest, input)?;
    let f = File::open(input).map_err(Error::path(input))?;
    if let Ok(m) = f.metadata() {
        options.input_len = Some(m.len());
    }
    restore_reader(Labeled::new(f, input), dest, password, options)
}

/// Restores from any reader (stdin, a pipe, a socket), as [`restore_file`] does.
///
/// # Errors
///
/// As [`restore_file`].
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// use a0backup::pack::{pack_writer, PackOptions};
/// use a0backup::restore::{restore_reader, RestoreOptions};
/// use a0backup::{Error, Password};
/// let src = tempfile::tempdir()?;
/// std::fs::write(src.path().join("users.bson"), b"x")?;
/// let pw = Password::from("Passw0rd");
/// let mut enc = Vec::new();
/// pack_writer(src.path(), &mut enc, Some(&pw), PackOptions::new().prefix("dump"))?;
///
/// let work = tempfile::tempdir()?;
/// let dest = work.path().join("restored");
/// let wrong = restore_reader(&enc[..], &dest, Some(&Password::from("nope")), RestoreOptions::new());
/// assert!(matches!(wrong, Err(Error::WrongPassword { .. })));
/// assert!(!dest.exists());
///
/// let options = RestoreOptions::new().input_len(enc.len() as u64);
/// let s = restore_reader(&enc[..], &dest, Some(&pw), options)?;
/// assert_eq!(s.unpacked.files, 1);
/// assert!(dest.join("dump/users.bson").exists());
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn restore_reader<R: Read>(
    input: R,
    dest: &Path,
    password: Option<&Password>,
    mut options: RestoreOptions<'_>,
) -> Result<RestoreSummary> {
    let target = Target::of(dest)?;
    target.check_parent()?;
    // What earlier runs on this destination left when they died (SIGKILL, power loss) goes
    // first: a tree they had set aside is put back, or removed once the destination holds
    // the new one, then their staging directories are removed. Those of live runs are locked
    // and stay.
    recover_set_aside(&target)?;
    durable::remove_leftovers(&target.parent, &[target.staging_pattern()], Kind::Dir)?;
    let found = check_destination(&target.path, options.replace)?;
    let counting = Counting::new(input);
    let count = counting.count();
    let decrypt = options.decrypt();
    let total = options.input_len;
    let mut stage = Stage {
        target: &target,
        unpack: &options.unpack,
        progress: &mut options.progress,
        total,
        count: &count,
        sync: options.sync,
    };
    let consumed =
        Source::new(counting, options.expected_md5, false).consume(password, decrypt, |plain| {
            let not_gzip = plain.not_gzip();
            stage.extract(plain, not_gzip)
        })?;
    let (staging, unpacked) = consumed.value;
    let md5 = match consumed.md5 {
        Ok(md5) => md5,
        Err(e) => return Err(staging.fail(e)),
    };
    let progress = &mut options.progress;
    let mut check = || progress.report(count.get(), total);
    publish(
        staging,
        &target,
        found,
        options.replace,
        options.sync,
        &mut check,
    )?;
    Ok(RestoreSummary {
        md5,
        input_bytes: count.get(),
        unpacked,
    })
}

/// Refuses, before any work, a destination that a restore would refuse: one that is not a
/// directory or is a symlink (`-C link/`), a non-empty one without `replace`, one with a file
/// system mounted inside or that holds the current directory, and one whose parent is
/// missing, is not a directory or cannot be written (the staging directory and the renames
/// are made there); and one that holds a file of `keep` (the backup, a password or status
/// file the caller still reads), which replacing it would delete. [`restore_reader`] checks
/// the same at its start (its input excepted: it has none by name), and again before it
/// publishes; a caller that has work to do first (asking for a password, opening the input)
/// calls this before it.
///
/// # Errors
///
/// [`Error::InvalidArgument`], [`Error::AlreadyExists`], or [`Error::Path`] naming `dest` or
/// its parent.
///
/// # Examples
///
/// ```
/// use a0backup::{restore::validate_destination, Error};
/// let work = tempfile::tempdir()?;
/// std::fs::create_dir(work.path().join("real"))?;
/// std::os::unix::fs::symlink("real", work.path().join("link"))?;
/// let r = validate_destination(&work.path().join("link/"), true, &[]);
/// assert!(matches!(r, Err(Error::InvalidArgument(_))));
/// assert!(validate_destination(&work.path().join("new"), false, &[]).is_ok());
/// let r = validate_destination(&work.path().join("no/such/new"), false, &[]);
/// assert!(matches!(r, Err(Error::Path { .. })));
/// let backup = work.path().join("real/backup.tar.gz.enc");
/// std::fs::write(&backup, b"")?;
/// let r = validate_destination(&work.path().join("real"), true, &[&backup]);
/// assert!(matches!(r, Err(Error::InvalidArgument(_))));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn validate_destination(dest: &Path, replace: bool, keep: &[&Path]) -> Result<()> {
    target::validate_destination(dest, replace, keep)
}
