//! Files that appear only when complete: written under a temporary name beside the final one,
//! renamed into place when done, removed otherwise.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use crate::durable::{self, Kind, Owned, Pattern};
use crate::error::{Error, Leftover, Result};
use crate::io_ext::Labeled;
use crate::writeback::Writeback;

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
#[derive(Debug)]
pub(crate) struct AtomicFile {
    /// The temporary file; `None` once committed or discarded.
    temp: Option<Owned>,
    path: PathBuf,
    parent: PathBuf,
    overwrite: bool,
    sync: bool,
}

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
    pub(crate) fn create(path: &Path, overwrite: bool) -> Result<AtomicFile> {
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
    pub(crate) fn sync(mut self, yes: bool) -> Self {
        self.sync = yes;
        self
    }

    fn temp(&self) -> &Owned {
        self.temp.as_ref().expect("not committed yet")
    }

    /// The temporary file, as a writer whose errors name the final path, starting writeback
    /// as it goes when syncing.
    pub(crate) fn writer(&self) -> Labeled<'_, Writeback<'_>> {
        Labeled::new(Writeback::new(self.temp().file(), self.sync), &self.path)
    }

    /// The temporary file, to write into.
    pub(crate) fn as_file(&self) -> &File {
        self.temp().file()
    }

    /// Renames the file into place (replacing an existing one only if `overwrite` was given),
    /// flushed to stable storage first and its directory after, unless [`sync`](Self::sync)
    /// is off. On failure the temporary file is removed.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`] if a file appeared at `path` meanwhile and overwrite is off;
    /// [`Error::Path`] when the flush or the rename fails.
    pub(crate) fn commit(mut self) -> Result<()> {
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
            crate::rename::rename_noreplace(temp.path(), &self.path)
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
    pub(crate) fn discard(mut self) -> Result<()> {
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
    pub(crate) fn discard_after(self, cause: Error) -> Error {
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
