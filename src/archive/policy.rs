//! The safety policy as a pure model of the tree an archive builds.
//!
//! Entry by entry, [`PathPolicy::plan`] decides whether the entry may be created and which
//! parent directories must be made first, and records the result as if it had been done. It
//! never touches a file system, so the same rules serve extraction (`extract.rs` carries out
//! the plan and adds the file system's own answers: `EEXIST`, and what a case-insensitive file
//! system resolves a name to) and checking an archive without writing a byte.
//!
//! The model holds the directories created (with the modes and times to apply last), the
//! symlinks, the paths symlink targets pass through, and a 128-bit keyed hash of every regular
//! file's path. Its memory is capped ([`MODEL_BYTES_LIMIT`]), and the cap is charged the same
//! way whoever carries the plan out: an extraction, which could ask the file system about
//! files, keeps and pays for the same model as a dry run, which cannot, so that the two refuse
//! exactly the same archives.
//!
//! The rules are the file system's too, where they are the same on every Linux file system:
//! a path component longer than [`NAME_MAX`] bytes or a link target longer than
//! [`LINK_TARGET_MAX`] bytes is refused, because no extraction could create it. (Extraction
//! opens each directory relative to its parent, so the length of the whole path, and of the
//! destination's own path, never matters.)

use std::collections::hash_map::RandomState;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::OsStr;
use std::hash::BuildHasher;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Limit, OptIn, Result, ARCHIVE_COLLECTIONS_MAX};

use super::tar_reader::TarEntry;
use super::{escape_name, EntryFilter, EntryKind, UnpackOptions};

/// The most memory the path model may hold: about 80,000 directories with 200-byte paths.
/// An archive that needs more is refused with [`Error::LimitExceeded`], so that a small
/// archive of millions of directories cannot take the machine's memory.
pub(crate) const MODEL_BYTES_LIMIT: usize = 24 << 20;

/// Book-keeping bytes per remembered path, on top of the path itself (hash table slot, the
/// `PathBuf`'s own header, allocator rounding).
const PER_PATH_OVERHEAD: usize = 96;

/// What one regular file costs the model: its 16-byte hash in a hash set, counted at the
/// table's lowest load and while it grows (the old and the new table both live then).
const PER_FILE: usize = 48;

/// The longest path component (file or directory name) a Linux file system takes (`NAME_MAX`).
pub(crate) const NAME_MAX: usize = 255;

/// The longest symlink target the kernel takes (`PATH_MAX` less its terminating NUL).
pub(crate) const LINK_TARGET_MAX: usize = 4095;

/// A directory the archive creates.
struct Dir {
    /// Whether the archive named it (rather than implying it as a parent).
    explicit: bool,
    /// Mode and mtime to apply once everything inside is written.
    mode: u32,
    mtime: Option<i64>,
}

/// What to do for one entry.
#[derive(Debug)]
pub(crate) enum Action {
    /// Create the directory (`create: false`: it exists as an implied parent already, and only
    /// its mode and time change).
    Dir { create: bool },
    /// Create the regular file and write the entry's data into it.
    File,
    /// Create a symlink with this target (checked to resolve inside).
    Symlink { target: PathBuf },
    /// Link to this regular file, which an earlier entry created.
    Hardlink { target: PathBuf },
}

/// An entry the policy accepts: where it goes, the parents to create first (outermost first)
/// and what to create.
#[derive(Debug)]
pub(crate) struct Planned {
    pub(crate) rel: PathBuf,
    pub(crate) new_parents: Vec<PathBuf>,
    pub(crate) action: Action,
}

/// The model of one archive's tree under the policy of its [`UnpackOptions`].
pub(crate) struct PathPolicy<'a> {
    options: &'a UnpackOptions,
    dirs: HashMap<PathBuf, Dir>,
    symlinks: HashSet<PathBuf>,
    /// Paths that a symlink target's resolution passed through; nothing may become a symlink
    /// there later.
    traversed_by_links: HashSet<PathBuf>,
    /// Keyed 128-bit hashes of the regular files' paths (two independent SipHash keys, so
    /// that an archive cannot make two paths collide).
    files: HashSet<u128>,
    hashers: (RandomState, RandomState),
    model_bytes: usize,
    bytes: u64,
    /// Entries judged but left out by the filter.
    skipped: u64,
    /// Which of the filter's includes and collections some file of the archive matched.
    found: Vec<bool>,
    /// The collections the archive holds (`DB.COLL`), when the filter selects collections:
    /// at most [`ARCHIVE_COLLECTIONS_MAX`], for [`Error::NotInArchive`].
    archive_collections: BTreeSet<String>,
}

/// Refuses an entry, naming it escaped for a terminal.
pub(crate) fn refuse(path: &[u8], reason: impl Into<String>) -> Error {
    Error::UnsafeEntry {
        path: escape_name(path),
        reason: reason.into(),
        opt_in: None,
    }
}

/// A link refused because the caller did not opt in to its kind.
fn not_opted_in(path: &[u8], kind: OptIn) -> Error {
    let what = match kind {
        OptIn::Symlinks => "symlinks",
        OptIn::Hardlinks => "hardlinks",
    };
    Error::UnsafeEntry {
        path: escape_name(path),
        reason: format!("{what} are not allowed (opt in to extract them)"),
        opt_in: Some(kind),
    }
}

pub(crate) fn collision(raw: &[u8]) -> Error {
    refuse(raw, "collides with an earlier entry")
}

pub(crate) fn parent_not_a_directory(raw: &[u8]) -> Error {
    refuse(raw, "a parent of this entry is not a directory")
}

pub(crate) fn not_an_earlier_file(raw: &[u8]) -> Error {
    refuse(
        raw,
        "hardlink target is not a regular file extracted earlier from this archive",
    )
}

impl<'a> PathPolicy<'a> {
    /// A model for an empty destination.
    pub(crate) fn new(options: &'a UnpackOptions) -> Self {
        PathPolicy {
            options,
            dirs: HashMap::new(),
            symlinks: HashSet::new(),
            traversed_by_links: HashSet::new(),
            files: HashSet::new(),
            hashers: (RandomState::new(), RandomState::new()),
            model_bytes: 0,
            bytes: 0,
            skipped: 0,
            found: vec![false; options.filter.selector_count()],
            archive_collections: BTreeSet::new(),
        }
    }

    /// The directories with their modes and times, deepest first (so that setting a parent's
    /// time is not undone by touching a child).
    pub(crate) fn into_directories(self) -> Vec<(PathBuf, u32, Option<i64>)> {
        let mut dirs: Vec<_> = self
            .dirs
            .into_iter()
            .map(|(p, d)| (p, d.mode, d.mtime))
            .collect();
        dirs.sort_by_key(|(p, _, _)| std::cmp::Reverse(p.components().count()));
        dirs
    }

    fn remember(&mut self, path: &Path) -> Result<()> {
        self.charge(path.as_os_str().len() + PER_PATH_OVERHEAD)
    }

    fn charge(&mut self, bytes: usize) -> Result<()> {
        self.model_bytes += bytes;
        if self.model_bytes > MODEL_BYTES_LIMIT {
            return Err(Error::LimitExceeded {
                limit: Limit::TreeMemory,
                max: MODEL_BYTES_LIMIT as u64,
            });
        }
        Ok(())
    }

    /// Entries the filter left out so far.
    pub(crate) fn skipped(&self) -> u64 {
        self.skipped
    }

    /// At the end of the archive: [`Error::NotInArchive`] when an include or collection of
    /// the filter matched no file in it.
    pub(crate) fn selection_found(&self) -> Result<()> {
        let held = self.archive_collections.iter().cloned().collect();
        self.options.filter.not_found(&self.found, held)
    }

    /// The checks that need no model of what is written: what kind of entry may be restored at
    /// all. A left-out entry creates nothing, so it cannot collide or be passed through.
    fn judge_unselected(&self, raw: &[u8], entry: &TarEntry) -> Result<()> {
        match entry.kind {
            EntryKind::Device | EntryKind::BlockDevice => {
                Err(refuse(raw, "device entries are never extracted"))
            }
            EntryKind::Fifo => Err(refuse(raw, "FIFO entries are never extracted")),
            EntryKind::Other => Err(refuse(raw, "unsupported entry type")),
            EntryKind::Symlink if !self.options.allow_symlinks => {
                Err(not_opted_in(raw, OptIn::Symlinks))
            }
            EntryKind::Hardlink if !self.options.allow_hardlinks => {
                Err(not_opted_in(raw, OptIn::Hardlinks))
            }
            _ => Ok(()),
        }
    }

    fn file_key(&self, rel: &Path) -> u128 {
        let bytes = rel.as_os_str().as_bytes();
        let (a, b) = &self.hashers;
        (u128::from(a.hash_one(bytes)) << 64) | u128::from(b.hash_one(bytes))
    }

    fn is_file(&self, rel: &Path) -> bool {
        self.files.contains(&self.file_key(rel))
    }

    /// Decides one entry. `Ok(None)`: nothing to create (the archive's root `./`, a volume
    /// label). The model is updated as if the plan were carried out.
    ///
    /// # Errors
    ///
    /// [`Error::UnsafeEntry`] for what the policy refuses, [`Error::LimitExceeded`] for path
    /// length, total bytes and the model's memory.
    pub(crate) fn plan(&mut self, entry: &TarEntry) -> Result<Option<Planned>> {
        let raw = &entry.path[..];
        if entry.kind == EntryKind::VolumeLabel {
            return Ok(None);
        }
        let Some(rel) = self.safe_relative(raw)? else {
            // The archive's root (`tar -C dir -cf x .` writes `./` first): the destination's
            // own mode is kept, as for any existing directory.
            return match entry.kind {
                EntryKind::Directory => Ok(None),
                _ => Err(refuse(raw, "empty path")),
            };
        };
        if !self.options.filter.is_all() {
            // Any entry, a directory too (`tar -x ARCHIVE dump/empty-dir` finds it).
            self.options.filter.mark_found(raw, &mut self.found);
            // The archive's collections, for a caller to suggest the one a mistyped
            // `--collection` meant (a bounded number of them).
            if self.options.filter.selects_collections()
                && entry.kind != EntryKind::Directory
                && self.archive_collections.len() < ARCHIVE_COLLECTIONS_MAX
            {
                if let Some(name) = EntryFilter::collection_of(raw) {
                    self.archive_collections.insert(name);
                }
            }
            let selected = self
                .options
                .filter
                .selects(raw, entry.kind == EntryKind::Directory);
            if !selected {
                // Judged as restore judges every entry, then left out of the tree.
                self.judge_unselected(raw, entry)?;
                self.skipped += 1;
                return Ok(None);
            }
        }
        let planned = match entry.kind {
            EntryKind::Directory => self.directory(rel, raw, entry.mode, entry.mtime)?,
            EntryKind::File => self.file(rel, raw, entry.size)?,
            EntryKind::Symlink => self.symlink(rel, raw, entry.link.as_deref())?,
            EntryKind::Hardlink => self.hardlink(rel, raw, entry.link.as_deref())?,
            EntryKind::Device | EntryKind::BlockDevice => {
                return Err(refuse(raw, "device entries are never extracted"))
            }
            EntryKind::Fifo => return Err(refuse(raw, "FIFO entries are never extracted")),
            EntryKind::VolumeLabel => return Ok(None),
            EntryKind::Other => return Err(refuse(raw, "unsupported entry type")),
        };
        Ok(Some(planned))
    }

    /// The entry's path as normal components only; `None` for the archive's root (`.`, `./`).
    /// Refuses `..`, absolute paths, and paths under a symlink of the model.
    pub(crate) fn safe_relative(&self, raw: &[u8]) -> Result<Option<PathBuf>> {
        if raw.len() > self.options.max_path_len {
            return Err(Error::LimitExceeded {
                limit: Limit::PathLength,
                max: self.options.max_path_len as u64,
            });
        }
        let mut out = PathBuf::new();
        for c in Path::new(OsStr::from_bytes(raw)).components() {
            match c {
                Component::Normal(n) if n.len() > NAME_MAX => {
                    return Err(Error::LimitExceeded {
                        limit: Limit::NameLength,
                        max: NAME_MAX as u64,
                    })
                }
                Component::Normal(n) => out.push(n),
                Component::CurDir => {}
                Component::ParentDir => return Err(refuse(raw, "path contains '..'")),
                Component::RootDir | Component::Prefix(_) => {
                    return Err(refuse(raw, "absolute path"))
                }
            }
        }
        if out.as_os_str().is_empty() {
            return Ok(None);
        }
        if self.through_symlink(&out) {
            return Err(refuse(raw, "path passes through a symlink"));
        }
        Ok(Some(out))
    }

    /// Whether a parent of `rel` is a symlink of the model. The walk up stops at the first
    /// directory of the model, since nothing above a directory the archive made can be a
    /// symlink: one lookup for an entry whose parent exists, whatever the path's depth.
    fn through_symlink(&self, rel: &Path) -> bool {
        if self.symlinks.is_empty() {
            return false;
        }
        for a in rel.ancestors().skip(1) {
            if a.as_os_str().is_empty() || self.dirs.contains_key(a) {
                return false;
            }
            if self.symlinks.contains(a) {
                return true;
            }
        }
        false
    }

    /// Records the parents of `rel` that do not exist yet, outermost first.
    fn new_parents(&mut self, rel: &Path, raw: &[u8]) -> Result<Vec<PathBuf>> {
        let mut missing: Vec<PathBuf> = Vec::new();
        for a in rel.ancestors().skip(1) {
            if a.as_os_str().is_empty() || self.dirs.contains_key(a) {
                break;
            }
            if self.is_file(a) || self.symlinks.contains(a) {
                return Err(parent_not_a_directory(raw));
            }
            missing.push(a.to_path_buf());
        }
        missing.reverse();
        for a in &missing {
            self.remember(a)?;
            self.dirs.insert(
                a.clone(),
                Dir {
                    explicit: false,
                    mode: 0o777,
                    mtime: None,
                },
            );
        }
        Ok(missing)
    }

    fn taken(&self, rel: &Path) -> bool {
        self.dirs.contains_key(rel) || self.symlinks.contains(rel) || self.is_file(rel)
    }

    fn directory(&mut self, rel: PathBuf, raw: &[u8], mode: u32, mtime: i64) -> Result<Planned> {
        if let Some(d) = self.dirs.get_mut(&rel) {
            if d.explicit {
                return Err(collision(raw));
            }
            d.explicit = true;
            d.mode = mode;
            d.mtime = Some(mtime);
            return Ok(Planned {
                rel,
                new_parents: Vec::new(),
                action: Action::Dir { create: false },
            });
        }
        if self.taken(&rel) {
            return Err(collision(raw));
        }
        let new_parents = self.new_parents(&rel, raw)?;
        self.remember(&rel)?;
        self.dirs.insert(
            rel.clone(),
            Dir {
                explicit: true,
                mode,
                mtime: Some(mtime),
            },
        );
        Ok(Planned {
            rel,
            new_parents,
            action: Action::Dir { create: true },
        })
    }

    fn file(&mut self, rel: PathBuf, raw: &[u8], size: u64) -> Result<Planned> {
        if self.bytes.saturating_add(size) > self.options.max_total_bytes {
            return Err(Error::LimitExceeded {
                limit: Limit::TotalBytes,
                max: self.options.max_total_bytes,
            });
        }
        if self.taken(&rel) {
            return Err(collision(raw));
        }
        let new_parents = self.new_parents(&rel, raw)?;
        self.bytes += size;
        self.add_file(&rel)?;
        Ok(Planned {
            rel,
            new_parents,
            action: Action::File,
        })
    }

    fn add_file(&mut self, rel: &Path) -> Result<()> {
        self.charge(PER_FILE)?;
        let key = self.file_key(rel);
        self.files.insert(key);
        Ok(())
    }

    fn symlink(&mut self, rel: PathBuf, raw: &[u8], target: Option<&[u8]>) -> Result<Planned> {
        if !self.options.allow_symlinks {
            return Err(not_opted_in(raw, OptIn::Symlinks));
        }
        let target = target.ok_or_else(|| refuse(raw, "symlink without a target"))?;
        if target.len() > LINK_TARGET_MAX {
            return Err(Error::LimitExceeded {
                limit: Limit::LinkTargetLength,
                max: LINK_TARGET_MAX as u64,
            });
        }
        if self.traversed_by_links.contains(&rel) {
            return Err(refuse(raw, "an earlier symlink resolves through this path"));
        }
        if self.taken(&rel) {
            return Err(collision(raw));
        }
        // The link's own directory must exist before `..` in its target can be checked.
        let new_parents = self.new_parents(&rel, raw)?;
        let target_path = PathBuf::from(OsStr::from_bytes(target));
        let traversed = self.resolve_target(&rel, &target_path, raw)?;
        self.remember(&rel)?;
        self.symlinks.insert(rel.clone());
        for t in traversed {
            self.remember(&t)?;
            self.traversed_by_links.insert(t);
        }
        Ok(Planned {
            rel,
            new_parents,
            action: Action::Symlink {
                target: target_path,
            },
        })
    }

    /// Resolves a symlink target from the link's directory, lexically, refusing to leave the
    /// destination or to pass through another symlink. `..` may only undo a component that is
    /// a directory of the model (exact spelling): undoing a symlink, or a name a
    /// case-insensitive file system would take for a symlink, could climb out. Returns the
    /// paths the resolution passes through.
    fn resolve_target(&self, rel: &Path, target: &Path, raw: &[u8]) -> Result<Vec<PathBuf>> {
        let mut at: PathBuf = rel.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut traversed = Vec::new();
        let components: Vec<_> = target.components().collect();
        for (i, c) in components.iter().enumerate() {
            match c {
                Component::Normal(n) => {
                    at.push(n);
                    let last = i + 1 == components.len();
                    if !last {
                        if self.symlinks.contains(&at) {
                            return Err(refuse(raw, "symlink target passes through a symlink"));
                        }
                        traversed.push(at.clone());
                    }
                }
                Component::CurDir => {}
                Component::ParentDir => {
                    if at.as_os_str().is_empty() {
                        return Err(refuse(raw, "symlink target leaves the destination"));
                    }
                    if !self.dirs.contains_key(&at) {
                        return Err(refuse(
                            raw,
                            "symlink target climbs out of a path that is not a directory extracted earlier",
                        ));
                    }
                    at.pop();
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(refuse(raw, "symlink target is absolute"))
                }
            }
        }
        Ok(traversed)
    }

    fn hardlink(&mut self, rel: PathBuf, raw: &[u8], target: Option<&[u8]>) -> Result<Planned> {
        if !self.options.allow_hardlinks {
            return Err(not_opted_in(raw, OptIn::Hardlinks));
        }
        let target = target.ok_or_else(|| refuse(raw, "hardlink without a target"))?;
        let target_rel = match self.safe_relative(target) {
            Ok(Some(t)) => t,
            Ok(None) => return Err(not_an_earlier_file(raw)),
            Err(_) => return Err(refuse(raw, "hardlink target is outside the destination")),
        };
        if !self.is_file(&target_rel) {
            return Err(not_an_earlier_file(raw));
        }
        if self.taken(&rel) {
            return Err(collision(raw));
        }
        let new_parents = self.new_parents(&rel, raw)?;
        self.add_file(&rel)?;
        Ok(Planned {
            rel,
            new_parents,
            action: Action::Hardlink { target: target_rel },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, kind: EntryKind, link: Option<&str>) -> TarEntry {
        TarEntry {
            path: path.as_bytes().to_vec(),
            link: link.map(|l| l.as_bytes().to_vec()),
            kind,
            size: 1,
            mode: 0o644,
            mtime: 0,
            owner: Default::default(),
            device: (0, 0),
        }
    }

    fn reason(r: Result<Option<Planned>>) -> String {
        match r {
            Err(Error::UnsafeEntry { reason, .. }) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_dry_run_finds_what_only_the_file_system_would_otherwise_report() {
        let options = UnpackOptions::new().allow_hardlinks(true);
        let mut p = PathPolicy::new(&options);
        let planned = p
            .plan(&entry("a/b/f", EntryKind::File, None))
            .unwrap()
            .unwrap();
        assert_eq!(planned.new_parents, [Path::new("a"), Path::new("a/b")]);
        assert!(reason(p.plan(&entry("a/b/f", EntryKind::File, None))).contains("collides"));
        assert!(reason(p.plan(&entry("a/b/f", EntryKind::Directory, None))).contains("collides"));
        let under_file = p.plan(&entry("a/b/f/g", EntryKind::File, None));
        assert!(reason(under_file).contains("parent of this entry is not a directory"));
        assert!(p
            .plan(&entry("h", EntryKind::Hardlink, Some("a/b/f")))
            .is_ok());
        let to_nothing = p.plan(&entry("h2", EntryKind::Hardlink, Some("a/missing")));
        assert!(reason(to_nothing).contains("not a regular file extracted earlier"));
    }

    #[test]
    fn a_selection_that_matches_nothing_names_the_archives_collections_boundedly() {
        let filter = EntryFilter::new()
            .include("nomatch")
            .unwrap()
            .collection("auth0.user")
            .unwrap();
        let options = UnpackOptions::new().filter(filter);
        let mut p = PathPolicy::new(&options);
        p.plan(&entry("dump/auth0/", EntryKind::Directory, None))
            .unwrap();
        for f in ["users.bson", "users.metadata.json", "logs.bson.gz"] {
            p.plan(&entry(&format!("./dump/auth0/{f}"), EntryKind::File, None))
                .unwrap();
        }
        for i in 0..ARCHIVE_COLLECTIONS_MAX {
            p.plan(&entry(
                &format!("dump/db{i:04}/c.bson"),
                EntryKind::File,
                None,
            ))
            .unwrap();
        }
        match p.selection_found() {
            Err(Error::NotInArchive {
                patterns,
                collections,
                archive_collections,
            }) => {
                assert_eq!(patterns, ["nomatch"]);
                assert_eq!(collections, ["auth0.user"]);
                assert_eq!(archive_collections.len(), ARCHIVE_COLLECTIONS_MAX);
                assert_eq!(
                    archive_collections[..3],
                    ["auth0.logs", "auth0.users", "db0000.c"]
                );
            }
            other => panic!("{other:?}"),
        }
        // Without a collection selected, none is noted.
        let options = UnpackOptions::new().filter(EntryFilter::new().include("x").unwrap());
        let mut p = PathPolicy::new(&options);
        p.plan(&entry("dump/auth0/users.bson", EntryKind::File, None))
            .unwrap();
        assert!(matches!(
            p.selection_found(),
            Err(Error::NotInArchive { archive_collections, .. }) if archive_collections.is_empty()
        ));
    }

    #[test]
    fn a_file_costs_the_same_whatever_its_path() {
        let options = UnpackOptions::new();
        let mut p = PathPolicy::new(&options);
        let long = "x".repeat(200);
        for i in 0..1000 {
            p.plan(&entry(&format!("d/{long}{i}"), EntryKind::File, None))
                .unwrap();
        }
        assert_eq!(
            p.model_bytes,
            "d".len() + PER_PATH_OVERHEAD + 1000 * PER_FILE
        );
        assert_eq!(p.into_directories().len(), 1);
    }

    #[test]
    fn names_and_link_targets_no_file_system_takes_are_refused() {
        let options = UnpackOptions::new().allow_symlinks(true);
        let mut p = PathPolicy::new(&options);
        let long_name = format!("d/{}", "n".repeat(NAME_MAX + 1));
        let limit = |r: Result<Option<Planned>>| match r {
            Err(Error::LimitExceeded { limit, max }) => (limit, max),
            other => panic!("expected a limit, got {other:?}"),
        };
        assert_eq!(
            limit(p.plan(&entry(&long_name, EntryKind::File, None))),
            (Limit::NameLength, NAME_MAX as u64)
        );
        assert!(p
            .plan(&entry(
                &format!("d/{}", "n".repeat(NAME_MAX)),
                EntryKind::File,
                None
            ))
            .is_ok());
        let target = "t/".repeat(LINK_TARGET_MAX / 2 + 1);
        assert_eq!(
            limit(p.plan(&entry("l", EntryKind::Symlink, Some(&target)))),
            (Limit::LinkTargetLength, LINK_TARGET_MAX as u64)
        );
    }
}
