//! The check table's runs on disk: groups written in key order to an unnamed temporary file,
//! read back through a buffer each, and merged k ways (equal keys absorbed into one group),
//! in passes of at most [`FAN_IN`] runs.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

use super::report::{CollectionError, CollectionKind as Kind};
use super::table::{Group, Key};

/// The most runs merged at once; past it, runs are merged into longer ones first.
pub(super) const FAN_IN: usize = 64;

/// Read buffer of one run during a merge.
const RUN_BUFFER: usize = 64 * 1024;

/// The temporary file and the runs in it, as (offset, length).
#[derive(Debug)]
pub(super) struct Spill {
    pub(super) file: File,
    pub(super) runs: Vec<(u64, u64)>,
}

impl Spill {
    /// An empty spill file in `TMPDIR`, without a name.
    pub(super) fn new() -> io::Result<Spill> {
        Ok(Spill {
            file: tempfile::tempfile()?,
            runs: Vec::new(),
        })
    }

    /// Appends one run (groups in key order) at the end of the file.
    pub(super) fn write_run(
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
pub(super) struct Merge {
    readers: Vec<RunReader>,
    heads: Vec<Option<(Key, Group)>>,
}

impl Merge {
    pub(super) fn new(file: &File, runs: &[(u64, u64)]) -> io::Result<Merge> {
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
}
