//! Writing entries to disk under the safety policy.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};

use super::unpack::{tar_err, truncated_tar};
use super::{EntryKind, UnpackOptions, UnpackSummary};

/// The state of one extraction: what exists, what is a link, how much was written.
pub(super) struct Extraction<'a> {
    dest: &'a Path,
    options: &'a UnpackOptions,
    pub(super) summary: UnpackSummary,
    entries: u64,
    /// Directories that exist, created explicitly (true) or as implied parents (false).
    dirs: std::collections::HashMap<PathBuf, bool>,
    files: HashSet<PathBuf>,
    symlinks: HashSet<PathBuf>,
    /// Paths that a symlink target's resolution passed through; nothing may become a symlink
    /// there later.
    traversed_by_links: HashSet<PathBuf>,
    /// Directory modes and mtimes to apply last, so that extraction can write into them.
    dir_attrs: Vec<(PathBuf, u32, Option<u64>)>,
    buf: Vec<u8>,
}

impl<'a> Extraction<'a> {
    pub(super) fn new(dest: &'a Path, options: &'a UnpackOptions) -> Self {
        Extraction {
            dest,
            options,
            summary: UnpackSummary::default(),
            entries: 0,
            dirs: Default::default(),
            files: HashSet::new(),
            symlinks: HashSet::new(),
            traversed_by_links: HashSet::new(),
            dir_attrs: Vec::new(),
            buf: vec![0u8; 256 * 1024],
        }
    }

    fn refuse(path: &[u8], reason: impl Into<String>) -> Error {
        Error::UnsafeEntry {
            path: String::from_utf8_lossy(path).into_owned(),
            reason: reason.into(),
        }
    }

    /// The entry's path as normal components only.
    fn safe_relative(&self, raw: &[u8]) -> Result<PathBuf> {
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
            return Err(Self::refuse(raw, "empty path"));
        }
        for ancestor in out.ancestors().skip(1) {
            if self.symlinks.contains(ancestor) {
                return Err(Self::refuse(raw, "path passes through a symlink"));
            }
        }
        Ok(out)
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
            if self.files.contains(a) || self.symlinks.contains(a) {
                return Err(Self::refuse(
                    raw,
                    "a parent of this entry is not a directory",
                ));
            }
            missing.push(a);
        }
        for a in missing.into_iter().rev() {
            let full = self.dest.join(a);
            fs::DirBuilder::new()
                .mode(0o700)
                .create(&full)
                .map_err(Error::path(&full))?;
            self.dirs.insert(a.to_path_buf(), false);
            self.summary.directories += 1;
            self.dir_attrs.push((a.to_path_buf(), 0o755, None));
        }
        Ok(())
    }

    pub(super) fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<()> {
        let raw = entry.path_bytes().into_owned();
        let entry_type = entry.header().entry_type();
        if matches!(
            entry_type,
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader
        ) {
            return Ok(());
        }
        self.entries += 1;
        if self.entries > self.options.max_entries {
            return Err(Error::LimitExceeded {
                what: "entry count",
                limit: self.options.max_entries,
            });
        }
        let rel = self.safe_relative(&raw)?;
        let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
        let mtime = entry.header().mtime().ok();
        match EntryKind::of(entry_type) {
            EntryKind::Directory => self.directory(&rel, &raw, mode, mtime),
            EntryKind::File => self.file(entry, &rel, &raw, mode, mtime),
            EntryKind::Symlink => self.symlink(entry, &rel, &raw),
            EntryKind::Hardlink => self.hardlink(entry, &rel, &raw),
            EntryKind::Device => Err(Self::refuse(&raw, "device entries are never extracted")),
            EntryKind::Fifo => Err(Self::refuse(&raw, "FIFO entries are never extracted")),
            EntryKind::Other => Err(Self::refuse(
                &raw,
                format!("unsupported entry type {:?}", entry_type),
            )),
        }
    }

    fn collision(raw: &[u8]) -> Error {
        Self::refuse(raw, "collides with an earlier entry")
    }

    fn directory(&mut self, rel: &Path, raw: &[u8], mode: u32, mtime: Option<u64>) -> Result<()> {
        match self.dirs.get(rel) {
            Some(true) => return Err(Self::collision(raw)),
            Some(false) => {
                self.dirs.insert(rel.to_path_buf(), true);
            }
            None => {
                if self.files.contains(rel) || self.symlinks.contains(rel) {
                    return Err(Self::collision(raw));
                }
                self.ensure_parents(rel, raw)?;
                let full = self.dest.join(rel);
                fs::DirBuilder::new()
                    .mode(0o700)
                    .create(&full)
                    .map_err(|e| self.create_error(e, raw, &full))?;
                self.dirs.insert(rel.to_path_buf(), true);
                self.summary.directories += 1;
            }
        }
        self.dir_attrs.push((rel.to_path_buf(), mode, mtime));
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
        entry: &mut tar::Entry<'_, R>,
        rel: &Path,
        raw: &[u8],
        mode: u32,
        mtime: Option<u64>,
    ) -> Result<()> {
        let size = entry.size();
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
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&full)
            .map_err(|e| self.create_error(e, raw, &full))?;
        self.files.insert(rel.to_path_buf());
        let mut written = 0u64;
        loop {
            let n = match entry.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(tar_err(e)),
            };
            f.write_all(&self.buf[..n]).map_err(Error::path(&full))?;
            written += n as u64;
        }
        crate::durable::start_writeback(&f);
        if written != size {
            return Err(truncated_tar());
        }
        self.summary.bytes += written;
        self.summary.files += 1;
        f.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(Error::path(&full))?;
        if let Some(t) = mtime {
            f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(t))
                .map_err(Error::path(&full))?;
        }
        Ok(())
    }

    fn symlink<R: Read>(
        &mut self,
        entry: &tar::Entry<'_, R>,
        rel: &Path,
        raw: &[u8],
    ) -> Result<()> {
        if !self.options.allow_symlinks {
            return Err(Self::refuse(
                raw,
                "symlinks are not allowed (opt in to extract them)",
            ));
        }
        let target = entry
            .link_name_bytes()
            .ok_or_else(|| Self::refuse(raw, "symlink without a target"))?
            .into_owned();
        if self.traversed_by_links.contains(rel) {
            return Err(Self::refuse(
                raw,
                "an earlier symlink resolves through this path",
            ));
        }
        // Resolve the target from the link's directory, lexically, refusing to leave the
        // destination or to pass through another symlink.
        let mut at: PathBuf = rel.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut traversed = Vec::new();
        let target_path = Path::new(OsStr::from_bytes(&target));
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
                    if !at.pop() {
                        return Err(Self::refuse(raw, "symlink target leaves the destination"));
                    }
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(Self::refuse(raw, "symlink target is absolute"))
                }
            }
        }
        if self.dirs.contains_key(rel) || self.files.contains(rel) || self.symlinks.contains(rel) {
            return Err(Self::collision(raw));
        }
        self.ensure_parents(rel, raw)?;
        let full = self.dest.join(rel);
        std::os::unix::fs::symlink(target_path, &full)
            .map_err(|e| self.create_error(e, raw, &full))?;
        self.symlinks.insert(rel.to_path_buf());
        self.traversed_by_links.extend(traversed);
        self.summary.links += 1;
        Ok(())
    }

    fn hardlink<R: Read>(
        &mut self,
        entry: &tar::Entry<'_, R>,
        rel: &Path,
        raw: &[u8],
    ) -> Result<()> {
        if !self.options.allow_hardlinks {
            return Err(Self::refuse(
                raw,
                "hardlinks are not allowed (opt in to extract them)",
            ));
        }
        let target = entry
            .link_name_bytes()
            .ok_or_else(|| Self::refuse(raw, "hardlink without a target"))?
            .into_owned();
        let target_rel = self
            .safe_relative(&target)
            .map_err(|_| Self::refuse(raw, "hardlink target is outside the destination"))?;
        if !self.files.contains(&target_rel) {
            return Err(Self::refuse(
                raw,
                "hardlink target is not a regular file extracted earlier from this archive",
            ));
        }
        if self.dirs.contains_key(rel) || self.symlinks.contains(rel) {
            return Err(Self::collision(raw));
        }
        self.ensure_parents(rel, raw)?;
        let full = self.dest.join(rel);
        fs::hard_link(self.dest.join(&target_rel), &full)
            .map_err(|e| self.create_error(e, raw, &full))?;
        self.files.insert(rel.to_path_buf());
        self.summary.links += 1;
        Ok(())
    }

    pub(super) fn finish_directories(&mut self) -> Result<()> {
        // Deepest first, so setting a parent's mtime is not undone by touching a child.
        let mut attrs = std::mem::take(&mut self.dir_attrs);
        attrs.sort_by_key(|a| std::cmp::Reverse(a.0.components().count()));
        for (rel, mode, mtime) in attrs {
            let full = self.dest.join(&rel);
            if let Some(t) = mtime {
                let d = File::open(&full).map_err(Error::path(&full))?;
                d.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(t))
                    .map_err(Error::path(&full))?;
            }
            fs::set_permissions(&full, fs::Permissions::from_mode(mode))
                .map_err(Error::path(&full))?;
        }
        Ok(())
    }
}
