//! Temporary siblings that leave nothing behind, and publishing that survives a power loss.
//!
//! Every output of a0backup is made under a temporary name beside its final name (a staging
//! directory for a restore, a temporary file for a decrypt, encrypt or pack) and renamed into
//! place when complete. This module gives those temporary siblings three properties:
//!
//! * **Owned while alive.** The run that creates one holds an advisory lock (`flock`, exclusive)
//!   on it for its whole life, and the lock dies with the process, however it ends.
//! * **Found after a crash.** A run looks, beside its own final name, for siblings whose names
//!   follow the same pattern, and removes those whose lock it can take (their owner is gone: a
//!   SIGKILL, a power loss). One whose lock it cannot take belongs to a live run and is left
//!   alone. Nothing is ever guessed from a file's age. What is done with one is the caller's
//!   ([`for_each_unowned`]): a restore puts a tree it had set aside back in place rather than
//!   removing the only copy of it.
//! * **Removable.** Trees are removed by [`crate::tree::remove_tree`], and a failure is
//!   reported, never swallowed.
//!
//! Publishing is made durable by `crate::tree`'s fsyncs, with a head start from
//! `crate::writeback`.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Leftover, Result};

/// How the temporary siblings of one final name are named: `.{name}{tag}{RANDOM}{suffix}`,
/// RANDOM being ASCII letters and digits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pattern<'a> {
    pub(crate) name: &'a OsStr,
    pub(crate) tag: &'static str,
    pub(crate) suffix: &'static str,
}

impl Pattern<'_> {
    fn make(&self, random: &str) -> OsString {
        let mut s = OsString::from(".");
        s.push(self.name);
        s.push(self.tag);
        s.push(random);
        s.push(self.suffix);
        s
    }

    /// Whether `candidate` is a name this pattern makes.
    pub(crate) fn matches(&self, candidate: &OsStr) -> bool {
        let c = candidate.as_bytes();
        let head_len = 1 + self.name.len() + self.tag.len();
        if c.len() <= head_len + self.suffix.len()
            || c[0] != b'.'
            || &c[1..1 + self.name.len()] != self.name.as_bytes()
            || &c[1 + self.name.len()..head_len] != self.tag.as_bytes()
            || !c.ends_with(self.suffix.as_bytes())
        {
            return false;
        }
        c[head_len..c.len() - self.suffix.len()]
            .iter()
            .all(u8::is_ascii_alphanumeric)
    }
}

fn random_part() -> String {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 10];
    if getrandom::fill(&mut bytes).is_err() {
        // Uniqueness comes from O_EXCL creation, not from the randomness: any value will do.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (t >> (i * 7)) as u8 ^ std::process::id() as u8;
        }
    }
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// Takes the exclusive lock without waiting: `Ok(true)` when taken, `Ok(false)` when another
/// open file holds it or the file system cannot lock at all.
fn try_lock(f: &File) -> bool {
    match f.try_lock() {
        Ok(()) => true,
        Err(TryLockError::WouldBlock) => false,
        // ENOLCK, EOPNOTSUPP (some network and FUSE file systems): ownership cannot be told.
        Err(TryLockError::Error(_)) => false,
    }
}

/// Whether `path` (not followed) is the file `f` has open.
fn same_file(f: &File, path: &Path) -> bool {
    match (f.metadata(), fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Opens a directory for reading, refusing a symlink (ELOOP) or anything else (ENOTDIR).
pub(crate) fn open_dir_nofollow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(path)
}

/// A directory or file this run created under a temporary name and holds locked.
#[derive(Debug)]
pub(crate) struct Owned {
    path: PathBuf,
    handle: File,
}

impl Owned {
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn file(&self) -> &File {
        &self.handle
    }

    /// The path and the open (locked) handle, for a caller that takes over.
    pub(crate) fn into_parts(self) -> (PathBuf, File) {
        (self.path, self.handle)
    }
}

const ATTEMPTS: usize = 64;

fn exhausted(parent: &Path) -> Error {
    Error::Path {
        path: parent.to_path_buf(),
        source: io::Error::new(
            io::ErrorKind::AlreadyExists,
            "could not create a temporary name here",
        ),
    }
}

/// Creates a fresh directory named by `pattern` in `parent`, mode 0700 from the start, and
/// locks it. A failure names `parent` (a missing parent says so, not the temporary name).
pub(crate) fn create_dir(parent: &Path, pattern: Pattern<'_>) -> Result<Owned> {
    for _ in 0..ATTEMPTS {
        let path = parent.join(pattern.make(&random_part()));
        match fs::DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::path(parent)(e)),
        }
        let handle = match open_dir_nofollow(&path) {
            Ok(h) => h,
            // A cleaner took it between mkdir and open: take another name.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                let _ = fs::remove_dir(&path);
                return Err(Error::path(&path)(e));
            }
        };
        if let Some(owned) = claim(path, handle, 0o700) {
            return Ok(owned);
        }
    }
    Err(exhausted(parent))
}

/// Creates a fresh file named by `pattern` in `parent`, mode 0600 from the start, open for
/// reading and writing, and locks it.
pub(crate) fn create_file(parent: &Path, pattern: Pattern<'_>) -> Result<Owned> {
    for _ in 0..ATTEMPTS {
        let path = parent.join(pattern.make(&random_part()));
        let handle = match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
        {
            Ok(h) => h,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::path(parent)(e)),
        };
        if let Some(owned) = claim(path, handle, 0o600) {
            return Ok(owned);
        }
    }
    Err(exhausted(parent))
}

/// Locks what was just created. Between its creation and the lock, another run's cleanup may
/// have locked and removed it (its name matches the pattern and it was not locked yet): then
/// the lock fails or the name no longer leads to it, and the caller takes another name.
fn claim(path: PathBuf, handle: File, mode: u32) -> Option<Owned> {
    let locked = match handle.try_lock() {
        Ok(()) => true,
        Err(TryLockError::WouldBlock) => return None,
        // No locking on this file system: go on unlocked. Cleanups skip what they cannot lock,
        // so this entry is never removed by another run, only (if left) by hand.
        Err(TryLockError::Error(_)) => false,
    };
    if locked && !same_file(&handle, &path) {
        return None;
    }
    // The umask may have taken bits from the mode asked for at creation; never added any.
    let exact = handle
        .metadata()
        .map(|m| m.permissions().mode() & 0o7777 == mode)
        .unwrap_or(false);
    if !exact
        && handle
            .set_permissions(fs::Permissions::from_mode(mode))
            .is_err()
    {
        return None;
    }
    Some(Owned { path, handle })
}

/// What [`remove_leftovers`] looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    File,
}

/// Removes, from `parent`, the siblings that one of `patterns` names and that no live run
/// owns: entries of `kind`, owned by this user, whose lock can be taken now. Returns what was
/// removed.
///
/// A `parent` that cannot be listed for lack of permission is not an error (nothing can be
/// known there); a missing one is, naming `parent`.
pub(crate) fn remove_leftovers(
    parent: &Path,
    patterns: &[Pattern<'_>],
    kind: Kind,
) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for_each_unowned(parent, patterns, kind, |path| {
        let done = match kind {
            Kind::Dir => crate::tree::remove_tree(path),
            Kind::File => not_found_ok(fs::remove_file(path)).map_err(Error::path(path)),
        };
        if let Err(e) = done {
            return Err(Error::leftover(Leftover::EarlierRun, e, None));
        }
        removed.push(path.to_path_buf());
        Ok(())
    })?;
    Ok(removed)
}

/// Calls `f` on each sibling in `parent` that one of `patterns` names and that no live run
/// owns (an entry of `kind`, owned by this user, whose lock can be taken now), holding its
/// lock during the call, so that a run that opens it meanwhile leaves it alone. The first
/// error of `f` stops the walk.
///
/// A `parent` that cannot be listed for lack of permission is not an error (nothing can be
/// known there); a missing one is, naming `parent`.
pub(crate) fn for_each_unowned(
    parent: &Path,
    patterns: &[Pattern<'_>],
    kind: Kind,
    mut f: impl FnMut(&Path) -> Result<()>,
) -> Result<()> {
    let entries = match fs::read_dir(parent) {
        Ok(it) => it,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => return Ok(()),
        Err(e) => return Err(Error::path(parent)(e)),
    };
    let me = rustix::process::geteuid().as_raw();
    let mut candidates = Vec::new();
    for entry in entries {
        let entry = entry.map_err(Error::path(parent))?;
        let name = entry.file_name();
        if patterns.iter().any(|p| p.matches(&name)) {
            candidates.push(entry.path());
        }
    }
    candidates.sort();
    for path in candidates {
        let opened = match kind {
            Kind::Dir => open_dir_nofollow(&path),
            Kind::File => OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
                .open(&path),
        };
        let Ok(handle) = opened else { continue };
        let Ok(meta) = handle.metadata() else {
            continue;
        };
        let right_kind = match kind {
            Kind::Dir => meta.is_dir(),
            Kind::File => meta.is_file(),
        };
        if !right_kind || meta.uid() != me || !try_lock(&handle) || !same_file(&handle, &path) {
            continue;
        }
        // Ours, and its owner is gone.
        f(&path)?;
        drop(handle);
    }
    Ok(())
}

/// Whether `parent` holds an entry that one of `patterns` names (false when it cannot be
/// listed).
pub(crate) fn any_named(parent: &Path, patterns: &[Pattern<'_>]) -> bool {
    fs::read_dir(parent).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| patterns.iter().any(|p| p.matches(&e.file_name())))
    })
}

/// Takes the exclusive lock of the directory `dir` itself, waiting for it: the lock that
/// publishing into `dir` and putting back what a dead run left there are done under, so
/// that two runs never interleave their renames there. `None` where the directory cannot be
/// opened or locked (no locking on this file system): the caller goes on without.
pub(crate) fn lock_publishing(dir: &Path) -> Option<File> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(dir)
        .ok()?;
    f.lock().ok()?;
    Some(f)
}

fn not_found_ok(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(name: &str) -> Pattern<'_> {
        Pattern {
            name: OsStr::new(name),
            tag: ".a0backup-staging-",
            suffix: "",
        }
    }

    #[test]
    fn patterns_match_only_their_own_names() {
        let p = pattern("dest");
        let made = p.make(&random_part());
        assert!(p.matches(&made), "{made:?}");
        assert!(p.matches(OsStr::new(".dest.a0backup-staging-abc123")));
        for other in [
            ".dest.a0backup-staging-",
            ".dest.a0backup-staging-a.b",
            ".dest2.a0backup-staging-abc",
            "dest.a0backup-staging-abc",
            ".dest.a0backup-old-abc",
            ".des.a0backup-staging-abc",
        ] {
            assert!(!p.matches(OsStr::new(other)), "{other}");
        }
        let f = Pattern {
            name: OsStr::new("out"),
            tag: ".",
            suffix: ".a0backup-tmp",
        };
        assert!(f.matches(OsStr::new(".out.Ab12Cd.a0backup-tmp")));
        assert!(!f.matches(OsStr::new(".out.x.Ab12Cd.a0backup-tmp")));
        assert!(!f.matches(OsStr::new(".out..a0backup-tmp")));
    }

    #[test]
    fn created_entries_have_exact_modes_and_are_locked() {
        let dir = tempfile::tempdir().unwrap();
        let d = create_dir(dir.path(), pattern("x")).unwrap();
        assert_eq!(
            fs::metadata(d.path()).unwrap().permissions().mode() & 0o7777,
            0o700
        );
        let other = File::open(d.path()).unwrap();
        assert!(
            !try_lock(&other),
            "a second open file description must not get the lock"
        );
        let f = create_file(
            dir.path(),
            Pattern {
                name: OsStr::new("x"),
                tag: ".",
                suffix: ".a0backup-tmp",
            },
        )
        .unwrap();
        assert_eq!(
            fs::metadata(f.path()).unwrap().permissions().mode() & 0o7777,
            0o600
        );
        // Locked entries are not leftovers.
        let removed = remove_leftovers(dir.path(), &[pattern("x")], Kind::Dir).unwrap();
        assert!(removed.is_empty());
        assert!(d.path().exists());
        let (path, handle) = d.into_parts();
        drop(handle);
        let removed = remove_leftovers(dir.path(), &[pattern("x")], Kind::Dir).unwrap();
        assert_eq!(removed, std::slice::from_ref(&path));
        assert!(!path.exists());
    }
}
