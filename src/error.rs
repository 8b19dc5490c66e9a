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
/// match DecryptReader::new(&[0u8; 32][..], &Password::from("Passw0rd"), &options) {
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
    #[error("malformed {what}{}: {detail}", at.map(|o| format!(" at byte {o}")).unwrap_or_default())]
    Malformed {
        /// Which kind of input: "openssl header", "backup status", "gzip stream", "tar archive", ...
        what: &'static str,
        /// Byte offset in that input, where known.
        at: Option<u64>,
        /// What is wrong.
        detail: String,
    },

    /// The input is of a format (or uses an option) this crate cannot read or write.
    #[error("unsupported format: {0}")]
    UnsupportedFormat(String),

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

    /// A configured limit (total size, entry count, path length) would be exceeded.
    #[error("limit exceeded: {what} (limit {limit})")]
    LimitExceeded {
        /// Which limit: for those a caller sets, one of the [`limits`] constants.
        what: &'static str,
        /// The limit's value.
        limit: u64,
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
        if after.is_none() && *what == "the replaced tree" { " (the destination holds the new tree)" } else { "" })]
    Leftover {
        /// What it is: "the staging directory", "the temporary file", "the replaced tree" or
        /// "a leftover of an earlier run".
        what: &'static str,
        /// What is left.
        path: PathBuf,
        /// Why it could not be removed.
        source: io::Error,
        /// The error the operation failed with before the cleanup, if any.
        after: Option<Box<Error>>,
    },
}

/// What a caller opts in to for an entry the unpack policy otherwise refuses: the
/// [`Error::UnsafeEntry::opt_in`] of such a refusal, for a caller to name its own option.
///
/// # Examples
///
/// ```
/// use a0backup::archive::{pack, unpack, PackOptions, UnpackOptions};
/// use a0backup::error::{Error, OptIn};
/// let src = tempfile::tempdir()?;
/// std::fs::write(src.path().join("users.bson"), b"x")?;
/// std::os::unix::fs::symlink("users.bson", src.path().join("latest"))?;
/// let mut gz = Vec::new();
/// pack(src.path(), &mut gz, &PackOptions::new().prefix(""))?;
/// match unpack(&gz[..], tempfile::tempdir()?.path(), &UnpackOptions::new()) {
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

/// The [`Error::LimitExceeded::what`] of the limits a caller sets, to match on rather than on
/// the message.
pub mod limits {
    /// [`UnpackOptions::max_total_bytes`](crate::archive::UnpackOptions::max_total_bytes).
    pub const TOTAL_BYTES: &str = "total bytes extracted";
    /// [`UnpackOptions::max_entries`](crate::archive::UnpackOptions::max_entries).
    pub const ENTRY_COUNT: &str = "entry count";
    /// [`UnpackOptions::max_path_len`](crate::archive::UnpackOptions::max_path_len).
    pub const PATH_LENGTH: &str = "entry path length";
    /// A link's target, also held to
    /// [`UnpackOptions::max_path_len`](crate::archive::UnpackOptions::max_path_len) and to the
    /// 4095 bytes the kernel takes.
    pub const LINK_TARGET_LENGTH: &str = "link target length";
    /// One component of an entry's path (a file or directory name): at most 255 bytes, the
    /// `NAME_MAX` of Linux file systems.
    pub const NAME_LENGTH: &str = "file name length";
}

/// The [`Error::UnsupportedFormat`] detail of a salted (`openssl enc`) file read without its
/// format: its header does not say whether MD5 or PBKDF2 made the key.
pub const SALTED_FORMAT_UNKNOWN: &str = "the file has an openssl Salted__ header, which does not \
     say whether MD5 or PBKDF2 made its key: give the format (openssl-md5 or openssl-pbkdf2)";

/// The [`Error::Malformed`] detail of a gzip stream that ends before its last member does: the
/// input was cut short (an incomplete download, most often).
pub const TRUNCATED: &str = "truncated";

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
/// name (see [`crate::ffi`]). Several kinds share exit code 1, since the command's exit codes
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
/// let e = Error::LimitExceeded { what: "entries", limit: 10 };
/// assert_eq!(e.kind(), ErrorKind::UnsafeArchive);
/// assert_eq!(e.exit_code(), 5);
/// assert_eq!(ErrorKind::Malformed.exit_code(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::Io`] and [`Error::Path`]: the operating system refused a read or a write.
    Io,
    /// [`Error::InvalidArgument`]: the caller asked for something that cannot be done.
    InvalidArgument,
    /// [`Error::WrongPassword`].
    WrongPassword,
    /// [`Error::ChecksumMismatch`].
    ChecksumMismatch,
    /// [`Error::UnsafeEntry`] and [`Error::LimitExceeded`]: the unpack safety policy refused
    /// the archive.
    UnsafeArchive,
    /// [`Error::Malformed`]: damaged or truncated input.
    Malformed,
    /// [`Error::Cancelled`].
    Cancelled,
    /// [`Error::UnsupportedFormat`].
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
            Error::Malformed { .. } => ErrorKind::Malformed,
            Error::UnsupportedFormat(_) => ErrorKind::Unsupported,
            Error::UnsafeEntry { .. } | Error::LimitExceeded { .. } => ErrorKind::UnsafeArchive,
            Error::AlreadyExists(_) | Error::DestinationAppeared(_) => ErrorKind::AlreadyExists,
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
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
    /// let e = Error::LimitExceeded { what: "total bytes", limit: 1 << 20 };
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
                | Error::WrongPassword { .. }
                | Error::UnsafeEntry { .. }
                | Error::LimitExceeded { .. }
        )
    }

    /// A failed cleanup of `path`, after `cause` (the operation's own error), if any.
    pub(crate) fn leftover(what: &'static str, cleanup: Error, cause: Option<Error>) -> Error {
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
    ///     what: "the staging directory",
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

    pub(crate) fn malformed(
        what: &'static str,
        at: Option<u64>,
        detail: impl Into<String>,
    ) -> Error {
        Error::Malformed {
            what,
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
            Error::UnsupportedFormat(SALTED_FORMAT_UNKNOWN.into()),
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
