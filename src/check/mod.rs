//! Check a mongodump tree inside a backup without writing it: every `.bson` document's framing,
//! every `.metadata.json`, and a table by database and collection.
//!
//! [`check_file`], [`check_reader`] and [`check_stream`] read a backup as a restore reads it
//! (decryption, gzip, the tar under restore's parser and policy, as a dry run) and hand each
//! entry to the checker of the mongodump inside. Nothing is written but the table's temporary
//! file: memory is one BSON
//! document (16 MiB + 16 KiB at most) or one metadata string (16 MiB at most), plus the table,
//! which keeps 8 MiB in memory and spills the rest, sorted, to an unnamed file in `TMPDIR`
//! (gone when the check ends, however it ends). Names are kept to 255 bytes (longer
//! `collectionName`s are reported as over MongoDB's limit) and reasons to 512, so a check of
//! any backup ([`check_stream`]) runs in under 64 MiB, in one pass (time linear in the input).
//!
//! * `DB/COLL.bson`: [`bson::validate_bson`] (document count, bytes, the first bad document's
//!   index and offset).
//! * `DB/COLL.metadata.json`: [`metadata::validate_metadata`] (JSON, index count, the real
//!   collection name).
//! * `COLL.bson.gz` and `COLL.metadata.json.gz` (`mongodump --gzip`): the same, through a gzip
//!   decoder; a damaged gzip member is that collection's error, and counts and offsets are of
//!   the decompressed data.
//! * `oplog.bson` beside the database directories (`mongodump --oplog`): the oplog, with no
//!   metadata expected.
//! * A view has only its metadata (`"type":"view"`); a timeseries collection's data is
//!   `system.buckets.NAME.bson` beside `NAME.metadata.json`: neither is an orphan.
//! * Anything else is read through and counted in [`CheckReport::other_files`].
//!
//! Directories above the database directory (`dump/`) are whatever the archive has; collection
//! names escaped by mongodump (`%2F`, `%24`) are shown unescaped, or as the metadata's
//! `collectionName` when there is one.
//!
//! # Examples
//!
//! ```
//! use a0backup::check::{check_reader, CheckOptions};
//! use a0backup::pack::{pack_writer, PackOptions};
//! let tree = tempfile::tempdir()?;
//! std::fs::create_dir(tree.path().join("auth0"))?;
//! std::fs::write(tree.path().join("auth0/users.bson"), b"\x05\0\0\0\0\x05\0\0\0\0")?;
//! let metadata = r#"{"options":{},"indexes":[{"v":2,"key":{"_id":1},"name":"_id_"}],"collectionName":"users","type":"collection"}"#;
//! std::fs::write(tree.path().join("auth0/users.metadata.json"), metadata)?;
//! let mut gz = Vec::new();
//! pack_writer(tree.path(), &mut gz, None, PackOptions::new().prefix("dump"))?;
//! let report = check_reader(&gz[..], None, CheckOptions::new())?;
//! assert!(report.restorable && report.collections_ok);
//! let users = &report.collections[0];
//! assert_eq!((users.database.as_str(), users.collection.as_str()), ("auth0", "users"));
//! assert_eq!((users.documents, users.bytes, users.indexes), (2, 10, 1));
//! # Ok::<(), a0backup::Error>(())
//! ```

pub mod bson;
pub mod metadata;
pub(crate) mod names;
mod report;
mod run;
mod spill;
mod table;

use std::io::{self, Read};

use crate::archive::{escape_name, EntryKind};
use crate::error::Result;

pub use report::{
    CheckReport, CollectionError, CollectionKind, CollectionReport, Collections, Refusal, Totals,
};
pub use run::{check_file, check_reader, check_stream, list_collections, CheckOptions, Checked};

use names::Role;
use table::{Group, Key, Table};

/// Checks archive entries one by one, then reports (see the [module docs](self)).
#[derive(Debug, Default)]
pub(crate) struct Checker {
    table: Table,
    entries: u64,
    other_files: u64,
    /// Only the headers are looked at (`list --collections`): sizes, no validation.
    headers_only: bool,
    /// The directory of the first dump file, and whether another directory held one too.
    first_dir: Option<Vec<u8>>,
    several_dirs: bool,
    /// The directory last said to have a parent holding dump files below it.
    last_marked: Option<Vec<u8>>,
}

impl Checker {
    /// An empty checker.
    pub(crate) fn new() -> Checker {
        Checker::default()
    }

    /// A checker that only looks at what the headers say (names and sizes): the table of
    /// `list --collections`, with no document counts.
    pub(crate) fn headers_only() -> Checker {
        Checker {
            headers_only: true,
            ..Checker::default()
        }
    }

    /// Checks one archive entry: validates a mongodump file's data, and reads any other entry's
    /// data through. `data` is read to its end either way, so the caller's archive reader stays
    /// in step; `size` is the entry's size from its header.
    ///
    /// # Errors
    ///
    /// The errors of `data` itself (a truncated or damaged archive under it), as the crate's
    /// [`Error`](crate::Error) they carry, and an I/O error writing the table to its temporary
    /// file (see the [module docs](self)). Damaged collection files are not errors: they are
    /// reported by [`finish`](Self::finish).
    pub(crate) fn entry(
        &mut self,
        path: &[u8],
        kind: EntryKind,
        size: u64,
        data: &mut dyn Read,
    ) -> Result<()> {
        self.entries += 1;
        let file = match (kind, names::classify(path)) {
            (EntryKind::File, Some(file)) => file,
            (kind, _) => {
                self.other_files += u64::from(kind == EntryKind::File);
                io::copy(data, &mut io::sink())?;
                return Ok(());
            }
        };
        self.note_dir(&file.dir)?;
        let mut group = Group {
            gzip: file.gzip,
            ..Default::default()
        };
        match file.role {
            Role::Bson => {
                group.bson_path = Some(path.to_vec());
                group.bson_file_bytes = size;
            }
            Role::Metadata => {
                group.metadata_path = Some(path.to_vec());
                group.metadata_file_bytes = size;
            }
        }
        if !self.headers_only {
            read_file(&file, path, data, &mut group)?;
        }
        io::copy(data, &mut io::sink())?;
        let key = Key {
            dir: file.dir,
            stem: file.stem,
            buckets: file.buckets,
        };
        self.table.add(key, group)?;
        Ok(())
    }

    /// Records that `dir` holds dump files: for "is every file in one directory", and, as a
    /// marker group of `dir`'s parent, for the oplog rule (an `oplog.bson` is the oplog when
    /// database directories sit beside it).
    fn note_dir(&mut self, dir: &[u8]) -> Result<()> {
        match &self.first_dir {
            None => self.first_dir = Some(dir.to_vec()),
            Some(first) => self.several_dirs |= first != dir,
        }
        if dir.is_empty() || self.last_marked.as_deref() == Some(dir) {
            return Ok(());
        }
        self.last_marked = Some(dir.to_vec());
        let parent = dir
            .iter()
            .rposition(|&b| b == b'/')
            .map_or(&dir[..0], |i| &dir[..i]);
        let marker = Group {
            has_child_dirs: true,
            ..Default::default()
        };
        let key = Key {
            dir: parent.to_vec(),
            stem: b"oplog".to_vec(),
            buckets: false,
        };
        self.table.add(key, marker)?;
        Ok(())
    }

    /// The report: one row per collection, totals, and `collections_ok`. `restorable` is
    /// `false` until the caller sets it (see [`CheckReport::restorable`]).
    ///
    /// # Errors
    ///
    /// An I/O error reading back the table's temporary file.
    #[cfg(test)]
    pub(crate) fn finish(self) -> Result<CheckReport> {
        let (mut report, mut rows) = self.into_rows()?;
        report.collections = rows.by_ref().collect::<Result<_>>()?;
        report.totals = rows.totals().clone();
        report.collections_ok = rows.all_ok();
        Ok(report)
    }

    /// The report without its rows (entries and other files counted), and the rows to come.
    fn into_rows(self) -> Result<(CheckReport, Collections)> {
        let report = CheckReport {
            entries: self.entries,
            other_files: self.other_files,
            collections_ok: true,
            ..Default::default()
        };
        let rows = Collections::new(self.table.into_sorted()?, !self.several_dirs);
        Ok((report, rows))
    }
}

/// Validates one mongodump file's data (decompressed for `mongodump --gzip`'s) into `group`.
fn read_file(
    file: &names::DumpFile,
    path: &[u8],
    data: &mut dyn Read,
    group: &mut Group,
) -> Result<()> {
    let shown = escape_name(path);
    let mut tracked = Tracked {
        inner: data,
        failed: false,
    };
    let outcome = if file.gzip {
        let mut gz = flate2::read::MultiGzDecoder::new(&mut tracked);
        let r = validate(file.role, &mut gz, &shown, group);
        drop(gz);
        r
    } else {
        validate(file.role, &mut tracked, &shown, group)
    };
    match outcome {
        Err(e) if tracked.failed => return Err(e.into()),
        Err(e) => group.set_error(CollectionError {
            path: shown,
            reason: names::bounded(&format!("not a valid gzip stream: {e}")),
            ..Default::default()
        }),
        Ok(()) => {}
    }
    Ok(())
}

/// Runs the validator for a file's role and records what it found in its group.
fn validate(role: Role, r: &mut dyn Read, path: &str, group: &mut Group) -> io::Result<()> {
    match role {
        Role::Bson => {
            let s = bson::validate_bson(r)?;
            group.documents += s.documents;
            group.bytes += s.bytes;
            if let Some(e) = s.error {
                group.set_error(CollectionError {
                    path: path.to_string(),
                    document: Some(e.document),
                    offset: Some(e.offset),
                    at: Some(e.at),
                    reason: names::bounded(&e.reason),
                    ..Default::default()
                });
            }
        }
        Role::Metadata => {
            let m = metadata::validate_metadata(r)?;
            group.indexes = m.indexes;
            group.collection_name = m.collection_name;
            group.kind = m.kind.as_deref().map(CollectionKind::from_metadata);
            if let Some(e) = m.error {
                group.set_error(CollectionError {
                    path: path.to_string(),
                    line: e.line,
                    column: e.column,
                    reason: names::bounded(&e.reason),
                    ..Default::default()
                });
            }
        }
    }
    Ok(())
}
/// Remembers whether the entry's own reader failed, to tell a damaged archive (the caller's
/// error) from a damaged gzip member inside a good one (the collection's).
struct Tracked<'a> {
    inner: &'a mut dyn Read,
    failed: bool,
}

impl Read for Tracked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = self.inner.read(buf);
        self.failed |= r
            .as_ref()
            .is_err_and(|e| e.kind() != io::ErrorKind::Interrupted);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_document_is_reported_at_its_collection_index_and_offset() {
        let mut checker = Checker::new();
        let data = b"\x05\0\0\0\0\x0c\0\0\0\x10a\0";
        checker
            .entry(
                b"dump/auth0/logs.bson",
                EntryKind::File,
                data.len() as u64,
                &mut &data[..],
            )
            .unwrap();
        let report = checker.finish().unwrap();
        let error = report.collections[0].error.as_ref().unwrap();
        assert_eq!((error.document, error.offset), (Some(1), Some(5)));
        assert!(!report.collections_ok);
    }

    #[test]
    fn other_files_are_counted_and_the_oplog_found() {
        let mut checker = Checker::new();
        checker
            .entry(b"dump/README", EntryKind::File, 2, &mut &b"hi"[..])
            .unwrap();
        checker
            .entry(b"dump/oplog.bson", EntryKind::File, 0, &mut &b""[..])
            .unwrap();
        checker
            .entry(
                b"dump/admin/system.version.bson",
                EntryKind::File,
                0,
                &mut &b""[..],
            )
            .unwrap();
        checker
            .entry(
                b"dump/admin/system.version.metadata.json",
                EntryKind::File,
                2,
                &mut &b"{}"[..],
            )
            .unwrap();
        let report = checker.finish().unwrap();
        assert_eq!(report.other_files, 1);
        assert_eq!(report.collections[0].kind, CollectionKind::Oplog);
        assert!(report.collections_ok);
        assert!(Checker::new().finish().unwrap().collections.is_empty());
    }
}
