//! The documents of one collection of a backup, straight from the encrypted file: what
//! `bsondump` prints after a decrypt, a `tar x` and a file pick, in one streaming pass.
//!
//! [`dump_file`] and [`dump_reader`] return [`Documents`], an iterator of the collection's
//! documents as raw BSON ([`Document::bytes`], each checked whole by
//! [`check`](crate::check)'s validator), optionally those a [`Filter`] selects, at most
//! [`DumpOptions::limit`] of them; [`extjson`](crate::extjson) writes them as Extended JSON.
//! [`metadata_file`] and [`metadata_reader`] return the collection's `.metadata.json`.
//!
//! # What is read
//!
//! The backup is read as [`check`](crate::check) reads it: md5 on its own thread,
//! decryption, inflate, and the tar stream under restore's parser and safety policy, so an
//! archive that restore refuses before the collection's files is refused here with the same
//! error ([`Error::UnsafeEntry`], [`Error::LimitExceeded`], a damaged tar stream). Of the
//! mongodump tree, the files of `DB.COLL` are read: `DB/COLL.bson` or `DB/COLL.bson.gz`
//! (`mongodump --gzip`, inflated on the way) and `DB/COLL.metadata.json[.gz]`, in any
//! directory above `DB` (`dump/`), names compared with mongodump's escapes (`%2F`, `%24`)
//! undone.
//!
//! **Reading stops once the collection's files are behind it**: when both its data file and
//! its metadata file have been read (mongodump writes one of each per collection, and an
//! archive that holds the same path twice is one restore refuses, so nothing of the
//! collection can follow), or as soon as [`limit`](DumpOptions::limit) documents were handed
//! over. A collection without a metadata file (or without data: a view) is known complete
//! only at the end of the archive. The rest of the archive is not read, so an entry that
//! restore would refuse *after* the collection is not seen (`check` sees it); the documents
//! handed over were all read under the policy. Should an archive hold the same collection
//! in two directories (mongodump never makes one), the first one's documents are given.
//!
//! # The md5
//!
//! The md5 the appliance reported covers every byte of the file, so with
//! [`expected_md5`](DumpOptions::expected_md5) the whole file is read even when the documents
//! end early. [`dump_file`] reads it first, on a hash-only path (no decryption, no inflate,
//! ~1 GB/s), and only then dumps: no document of a file that is not the expected one is ever
//! handed over. [`dump_reader`] cannot read a stream twice: the documents come as they are
//! read, the rest of the stream is read on the hash-only path after the collection, and a
//! mismatch is the iterator's last item ([`Error::ChecksumMismatch`]); what was handed over
//! before it came from the wrong file and is to be thrown away.
//!
//! # Memory
//!
//! Constant whatever the collection's size: restore's archive model, one document (16 MiB +
//! 16 KiB at most) in the reading buffer, and at most 4 batches of 256 KiB of documents in
//! flight between the reading thread and the iterator.
//!
//! # Examples
//!
//! ```
//! use a0backup::pack::{pack_writer, PackOptions};
//! use a0backup::dump::{dump_reader, DumpOptions, Namespace};
//! use a0backup::query::Filter;
//! let tree = tempfile::tempdir()?;
//! std::fs::create_dir(tree.path().join("auth0"))?;
//! let mut bson = Vec::new();
//! for (id, email) in [(1, "ann@example.com"), (2, "bob@example.com")] {
//!     bson.extend_from_slice(bson::rawdoc! { "_id": id, "email": email }.as_bytes());
//! }
//! std::fs::write(tree.path().join("auth0/users.bson"), &bson)?;
//! std::fs::write(tree.path().join("auth0/users.metadata.json"), br#"{"indexes":[]}"#)?;
//! let mut backup = Vec::new();
//! pack_writer(tree.path(), &mut backup, None, PackOptions::new().prefix("dump"))?;
//!
//! let users: Namespace = "auth0.users".parse()?;
//! let options = DumpOptions::new().filter(Filter::parse(r#"{"email": {"$regex": "^bob"}}"#)?);
//! let mut documents = dump_reader(std::io::Cursor::new(backup), &users, None, options)?;
//! let bob = documents.next().expect("one document")?;
//! assert_eq!((bob.index, bob.offset), (1, 41)); // after ann's 41 bytes
//! let json = a0backup::extjson::to_string(&bob.bytes, Default::default())?;
//! assert_eq!(json, r#"{"_id":{"$numberInt":"2"},"email":"bob@example.com"}"#);
//! assert!(documents.next().is_none());
//! let summary = documents.finish()?;
//! assert_eq!((summary.documents, summary.scanned), (1, 2));
//! # Ok::<(), a0backup::Error>(())
//! ```

pub(crate) mod docs;
mod iter;
pub(crate) mod source;

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::archive::{escape_name, UnpackOptions};
use crate::checksum::Md5Digest;
use crate::error::{Error, Result};
use crate::kdf::Format;
use crate::progress::Progress;
use crate::query::Filter;

pub(crate) use iter::read_metadata;
pub use iter::{dump_file, dump_reader, metadata_file, metadata_reader, Documents};

/// A collection's name: its database and its name in it (`auth0.users`).
///
/// # Examples
///
/// ```
/// use a0backup::dump::Namespace;
/// let ns: Namespace = "auth0.system.buckets.logs".parse()?;
/// assert_eq!((ns.database.as_str(), ns.collection.as_str()), ("auth0", "system.buckets.logs"));
/// assert_eq!(ns.to_string(), "auth0.system.buckets.logs");
/// assert!("users".parse::<Namespace>().is_err());
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub struct Namespace {
    /// The database (a directory of the mongodump tree).
    pub database: String,
    /// The collection (its files' names, mongodump's escapes undone); it may hold dots.
    pub collection: String,
}

impl Namespace {
    /// `DB.COLL`, split at its first dot (a database name holds none).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when either part is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// let ns = a0backup::dump::Namespace::new("auth0", "users");
    /// assert_eq!(ns, a0backup::dump::Namespace::parse("auth0.users")?);
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Namespace> {
        match text.split_once('.') {
            Some((db, coll)) if !db.is_empty() && !coll.is_empty() => Ok(Namespace::new(db, coll)),
            _ => Err(Error::InvalidArgument(format!(
                "{:?} is not DB.COLLECTION (a database and a collection, joined by a dot)",
                text
            ))),
        }
    }

    /// The namespace of `collection` in `database`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(a0backup::dump::Namespace::new("auth0", "users").to_string(), "auth0.users");
    /// ```
    pub fn new(database: impl Into<String>, collection: impl Into<String>) -> Namespace {
        Namespace {
            database: database.into(),
            collection: collection.into(),
        }
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.database, self.collection)
    }
}

/// `"DATABASE.COLLECTION"`, as [`Display`](fmt::Display) writes it (a database name holds no
/// dot, so the first one splits it).
#[cfg(feature = "serde")]
impl serde::Serialize for Namespace {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl FromStr for Namespace {
    type Err = Error;

    fn from_str(s: &str) -> Result<Namespace> {
        Namespace::parse(s)
    }
}

/// How [`dump_file`] and [`dump_reader`] read and what they hand over.
///
/// # Examples
///
/// ```
/// use a0backup::dump::DumpOptions;
/// use a0backup::query::Filter;
/// let options = DumpOptions::new()
///     .filter(Filter::parse(r#"{"email": "ann@example.com"}"#)?)
///     .limit(1)
///     .expected_md5("d41d8cd98f00b204e9800998ecf8427e".parse()?);
/// # drop(options);
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct DumpOptions<'a> {
    pub(crate) expected_md5: Option<Md5Digest>,
    pub(crate) format: Option<Format>,
    pub(crate) unpack: UnpackOptions,
    pub(crate) filter: Option<Filter>,
    pub(crate) limit: Option<u64>,
    pub(crate) progress: Progress<'a>,
    pub(crate) input_len: Option<u64>,
}

impl<'a> DumpOptions<'a> {
    /// Every document, no md5, the format detected, restore's default policy.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = a0backup::dump::DumpOptions::new();
    /// # drop(options);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The md5 the file must have (`a0cli backup-status`'s); see the [module docs](self) for
    /// when it is compared.
    pub fn expected_md5(mut self, md5: Md5Digest) -> Self {
        self.expected_md5 = Some(md5);
        self
    }

    /// The encryption format, for a file whose format cannot be detected (openssl's salted
    /// formats); the appliance's is detected.
    pub fn format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }

    /// Read the archive under this policy and these limits (restore's default otherwise).
    pub fn unpack(mut self, options: UnpackOptions) -> Self {
        self.unpack = options;
        self
    }

    /// Hand over only the documents this filter matches.
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Hand over at most `n` documents, and stop reading once they are.
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    /// Report the bytes of input read (and the total, when known) as the documents come;
    /// returning `false` cancels the dump ([`Error::Cancelled`]).
    pub fn progress(mut self, progress: Progress<'a>) -> Self {
        self.progress = progress;
        self
    }

    /// The input's length, for progress, when reading from a `Read` ([`dump_file`] knows it).
    pub fn input_len(mut self, bytes: u64) -> Self {
        self.input_len = Some(bytes);
        self
    }

    pub(crate) fn source(&self) -> source::WalkOptions {
        let mut decrypt = crate::stream::DecryptOptions::new();
        if let Some(f) = self.format {
            decrypt = decrypt.format(f);
        }
        source::WalkOptions {
            expected_md5: self.expected_md5,
            decrypt,
            unpack: self.unpack.clone(),
        }
    }
}

/// The collections a walk met, for [`Error::NoSuchCollection`]: at most
/// [`ARCHIVE_COLLECTIONS_MAX`](crate::error::ARCHIVE_COLLECTIONS_MAX) names, sorted, so that
/// an archive of millions of collections costs a bounded few megabytes.
#[derive(Debug, Default)]
pub(crate) struct MetNames(std::collections::BTreeSet<String>);

impl MetNames {
    /// Notes `namespace` (once; past the bound, nothing).
    pub(crate) fn note(&mut self, namespace: &Namespace) {
        if self.0.len() < crate::error::ARCHIVE_COLLECTIONS_MAX {
            self.0.insert(namespace.to_string());
        }
    }

    /// Adds what `other` met (within the bound).
    pub(crate) fn extend(&mut self, other: MetNames) {
        for name in other.0 {
            if self.0.len() >= crate::error::ARCHIVE_COLLECTIONS_MAX {
                break;
            }
            self.0.insert(name);
        }
    }

    /// The error for `namespace`, which the walk did not meet.
    pub(crate) fn missing(self, namespace: &Namespace) -> Error {
        Error::NoSuchCollection {
            namespace: escape_name(namespace.to_string().as_bytes()),
            archive_collections: self.0.into_iter().collect(),
        }
    }
}

/// One document of a collection, as a dump hands it over.
///
/// # Examples
///
/// ```
/// # use a0backup::pack::{pack_writer, PackOptions};
/// # let tree = tempfile::tempdir()?;
/// # std::fs::create_dir(tree.path().join("auth0"))?;
/// # std::fs::write(tree.path().join("auth0/users.bson"), bson::rawdoc! { "_id": 7 }.as_bytes())?;
/// # let mut backup = Vec::new();
/// # pack_writer(tree.path(), &mut backup, None, PackOptions::new())?;
/// let ns = a0backup::dump::Namespace::new("auth0", "users");
/// let mut docs = a0backup::dump::dump_reader(std::io::Cursor::new(backup), &ns, None, Default::default())?;
/// let doc = docs.next().unwrap()?;
/// let raw = bson::RawDocument::from_bytes(&doc.bytes).unwrap();
/// assert_eq!(raw.get_i32("_id").unwrap(), 7);
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Document {
    /// Its index in the collection's `.bson`, from 0 (documents not selected count).
    pub index: u64,
    /// The byte offset of its length prefix in the (decompressed) `.bson`.
    pub offset: u64,
    /// The document: one whole BSON document, checked.
    pub bytes: Vec<u8>,
}

/// What a dump read and handed over ([`Documents::finish`]).
///
/// # Examples
///
/// See the [module docs](self).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct DumpSummary {
    /// Documents handed over (those the filter selected, up to the limit).
    pub documents: u64,
    /// Documents read from the collection's `.bson`.
    pub scanned: u64,
    /// Bytes of the `.bson` read (decompressed).
    pub bytes: u64,
    /// The collection's `.metadata.json`, when it was read before the dump ended (and is at
    /// most 16 MiB of UTF-8).
    pub metadata: Option<String>,
    /// The file's md5, when one was expected (and then it matched).
    pub md5: Option<Md5Digest>,
    /// Whether the archive was read to its end (the collection's files were not both found
    /// before it), rather than left once they were behind.
    pub read_to_end: bool,
}

/// Opens a backup file and checks its md5 first when one is expected (see the
/// [module docs](self)); returns the file from its start and the md5.
pub(crate) fn open_checked(
    path: &Path,
    expected: Option<Md5Digest>,
) -> Result<(std::fs::File, Option<Md5Digest>)> {
    use std::io::{Seek, SeekFrom};
    let mut file = std::fs::File::open(path).map_err(Error::path(path))?;
    let Some(expected) = expected else {
        return Ok((file, None));
    };
    let (md5, _) = crate::checksum::md5_reader(&mut file).map_err(Error::path(path))?;
    md5.verify(&expected)?;
    file.seek(SeekFrom::Start(0)).map_err(Error::path(path))?;
    Ok((file, Some(md5)))
}
