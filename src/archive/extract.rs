//! Carrying out the policy's plan on a file system: the directory, file, symlink or hardlink
//! the [`PathPolicy`] accepted, in a destination that started empty.
//!
//! Every name is created relative to its parent directory's handle (`openat`, `mkdirat`,
//! `symlinkat`, `linkat`), and every directory on the way is opened one component at a time
//! with `O_NOFOLLOW` ([`Dirs`]). So the length of the destination's own path never matters
//! (an entry path the policy accepts is created under a destination of any depth), and a
//! symlink is never followed on the way: where a case-insensitive or normalizing file system
//! (APFS, casefold ext4, CIFS) resolves `LINK/x` or a differently composed `é` to a symlink the
//! model knows as `link`, the open fails and the entry is refused.
//!
//! The model decides collisions and hardlink targets (it knows every file, see the policy);
//! the file system's `EEXIST` is a second answer to the same question, for a name that a
//! case-insensitive file system takes for an earlier one.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Error, Result};

use super::policy::{collision, not_an_earlier_file, parent_not_a_directory, refuse, Action};
use super::policy::{PathPolicy, Planned};
use super::tar_reader::{TarEntry, TarReader};
use super::{UnpackOptions, UnpackSummary};

/// The state of one extraction.
pub(super) struct Extraction<'a> {
    dest: &'a Path,
    dirs: Dirs,
    policy: PathPolicy<'a>,
    summary: UnpackSummary,
    /// Bits to clear from every mode (the umask), unless permissions are preserved.
    mask: u32,
    buf: Vec<u8>,
}

/// Seconds since the epoch as a `SystemTime`, for any i64 (pre-1970 included). The kernel
/// clamps a time the file system cannot hold to the nearest one it can.
fn system_time(secs: i64) -> SystemTime {
    let magnitude = Duration::from_secs(secs.unsigned_abs());
    let t = if secs >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(magnitude)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(magnitude)
    };
    t.unwrap_or(SystemTime::UNIX_EPOCH)
}

/// Directories of the destination, opened relative to its root one component at a time
/// without following symlinks. The directory opened last is kept open: an archive lists a
/// directory's files together, so most entries cost one `openat` of their own.
struct Dirs {
    root: OwnedFd,
    last: Option<(PathBuf, OwnedFd)>,
}

/// How one step of a walk failed: a symlink or a non-directory where a directory was
/// expected (what a case-insensitive file system can make of a name), or another error.
enum WalkError {
    NotADirectory,
    Io(io::Error),
}

fn open_dir_at(dir: BorrowedFd<'_>, name: &OsStr) -> std::result::Result<OwnedFd, WalkError> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    rustix::fs::openat(dir, name, flags, Mode::empty()).map_err(|e| match e {
        Errno::LOOP | Errno::NOTDIR => WalkError::NotADirectory,
        e => WalkError::Io(e.into()),
    })
}

impl Dirs {
    fn new(dest: &Path) -> Result<Dirs> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let root = rustix::fs::open(dest, flags, Mode::empty())
            .map_err(|e| Error::path(dest)(e.into()))?;
        Ok(Dirs { root, last: None })
    }

    /// The directory at `rel` (relative to the root; empty for the root itself).
    fn open(&mut self, rel: &Path) -> std::result::Result<BorrowedFd<'_>, WalkError> {
        if rel.as_os_str().is_empty() {
            return Ok(self.root.as_fd());
        }
        let reusable = matches!(&self.last, Some((p, _)) if rel.starts_with(p));
        if !reusable {
            self.last = None;
        }
        let (start, rest) = match &self.last {
            Some((p, fd)) => (fd.as_fd(), rel.strip_prefix(p).unwrap_or(rel)),
            None => (self.root.as_fd(), rel),
        };
        let mut at: Option<OwnedFd> = None;
        for c in rest.components() {
            let Component::Normal(name) = c else { continue };
            let parent = at.as_ref().map_or(start, |fd| fd.as_fd());
            at = Some(open_dir_at(parent, name)?);
        }
        if let Some(fd) = at {
            self.last = Some((rel.to_path_buf(), fd));
        }
        Ok(self
            .last
            .as_ref()
            .map_or(self.root.as_fd(), |(_, fd)| fd.as_fd()))
    }

    /// The directory at `rel`, opened on its own (a handle of its own, the cache left as it
    /// is), for a second directory alongside the cached one.
    fn open_separately(&self, rel: &Path) -> std::result::Result<OwnedFd, WalkError> {
        let mut at = self.root.try_clone().map_err(WalkError::Io)?;
        for c in rel.components() {
            let Component::Normal(name) = c else { continue };
            at = open_dir_at(at.as_fd(), name)?;
        }
        Ok(at)
    }
}

/// The error for a failed walk to `rel`: a refusal for what the model did not foresee (a name
/// the file system resolves to a symlink or a file), else the I/O error with the path.
fn walk_error(dest: &Path, e: WalkError, rel: &Path, raw: &[u8]) -> Error {
    match e {
        WalkError::NotADirectory => refuse(raw, "path passes through a symlink"),
        WalkError::Io(source) => Error::Path {
            path: dest.join(rel),
            source,
        },
    }
}

/// The error for a failed creation of `rel`: `EEXIST` is the refusal `exists` gives.
fn create_error(dest: &Path, e: Errno, rel: &Path, exists: impl FnOnce() -> Error) -> Error {
    match e {
        Errno::EXIST => exists(),
        e => Error::Path {
            path: dest.join(rel),
            source: e.into(),
        },
    }
}

/// `rel`'s parent (empty at the top) and last component.
fn split(rel: &Path) -> (&Path, &OsStr) {
    let parent = rel.parent().unwrap_or(Path::new(""));
    (parent, rel.file_name().unwrap_or(rel.as_os_str()))
}

impl<'a> Extraction<'a> {
    /// An extraction into `dest`, an existing empty directory.
    pub(super) fn new(dest: &'a Path, options: &'a UnpackOptions) -> Result<Self> {
        Ok(Extraction {
            dest,
            dirs: Dirs::new(dest)?,
            policy: PathPolicy::new(options),
            summary: UnpackSummary::default(),
            mask: if options.preserve_permissions {
                0
            } else {
                crate::process::umask()
            },
            buf: vec![0u8; 256 * 1024],
        })
    }

    fn mkdir(&mut self, rel: &Path, raw: &[u8], exists: impl FnOnce() -> Error) -> Result<()> {
        let (parent, name) = split(rel);
        let dir = self
            .dirs
            .open(parent)
            .map_err(|e| walk_error(self.dest, e, parent, raw))?;
        rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(0o700))
            .map_err(|e| create_error(self.dest, e, rel, exists))
    }

    pub(super) fn entry<R: Read>(
        &mut self,
        entry: &TarEntry,
        reader: &mut TarReader<R>,
    ) -> Result<()> {
        let raw = &entry.path[..];
        let Some(plan) = self.policy.plan(entry)? else {
            return Ok(());
        };
        let Planned {
            rel,
            new_parents,
            action,
        } = plan;
        for parent in &new_parents {
            self.mkdir(parent, raw, || parent_not_a_directory(raw))?;
            self.summary.directories += 1;
        }
        match action {
            Action::Dir { create } => {
                if create {
                    self.mkdir(&rel, raw, || collision(raw))?;
                    self.summary.directories += 1;
                }
            }
            Action::File => self.file(reader, &rel, raw, entry)?,
            Action::Symlink { target } => {
                let (parent, name) = split(&rel);
                let dir = self
                    .dirs
                    .open(parent)
                    .map_err(|e| walk_error(self.dest, e, parent, raw))?;
                rustix::fs::symlinkat(&target, dir, name)
                    .map_err(|e| create_error(self.dest, e, &rel, || collision(raw)))?;
                self.summary.links += 1;
            }
            Action::Hardlink { target } => {
                self.hardlink(&rel, &target, raw)?;
                // GNU tar skips a hardlink's data (some writers store the content again); the
                // reader skips it with the rest of the entry.
                self.summary.links += 1;
            }
        }
        Ok(())
    }

    /// Links `rel` to `target`, a regular file this archive created (the model says so; the
    /// file system is asked again, without following a symlink at the name).
    fn hardlink(&mut self, rel: &Path, target: &Path, raw: &[u8]) -> Result<()> {
        let dest = self.dest;
        let (target_parent, target_name) = split(target);
        let target_dir = self
            .dirs
            .open_separately(target_parent)
            .map_err(|e| walk_error(dest, e, target_parent, raw))?;
        match rustix::fs::statat(&target_dir, target_name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile => {}
            _ => return Err(not_an_earlier_file(raw)),
        }
        let (parent, name) = split(rel);
        let dir = self
            .dirs
            .open(parent)
            .map_err(|e| walk_error(dest, e, parent, raw))?;
        rustix::fs::linkat(&target_dir, target_name, dir, name, AtFlags::empty())
            .map_err(|e| create_error(dest, e, rel, || collision(raw)))
    }

    fn file<R: Read>(
        &mut self,
        reader: &mut TarReader<R>,
        rel: &Path,
        raw: &[u8],
        entry: &TarEntry,
    ) -> Result<()> {
        let (parent, name) = split(rel);
        let dir = self
            .dirs
            .open(parent)
            .map_err(|e| walk_error(self.dest, e, parent, raw))?;
        // O_EXCL never follows a symlink at the final name.
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(dir, name, flags, Mode::from_raw_mode(0o600))
            .map_err(|e| create_error(self.dest, e, rel, || collision(raw)))?;
        let full = self.dest.join(rel);
        let mut f = File::from(fd);
        loop {
            let n = reader.read_data(&mut self.buf)?;
            if n == 0 {
                break;
            }
            f.write_all(&self.buf[..n]).map_err(Error::path(&full))?;
        }
        crate::writeback::start_writeback(&f);
        self.summary.bytes += entry.size;
        self.summary.files += 1;
        rustix::fs::fchmod(&f, Mode::from_raw_mode(entry.mode & 0o777 & !self.mask))
            .map_err(|e| Error::path(&full)(e.into()))?;
        f.set_modified(system_time(entry.mtime))
            .map_err(Error::path(&full))?;
        Ok(())
    }

    /// Applies the directories' modes and times, now that everything inside is written, and
    /// returns what was written.
    pub(super) fn finish(self) -> Result<UnpackSummary> {
        let Extraction {
            dest,
            dirs,
            policy,
            mut summary,
            mask,
            ..
        } = self;
        policy.selection_found()?;
        summary.skipped = policy.skipped();
        for (rel, mode, mtime) in policy.into_directories() {
            let raw = rel.as_os_str().as_bytes();
            let d = File::from(
                dirs.open_separately(&rel)
                    .map_err(|e| walk_error(dest, e, &rel, raw))?,
            );
            if let Some(t) = mtime {
                d.set_modified(system_time(t))
                    .map_err(Error::path(dest.join(&rel)))?;
            }
            rustix::fs::fchmod(&d, Mode::from_raw_mode(mode & 0o777 & !mask))
                .map_err(|e| Error::path(dest.join(&rel))(e.into()))?;
        }
        Ok(summary)
    }
}
