//! Checking a whole backup in one streaming pass, writing nothing: the md5 of the file,
//! decryption, every gzip member's CRC and length, the tar stream under restore's own parser
//! and safety policy (as a dry run), and the mongodump inside through [`Checker`].
//!
//! The work is spread as a restore's is (`pipeline::hand_off`): the md5 on a thread of its own,
//! decrypt and inflate on the calling thread, and the tar walk with the BSON validation on a
//! third.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::archive::{dry_run, DryRun, UnpackOptions};
use crate::checksum::Md5Digest;
use crate::error::{Error, Result};
use crate::gzip::{GzipReader, NotGzip};
use crate::kdf::Password;
use crate::pipeline::{hand_off, MaybeHashed};
use crate::stream::{DecryptOptions, DecryptReader};

use super::report::Rows;
use super::{CheckReport, Checker, CollectionReport, Refusal, Totals};

/// What [`check_file`] and [`check_reader`] compare against and read with.
///
/// # Examples
///
/// ```
/// use a0backup::check::CheckOptions;
/// let o = CheckOptions::new().expected_md5(Some("d41d8cd98f00b204e9800998ecf8427e".parse()?));
/// assert!(o.expected_md5.is_some());
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CheckOptions {
    /// The MD5 the file must have (`a0cli backup-status`'s); a mismatch is
    /// [`Error::ChecksumMismatch`], as for a restore.
    pub expected_md5: Option<Md5Digest>,
    /// How to decrypt (the format, when it cannot be detected).
    pub decrypt: DecryptOptions,
    /// The restore's limits and policy, judged as restore would judge them.
    pub unpack: UnpackOptions,
}

impl CheckOptions {
    /// No md5 to compare; default decryption and policy.
    pub fn new() -> CheckOptions {
        CheckOptions::default()
    }

    /// Compare the file's MD5 with this one.
    pub fn expected_md5(mut self, md5: Option<Md5Digest>) -> Self {
        self.expected_md5 = md5;
        self
    }

    /// Decrypt with these options.
    pub fn decrypt_options(mut self, options: DecryptOptions) -> Self {
        self.decrypt = options;
        self
    }

    /// Judge the archive under this policy.
    pub fn unpack(mut self, options: UnpackOptions) -> Self {
        self.unpack = options;
        self
    }
}

/// Checks a backup file; see [`check_reader`].
///
/// # Errors
///
/// As [`check_reader`], and [`Error::Path`] when the file cannot be opened.
///
/// # Examples
///
/// ```
/// use a0backup::archive::{pack, PackOptions};
/// use a0backup::check::{check_file, CheckOptions};
/// let tree = tempfile::tempdir()?;
/// std::fs::create_dir(tree.path().join("auth0"))?;
/// std::fs::write(tree.path().join("auth0/users.bson"), b"\x05\0\0\0\0")?;
/// std::fs::write(tree.path().join("auth0/users.metadata.json"), br#"{"indexes":[]}"#)?;
/// let out = tempfile::tempdir()?;
/// let backup = out.path().join("b.tar.gz");
/// let summary = pack(tree.path(), std::fs::File::create(&backup)?, &PackOptions::new().prefix("dump"))?;
/// let report = check_file(&backup, None, &CheckOptions::new().expected_md5(Some(summary.md5)))?;
/// assert!(report.restorable && report.collections_ok);
/// assert_eq!(report.totals.documents, 1);
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn check_file(
    path: &Path,
    password: Option<&Password>,
    options: &CheckOptions,
) -> Result<CheckReport> {
    let file = File::open(path).map_err(Error::path(path))?;
    check_reader(file, password, options)
}

/// Checks a backup (`.tar.gz.enc` with a password, `.tar.gz` without) as restore would read
/// it, without writing anything. The report says whether restore would accept the archive
/// ([`CheckReport::restorable`], and why not in [`CheckReport::refusal`]) and what the
/// mongodump inside holds, collection by collection.
///
/// The report holds every collection's row; [`check_stream`] hands them over one at a time
/// instead, in bounded memory however many collections the backup holds.
///
/// # Errors
///
/// [`Error::ChecksumMismatch`] when the file's MD5 is not the expected one (checked over the
/// whole input, whatever else went wrong: a damaged download explains the rest);
/// [`Error::WrongPassword`]; [`Error::Malformed`] for a damaged or non-gzip stream; I/O errors.
/// An archive that restore would refuse is a report with `restorable == false`, not an error.
pub fn check_reader<R: Read>(
    input: R,
    password: Option<&Password>,
    options: &CheckOptions,
) -> Result<CheckReport> {
    check_stream(input, password, options)?.collect_rows()
}

/// A check's verdict ([`report`](Self::report)), with the collections' rows still to come: an
/// iterator of [`CollectionReport`]s in archive-directory and name order, read back from the
/// check's table (memory or its temporary file, see the [module docs](super)).
/// [`finish`](Self::finish) then gives the totals.
///
/// # Examples
///
/// ```
/// use a0backup::archive::{pack, PackOptions};
/// use a0backup::check::{check_stream, CheckOptions};
/// let tree = tempfile::tempdir()?;
/// std::fs::create_dir(tree.path().join("auth0"))?;
/// std::fs::write(tree.path().join("auth0/users.bson"), b"\x05\0\0\0\0")?;
/// std::fs::write(tree.path().join("auth0/users.metadata.json"), br#"{"indexes":[]}"#)?;
/// let mut gz = Vec::new();
/// pack(tree.path(), &mut gz, &PackOptions::new().prefix("dump"))?;
/// let mut checked = check_stream(&gz[..], None, &CheckOptions::new())?;
/// assert!(checked.report().restorable);
/// let names: Vec<String> = checked.by_ref().map(|row| row.map(|r| r.collection)).collect::<Result<_, _>>()?;
/// assert_eq!(names, ["users"]);
/// let report = checked.finish()?;
/// assert!(report.collections.is_empty() && report.collections_ok);
/// assert_eq!(report.totals.documents, 1);
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug)]
pub struct Checked {
    report: CheckReport,
    rows: Rows,
}

impl Checked {
    /// What is known before the rows: whether restore would accept the archive and why not,
    /// the md5, the warnings, the entry counts. Its totals and `collections_ok` are filled in
    /// by [`finish`](Self::finish).
    pub fn report(&self) -> &CheckReport {
        &self.report
    }

    /// Reads the rows not read yet and returns the report with the totals and
    /// `collections_ok` over all of them (and no rows: they were handed over).
    ///
    /// # Errors
    ///
    /// An I/O error reading back the check's temporary file.
    pub fn finish(mut self) -> Result<CheckReport> {
        for row in self.rows.by_ref() {
            row?;
        }
        self.report.totals = self.rows.totals.clone();
        self.report.collections_ok = self.rows.all_ok;
        Ok(self.report)
    }

    fn collect_rows(mut self) -> Result<CheckReport> {
        let rows = self.rows.by_ref().collect::<Result<Vec<_>>>()?;
        let mut report = self.finish()?;
        report.collections = rows;
        Ok(report)
    }
}

impl Iterator for Checked {
    type Item = Result<CollectionReport>;

    fn next(&mut self) -> Option<Self::Item> {
        self.rows.next()
    }
}

/// [`check_reader`] with the rows handed over one at a time (see [`Checked`]): the memory of a
/// check is then bounded (the archive model's 24 MiB, one BSON document or metadata string of
/// at most 16 MiB, the table's 8 MiB and buffers: under 64 MiB) whatever the backup holds.
///
/// # Errors
///
/// As [`check_reader`].
pub fn check_stream<R: Read>(
    input: R,
    password: Option<&Password>,
    options: &CheckOptions,
) -> Result<Checked> {
    let mut source = MaybeHashed::new(input, options.expected_md5.is_some());
    let inspected = match password {
        Some(pw) => {
            let decrypt = options.decrypt.expect_gzip(true);
            DecryptReader::new(&mut source, pw, &decrypt)
                .and_then(|r| inspect(r, NotGzip::WrongPassword, &options.unpack))
        }
        None => inspect(&mut source, NotGzip::Malformed, &options.unpack),
    };
    // The md5 covers every byte, also when the archive stopped making sense half-way.
    io::copy(&mut source, &mut io::sink())?;
    let (md5, _) = source.finish()?;
    if let (Some(expected), Some(actual)) = (options.expected_md5, md5) {
        actual.verify(&expected)?;
    }
    let (run, checker, trailing_zeros) = inspected?;
    let (mut report, rows) = checker.into_rows()?;
    report.md5 = md5;
    report.restorable = run.refusal.is_none();
    report.refusal = run.refusal.as_ref().map(Error::to_string);
    report.refusal_error = run.refusal.map(Refusal::new);
    report.warnings = run.summary.warnings;
    if trailing_zeros > 0 {
        report.warnings.push(format!(
            "{trailing_zeros} zero bytes after the end of the gzip stream were ignored"
        ));
    }
    Ok(Checked { report, rows })
}

/// Inflates `source` on this thread and walks the tar on another; returns the walk's verdict,
/// the checker (its rows not yet read) and the zero bytes after the gzip stream.
fn inspect<S: Read>(
    source: S,
    not_gzip: NotGzip,
    unpack: &UnpackOptions,
) -> Result<(DryRun, Checker, u64)> {
    let mut gz = GzipReader::with(source, &unpack.inflate, not_gzip)?;
    let (run, checker) = hand_off(
        &mut gz,
        "a0backup-check",
        |reader| {
            let mut checker = Checker::new();
            let (run, _) = dry_run(reader, unpack, |e| {
                checker.entry(e.path, e.kind, e.size, e.data)
            })?;
            Ok((run, checker))
        },
        || Ok(()),
    )?;
    Ok((run, checker, gz.trailing_zeros()))
}

/// The collections of a `.tar.gz` stream (decrypt first with
/// [`DecryptReader`](crate::DecryptReader)) from the archive's headers alone: names and file
/// sizes, no documents read, in the order and bounded memory of [`check_stream`]'s rows.
/// `each` gets every row; the totals (collections, orphans) are returned.
///
/// # Errors
///
/// [`Error::Malformed`] for a damaged gzip or tar stream; what `each` returns.
///
/// # Examples
///
/// ```
/// use a0backup::archive::{pack, PackOptions};
/// use a0backup::check::list_collections;
/// let tree = tempfile::tempdir()?;
/// std::fs::create_dir(tree.path().join("auth0"))?;
/// std::fs::write(tree.path().join("auth0/users.bson"), b"\x05\0\0\0\0")?;
/// let mut gz = Vec::new();
/// pack(tree.path(), &mut gz, &PackOptions::new().prefix("dump"))?;
/// let mut rows = Vec::new();
/// let totals = list_collections(&gz[..], |row| Ok(rows.push(row)))?;
/// assert_eq!((rows[0].bson_file_bytes, totals.orphans), (5, 1));
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn list_collections<R: Read>(
    gz: R,
    mut each: impl FnMut(CollectionReport) -> Result<()>,
) -> Result<Totals> {
    let mut checker = Checker::headers_only();
    let mut failed = None;
    crate::archive::list(gz, |e| {
        if failed.is_none() {
            let r = checker.entry(path_bytes(&e.path), e.kind, e.size, &mut io::empty());
            failed = r.err();
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    let (_, mut rows) = checker.into_rows()?;
    for row in rows.by_ref() {
        each(row?)?;
    }
    Ok(rows.totals)
}

fn path_bytes(p: &Path) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes()
}
