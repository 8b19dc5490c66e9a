//! The one error type of the crate.

use std::io;
use std::path::PathBuf;

use crate::digest::Md5Digest;

/// Everything that can go wrong in a0backup.
///
/// The variants are meant to be matched on: a caller can tell a wrong password from a corrupted
/// download from an archive that tried to escape its destination. New variants may be added in
/// minor releases, so a `match` needs a wildcard arm.
///
/// # Examples
///
/// ```
/// use a0backup::{DecryptOptions, DecryptReader, Error, Password};
/// let options = DecryptOptions::new().expect_gzip(true);
/// // Zeros decrypt to the keystream itself, which does not start like gzip.
/// match DecryptReader::new(&[0u8; 32][..], &Password::from("Passw0rd"), options) {
///     Err(Error::WrongPassword { detail }) => assert!(detail.contains("gzip")),
///     Err(other) => panic!("another error: {other}"),
///     Ok(_) => panic!("a wrong password went unnoticed"),
/// }
/// ```
///
/// Errors travel through [`std::io::Error`] (out of a `Read` or `Write` adapter) and come back
/// as themselves:
///
/// ```
/// use a0backup::Error;
/// let io: std::io::Error = Error::Cancelled.into();
/// assert!(matches!(Error::from(io), Error::Cancelled));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error that is not tied to one named file.
    #[error("I/O error: {0}")]
    Io(io::Error),

    /// An I/O error on a named file or directory.
    #[error("{}: {source}", path.display())]
    Path {
        /// The file or directory the operation was about.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },

    /// The MD5 of the data is not the one that was expected.
    #[error("md5 mismatch: expected {expected}, got {actual}")]
    ChecksumMismatch {
        /// The digest the caller (or the backup-status record) gave.
        expected: Md5Digest,
        /// The digest of the bytes that were actually read.
        actual: Md5Digest,
    },

    /// The decrypted bytes do not look like what they should be (for a backup: a gzip header),
    /// which almost always means the password is wrong.
    #[error("probably wrong password: {detail}")]
    WrongPassword {
        /// What was expected and what was found.
        detail: String,
    },

    /// The input is damaged or not of the expected shape.
    #[error("malformed {input}{}: {detail}", at.map(|o| format!(" at byte {o}")).unwrap_or_default())]
    Malformed {
        /// Which layer of the input is damaged.
        input: Input,
        /// Byte offset in that layer, where known.
        at: Option<u64>,
        /// What is wrong.
        detail: String,
    },

    /// The input ends before its last gzip member does: it was cut short (an incomplete
    /// download, most often). Its [`kind`](Error::kind) is [`ErrorKind::Malformed`].
    #[error("malformed {input}: truncated")]
    Truncated {
        /// The layer that ends early (the gzip stream).
        input: Input,
    },

    /// The input is of a format (or uses an option) this crate cannot read or write.
    #[error("unsupported format: {0}")]
    UnsupportedFormat(String),

    /// A file with an openssl `Salted__` header was read without its format: the header does
    /// not say whether MD5 or PBKDF2 made the key. Its [`kind`](Error::kind) is
    /// [`ErrorKind::Unsupported`].
    #[error(
        "unsupported format: the file has an openssl Salted__ header, which does not say \
             whether MD5 or PBKDF2 made its key: give the format (openssl-md5 or openssl-pbkdf2)"
    )]
    FormatNeeded,

    /// An archive entry was refused by the unpack safety policy.
    #[error("unsafe archive entry \"{path}\": {reason}")]
    UnsafeEntry {
        /// The entry's path as it stands in the archive, escaped for a terminal as GNU tar
        /// escapes names ([`escape_name`](crate::archive::escape_name)).
        path: String,
        /// Why it was refused.
        reason: String,
        /// The option that lets such an entry through, when one does (the reason then says
        /// "opt in"): match on it rather than on the reason's words.
        opt_in: Option<OptIn>,
    },

    /// A limit (total size, entry count, path length, ...) would be exceeded.
    #[error("limit exceeded: {limit} (limit {max})")]
    LimitExceeded {
        /// Which limit.
        limit: Limit,
        /// Its value.
        max: u64,
    },

    /// The output (file or destination directory) exists and replacing it was not asked for.
    #[error("{} already exists; choose a new destination or allow replacing it", .0.display())]
    AlreadyExists(PathBuf),

    /// The destination was missing or empty when the restore started, and holds files at its
    /// end: another restore into it (or another program) published there meanwhile. Nothing was
    /// replaced, whether replacing was allowed or not: what is there was not there to be
    /// replaced when the restore was asked for. Its [`kind`](Error::kind) is
    /// [`ErrorKind::AlreadyExists`].
    #[error("{} was made by someone else while this restore ran (another restore into it?): \
             nothing was replaced", .0.display())]
    DestinationAppeared(PathBuf),

    /// An argument is not valid (bad hex, zero iterations, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A selective restore's includes or collections
    /// ([`EntryFilter`](crate::archive::EntryFilter)) that match no file of the archive: a
    /// mistyped name would otherwise restore nothing, silently. Its [`kind`](Error::kind) is
    /// [`ErrorKind::InvalidArgument`].
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::archive::{unpack, EntryFilter, UnpackOptions};
    /// use a0backup::pack::{pack_writer, PackOptions};
    /// use a0backup::Error;
    /// let src = tempfile::tempdir()?;
    /// std::fs::create_dir(src.path().join("auth0"))?;
    /// std::fs::write(src.path().join("auth0/users.bson"), [5, 0, 0, 0, 0])?;
    /// let mut gz = Vec::new();
    /// pack_writer(src.path(), &mut gz, None, PackOptions::new().prefix("dump"))?;
    /// let filter = EntryFilter::new().collection("auth0.user")?;
    /// let options = UnpackOptions::new().filter(filter);
    /// match unpack(&gz[..], &tempfile::tempdir()?.path().join("out"), options) {
    ///     Err(Error::NotInArchive { collections, archive_collections, .. }) => {
    ///         assert_eq!(collections, ["auth0.user"]);
    ///         assert_eq!(archive_collections, ["auth0.users"]);
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[error("invalid argument: selected but not in the archive (no file matches): {}",
        patterns.iter().map(|p| format!("pattern {p:?}"))
            .chain(collections.iter().map(|c| format!("collection {c}")))
            .collect::<Vec<_>>().join(", "))]
    NotInArchive {
        /// The includes that match no file, as they were given.
        patterns: Vec<String>,
        /// The collections (`DB.COLL`) that match no file, as they were given.
        collections: Vec<String>,
        /// The collections the archive holds (`DB.COLL`, sorted; at most
        /// [`ARCHIVE_COLLECTIONS_MAX`]), for a caller
        /// to suggest the one meant. Empty when no collection was selected. Names as they
        /// stand in the archive: escape them for a terminal
        /// ([`escape_name`](crate::archive::escape_name)).
        archive_collections: Vec<String>,
    },

    /// The operation was cancelled by a progress callback.
    #[error("cancelled")]
    Cancelled,

    /// A file changed while it was being packed: it grew, shrank or was written to between
    /// its open and the end of its copy, or was replaced (by a symlink, which is not followed,
    /// or another kind of file) after its directory was read. The words are GNU tar's; packing
    /// again once the tree is quiet (the dump finished, the service stopped) succeeds.
    #[error("{}: file changed as we read it", path.display())]
    ChangedWhileReading {
        /// The file that changed.
        path: PathBuf,
    },

    /// Something a0backup made could not be removed: the staging directory or temporary file
    /// of a failed or cancelled operation, the tree that a restore with `replace` replaced, or
    /// a leftover of an earlier run that died. `path` is what is left on disk.
    ///
    /// `after` is the error that made the operation fail, when there was one (the cleanup
    /// came after it); without one, the operation itself succeeded: for a replacing restore,
    /// the destination holds the new tree and only the old one is left at `path`.
    #[error("{}{what} {} could not be removed: {source}{}",
        after.as_ref().map(|e| format!("{e}; and ")).unwrap_or_default(),
        path.display(),
        if after.is_none() && *what == Leftover::ReplacedTree { " (the destination holds the new tree)" } else { "" })]
    Leftover {
        /// What it is.
        what: Leftover,
        /// What is left.
        path: PathBuf,
        /// Why it could not be removed.
        source: io::Error,
        /// The error the operation failed with before the cleanup, if any.
        after: Option<Box<Error>>,
    },

    /// A document of the collection being read ([`dump`](crate::dump), find, diff) is
    /// damaged: the same verdict, index and offsets as [`check`](crate::check)'s
    /// [`BsonError`](crate::check::bson::BsonError) for that collection. Nothing after it is
    /// read, since its framing is lost. Its [`kind`](Error::kind) is [`ErrorKind::Malformed`];
    /// the `a0backup` command exits with check's code for damaged data (6).
    #[error(
        "damaged document {document} of {namespace} (at byte {offset} of its .bson): {reason}"
    )]
    DamagedDocument {
        /// `DB.COLL`, escaped for a terminal ([`escape_name`](crate::archive::escape_name)).
        namespace: String,
        /// Index of the document in the collection's `.bson`, from 0.
        document: u64,
        /// Byte offset of its length prefix in the (decompressed) `.bson`.
        offset: u64,
        /// Byte offset in the `.bson` where the damage shows.
        at: u64,
        /// What is wrong.
        reason: String,
    },

    /// The backup holds no file of the collection asked for. Its [`kind`](Error::kind) is
    /// [`ErrorKind::InvalidArgument`].
    #[error("the backup holds no collection {namespace}")]
    NoSuchCollection {
        /// `DB.COLL` as asked for, escaped for a terminal.
        namespace: String,
        /// The collections the backup holds (`DB.COLL`, as they are, not escaped), sorted: at
        /// most [`ARCHIVE_COLLECTIONS_MAX`], for a caller to suggest the closest one.
        archive_collections: Vec<String>,
    },
}

/// The most collection names [`Error::NotInArchive::archive_collections`] holds: an archive
/// with more is named by its first ones (in the archive's order), in bounded memory.
pub const ARCHIVE_COLLECTIONS_MAX: usize = 1024;

/// What a caller opts in to for an entry the unpack policy otherwise refuses: the
/// [`Error::UnsafeEntry::opt_in`] of such a refusal, for a caller to name its own option.
///
/// # Examples
///
/// ```
/// use a0backup::archive::{unpack, UnpackOptions};
/// use a0backup::pack::{pack_writer, PackOptions};
/// use a0backup::error::{Error, OptIn};
/// let src = tempfile::tempdir()?;
/// std::fs::write(src.path().join("users.bson"), b"x")?;
/// std::os::unix::fs::symlink("users.bson", src.path().join("latest"))?;
/// let mut gz = Vec::new();
/// pack_writer(src.path(), &mut gz, None, PackOptions::new().prefix(""))?;
/// match unpack(&gz[..], tempfile::tempdir()?.path(), UnpackOptions::new()) {
///     Err(Error::UnsafeEntry { opt_in, .. }) => assert_eq!(opt_in, Some(OptIn::Symlinks)),
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OptIn {
    /// Symlinks that stay inside the destination
    /// ([`UnpackOptions::allow_symlinks`](crate::archive::UnpackOptions::allow_symlinks)).
    Symlinks,
    /// Hardlinks to files extracted earlier
    /// ([`UnpackOptions::allow_hardlinks`](crate::archive::UnpackOptions::allow_hardlinks)).
    Hardlinks,
}

/// Which layer of an input is damaged ([`Error::Malformed`], [`Error::Truncated`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Input {
    /// The `Salted__` header of an `openssl enc` file.
    OpensslHeader,
    /// An encrypted backup, as a whole (too short to hold what it must).
    Encrypted,
    /// The gzip stream (a `.tar.gz`, or a backup once decrypted).
    Gzip,
    /// The tar archive inside the gzip stream.
    Tar,
    /// An `a0cli backup-status` record.
    BackupStatus,
    /// A BSON document (of a collection's `.bson` file).
    Bson,
    /// A collection's `.metadata.json` (mongodump's: indexes, options), as
    /// [`check`](crate::check) reads it: JSON of at most 16 MiB.
    Metadata,
}

impl std::fmt::Display for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Input::OpensslHeader => "openssl header",
            Input::Encrypted => "encrypted backup",
            Input::Gzip => "gzip stream",
            Input::Tar => "tar archive",
            Input::BackupStatus => "backup status",
            Input::Bson => "BSON document",
            Input::Metadata => "collection metadata",
        })
    }
}

/// Which limit an archive would exceed ([`Error::LimitExceeded`]): those a caller sets
/// through [`UnpackOptions`](crate::archive::UnpackOptions), and those of the file system and
/// of the library's own memory.
///
/// # Examples
///
/// ```
/// use a0backup::error::{Error, Limit};
/// let e = Error::LimitExceeded { limit: Limit::EntryCount, max: 10 };
/// assert_eq!(e.to_string(), "limit exceeded: entry count (limit 10)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// [`UnpackOptions::max_total_bytes`](crate::archive::UnpackOptions::max_total_bytes).
    TotalBytes,
    /// [`UnpackOptions::max_entries`](crate::archive::UnpackOptions::max_entries).
    EntryCount,
    /// [`UnpackOptions::max_path_len`](crate::archive::UnpackOptions::max_path_len).
    PathLength,
    /// A link's target: [`UnpackOptions::max_path_len`](crate::archive::UnpackOptions::max_path_len),
    /// and the 4095 bytes the kernel takes.
    LinkTargetLength,
    /// One component of an entry's path (a file or directory name): 255 bytes, the
    /// `NAME_MAX` of Linux file systems.
    NameLength,
    /// The memory the safety policy keeps of the archive's tree (24 MiB): its directories,
    /// links and a hash of every file.
    TreeMemory,
    /// A PAX extended header (two paths' worth and 64 KiB).
    PaxHeader,
    /// A PAX global header (as a PAX extended header).
    PaxGlobalHeader,
    /// Bytes after the end of the archive (zero padding, up to 1 MiB, does not count), held to
    /// [`UnpackOptions::max_total_bytes`](crate::archive::UnpackOptions::max_total_bytes).
    TrailingBytes,
    /// The collections of one backup in a [`diff`](crate::diff) of whole backups: each
    /// collection's name and metadata digest is held in memory (about 1.5 KiB a pair), so a
    /// diff of more is refused; [`DiffOptions::collection`](crate::diff::DiffOptions::collection)
    /// compares one collection of any backup.
    DiffCollections,
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Limit::TotalBytes => "total bytes extracted",
            Limit::EntryCount => "entry count",
            Limit::PathLength => "entry path length",
            Limit::LinkTargetLength => "link target length",
            Limit::NameLength => "file name length",
            Limit::TreeMemory => "memory for the archive's directory and link paths",
            Limit::PaxHeader => "PAX extended header size",
            Limit::PaxGlobalHeader => "PAX global header size",
            Limit::TrailingBytes => "bytes after the end of the archive",
            Limit::DiffCollections => "collections in a diff of whole backups",
        })
    }
}

/// What [`Error::Leftover`] could not remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Leftover {
    /// The staging directory of a failed or cancelled restore.
    StagingDirectory,
    /// The temporary file of a failed or cancelled decrypt, encrypt or pack.
    TemporaryFile,
    /// The tree a replacing restore replaced (the destination holds the new one).
    ReplacedTree,
    /// What an earlier run that died left behind.
    EarlierRun,
}

impl std::fmt::Display for Leftover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Leftover::StagingDirectory => "the staging directory",
            Leftover::TemporaryFile => "the temporary file",
            Leftover::ReplacedTree => "the replaced tree",
            Leftover::EarlierRun => "a leftover of an earlier run",
        })
    }
}

/// `Result` with this crate's [`Error`].
///
/// # Examples
///
/// ```
/// fn parse_md5(s: &str) -> a0backup::Result<a0backup::Md5Digest> {
///     s.parse()
/// }
/// assert!(parse_md5("d41d8cd98f00b204e9800998ecf8427e").is_ok());
/// assert!(matches!(parse_md5("xyz"), Err(a0backup::Error::InvalidArgument(_))));
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<io::Error> for Error {
    /// Unwraps an [`Error`] that travelled through an `io::Error` (from inside a `Read` or
    /// `Write` adapter) back into itself; any other I/O error becomes [`Error::Io`].
    fn from(e: io::Error) -> Error {
        if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            let inner = e.into_inner().expect("checked above");
            return *inner.downcast::<Error>().expect("checked above");
        }
        Error::Io(e)
    }
}

impl From<Error> for io::Error {
    /// Wraps an [`Error`] so it can travel through `Read`/`Write`; `Error::from` unwraps it.
    fn from(e: Error) -> io::Error {
        match e {
            Error::Io(inner) => inner,
            other => io::Error::other(other),
        }
    }
}

/// The class of an [`Error`]: what a caller (a script, a C program) can act on.
///
/// It is the one mapping behind both outward codes: [`exit_code`](Self::exit_code) is the exit
/// status of the `a0backup` command, and the C ABI returns the `A0B_ERR_*` code of the same
/// name (see the C API, `include/a0backup.h`). Several kinds share exit code 1, since the command's exit codes
/// stay few and stable, but no kind has two codes.
///
/// | kind | exit code | C result code |
/// | --- | --- | --- |
/// | [`Io`](Self::Io) | 1 | `A0B_ERR_IO` (1) |
/// | [`InvalidArgument`](Self::InvalidArgument) | 2 | `A0B_ERR_INVALID_ARGUMENT` (2) |
/// | [`WrongPassword`](Self::WrongPassword) | 3 | `A0B_ERR_WRONG_PASSWORD` (3) |
/// | [`ChecksumMismatch`](Self::ChecksumMismatch) | 4 | `A0B_ERR_CHECKSUM_MISMATCH` (4) |
/// | [`UnsafeArchive`](Self::UnsafeArchive) | 5 | `A0B_ERR_UNSAFE_ARCHIVE` (5) |
/// | [`Malformed`](Self::Malformed) | 1 | `A0B_ERR_MALFORMED` (6) |
/// | [`Cancelled`](Self::Cancelled) | 1 | `A0B_ERR_CANCELLED` (7) |
/// | [`Unsupported`](Self::Unsupported) | 2 | `A0B_ERR_UNSUPPORTED` (9) |
/// | [`AlreadyExists`](Self::AlreadyExists) | 1 | `A0B_ERR_ALREADY_EXISTS` (10) |
/// | [`ChangedWhileReading`](Self::ChangedWhileReading) | 1 | `A0B_ERR_CHANGED_WHILE_READING` (11) |
///
/// (`A0B_ERR_PANIC`, 8, is a caught panic, not an [`Error`].)
///
/// # Examples
///
/// ```
/// use a0backup::error::{Error, ErrorKind};
/// let e = Error::LimitExceeded { limit: a0backup::error::Limit::EntryCount, max: 10 };
/// assert_eq!(e.kind(), ErrorKind::UnsafeArchive);
/// assert_eq!(e.exit_code(), 5);
/// assert_eq!(ErrorKind::Malformed.exit_code(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::Io`] and [`Error::Path`]: the operating system refused a read or a write.
    Io,
    /// [`Error::InvalidArgument`] and [`Error::NotInArchive`]: the caller asked for something
    /// that cannot be done.
    InvalidArgument,
    /// [`Error::WrongPassword`].
    WrongPassword,
    /// [`Error::ChecksumMismatch`].
    ChecksumMismatch,
    /// [`Error::UnsafeEntry`] and [`Error::LimitExceeded`]: the unpack safety policy refused
    /// the archive.
    UnsafeArchive,
    /// [`Error::Malformed`] and [`Error::Truncated`]: damaged or truncated input.
    Malformed,
    /// [`Error::Cancelled`].
    Cancelled,
    /// [`Error::UnsupportedFormat`] and [`Error::FormatNeeded`].
    Unsupported,
    /// [`Error::AlreadyExists`] and [`Error::DestinationAppeared`].
    AlreadyExists,
    /// [`Error::ChangedWhileReading`]: a file changed while it was packed; trying again later
    /// may succeed.
    ChangedWhileReading,
}

impl ErrorKind {
    /// The exit status of the `a0backup` command for an error of this kind: 1 other error, 2
    /// usage, 3 probably wrong password, 4 checksum mismatch, 5 unsafe archive refused.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::error::ErrorKind;
    /// assert_eq!(ErrorKind::WrongPassword.exit_code(), 3);
    /// assert_eq!(ErrorKind::Unsupported.exit_code(), 2);
    /// ```
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Io
            | ErrorKind::Malformed
            | ErrorKind::Cancelled
            | ErrorKind::AlreadyExists
            | ErrorKind::ChangedWhileReading => 1,
            ErrorKind::InvalidArgument | ErrorKind::Unsupported => 2,
            ErrorKind::WrongPassword => 3,
            ErrorKind::ChecksumMismatch => 4,
            ErrorKind::UnsafeArchive => 5,
        }
    }
}

impl Error {
    /// The class of this error, from which its exit code and its C result code both follow.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::error::{Error, ErrorKind};
    /// let e = Error::UnsafeEntry { path: "../x".into(), reason: "`..`".into(), opt_in: None };
    /// assert_eq!(e.kind(), ErrorKind::UnsafeArchive);
    /// assert_eq!(Error::Cancelled.kind(), ErrorKind::Cancelled);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io(_) | Error::Path { .. } => ErrorKind::Io,
            Error::ChecksumMismatch { .. } => ErrorKind::ChecksumMismatch,
            Error::WrongPassword { .. } => ErrorKind::WrongPassword,
            Error::Malformed { .. } | Error::Truncated { .. } | Error::DamagedDocument { .. } => {
                ErrorKind::Malformed
            }
            Error::UnsupportedFormat(_) | Error::FormatNeeded => ErrorKind::Unsupported,
            Error::UnsafeEntry { .. } | Error::LimitExceeded { .. } => ErrorKind::UnsafeArchive,
            Error::AlreadyExists(_) | Error::DestinationAppeared(_) => ErrorKind::AlreadyExists,
            Error::InvalidArgument(_)
            | Error::NoSuchCollection { .. }
            | Error::NotInArchive { .. } => ErrorKind::InvalidArgument,
            Error::Cancelled => ErrorKind::Cancelled,
            Error::ChangedWhileReading { .. } => ErrorKind::ChangedWhileReading,
            // A failed cleanup is classed by the error it came after; alone, it is an I/O error.
            Error::Leftover {
                after: Some(cause), ..
            } => cause.kind(),
            Error::Leftover { .. } => ErrorKind::Io,
        }
    }

    /// The exit status of the `a0backup` command for this error: `self.kind().exit_code()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::Error;
    /// let e = Error::LimitExceeded { limit: a0backup::error::Limit::TotalBytes, max: 1 << 20 };
    /// assert_eq!(e.exit_code(), 5);
    /// assert_eq!(Error::InvalidArgument("bad hex".into()).exit_code(), 2);
    /// ```
    pub fn exit_code(&self) -> u8 {
        self.kind().exit_code()
    }

    pub(crate) fn path(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Path { path, source }
    }

    /// Whether a damaged (rather than hostile or wrongly opened) input could explain this error.
    pub(crate) fn may_be_corruption(&self) -> bool {
        matches!(
            self,
            Error::Malformed { .. }
                | Error::Truncated { .. }
                | Error::WrongPassword { .. }
                | Error::UnsafeEntry { .. }
                | Error::LimitExceeded { .. }
        )
    }

    /// A failed cleanup of `path`, after `cause` (the operation's own error), if any.
    pub(crate) fn leftover(what: Leftover, cleanup: Error, cause: Option<Error>) -> Error {
        let (path, source) = match cleanup {
            Error::Path { path, source } => (path, source),
            other => (PathBuf::new(), io::Error::other(other.to_string())),
        };
        Error::Leftover {
            what,
            path,
            source,
            after: cause.map(Box::new),
        }
    }

    /// The error to act on: for a [`Error::Leftover`] after another error, that error.
    ///
    /// A failed cleanup is reported with the error that came before it; exit codes and C
    /// result codes follow the first one, so a cancel stays a cancel and a checksum mismatch a
    /// mismatch.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::Error;
    /// let e = Error::Leftover {
    ///     what: a0backup::error::Leftover::StagingDirectory,
    ///     path: "/srv/.restored.a0backup-staging-x1".into(),
    ///     source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
    ///     after: Some(Box::new(Error::Cancelled)),
    /// };
    /// assert!(matches!(e.primary(), Error::Cancelled));
    /// assert!(e.to_string().starts_with("cancelled; and the staging directory /srv/"));
    /// assert!(matches!(Error::Cancelled.primary(), Error::Cancelled));
    /// ```
    pub fn primary(&self) -> &Error {
        match self {
            Error::Leftover {
                after: Some(cause), ..
            } => cause.primary(),
            other => other,
        }
    }

    pub(crate) fn malformed(input: Input, at: Option<u64>, detail: impl Into<String>) -> Error {
        Error::Malformed {
            input,
            at,
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The library's hints are for every face (Rust, C, Python, Node): neutral words, no
    /// command-line option.
    #[test]
    fn hints_are_in_neutral_words() {
        let errors = [
            Error::AlreadyExists("/srv/restored".into()),
            Error::FormatNeeded,
        ];
        for e in errors {
            let m = e.to_string();
            assert!(!m.contains("--") && !m.contains("force"), "{m}");
        }
        assert_eq!(
            Error::AlreadyExists("/srv/restored".into()).to_string(),
            "/srv/restored already exists; choose a new destination or allow replacing it"
        );
    }
}
