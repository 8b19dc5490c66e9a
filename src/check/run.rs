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
use crate::io_ext::{Counting, Labeled};
use crate::kdf::{Format, Password};
use crate::pipeline::hand_off;
use crate::progress::Progress;
use crate::source::Source;
use crate::stream::DecryptOptions;

use super::{CheckReport, Checker, CollectionReport, Collections, Refusal};

/// Options of [`check_file`], [`check_reader`] and [`check_stream`]: what to compare against,
/// how to read, and the restore policy to judge the archive by.
///
/// # Examples
///
/// ```
/// use a0backup::archive::UnpackOptions;
/// use a0backup::check::CheckOptions;
/// let md5 = "d41d8cd98f00b204e9800998ecf8427e".parse()?;
/// let options = CheckOptions::new()
///     .expected_md5(md5)
///     .unpack(UnpackOptions::new().allow_symlinks(true));
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct CheckOptions<'a> {
    expected_md5: Option<Md5Digest>,
    format: Option<Format>,
    unpack: UnpackOptions,
    progress: Progress<'a>,
    input_len: Option<u64>,
}

impl<'a> CheckOptions<'a> {
    /// No md5 to compare, the format detected, restore's default policy.
    pub fn new() -> Self {
        CheckOptions::default()
    }

    /// The MD5 the file must have (`a0cli backup-status`'s); a mismatch is
    /// [`Error::ChecksumMismatch`], as for a restore.
    pub fn expected_md5(mut self, md5: Md5Digest) -> Self {
        self.expected_md5 = Some(md5);
        self
    }

    /// Read the encrypted input as `format` instead of detecting it.
    pub fn format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }

    /// Judge the archive under this policy, as a restore with it would.
    pub fn unpack(mut self, options: UnpackOptions) -> Self {
        self.unpack = options;
        self
    }

    /// Where to report progress (bytes of input read, and the input's length when known);
    /// returning `false` cancels.
    pub fn progress(mut self, progress: Progress<'a>) -> Self {
        self.progress = progress;
        self
    }

    /// The input's length, for progress reports, when reading a stream whose length cannot be
    /// asked ([`check_file`] asks the file).
    pub fn input_len(mut self, bytes: u64) -> Self {
        self.input_len = Some(bytes);
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
/// use a0backup::pack::{pack_writer, PackOptions};
/// use a0backup::check::{check_file, CheckOptions};
/// let tree = tempfile::tempdir()?;
/// std::fs::create_dir(tree.path().join("auth0"))?;
/// std::fs::write(tree.path().join("auth0/users.bson"), b"\x05\0\0\0\0")?;
/// std::fs::write(tree.path().join("auth0/users.metadata.json"), br#"{"indexes":[]}"#)?;
/// let out = tempfile::tempdir()?;
/// let backup = out.path().join("b.tar.gz");
/// let summary = pack_writer(tree.path(), std::fs::File::create(&backup)?, None, PackOptions::new().prefix("dump"))?;
/// let report = check_file(&backup, None, CheckOptions::new().expected_md5(summary.md5))?;
/// assert!(report.restorable && report.collections_ok);
/// assert_eq!(report.totals.documents, 1);
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn check_file(
    path: &Path,
    password: Option<&Password>,
    mut options: CheckOptions<'_>,
) -> Result<CheckReport> {
    let file = File::open(path).map_err(Error::path(path))?;
    if let Ok(m) = file.metadata() {
        options.input_len = Some(m.len());
    }
    check_reader(Labeled::new(file, path), password, options)
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
    options: CheckOptions<'_>,
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
/// use a0backup::pack::{pack_writer, PackOptions};
/// use a0backup::check::{check_stream, CheckOptions};
/// let tree = tempfile::tempdir()?;
/// std::fs::create_dir(tree.path().join("auth0"))?;
/// std::fs::write(tree.path().join("auth0/users.bson"), b"\x05\0\0\0\0")?;
/// std::fs::write(tree.path().join("auth0/users.metadata.json"), br#"{"indexes":[]}"#)?;
/// let mut gz = Vec::new();
/// pack_writer(tree.path(), &mut gz, None, PackOptions::new().prefix("dump"))?;
/// let mut checked = check_stream(&gz[..], None, CheckOptions::new())?;
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
    rows: Collections,
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
        self.report.totals = self.rows.totals().clone();
        self.report.collections_ok = self.rows.all_ok();
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
    mut options: CheckOptions<'_>,
) -> Result<Checked> {
    let counting = Counting::new(input);
    let count = counting.count();
    let decrypt = match options.format {
        Some(f) => DecryptOptions::new().expect_gzip(true).format(f),
        None => DecryptOptions::new().expect_gzip(true),
    };
    let total = options.input_len;
    let progress = &mut options.progress;
    let unpack = &options.unpack;
    let consumed =
        Source::new(counting, options.expected_md5, false).consume(password, decrypt, |plain| {
            let not_gzip = plain.not_gzip();
            let mut report = || progress.report(count.get(), total);
            Ok(inspect(plain, not_gzip, unpack, &mut report))
        })?;
    // The md5 covers every byte, also when the archive stopped making sense half-way: a
    // damaged download explains the rest.
    let md5 = consumed.md5?;
    let (run, checker, trailing_zeros) = consumed.value?;
    let (mut report, rows) = checker.into_rows()?;
    report.md5 = md5;
    report.restorable = run.refusal.is_none();
    report.refusal = run.refusal.map(Refusal::new);
    report.warnings = run.summary.warnings;
    if run.summary.trailing_bytes > 0 {
        // Restore's warning, in its words: hidden data (a whole tar entry) is seen, not run.
        report.warnings.push(format!(
            "{} non-zero bytes after the end of the archive were ignored",
            run.summary.trailing_bytes
        ));
    }
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
    progress: &mut dyn FnMut() -> Result<()>,
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
        progress,
    )?;
    Ok((run, checker, gz.trailing_zeros()))
}

/// The collections of a `.tar.gz` stream (decrypt first with
/// [`DecryptReader`](crate::DecryptReader)) from the archive's headers alone: names and file
/// sizes, no documents read, in the order and bounded memory of [`check_stream`]'s rows. The
/// whole archive is read before the first row (a collection's files may be anywhere in it).
///
/// # Errors
///
/// [`Error::Malformed`] or [`Error::Truncated`] for a damaged gzip or tar stream; an I/O
/// error of the table's temporary file.
///
/// # Examples
///
/// ```
/// use a0backup::check::list_collections;
/// use a0backup::pack::{pack_writer, PackOptions};
/// let tree = tempfile::tempdir()?;
/// std::fs::create_dir(tree.path().join("auth0"))?;
/// std::fs::write(tree.path().join("auth0/users.bson"), b"\x05\0\0\0\0")?;
/// let mut gz = Vec::new();
/// pack_writer(tree.path(), &mut gz, None, PackOptions::new().prefix("dump"))?;
/// let mut collections = list_collections(&gz[..])?;
/// let rows = collections.by_ref().collect::<Result<Vec<_>, _>>()?;
/// assert_eq!((rows[0].bson_file_bytes, collections.totals().orphans), (5, 1));
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn list_collections<R: Read>(gz: R) -> Result<Collections> {
    let mut checker = Checker::headers_only();
    for entry in crate::archive::list(gz, UnpackOptions::new())? {
        let e = entry?;
        checker.entry(path_bytes(&e.path), e.kind, e.size, &mut io::empty())?;
    }
    Ok(checker.into_rows()?.1)
}

fn path_bytes(p: &Path) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes()
}
