//! Listing and unpacking a `.tar.gz` stream.

use std::ffi::OsStr;
use std::fs::{self};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;

use std::path::{Path, PathBuf};

use crate::error::{Error, Limit, Result};

use super::extract::Extraction;
use super::tar_reader::{TarEntry, TarReader};
use super::{EntryFilter, EntryInfo};
use crate::gzip::{GzipReader, InflateOptions, NotGzip};

/// The entries of a `.tar.gz` stream (decrypt first with
/// [`DecryptReader`](crate::DecryptReader) for a `.tar.gz.enc`), one at a time, read by the same
/// parser and held to the same metadata limits (path length, entry count) as [`unpack`]. When
/// the last entry has been read, the rest of the stream is read too: every gzip member's CRC
/// and length are checked before the iterator ends.
///
/// # Errors
///
/// [`Error::Malformed`] for a stream that is not gzip; then, as items, [`Error::Malformed`] or
/// [`Error::Truncated`] for a damaged gzip or tar stream, and [`Error::UnsafeEntry`] or
/// [`Error::LimitExceeded`] where [`unpack`] would refuse the archive before writing anything
/// for the entry (ambiguous or sparse entries, oversized metadata). Entries that only
/// extraction refuses (`..`, links) are listed. After an error the iterator ends.
///
/// # Examples
///
/// ```
/// use a0backup::archive::{list, UnpackOptions};
/// use a0backup::pack::{pack_writer, PackOptions};
/// let dir = tempfile::tempdir()?;
/// for name in ["a.bson", "b.bson", "c.bson"] {
///     std::fs::write(dir.path().join(name), b"x")?;
/// }
/// let mut gz = Vec::new();
/// pack_writer(dir.path(), &mut gz, None, PackOptions::new().prefix(""))?;
/// let names: Vec<_> = list(&gz[..], UnpackOptions::new())?
///     .map(|e| e.map(|e| e.path))
///     .collect::<Result<_, _>>()?;
/// assert_eq!(names.len(), 3);
/// let mut too_many = list(&gz[..], UnpackOptions::new().max_entries(2))?;
/// assert!(too_many.nth(2).unwrap().is_err());
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn list<R: Read>(gz: R, options: UnpackOptions) -> Result<Entries<R>> {
    let gz = GzipReader::with(gz, &options.inflate, NotGzip::Malformed)?;
    Ok(Entries {
        reader: Some(TarReader::new(
            gz,
            options.max_path_len,
            options.max_entries,
        )),
    })
}

/// The iterator [`list`] returns.
pub struct Entries<R: Read> {
    /// `None` once the stream ended or failed.
    reader: Option<TarReader<GzipReader<R>>>,
}

impl<R: Read> std::fmt::Debug for Entries<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entries")
            .field("done", &self.reader.is_none())
            .finish()
    }
}

impl<R: Read> Iterator for Entries<R> {
    type Item = Result<EntryInfo>;

    fn next(&mut self) -> Option<Result<EntryInfo>> {
        let reader = self.reader.as_mut()?;
        match reader.next_entry() {
            Ok(Some(entry)) => Some(Ok(info(&entry))),
            Ok(None) => {
                let (mut rest, _) = self.reader.take()?.into_parts();
                drain_counting(&mut rest, u64::MAX).err().map(Err)
            }
            Err(e) => {
                self.reader = None;
                Some(Err(e))
            }
        }
    }
}

/// What [`list`] reports of an entry.
fn info(entry: &TarEntry) -> EntryInfo {
    EntryInfo {
        path: PathBuf::from(OsStr::from_bytes(&entry.path)),
        kind: entry.kind,
        size: entry.size,
        mode: entry.mode,
        mtime: entry.mtime,
        link_target: entry
            .link
            .as_ref()
            .map(|l| PathBuf::from(OsStr::from_bytes(l))),
        uid: entry.owner.uid,
        gid: entry.owner.gid,
        uname: OsStr::from_bytes(&entry.owner.uname).to_owned(),
        gname: OsStr::from_bytes(&entry.owner.gname).to_owned(),
        devmajor: entry.device.0,
        devminor: entry.device.1,
    }
}

/// Limits and permissions for [`unpack`].
///
/// # Examples
///
/// ```
/// use a0backup::archive::UnpackOptions;
/// let o = UnpackOptions::new().max_total_bytes(1 << 20).allow_symlinks(true);
/// # let _ = o;
/// ```
///
/// A limit stops an archive that would exceed it:
///
/// ```
/// use a0backup::archive::{unpack, UnpackOptions};
/// use a0backup::pack::{pack_writer, PackOptions};
/// use a0backup::Error;
/// let src = tempfile::tempdir()?;
/// std::fs::write(src.path().join("big.bson"), vec![0u8; 10_000])?;
/// let mut gz = Vec::new();
/// pack_writer(src.path(), &mut gz, None, PackOptions::new().prefix(""))?;
/// let dest = tempfile::tempdir()?;
/// let small = UnpackOptions::new().max_total_bytes(1_000);
/// match unpack(&gz[..], dest.path(), small) {
///     Err(Error::LimitExceeded { max, .. }) => assert_eq!(max, 1_000),
///     other => panic!("unexpected {other:?}"),
/// }
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct UnpackOptions {
    pub(super) allow_symlinks: bool,
    pub(super) allow_hardlinks: bool,
    pub(super) max_total_bytes: u64,
    pub(super) max_entries: u64,
    pub(super) max_path_len: usize,
    pub(super) preserve_permissions: bool,
    pub(super) filter: EntryFilter,
    pub(crate) inflate: InflateOptions,
}

impl Default for UnpackOptions {
    fn default() -> Self {
        UnpackOptions {
            allow_symlinks: false,
            allow_hardlinks: false,
            max_total_bytes: 1 << 40,
            max_entries: 10_000_000,
            max_path_len: 4096,
            preserve_permissions: false,
            filter: EntryFilter::new(),
            inflate: InflateOptions::new(),
        }
    }
}

impl UnpackOptions {
    /// Files and directories only; at most 1 TiB, 10 million entries, 4096-byte paths.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::archive::UnpackOptions;
    /// let defaults = UnpackOptions::new();
    /// # let _ = defaults;
    /// ```
    pub fn new() -> UnpackOptions {
        UnpackOptions::default()
    }

    /// Allow symlinks that resolve inside the destination.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::archive::{unpack, UnpackOptions};
    /// use a0backup::pack::{pack_writer, PackOptions};
    /// use a0backup::Error;
    /// let src = tempfile::tempdir()?;
    /// std::fs::write(src.path().join("users.bson"), b"x")?;
    /// std::os::unix::fs::symlink("users.bson", src.path().join("latest"))?;
    /// let mut gz = Vec::new();
    /// pack_writer(src.path(), &mut gz, None, PackOptions::new().prefix(""))?;
    ///
    /// let refused = unpack(&gz[..], tempfile::tempdir()?.path(), UnpackOptions::new());
    /// assert!(matches!(refused, Err(Error::UnsafeEntry { .. })));
    /// let dest = tempfile::tempdir()?;
    /// let s = unpack(&gz[..], dest.path(), UnpackOptions::new().allow_symlinks(true))?;
    /// assert_eq!(s.links, 1);
    /// assert_eq!(std::fs::read_link(dest.path().join("latest"))?, std::path::Path::new("users.bson"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allow_symlinks(mut self, yes: bool) -> Self {
        self.allow_symlinks = yes;
        self
    }

    /// Allow hardlinks to regular files extracted earlier from the same archive.
    ///
    /// # Examples
    ///
    /// [`pack`](crate::pack) never writes hardlinks, so the option changes nothing for its archives:
    ///
    /// ```
    /// use a0backup::archive::{unpack, UnpackOptions};
    /// use a0backup::pack::{pack_writer, PackOptions};
    /// let src = tempfile::tempdir()?;
    /// std::fs::write(src.path().join("users.bson"), b"x")?;
    /// std::fs::hard_link(src.path().join("users.bson"), src.path().join("copy.bson"))?;
    /// let mut gz = Vec::new();
    /// pack_writer(src.path(), &mut gz, None, PackOptions::new().prefix(""))?;
    /// let dest = tempfile::tempdir()?;
    /// let s = unpack(&gz[..], dest.path(), UnpackOptions::new().allow_hardlinks(true))?;
    /// assert_eq!((s.files, s.links), (2, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allow_hardlinks(mut self, yes: bool) -> Self {
        self.allow_hardlinks = yes;
        self
    }

    /// The most bytes of file data to write (and to read past the end of the archive).
    pub fn max_total_bytes(mut self, bytes: u64) -> Self {
        self.max_total_bytes = bytes;
        self
    }

    /// The most entries to accept.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::archive::{unpack, UnpackOptions};
    /// use a0backup::pack::{pack_writer, PackOptions};
    /// use a0backup::Error;
    /// let src = tempfile::tempdir()?;
    /// for name in ["a", "b", "c"] {
    ///     std::fs::write(src.path().join(name), b"x")?;
    /// }
    /// let mut gz = Vec::new();
    /// pack_writer(src.path(), &mut gz, None, PackOptions::new().prefix(""))?;
    /// let r = unpack(&gz[..], tempfile::tempdir()?.path(), UnpackOptions::new().max_entries(2));
    /// assert!(matches!(r, Err(Error::LimitExceeded { max: 2, .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_entries(mut self, entries: u64) -> Self {
        self.max_entries = entries;
        self
    }

    /// The longest entry path, in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::archive::{unpack, UnpackOptions};
    /// use a0backup::pack::{pack_writer, PackOptions};
    /// use a0backup::Error;
    /// let src = tempfile::tempdir()?;
    /// std::fs::write(src.path().join("a-rather-long-name.bson"), b"x")?;
    /// let mut gz = Vec::new();
    /// pack_writer(src.path(), &mut gz, None, PackOptions::new().prefix(""))?;
    /// let r = unpack(&gz[..], tempfile::tempdir()?.path(), UnpackOptions::new().max_path_len(8));
    /// assert!(matches!(r, Err(Error::LimitExceeded { max: 8, .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_path_len(mut self, bytes: usize) -> Self {
        self.max_path_len = bytes;
        self
    }

    /// Keep the archive's permission bits as stored (setuid, setgid and sticky are still
    /// dropped). By default they are masked by the process umask, as GNU tar does for ordinary
    /// users, so an archive cannot leave world-writable files behind.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::fs::PermissionsExt;
    /// use a0backup::archive::{unpack, UnpackOptions};
    /// use a0backup::pack::{pack_writer, PackOptions};
    /// let src = tempfile::tempdir()?;
    /// let f = src.path().join("open.bson");
    /// std::fs::write(&f, b"x")?;
    /// std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o666))?;
    /// let mut gz = Vec::new();
    /// pack_writer(src.path(), &mut gz, None, PackOptions::new().prefix(""))?;
    /// let dest = tempfile::tempdir()?;
    /// let kept = dest.path().join("kept");
    /// unpack(&gz[..], &kept, UnpackOptions::new().preserve_permissions(true))?;
    /// let mode = std::fs::metadata(kept.join("open.bson"))?.permissions().mode();
    /// assert_eq!(mode & 0o777, 0o666);
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn preserve_permissions(mut self, yes: bool) -> Self {
        self.preserve_permissions = yes;
        self
    }

    /// Write only the entries `filter` selects (selective restore). Every entry is still read
    /// and judged by the safety policy; what is not written is counted in
    /// [`UnpackSummary::skipped`].
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::archive::{unpack, EntryFilter, UnpackOptions};
    /// use a0backup::pack::{pack_writer, PackOptions};
    /// let src = tempfile::tempdir()?;
    /// std::fs::create_dir(src.path().join("auth0"))?;
    /// for f in ["users.bson", "users.metadata.json", "logs.bson", "logs.metadata.json"] {
    ///     std::fs::write(src.path().join("auth0").join(f), b"x")?;
    /// }
    /// let mut gz = Vec::new();
    /// pack_writer(src.path(), &mut gz, None, PackOptions::new().prefix("dump"))?;
    /// let dest = tempfile::tempdir()?;
    /// let only_users = EntryFilter::new().collection("auth0.users")?;
    /// let s = unpack(&gz[..], &dest.path().join("d"), UnpackOptions::new().filter(only_users))?;
    /// assert_eq!((s.files, s.skipped), (2, 4)); // 2 files and 2 directory entries skipped
    /// assert!(dest.path().join("d/dump/auth0/users.bson").exists());
    /// assert!(!dest.path().join("d/dump/auth0/logs.bson").exists());
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn filter(mut self, filter: EntryFilter) -> Self {
        self.filter = filter;
        self
    }

    /// How to inflate the gzip stream: sequentially with zlib-rs (the default, fastest on
    /// two cores), or on worker threads (see [`InflateOptions`] for why sequential is the
    /// default, and for the memory the threads take). Used by [`unpack`], [`list`],
    /// [`restore`](crate::restore) (through [`RestoreOptions::unpack`]) and
    /// [`check`](crate::check) (through [`CheckOptions::unpack`]); the output and the
    /// errors are the same either way.
    ///
    /// [`RestoreOptions::unpack`]: crate::restore::RestoreOptions::unpack
    /// [`CheckOptions::unpack`]: crate::check::CheckOptions::unpack
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::archive::{unpack, UnpackOptions};
    /// use a0backup::pack::{pack_writer, PackOptions};
    /// use a0backup::gzip::InflateOptions;
    /// let src = tempfile::tempdir()?;
    /// std::fs::write(src.path().join("users.bson"), vec![7u8; 300_000])?;
    /// let mut gz = Vec::new();
    /// pack_writer(src.path(), &mut gz, None, PackOptions::new().prefix("dump"))?;
    /// let dest = tempfile::tempdir()?;
    /// let o = UnpackOptions::new().inflate(InflateOptions::new().threads(2));
    /// let s = unpack(&gz[..], dest.path(), o)?;
    /// assert_eq!(s.bytes, 300_000);
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn inflate(mut self, options: InflateOptions) -> Self {
        self.inflate = options;
        self
    }
}
/// What [`unpack`] wrote.
///
/// # Examples
///
/// ```
/// use a0backup::archive::{unpack, UnpackOptions, UnpackSummary};
/// use a0backup::pack::{pack_writer, PackOptions};
/// let src = tempfile::tempdir()?;
/// std::fs::create_dir(src.path().join("admin"))?;
/// std::fs::write(src.path().join("admin/users.bson"), b"abc")?;
/// std::fs::write(src.path().join("oplog.bson"), b"de")?;
/// let mut gz = Vec::new();
/// pack_writer(src.path(), &mut gz, None, PackOptions::new().prefix("dump"))?;
/// let dest = tempfile::tempdir()?;
/// let s: UnpackSummary = unpack(&gz[..], dest.path(), UnpackOptions::new())?;
/// assert_eq!((s.files, s.directories, s.links, s.bytes), (2, 2, 0, 5));
/// assert_eq!(s.trailing_bytes, 0);
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct UnpackSummary {
    /// Regular files written.
    pub files: u64,
    /// Directories created (explicit entries and implied parents).
    pub directories: u64,
    /// Symlinks and hardlinks created.
    pub links: u64,
    /// Bytes of file data written.
    pub bytes: u64,
    /// Bytes after the end-of-archive marker that are not zero padding.
    pub trailing_bytes: u64,
    /// Entries read and judged but not written, because the [`EntryFilter`] did not select
    /// them.
    pub skipped: u64,
    /// Things accepted that a careful reader should know of (a missing end-of-archive marker,
    /// zero padding after the gzip stream), one sentence each.
    pub warnings: Vec<String>,
}

/// Unpacks a `.tar.gz` stream into `dest`, which must be empty or not exist yet. See the
/// [module docs](super) for what is refused.
///
/// On an error, what was written so far stays in `dest`; [`restore`](crate::restore) extracts
/// into a staging directory and removes it on failure.
///
/// # Errors
///
/// [`Error::UnsafeEntry`], [`Error::LimitExceeded`], [`Error::Malformed`] (bad or truncated
/// gzip or tar), [`Error::WrongPassword`] when the stream does not start with a gzip header,
/// [`Error::AlreadyExists`] when `dest` is not empty, and I/O errors.
///
/// # Examples
///
/// ```
/// use a0backup::archive::{unpack, UnpackOptions};
/// use a0backup::pack::{pack_writer, PackOptions};
/// let src = tempfile::tempdir()?;
/// std::fs::write(src.path().join("users.bson"), b"\x05\0\0\0\0")?;
/// let mut gz = Vec::new();
/// pack_writer(src.path(), &mut gz, None, PackOptions::new().prefix("dump"))?;
/// let dest = tempfile::tempdir()?;
/// let s = unpack(&gz[..], dest.path(), UnpackOptions::new())?;
/// assert_eq!(s.files, 1);
/// assert_eq!(std::fs::read(dest.path().join("dump/users.bson"))?, b"\x05\0\0\0\0");
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn unpack<R: Read>(gz: R, dest: &Path, options: UnpackOptions) -> Result<UnpackSummary> {
    prepare_empty_dest(dest)?;
    let gz = GzipReader::with(gz, &options.inflate, NotGzip::Malformed)?;
    let (mut summary, gz) = unpack_tar(gz, dest, &options)?;
    note_trailing_zeros(&mut summary, gz.trailing_zeros());
    Ok(summary)
}

/// Adds the warning for zero bytes found after the gzip stream.
pub(crate) fn note_trailing_zeros(summary: &mut UnpackSummary, zeros: u64) {
    if zeros > 0 {
        summary.warnings.push(format!(
            "{zeros} zero bytes after the end of the gzip stream were ignored"
        ));
    }
}

fn prepare_empty_dest(dest: &Path) -> Result<()> {
    match fs::read_dir(dest) {
        Ok(mut it) => {
            if it.next().is_some() {
                return Err(Error::AlreadyExists(dest.to_path_buf()));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir(dest).map_err(Error::path(dest))
        }
        Err(e) => Err(Error::Path {
            path: dest.to_path_buf(),
            source: e,
        }),
    }
}

/// Unpacks an uncompressed tar stream into `dest` (which exists and is empty), then reads the
/// stream to its end. Returns the summary and the stream.
///
/// The stream must end (read 0) only where its producer proved it complete (the gzip trailer):
/// an archive without its end-of-archive blocks is then accepted with a warning.
pub(crate) fn unpack_tar<R: Read>(
    tar_stream: R,
    dest: &Path,
    options: &UnpackOptions,
) -> Result<(UnpackSummary, R)> {
    let mut reader = TarReader::new(tar_stream, options.max_path_len, options.max_entries);
    let mut state = Extraction::new(dest, options)?;
    while let Some(entry) = reader.next_entry()? {
        state.entry(&entry, &mut reader)?;
    }
    let mut summary = state.finish()?;
    let (mut rest, warnings) = reader.into_parts();
    summary.warnings.extend(warnings);
    summary.trailing_bytes = drain_counting(&mut rest, options.max_total_bytes)?;
    Ok((summary, rest))
}

/// Zero bytes after the end of an archive that are padding, not data: tar pads to its record
/// size (10240 bytes by default; GNU tar's largest blocking factor makes records of a few
/// hundred KiB). Zeros past this allowance count, so that a gzip bomb of zeros after the end
/// is bounded like one inside an entry.
const ZERO_PADDING_ALLOWANCE: u64 = 1 << 20;

/// Reads the rest of a stream (checking gzip to its end) and counts bytes that are not zero;
/// those, and the zeros past [`ZERO_PADDING_ALLOWANCE`], are held to `limit`. Restore and
/// check's dry run both use this: one verdict.
pub(crate) fn drain_counting<R: Read + ?Sized>(r: &mut R, limit: u64) -> Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut nonzero = 0u64;
    let mut total = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(nonzero),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::from(e)),
        };
        total += n as u64;
        nonzero += buf[..n].iter().filter(|&&b| b != 0).count() as u64;
        let zeros = total - nonzero;
        if nonzero + zeros.saturating_sub(ZERO_PADDING_ALLOWANCE) > limit {
            return Err(Error::LimitExceeded {
                limit: Limit::TrailingBytes,
                max: limit,
            });
        }
    }
}
