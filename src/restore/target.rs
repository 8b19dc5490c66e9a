//! Where a restore goes, and what may be there: the destination, its parent and its name, and
//! the checks made before any work and again before publishing.

use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::durable::Pattern;
use crate::error::{Error, Result};

/// Where a restore goes: the destination, its parent and its name.
#[derive(Debug)]
pub(super) struct Target {
    /// The destination as given, or, for one without a name of its own (`.`, `..`), the
    /// directory it names.
    pub(super) path: PathBuf,
    pub(super) parent: PathBuf,
    pub(super) name: std::ffi::OsString,
}

pub(super) const STAGING_TAG: &str = ".a0backup-staging-";
/// Where the kernel cannot exchange two names, the tree being replaced is renamed to
/// `.NAME.a0backup-aside-RANDOM` (RANDOM that of the staging directory holding the new tree)
/// before the new tree takes its name: the sweep of a later run recognises it and puts it
/// back if the destination is missing.
pub(super) const ASIDE_TAG: &str = ".a0backup-aside-";
/// Earlier versions moved a replaced tree aside under this tag; the sweep treats them as
/// set-aside trees without a staging directory.
pub(super) const OLD_TAG: &str = ".a0backup-old-";

impl Target {
    pub(super) fn of(dest: &Path) -> Result<Target> {
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

    pub(super) fn staging_pattern(&self) -> Pattern<'_> {
        Pattern {
            name: &self.name,
            tag: STAGING_TAG,
            suffix: "",
        }
    }

    /// Refuses a parent that is missing, is not a directory, or cannot be written and
    /// searched by this process (where the staging directory is made and renamed).
    pub(super) fn check_parent(&self) -> Result<()> {
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
    pub(super) fn aside_patterns(&self) -> [Pattern<'_>; 2] {
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
    pub(super) fn sibling(&self, path: &Path, from: &str, to: &str) -> Option<PathBuf> {
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

/// What is at the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Existing {
    Nothing,
    EmptyDir,
    /// A non-empty directory, and replacing it was asked for.
    TreeToReplace,
}

/// Refuses early (before any work) what `publish` would refuse at the end.
pub(super) fn check_destination(dest: &Path, replace: bool) -> Result<Existing> {
    check_destination_with(dest, replace, &|_, dev| dev)
}

/// [`check_destination`], with the device of each directory from `device` (a seam for tests:
/// mounting needs privileges).
pub(super) fn check_destination_with(
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
pub(super) fn without_trailing_slash(path: &Path) -> &Path {
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
/// are made there). `restore_reader` checks the same at its start, and again before it
/// publishes; a caller that has work to do first (asking for a password, opening the input)
/// calls this before it.
///
/// # Errors
///
/// [`Error::InvalidArgument`], [`Error::AlreadyExists`], or [`Error::Path`] naming DEST or its
/// parent.
pub(super) fn validate_destination(dest: &Path, replace: bool, keep: &[&Path]) -> Result<()> {
    for path in keep {
        refuse_dest_holding(dest, path)?;
    }
    let target = Target::of(dest)?;
    target.check_parent()?;
    check_destination(&target.path, replace).map(|_| ())
}

/// Refuses a restore into `dest` when `dest` holds `path` (an input of the restore: the
/// backup, a password or status file), which replacing `dest` would delete. `restore_file`
/// checks its input; callers that pass `restore_reader` an opened file check theirs.
///
/// # Errors
///
/// [`Error::InvalidArgument`] when `path` is `dest` or lies inside it, both resolved (links,
/// `.`, `..`).
pub(crate) fn refuse_dest_holding(dest: &Path, path: &Path) -> Result<()> {
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
pub(super) fn holds(dir: &Path, path: &Path) -> bool {
    match (dir.canonicalize(), path.canonicalize()) {
        (Ok(dir), Ok(path)) => path.starts_with(dir),
        _ => false,
    }
}

pub(super) fn is_empty_dir(dir: &Path) -> Result<bool> {
    Ok(fs::read_dir(dir)
        .map_err(Error::path(dir))?
        .next()
        .is_none())
}

/// [`check_destination`] again, at the end of a restore that found `found` at its start: a
/// destination that was missing or empty then and holds a tree now is
/// [`Error::DestinationAppeared`], with or without replacing, since that tree was not there
/// to be replaced when the restore was asked for.
pub(super) fn recheck_destination(dest: &Path, replace: bool, found: Existing) -> Result<Existing> {
    let was_a_tree = found == Existing::TreeToReplace;
    match check_destination(dest, replace) {
        Err(Error::AlreadyExists(_)) | Ok(Existing::TreeToReplace) if !was_a_tree => {
            Err(Error::DestinationAppeared(dest.to_path_buf()))
        }
        other => other,
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
