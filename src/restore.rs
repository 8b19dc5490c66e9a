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
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::archive::{note_trailing_zeros, unpack_tar, UnpackOptions, UnpackSummary};
use crate::checksum::Md5Digest;
use crate::durable::{self, Kind, Owned, Pattern};
use crate::error::{Error, Leftover, Result};
use crate::gzip::{GzipReader, NotGzip};
use crate::kdf::Password;
use crate::pipeline::{hand_off, MaybeHashed};
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
    no_sync: bool,
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

    /// Whether to make the new tree durable before it is published (on by default): every
    /// file and directory of the staging tree is flushed to stable storage (fsync) before the
    /// rename, and the destination's parent after it, so that after a power loss the
    /// destination is either the old one or the complete new tree, never empty files. With
    /// [`replace`](Self::replace), the old tree is removed only after that. Off, a restore is
    /// faster (see BENCHMARKS.md) and the kernel writes the tree back in its own time.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::restore::RestoreOptions;
    /// assert!(RestoreOptions::new().syncs());
    /// assert!(!RestoreOptions::new().sync(false).syncs());
    /// ```
    pub fn sync(mut self, yes: bool) -> Self {
        self.no_sync = !yes;
        self
    }

    /// Whether the new tree is made durable before it is published.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::restore::RestoreOptions;
    /// let o = RestoreOptions::new().sync(false).sync(true);
    /// assert!(o.syncs());
    /// ```
    pub fn syncs(&self) -> bool {
        !self.no_sync
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
/// A non-empty `dest` that holds `input` or the current directory is refused either way:
/// replacing it would delete them.
///
/// # Errors
///
/// [`Error::WrongPassword`] (found from the first bytes, before any file is created),
/// [`Error::ChecksumMismatch`], [`Error::UnsafeEntry`], [`Error::LimitExceeded`],
/// [`Error::Malformed`], [`Error::AlreadyExists`], [`Error::DestinationAppeared`] (`dest` was
/// missing or empty at the start, and another restore published there meanwhile),
/// [`Error::InvalidArgument`] (a `dest` that holds `input` or the current directory),
/// [`Error::Cancelled`], I/O errors. In every case `dest` is left as it was.
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
    refuse_dest_holding(dest, input)?;
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
    let target = Target::of(dest)?;
    target.check_parent()?;
    // What earlier runs on this destination left when they died (SIGKILL, power loss) goes
    // first: a tree they had set aside is put back, or removed once the destination holds
    // the new one, then their staging directories are removed. Those of live runs are locked
    // and stay.
    recover_set_aside(&target)?;
    durable::remove_leftovers(&target.parent, &[target.staging_pattern()], Kind::Dir)?;
    let found = check_destination(&target.path, options.replace)?;
    let sync = options.syncs();
    let counting = Counting::new(input);
    let count = counting.count.clone();
    let mut source = MaybeHashed::new(counting, options.expected_md5.is_some());
    let mut stage = Stage {
        target: &target,
        unpack: &options.unpack,
        progress: &mut options.progress,
        total,
        count: &count,
        sync,
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
        (Err(e), Some(expected))
            if !matches!(e, Error::Leftover { .. }) && e.may_be_corruption() =>
        {
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
    let checked = source.finish().map_err(Error::from).and_then(|(md5, _)| {
        if let (Some(expected), Some(actual)) = (&options.expected_md5, &md5) {
            actual.verify(expected)?;
        }
        Ok(md5)
    });
    let md5 = match checked {
        Ok(md5) => md5,
        Err(e) => return Err(staging.fail(e)),
    };
    let progress = &mut options.progress;
    let mut check = || progress.report(count.get(), total);
    publish(staging, &target, found, options.replace, sync, &mut check)?;
    Ok(RestoreSummary {
        md5,
        input_bytes: count.get(),
        unpacked,
    })
}

/// Where a restore goes: the destination, its parent and its name.
#[derive(Debug)]
struct Target {
    /// The destination as given, or, for one without a name of its own (`.`, `..`), the
    /// directory it names.
    path: PathBuf,
    parent: PathBuf,
    name: std::ffi::OsString,
}

const STAGING_TAG: &str = ".a0backup-staging-";
/// Where the kernel cannot exchange two names, the tree being replaced is renamed to
/// `.NAME.a0backup-aside-RANDOM` (RANDOM that of the staging directory holding the new tree)
/// before the new tree takes its name: the sweep of a later run recognises it and puts it
/// back if the destination is missing.
const ASIDE_TAG: &str = ".a0backup-aside-";
/// Earlier versions moved a replaced tree aside under this tag; the sweep treats them as
/// set-aside trees without a staging directory.
const OLD_TAG: &str = ".a0backup-old-";

impl Target {
    fn of(dest: &Path) -> Result<Target> {
        let path = if dest.file_name().is_some() {
            dest.to_path_buf()
        } else {
            // `.`, `..`, `dir/..`: the staging directory must be beside the directory they
            // name, not inside it, so name it by its own name.
            fs::canonicalize(dest).map_err(Error::path(dest))?
        };
        let name = path
            .file_name()
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "cannot restore into {}: a restore replaces its destination, which needs a parent",
                    dest.display()
                ))
            })?
            .to_os_string();
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ok(Target { path, parent, name })
    }

    fn staging_pattern(&self) -> Pattern<'_> {
        Pattern {
            name: &self.name,
            tag: STAGING_TAG,
            suffix: "",
        }
    }

    /// Refuses a parent that is missing, is not a directory, or cannot be written and
    /// searched by this process (where the staging directory is made and renamed).
    fn check_parent(&self) -> Result<()> {
        let meta = fs::metadata(&self.parent).map_err(Error::path(&self.parent))?;
        if !meta.is_dir() {
            return Err(Error::path(&self.parent)(io::Error::from_raw_os_error(
                libc::ENOTDIR,
            )));
        }
        use rustix::fs::{accessat, Access, AtFlags, CWD};
        accessat(
            CWD,
            &self.parent,
            Access::WRITE_OK | Access::EXEC_OK,
            AtFlags::EACCESS,
        )
        .map_err(|e| Error::path(&self.parent)(e.into()))
    }

    /// The names of trees set aside by a replacing restore: this version's and earlier ones'.
    fn aside_patterns(&self) -> [Pattern<'_>; 2] {
        [
            Pattern {
                name: &self.name,
                tag: ASIDE_TAG,
                suffix: "",
            },
            Pattern {
                name: &self.name,
                tag: OLD_TAG,
                suffix: "",
            },
        ]
    }

    /// `.NAME{from}RANDOM` beside the destination, for `.NAME{to}RANDOM` (a staging
    /// directory's aside name, or an aside's staging directory); `None` for another name.
    fn sibling(&self, path: &Path, from: &str, to: &str) -> Option<PathBuf> {
        let name = path.file_name()?.as_encoded_bytes();
        let mut head = b".".to_vec();
        head.extend_from_slice(self.name.as_encoded_bytes());
        head.extend_from_slice(from.as_bytes());
        let random = name.strip_prefix(&head[..])?;
        let mut sibling = std::ffi::OsString::from(".");
        sibling.push(&self.name);
        sibling.push(to);
        sibling.push(std::str::from_utf8(random).ok()?);
        Some(self.parent.join(sibling))
    }
}

/// Puts back, or removes, the trees that replacing restores set aside and did not live to
/// remove (a SIGKILL, a power loss between their two renames), under the publishing lock of
/// the destination's parent. For each such tree, whose owner is gone:
///
/// * empty: removed (the run died before moving the old tree onto it);
/// * the destination missing: renamed back to the destination (the run died between moving
///   the old tree aside and moving the new one in), so it holds the old tree again;
/// * the destination present and the staging directory of the same run gone: the new tree
///   is in place, and the set-aside one is removed;
/// * the destination present and that staging directory still there: the destination was
///   made by someone else since, and nothing is removed ([`Error::Path`] naming the tree).
///
/// The sweep never removes the only copy of a tree.
fn recover_set_aside(target: &Target) -> Result<()> {
    let patterns = target.aside_patterns();
    if !durable::any_named(&target.parent, &patterns) {
        return Ok(()); // the common case: nothing to look at, no lock to take
    }
    let _publishing = durable::lock_publishing(&target.parent);
    let dest = target.path.as_path();
    durable::for_each_unowned(
        &target.parent,
        &target.aside_patterns(),
        Kind::Dir,
        |aside| {
            if is_empty_dir(aside)? {
                return fs::remove_dir(aside).map_err(Error::path(aside));
            }
            match fs::symlink_metadata(dest) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::rename(aside, dest).map_err(Error::path(aside))?;
                    return crate::tree::fsync_dir(&target.parent);
                }
                Err(e) => return Err(Error::path(dest)(e)),
                Ok(_) => {}
            }
            let staging = target.sibling(aside, ASIDE_TAG, STAGING_TAG);
            if staging.is_some_and(|s| fs::symlink_metadata(s).is_ok()) {
                return Err(Error::Path {
                    path: aside.to_path_buf(),
                    source: io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!(
                            "holds the tree an interrupted restore had moved aside from {}, which \
                         was made again since: nothing removed (move one of them away)",
                            dest.display()
                        ),
                    ),
                });
            }
            crate::tree::remove_tree(aside)
                .map_err(|e| Error::leftover(Leftover::EarlierRun, e, None))
        },
    )
}

/// What is at the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Existing {
    Nothing,
    EmptyDir,
    /// A non-empty directory, and replacing it was asked for.
    TreeToReplace,
}

/// Refuses early (before any work) what [`publish`] would refuse at the end.
fn check_destination(dest: &Path, replace: bool) -> Result<Existing> {
    check_destination_with(dest, replace, &|_, dev| dev)
}

/// [`check_destination`], with the device of each directory from `device` (a seam for tests:
/// mounting needs privileges).
fn check_destination_with(
    dest: &Path,
    replace: bool,
    device: &dyn Fn(&Path, u64) -> u64,
) -> Result<Existing> {
    // `link/` names the directory a link leads to, but rename(2) would not replace it there.
    let meta = match fs::symlink_metadata(without_trailing_slash(dest)) {
        Ok(m) if m.file_type().is_symlink() => {
            let to = fs::read_link(without_trailing_slash(dest)).unwrap_or_default();
            return Err(Error::InvalidArgument(format!(
                "{} is a symlink (to {}): a restore renames the new tree to the destination's \
                 name, which would replace the link, not the directory it leads to; give that \
                 directory's own path",
                dest.display(),
                to.display()
            )));
        }
        Ok(_) => fs::symlink_metadata(dest),
        Err(e) => Err(e),
    };
    let meta = match meta {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Existing::Nothing),
        Err(e) => {
            return Err(Error::Path {
                path: dest.to_path_buf(),
                source: e,
            })
        }
        Ok(m) => m,
    };
    if !meta.is_dir() {
        return Err(Error::InvalidArgument(format!(
            "{} exists and is not a directory",
            dest.display()
        )));
    }
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(pm) = fs::metadata(parent) {
        if device(parent, pm.dev()) != device(dest, meta.dev()) {
            return Err(Error::Path {
                path: dest.to_path_buf(),
                source: io::Error::new(
                    io::ErrorKind::ResourceBusy,
                    "is a mount point, which a restore cannot replace (it renames a new tree \
                     into place): restore into a directory inside it",
                ),
            });
        }
    }
    if is_empty_dir(dest)? {
        return Ok(Existing::EmptyDir);
    }
    if std::env::current_dir().is_ok_and(|cwd| holds(dest, &cwd)) {
        return Err(Error::InvalidArgument(format!(
            "{} holds the current directory, which replacing it would delete: restore into a \
             new directory",
            dest.display()
        )));
    }
    if !replace {
        return Err(Error::AlreadyExists(dest.to_path_buf()));
    }
    // Replacing removes the old tree: never with another file system's data mounted inside.
    if let Some(mount) = crate::tree::find_mount_inside(dest, device)? {
        return Err(Error::Path {
            path: mount,
            source: io::Error::new(
                io::ErrorKind::ResourceBusy,
                format!(
                    "a file system is mounted here, inside {}: refusing to replace it (unmount \
                     it first)",
                    dest.display()
                ),
            ),
        });
    }
    Ok(Existing::TreeToReplace)
}

/// `path` without the `/`s at its end (`/` stays itself).
fn without_trailing_slash(path: &Path) -> &Path {
    let bytes = path.as_os_str().as_encoded_bytes();
    let mut end = bytes.len();
    while end > 1 && bytes[end - 1] == b'/' {
        end -= 1;
    }
    Path::new(std::ffi::OsStr::from_bytes(&bytes[..end]))
}

/// Refuses, before any work, a destination that a restore would refuse: one that is not a
/// directory or is a symlink (`-C link/`), a non-empty one without `replace`, one with a file
/// system mounted inside or that holds the current directory, and one whose parent is
/// missing, is not a directory or cannot be written (the staging directory and the renames
/// are made there). [`restore_reader`] checks the same at its start, and again before it
/// publishes; a caller that has work to do first (asking for a password, opening the input)
/// calls this before it.
///
/// # Errors
///
/// [`Error::InvalidArgument`], [`Error::AlreadyExists`], or [`Error::Path`] naming DEST or its
/// parent.
///
/// # Examples
///
/// ```
/// use a0backup::{restore::validate_destination, Error};
/// let work = tempfile::tempdir()?;
/// std::fs::create_dir(work.path().join("real"))?;
/// std::os::unix::fs::symlink("real", work.path().join("link"))?;
/// let r = validate_destination(&work.path().join("link/"), true);
/// assert!(matches!(r, Err(Error::InvalidArgument(_))));
/// assert!(validate_destination(&work.path().join("new"), false).is_ok());
/// let r = validate_destination(&work.path().join("no/such/new"), false);
/// assert!(matches!(r, Err(Error::Path { .. })));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn validate_destination(dest: &Path, replace: bool) -> Result<()> {
    let target = Target::of(dest)?;
    target.check_parent()?;
    check_destination(&target.path, replace).map(|_| ())
}

/// Refuses a restore into `dest` when `dest` holds `path` (an input of the restore: the
/// backup, a password or status file), which replacing `dest` would delete. [`restore_file`]
/// checks its input; callers that pass [`restore_reader`] an opened file check theirs.
///
/// # Errors
///
/// [`Error::InvalidArgument`] when `path` is `dest` or lies inside it, both resolved (links,
/// `.`, `..`).
///
/// # Examples
///
/// ```
/// use a0backup::{restore::refuse_dest_holding, Error};
/// let work = tempfile::tempdir()?;
/// let backup = work.path().join("backup.tar.gz.enc");
/// std::fs::write(&backup, b"")?;
/// assert!(matches!(refuse_dest_holding(work.path(), &backup), Err(Error::InvalidArgument(_))));
/// assert!(refuse_dest_holding(&work.path().join("restored"), &backup).is_ok());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn refuse_dest_holding(dest: &Path, path: &Path) -> Result<()> {
    if holds(dest, path) {
        return Err(Error::InvalidArgument(format!(
            "{} holds {}, which replacing it would delete: restore into another directory, or \
             move the file out of it first",
            dest.display(),
            path.display()
        )));
    }
    Ok(())
}

/// Whether `path` is the directory `dir` or lies inside it, both resolved; false when either
/// does not exist.
fn holds(dir: &Path, path: &Path) -> bool {
    match (dir.canonicalize(), path.canonicalize()) {
        (Ok(dir), Ok(path)) => path.starts_with(dir),
        _ => false,
    }
}

fn is_empty_dir(dir: &Path) -> Result<bool> {
    Ok(fs::read_dir(dir)
        .map_err(Error::path(dir))?
        .next()
        .is_none())
}

/// The staging directory of one restore: locked for its whole life, removed if dropped
/// (best effort) or by [`Staging::fail`] (reported).
#[derive(Debug)]
struct Staging {
    owned: Option<Owned>,
}

impl Staging {
    fn path(&self) -> &Path {
        self.owned.as_ref().expect("live staging").path()
    }

    fn owned(&self) -> &Owned {
        self.owned.as_ref().expect("live staging")
    }

    /// Removes the staging tree after `cause`, and returns `cause`, or a
    /// [`Error::Leftover`] carrying it when the tree could not be removed.
    fn fail(mut self, cause: Error) -> Error {
        let owned = self.owned.take().expect("live staging");
        match crate::tree::remove_tree(owned.path()) {
            Ok(()) => cause,
            Err(e) => Error::leftover(Leftover::StagingDirectory, e, Some(cause)),
        }
    }

    /// The staging directory's path and its locked handle, no longer removed on drop.
    fn into_parts(mut self) -> (PathBuf, File) {
        self.owned.take().expect("live staging").into_parts()
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if let Some(owned) = self.owned.take() {
            let _ = crate::tree::remove_tree(owned.path());
        }
    }
}

/// Moves the complete staging directory to the destination, durably unless `sync` is off:
/// the tree is flushed, then renamed (or exchanged with the old tree), then the parent is
/// flushed, and only then is a replaced tree removed.
fn publish(
    staging: Staging,
    target: &Target,
    found: Existing,
    replace: bool,
    sync: bool,
    check: &mut dyn FnMut() -> Result<()>,
) -> Result<()> {
    let dest = target.path.as_path();
    // Refused before the flush, which may take long: it is looked at again after it.
    if let Err(e) = recheck_destination(dest, replace, found) {
        return Err(staging.fail(e));
    }
    // The destination keeps the mode of an existing one; a new one gets what mkdir(1) gives.
    let mode = match fs::symlink_metadata(dest) {
        Ok(m) => m.permissions().mode() & 0o7777,
        Err(_) => 0o777 & !durable::umask(),
    };
    let prepared = staging
        .owned()
        .file()
        .set_permissions(fs::Permissions::from_mode(mode))
        .map_err(Error::path(staging.path()))
        .and_then(|()| match sync {
            true => crate::tree::sync_tree(staging.path(), check),
            false => Ok(()),
        });
    if let Err(e) = prepared {
        return Err(staging.fail(e));
    }
    // The renames are made under the publishing lock of the parent: those of another restore
    // into the same destination, and a sweep putting back a set-aside tree, never interleave
    // with them. The destination is looked at again under it.
    let publishing = durable::lock_publishing(&target.parent);
    let existing = match recheck_destination(dest, replace, found) {
        Ok(now) => now,
        Err(e) => return Err(staging.fail(e)),
    };
    if existing != Existing::TreeToReplace {
        // rename(2) replaces an empty directory atomically.
        if let Err(e) = fs::rename(staging.path(), dest) {
            let e = match e.raw_os_error() {
                // Filled since it was looked at, under the lock: by a program that does not
                // take it.
                Some(libc::ENOTEMPTY) | Some(libc::EEXIST) => {
                    Error::DestinationAppeared(dest.into())
                }
                _ => Error::Path {
                    path: dest.to_path_buf(),
                    source: e,
                },
            };
            return Err(staging.fail(e));
        }
        let _ = staging.into_parts();
        if sync {
            crate::tree::fsync_dir(&target.parent)?;
        }
        return Ok(());
    }
    let (old_at, old_lock) = replace_tree(staging, target, sync)?;
    drop(publishing);
    // The old tree goes outside the lock (it may be large), still locked itself, so that no
    // sweep takes it meanwhile.
    let removed = crate::tree::remove_tree(&old_at);
    drop(old_lock);
    removed.map_err(|e| Error::leftover(Leftover::ReplacedTree, e, None))
}

/// [`check_destination`] again, at the end of a restore that found `found` at its start: a
/// destination that was missing or empty then and holds a tree now is
/// [`Error::DestinationAppeared`], with or without replacing, since that tree was not there
/// to be replaced when the restore was asked for.
fn recheck_destination(dest: &Path, replace: bool, found: Existing) -> Result<Existing> {
    let was_a_tree = found == Existing::TreeToReplace;
    match check_destination(dest, replace) {
        Err(Error::AlreadyExists(_)) | Ok(Existing::TreeToReplace) if !was_a_tree => {
            Err(Error::DestinationAppeared(dest.to_path_buf()))
        }
        other => other,
    }
}

/// Opens and locks the directory at `path` (waiting for another restore that is publishing
/// there), so that the old tree stays ours once it is moved to a temporary name.
fn lock_dir(path: &Path) -> Result<File> {
    for _ in 0..64 {
        // Not following a symlink: one swapped in for the directory is refused (ELOOP).
        let f = durable::open_dir_nofollow(path).map_err(Error::path(path))?;
        if f.lock().is_err() {
            return Ok(f); // no locking here: go on without
        }
        let (a, b) = (
            f.metadata().map_err(Error::path(path))?,
            fs::symlink_metadata(path).map_err(Error::path(path))?,
        );
        if a.dev() == b.dev() && a.ino() == b.ino() {
            return Ok(f);
        }
        // Another restore swapped a new tree in while we waited: lock that one.
    }
    Err(Error::Path {
        path: path.to_path_buf(),
        source: io::Error::new(
            io::ErrorKind::ResourceBusy,
            "other restores keep replacing this directory",
        ),
    })
}

/// Swaps the staging tree in for the non-empty destination, and returns where the old tree
/// is now, with the handle that keeps it locked.
fn replace_tree(staging: Staging, target: &Target, sync: bool) -> Result<(PathBuf, File)> {
    let dest = target.path.as_path();
    let old_lock = match lock_dir(dest) {
        Ok(l) => l,
        Err(e) => return Err(staging.fail(e)),
    };
    // Where the old tree ends up: at the staging name (exchange), or at a fresh name beside it
    // (rename aside, where the kernel cannot exchange). Either way locked by `old_lock`.
    let old_at = match durable::exchange(staging.path(), dest) {
        Ok(true) => {
            let (path, new_tree) = staging.into_parts();
            if sync {
                crate::tree::fsync_dir(&target.parent)?;
            }
            drop(new_tree);
            path
        }
        Ok(false) => {
            let Some(aside) = target.sibling(staging.path(), STAGING_TAG, ASIDE_TAG) else {
                let e = Error::path(staging.path())(io::Error::other("not a staging name"));
                return Err(staging.fail(e));
            };
            match set_aside_and_move_in(&staging, dest, &aside, &target.parent, sync) {
                Ok(()) => {}
                Err(Stuck::Clean(e)) => return Err(staging.fail(e)),
                // Both trees are kept (the staging directory too, so that the sweep sees that
                // the destination is not the new tree and removes nothing).
                Err(Stuck::BothKept(e)) => {
                    let _ = staging.into_parts();
                    return Err(e);
                }
            }
            let (_, new_tree) = staging.into_parts();
            drop(new_tree);
            aside
        }
        Err(e) => return Err(staging.fail(Error::path(dest)(e))),
    };
    Ok((old_at, old_lock))
}

/// How [`set_aside_and_move_in`] failed.
enum Stuck {
    /// The destination holds the old tree, as before; the staging tree may go.
    Clean(Error),
    /// The old tree is set aside and could not be put back: keep everything.
    BothKept(Error),
}

/// Publishes the staging tree at `dest`, a non-empty directory, where the kernel cannot
/// exchange them: `dest` is renamed to `aside` (an empty directory made for it first, so the
/// rename is atomic and takes no one else's name), the parent flushed, the staging tree
/// renamed to `dest`, and the parent flushed again. Between the two renames the old tree's
/// only name is `aside`, which a later run's sweep recognises ([`recover_set_aside`]).
fn set_aside_and_move_in(
    staging: &Staging,
    dest: &Path,
    aside: &Path,
    parent: &Path,
    sync: bool,
) -> std::result::Result<(), Stuck> {
    fs::DirBuilder::new()
        .mode(0o700)
        .create(aside)
        .map_err(|e| Stuck::Clean(Error::path(aside)(e)))?;
    if let Err(e) = fs::rename(dest, aside) {
        let _ = fs::remove_dir(aside);
        return Err(Stuck::Clean(Error::path(dest)(e)));
    }
    let moved_in = match sync {
        true => crate::tree::fsync_dir(parent),
        false => Ok(()),
    }
    .and_then(|()| fs::rename(staging.path(), dest).map_err(Error::path(dest)));
    if let Err(e) = moved_in {
        return match fs::rename(aside, dest) {
            Ok(()) => Err(Stuck::Clean(e)),
            Err(back) => Err(Stuck::BothKept(Error::Path {
                path: aside.to_path_buf(),
                source: io::Error::new(
                    back.kind(),
                    format!(
                        "holds the old tree of {}, moved aside to be replaced: the new tree \
                         (kept at {}) could not take its place ({e}), and the old one could not \
                         be put back ({back}); the next restore into {} puts it back",
                        dest.display(),
                        staging.path().display(),
                        dest.display()
                    ),
                ),
            })),
        };
    }
    if sync {
        // The new tree is in place; a failure here is reported, and the old tree stays
        // aside for the sweep, which removes it since the staging name is gone.
        crate::tree::fsync_dir(parent).map_err(Stuck::BothKept)?;
    }
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

/// Everything one extraction needs besides its input.
struct Stage<'s, 'p> {
    target: &'s Target,
    unpack: &'s UnpackOptions,
    progress: &'s mut Progress<'p>,
    total: Option<u64>,
    count: &'s Rc<Cell<u64>>,
    /// Start writeback of each file as it is closed (the tree is synced before publishing).
    sync: bool,
}

impl Stage<'_, '_> {
    /// Inflates `source` on this thread and unpacks it on another into a staging directory
    /// beside the destination. Returns the staging directory, which removes itself if dropped.
    fn extract<S: Read>(
        &mut self,
        mut source: S,
        not_gzip: NotGzip,
    ) -> Result<(Staging, UnpackSummary)> {
        // Checked before the staging directory exists: a wrong password creates nothing.
        let mut gz = GzipReader::with(&mut source, &self.unpack.inflate, not_gzip)?;
        let staging = Staging {
            owned: Some(durable::create_dir(
                &self.target.parent,
                self.target.staging_pattern(),
            )?),
        };
        let root = staging.path().to_path_buf();
        let unpack = self.unpack;
        let sync = self.sync;

        let progress = &mut *self.progress;
        let (count, total) = (self.count, self.total);
        let extracted = hand_off(
            &mut gz,
            "a0backup-untar",
            move |reader| {
                durable::with_writeback(sync, || {
                    unpack_tar(reader, &root, unpack).map(|(summary, _)| summary)
                })
            },
            || progress.report(count.get(), total),
        );
        let mut unpacked = match extracted {
            Ok(u) => u,
            Err(e) => return Err(staging.fail(e)),
        };
        note_trailing_zeros(&mut unpacked, gz.trailing_zeros());
        Ok((staging, unpacked))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mounting needs privileges; the device of each directory comes through a seam instead.
    #[test]
    fn replacing_refuses_a_mount_point_inside_and_a_mounted_dest() {
        let work = tempfile::tempdir().unwrap();
        let dest = work.path().join("dest");
        fs::create_dir_all(dest.join("a/mnt/inner")).unwrap();
        fs::write(dest.join("a/mnt/inner/data"), b"mounted").unwrap();
        let real = |_: &Path, dev: u64| dev;
        assert_eq!(
            check_destination_with(&dest, true, &real).unwrap(),
            Existing::TreeToReplace
        );
        let mount_inside = |p: &Path, dev: u64| dev + u64::from(p.starts_with(dest.join("a/mnt")));
        let err = check_destination_with(&dest, true, &mount_inside).unwrap_err();
        match &err {
            Error::Path { path, source } => {
                assert_eq!(path, &dest.join("a/mnt"));
                assert_eq!(source.kind(), io::ErrorKind::ResourceBusy);
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("a file system is mounted here"));
        let dest_mounted = |p: &Path, dev: u64| dev + u64::from(p.starts_with(&dest));
        let err = check_destination_with(&dest, true, &dest_mounted).unwrap_err();
        assert!(err.to_string().contains("is a mount point"), "{err}");
        assert!(dest.join("a/mnt/inner/data").exists());
    }

    #[test]
    fn dot_and_dot_dot_name_the_directory_they_mean() {
        let t = Target::of(Path::new(".")).unwrap();
        let cwd = std::env::current_dir().unwrap().canonicalize().unwrap();
        assert_eq!(t.path, cwd);
        assert_eq!(Some(t.name.as_os_str()), cwd.file_name());
        assert_eq!(Some(t.parent.as_path()), cwd.parent());
        let t = Target::of(Path::new("restored")).unwrap();
        assert_eq!(
            (t.parent.as_path(), t.name.to_str()),
            (Path::new("."), Some("restored"))
        );
        assert!(matches!(
            Target::of(Path::new("/")),
            Err(Error::InvalidArgument(_))
        ));
    }
}
