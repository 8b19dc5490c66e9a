//! One backup's documents as compact digests, in bounded memory: per document the collection's
//! number, a 128-bit hash of its `_id` (type and value bytes), a 128-bit hash of the whole
//! document and the `_id` itself (for listing). Kept in memory up to a budget, then sorted by
//! (collection, `_id` hash, document hash) and written as a run to an unnamed temporary file;
//! each run remembers where each collection's records begin and end, so that one collection's
//! records are read back from every run and merged in order ([`Digests::collection`]).
//!
//! The hashes are SHA-256 cut to 128 bits: two different documents (or `_id`s) taken for
//! equal would take a SHA-256 collision on 128 bits.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use sha2::{Digest, Sha256};

/// A 128-bit hash.
pub(crate) type Hash = [u8; 16];

/// The hash of `bytes`: SHA-256 cut to 128 bits.
pub(crate) fn hash(bytes: &[u8]) -> Hash {
    let full = Sha256::digest(bytes);
    let mut h = [0u8; 16];
    h.copy_from_slice(&full[..16]);
    h
}

/// One document's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) id_hash: Hash,
    pub(crate) doc_hash: Hash,
    /// The `_id` element's type byte and value bytes; empty for a document without `_id`.
    pub(crate) id: Vec<u8>,
}

impl Record {
    /// The order of records, as integers (big-endian: the order of the bytes).
    fn key(&self) -> (u128, u128) {
        (
            u128::from_be_bytes(self.id_hash),
            u128::from_be_bytes(self.doc_hash),
        )
    }
}

/// Fixed bytes of a record on disk: collection, two hashes, the `_id`'s length.
const HEAD: usize = 4 + 16 + 16 + 4;
/// Memory of a record held, besides its `_id` (the index entry and the arena's head).
const HELD: usize = HEAD + 48;
/// Read buffer of one run's cursor during a merge.
const CURSOR_BUFFER: usize = 16 * 1024;

/// The digests of one backup (see the [module docs](self)).
#[derive(Debug)]
pub(crate) struct Digests {
    budget: usize,
    /// Records held: their heads and `_id`s, back to back.
    arena: Vec<u8>,
    /// (collection, `_id` hash, document hash, offset in `arena`) of each record held, the
    /// hashes as big-endian integers (sorting compares integers, not bytes).
    held: Vec<(u32, u128, u128, usize)>,
    /// Shared by every run's cursor (each reads at its own offset): one handle in all.
    file: Option<Arc<File>>,
    written: u64,
    /// Per run, per collection in it: (collection, start, end) in the file.
    segments: Vec<Vec<(u32, u64, u64)>>,
}

impl Digests {
    pub(crate) fn new(budget: usize) -> Digests {
        Digests {
            budget,
            arena: Vec::new(),
            held: Vec::new(),
            file: None,
            written: 0,
            segments: Vec::new(),
        }
    }

    /// Adds a document of collection `coll`.
    pub(crate) fn add(
        &mut self,
        coll: u32,
        id_hash: &Hash,
        doc_hash: &Hash,
        id: &[u8],
    ) -> io::Result<()> {
        let id_len = u32::try_from(id.len()).map_err(|_| bad())?;
        let (ih, dh) = (
            u128::from_be_bytes(*id_hash),
            u128::from_be_bytes(*doc_hash),
        );
        self.held.push((coll, ih, dh, self.arena.len()));
        self.arena.extend_from_slice(&coll.to_le_bytes());
        self.arena.extend_from_slice(id_hash);
        self.arena.extend_from_slice(doc_hash);
        self.arena.extend_from_slice(&id_len.to_le_bytes());
        self.arena.extend_from_slice(id);
        if self.arena.len() + self.held.len() * (HELD - HEAD) > self.budget {
            self.spill()?;
        }
        Ok(())
    }

    /// Writes the records held as one sorted run.
    fn spill(&mut self) -> io::Result<()> {
        if self.held.is_empty() {
            return Ok(());
        }
        let arena = &self.arena;
        self.held
            .sort_unstable_by_key(|&(coll, ih, dh, _)| (coll, ih, dh));
        if self.file.is_none() {
            self.file = Some(Arc::new(tempfile::tempfile()?));
        }
        let file = self.file.as_ref().ok_or_else(bad)?;
        let mut out = BufWriter::with_capacity(
            256 * 1024,
            WriteAt {
                file,
                at: self.written,
            },
        );
        let mut segments: Vec<(u32, u64, u64)> = Vec::new();
        let mut at = self.written;
        for &(coll, _, _, off) in &self.held {
            let id_len =
                u32::from_le_bytes(arena[off + 36..off + 40].try_into().map_err(|_| bad())?);
            let len = HEAD + id_len as usize;
            out.write_all(&arena[off..off + len])?;
            match segments.last_mut() {
                Some(s) if s.0 == coll => s.2 = at + len as u64,
                _ => segments.push((coll, at, at + len as u64)),
            }
            at += len as u64;
        }
        out.flush()?;
        self.written = at;
        self.segments.push(segments);
        self.held.clear();
        self.arena.clear();
        Ok(())
    }

    /// Writes what is held, so that every record is in a run.
    pub(crate) fn seal(&mut self) -> io::Result<()> {
        self.spill()?;
        self.arena = Vec::new();
        self.held = Vec::new();
        Ok(())
    }

    /// The records of collection `coll` in (`_id` hash, document hash) order, read back from
    /// every run ([`seal`](Self::seal) first).
    pub(crate) fn collection(&self, coll: u32) -> io::Result<Merged> {
        let mut heap = BinaryHeap::new();
        let Some(file) = &self.file else {
            return Ok(Merged { heap });
        };
        for run in &self.segments {
            if let Ok(i) = run.binary_search_by(|s| s.0.cmp(&coll)) {
                let (_, start, end) = run[i];
                let file = Arc::clone(file);
                let mut cursor = RunCursor {
                    file,
                    at: start,
                    end,
                    buf: Vec::new(),
                    pos: 0,
                };
                if let Some(rec) = cursor.next()? {
                    heap.push(Head { rec, cursor });
                }
            }
        }
        Ok(Merged { heap })
    }
}

struct WriteAt<'f> {
    file: &'f File,
    at: u64,
}

impl Write for WriteAt<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write_at(buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One run's records of one collection.
struct RunCursor {
    file: Arc<File>,
    at: u64,
    end: u64,
    buf: Vec<u8>,
    pos: usize,
}

impl RunCursor {
    fn fill(&mut self, need: usize) -> io::Result<()> {
        if self.buf.len() - self.pos >= need {
            return Ok(());
        }
        self.buf.drain(..self.pos);
        self.pos = 0;
        let want = need.max(CURSOR_BUFFER) - self.buf.len();
        let want = want.min(usize::try_from(self.end - self.at).unwrap_or(usize::MAX));
        let old = self.buf.len();
        self.buf.resize(old + want, 0);
        self.file.read_exact_at(&mut self.buf[old..], self.at)?;
        self.at += want as u64;
        if self.buf.len() < need {
            return Err(bad());
        }
        Ok(())
    }

    fn next(&mut self) -> io::Result<Option<Record>> {
        if self.pos == self.buf.len() && self.at == self.end {
            return Ok(None);
        }
        self.fill(HEAD)?;
        let h = &self.buf[self.pos..self.pos + HEAD];
        let mut id_hash = [0u8; 16];
        let mut doc_hash = [0u8; 16];
        id_hash.copy_from_slice(&h[4..20]);
        doc_hash.copy_from_slice(&h[20..36]);
        let id_len = u32::from_le_bytes([h[36], h[37], h[38], h[39]]) as usize;
        self.fill(HEAD + id_len)?;
        let id = self.buf[self.pos + HEAD..self.pos + HEAD + id_len].to_vec();
        self.pos += HEAD + id_len;
        Ok(Some(Record {
            id_hash,
            doc_hash,
            id,
        }))
    }
}

struct Head {
    rec: Record,
    cursor: RunCursor,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.rec.key() == other.rec.key()
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    // Reversed: the heap gives the smallest key first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.rec.key().cmp(&self.rec.key())
    }
}

/// One collection's records from every run, in order.
pub(crate) struct Merged {
    heap: BinaryHeap<Head>,
}

impl Merged {
    /// No records.
    pub(crate) fn empty() -> Merged {
        Merged {
            heap: BinaryHeap::new(),
        }
    }

    /// The next record, or `None` after the last.
    pub(crate) fn next_record(&mut self) -> io::Result<Option<Record>> {
        let Some(mut head) = self.heap.pop() else {
            return Ok(None);
        };
        let next = head.cursor.next()?;
        let rec = match next {
            Some(n) => {
                let rec = std::mem::replace(&mut head.rec, n);
                self.heap.push(head);
                rec
            }
            None => head.rec,
        };
        Ok(Some(rec))
    }
}

fn bad() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "the diff's temporary file is damaged",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_back_per_collection_in_order() {
        let mut d = Digests::new(300); // a few records per run
        let mut expected = Vec::new();
        for i in 0u32..50 {
            let id = i.to_le_bytes();
            let (ih, dh) = (hash(&id), hash(&[i as u8, 1]));
            d.add(i % 3, &ih, &dh, &id).unwrap();
            if i % 3 == 1 {
                expected.push((ih, dh, id.to_vec()));
            }
        }
        d.seal().unwrap();
        assert!(d.segments.len() > 3);
        expected.sort();
        let mut m = d.collection(1).unwrap();
        let mut got = Vec::new();
        while let Some(r) = m.next_record().unwrap() {
            got.push((r.id_hash, r.doc_hash, r.id));
        }
        assert_eq!(got, expected);
        assert!(d.collection(7).unwrap().next_record().unwrap().is_none());
    }
}
