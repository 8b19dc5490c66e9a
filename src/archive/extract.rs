//! Writing entries to disk under the safety policy.
//!
//! The destination is fresh (empty, or a staging directory of our own), so the file system
//! itself answers most questions: a regular file found there was extracted earlier from this
//! archive, and a name that already exists is a collision (`O_EXCL`, `mkdir` and `symlink` all
//! fail with `EEXIST`). The model kept in memory is only what the file system cannot answer
//! cheaply: which directories were created (with their modes, applied last) and which paths are
//! symlinks. Its memory is capped (see [`MODEL_BYTES_LIMIT`]).

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};

use super::tar_reader::{TarEntry, TarReader};
use super::{escape_name, EntryKind, UnpackOptions, UnpackSummary};

/// The most memory the path model may hold: about 80,000 directories with 200-byte paths.
/// An archive that needs more is refused with [`Error::LimitExceeded`], so that a small
/// archive of millions of directories cannot take the machine's memory.
pub(super) const MODEL_BYTES_LIMIT: usize = 24 << 20;

/// Book-keeping bytes per remembered path, on top of the path itself (hash table slot, the
/// `PathBuf`'s own header, allocator rounding).
const PER_PATH_OVERHEAD: usize = 96;

/// A directory this extraction created.
struct Dir {
    /// Whether the archive named it (rather than implying it as a parent).
    explicit: bool,
    /// Mode and mtime to apply once everything inside is written.
    mode: u32,
    mtime: Option<i64>,
}

/// The state of one extraction.
pub(super) struct Extraction<'a> {
    dest: &'a Path,
    options: &'a UnpackOptions,
    summary: UnpackSummary,
    /// Bits to clear from every mode (the umask), unless permissions are preserved.
    mask: u32,
    dirs: HashMap<PathBuf, Dir>,
    symlinks: HashSet<PathBuf>,
    /// Paths that a symlink target's resolution passed through; nothing may become a symlink
    /// there later.
    traversed_by_links: HashSet<PathBuf>,
    model_bytes: usize,
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

impl<'a> Extraction<'a> {
    pub(super) fn new(dest: &'a Path, options: &'a UnpackOptions) -> Self {
        Extraction {
            dest,
            options,
            summary: UnpackSummary::default(),
            mask: if options.preserve_permissions {
                0
            } else {
                current_umask()
            },
            dirs: HashMap::new(),
            symlinks: HashSet::new(),
            traversed_by_links: HashSet::new(),
            model_bytes: 0,
            buf: vec![0u8; 256 * 1024],
        }
    }

    pub(super) fn into_summary(self) -> UnpackSummary {
        self.summary
    }

    fn refuse(path: &[u8], reason: impl Into<String>) -> Error {
        Error::UnsafeEntry {
            path: escape_name(path),
            reason: reason.into(),
        }
    }

    fn collision(raw: &[u8]) -> Error {
        Self::refuse(raw, "collides with an earlier entry")
    }

    /// Permission bits to apply: never setuid, setgid or sticky; masked unless preserved.
    fn permissions(&self, mode: u32) -> fs::Permissions {
        fs::Permissions::from_mode(mode & 0o777 & !self.mask)
    }

    fn remember(&mut self, path: &Path) -> Result<()> {
        self.model_bytes += path.as_os_str().len() + PER_PATH_OVERHEAD;
        if self.model_bytes > MODEL_BYTES_LIMIT {
            return Err(Error::LimitExceeded {
                what: "memory for the archive's directory and link paths",
                limit: MODEL_BYTES_LIMIT as u64,
            });
        }
        Ok(())
    }

    /// The entry's path as normal components only; `None` for the archive's root (`.`, `./`).
    fn safe_relative(&self, raw: &[u8]) -> Result<Option<PathBuf>> {
        if raw.len() > self.options.max_path_len {
            return Err(Error::LimitExceeded {
                what: "entry path length",
                limit: self.options.max_path_len as u64,
            });
        }
        let mut out = PathBuf::new();
        for c in Path::new(OsStr::from_bytes(raw)).components() {
            match c {
                Component::Normal(n) => out.push(n),
                Component::CurDir => {}
                Component::ParentDir => return Err(Self::refuse(raw, "path contains '..'")),
                Component::RootDir | Component::Prefix(_) => {
                    return Err(Self::refuse(raw, "absolute path"))
                }
            }
        }
        if out.as_os_str().is_empty() {
            return Ok(None);
        }
        self.check_not_through_symlink(&out, raw)?;
        Ok(Some(out))
    }

    /// Refuses a path whose parent directories include a symlink. The model answers for the
    /// exact spelling; once the archive has made any symlink, the file system is asked too,
    /// because on a case-insensitive or normalizing file system (APFS, casefold ext4, CIFS)
    /// `LINK/x` or a differently composed `é` reaches the symlink the model knows as `link`.
    fn check_not_through_symlink(&self, rel: &Path, raw: &[u8]) -> Result<()> {
        if self.symlinks.is_empty() {
            return Ok(());
        }
        for ancestor in rel.ancestors().skip(1) {
            if ancestor.as_os_str().is_empty() {
                break;
            }
            if self.symlinks.contains(ancestor) {
                return Err(Self::refuse(raw, "path passes through a symlink"));
            }
        }
        let mut at = self.dest.to_path_buf();
        let parents: Vec<_> = rel
            .parent()
            .map(|p| p.components().collect())
            .unwrap_or_default();
        for c in parents {
            at.push(c);
            match fs::symlink_metadata(&at) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(Self::refuse(raw, "path passes through a symlink"))
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

    fn ensure_parents(&mut self, rel: &Path, raw: &[u8]) -> Result<()> {
        let Some(parent) = rel.parent() else {
            return Ok(());
        };
        if parent.as_os_str().is_empty() || self.dirs.contains_key(parent) {
            return Ok(());
        }
        let mut missing: Vec<&Path> = Vec::new();
        for a in parent.ancestors() {
            if a.as_os_str().is_empty() || self.dirs.contains_key(a) {
                break;
            }
            missing.push(a);
        }
        for a in missing.into_iter().rev() {
            let full = self.dest.join(a);
            if let Err(e) = fs::DirBuilder::new().mode(0o700).create(&full) {
                return Err(if e.kind() == io::ErrorKind::AlreadyExists {
                    Self::refuse(raw, "a parent of this entry is not a directory")
                } else {
                    Error::Path {
                        path: full,
                        source: e,
                    }
                });
            }
            self.remember(a)?;
            self.dirs.insert(
                a.to_path_buf(),
                Dir {
                    explicit: false,
                    mode: 0o777,
                    mtime: None,
                },
            );
            self.summary.directories += 1;
        }
        Ok(())
    }

    pub(super) fn entry<R: Read>(
        &mut self,
        entry: &TarEntry,
        reader: &mut TarReader<R>,
    ) -> Result<()> {
        let raw = &entry.path[..];
        if entry.kind == EntryKind::VolumeLabel {
            return Ok(());
        }
        let Some(rel) = self.safe_relative(raw)? else {
            // The archive's root (`tar -C dir -cf x .` writes `./` first): the destination's
            // own mode is kept, as for any existing directory.
            return match entry.kind {
                EntryKind::Directory => Ok(()),
                _ => Err(Self::refuse(raw, "empty path")),
            };
        };
        match entry.kind {
            EntryKind::Directory => self.directory(&rel, raw, entry.mode, entry.mtime),
            EntryKind::File => self.file(reader, &rel, raw, entry),
            EntryKind::Symlink => self.symlink(entry, &rel, raw),
            EntryKind::Hardlink => self.hardlink(entry, &rel, raw),
            EntryKind::Device | EntryKind::BlockDevice => {
                Err(Self::refuse(raw, "device entries are never extracted"))
            }
            EntryKind::Fifo => Err(Self::refuse(raw, "FIFO entries are never extracted")),
            EntryKind::VolumeLabel => Ok(()),
            EntryKind::Other => Err(Self::refuse(raw, "unsupported entry type")),
        }
    }

    fn directory(&mut self, rel: &Path, raw: &[u8], mode: u32, mtime: i64) -> Result<()> {
        match self.dirs.get_mut(rel) {
            Some(d) if d.explicit => return Err(Self::collision(raw)),
            Some(d) => {
                d.explicit = true;
                d.mode = mode;
                d.mtime = Some(mtime);
            }
            None => {
                self.ensure_parents(rel, raw)?;
                let full = self.dest.join(rel);
                fs::DirBuilder::new()
                    .mode(0o700)
                    .create(&full)
                    .map_err(|e| self.create_error(e, raw, &full))?;
                self.remember(rel)?;
                self.dirs.insert(
                    rel.to_path_buf(),
                    Dir {
                        explicit: true,
                        mode,
                        mtime: Some(mtime),
                    },
                );
                self.summary.directories += 1;
            }
        }
        Ok(())
    }

    fn create_error(&self, e: io::Error, raw: &[u8], full: &Path) -> Error {
        if e.kind() == io::ErrorKind::AlreadyExists {
            Self::collision(raw)
        } else {
            Error::Path {
                path: full.to_path_buf(),
                source: e,
            }
        }
    }

    fn file<R: Read>(
        &mut self,
        reader: &mut TarReader<R>,
        rel: &Path,
        raw: &[u8],
        entry: &TarEntry,
    ) -> Result<()> {
        let size = entry.size;
        if self.summary.bytes.saturating_add(size) > self.options.max_total_bytes {
            return Err(Error::LimitExceeded {
                what: "total bytes extracted",
                limit: self.options.max_total_bytes,
            });
        }
        if self.dirs.contains_key(rel) {
            return Err(Self::collision(raw));
        }
        self.ensure_parents(rel, raw)?;
        let full = self.dest.join(rel);
        // `create_new` is O_EXCL: it never follows a symlink at the final name.
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&full)
            .map_err(|e| self.create_error(e, raw, &full))?;
        loop {
            let n = reader.read_data(&mut self.buf)?;
            if n == 0 {
                break;
            }
            f.write_all(&self.buf[..n]).map_err(Error::path(&full))?;
        }
        crate::durable::start_writeback(&f);
        self.summary.bytes += size;
        self.summary.files += 1;
        f.set_permissions(self.permissions(entry.mode))
            .map_err(Error::path(&full))?;
        f.set_modified(system_time(entry.mtime))
            .map_err(Error::path(&full))?;
        Ok(())
    }

    fn symlink(&mut self, entry: &TarEntry, rel: &Path, raw: &[u8]) -> Result<()> {
        if !self.options.allow_symlinks {
            return Err(Self::refuse(
                raw,
                "symlinks are not allowed (opt in to extract them)",
            ));
        }
        let target = entry
            .link
            .as_deref()
            .ok_or_else(|| Self::refuse(raw, "symlink without a target"))?;
        if self.traversed_by_links.contains(rel) {
            return Err(Self::refuse(
                raw,
                "an earlier symlink resolves through this path",
            ));
        }
        if self.dirs.contains_key(rel) || self.symlinks.contains(rel) {
            return Err(Self::collision(raw));
        }
        // The link's own directory must exist before `..` in its target can be checked.
        self.ensure_parents(rel, raw)?;
        // Resolve the target from the link's directory, lexically, refusing to leave the
        // destination or to pass through another symlink. `..` may only undo a component that
        // is a directory this extraction created (exact spelling): undoing a symlink, or a
        // name a case-insensitive file system would take for a symlink, could climb out.
        let mut at: PathBuf = rel.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut traversed = Vec::new();
        let target_path = Path::new(OsStr::from_bytes(target));
        let components: Vec<_> = target_path.components().collect();
        for (i, c) in components.iter().enumerate() {
            match c {
                Component::Normal(n) => {
                    at.push(n);
                    let last = i + 1 == components.len();
                    if !last {
                        if self.symlinks.contains(&at) {
                            return Err(Self::refuse(
                                raw,
                                "symlink target passes through a symlink",
                            ));
                        }
                        traversed.push(at.clone());
                    }
                }
                Component::CurDir => {}
                Component::ParentDir => {
                    if at.as_os_str().is_empty() {
                        return Err(Self::refuse(raw, "symlink target leaves the destination"));
                    }
                    if !self.dirs.contains_key(&at) {
                        return Err(Self::refuse(
                            raw,
                            "symlink target climbs out of a path that is not a directory extracted earlier",
                        ));
                    }
                    at.pop();
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(Self::refuse(raw, "symlink target is absolute"))
                }
            }
        }
        let full = self.dest.join(rel);
        std::os::unix::fs::symlink(target_path, &full)
            .map_err(|e| self.create_error(e, raw, &full))?;
        self.remember(rel)?;
        self.symlinks.insert(rel.to_path_buf());
        for t in traversed {
            self.remember(&t)?;
            self.traversed_by_links.insert(t);
        }
        self.summary.links += 1;
        Ok(())
    }

    fn hardlink(&mut self, entry: &TarEntry, rel: &Path, raw: &[u8]) -> Result<()> {
        if !self.options.allow_hardlinks {
            return Err(Self::refuse(
                raw,
                "hardlinks are not allowed (opt in to extract them)",
            ));
        }
        let target = entry
            .link
            .as_deref()
            .ok_or_else(|| Self::refuse(raw, "hardlink without a target"))?;
        let not_earlier = || {
            Self::refuse(
                raw,
                "hardlink target is not a regular file extracted earlier from this archive",
            )
        };
        let target_rel = match self.safe_relative(target) {
            Ok(Some(t)) => t,
            Ok(None) => return Err(not_earlier()),
            Err(_) => {
                return Err(Self::refuse(
                    raw,
                    "hardlink target is outside the destination",
                ))
            }
        };
        // The destination started empty, so a regular file in it came from this archive.
        let target_full = self.dest.join(&target_rel);
        match fs::symlink_metadata(&target_full) {
            Ok(m) if m.file_type().is_file() => {}
            _ => return Err(not_earlier()),
        }
        if self.dirs.contains_key(rel) || self.symlinks.contains(rel) {
            return Err(Self::collision(raw));
        }
        self.ensure_parents(rel, raw)?;
        let full = self.dest.join(rel);
        fs::hard_link(&target_full, &full).map_err(|e| self.create_error(e, raw, &full))?;
        self.summary.links += 1;
        // GNU tar skips a hardlink's data (some writers store the content again); the reader
        // skips it with the rest of the entry.
        Ok(())
    }

    pub(super) fn finish_directories(&mut self) -> Result<()> {
        // Deepest first, so setting a parent's mtime is not undone by touching a child.
        let mut dirs: Vec<_> = self.dirs.drain().collect();
        dirs.sort_by_key(|(p, _)| std::cmp::Reverse(p.components().count()));
        for (rel, dir) in dirs {
            let full = self.dest.join(&rel);
            if let Some(t) = dir.mtime {
                let d = File::open(&full).map_err(Error::path(&full))?;
                d.set_modified(system_time(t)).map_err(Error::path(&full))?;
            }
            fs::set_permissions(&full, self.permissions(dir.mode)).map_err(Error::path(&full))?;
        }
        Ok(())
    }
}
