//! The comparing half of a diff: for each collection in name order, the old and the new
//! backup's digests merged back in (`_id` hash, document hash) order and joined, one `_id` at
//! a time, so that memory holds one `_id` and its counts.

use std::collections::VecDeque;

use crate::error::Result;

use super::collect::{id_document, Backup, Side};
use super::digest::{Merged, Record};
use super::metadata::{compare, MetaDigest};
use super::{Change, CollectionDiff, DiffEntry, DiffSummary, IdChange, Presence};

/// The changes between two backups, as they are found (see the [module docs](super)): the
/// `_id`s of a collection (when asked for), then its [`CollectionDiff`], collection after
/// collection in name order. [`finish`](Self::finish) gives the totals.
///
/// # Examples
///
/// See the [module docs](super).
#[derive(Debug)]
pub struct Diff {
    backups: [Backup; 2],
    /// The collections of either backup in name order (their numbers in each), and the next
    /// one to compare.
    order: Vec<[Option<u32>; 2]>,
    next: usize,
    ids: bool,
    summary: DiffSummary,
    current: Option<Joining>,
    failed: bool,
}

/// One collection being joined.
struct Joining {
    old: Merged,
    new: Merged,
    peek: [Option<Record>; 2],
    diff: CollectionDiff,
    /// `_id`s found and not handed over yet: (change, `{_id}` document, how many times).
    pending: VecDeque<(Change, Option<Vec<u8>>, u64)>,
}

impl std::fmt::Debug for Joining {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Joining")
            .field("namespace", &self.diff.namespace)
            .finish_non_exhaustive()
    }
}

impl Diff {
    pub(super) fn new(old: Backup, new: Backup, ids: bool, mut summary: DiffSummary) -> Diff {
        let mut names: Vec<&crate::dump::Namespace> = old.names.iter().chain(&new.names).collect();
        names.sort();
        names.dedup();
        let order: Vec<[Option<u32>; 2]> = names
            .iter()
            .map(|ns| [old.find(ns), new.find(ns)])
            .collect();
        summary.collections = order.len() as u64;
        Diff {
            backups: [old, new],
            order,
            next: 0,
            ids,
            summary,
            current: None,
            failed: false,
        }
    }

    /// Reads the changes not read yet and returns the totals.
    ///
    /// # Errors
    ///
    /// An I/O error reading back the diff's temporary file.
    ///
    /// # Examples
    ///
    /// See the [module docs](super).
    pub fn finish(mut self) -> Result<DiffSummary> {
        self.ids = false;
        for entry in self.by_ref() {
            entry?;
        }
        Ok(self.summary)
    }

    fn start(&mut self, numbers: [Option<u32>; 2]) -> Result<Joining> {
        let none = Side::default();
        let side = |b: usize| match numbers[b] {
            Some(n) => &self.backups[b].sides[n as usize],
            None => &none,
        };
        let (old_side, new_side) = (side(0), side(1));
        let present = |s: &Side| s.bson || s.metadata.is_some();
        let presence = match (present(old_side), present(new_side)) {
            (true, false) => Presence::OldOnly,
            (false, true) => Presence::NewOnly,
            _ => Presence::Both,
        };
        let empty = MetaDigest::default();
        let old_meta = old_side.metadata.as_ref().unwrap_or(&empty);
        let new_meta = new_side.metadata.as_ref().unwrap_or(&empty);
        let (indexes_added, indexes_removed, indexes_changed) =
            compare(&old_meta.indexes, &new_meta.indexes);
        let (options_added, options_removed, options_changed) =
            compare(&old_meta.options, &new_meta.options);
        let records = |b: usize| match numbers[b] {
            Some(n) => self.backups[b].digests.collection(n),
            None => Ok(Merged::empty()),
        };
        let (mut old, mut new) = (records(0)?, records(1)?);
        let peek = [old.next_record()?, new.next_record()?];
        let namespace = match numbers {
            [Some(n), _] => self.backups[0].names[n as usize].clone(),
            [None, Some(n)] => self.backups[1].names[n as usize].clone(),
            [None, None] => crate::dump::Namespace::new("", ""),
        };
        Ok(Joining {
            old,
            new,
            peek,
            diff: CollectionDiff {
                namespace,
                presence,
                added: 0,
                removed: 0,
                changed: 0,
                unchanged: 0,
                indexes_added,
                indexes_removed,
                indexes_changed,
                options_added,
                options_removed,
                options_changed,
            },
            pending: VecDeque::new(),
        })
    }
}

impl Joining {
    /// Joins the records of the next `_id`; `false` when both sides are done.
    fn step(&mut self, ids: bool) -> Result<bool> {
        let key = match (&self.peek[0], &self.peek[1]) {
            (None, None) => return Ok(false),
            (Some(o), None) => o.id_hash,
            (None, Some(n)) => n.id_hash,
            (Some(o), Some(n)) => o.id_hash.min(n.id_hash),
        };
        let (mut old_left, mut new_left) = (0u64, 0u64);
        let mut id: Option<Vec<u8>> = None;
        loop {
            let o = self.peek[0].as_ref().filter(|r| r.id_hash == key);
            let n = self.peek[1].as_ref().filter(|r| r.id_hash == key);
            let (take_old, take_new) = match (o, n) {
                (None, None) => break,
                (Some(o), Some(n)) if o.doc_hash == n.doc_hash => {
                    self.diff.unchanged += 1;
                    (true, true)
                }
                (Some(o), Some(n)) if o.doc_hash < n.doc_hash => (true, false),
                (Some(_), None) => (true, false),
                _ => (false, true),
            };
            if take_old != take_new {
                *(if take_old {
                    &mut old_left
                } else {
                    &mut new_left
                }) += 1;
            }
            for (side, take) in [(0, take_old), (1, take_new)] {
                if !take {
                    continue;
                }
                let next = if side == 0 {
                    self.old.next_record()?
                } else {
                    self.new.next_record()?
                };
                let rec = std::mem::replace(&mut self.peek[side], next);
                if ids && id.is_none() {
                    id = rec.filter(|r| !r.id.is_empty()).map(|r| r.id);
                }
            }
        }
        // Copies with no twin of the same bytes pair as changed. (A document without `_id`
        // is keyed by its bytes, so its copies are alike and never left on both sides.)
        let changed = old_left.min(new_left);
        self.diff.changed += changed;
        self.diff.removed += old_left - changed;
        self.diff.added += new_left - changed;
        if ids {
            let doc = id.as_deref().and_then(id_document);
            for (change, count) in [
                (Change::Changed, changed),
                (Change::Removed, old_left - changed),
                (Change::Added, new_left - changed),
            ] {
                if count > 0 {
                    self.pending.push_back((change, doc.clone(), count));
                }
            }
        }
        Ok(true)
    }
}

impl Iterator for Diff {
    type Item = Result<DiffEntry>;

    fn next(&mut self) -> Option<Result<DiffEntry>> {
        if self.failed {
            return None;
        }
        loop {
            if let Some(j) = &mut self.current {
                if let Some((change, id, count)) = j.pending.front_mut() {
                    let entry = IdChange {
                        namespace: j.diff.namespace.clone(),
                        change: *change,
                        id: id.clone(),
                    };
                    *count -= 1;
                    if *count == 0 {
                        j.pending.pop_front();
                    }
                    return Some(Ok(DiffEntry::Id(entry)));
                }
                match j.step(self.ids) {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(e) => {
                        self.failed = true;
                        return Some(Err(e));
                    }
                }
                let done = self.current.take().map(|j| j.diff)?;
                let s = &mut self.summary;
                s.added += done.added;
                s.removed += done.removed;
                s.changed += done.changed;
                s.unchanged += done.unchanged;
                s.changed_collections += u64::from(!done.is_unchanged());
                return Some(Ok(DiffEntry::Collection(done)));
            }
            let numbers = *self.order.get(self.next)?;
            self.next += 1;
            match self.start(numbers) {
                Ok(j) => self.current = Some(j),
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::diff::{diff_readers, DiffEntry, DiffOptions};
    use crate::pack::{pack_writer, PackOptions};

    fn backup(docs: &[bson::RawDocumentBuf]) -> Vec<u8> {
        let tree = tempfile::tempdir().unwrap();
        std::fs::create_dir(tree.path().join("d")).unwrap();
        let bson: Vec<u8> = docs.iter().flat_map(|d| d.as_bytes().to_vec()).collect();
        std::fs::write(tree.path().join("d/c.bson"), bson).unwrap();
        let mut gz = Vec::new();
        pack_writer(tree.path(), &mut gz, None, PackOptions::new()).unwrap();
        gz
    }

    #[test]
    fn documents_without_id_and_duplicate_ids_pair_by_content() {
        let (a, b) = (bson::rawdoc! { "v": 1 }, bson::rawdoc! { "v": 2 });
        let (x1, x2, x3) = (
            bson::rawdoc! { "_id": 1, "n": 1 },
            bson::rawdoc! { "_id": 1, "n": 2 },
            bson::rawdoc! { "_id": 1, "n": 3 },
        );
        let old = backup(&[a.clone(), a.clone(), b.clone(), x1.clone(), x2.clone()]);
        let new = backup(&[a.clone(), b.clone(), b, x2, x3.clone(), x3]);
        let options = DiffOptions::new().ids(true);
        let entries: Vec<_> = diff_readers(&old[..], &new[..], None, options)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let Some(DiffEntry::Collection(c)) = entries.last() else {
            panic!("{entries:?}")
        };
        // {v:1} twice then once: one removed; {v:2} once then twice: one added; _id 1: n=2
        // unchanged, n=1 against n=3 changed, the second n=3 added.
        assert_eq!((c.added, c.removed, c.changed, c.unchanged), (2, 1, 1, 3));
        let without_id = entries
            .iter()
            .filter(|e| matches!(e, DiffEntry::Id(i) if i.id.is_none()))
            .count();
        assert_eq!(without_id, 2);
    }
}
