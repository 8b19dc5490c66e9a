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
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

use super::report::{CollectionError, CollectionKind as Kind};

/// The most bytes the in-memory part of the table may hold before it is spilled.
pub(super) const BUDGET: usize = 8 << 20;

/// The most runs merged at once; past it, runs are merged into longer ones first.
const FAN_IN: usize = 64;

/// Read buffer of one run during a merge.
const RUN_BUFFER: usize = 64 * 1024;

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

/// The temporary file and the runs in it, as (offset, length).
#[derive(Debug)]
struct Spill {
    file: File,
    runs: Vec<(u64, u64)>,
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
            None => self.spill.insert(Spill {
                file: tempfile::tempfile()?,
                runs: Vec::new(),
            }),
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

impl Spill {
    /// Appends one run (groups in key order) at the end of the file.
    fn write_run(
        &mut self,
        groups: impl Iterator<Item = io::Result<(Key, Group)>>,
    ) -> io::Result<()> {
        let start = self.file.seek(SeekFrom::End(0))?;
        let mut w = BufWriter::with_capacity(RUN_BUFFER, &self.file);
        let mut len = 0u64;
        for g in groups {
            let (key, group) = g?;
            let mut record = Vec::new();
            encode(&mut record, &key, &group);
            w.write_all(&(record.len() as u64).to_le_bytes())?;
            w.write_all(&record)?;
            len += 8 + record.len() as u64;
        }
        w.flush()?;
        self.runs.push((start, len));
        Ok(())
    }
}

/// A run read back: its records, one at a time, through a buffer of its own.
struct RunReader {
    file: File,
    at: u64,
    end: u64,
    buf: Vec<u8>,
    pos: usize,
}

impl RunReader {
    fn fill(&mut self, need: usize) -> io::Result<()> {
        if self.buf.len() - self.pos >= need {
            return Ok(());
        }
        self.buf.drain(..self.pos);
        self.pos = 0;
        let want = need.max(RUN_BUFFER);
        while self.buf.len() < need {
            let room = (want - self.buf.len()).min((self.end - self.at) as usize);
            if room == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "spilled run cut short",
                ));
            }
            let old = self.buf.len();
            self.buf.resize(old + room, 0);
            let n = self.file.read_at(&mut self.buf[old..], self.at)?;
            self.buf.truncate(old + n);
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "spilled run cut short",
                ));
            }
            self.at += n as u64;
        }
        Ok(())
    }

    fn next(&mut self) -> io::Result<Option<(Key, Group)>> {
        if self.pos == self.buf.len() && self.at == self.end {
            return Ok(None);
        }
        self.fill(8)?;
        let len = u64::from_le_bytes(
            self.buf[self.pos..self.pos + 8]
                .try_into()
                .expect("8 bytes"),
        );
        self.pos += 8;
        let len = usize::try_from(len).map_err(|_| bad())?;
        self.fill(len)?;
        let record = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        decode(record).map(Some)
    }
}

/// A k-way merge of sorted runs, equal keys absorbed into one group.
struct Merge {
    readers: Vec<RunReader>,
    heads: Vec<Option<(Key, Group)>>,
}

impl Merge {
    fn new(file: &File, runs: &[(u64, u64)]) -> io::Result<Merge> {
        let mut readers = Vec::with_capacity(runs.len());
        let mut heads = Vec::with_capacity(runs.len());
        for &(start, len) in runs {
            let mut r = RunReader {
                file: file.try_clone()?,
                at: start,
                end: start + len,
                buf: Vec::new(),
                pos: 0,
            };
            heads.push(r.next()?);
            readers.push(r);
        }
        Ok(Merge { readers, heads })
    }

    fn step(&mut self) -> io::Result<Option<(Key, Group)>> {
        let Some(smallest) = self
            .heads
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.as_ref().map(|(k, _)| (i, k)))
            .min_by(|a, b| a.1.cmp(b.1))
            .map(|(i, _)| i)
        else {
            return Ok(None);
        };
        let (key, mut group) = self.heads[smallest].take().expect("chosen as present");
        self.heads[smallest] = self.readers[smallest].next()?;
        for i in 0..self.heads.len() {
            while self.heads[i].as_ref().is_some_and(|(k, _)| *k == key) {
                let (_, g) = self.heads[i].take().expect("checked");
                group.absorb(g);
                self.heads[i] = self.readers[i].next()?;
            }
        }
        Ok(Some((key, group)))
    }
}

impl Iterator for Merge {
    type Item = io::Result<(Key, Group)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.step().transpose()
    }
}

fn bad() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "spilled record is damaged")
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u64(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn put_opt_bytes(out: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        None => out.push(0),
        Some(b) => {
            out.push(1);
            put_bytes(out, b);
        }
    }
}

fn put_opt_u64(out: &mut Vec<u8>, v: Option<u64>) {
    match v {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            put_u64(out, v);
        }
    }
}

fn encode(out: &mut Vec<u8>, key: &Key, g: &Group) {
    put_bytes(out, &key.dir);
    put_bytes(out, &key.stem);
    let flags = u8::from(key.buckets) | u8::from(g.gzip) << 1 | u8::from(g.has_child_dirs) << 2;
    out.push(flags);
    put_opt_bytes(out, g.bson_path.as_deref());
    put_opt_bytes(out, g.metadata_path.as_deref());
    for v in [
        g.documents,
        g.bytes,
        g.bson_file_bytes,
        g.metadata_file_bytes,
        g.indexes,
    ] {
        put_u64(out, v);
    }
    put_opt_bytes(out, g.collection_name.as_deref().map(str::as_bytes));
    out.push(g.kind.map_or(0, |k| k as u8 + 1));
    match &g.error {
        None => out.push(0),
        Some(e) => {
            out.push(1);
            put_bytes(out, e.path.as_bytes());
            for v in [e.document, e.offset, e.at, e.line, e.column] {
                put_opt_u64(out, v);
            }
            put_bytes(out, e.reason.as_bytes());
        }
    }
}

/// Reads back what [`encode`] wrote.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn u8(&mut self) -> io::Result<u8> {
        let (&b, rest) = self.0.split_first().ok_or_else(bad)?;
        self.0 = rest;
        Ok(b)
    }

    fn u64(&mut self) -> io::Result<u64> {
        let mut b = [0u8; 8];
        self.0.read_exact(&mut b).map_err(|_| bad())?;
        Ok(u64::from_le_bytes(b))
    }

    fn bytes(&mut self) -> io::Result<Vec<u8>> {
        let len = usize::try_from(self.u64()?).map_err(|_| bad())?;
        if len > self.0.len() {
            return Err(bad());
        }
        let (b, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(b.to_vec())
    }

    fn string(&mut self) -> io::Result<String> {
        String::from_utf8(self.bytes()?).map_err(|_| bad())
    }

    fn opt_bytes(&mut self) -> io::Result<Option<Vec<u8>>> {
        match self.u8()? {
            0 => Ok(None),
            _ => self.bytes().map(Some),
        }
    }

    fn opt_u64(&mut self) -> io::Result<Option<u64>> {
        match self.u8()? {
            0 => Ok(None),
            _ => self.u64().map(Some),
        }
    }
}

fn decode(record: &[u8]) -> io::Result<(Key, Group)> {
    let mut c = Cursor(record);
    let dir = c.bytes()?;
    let stem = c.bytes()?;
    let flags = c.u8()?;
    let key = Key {
        dir,
        stem,
        buckets: flags & 1 != 0,
    };
    let mut g = Group {
        gzip: flags & 2 != 0,
        has_child_dirs: flags & 4 != 0,
        bson_path: c.opt_bytes()?,
        metadata_path: c.opt_bytes()?,
        ..Default::default()
    };
    g.documents = c.u64()?;
    g.bytes = c.u64()?;
    g.bson_file_bytes = c.u64()?;
    g.metadata_file_bytes = c.u64()?;
    g.indexes = c.u64()?;
    g.collection_name = c
        .opt_bytes()?
        .map(|b| String::from_utf8(b).map_err(|_| bad()))
        .transpose()?;
    g.kind = match c.u8()? {
        0 => None,
        k => Some(Kind::from_index(k - 1).ok_or_else(bad)?),
    };
    if c.u8()? != 0 {
        g.error = Some(CollectionError {
            path: c.string()?,
            document: c.opt_u64()?,
            offset: c.opt_u64()?,
            at: c.opt_u64()?,
            line: c.opt_u64()?,
            column: c.opt_u64()?,
            reason: c.string()?,
        });
    }
    Ok((key, g))
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

    #[test]
    fn records_read_back_as_written() {
        let mut g = metadata("d/c.metadata.json", "c");
        g.error = Some(CollectionError {
            path: "d/c.metadata.json".into(),
            line: Some(2),
            reason: "r".into(),
            ..Default::default()
        });
        g.absorb(bson("d/c.bson", 7));
        g.has_child_dirs = true;
        let k = Key {
            buckets: true,
            ..key("d", "c")
        };
        let mut out = Vec::new();
        encode(&mut out, &k, &g);
        assert_eq!(decode(&out).unwrap(), (k, g));
        assert!(decode(&out[..out.len() - 1]).is_err());
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
