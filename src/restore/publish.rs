//! Publishing a complete restore: the staging directory renamed (or exchanged) into place,
//! durably; where the kernel cannot exchange, the old tree set aside under a name a later
//! run's sweep recognises and puts back; and that sweep.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::durable::{self, Kind, Owned};
use crate::error::{Error, Leftover, Result};

use super::target::{is_empty_dir, recheck_destination, Existing, Target, ASIDE_TAG, STAGING_TAG};

/// The staging directory of one restore: locked for its whole life, removed if dropped
/// (best effort) or by [`Staging::fail`] (reported).
#[derive(Debug)]
pub(super) struct Staging {
    pub(super) owned: Option<Owned>,
}

impl Staging {
    pub(super) fn path(&self) -> &Path {
        self.owned.as_ref().expect("live staging").path()
    }

    pub(super) fn owned(&self) -> &Owned {
        self.owned.as_ref().expect("live staging")
    }

    /// Removes the staging tree after `cause`, and returns `cause`, or a
    /// [`Error::Leftover`] carrying it when the tree could not be removed.
    pub(super) fn fail(mut self, cause: Error) -> Error {
        let owned = self.owned.take().expect("live staging");
        match crate::tree::remove_tree(owned.path()) {
            Ok(()) => cause,
            Err(e) => Error::leftover(Leftover::StagingDirectory, e, Some(cause)),
        }
    }

    /// The staging directory's path and its locked handle, no longer removed on drop.
    pub(super) fn into_parts(mut self) -> (PathBuf, File) {
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
pub(super) fn publish(
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
        Err(_) => 0o777 & !crate::process::umask(),
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

/// Opens and locks the directory at `path` (waiting for another restore that is publishing
/// there), so that the old tree stays ours once it is moved to a temporary name.
pub(super) fn lock_dir(path: &Path) -> Result<File> {
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
pub(super) fn replace_tree(
    staging: Staging,
    target: &Target,
    sync: bool,
) -> Result<(PathBuf, File)> {
    let dest = target.path.as_path();
    let old_lock = match lock_dir(dest) {
        Ok(l) => l,
        Err(e) => return Err(staging.fail(e)),
    };
    // Where the old tree ends up: at the staging name (exchange), or at a fresh name beside it
    // (rename aside, where the kernel cannot exchange). Either way locked by `old_lock`.
    let old_at = match crate::rename::exchange(staging.path(), dest) {
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
pub(super) enum Stuck {
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
pub(super) fn set_aside_and_move_in(
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
pub(super) fn recover_set_aside(target: &Target) -> Result<()> {
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
