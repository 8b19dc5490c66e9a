//! Whole trees, walked relative to directory handles: removed (`rm -rf`), made durable (fsync
//! of every file and directory), searched for a mount point.
//!
//! A walk holds one directory open at a time, whatever the depth: it goes down with
//! `openat(parent, name)` and back up with `openat(child, "..")`, checking that `..` is the
//! directory it came from (device and inode). No path longer than one name is ever given to
//! the kernel, so a tree whose paths exceed `PATH_MAX` (an archive's 4 KiB entry paths under a
//! long destination) is walked like any other, and the open-file limit never bounds the depth.

use std::ffi::{CStr, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Error, Result};

/// A directory on the way down: how to recognise it from below, the subdirectories still to
/// visit, and what the walk's user keeps for it.
struct Frame<T> {
    dev: u64,
    ino: u64,
    subdirs: Vec<OsString>,
    state: T,
}

/// What a walk asks of its user, directory by directory.
trait Visitor {
    /// Kept per directory between entering and leaving it.
    type State;

    /// Before `name` (a directory in `parent`) is opened: make it openable. `dev` is its
    /// device, for a user that refuses to cross into another file system.
    fn before_enter(
        &mut self,
        parent: BorrowedFd<'_>,
        name: &OsStr,
        path: &Path,
        dev: u64,
    ) -> Result<Self::State>;

    /// A directory entry that is not a directory.
    fn other(&mut self, dir: BorrowedFd<'_>, name: &OsStr, path: &Path) -> Result<()>;

    /// After everything under `dir` was visited; `parent` is its parent directory (`None` for
    /// the root).
    fn leave(
        &mut self,
        dir: OwnedFd,
        parent: Option<(BorrowedFd<'_>, &OsStr)>,
        path: &Path,
        state: Self::State,
    ) -> Result<()>;

    /// Whether to stop the walk early (a search that found what it looked for).
    fn done(&self) -> bool {
        false
    }

    /// Whether a subdirectory that cannot be opened for lack of permission is passed over
    /// (rather than failing the walk).
    fn skips_unreadable(&self) -> bool {
        false
    }
}

fn os(name: &CStr) -> &OsStr {
    OsStr::from_bytes(name.to_bytes())
}

fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

fn io_at(path: &Path) -> impl FnOnce(Errno) -> Error + '_ {
    move |e| Error::path(path)(e.into())
}

/// Lists `dir`: the names of its subdirectories, after handing every other entry to `visitor`.
fn list<V: Visitor>(
    dir: BorrowedFd<'_>,
    path: &mut PathBuf,
    visitor: &mut V,
) -> Result<Vec<OsString>> {
    let mut subdirs = Vec::new();
    let mut entries = Dir::read_from(dir).map_err(io_at(path))?;
    while let Some(entry) = entries.read() {
        let entry = entry.map_err(io_at(path))?;
        let name = os(entry.file_name());
        if name == "." || name == ".." {
            continue;
        }
        let kind = match entry.file_type() {
            FileType::Unknown => match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => FileType::from_raw_mode(st.st_mode),
                Err(Errno::NOENT) => continue,
                Err(e) => return Err(io_at(&path.join(name))(e)),
            },
            known => known,
        };
        if kind == FileType::Directory {
            subdirs.push(name.to_os_string());
        } else {
            path.push(name);
            let r = visitor.other(dir, name, path);
            path.pop();
            r?;
        }
    }
    Ok(subdirs)
}

/// Walks the directory `root` depth first (see the module docs).
fn walk<V: Visitor>(root: &Path, visitor: &mut V) -> Result<()> {
    let root_stat = rustix::fs::stat(root).map_err(io_at(root))?;
    let state = visitor.before_enter(rustix::fs::CWD, root.as_os_str(), root, root_stat.st_dev)?;
    let mut fd = rustix::fs::open(root, dir_flags(), Mode::empty()).map_err(io_at(root))?;
    let mut path = root.to_path_buf();
    let st = rustix::fs::fstat(&fd).map_err(io_at(root))?;
    let subdirs = list(fd.as_fd(), &mut path, visitor)?;
    let mut stack = vec![Frame {
        dev: st.st_dev,
        ino: st.st_ino,
        subdirs,
        state,
    }];
    while let Some(top) = stack.last_mut() {
        if visitor.done() {
            return Ok(());
        }
        if let Some(name) = top.subdirs.pop() {
            path.push(&name);
            let st = match rustix::fs::statat(&fd, &name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => st,
                Err(Errno::NOENT) => {
                    path.pop();
                    continue;
                }
                Err(e) => return Err(io_at(&path)(e)),
            };
            if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
                // Replaced since it was listed: not ours to descend into.
                path.pop();
                continue;
            }
            let state = visitor.before_enter(fd.as_fd(), &name, &path, st.st_dev)?;
            let child = match rustix::fs::openat(&fd, &name, dir_flags(), Mode::empty()) {
                Ok(child) => child,
                Err(Errno::ACCESS) if visitor.skips_unreadable() => {
                    path.pop();
                    continue;
                }
                Err(e) => return Err(io_at(&path)(e)),
            };
            let cst = rustix::fs::fstat(&child).map_err(io_at(&path))?;
            fd = child;
            let subdirs = list(fd.as_fd(), &mut path, visitor)?;
            stack.push(Frame {
                dev: cst.st_dev,
                ino: cst.st_ino,
                subdirs,
                state,
            });
            continue;
        }
        let frame = stack.pop().expect("the loop holds a frame");
        let Some(parent_frame) = stack.last() else {
            return visitor.leave(fd, None, &path, frame.state);
        };
        let parent =
            rustix::fs::openat(&fd, "..", dir_flags(), Mode::empty()).map_err(io_at(&path))?;
        let pst = rustix::fs::fstat(&parent).map_err(io_at(&path))?;
        if (pst.st_dev, pst.st_ino) != (parent_frame.dev, parent_frame.ino) {
            return Err(Error::Path {
                path: path.clone(),
                source: io::Error::other("the directory was moved while it was being walked"),
            });
        }
        let name = path
            .file_name()
            .map(OsStr::to_os_string)
            .unwrap_or_default();
        let child = std::mem::replace(&mut fd, parent);
        visitor.leave(child, Some((fd.as_fd(), &name)), &path, frame.state)?;
        path.pop();
    }
    Ok(())
}

fn not_found_ok(r: rustix::io::Result<()>) -> rustix::io::Result<()> {
    match r {
        Err(Errno::NOENT) => Ok(()),
        other => other,
    }
}

fn other_file_system(path: &Path) -> Error {
    Error::Path {
        path: path.to_path_buf(),
        source: io::Error::new(
            io::ErrorKind::ResourceBusy,
            "a file system is mounted here: not removed",
        ),
    }
}

/// Adds `bits` to the mode of `name` in `dir` when it lacks them; returns the mode it had.
fn add_mode(dir: BorrowedFd<'_>, name: &OsStr, path: &Path, bits: u32) -> Result<Option<u32>> {
    let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).map_err(io_at(path))?;
    let mode = st.st_mode & 0o7777;
    if mode & bits == bits {
        return Ok(None);
    }
    rustix::fs::chmodat(
        dir,
        name,
        Mode::from_raw_mode(mode | bits),
        AtFlags::empty(),
    )
    .map_err(io_at(path))?;
    Ok(Some(mode))
}

struct Remover {
    dev: Option<u64>,
}

impl Visitor for Remover {
    type State = ();

    fn before_enter(
        &mut self,
        parent: BorrowedFd<'_>,
        name: &OsStr,
        path: &Path,
        dev: u64,
    ) -> Result<()> {
        if *self.dev.get_or_insert(dev) != dev {
            return Err(other_file_system(path));
        }
        add_mode(parent, name, path, 0o700)?;
        Ok(())
    }

    fn other(&mut self, dir: BorrowedFd<'_>, name: &OsStr, path: &Path) -> Result<()> {
        not_found_ok(rustix::fs::unlinkat(dir, name, AtFlags::empty())).map_err(io_at(path))
    }

    fn leave(
        &mut self,
        dir: OwnedFd,
        parent: Option<(BorrowedFd<'_>, &OsStr)>,
        path: &Path,
        _: (),
    ) -> Result<()> {
        drop(dir);
        match parent {
            Some((parent, name)) => {
                not_found_ok(rustix::fs::unlinkat(parent, name, AtFlags::REMOVEDIR))
                    .map_err(io_at(path))
            }
            None => not_found_ok(rustix::fs::rmdir(path)).map_err(io_at(path)),
        }
    }
}

/// Removes the tree at `root` (a directory, or anything else), like `rm -rf` but:
///
/// * one directory open at a time, by names relative to it (see the module docs);
/// * giving the owner write and search permission on each directory before emptying it, so a
///   read-only directory from an archive does not stop it;
/// * refusing to enter a directory on another file system (a mount point);
/// * reporting the first failure, with the path it happened on. A missing `root` is not one.
pub(crate) fn remove_tree(root: &Path) -> Result<()> {
    let st = match rustix::fs::lstat(root) {
        Ok(st) => st,
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => return Err(io_at(root)(e)),
    };
    if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
        return not_found_ok(rustix::fs::unlink(root)).map_err(io_at(root));
    }
    walk(root, &mut Remover { dev: None })
}

struct MountFinder<'d> {
    device: &'d dyn Fn(&Path, u64) -> u64,
    root_dev: Option<u64>,
    found: Option<PathBuf>,
}

impl Visitor for MountFinder<'_> {
    type State = ();

    fn before_enter(&mut self, _: BorrowedFd<'_>, _: &OsStr, path: &Path, dev: u64) -> Result<()> {
        let dev = (self.device)(path, dev);
        if *self.root_dev.get_or_insert(dev) != dev && self.found.is_none() {
            self.found = Some(path.to_path_buf());
        }
        Ok(())
    }

    fn other(&mut self, _: BorrowedFd<'_>, _: &OsStr, _: &Path) -> Result<()> {
        Ok(())
    }

    fn leave(
        &mut self,
        _: OwnedFd,
        _: Option<(BorrowedFd<'_>, &OsStr)>,
        _: &Path,
        _: (),
    ) -> Result<()> {
        Ok(())
    }

    fn done(&self) -> bool {
        self.found.is_some()
    }

    // As the owner, removal would make an unreadable directory readable; this search looks at
    // what can be seen. Such a directory cannot hide a mount from rename, only from us, and
    // the removal refuses to cross devices anyway.
    fn skips_unreadable(&self) -> bool {
        true
    }
}

/// The first directory under `root` (root excluded) whose device differs from `root`'s: a
/// mount point inside the tree. `device` maps a directory's path and real device to the one
/// to compare (a seam for tests; `|_, dev| dev` otherwise).
pub(crate) fn find_mount_inside(
    root: &Path,
    device: &dyn Fn(&Path, u64) -> u64,
) -> Result<Option<PathBuf>> {
    let mut finder = MountFinder {
        device,
        root_dev: None,
        found: None,
    };
    walk(root, &mut finder)?;
    Ok(finder.found)
}

/// Flushes a directory's entries to stable storage.
pub(crate) fn fsync_dir(dir: &Path) -> Result<()> {
    let d = File::open(dir).map_err(Error::path(dir))?;
    d.sync_all().map_err(Error::path(dir))
}

struct Syncer<'c> {
    check: &'c mut dyn FnMut() -> Result<()>,
}

impl Visitor for Syncer<'_> {
    /// The directory's mode to put back, when search and read were added to walk it.
    type State = Option<u32>;

    fn before_enter(
        &mut self,
        parent: BorrowedFd<'_>,
        name: &OsStr,
        path: &Path,
        _: u64,
    ) -> Result<Option<u32>> {
        add_mode(parent, name, path, 0o500)
    }

    fn other(&mut self, dir: BorrowedFd<'_>, name: &OsStr, path: &Path) -> Result<()> {
        let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).map_err(io_at(path))?;
        // Symlinks have no descriptor of their own: their directory's fsync covers them.
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Ok(());
        }
        (self.check)()?;
        let flags =
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let added = add_mode(dir, name, path, 0o400)?;
        let opened = rustix::fs::openat(dir, name, flags, Mode::empty());
        if let Some(mode) = added {
            rustix::fs::chmodat(dir, name, Mode::from_raw_mode(mode), AtFlags::empty())
                .map_err(io_at(path))?;
        }
        let f = File::from(opened.map_err(io_at(path))?);
        f.sync_all().map_err(Error::path(path))
    }

    fn leave(
        &mut self,
        dir: OwnedFd,
        _: Option<(BorrowedFd<'_>, &OsStr)>,
        path: &Path,
        mode: Option<u32>,
    ) -> Result<()> {
        if let Some(mode) = mode {
            rustix::fs::fchmod(&dir, Mode::from_raw_mode(mode)).map_err(io_at(path))?;
        }
        File::from(dir).sync_all().map_err(Error::path(path))
    }
}

/// Makes every regular file and directory of the tree at `root` durable (fsync), files first,
/// each directory after its contents (see the module docs for the walk). Modes that had to be
/// widened for the walk (an archive may hold a mode 000 file or directory) are put back.
/// `check` is called before each file, to let a cancel in.
pub(crate) fn sync_tree(root: &Path, check: &mut dyn FnMut() -> Result<()>) -> Result<()> {
    walk(root, &mut Syncer { check })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn mount_seam_finds_a_directory_on_another_device() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("a/b/mnt")).unwrap();
        fs::create_dir_all(dir.path().join("c")).unwrap();
        let real = |_: &Path, dev: u64| dev;
        assert_eq!(find_mount_inside(dir.path(), &real).unwrap(), None);
        let fake = |p: &Path, dev: u64| dev + u64::from(p.ends_with("b/mnt"));
        assert_eq!(
            find_mount_inside(dir.path(), &fake).unwrap(),
            Some(dir.path().join("a/b/mnt"))
        );
    }

    #[test]
    fn remove_tree_handles_read_only_directories_and_depth() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("t");
        let mut deep = root.clone();
        for _ in 0..300 {
            deep.push("d");
        }
        fs::create_dir_all(&deep).unwrap();
        fs::write(deep.join("f"), b"x").unwrap();
        fs::set_permissions(&deep, fs::Permissions::from_mode(0o555)).unwrap();
        fs::set_permissions(root.join("d"), fs::Permissions::from_mode(0o000)).unwrap();
        remove_tree(&root).unwrap();
        assert!(!root.exists());
        remove_tree(&root).unwrap(); // already gone: fine
    }

    #[test]
    fn sync_tree_puts_modes_back() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("t");
        fs::create_dir_all(root.join("locked/inner")).unwrap();
        fs::write(root.join("locked/inner/f"), b"x").unwrap();
        fs::set_permissions(
            root.join("locked/inner/f"),
            fs::Permissions::from_mode(0o000),
        )
        .unwrap();
        fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o000)).unwrap();
        let mut calls = 0;
        sync_tree(&root, &mut || {
            calls += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(calls, 1);
        let mode = |p: &str| fs::symlink_metadata(root.join(p)).unwrap().mode() & 0o7777;
        assert_eq!(mode("locked"), 0o000);
        fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(mode("locked/inner/f"), 0o000);
        let mut cancelled = || Err(Error::Cancelled);
        assert!(matches!(
            sync_tree(&root, &mut cancelled),
            Err(Error::Cancelled)
        ));
    }

    /// Paths longer than `PATH_MAX` below the root: every walk still reaches them.
    #[test]
    fn trees_deeper_than_path_max_are_walked() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("t");
        fs::create_dir(&root).unwrap();
        let name = "n".repeat(250);
        // 40 levels of 251 bytes: a 10 KiB path, made relative to each parent.
        let mut fd = rustix::fs::open(&root, dir_flags(), Mode::empty()).unwrap();
        for _ in 0..40 {
            rustix::fs::mkdirat(&fd, name.as_str(), Mode::from_raw_mode(0o700)).unwrap();
            fd = rustix::fs::openat(&fd, name.as_str(), dir_flags(), Mode::empty()).unwrap();
        }
        let f = rustix::fs::openat(
            &fd,
            "f",
            OFlags::WRONLY | OFlags::CREATE,
            Mode::from_raw_mode(0o000),
        )
        .unwrap();
        drop(f);
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o500)).unwrap();
        let mut files = 0;
        sync_tree(&root, &mut || {
            files += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(files, 1);
        assert_eq!(
            rustix::fs::fstat(&fd).unwrap().st_mode & 0o777,
            0o500,
            "mode put back"
        );
        assert_eq!(find_mount_inside(&root, &|_, dev| dev).unwrap(), None);
        let mount = find_mount_inside(&root, &|p, dev| dev + u64::from(p.as_os_str().len() > 9000))
            .unwrap();
        assert!(mount.is_some_and(|p| p.as_os_str().len() > 9000));
        drop(fd);
        remove_tree(&root).unwrap();
        assert!(!root.exists());
    }
}
