//! The collection table in bounded memory: what was found about each (directory, collection)
//! pair, kept in a sorted map up to [`BUDGET`] bytes and spilled past it, as sorted runs, to an
//! unnamed temporary file; [`Table::into_sorted`] merges the map and the runs back into one
//! stream of groups in key order, each key once.
//!
//! So the memory of a check does not grow with the number of collections: a backup of a million
//! collections costs the budget, the merge buffers (at most [`FAN_IN`] runs of 64 KiB read at
//! once) and a file in `TMPDIR`, which is deleted when the table is dropped (it never has a
//! name).

use std::collections::BTreeMap;
use std::io;

use super::report::{CollectionError, CollectionKind as Kind};
use super::spill::{Merge, Spill, FAN_IN};

/// The most bytes the in-memory part of the table may hold before it is spilled.
pub(super) const BUDGET: usize = 8 << 20;

/// Where a group sorts: the archive directory, the collection's file stem (as mongodump
/// escaped it; `system.buckets.` taken off a timeseries bucket file's), and whether the stem
/// had that prefix. A timeseries collection's metadata (`X.metadata.json`) and its buckets
/// (`system.buckets.X.bson`) thus sort next to each other.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(super) struct Key {
    pub(super) dir: Vec<u8>,
    pub(super) stem: Vec<u8>,
    pub(super) buckets: bool,
}

/// What is known about one key: its `.bson` file, its `.metadata.json` file, and whether some
/// directory of dump files sits just below this one (for the oplog rule).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Group {
    /// The `.bson` file's path as stored in the archive.
    pub(super) bson_path: Option<Vec<u8>>,
    /// The `.metadata.json` file's path as stored in the archive.
    pub(super) metadata_path: Option<Vec<u8>>,
    pub(super) gzip: bool,
    pub(super) documents: u64,
    pub(super) bytes: u64,
    pub(super) bson_file_bytes: u64,
    pub(super) metadata_file_bytes: u64,
    pub(super) indexes: u64,
    /// `collectionName` from the metadata, at most [`names::NAME_KEPT`](super::names::NAME_KEPT)
    /// bytes.
    pub(super) collection_name: Option<String>,
    pub(super) kind: Option<Kind>,
    pub(super) error: Option<CollectionError>,
    /// A directory holding dump files has this key's directory as its parent.
    pub(super) has_child_dirs: bool,
}

impl Group {
    pub(super) fn set_error(&mut self, error: CollectionError) {
        self.error.get_or_insert(error);
    }

    /// Takes in what `other` knows of the same key (another file, or the same collection
    /// from another run): a file seen twice is an error of the collection.
    pub(super) fn absorb(&mut self, other: Group) {
        let twice = |path: &[u8]| CollectionError {
            path: crate::archive::escape_name(path),
            reason: "the file appears twice in the archive".into(),
            ..Default::default()
        };
        if let Some(path) = other.bson_path {
            if self.bson_path.is_some() {
                self.set_error(twice(&path));
            } else {
                self.bson_path = Some(path);
                self.documents = other.documents;
                self.bytes = other.bytes;
                self.bson_file_bytes = other.bson_file_bytes;
            }
        }
        if let Some(path) = other.metadata_path {
            if self.metadata_path.is_some() {
                self.set_error(twice(&path));
            } else {
                self.metadata_path = Some(path);
                self.indexes = other.indexes;
                self.collection_name = other.collection_name;
                self.kind = other.kind;
                self.metadata_file_bytes = other.metadata_file_bytes;
            }
        }
        self.gzip |= other.gzip;
        self.has_child_dirs |= other.has_child_dirs;
        if let Some(e) = other.error {
            self.set_error(e);
        }
    }

    /// What the group costs in memory, roughly (its heap parts and the map's node).
    fn weight(&self, key: &Key) -> usize {
        let opt = |v: &Option<Vec<u8>>| v.as_ref().map_or(0, Vec::len);
        let error = self
            .error
            .as_ref()
            .map_or(0, |e| 96 + e.path.len() + e.reason.len());
        256 + key.dir.len()
            + key.stem.len()
            + opt(&self.bson_path)
            + opt(&self.metadata_path)
            + self.collection_name.as_ref().map_or(0, String::len)
            + error
    }
}

/// Groups in key order, each key once, as [`Table::into_sorted`] gives them.
pub(super) type Sorted = Box<dyn Iterator<Item = io::Result<(Key, Group)>> + Send>;

/// The table: a sorted map in memory, and the runs already spilled.
#[derive(Debug)]
pub(super) struct Table {
    map: BTreeMap<Key, Group>,
    weight: usize,
    budget: usize,
    spill: Option<Spill>,
}

impl Default for Table {
    fn default() -> Table {
        Table {
            map: BTreeMap::new(),
            weight: 0,
            budget: BUDGET,
            spill: None,
        }
    }
}

impl Table {
    /// Merges `group` into the group of `key`, spilling the map when it is over budget.
    pub(super) fn add(&mut self, key: Key, group: Group) -> io::Result<()> {
        match self.map.get_mut(&key) {
            Some(existing) => {
                let before = existing.weight(&key);
                existing.absorb(group);
                self.weight = self.weight - before + existing.weight(&key);
            }
            None => {
                self.weight += group.weight(&key);
                self.map.insert(key, group);
            }
        }
        if self.weight > self.budget {
            self.spill_map()?;
        }
        Ok(())
    }

    fn spill_map(&mut self) -> io::Result<()> {
        let spill = match &mut self.spill {
            Some(s) => s,
            None => self.spill.insert(Spill::new()?),
        };
        let map = std::mem::take(&mut self.map);
        self.weight = 0;
        spill.write_run(map.into_iter().map(Ok))
    }

    /// Every group, in key order, each key once: the map and the spilled runs merged.
    pub(super) fn into_sorted(mut self) -> io::Result<Sorted> {
        let Some(mut spill) = self.spill.take() else {
            return Ok(Box::new(self.map.into_iter().map(Ok)));
        };
        if !self.map.is_empty() {
            self.spill_map_into(&mut spill)?;
        }
        while spill.runs.len() > FAN_IN {
            let first: Vec<(u64, u64)> = spill.runs.drain(..FAN_IN).collect();
            let merged = Merge::new(&spill.file, &first)?;
            spill.write_run(merged)?;
        }
        let runs = std::mem::take(&mut spill.runs);
        Ok(Box::new(Merge::new(&spill.file, &runs)?))
    }

    fn spill_map_into(&mut self, spill: &mut Spill) -> io::Result<()> {
        let map = std::mem::take(&mut self.map);
        spill.write_run(map.into_iter().map(Ok))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(dir: &str, stem: &str) -> Key {
        Key {
            dir: dir.into(),
            stem: stem.into(),
            buckets: false,
        }
    }

    fn bson(path: &str, documents: u64) -> Group {
        Group {
            bson_path: Some(path.into()),
            documents,
            ..Default::default()
        }
    }

    fn metadata(path: &str, name: &str) -> Group {
        Group {
            metadata_path: Some(path.into()),
            collection_name: Some(name.into()),
            kind: Some(Kind::Timeseries),
            indexes: 3,
            ..Default::default()
        }
    }

    /// Past the budget, the groups go to disk and come back merged, in order, each key once,
    /// with the files of one collection that were spilled apart put together again.
    #[test]
    fn spilled_runs_merge_back_in_order() {
        let mut t = Table {
            budget: 256 << 10,
            ..Table::default()
        };
        let n = 20_000;
        for i in 0..n {
            let dir = format!("dump/db{:03}", i % 997);
            t.add(
                key(&dir, &format!("c{i}")),
                bson(&format!("{dir}/c{i}.bson"), i),
            )
            .unwrap();
        }
        for i in (0..n).rev() {
            let dir = format!("dump/db{:03}", i % 997);
            t.add(
                key(&dir, &format!("c{i}")),
                metadata(&format!("{dir}/c{i}.metadata.json"), "x"),
            )
            .unwrap();
        }
        // The last metadata again: a duplicate, in another run than the first.
        t.add(
            key("dump/db000", "c0"),
            metadata("dump/db000/c0.metadata.json", "x"),
        )
        .unwrap();
        assert!(
            t.spill.as_ref().is_some_and(|s| s.runs.len() > 2),
            "it spilled"
        );
        let all: Vec<(Key, Group)> = t.into_sorted().unwrap().map(Result::unwrap).collect();
        assert_eq!(all.len(), n as usize);
        assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
        for (k, g) in &all {
            let i: u64 = std::str::from_utf8(&k.stem[1..]).unwrap().parse().unwrap();
            assert_eq!(g.documents, i);
            assert!(g.bson_path.is_some() && g.metadata_path.is_some());
            let twice = g.error.as_ref().is_some_and(|e| e.reason.contains("twice"));
            assert_eq!(twice, i == 0, "{k:?}");
        }
    }

    #[test]
    fn many_runs_are_merged_in_passes() {
        let mut t = Table::default();
        let mut spill = Spill {
            file: tempfile::tempfile().unwrap(),
            runs: Vec::new(),
        };
        for r in 0..(FAN_IN * 2 + 3) {
            let groups = (0..3).map(|i| Ok((key("d", &format!("{i:02}-{r:03}")), bson("p", 1))));
            spill.write_run(groups).unwrap();
        }
        t.spill = Some(spill);
        let keys: Vec<Key> = t.into_sorted().unwrap().map(|g| g.unwrap().0).collect();
        assert_eq!(keys.len(), (FAN_IN * 2 + 3) * 3);
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
    }
}
