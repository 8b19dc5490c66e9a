//! The comparing half of a diff: for each collection in name order, the old and the new
//! backup's digests merged back in (`_id` hash, document hash) order and joined, one `_id` at
//! a time, so that memory holds one `_id` and its counts.

use std::collections::VecDeque;

use crate::error::Result;

use super::collect::{id_document, Collections};
use super::digest::{Digests, Merged, Record};
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
    collections: Collections,
    digests: [Digests; 2],
    /// Collection numbers in name order, and the next one to compare.
    order: Vec<u32>,
    next: usize,
    ids: bool,
    summary: DiffSummary,
    current: Option<Joining>,
    failed: bool,
}

/// One collection being joined.
struct Joining {
    number: u32,
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
            .field("number", &self.number)
            .finish_non_exhaustive()
    }
}

impl Diff {
    pub(super) fn new(
        collections: Collections,
        digests: [Digests; 2],
        ids: bool,
        mut summary: DiffSummary,
    ) -> Diff {
        let mut order: Vec<u32> = (0..collections.names.len() as u32).collect();
        order.sort_by(|a, b| collections.names[*a as usize].cmp(&collections.names[*b as usize]));
        summary.collections = order.len() as u64;
        Diff {
            collections,
            digests,
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

    fn start(&mut self, number: u32) -> Result<Joining> {
        let n = number as usize;
        let [old_side, new_side] = &self.collections.sides[n];
        let present = |s: &super::collect::Side| s.bson || s.metadata.is_some();
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
        let mut old = self.digests[0].collection(number)?;
        let mut new = self.digests[1].collection(number)?;
        let peek = [old.next_record()?, new.next_record()?];
        Ok(Joining {
            number,
            old,
            new,
            peek,
            diff: CollectionDiff {
                namespace: self.collections.names[n].clone(),
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
            let number = *self.order.get(self.next)?;
            self.next += 1;
            match self.start(number) {
                Ok(j) => self.current = Some(j),
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}
