//! What a check found: a table by database and collection, totals and verdicts, as Rust values
//! and, with the `serde` feature, as JSON (`serde_json::to_string(&report)`).

use std::io;
use std::sync::Arc;

use super::names;
use super::table::{Group, Key, Sorted};
use crate::Error;

/// Everything a check found: whether restore would accept the backup, and what each
/// collection holds.
///
/// With the `serde` feature it serializes as the command's `check --json` prints it: the
/// verdict and counts first, then `collections`, then `collections_ok` and `totals` (what is
/// known only once every row has been read, so that a report can be written as its rows
/// come).
///
/// # Examples
///
/// ```
/// use a0backup::check::{check_reader, CheckOptions};
/// use a0backup::pack::{pack_writer, PackOptions};
/// let tree = tempfile::tempdir()?;
/// std::fs::create_dir(tree.path().join("auth0"))?;
/// std::fs::write(tree.path().join("auth0/users.bson"), b"\x05\0\0\0\0")?;
/// let mut gz = Vec::new();
/// pack_writer(tree.path(), &mut gz, None, PackOptions::new().prefix("dump"))?;
/// let report = check_reader(&gz[..], None, CheckOptions::new())?;
/// assert!(report.restorable && report.refusal.is_none());
/// assert!(!report.collections_ok, "users.bson has no metadata");
/// assert_eq!(report.collections[0].documents, 1);
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct CheckReport {
    /// Whether restore would accept the archive (md5, gzip, tar, safety policy): `refusal`
    /// is `None`.
    pub restorable: bool,
    /// Why restore would refuse the archive: the error it would end with, to match on (which
    /// option would lift it); in JSON, its message.
    pub refusal: Option<Refusal>,
    /// The MD5 of the input as read, when one was expected.
    pub md5: Option<crate::Md5Digest>,
    /// Entries seen, of every kind.
    pub entries: u64,
    /// Regular files that are not mongodump files (not checked).
    pub other_files: u64,
    /// What the archive reading accepted with a warning.
    pub warnings: Vec<String>,
    /// One row per collection, sorted by archive directory and file name (empty when the
    /// rows were handed over one at a time: [`check_stream`](super::check_stream)).
    pub collections: Vec<CollectionReport>,
    /// Every collection has its two files (or is a view or the oplog) and reads cleanly.
    pub collections_ok: bool,
    /// Sums over the collections.
    pub totals: Totals,
}

/// The error restore would refuse an archive with, shared by the clones of a report. Two are
/// equal when their messages are.
///
/// # Examples
///
/// ```
/// use a0backup::check::{check_reader, CheckOptions};
/// use a0backup::error::OptIn;
/// use a0backup::pack::{pack_writer, PackOptions};
/// use a0backup::Error;
/// let tree = tempfile::tempdir()?;
/// std::os::unix::fs::symlink("users.bson", tree.path().join("latest"))?;
/// let mut gz = Vec::new();
/// pack_writer(tree.path(), &mut gz, None, PackOptions::new().prefix("dump"))?;
/// let report = check_reader(&gz[..], None, CheckOptions::new())?;
/// let refusal = report.refusal.expect("restore refuses a symlink by default");
/// assert!(matches!(refusal.error(), Error::UnsafeEntry { opt_in: Some(OptIn::Symlinks), .. }));
/// assert!(refusal.to_string().contains("dump/latest"));
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Refusal(Arc<Error>);

impl Refusal {
    pub(crate) fn new(e: Error) -> Refusal {
        Refusal(Arc::new(e))
    }

    /// The error itself.
    pub fn error(&self) -> &Error {
        &self.0
    }
}

impl PartialEq for Refusal {
    fn eq(&self, other: &Refusal) -> bool {
        self.0.to_string() == other.0.to_string()
    }
}

impl Eq for Refusal {}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Refusal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// Sums over the collections of a [`CheckReport`].
///
/// # Examples
///
/// ```
/// let totals = a0backup::check::Totals::default();
/// assert_eq!((totals.collections, totals.documents), (0, 0));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Totals {
    /// Rows of the table.
    pub collections: u64,
    /// Documents read cleanly.
    pub documents: u64,
    /// Bytes of those documents.
    pub bytes: u64,
    /// Indexes declared by the metadata files.
    pub indexes: u64,
    /// Collections with an error.
    pub damaged: u64,
    /// Collections missing one of their files.
    pub orphans: u64,
    /// Collections that are not clean (damaged, missing a file, or both), each counted once.
    pub problems: u64,
}

/// One collection: its `.bson` and `.metadata.json` files.
///
/// # Examples
///
/// ```
/// use a0backup::check::{check_reader, CheckOptions};
/// use a0backup::pack::{pack_writer, PackOptions};
/// let tree = tempfile::tempdir()?;
/// std::fs::create_dir(tree.path().join("auth0"))?;
/// std::fs::write(tree.path().join("auth0/a%2Fb.metadata.json"), b"{}")?;
/// let mut gz = Vec::new();
/// pack_writer(tree.path(), &mut gz, None, PackOptions::new().prefix("dump"))?;
/// let report = check_reader(&gz[..], None, CheckOptions::new())?;
/// let row = &report.collections[0];
/// assert_eq!((row.database.as_str(), row.collection.as_str()), ("auth0", "a/b"));
/// assert!(!row.bson && row.metadata && row.orphan.is_some());
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct CollectionReport {
    /// The database: the name of the directory holding the files (empty for the oplog).
    pub database: String,
    /// The collection: `collectionName` from the metadata, else the file name unescaped.
    pub collection: String,
    /// What the collection is.
    pub kind: CollectionKind,
    /// The `.bson` file's path in the archive (escaped as `tar` prints names), if present.
    pub bson_path: Option<String>,
    /// The `.metadata.json` file's path in the archive, if present.
    pub metadata_path: Option<String>,
    /// The `.bson` file is present.
    pub bson: bool,
    /// The `.metadata.json` file is present.
    pub metadata: bool,
    /// The files are gzip-compressed (`mongodump --gzip`); they are validated decompressed.
    pub gzip: bool,
    /// Documents read cleanly.
    pub documents: u64,
    /// Bytes of those documents (decompressed).
    pub bytes: u64,
    /// Size of the `.bson` file in the archive.
    pub bson_file_bytes: u64,
    /// Size of the `.metadata.json` file in the archive.
    pub metadata_file_bytes: u64,
    /// Indexes in the metadata.
    pub indexes: u64,
    /// The first problem found in the files.
    pub error: Option<CollectionError>,
    /// Which file is missing and what that means for a restore.
    pub orphan: Option<String>,
}

impl CollectionReport {
    /// No error and no missing file.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(a0backup::check::CollectionReport::default().ok());
    /// ```
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.orphan.is_none()
    }
}

/// A damaged collection file: which, where, and why.
///
/// # Examples
///
/// ```
/// use a0backup::check::{check_reader, CheckOptions};
/// use a0backup::pack::{pack_writer, PackOptions};
/// let tree = tempfile::tempdir()?;
/// std::fs::create_dir(tree.path().join("db"))?;
/// std::fs::write(tree.path().join("db/c.bson"), b"\x05\0\0\0\0\x05\0")?;
/// let mut gz = Vec::new();
/// pack_writer(tree.path(), &mut gz, None, PackOptions::new().prefix(""))?;
/// let report = check_reader(&gz[..], None, CheckOptions::new())?;
/// let e = report.collections[0].error.clone().unwrap();
/// assert_eq!((e.path.as_str(), e.document, e.offset), ("db/c.bson", Some(1), Some(5)));
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct CollectionError {
    /// The file's path in the archive.
    pub path: String,
    /// For a `.bson` file: the bad document's index, from 0.
    pub document: Option<u64>,
    /// For a `.bson` file: the byte offset of that document (decompressed, for `.bson.gz`).
    pub offset: Option<u64>,
    /// For a `.bson` file: the byte offset where the problem shows.
    pub at: Option<u64>,
    /// For a metadata file with a JSON syntax error: its line, from 1.
    pub line: Option<u64>,
    /// ... and its column, from 1.
    pub column: Option<u64>,
    /// What is wrong.
    pub reason: String,
}

/// What a collection is, by its metadata's `type` (or, for the oplog, by where its file is).
///
/// # Examples
///
/// ```
/// use a0backup::check::CollectionKind;
/// assert_eq!(CollectionKind::Timeseries.as_str(), "timeseries");
/// assert_eq!(CollectionKind::default(), CollectionKind::Collection);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "lowercase")
)]
#[non_exhaustive]
pub enum CollectionKind {
    /// An ordinary collection (also when the metadata names no type, as older mongodumps
    /// write it, or one this version does not know).
    #[default]
    Collection,
    /// A view: metadata only, no `.bson`.
    View,
    /// A timeseries collection: its data is `system.buckets.NAME.bson`.
    Timeseries,
    /// `oplog.bson` beside the database directories (`mongodump --oplog`).
    Oplog,
}

impl CollectionKind {
    /// The name as mongodump's metadata writes it (`oplog` for the oplog).
    pub fn as_str(self) -> &'static str {
        match self {
            CollectionKind::Collection => "collection",
            CollectionKind::View => "view",
            CollectionKind::Timeseries => "timeseries",
            CollectionKind::Oplog => "oplog",
        }
    }

    /// The kind a metadata `type` names.
    pub(super) fn from_metadata(t: &str) -> CollectionKind {
        match t {
            "view" => CollectionKind::View,
            "timeseries" => CollectionKind::Timeseries,
            _ => CollectionKind::Collection,
        }
    }

    pub(super) fn from_index(i: u8) -> Option<CollectionKind> {
        [
            CollectionKind::Collection,
            CollectionKind::View,
            CollectionKind::Timeseries,
            CollectionKind::Oplog,
        ]
        .get(usize::from(i))
        .copied()
    }
}

impl std::fmt::Display for CollectionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The collections of a backup, one [`CollectionReport`] at a time, in archive-directory and
/// name order, as [`check_stream`](super::check_stream) and
/// [`list_collections`](super::list_collections) read them back from their table (memory or
/// its temporary file): a timeseries collection's metadata paired with its buckets, the oplog
/// found, the orphans named, and the totals summed on the way ([`totals`](Self::totals)).
pub struct Collections {
    groups: Sorted,
    pending: Option<(Key, Group)>,
    /// Every dump file of the archive is in one directory (then an `oplog.bson` without
    /// metadata there is the oplog even with no database directory beside it).
    one_dir: bool,
    totals: Totals,
    all_ok: bool,
}

impl std::fmt::Debug for Collections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collections")
            .field("totals", &self.totals)
            .finish_non_exhaustive()
    }
}

impl Collections {
    pub(super) fn new(groups: Sorted, one_dir: bool) -> Collections {
        Collections {
            groups,
            pending: None,
            one_dir,
            totals: Totals::default(),
            all_ok: true,
        }
    }

    /// The sums over the rows read so far: over all of them once the iterator has ended.
    pub fn totals(&self) -> &Totals {
        &self.totals
    }

    /// Whether every row read so far is [`ok`](CollectionReport::ok).
    pub fn all_ok(&self) -> bool {
        self.all_ok
    }

    /// The next group to make a row of: a timeseries collection's metadata and buckets paired.
    fn next_group(&mut self) -> io::Result<Option<(Key, Group)>> {
        let pending = match self.pending.take() {
            Some(p) => p,
            None => match self.groups.next().transpose()? {
                Some(g) => g,
                None => return Ok(None),
            },
        };
        let Some((key, group)) = self.groups.next().transpose()? else {
            return Ok(Some(pending));
        };
        let (pk, pg) = pending;
        if is_buckets_of(&pk, &pg, &key, &group) {
            return Ok(Some((pk, pair_timeseries(pg, group))));
        }
        self.pending = Some((key, group));
        Ok(Some((pk, pg)))
    }

    fn step(&mut self) -> io::Result<Option<CollectionReport>> {
        while let Some((key, group)) = self.next_group()? {
            let Some(row) = row(key, group, self.one_dir) else {
                continue;
            };
            let t = &mut self.totals;
            t.collections += 1;
            t.documents += row.documents;
            t.bytes += row.bytes;
            t.indexes += row.indexes;
            t.damaged += u64::from(row.error.is_some());
            t.orphans += u64::from(row.orphan.is_some());
            t.problems += u64::from(!row.ok());
            self.all_ok &= row.ok();
            return Ok(Some(row));
        }
        Ok(None)
    }
}

impl Iterator for Collections {
    type Item = crate::Result<CollectionReport>;

    fn next(&mut self) -> Option<Self::Item> {
        self.step().map_err(crate::Error::from).transpose()
    }
}

/// Whether `(key, group)` is the buckets file of the timeseries collection `(pk, pg)`.
fn is_buckets_of(pk: &Key, pg: &Group, key: &Key, group: &Group) -> bool {
    key.buckets
        && !pk.buckets
        && (&key.dir, &key.stem) == (&pk.dir, &pk.stem)
        && pg.kind == Some(CollectionKind::Timeseries)
        && pg.bson_path.is_none()
        && group.metadata_path.is_none()
}

/// The metadata of a timeseries collection with the data of its buckets.
fn pair_timeseries(meta: Group, buckets: Group) -> Group {
    Group {
        collection_name: meta.collection_name,
        kind: meta.kind,
        indexes: meta.indexes,
        metadata_path: meta.metadata_path,
        metadata_file_bytes: meta.metadata_file_bytes,
        error: meta.error.or(buckets.error),
        has_child_dirs: meta.has_child_dirs || buckets.has_child_dirs,
        ..buckets
    }
}

/// One row, or none for a key that only says a directory has dump files below it.
fn row(key: Key, g: Group, one_dir: bool) -> Option<CollectionReport> {
    if g.bson_path.is_none() && g.metadata_path.is_none() {
        return None;
    }
    let stem = if key.buckets {
        [&b"system.buckets."[..], &key.stem].concat()
    } else {
        key.stem
    };
    let is_oplog = stem == b"oplog" && g.metadata_path.is_none() && (one_dir || g.has_child_dirs);
    let kind = match (g.kind, is_oplog) {
        (_, true) => CollectionKind::Oplog,
        (Some(k), _) => k,
        (None, _) => CollectionKind::Collection,
    };
    let orphan = match (g.bson_path.is_some(), g.metadata_path.is_some()) {
        (true, false) if !is_oplog => Some("no .metadata.json: mongorestore would restore the documents without their indexes and options".to_string()),
        (false, true) if kind != CollectionKind::View => Some("no .bson: the collection's documents are not in the backup".to_string()),
        _ => None,
    };
    let escaped = |p: &Option<Vec<u8>>| p.as_deref().map(crate::archive::escape_name);
    Some(CollectionReport {
        database: if is_oplog {
            String::new()
        } else {
            names::database(&key.dir)
        },
        collection: g.collection_name.unwrap_or_else(|| names::unescape(&stem)),
        kind,
        bson: g.bson_path.is_some(),
        metadata: g.metadata_path.is_some(),
        bson_path: escaped(&g.bson_path),
        metadata_path: escaped(&g.metadata_path),
        gzip: g.gzip,
        documents: g.documents,
        bytes: g.bytes,
        bson_file_bytes: g.bson_file_bytes,
        metadata_file_bytes: g.metadata_file_bytes,
        indexes: g.indexes,
        error: g.error,
        orphan,
    })
}
