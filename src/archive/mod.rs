//! Tar archives of a backup tree, gzipped: list one, and unpack one under a safety policy
//! that cannot be skipped by accident. (Writing one is the `pack` job's: [`crate::pack`].)
//! This layer is tar and gzip only: decryption and encryption are composed by the jobs
//! ([`crate::restore`], [`crate::check`], [`crate::pack`]).
//!
//! # Security
//!
//! [`unpack`] treats every archive as hostile. By default it writes only regular files and
//! directories, and refuses (with [`Error::UnsafeEntry`] naming the entry):
//!
//! * absolute paths, `..` components, and paths that would pass through a symlink, including
//!   names that come from GNU long-name records or PAX `path` overrides;
//! * symlinks and hardlinks, unless allowed by [`UnpackOptions::allow_symlinks`] /
//!   [`UnpackOptions::allow_hardlinks`], and then only when they resolve inside the destination
//!   without passing through another symlink (a hardlink must name a regular file extracted
//!   earlier from the same archive), and `..` in a symlink target only undoes a directory the
//!   extraction created;
//! * devices, FIFOs, sparse files (every encoding) and other special entries;
//! * an entry that collides with an earlier one (never a silent overwrite);
//! * an archive that tar readers would read differently: two names or two PAX headers for one
//!   entry, a malformed or repeated PAX record, a PAX size that contradicts the header, a global
//!   PAX `path`, data declared by a symlink, device or FIFO.
//!
//! [`list`] and [`unpack`] share one parser, so `list` shows what `unpack` writes. Metadata is
//! bounded before it is read (long names by [`UnpackOptions::max_path_len`], PAX headers by
//! twice that plus 64 KiB). Setuid, setgid and sticky bits are dropped, the rest of the mode is
//! masked by the umask unless [`UnpackOptions::preserve_permissions`], and ownership is never
//! set. Limits on total bytes, entry count and path length ([`UnpackOptions`]) stop a gzip bomb
//! with [`Error::LimitExceeded`] instead of a full disk. The gzip stream is read to its end (all
//! members, CRC and length checked; zero padding after it is ignored with a warning), a tar
//! stream cut inside an entry is [`Error::Malformed`], one that ends cleanly without its
//! end-of-archive marker is accepted with a warning in [`UnpackSummary::warnings`], and bytes
//! after the marker are counted in [`UnpackSummary::trailing_bytes`].
//!
//! The destination must be empty (or absent) so that nothing in it predates the archive; to
//! extract into a directory that is renamed into place only on success, use
//! [`restore`](crate::restore).
use std::ffi::OsString;
use std::path::PathBuf;

#[cfg(doc)]
use crate::Error;

mod dry_run;
mod escape;
mod extract;
mod filter;
mod header;
mod pack;
mod pax;
mod policy;
mod tar_reader;
mod unpack;

pub(crate) use dry_run::{dry_run, DryRun};
pub use escape::escape_name;
pub use filter::EntryFilter;
pub(crate) use pack::{write_tar_gz, TarGz, DEFAULT_LEVEL};
pub use unpack::{list, unpack, Entries, UnpackOptions, UnpackSummary};
pub(crate) use unpack::{note_trailing_zeros, unpack_tar};

/// What kind of entry an archive holds.
///
/// # Examples
///
/// ```
/// use a0backup::archive::{list, EntryKind, UnpackOptions};
/// use a0backup::pack::{pack_writer, PackOptions};
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("users.bson"), b"x")?;
/// std::os::unix::fs::symlink("users.bson", dir.path().join("latest"))?;
/// let mut gz = Vec::new();
/// pack_writer(dir.path(), &mut gz, None, PackOptions::new().prefix("dump"))?;
/// let kinds: Vec<EntryKind> = list(&gz[..], UnpackOptions::new())?
///     .map(|e| e.map(|e| e.kind))
///     .collect::<Result<_, _>>()?;
/// assert_eq!(kinds, [EntryKind::Directory, EntryKind::Symlink, EntryKind::File]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A hard link to an earlier entry.
    Hardlink,
    /// A character device.
    Device,
    /// A block device.
    BlockDevice,
    /// A named pipe.
    Fifo,
    /// A tape volume label (GNU `V`): a name for the archive, not a file; never extracted.
    VolumeLabel,
    /// Anything else (sparse files, vendor extensions).
    Other,
}

impl EntryKind {
    /// A one-letter code as `ls -l` shows it (`-`, `d`, `l`, `c`, `b`, `p`), with `h` for a
    /// hardlink, `V` for a volume label and `?` for anything else.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::archive::EntryKind;
    /// let kinds = [EntryKind::File, EntryKind::Directory, EntryKind::Symlink, EntryKind::Fifo];
    /// assert_eq!(kinds.iter().map(EntryKind::letter).collect::<String>(), "-dlp");
    /// ```
    pub fn letter(&self) -> char {
        match self {
            EntryKind::File => '-',
            EntryKind::Directory => 'd',
            EntryKind::Symlink => 'l',
            EntryKind::Hardlink => 'h',
            EntryKind::Device => 'c',
            EntryKind::BlockDevice => 'b',
            EntryKind::Fifo => 'p',
            EntryKind::VolumeLabel => 'V',
            EntryKind::Other => '?',
        }
    }
}

/// One entry of an archive, as [`list`] reports it.
///
/// # Examples
///
/// ```
/// use std::os::unix::fs::PermissionsExt;
/// use std::path::Path;
/// use a0backup::archive::{list, EntryInfo, UnpackOptions};
/// use a0backup::pack::{pack_writer, PackOptions};
/// let dir = tempfile::tempdir()?;
/// let file = dir.path().join("users.bson");
/// std::fs::write(&file, b"\x05\0\0\0\0")?;
/// std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640))?;
/// std::os::unix::fs::symlink("users.bson", dir.path().join("latest"))?;
/// let mut gz = Vec::new();
/// pack_writer(dir.path(), &mut gz, None, PackOptions::new().prefix(""))?;
/// let entries: Vec<EntryInfo> = list(&gz[..], UnpackOptions::new())?.collect::<Result<_, _>>()?;
/// let (link, users) = (&entries[0], &entries[1]);
/// assert_eq!(link.path, Path::new("latest"));
/// assert_eq!(link.link_target.as_deref(), Some(Path::new("users.bson")));
/// assert_eq!(users.path, Path::new("users.bson"));
/// assert_eq!((users.size, users.mode & 0o777), (5, 0o640));
/// assert!(users.mtime > 0);
/// // The owner's ids as the file has them (pack stores no names), no device numbers.
/// use std::os::unix::fs::MetadataExt;
/// let meta = std::fs::metadata(&file)?;
/// assert_eq!((users.uid, users.gid), (u64::from(meta.uid()), u64::from(meta.gid())));
/// assert!(users.uname.is_empty() && users.gname.is_empty());
/// assert_eq!((users.devmajor, users.devminor), (0, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EntryInfo {
    /// The path stored in the archive (long-name and PAX records applied).
    pub path: PathBuf,
    /// The entry's kind.
    pub kind: EntryKind,
    /// Size of the entry's data in bytes.
    pub size: u64,
    /// Permission bits as stored.
    pub mode: u32,
    /// Modification time, seconds since the Unix epoch (negative before 1970).
    pub mtime: i64,
    /// Target of a symlink or hardlink.
    pub link_target: Option<PathBuf>,
    /// The owner's user id as stored (a PAX `uid` applied); never applied on unpack.
    pub uid: u64,
    /// The owner's group id as stored (a PAX `gid` applied).
    pub gid: u64,
    /// The owner's user name as stored (a PAX `uname` applied); empty when the archive names
    /// none (a V7 header, `tar --numeric-owner`).
    pub uname: OsString,
    /// The owner's group name, as [`uname`](Self::uname).
    pub gname: OsString,
    /// A character or block device's major number; 0 for other kinds.
    pub devmajor: u64,
    /// A character or block device's minor number; 0 for other kinds.
    pub devminor: u64,
}
