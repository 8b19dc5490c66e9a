//! What changed between two backups, collection by collection, from the encrypted files.
//!
//! [`diff_files`] and [`diff_readers`] read the old backup, then the new one (each as
//! [`check`](crate::check) reads it: md5, decryption, inflate, the tar stream under restore's
//! parser and policy, every document checked), and return a [`Diff`]: an iterator of
//! [`DiffEntry`]s, one [`CollectionDiff`] per collection in name order, each after the `_id`s
//! of its documents added, removed and changed when [`DiffOptions::ids`] asks for them.
//!
//! * Documents are matched by `_id` (its BSON type and bytes): **added** (in the new backup
//!   only), **removed** (in the old only), **changed** (same `_id`, other bytes: any field,
//!   its order or its type), **unchanged**. A document without `_id` is matched by its whole
//!   bytes (so it is unchanged, added or removed, never changed); should a collection hold an
//!   `_id` twice, its copies are paired by content first, the rest as changed.
//! * From the metadata: indexes added, removed or changed, by name (an index is changed when
//!   its JSON differs, key order included: `{"a":1,"b":1}` is not `{"b":1,"a":1}`), and
//!   collection options (`capped`, `validator`, ...) by key.
//! * A collection in one backup only is reported with its documents as added or removed.
//!
//! # Memory
//!
//! Per document a digest: the collection's number, the `_id`'s key (its bytes when they fit in
//! 15, an ObjectId's 13; else 128 bits of SHA-256), 128 bits of the document's SHA-256, and the
//! `_id` itself (for [`DiffOptions::ids`]): 40 bytes plus the `_id` on disk, 48 more for the
//! sort while held. Each backup holds up to half of [`DiffOptions::memory`] (16 MiB by default)
//! and past it writes them, sorted, as a run to an unnamed temporary file (gone when the diff is
//! dropped); one collection at a time is merged back from every run with a 16 KiB buffer per
//! run. Besides: the collections' names and their indexes' and options' hashes (a few hundred
//! bytes per collection), and what reading a backup takes (as a check: one document, restore's
//! archive model). Measured on a collection of a million documents against a changed copy: 36
//! MiB peak RSS with the default budget (BENCHMARKS.md).
//!
//! # Examples
//!
//! ```
//! use a0backup::pack::{pack_writer, PackOptions};
//! use a0backup::diff::{diff_readers, DiffEntry, DiffOptions};
//! let backup = |docs: &[bson::RawDocumentBuf]| -> Result<Vec<u8>, a0backup::Error> {
//!     let tree = tempfile::tempdir()?;
//!     std::fs::create_dir(tree.path().join("auth0"))?;
//!     let bson: Vec<u8> = docs.iter().flat_map(|d| d.as_bytes().to_vec()).collect();
//!     std::fs::write(tree.path().join("auth0/users.bson"), bson)?;
//!     let mut gz = Vec::new();
//!     pack_writer(tree.path(), &mut gz, None, PackOptions::new())?;
//!     Ok(gz)
//! };
//! let old = backup(&[bson::rawdoc! { "_id": 1, "n": "a" }, bson::rawdoc! { "_id": 2, "n": "b" }])?;
//! let new = backup(&[bson::rawdoc! { "_id": 1, "n": "a" }, bson::rawdoc! { "_id": 2, "n": "B" }, bson::rawdoc! { "_id": 3 }])?;
//! let mut diff = diff_readers(&old[..], &new[..], None, DiffOptions::new())?;
//! let Some(Ok(DiffEntry::Collection(users))) = diff.next() else { panic!() };
//! assert_eq!(users.namespace.to_string(), "auth0.users");
//! assert_eq!((users.added, users.removed, users.changed, users.unchanged), (1, 0, 1, 1));
//! let summary = diff.finish()?;
//! assert_eq!(summary.changed_collections, 1);
//! # Ok::<(), a0backup::Error>(())
//! ```

/// The most collections of one backup a diff of whole backups holds ([`Limit::DiffCollections`](crate::error::Limit::DiffCollections)).
pub(crate) const COLLECTIONS_MAX: usize = 10_000;

/// The least [`DiffOptions::memory`].
const MEMORY_MIN: usize = 1 << 20;

mod collect;
mod digest;
mod join;
#[cfg(feature = "serde")]
mod json;
mod metadata;

use std::io::Read;
use std::path::Path;

use crate::archive::UnpackOptions;
use crate::checksum::Md5Digest;
use crate::dump::Namespace;
use crate::error::{Error, Result};
use crate::kdf::{Format, Password};

pub use join::Diff;

/// How [`diff_files`] and [`diff_readers`] read and what they report.
///
/// # Examples
///
/// ```
/// use a0backup::diff::DiffOptions;
/// let options = DiffOptions::new().collection("auth0.users".parse()?).ids(true).memory(64 << 20);
/// # drop(options);
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct DiffOptions {
    old_md5: Option<Md5Digest>,
    new_md5: Option<Md5Digest>,
    format: Option<Format>,
    unpack: UnpackOptions,
    collection: Option<Namespace>,
    ids: bool,
    memory: usize,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            old_md5: None,
            new_md5: None,
            format: None,
            unpack: UnpackOptions::new(),
            collection: None,
            ids: false,
            memory: 16 << 20,
        }
    }
}

impl DiffOptions {
    /// Every collection, no `_id`s, 16 MiB of digests in memory, no md5s.
    pub fn new() -> Self {
        Self::default()
    }

    /// The md5 the old backup's file must have (each file is read whole for it).
    pub fn old_md5(mut self, md5: Md5Digest) -> Self {
        self.old_md5 = Some(md5);
        self
    }

    /// The md5 the new backup's file must have.
    pub fn new_md5(mut self, md5: Md5Digest) -> Self {
        self.new_md5 = Some(md5);
        self
    }

    /// The encryption format of both files, when it cannot be detected.
    pub fn format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }

    /// Read both archives under this policy (restore's default otherwise).
    pub fn unpack(mut self, options: UnpackOptions) -> Self {
        self.unpack = options;
        self
    }

    /// Compare this collection only: each backup is then read until its files are behind.
    pub fn collection(mut self, namespace: Namespace) -> Self {
        self.collection = Some(namespace);
        self
    }

    /// Hand over the `_id` of every document added, removed or changed ([`DiffEntry::Id`]).
    pub fn ids(mut self, yes: bool) -> Self {
        self.ids = yes;
        self
    }

    /// The most bytes of document digests held in memory before they go to the temporary
    /// file (at least 1 MiB: each run spilled costs a 16 KiB buffer when the runs are merged
    /// back, so a smaller budget would cost more memory than it saves).
    pub fn memory(mut self, bytes: usize) -> Self {
        self.memory = bytes.max(MEMORY_MIN);
        self
    }

    fn source(&self, md5: Option<Md5Digest>) -> crate::dump::source::WalkOptions {
        let mut decrypt = crate::stream::DecryptOptions::new();
        if let Some(f) = self.format {
            decrypt = decrypt.format(f);
        }
        crate::dump::source::WalkOptions {
            expected_md5: md5,
            decrypt,
            unpack: self.unpack.clone(),
        }
    }
}

/// Where a collection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Presence {
    /// In both backups.
    Both,
    /// In the old backup only: removed.
    OldOnly,
    /// In the new backup only: added.
    NewOnly,
}

/// One collection's changes (see the [module docs](self)).
///
/// # Examples
///
/// See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CollectionDiff {
    /// The collection.
    pub namespace: Namespace,
    /// In which backups it is.
    pub presence: Presence,
    /// Documents in the new backup only.
    pub added: u64,
    /// Documents in the old backup only.
    pub removed: u64,
    /// Documents with the same `_id` and other bytes.
    pub changed: u64,
    /// Documents alike in both.
    pub unchanged: u64,
    /// Indexes (by name) in the new metadata only.
    pub indexes_added: Vec<String>,
    /// Indexes in the old metadata only.
    pub indexes_removed: Vec<String>,
    /// Indexes of the same name defined otherwise.
    pub indexes_changed: Vec<String>,
    /// Collection options (keys of the metadata's `options`) in the new metadata only.
    pub options_added: Vec<String>,
    /// Options in the old metadata only.
    pub options_removed: Vec<String>,
    /// Options with another value.
    pub options_changed: Vec<String>,
}

impl CollectionDiff {
    /// Whether nothing changed: in both backups, no document, index or option changed.
    ///
    /// # Examples
    ///
    /// See the [module docs](self).
    pub fn is_unchanged(&self) -> bool {
        self.presence == Presence::Both
            && self.added + self.removed + self.changed == 0
            && [
                &self.indexes_added,
                &self.indexes_removed,
                &self.indexes_changed,
                &self.options_added,
                &self.options_removed,
                &self.options_changed,
            ]
            .iter()
            .all(|v| v.is_empty())
    }
}

/// What happened to a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Change {
    /// In the new backup only.
    Added,
    /// In the old backup only.
    Removed,
    /// Same `_id`, other bytes.
    Changed,
}

/// One document added, removed or changed ([`DiffOptions::ids`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdChange {
    /// Its collection.
    pub namespace: Namespace,
    /// What happened to it.
    pub change: Change,
    /// `{"_id": value}` as a BSON document ([`extjson`](crate::extjson) writes it); `None`
    /// for a document without `_id`.
    pub id: Option<Vec<u8>>,
}

impl IdChange {
    /// The `_id`'s value as canonical Extended JSON (`{"$oid": "..."}` for an ObjectId);
    /// `None` for a document without one.
    ///
    /// # Examples
    ///
    /// ```
    /// # use a0backup::diff::{diff_readers, DiffEntry, DiffOptions};
    /// # use a0backup::pack::{pack_writer, PackOptions};
    /// # fn backup(doc: &[u8]) -> Vec<u8> {
    /// #     let tree = tempfile::tempdir().unwrap();
    /// #     std::fs::create_dir(tree.path().join("d")).unwrap();
    /// #     std::fs::write(tree.path().join("d/c.bson"), doc).unwrap();
    /// #     let mut gz = Vec::new();
    /// #     pack_writer(tree.path(), &mut gz, None, PackOptions::new()).unwrap();
    /// #     gz
    /// # }
    /// let (old, new) = (backup(&[]), backup(bson::rawdoc! { "_id": "ann" }.as_bytes()));
    /// let diff = diff_readers(&old[..], &new[..], None, DiffOptions::new().ids(true))?;
    /// for entry in diff {
    ///     if let DiffEntry::Id(added) = entry? {
    ///         assert_eq!(added.id_json().as_deref(), Some(r#""ann""#));
    ///     }
    /// }
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn id_json(&self) -> Option<String> {
        let doc = self.id.as_deref()?;
        let json = crate::extjson::to_string(doc, crate::extjson::ExtJsonOptions::new()).ok()?;
        json.strip_prefix("{\"_id\":")
            .and_then(|s| s.strip_suffix('}'))
            .map(str::to_string)
    }
}

/// An item of a [`Diff`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiffEntry {
    /// A document's `_id` (with [`DiffOptions::ids`]), before its collection's summary.
    Id(IdChange),
    /// A collection's changes, after its `_id`s.
    Collection(CollectionDiff),
}

/// The totals of a diff ([`Diff::finish`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct DiffSummary {
    /// Collections in either backup.
    pub collections: u64,
    /// Collections with any change (or in one backup only).
    pub changed_collections: u64,
    /// Documents added, over all collections.
    pub added: u64,
    /// Documents removed.
    pub removed: u64,
    /// Documents changed.
    pub changed: u64,
    /// Documents unchanged.
    pub unchanged: u64,
    /// The old file's md5, when one was expected (and matched).
    pub old_md5: Option<Md5Digest>,
    /// The new file's md5, when one was expected (and matched).
    pub new_md5: Option<Md5Digest>,
}

/// Compares the backups at `old` and `new`; see [`diff_readers`].
///
/// # Errors
///
/// As [`diff_readers`], and [`Error::Path`] naming a file that cannot be opened.
///
/// # Examples
///
/// ```no_run
/// use a0backup::diff::{diff_files, DiffEntry, DiffOptions};
/// let pw = a0backup::Password::from("Passw0rd");
/// for entry in diff_files("mon.tar.gz.enc".as_ref(), "tue.tar.gz.enc".as_ref(), Some(&pw), DiffOptions::new())? {
///     if let DiffEntry::Collection(c) = entry? {
///         println!("{}: +{} -{} ~{}", c.namespace, c.added, c.removed, c.changed);
///     }
/// }
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn diff_files(
    old: &Path,
    new: &Path,
    password: Option<&Password>,
    options: DiffOptions,
) -> Result<Diff> {
    let old_file = std::fs::File::open(old).map_err(Error::path(old))?;
    let new_file = std::fs::File::open(new).map_err(Error::path(new))?;
    diff_readers(old_file, new_file, password, options)
}

/// Compares two backups (`.tar.gz.enc` with the password, `.tar.gz` without; both with the
/// same): both are read here, at the same time (`new` on a thread of its own), whole (or up
/// to the collection asked for), and the returned [`Diff`] hands over the changes.
///
/// # Errors
///
/// Those of reading a backup, as [`dump`](crate::dump) reads one: [`Error::WrongPassword`],
/// [`Error::ChecksumMismatch`], restore's refusal of an archive, a damaged gzip or tar stream,
/// [`Error::DamagedDocument`], a metadata file that is not JSON ([`Error::Malformed`]), I/O
/// errors (the temporary file's too); [`Error::NoSuchCollection`] when
/// [`DiffOptions::collection`] is in neither backup.
pub fn diff_readers<O: Read, N: Read + Send>(
    old: O,
    new: N,
    password: Option<&Password>,
    options: DiffOptions,
) -> Result<Diff> {
    let only = options.collection.as_ref();
    let budget = options.memory / 2;
    let (old_source, new_source) = (
        options.source(options.old_md5),
        options.source(options.new_md5),
    );
    // Both backups at once, each on this thread's helper and its own walk.
    let (old, new) = std::thread::scope(|scope| {
        let new = scope.spawn(|| collect::read_backup(new, password, &new_source, only, budget));
        let old = collect::read_backup(old, password, &old_source, only, budget);
        let new = new.join().unwrap_or_else(|_| {
            Err(Error::Io(std::io::Error::other(
                "the diff's reading thread panicked",
            )))
        });
        (old, new)
    });
    let (old, new) = (old?, new?);
    if let (Some(ns), true) = (only, old.names.is_empty() && new.names.is_empty()) {
        let (mut met, new_met) = (old.skipped, new.skipped);
        met.extend(new_met);
        return Err(met.missing(ns));
    }
    let summary = DiffSummary {
        old_md5: old.md5,
        new_md5: new.md5,
        ..Default::default()
    };
    Ok(Diff::new(old, new, options.ids, summary))
}
