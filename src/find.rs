//! Which of many backups (a week of nightly ones) hold the documents a filter selects in one
//! collection: "when did this user disappear" in one pass over each.
//!
//! [`find`] dumps the collection of each backup in turn ([`dump`](crate::dump): reading stops
//! once the collection's files are behind) and returns [`Found`], an iterator of
//! [`FindEntry`]s: per backup, its matching documents (with [`FindOptions::documents`]) then a
//! [`BackupFound`] with the count. A backup that fails (a wrong password, a damaged document)
//! is reported in its [`BackupFound::error`] and the next one is read: one bad night does not
//! hide the others.
//!
//! Each backup has its own md5, so none is compared here: check them with
//! [`checksum`](crate::checksum) or [`dump_file`](crate::dump::dump_file()) against each
//! backup's status.
//!
//! # Examples
//!
//! ```
//! use a0backup::pack::{pack_writer, PackOptions};
//! use a0backup::dump::Namespace;
//! use a0backup::find::{find, FindEntry, FindOptions};
//! use a0backup::query::Filter;
//! let dir = tempfile::tempdir()?;
//! let mut backups = Vec::new();
//! for (night, users) in [("mon", &["ann", "bob"][..]), ("tue", &["bob"][..])] {
//!     let tree = dir.path().join(night);
//!     std::fs::create_dir_all(tree.join("auth0"))?;
//!     let bson: Vec<u8> = users.iter().flat_map(|u| bson::rawdoc! { "_id": *u }.as_bytes().to_vec()).collect();
//!     std::fs::write(tree.join("auth0/users.bson"), bson)?;
//!     let backup = dir.path().join(format!("{night}.tar.gz"));
//!     pack_writer(&tree, std::fs::File::create(&backup)?, None, PackOptions::new())?;
//!     backups.push(backup);
//! }
//! let ann = Filter::parse(r#"{"_id": "ann"}"#)?;
//! let counts: Vec<u64> = find(&backups, &Namespace::parse("auth0.users")?, &ann, None, FindOptions::new())
//!     .filter_map(|e| match e { FindEntry::Backup(b) => Some(b.documents), _ => None })
//!     .collect();
//! assert_eq!(counts, [1, 0]);
//! # Ok::<(), a0backup::Error>(())
//! ```

use std::path::{Path, PathBuf};

use crate::archive::UnpackOptions;
use crate::dump::{dump_file, Document, Documents, DumpOptions, Namespace};
use crate::error::Error;
use crate::kdf::{Format, Password};
use crate::query::Filter;

/// How [`find`] reads each backup and what it hands over.
///
/// # Examples
///
/// ```
/// let options = a0backup::find::FindOptions::new().documents(true);
/// # drop(options);
/// ```
#[derive(Debug, Clone, Default)]
pub struct FindOptions {
    format: Option<Format>,
    unpack: UnpackOptions,
    documents: bool,
}

impl FindOptions {
    /// Counts only; the format detected; restore's default policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// Hand over the matching documents too ([`FindEntry::Document`]).
    pub fn documents(mut self, yes: bool) -> Self {
        self.documents = yes;
        self
    }

    /// The encryption format of the backups, when it cannot be detected.
    pub fn format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }

    /// Read every archive under this policy (restore's default otherwise).
    pub fn unpack(mut self, options: UnpackOptions) -> Self {
        self.unpack = options;
        self
    }
}

/// What one backup holds of the filter's documents.
#[derive(Debug)]
#[non_exhaustive]
pub struct BackupFound {
    /// The backup's place in the list given to [`find`].
    pub backup: usize,
    /// Its path.
    pub path: PathBuf,
    /// Whether it holds the collection at all.
    pub present: bool,
    /// Documents the filter selects.
    pub documents: u64,
    /// Why the backup could not be read to the end of the collection (the count is then of
    /// the documents before the failure).
    pub error: Option<Error>,
}

/// An item of [`Found`].
#[derive(Debug)]
#[non_exhaustive]
pub enum FindEntry {
    /// A matching document of backup number `backup` ([`FindOptions::documents`]).
    Document {
        /// The backup's place in the list given to [`find`].
        backup: usize,
        /// The document.
        document: Document,
    },
    /// A backup's count, after its documents.
    Backup(BackupFound),
}

/// The results of [`find`], backup after backup.
///
/// # Examples
///
/// See the [module docs](self).
#[derive(Debug)]
pub struct Found<'p> {
    backups: Vec<PathBuf>,
    next: usize,
    namespace: Namespace,
    filter: Filter,
    password: Option<&'p Password>,
    options: FindOptions,
    current: Option<(usize, Documents<'static>, u64)>,
}

/// Finds the documents of `namespace` that `filter` selects in each backup of `backups`
/// (`.tar.gz.enc` with the password, `.tar.gz` without), one after the other (see the
/// [module docs](self)).
///
/// # Examples
///
/// See the [module docs](self).
pub fn find<'p, P: AsRef<Path>>(
    backups: &[P],
    namespace: &Namespace,
    filter: &Filter,
    password: Option<&'p Password>,
    options: FindOptions,
) -> Found<'p> {
    Found {
        backups: backups.iter().map(|p| p.as_ref().to_path_buf()).collect(),
        next: 0,
        namespace: namespace.clone(),
        filter: filter.clone(),
        password,
        options,
        current: None,
    }
}

impl Found<'_> {
    fn done(&mut self, backup: usize, documents: u64, error: Option<Error>) -> FindEntry {
        self.current = None;
        let (present, error) = match error {
            Some(Error::NoSuchCollection { .. }) => (false, None),
            other => (true, other),
        };
        FindEntry::Backup(BackupFound {
            backup,
            path: self.backups[backup].clone(),
            present,
            documents,
            error,
        })
    }
}

impl Iterator for Found<'_> {
    type Item = FindEntry;

    fn next(&mut self) -> Option<FindEntry> {
        loop {
            if let Some((backup, docs, count)) = &mut self.current {
                let backup = *backup;
                match docs.next() {
                    Some(Ok(document)) => {
                        *count += 1;
                        if self.options.documents {
                            return Some(FindEntry::Document { backup, document });
                        }
                    }
                    Some(Err(e)) => {
                        let n = *count;
                        return Some(self.done(backup, n, Some(e)));
                    }
                    None => {
                        let n = *count;
                        return Some(self.done(backup, n, None));
                    }
                }
                continue;
            }
            let backup = self.next;
            let path = self.backups.get(backup)?.clone();
            self.next += 1;
            let mut options = DumpOptions::new()
                .filter(self.filter.clone())
                .unpack(self.options.unpack.clone());
            if let Some(f) = self.options.format {
                options = options.format(f);
            }
            match dump_file(&path, &self.namespace, self.password, options) {
                Ok(docs) => self.current = Some((backup, docs, 0)),
                Err(e) => return Some(self.done(backup, 0, Some(e))),
            }
        }
    }
}
