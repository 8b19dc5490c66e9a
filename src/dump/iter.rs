//! The dump itself: a reading thread walks the backup ([`source::walk`]) and hands the
//! selected documents over a bounded channel, in batches, to the [`Documents`] iterator.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::archive::escape_name;
use crate::check::metadata::validate_metadata;
use crate::check::names::Role;
use crate::error::{Error, Input, Result};
use crate::kdf::Password;
use crate::progress::Progress;
use crate::query::Filter;

use super::docs::DocReader;
use super::source::{self, Flow, Opened, WalkOptions};
use super::{open_checked, Document, DumpOptions, DumpSummary, MetNames, Namespace};

/// A batch is handed over once it holds this many bytes of documents (or [`BATCH_DOCS`]).
const BATCH_BYTES: usize = 256 * 1024;
const BATCH_DOCS: usize = 1024;
/// Batches in flight between the reading thread and the iterator.
const IN_FLIGHT: usize = 4;
/// The most bytes of a `.metadata.json` read (as `check` reads it).
pub(crate) const METADATA_MAX: u64 = 16 << 20;

/// The documents of a dump, in the order of the collection's `.bson`, as they are read (see
/// the [module docs](super)). The last item is an error if the dump fails ([`Error`]; a
/// damaged document is [`Error::DamagedDocument`] after the documents before it);
/// [`finish`](Self::finish) gives the [`DumpSummary`]. Dropping it stops the reading thread.
///
/// # Examples
///
/// See the [module docs](super).
pub struct Documents<'a> {
    rx: Option<Receiver<Vec<Document>>>,
    batch: std::vec::IntoIter<Document>,
    thread: Option<JoinHandle<Result<DumpSummary>>>,
    /// The thread's result, once joined (`None` after it was handed out as an error).
    end: Option<Result<DumpSummary>>,
    cancel: Arc<AtomicBool>,
    read: Arc<AtomicU64>,
    progress: Progress<'a>,
    total: Option<u64>,
    handed: u64,
    md5: Option<crate::Md5Digest>,
}

impl std::fmt::Debug for Documents<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Documents")
            .field("handed", &self.handed)
            .finish_non_exhaustive()
    }
}

impl Documents<'_> {
    /// Stops reading (documents not yet taken are dropped, and the archive is left there) and
    /// returns the summary: what was read, and how many documents were taken. After
    /// [`next`](Iterator::next) returned the dump's error, the summary only counts the
    /// documents taken before it.
    ///
    /// # Errors
    ///
    /// The dump's error, if it failed and `next` did not return it yet;
    /// [`Error::ChecksumMismatch`] when the file is not the expected one (the rest is read for
    /// the md5 even when stopping early).
    pub fn finish(mut self) -> Result<DumpSummary> {
        self.rx = None; // the reading thread stops at its next batch
        self.join();
        let mut summary = self.end.take().unwrap_or(Ok(DumpSummary::default()))?;
        summary.documents = self.handed;
        summary.md5 = summary.md5.or(self.md5);
        Ok(summary)
    }

    fn join(&mut self) {
        if let Some(t) = self.thread.take() {
            self.end = Some(t.join().unwrap_or_else(|_| {
                Err(Error::Io(std::io::Error::other("the dump thread panicked")))
            }));
        }
    }
}

impl Iterator for Documents<'_> {
    type Item = Result<Document>;

    fn next(&mut self) -> Option<Result<Document>> {
        loop {
            if let Some(doc) = self.batch.next() {
                self.handed += 1;
                return Some(Ok(doc));
            }
            let received = self.rx.as_ref().map(|rx| rx.recv());
            match received {
                Some(Ok(batch)) => {
                    let read = self.read.load(Ordering::Relaxed);
                    if let Err(e) = self.progress.report(read, self.total) {
                        self.cancel.store(true, Ordering::Relaxed);
                        self.rx = None;
                        self.join();
                        self.end = Some(Ok(DumpSummary::default()));
                        return Some(Err(e));
                    }
                    self.batch = batch.into_iter();
                }
                Some(Err(_)) => {
                    // The thread ended: its result says how.
                    self.rx = None;
                    self.join();
                    if let Some(Err(_)) = &self.end {
                        let failed = self.end.replace(Ok(DumpSummary::default()));
                        return failed.and_then(|r| r.err()).map(Err);
                    }
                    return None;
                }
                None => return None,
            }
        }
    }
}

impl Drop for Documents<'_> {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.cancel.store(true, Ordering::Relaxed);
            self.rx = None;
            self.join();
        }
    }
}

/// Dumps the collection `namespace` of the backup file at `path`; see [`dump_reader`]. With
/// an expected md5, the file's md5 is checked before the first document is read (see the
/// [module docs](super)).
///
/// # Errors
///
/// As [`dump_reader`]; [`Error::Path`] when the file cannot be opened or read;
/// [`Error::ChecksumMismatch`] before any document.
///
/// # Examples
///
/// ```no_run
/// use a0backup::dump::{dump_file, DumpOptions, Namespace};
/// use a0backup::Password;
/// let ns = Namespace::parse("auth0.users")?;
/// let pw = Password::from("Passw0rd");
/// for doc in dump_file("backup.tar.gz.enc".as_ref(), &ns, Some(&pw), DumpOptions::new())? {
///     println!("{}", a0backup::extjson::to_string(&doc?.bytes, Default::default())?);
/// }
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn dump_file<'a>(
    path: &Path,
    namespace: &Namespace,
    password: Option<&Password>,
    mut options: DumpOptions<'a>,
) -> Result<Documents<'a>> {
    let (file, md5) = open_checked(path, options.expected_md5.take())?;
    if options.input_len.is_none() {
        options.input_len = file.metadata().ok().map(|m| m.len());
    }
    let mut documents = dump_reader(file, namespace, password, options)?;
    documents.md5 = md5;
    Ok(documents)
}

/// Dumps the collection `namespace` of a backup (`.tar.gz.enc` with a password, `.tar.gz`
/// without) read from `input`, on a thread of its own (see the [module docs](super)).
///
/// # Errors
///
/// Here: only the failure to start the reading thread. As the iterator's last item (its only
/// one when the input cannot be opened): [`Error::WrongPassword`] or a format error from the
/// encryption header; [`Error::NoSuchCollection`] when the archive holds no file of the
/// collection; [`Error::DamagedDocument`]; restore's refusal of the archive; a damaged gzip or
/// tar stream; [`Error::ChecksumMismatch`]; [`Error::Cancelled`]; I/O errors.
///
/// # Examples
///
/// See the [module docs](super).
pub fn dump_reader<'a, R: Read + Send + 'static>(
    input: R,
    namespace: &Namespace,
    password: Option<&Password>,
    options: DumpOptions<'a>,
) -> Result<Documents<'a>> {
    let read = Arc::new(AtomicU64::new(0));
    let cancel = Arc::new(AtomicBool::new(false));
    let source = options.source();
    let opened = source::open(input, password, &source, read.clone(), cancel.clone());
    let (tx, rx) = sync_channel(IN_FLIGHT);
    let target = namespace.clone();
    let (filter, limit) = (options.filter, options.limit);
    let thread = std::thread::Builder::new()
        .name("a0backup-dump-read".into())
        .spawn(move || {
            produce(opened, &source, &target, filter.as_ref(), limit, |batch| {
                tx.send(batch).is_ok()
            })
        })
        .map_err(Error::Io)?;
    Ok(Documents {
        rx: Some(rx),
        batch: Vec::new().into_iter(),
        thread: Some(thread),
        end: None,
        cancel,
        read,
        progress: options.progress,
        total: options.input_len,
        handed: 0,
        md5: None,
    })
}

/// What the reading side keeps of the collection's files.
#[derive(Default)]
struct Seen {
    bson: bool,
    metadata: bool,
    summary: DumpSummary,
    /// The other collections, for the error when the archive holds none of `target`.
    met: MetNames,
    /// The collection's metadata file is damaged: the error, after the documents.
    metadata_damage: Option<Error>,
}

/// Walks the backup and hands the selected documents of `target` to `emit` in batches
/// (`false` from it: nobody takes them any more; the walk stops).
pub(crate) fn produce<R: Read>(
    opened: Opened<R>,
    source: &WalkOptions,
    target: &Namespace,
    filter: Option<&Filter>,
    limit: Option<u64>,
    mut emit: impl FnMut(Vec<Document>) -> bool + Send,
) -> Result<DumpSummary> {
    let mut seen = Seen::default();
    let shown = escape_name(target.to_string().as_bytes());
    let limit = limit.unwrap_or(u64::MAX);
    let walked = source::walk(opened, source, |entry| {
        if entry.namespace != *target {
            seen.met.note(&entry.namespace);
            return Ok(Flow::Continue);
        }
        match entry.role {
            Role::Bson if !seen.bson => {
                seen.bson = true;
                let mut docs = DocReader::new(entry.data, shown.clone());
                let mut batch = Vec::new();
                let mut bytes = 0;
                let mut handed = seen.summary.documents;
                let read = loop {
                    if handed >= limit {
                        break Ok(true);
                    }
                    let doc = match docs.next_doc() {
                        Ok(Some(doc)) => doc,
                        Ok(None) => break Ok(false),
                        Err(e) => break Err(e),
                    };
                    seen.summary.scanned += 1;
                    let selected = match filter {
                        Some(f) => f.matches(doc.bytes)?,
                        None => true,
                    };
                    if !selected {
                        continue;
                    }
                    handed += 1;
                    bytes += doc.bytes.len();
                    batch.push(Document {
                        index: doc.index,
                        offset: doc.offset,
                        bytes: doc.bytes.to_vec(),
                    });
                    if bytes >= BATCH_BYTES || batch.len() >= BATCH_DOCS {
                        if !emit(std::mem::take(&mut batch)) {
                            return Ok(Flow::Stop);
                        }
                        bytes = 0;
                    }
                };
                seen.summary.documents = handed;
                seen.summary.bytes = docs.offset();
                // The documents before a damaged one are handed over before its error.
                if !batch.is_empty() && !emit(batch) {
                    return Ok(Flow::Stop);
                }
                let limited = read?;
                Ok(if limited || seen.metadata {
                    Flow::Stop
                } else {
                    Flow::Continue
                })
            }
            Role::Metadata if !seen.metadata => {
                seen.metadata = true;
                match read_metadata(entry.data, &shown) {
                    Ok(text) => seen.summary.metadata = Some(text),
                    Err(e) if e.kind() == crate::error::ErrorKind::Malformed => {
                        seen.metadata_damage = Some(e)
                    }
                    Err(e) => return Err(e),
                }
                Ok(if seen.bson {
                    Flow::Stop
                } else {
                    Flow::Continue
                })
            }
            _ => Ok(Flow::Continue),
        }
    })?;
    if !seen.bson && !seen.metadata {
        return Err(seen.met.missing(target));
    }
    if let Some(e) = seen.metadata_damage {
        return Err(e);
    }
    let mut summary = seen.summary;
    summary.md5 = walked.md5;
    summary.read_to_end = !walked.stopped;
    Ok(summary)
}

/// A `.metadata.json`'s text: at most [`METADATA_MAX`] bytes of UTF-8.
pub(crate) fn read_metadata(data: &mut dyn Read, shown: &str) -> Result<String> {
    let mut text = Vec::new();
    data.take(METADATA_MAX + 1).read_to_end(&mut text).map_err(
        |e| match source::is_gzip_damage(&e) {
            Some(reason) => Error::malformed(Input::Metadata, None, format!("{shown}: {reason}")),
            None => Error::from(e),
        },
    )?;
    if text.len() as u64 > METADATA_MAX {
        return Err(Error::malformed(
            Input::Metadata,
            None,
            format!("{shown}: larger than {METADATA_MAX} bytes"),
        ));
    }
    let text = String::from_utf8(text).map_err(|e| {
        Error::malformed(
            Input::Metadata,
            Some(e.utf8_error().valid_up_to() as u64),
            format!("{shown}: not UTF-8"),
        )
    })?;
    // Usable metadata as check judges it (JSON, indexes, names within MongoDB's limits).
    let summary = validate_metadata(&mut text.as_bytes()).map_err(Error::from)?;
    match summary.error {
        None => Ok(text),
        Some(e) => {
            let at = match (e.line, e.column) {
                (Some(l), Some(c)) => format!(" (line {l}, column {c})"),
                _ => String::new(),
            };
            Err(Error::malformed(
                Input::Metadata,
                None,
                format!("{shown}: {}{at}", e.reason),
            ))
        }
    }
}

/// The `.metadata.json` of the collection `namespace` in the backup file at `path`; see
/// [`metadata_reader`].
///
/// # Errors
///
/// As [`metadata_reader`], and [`Error::Path`].
///
/// # Examples
///
/// ```no_run
/// use a0backup::dump::{metadata_file, DumpOptions, Namespace};
/// let ns = Namespace::parse("auth0.users")?;
/// let json = metadata_file("backup.tar.gz".as_ref(), &ns, None, DumpOptions::new())?;
/// println!("{json}");
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn metadata_file(
    path: &Path,
    namespace: &Namespace,
    password: Option<&Password>,
    options: DumpOptions<'_>,
) -> Result<String> {
    let (file, _) = open_checked(path, options.expected_md5)?;
    let options = DumpOptions {
        expected_md5: None,
        ..options
    };
    metadata_reader(file, namespace, password, options)
}

/// The `.metadata.json` of the collection `namespace` (its indexes and options, as mongodump
/// wrote it): reading stops once it is behind. The filter and limit of `options` do not apply.
///
/// # Errors
///
/// [`Error::NoSuchCollection`] when the archive holds no metadata file for it;
/// [`Error::Malformed`] ([`Input::Metadata`]) for one larger than 16 MiB or not UTF-8; and
/// the errors of reading the backup, as [`dump_reader`].
///
/// # Examples
///
/// ```
/// use a0backup::pack::{pack_writer, PackOptions};
/// use a0backup::dump::{metadata_reader, DumpOptions, Namespace};
/// let tree = tempfile::tempdir()?;
/// std::fs::create_dir(tree.path().join("auth0"))?;
/// std::fs::write(tree.path().join("auth0/users.metadata.json"), br#"{"indexes":[]}"#)?;
/// let mut backup = Vec::new();
/// pack_writer(tree.path(), &mut backup, None, PackOptions::new())?;
/// let json = metadata_reader(&backup[..], &Namespace::new("auth0", "users"), None, DumpOptions::new())?;
/// assert_eq!(json, r#"{"indexes":[]}"#);
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn metadata_reader<R: Read>(
    input: R,
    namespace: &Namespace,
    password: Option<&Password>,
    options: DumpOptions<'_>,
) -> Result<String> {
    let source = options.source();
    let cancel = Arc::new(AtomicBool::new(false));
    let opened = source::open(input, password, &source, Arc::default(), cancel);
    let shown = escape_name(namespace.to_string().as_bytes());
    let mut found = None;
    let mut met = MetNames::default();
    source::walk(opened, &source, |entry| {
        if entry.namespace != *namespace {
            met.note(&entry.namespace);
            return Ok(Flow::Continue);
        }
        if entry.role != Role::Metadata {
            return Ok(Flow::Continue);
        }
        found = Some(read_metadata(entry.data, &shown)?);
        Ok(Flow::Stop)
    })?;
    found.ok_or_else(|| met.missing(namespace))
}
