//! An extraction that writes nothing: the same parser and the same policy as [`unpack`], with
//! each accepted entry (and a regular file's data) handed to the caller instead of a file
//! system. This is what checking a backup without restoring it runs on.
//!
//! [`unpack`]: super::unpack

use std::io::{self, Read};

use crate::error::{Error, Input, Result};

use super::policy::{Action, PathPolicy};
use super::tar_reader::TarReader;
use super::unpack::drain_counting;
use super::{EntryKind, UnpackOptions, UnpackSummary};

/// An entry restore would create, as the dry run meets it.
pub(crate) struct DryRunEntry<'a> {
    /// The name as stored in the archive.
    pub(crate) path: &'a [u8],
    pub(crate) kind: EntryKind,
    /// Size of its data (a regular file's content; 0 for the others).
    pub(crate) size: u64,
    /// Its data; whatever the callback leaves unread is skipped.
    pub(crate) data: &'a mut dyn Read,
}

/// What restore would do.
#[derive(Debug)]
pub(crate) struct DryRun {
    /// Counts as [`unpack`](super::unpack) would report them, up to the refusal if any.
    pub(crate) summary: UnpackSummary,
    /// Why restore would refuse the archive, if it would ([`Error::UnsafeEntry`],
    /// [`Error::LimitExceeded`] or [`Error::Malformed`] for a damaged tar stream).
    pub(crate) refusal: Option<Error>,
}

/// One entry's data as a reader.
struct EntryData<'r, R> {
    reader: &'r mut TarReader<R>,
}

impl<R: Read> Read for EntryData<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read_data(buf).map_err(io::Error::from)
    }
}

/// Reads an uncompressed tar stream to its end under `options`' policy, calling `each` for
/// every entry restore would create. A refusal by the policy or the parser ends the
/// walk (restore stops there too) and is reported in [`DryRun::refusal`]; the stream is then
/// read to its end regardless, so that the layers under it (gzip, md5) see all of it.
///
/// # Errors
///
/// Errors from the stream itself (I/O, a damaged gzip layer) and from `each_file`.
pub(crate) fn dry_run<R: Read>(
    tar_stream: R,
    options: &UnpackOptions,
    mut each: impl FnMut(DryRunEntry<'_>) -> Result<()>,
) -> Result<(DryRun, R)> {
    let mut reader = TarReader::new(tar_stream, options.max_path_len, options.max_entries);
    let mut policy = PathPolicy::new(options);
    let mut summary = UnpackSummary::default();
    let refusal = loop {
        let entry = match reader.next_entry() {
            Ok(Some(e)) => e,
            Ok(None) => break None,
            Err(e) if is_refusal(&e) => break Some(e),
            Err(e) => return Err(e),
        };
        let plan = match policy.plan(&entry) {
            Ok(Some(p)) => p,
            Ok(None) => continue,
            Err(e) => break Some(e),
        };
        summary.directories += plan.new_parents.len() as u64;
        let size = match plan.action {
            Action::Dir { create } => {
                summary.directories += u64::from(create);
                0
            }
            Action::Symlink { .. } | Action::Hardlink { .. } => {
                summary.links += 1;
                0
            }
            Action::File => {
                summary.files += 1;
                summary.bytes += entry.size;
                entry.size
            }
        };
        let mut data = EntryData {
            reader: &mut reader,
        };
        let visited = each(DryRunEntry {
            path: &entry.path,
            kind: entry.kind,
            size,
            data: &mut data,
        });
        match visited {
            Ok(()) => {}
            Err(e) if is_refusal(&e) => break Some(e),
            Err(e) => return Err(e),
        }
    };
    // A selection that matched nothing makes restore fail at the end of the archive too.
    let mut refusal = refusal.or_else(|| policy.selection_found().err());
    summary.skipped = policy.skipped();
    let (mut rest, warnings) = reader.into_parts();
    summary.warnings.extend(warnings);
    if refusal.is_none() {
        // As restore reads what follows the archive: the same count, the same limit.
        match drain_counting(&mut rest, options.max_total_bytes) {
            Ok(n) => summary.trailing_bytes = n,
            Err(e) if is_refusal(&e) => refusal = Some(e),
            Err(e) => return Err(e),
        }
    }
    io::copy(&mut rest, &mut io::sink()).map_err(Error::from)?;
    Ok((DryRun { summary, refusal }, rest))
}

/// Errors that mean "restore would refuse this archive" rather than "the input failed".
fn is_refusal(e: &Error) -> bool {
    matches!(
        e,
        Error::UnsafeEntry { .. }
            | Error::LimitExceeded { .. }
            | Error::Malformed {
                input: Input::Tar,
                ..
            }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar(entries: &[(&str, u8, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, flag, data) in entries {
            let mut h = tar::Header::new_ustar();
            h.set_path(name).unwrap();
            h.set_size(data.len() as u64);
            h.set_entry_type(tar::EntryType::new(*flag));
            h.set_mode(0o644);
            h.set_cksum();
            out.extend_from_slice(h.as_bytes());
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.extend_from_slice(&[0; 1024]);
        out
    }

    #[test]
    fn files_are_handed_over_and_nothing_is_written() {
        let t = tar(&[("d/a.bson", b'0', b"abc"), ("d/b.bson", b'0', b"de")]);
        let mut seen = Vec::new();
        let (run, _) = dry_run(&t[..], &UnpackOptions::new(), |f| {
            let mut s = String::new();
            f.data.read_to_string(&mut s).unwrap();
            seen.push((f.path.to_vec(), f.size, s));
            Ok(())
        })
        .unwrap();
        assert!(run.refusal.is_none());
        assert_eq!(
            (
                run.summary.files,
                run.summary.directories,
                run.summary.bytes
            ),
            (2, 1, 5)
        );
        // The directory `d` is implied, so the entries seen are the two files.
        assert_eq!(seen[1], (b"d/b.bson".to_vec(), 2, "de".to_string()));
    }

    #[test]
    fn a_refusal_is_reported_and_the_stream_still_read_to_its_end() {
        let t = tar(&[("a", b'0', b"1"), ("a", b'0', b"2"), ("b", b'0', b"3")]);
        let (run, mut rest) = dry_run(&t[..], &UnpackOptions::new(), |_| Ok(())).unwrap();
        assert!(
            matches!(run.refusal, Some(Error::UnsafeEntry { .. })),
            "{run:?}"
        );
        assert_eq!(run.summary.files, 1);
        assert_eq!(rest.read(&mut [0u8; 1]).unwrap(), 0);
    }
}
