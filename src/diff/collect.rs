//! The reading half of a diff: one backup walked ([`source::walk`]), each document of each
//! collection digested ([`Digests`]), each metadata file read ([`MetaDigest`]).

use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

use crate::archive::escape_name;
use crate::check::names::Role;
use crate::checksum::Md5Digest;
use crate::dump::source::{self, Flow, Source};
use crate::dump::Namespace;
use crate::error::Result;
use crate::kdf::Password;
use crate::rawbson;

use super::digest::{hash, Digests};
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

/// The collections met in either backup, numbered in the order met.
#[derive(Debug, Default)]
pub(crate) struct Collections {
    pub(crate) names: Vec<Namespace>,
    numbers: HashMap<Namespace, u32>,
    /// Per collection number, what each backup holds.
    pub(crate) sides: Vec<[Side; 2]>,
}

impl Collections {
    fn number(&mut self, ns: &Namespace) -> u32 {
        if let Some(&n) = self.numbers.get(ns) {
            return n;
        }
        let n = self.names.len() as u32;
        self.names.push(ns.clone());
        self.numbers.insert(ns.clone(), n);
        self.sides.push(Default::default());
        n
    }
}

/// Reads one backup (`which`: 0 old, 1 new) into `collections` and `digests`; only the
/// collection `only` when given (and then reading stops once its files are behind).
pub(crate) fn read_backup<R: Read>(
    input: R,
    password: Option<&Password>,
    source: &Source,
    only: Option<&Namespace>,
    which: usize,
    collections: &mut Collections,
    digests: &mut Digests,
) -> Result<Option<Md5Digest>> {
    let opened = source::open(
        input,
        password,
        source,
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicBool::new(false)),
    )?;
    let walked = source::walk(opened, source, |entry| {
        if only.is_some_and(|ns| *ns != entry.namespace) {
            return Ok(Flow::Continue);
        }
        let n = collections.number(&entry.namespace);
        let shown = escape_name(entry.namespace.to_string().as_bytes());
        let side = &mut collections.sides[n as usize][which];
        match entry.role {
            Role::Bson if !side.bson => {
                side.bson = true;
                let mut docs = crate::dump::docs::DocReader::new(entry.data, shown);
                while let Some(doc) = docs.next_doc()? {
                    let (id_hash, id) = match id_of(doc.bytes) {
                        Some(id) => (hash(&id), id),
                        // Without an _id, a document is known by its content alone.
                        None => (hash(doc.bytes), Vec::new()),
                    };
                    digests.add(n, &id_hash, &hash(doc.bytes), &id)?;
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
    Ok(walked.md5)
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
        let back = id_document(&id).unwrap();
        assert_eq!(back, bson::rawdoc! { "_id": oid }.as_bytes());
        assert!(id_of(bson::rawdoc! { "a": 1 }.as_bytes()).is_none());
    }
}
