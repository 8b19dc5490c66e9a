//! Carrying out the policy's plan on a file system: the directory, file, symlink or hardlink
//! the [`PathPolicy`] accepted, in a destination that started empty.
//!
//! The destination is fresh (empty, or a staging directory of our own), so the file system
//! answers what the model does not keep: a regular file found there was extracted earlier from
//! this archive, and a name that already exists is a collision (`O_EXCL`, `mkdir` and `symlink`
//! all fail with `EEXIST`). Once the archive has made a symlink, every path is also checked
//! against the file system, which on a case-insensitive or normalizing file system (APFS,
//! casefold ext4, CIFS) resolves `LINK/x` or a differently composed `é` to the symlink the model
//! knows as `link`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};

use super::policy::{
    collision, not_an_earlier_file, parent_not_a_directory, refuse, Action, PathPolicy,
};
use super::tar_reader::{TarEntry, TarReader};
use super::{UnpackOptions, UnpackSummary};

/// The state of one extraction.
pub(super) struct Extraction<'a> {
    dest: &'a Path,
    policy: PathPolicy<'a>,
    summary: UnpackSummary,
    /// Bits to clear from every mode (the umask), unless permissions are preserved.
    mask: u32,
    buf: Vec<u8>,
}

/// The process umask, read without changing it (`umask(2)` can only be read by setting it,
/// which would race with other threads creating files).
fn current_umask() -> u32 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
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

/// A creation that failed because the name exists: `what` says which refusal that is.
fn create_error(e: io::Error, full: &Path, exists: impl FnOnce() -> Error) -> Error {
    if e.kind() == io::ErrorKind::AlreadyExists {
        exists()
    } else {
        Error::Path {
            path: full.to_path_buf(),
            source: e,
        }
    }
}

impl<'a> Extraction<'a> {
    pub(super) fn new(dest: &'a Path, options: &'a UnpackOptions) -> Self {
        Extraction {
            dest,
            policy: PathPolicy::new(options, false),
            summary: UnpackSummary::default(),
            mask: if options.preserve_permissions {
                0
            } else {
                current_umask()
            },
            buf: vec![0u8; 256 * 1024],
        }
    }

    /// Permission bits to apply: never setuid, setgid or sticky; masked unless preserved.
    fn permissions(&self, mode: u32) -> fs::Permissions {
        fs::Permissions::from_mode(mode & 0o777 & !self.mask)
    }

    /// Refuses a path whose parent directories include a symlink as the file system resolves
    /// them (see the module docs).
    fn check_on_disk(&self, rel: &Path, raw: &[u8]) -> Result<()> {
        let mut at = self.dest.to_path_buf();
        for c in rel.parent().into_iter().flat_map(Path::components) {
            at.push(c);
            match fs::symlink_metadata(&at) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(refuse(raw, "path passes through a symlink"))
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                Err(e) => {
                    return Err(Error::Path {
                        path: at,
                        source: e,
                    })
                }
            }
        }
        Ok(())
    }

    fn mkdir(&self, rel: &Path, exists: impl FnOnce() -> Error) -> Result<()> {
        let full = self.dest.join(rel);
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&full)
            .map_err(|e| create_error(e, &full, exists))
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
        if self.policy.has_symlinks() {
            self.check_on_disk(&plan.rel, raw)?;
            if let Action::Hardlink { target } = &plan.action {
                self.check_on_disk(target, raw)?;
            }
        }
        for parent in &plan.new_parents {
            self.mkdir(parent, || parent_not_a_directory(raw))?;
            self.summary.directories += 1;
        }
        let full = self.dest.join(&plan.rel);
        match plan.action {
            Action::Dir { create } => {
                if create {
                    self.mkdir(&plan.rel, || collision(raw))?;
                    self.summary.directories += 1;
                }
            }
            Action::File => self.file(reader, &full, raw, entry)?,
            Action::Symlink { target } => {
                std::os::unix::fs::symlink(&target, &full)
                    .map_err(|e| create_error(e, &full, || collision(raw)))?;
                self.summary.links += 1;
            }
            Action::Hardlink { target } => {
                // The destination started empty, so a regular file in it came from this archive.
                let target_full = self.dest.join(&target);
                match fs::symlink_metadata(&target_full) {
                    Ok(m) if m.file_type().is_file() => {}
                    _ => return Err(not_an_earlier_file(raw)),
                }
                fs::hard_link(&target_full, &full)
                    .map_err(|e| create_error(e, &full, || collision(raw)))?;
                // GNU tar skips a hardlink's data (some writers store the content again); the
                // reader skips it with the rest of the entry.
                self.summary.links += 1;
            }
        }
        Ok(())
    }

    fn file<R: Read>(
        &mut self,
        reader: &mut TarReader<R>,
        full: &Path,
        raw: &[u8],
        entry: &TarEntry,
    ) -> Result<()> {
        // `create_new` is O_EXCL: it never follows a symlink at the final name.
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(full)
            .map_err(|e| create_error(e, full, || collision(raw)))?;
        loop {
            let n = reader.read_data(&mut self.buf)?;
            if n == 0 {
                break;
            }
            f.write_all(&self.buf[..n]).map_err(Error::path(full))?;
        }
        crate::durable::start_writeback(&f);
        self.summary.bytes += entry.size;
        self.summary.files += 1;
        f.set_permissions(self.permissions(entry.mode))
            .map_err(Error::path(full))?;
        f.set_modified(system_time(entry.mtime))
            .map_err(Error::path(full))?;
        Ok(())
    }

    /// Applies the directories' modes and times, now that everything inside is written, and
    /// returns what was written.
    pub(super) fn finish(self) -> Result<UnpackSummary> {
        let mask = self.mask;
        let mut summary = self.summary;
        self.policy.selection_found()?;
        summary.skipped = self.policy.skipped();
        for (rel, mode, mtime) in self.policy.into_directories() {
            let full = self.dest.join(&rel);
            if let Some(t) = mtime {
                let d = File::open(&full).map_err(Error::path(&full))?;
                d.set_modified(system_time(t)).map_err(Error::path(&full))?;
            }
            fs::set_permissions(&full, fs::Permissions::from_mode(mode & 0o777 & !mask))
                .map_err(Error::path(&full))?;
        }
        Ok(summary)
    }
}
