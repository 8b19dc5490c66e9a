//! What a check found: a table by database and collection, totals and verdicts, as Rust values
//! and as JSON (`serde_json::to_string(&report)`).

use std::io;
use std::sync::Arc;

use serde::{Serialize, Serializer};
use serde_json::{json, Value};

use super::names;
use super::table::{Group, Key, Sorted};
use crate::Error;

/// Everything [`Checker::finish`](super::Checker::finish) found.
///
/// # Examples
///
/// ```
/// use a0backup::archive::EntryKind;
/// use a0backup::check::Checker;
/// let mut checker = Checker::new();
/// checker.entry(b"dump/auth0/users.bson", EntryKind::File, 5, &mut &b"\x05\0\0\0\0"[..])?;
/// let mut report = checker.finish()?;
/// report.restorable = true; // the caller's verdict on the archive itself
/// assert!(!report.collections_ok, "users.bson has no metadata");
/// let json = serde_json::to_value(&report).unwrap();
/// assert_eq!(json["collections"][0]["documents"], 1);
/// assert_eq!(json["restorable"], true);
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckReport {
    /// Whether restore would accept the archive (md5, gzip, tar, safety policy). The checker
    /// cannot know: it is `false` until the caller that read the archive sets it.
    pub restorable: bool,
    /// Why restore would refuse the archive, set by the caller with `restorable`.
    pub refusal: Option<String>,
    /// The error behind [`refusal`](Self::refusal), to match on (which option would lift it)
    /// rather than its words; not part of the JSON.
    pub refusal_error: Option<Refusal>,
    /// Every collection has its two files (or is a view or the oplog) and reads cleanly.
    pub collections_ok: bool,
    /// One row per collection, sorted by archive directory and file name.
    pub collections: Vec<CollectionReport>,
    /// Sums over `collections`.
    pub totals: Totals,
    /// Entries seen, of every kind.
    pub entries: u64,
    /// Regular files that are not mongodump files (not checked).
    pub other_files: u64,
    /// The MD5 of the input as read, when one was asked for (see
    /// [`CheckOptions::expected_md5`](super::CheckOptions::expected_md5)); set by the caller.
    pub md5: Option<crate::Md5Digest>,
    /// What the archive reading accepted with a warning; set by the caller.
    pub warnings: Vec<String>,
}

/// The error restore would refuse an archive with, shared by the clones of a report. Two are
/// equal when their messages are.
///
/// # Examples
///
/// ```
/// use a0backup::check::Refusal;
/// use a0backup::error::OptIn;
/// use a0backup::Error;
/// let r = Refusal::new(Error::UnsafeEntry {
///     path: "dump/latest".into(),
///     reason: "symlinks are not allowed (opt in to extract them)".into(),
///     opt_in: Some(OptIn::Symlinks),
/// });
/// assert!(matches!(r.error(), Error::UnsafeEntry { opt_in: Some(OptIn::Symlinks), .. }));
/// assert_eq!(r, r.clone());
/// ```
#[derive(Debug, Clone)]
pub struct Refusal(Arc<Error>);

impl Refusal {
    /// Wraps the error.
    pub fn new(e: Error) -> Refusal {
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

/// Sums over the collections of a [`CheckReport`].
///
/// # Examples
///
/// ```
/// let totals = a0backup::check::Totals::default();
/// assert_eq!((totals.collections, totals.documents), (0, 0));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
}

/// One collection: its `.bson` and `.metadata.json` files.
///
/// # Examples
///
/// ```
/// use a0backup::archive::EntryKind;
/// use a0backup::check::Checker;
/// let mut checker = Checker::new();
/// checker.entry(b"dump/auth0/a%2Fb.metadata.json", EntryKind::File, 2, &mut &b"{}"[..])?;
/// let report = checker.finish()?;
/// let row = &report.collections[0];
/// assert_eq!((row.database.as_str(), row.collection.as_str()), ("auth0", "a/b"));
/// assert!(!row.bson && row.metadata && row.orphan.is_some());
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
/// use a0backup::archive::EntryKind;
/// use a0backup::check::Checker;
/// let mut checker = Checker::new();
/// checker.entry(b"db/c.bson", EntryKind::File, 7, &mut &b"\x05\0\0\0\0\x05\0"[..])?;
/// let e = checker.finish()?.collections[0].error.clone().unwrap();
/// assert_eq!((e.path.as_str(), e.document, e.offset), ("db/c.bson", Some(1), Some(5)));
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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

/// The table's groups, in key order, as rows: pairs a timeseries collection's metadata with
/// its buckets, finds the oplog, names the orphans, and sums the totals on the way. One group
/// of look-ahead, nothing else kept.
pub(super) struct Rows {
    groups: Sorted,
    pending: Option<(Key, Group)>,
    /// Every dump file of the archive is in one directory (then an `oplog.bson` without
    /// metadata there is the oplog even with no database directory beside it).
    one_dir: bool,
    pub(super) totals: Totals,
    pub(super) all_ok: bool,
}

impl std::fmt::Debug for Rows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rows")
            .field("totals", &self.totals)
            .finish_non_exhaustive()
    }
}

impl Rows {
    pub(super) fn new(groups: Sorted, one_dir: bool) -> Rows {
        Rows {
            groups,
            pending: None,
            one_dir,
            totals: Totals::default(),
            all_ok: true,
        }
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
            self.all_ok &= row.ok();
            return Ok(Some(row));
        }
        Ok(None)
    }
}

impl Iterator for Rows {
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

impl CheckReport {
    /// The report as JSON (what its [`Serialize`] impl writes).
    ///
    /// # Examples
    ///
    /// ```
    /// let json = a0backup::check::Checker::new().finish()?.to_json();
    /// assert_eq!(json["totals"]["collections"], 0);
    /// assert_eq!(json["collections_ok"], true);
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn to_json(&self) -> Value {
        let t = &self.totals;
        // What is known before the rows comes first, so that a report can be written as its
        // rows come (`check --json`), with the same key order.
        json!({
            "restorable": self.restorable,
            "refusal": self.refusal,
            "md5": self.md5.map(|d| d.to_string()),
            "entries": self.entries,
            "other_files": self.other_files,
            "warnings": self.warnings,
            "collections": self.collections.iter().map(CollectionReport::to_json).collect::<Vec<_>>(),
            "collections_ok": self.collections_ok,
            "totals": {
                "collections": t.collections, "documents": t.documents, "bytes": t.bytes,
                "indexes": t.indexes, "damaged": t.damaged, "orphans": t.orphans,
            },
        })
    }
}

impl CollectionReport {
    /// The row as JSON.
    ///
    /// # Examples
    ///
    /// ```
    /// let json = a0backup::check::CollectionReport::default().to_json();
    /// assert_eq!(json["error"], serde_json::Value::Null);
    /// ```
    pub fn to_json(&self) -> Value {
        json!({
            "database": self.database, "collection": self.collection, "kind": self.kind.as_str(),
            "bson_path": self.bson_path, "metadata_path": self.metadata_path,
            "bson": self.bson, "metadata": self.metadata, "gzip": self.gzip,
            "documents": self.documents, "bytes": self.bytes,
            "bson_file_bytes": self.bson_file_bytes,
            "metadata_file_bytes": self.metadata_file_bytes, "indexes": self.indexes,
            "error": self.error.as_ref().map(|e| json!({
                "path": e.path, "document": e.document, "offset": e.offset, "at": e.at,
                "line": e.line, "column": e.column, "reason": e.reason,
            })),
            "orphan": self.orphan,
        })
    }
}

impl Serialize for CheckReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl Serialize for CollectionReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}
