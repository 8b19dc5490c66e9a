//! What a check found: a table by database and collection, totals and verdicts, as Rust values
//! and as JSON (`serde_json::to_string(&report)`).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Serialize, Serializer};
use serde_json::{json, Value};

use super::names;
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
/// let mut report = checker.finish();
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
/// let report = checker.finish();
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
    /// `collection`, `view`, `timeseries` (its data is `system.buckets.NAME.bson`) or `oplog`.
    pub kind: String,
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
/// let e = checker.finish().collections[0].error.clone().unwrap();
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

/// What the checker gathered about one (directory, file stem) pair.
#[derive(Debug, Default)]
pub(super) struct Group {
    pub(super) bson_path: Option<String>,
    pub(super) metadata_path: Option<String>,
    pub(super) gzip: bool,
    pub(super) documents: u64,
    pub(super) bytes: u64,
    pub(super) bson_file_bytes: u64,
    pub(super) indexes: u64,
    pub(super) collection_name: Option<String>,
    pub(super) kind: Option<String>,
    pub(super) error: Option<CollectionError>,
}

impl Group {
    pub(super) fn set_error(&mut self, error: CollectionError) {
        self.error.get_or_insert(error);
    }
}

/// (archive directory, escaped collection name)
pub(super) type Key = (Vec<u8>, Vec<u8>);

/// Builds the table: pairs timeseries metadata with their buckets, finds the oplog, names the
/// orphans.
pub(super) fn assemble(
    mut groups: BTreeMap<Key, Group>,
    entries: u64,
    other_files: u64,
) -> CheckReport {
    let timeseries: Vec<Key> = groups
        .iter()
        .filter(|(_, g)| g.kind.as_deref() == Some("timeseries") && g.bson_path.is_none())
        .map(|(k, _)| k.clone())
        .collect();
    for key in timeseries {
        let buckets = (key.0.clone(), [&b"system.buckets."[..], &key.1].concat());
        if groups
            .get(&buckets)
            .is_some_and(|b| b.metadata_path.is_none())
        {
            let b = groups.remove(&buckets).unwrap_or_default();
            if let Some(g) = groups.get_mut(&key) {
                let (name, kind, indexes, metadata_path) = (
                    g.collection_name.take(),
                    g.kind.take(),
                    g.indexes,
                    g.metadata_path.take(),
                );
                let error = g.error.take().or(b.error.clone());
                *g = Group {
                    collection_name: name,
                    kind,
                    indexes,
                    metadata_path,
                    error,
                    ..b
                };
            }
        }
    }
    let dirs: Vec<Vec<u8>> = groups.keys().map(|(d, _)| d.clone()).collect();
    let mut report = CheckReport {
        entries,
        other_files,
        ..Default::default()
    };
    for ((dir, stem), g) in groups {
        let is_oplog = stem == b"oplog"
            && g.metadata_path.is_none()
            && (dirs.iter().all(|d| *d == dir) || dirs.iter().any(|d| names::is_parent(&dir, d)));
        let kind = match (&g.kind, is_oplog) {
            (_, true) => "oplog".to_string(),
            (Some(k), _) => k.clone(),
            (None, _) => "collection".to_string(),
        };
        let orphan = match (g.bson_path.is_some(), g.metadata_path.is_some()) {
            (true, false) if !is_oplog => Some("no .metadata.json: mongorestore would restore the documents without their indexes and options".to_string()),
            (false, true) if kind != "view" => Some("no .bson: the collection's documents are not in the backup".to_string()),
            _ => None,
        };
        report.collections.push(CollectionReport {
            database: if is_oplog {
                String::new()
            } else {
                names::database(&dir)
            },
            collection: g.collection_name.unwrap_or_else(|| names::unescape(&stem)),
            kind,
            bson: g.bson_path.is_some(),
            metadata: g.metadata_path.is_some(),
            bson_path: g.bson_path,
            metadata_path: g.metadata_path,
            gzip: g.gzip,
            documents: g.documents,
            bytes: g.bytes,
            bson_file_bytes: g.bson_file_bytes,
            indexes: g.indexes,
            error: g.error,
            orphan,
        });
    }
    let t = &mut report.totals;
    for c in &report.collections {
        t.collections += 1;
        t.documents += c.documents;
        t.bytes += c.bytes;
        t.indexes += c.indexes;
        t.damaged += u64::from(c.error.is_some());
        t.orphans += u64::from(c.orphan.is_some());
    }
    report.collections_ok = report.collections.iter().all(CollectionReport::ok);
    report
}

impl CheckReport {
    /// The report as JSON (what its [`Serialize`] impl writes).
    ///
    /// # Examples
    ///
    /// ```
    /// let json = a0backup::check::Checker::new().finish().to_json();
    /// assert_eq!(json["totals"]["collections"], 0);
    /// assert_eq!(json["collections_ok"], true);
    /// ```
    pub fn to_json(&self) -> Value {
        let t = &self.totals;
        json!({
            "restorable": self.restorable,
            "refusal": self.refusal,
            "collections_ok": self.collections_ok,
            "collections": self.collections.iter().map(CollectionReport::to_json).collect::<Vec<_>>(),
            "totals": {
                "collections": t.collections, "documents": t.documents, "bytes": t.bytes,
                "indexes": t.indexes, "damaged": t.damaged, "orphans": t.orphans,
            },
            "entries": self.entries,
            "other_files": self.other_files,
            "md5": self.md5.map(|d| d.to_string()),
            "warnings": self.warnings,
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
            "database": self.database, "collection": self.collection, "kind": self.kind,
            "bson_path": self.bson_path, "metadata_path": self.metadata_path,
            "bson": self.bson, "metadata": self.metadata, "gzip": self.gzip,
            "documents": self.documents, "bytes": self.bytes,
            "bson_file_bytes": self.bson_file_bytes, "indexes": self.indexes,
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
