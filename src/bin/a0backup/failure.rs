//! How a command fails: the message for stderr and the exit code.

use std::io;
use std::path::Path;

use a0backup::archive::escape_name;
use a0backup::error::{Limit, OptIn};
use a0backup::Error;

use crate::{password, signals};

/// The process exit codes scripts can rely on. A library error's code is its
/// [`Error::exit_code`], the same mapping that gives the C ABI its result codes.
pub mod exit {
    pub const USAGE: u8 = 2;
    /// The reader of standard output went away (`a0backup list ... | head`): the status a
    /// shell shows for a process killed by SIGPIPE, which is how `tar`, `cat` and `md5sum` end.
    pub const BROKEN_PIPE: u8 = 128 + 13;
}

/// A failure of the command: the message for stderr and the exit code.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        // Stopped by a signal: the exit status says which, as a shell reports it.
        if let (Error::Cancelled, Some(sig)) = (e.primary(), signals::received()) {
            return Failure {
                code: 128 + sig as u8,
                message: match e {
                    Error::Cancelled => format!(
                        "stopped by {}: nothing was published, nothing left behind",
                        signals::name(sig)
                    ),
                    other => format!("stopped by {}: {}", signals::name(sig), message(&other)),
                },
            };
        }
        // Quietly, as a process killed by SIGPIPE: nobody is reading the output any more.
        if let Error::Io(source) | Error::Path { source, .. } = e.primary() {
            if source.kind() == io::ErrorKind::BrokenPipe {
                return Failure {
                    code: exit::BROKEN_PIPE,
                    message: String::new(),
                };
            }
        }
        // A failed cleanup is reported with the error before it; the code is that error's.
        Failure {
            code: e.exit_code(),
            message: message(&e),
        }
    }
}

/// The library's message for `e`, with its hints in the command's words: the library names
/// what to change in neutral words ("allow replacing it", "opt in", "give the format"), the
/// command names its own options (`--force`, `--allow-symlinks`, `--format`). Matched on the
/// error's variant and on the library's own values for its fields (`OptIn`, `Limit`), never
/// on its words, so a rewording in the library cannot bring
/// them back here (`tests/cli_answers.rs` checks each).
pub fn message(e: &Error) -> String {
    match e {
        Error::AlreadyExists(path) => {
            format!(
                "{} already exists (give --force to replace it)",
                path.display()
            )
        }
        Error::DestinationAppeared(path) => format!(
            "{} was made by another restore (or program) while this one ran: nothing was \
             replaced (run again with --force to replace it)",
            path.display()
        ),
        Error::UnsafeEntry {
            path,
            opt_in: Some(opt_in),
            ..
        } => {
            let reason = match opt_in {
                OptIn::Symlinks => {
                    "symlinks are not allowed (give --allow-symlinks to extract those that stay \
                     inside DEST)"
                }
                OptIn::Hardlinks => {
                    "hardlinks are not allowed (give --allow-hardlinks to extract those to files \
                     extracted earlier)"
                }
                _ => return e.to_string(),
            };
            format!("unsafe archive entry \"{path}\": {reason}")
        }
        Error::LimitExceeded { limit, .. } => {
            let option = match limit {
                Limit::TotalBytes => Some("--max-size"),
                Limit::EntryCount => Some("--max-entries"),
                Limit::PathLength | Limit::LinkTargetLength => Some("--max-path-len"),
                _ => None,
            };
            match option {
                Some(o) => format!("{e} (raise it with {o} if the archive is trusted)"),
                None => e.to_string(),
            }
        }
        // A mistyped `--collection`: the closest name the archive holds.
        Error::NotInArchive {
            patterns,
            collections,
            archive_collections,
        } => {
            let missing: Vec<String> = patterns
                .iter()
                .map(|p| format!("pattern {p:?}"))
                .chain(collections.iter().map(|c| {
                    let meant = closest(c, archive_collections)
                        .map(|m| format!(" (did you mean {}?)", escape_name(m.as_bytes())))
                        .unwrap_or_default();
                    format!("collection {c}{meant}")
                }))
                .collect();
            format!(
                "invalid argument: selected but not in the archive (no file matches): {}",
                missing.join(", ")
            )
        }
        // A mistyped DB.COLL of dump, find or diff: the closest name the backup holds.
        Error::NoSuchCollection {
            namespace,
            archive_collections,
        } => {
            let meant = closest(namespace, archive_collections)
                .map(|m| format!(" (did you mean {}?)", escape_name(m.as_bytes())))
                .unwrap_or_default();
            format!("{e}{meant}")
        }
        // A password file's line that ends in blanks: they are part of the password.
        Error::WrongPassword { .. } => {
            format!(
                "{e}{}",
                password::trailing_blanks_hint().unwrap_or_default()
            )
        }
        // What to do: the input is not what the appliance made (cut short, as a download cut
        // off is, or damaged), or the md5 given is another backup's. A cut-off download with
        // an md5 ends here too (the mismatch is said first), so the question stays.
        Error::ChecksumMismatch { expected, .. } => format!(
            "{e} ({MD5_ADVICE}, or check that {expected} is this backup's md5, as \
             `a0cli backup-status` reports it)"
        ),
        // Without an md5 (a wrong one would have said so first), a cut-off gzip stream is
        // most likely an incomplete download.
        Error::Truncated { .. } => format!(
            "{e} (the file ends early: an incomplete download? check it against the appliance's \
             md5 with --status or --md5)"
        ),
        Error::FormatNeeded => {
            "unsupported format: the file has an openssl Salted__ header, which does not say \
             whether MD5 or PBKDF2 \
             made its key: give --format openssl-md5 or --format openssl-pbkdf2"
                .to_string()
        }
        // A failed cleanup after another error: that error in the command's words.
        Error::Leftover {
            after: Some(cause), ..
        } => e
            .to_string()
            .replacen(&cause.to_string(), &message(cause), 1),
        other => other.to_string(),
    }
}

/// The name among `names` closest to `given`, if one is close enough to be a typing
/// mistake: at most a third of `given`'s characters (one at least) changed, transposed,
/// added or left out (`auth0.user`, `auth0.usres`, `Auth0.users`, `auth.users` for
/// `auth0.users`); the first of equally close ones.
fn closest<'n>(given: &str, names: &'n [String]) -> Option<&'n str> {
    let most = (given.chars().count() / 3).max(1);
    names
        .iter()
        .map(|n| (strsim::damerau_levenshtein(given, n), n))
        .filter(|&(d, _)| d <= most)
        .min_by_key(|&(d, _)| d)
        .map(|(_, n)| n.as_str())
}

/// The advice after an md5 mismatch, whatever else it says.
const MD5_ADVICE: &str = "an incomplete download? download the backup again";

/// `e` as `to_failure` makes it, and, for an md5 mismatch, what the command wrote before it
/// (`wrote`: "nothing was written into DEST") said right after the two digests. Only for `e`
/// itself: a mismatch followed by a failed cleanup has left something behind.
pub fn after_mismatch(e: Error, wrote: &str, to_failure: impl FnOnce(Error) -> Failure) -> Failure {
    let digests = matches!(e, Error::ChecksumMismatch { .. }).then(|| e.to_string());
    let mut f = to_failure(e);
    if let Some(d) = digests {
        f.message = f.message.replacen(&d, &format!("{d}: {wrote}"), 1);
    }
    f
}

/// `e`, from writing `output` (a file or DEST): a parent directory that is missing (or is not
/// a directory) is reported by `output`'s own path first, then that parent.
pub fn writing(output: &Path, e: Error) -> Failure {
    let missing_parent = match e.primary() {
        Error::Path { path, source } => {
            matches!(
                source.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) && path != output
                && !path.as_os_str().is_empty()
                && output.starts_with(path)
        }
        _ => false,
    };
    let mut f = Failure::from(e);
    if missing_parent {
        f.message = format!("{}: its parent {}", output.display(), f.message);
    }
    f
}

pub fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: exit::USAGE,
        message: message.into(),
    }
}

pub fn io_failure(what: &Path, e: io::Error) -> Failure {
    Failure::from(Error::Path {
        path: what.to_path_buf(),
        source: e,
    })
}
