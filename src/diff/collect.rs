//! The reading half of a diff: one backup walked ([`source::walk`]), each document of each
//! collection digested ([`Digests`]), each metadata file read ([`MetaDigest`]).

use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

use crate::archive::escape_name;
use crate::check::names::Role;
use crate::checksum::Md5Digest;
use crate::dump::source::{self, Flow, WalkOptions};
use crate::dump::{MetNames, Namespace};
use crate::error::{Error, Limit, Result};
use crate::kdf::Password;
use crate::rawbson;

use super::digest::{hash, Digests, Hash};
use super::metadata::{self, MetaDigest};

/// What one backup holds of one collection.
#[derive(Debug, Clone, Default)]
pub(crate) struct Side {
    /// Its data file was read.
    pub(crate) bson: bool,
    /// Its metadata file, read.
    pub(crate) metadata: Option<MetaDigest>,
    pub(crate) documents: u64,
}

/// What one backup holds: its collections, numbered in the order met, and their documents'
/// digests.
#[derive(Debug)]
pub(crate) struct Backup {
    pub(crate) names: Vec<Namespace>,
    numbers: HashMap<Namespace, u32>,
    /// Per collection number.
    pub(crate) sides: Vec<Side>,
    pub(crate) digests: Digests,
    pub(crate) md5: Option<Md5Digest>,
    /// The collections skipped for [`DiffOptions::collection`](super::DiffOptions::collection).
    pub(crate) skipped: MetNames,
}

impl Backup {
    fn number(&mut self, ns: &Namespace) -> Result<u32> {
        if let Some(&n) = self.numbers.get(ns) {
            return Ok(n);
        }
        if self.names.len() >= super::COLLECTIONS_MAX {
            return Err(Error::LimitExceeded {
                limit: Limit::DiffCollections,
                max: super::COLLECTIONS_MAX as u64,
            });
        }
        let n = self.names.len() as u32;
        self.names.push(ns.clone());
        self.numbers.insert(ns.clone(), n);
        self.sides.push(Side::default());
        Ok(n)
    }

    /// The number of collection `ns`, if the backup holds it.
    pub(crate) fn find(&self, ns: &Namespace) -> Option<u32> {
        self.numbers.get(ns).copied()
    }
}

/// Reads one backup; only the collection `only` when given (and then reading stops once its
/// files are behind). `budget`: bytes of digests held in memory.
pub(crate) fn read_backup<R: Read>(
    input: R,
    password: Option<&Password>,
    source: &WalkOptions,
    only: Option<&Namespace>,
    budget: usize,
) -> Result<Backup> {
    let mut backup = Backup {
        names: Vec::new(),
        numbers: HashMap::new(),
        sides: Vec::new(),
        digests: Digests::new(budget),
        md5: None,
        skipped: MetNames::default(),
    };
    let opened = source::open(
        input,
        password,
        source,
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let walked = source::walk(opened, source, |entry| {
        if only.is_some_and(|ns| *ns != entry.namespace) {
            backup.skipped.note(&entry.namespace);
            return Ok(Flow::Continue);
        }
        let n = backup.number(&entry.namespace)?;
        let shown = escape_name(entry.namespace.to_string().as_bytes());
        let side = &mut backup.sides[n as usize];
        match entry.role {
            Role::Bson if !side.bson => {
                side.bson = true;
                let mut docs = crate::dump::docs::DocReader::new(entry.data, shown);
                while let Some(doc) = docs.next_doc()? {
                    let id = id_of(doc.bytes);
                    // Without an _id, a document is known by its content alone.
                    let key = match &id {
                        Some(id) => id_key(id),
                        None => hashed_key(doc.bytes),
                    };
                    let id = id.unwrap_or_default();
                    backup.digests.add(n, &key, &hash(doc.bytes), &id)?;
                    side.documents += 1;
                }
            }
            Role::Metadata if side.metadata.is_none() => {
                let text = crate::dump::read_metadata(entry.data, &shown)?;
                side.metadata = Some(metadata::digest(&text, &shown)?);
            }
            _ => {}
        }
        let done = only.is_some() && side.bson && side.metadata.is_some();
        Ok(if done { Flow::Stop } else { Flow::Continue })
    })?;
    backup.digests.seal()?;
    backup.md5 = walked.md5;
    Ok(backup)
}

/// The key of an `_id` (its type byte and value bytes): the bytes themselves, after their
/// length, when they fit in 15 (an ObjectId takes 13, an int64 9); else a hash
/// ([`hashed_key`]). The two forms never meet: a short key's first byte is at most 15.
fn id_key(id: &[u8]) -> Hash {
    if id.len() < 16 {
        let mut key = [0u8; 16];
        key[0] = id.len() as u8;
        key[1..=id.len()].copy_from_slice(id);
        key
    } else {
        hashed_key(id)
    }
}

/// A key by hash: 0xff, then 15 bytes of the hash.
fn hashed_key(bytes: &[u8]) -> Hash {
    let mut key = hash(bytes);
    key[0] = 0xff;
    key
}

/// The `_id` element of a checked document: its type byte and value bytes.
fn id_of(doc: &[u8]) -> Option<Vec<u8>> {
    let raw = rawbson::document(doc).ok()?;
    for element in rawbson::elements(raw) {
        let element = element.ok()?;
        if element.key == "_id" {
            let mut id = Vec::with_capacity(1 + element.raw.len());
            id.push(doc[element.offset]);
            id.extend_from_slice(element.raw);
            return Some(id);
        }
    }
    None
}

/// `{"_id": value}` as a BSON document, from [`id_of`]'s bytes.
pub(crate) fn id_document(id: &[u8]) -> Option<Vec<u8>> {
    let (&kind, value) = id.split_first()?;
    let len = 4 + 1 + 4 + value.len() + 1;
    let mut doc = Vec::with_capacity(len);
    doc.extend_from_slice(&i32::try_from(len).ok()?.to_le_bytes());
    doc.push(kind);
    doc.extend_from_slice(b"_id\0");
    doc.extend_from_slice(value);
    doc.push(0);
    Some(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_round_trips() {
        let oid = bson::oid::ObjectId::parse_str("5f1d7e0b9c3a4b2d1e0f1a2b").unwrap();
        let doc = bson::rawdoc! { "a": 1, "_id": oid, "b": "x" };
        let id = id_of(doc.as_bytes()).unwrap();
        assert_eq!(id.len(), 13);
        assert_eq!(id_key(&id)[0], 13);
        assert_eq!(id_key(&[2; 40])[0], 0xff);
        let back = id_document(&id).unwrap();
        assert_eq!(back, bson::rawdoc! { "_id": oid }.as_bytes());
        assert!(id_of(bson::rawdoc! { "a": 1 }.as_bytes()).is_none());
    }
}
