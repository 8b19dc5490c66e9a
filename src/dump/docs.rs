//! The documents of one `.bson` stream, one at a time, each checked whole by
//! [`check`](crate::check)'s validator ([`check_document`]) before it is handed over: the same
//! framing limits, the same verdicts, the same index and offsets as `check` reports.

use std::io::{self, Read};

use crate::check::bson::{check_document, MAX_DOCUMENT_SIZE, MIN_DOCUMENT_SIZE};
use crate::error::{Error, Result};

use super::source::is_gzip_damage;

/// Read buffer: documents are read in blocks of this size, a larger one alone.
const BLOCK: usize = 256 * 1024;

/// Reads documents off a `.bson` stream (see the [module docs](self)).
pub(crate) struct DocReader<'r> {
    inner: &'r mut dyn Read,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Stream offset of `buf[start]`.
    offset: u64,
    /// Documents handed over so far.
    index: u64,
    /// The collection, as errors name it (escaped).
    namespace: String,
}

/// One document of the stream: its index from 0, the offset of its length prefix, its bytes.
pub(crate) struct Doc<'b> {
    pub(crate) index: u64,
    pub(crate) offset: u64,
    pub(crate) bytes: &'b [u8],
}

impl<'r> DocReader<'r> {
    pub(crate) fn new(inner: &'r mut dyn Read, namespace: String) -> Self {
        DocReader {
            inner,
            buf: vec![0; BLOCK],
            start: 0,
            end: 0,
            offset: 0,
            index: 0,
            namespace,
        }
    }

    /// Bytes of the stream read so far (documents handed over).
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    fn damaged(&self, at: u64, reason: String) -> Error {
        Error::DamagedDocument {
            namespace: self.namespace.clone(),
            document: self.index,
            offset: self.offset,
            at,
            reason,
        }
    }

    /// The next document, `None` at the end of the stream.
    ///
    /// # Errors
    ///
    /// [`Error::DamagedDocument`] for a document that `check` reports as damaged (and for a
    /// `.gz` file's damaged gzip stream); the archive's errors.
    pub(crate) fn next_doc(&mut self) -> Result<Option<Doc<'_>>> {
        let have = self.fill(4)?;
        if have == 0 {
            return Ok(None);
        }
        if have < 4 {
            let reason =
                format!("the file ends {have} bytes into a document's 4-byte length prefix");
            return Err(self.damaged(self.offset, reason));
        }
        let p = &self.buf[self.start..self.start + 4];
        let declared = i32::from_le_bytes([p[0], p[1], p[2], p[3]]);
        let len = match usize::try_from(declared) {
            Ok(n) if (MIN_DOCUMENT_SIZE..=MAX_DOCUMENT_SIZE).contains(&n) => n,
            _ => {
                let reason = format!(
                    "length prefix {declared} is outside {MIN_DOCUMENT_SIZE} ..= {MAX_DOCUMENT_SIZE}"
                );
                return Err(self.damaged(self.offset, reason));
            }
        };
        let have = self.fill(len)?;
        if have < len {
            let reason = format!("the file ends {have} bytes into a document of {len} bytes");
            return Err(self.damaged(self.offset + have as u64, reason));
        }
        if let Err((at, reason)) = check_document(&self.buf[self.start..self.start + len]) {
            return Err(self.damaged(self.offset + at as u64, reason));
        }
        let (start, index, offset) = (self.start, self.index, self.offset);
        self.start += len;
        self.offset += len as u64;
        self.index += 1;
        Ok(Some(Doc {
            index,
            offset,
            bytes: &self.buf[start..start + len],
        }))
    }

    /// Makes `need` bytes available from `start` if the stream has them; returns how many are.
    fn fill(&mut self, need: usize) -> Result<usize> {
        if self.end - self.start >= need {
            return Ok(need);
        }
        if self.start + need > self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if need > self.buf.len() {
                self.buf.resize(need.next_multiple_of(BLOCK), 0);
            }
        }
        while self.end - self.start < need {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => break,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(match is_gzip_damage(&e) {
                        Some(reason) => {
                            self.damaged(self.offset + (self.end - self.start) as u64, reason)
                        }
                        None => Error::from(e),
                    })
                }
            }
        }
        Ok((self.end - self.start).min(need))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_then_damage_at_checks_offsets() {
        let good = bson::rawdoc! { "a": 1 };
        let mut data = good.as_bytes().to_vec();
        data.extend_from_slice(good.as_bytes());
        data.extend_from_slice(b"\x0c\0\0\0\x20a\0\x01\0\0\0\0");
        let mut input = &data[..];
        let mut r = DocReader::new(&mut input, "d.c".into());
        assert_eq!(r.next_doc().unwrap().unwrap().index, 0);
        let second = r.next_doc().unwrap().unwrap();
        assert_eq!((second.index, second.offset), (1, 12));
        match r.next_doc() {
            Err(Error::DamagedDocument {
                document,
                offset,
                at,
                ..
            }) => {
                assert_eq!((document, offset, at), (2, 24, 28));
            }
            other => panic!("{:?}", other.map(|d| d.map(|d| d.index))),
        }
        let summary = crate::check::bson::validate_bson(&mut &data[..]).unwrap();
        let e = summary.error.unwrap();
        assert_eq!((e.document, e.offset, e.at), (2, 24, 28));
    }

    #[test]
    fn a_cut_stream_and_a_huge_prefix() {
        let mut input: &[u8] = b"\x05\0\0";
        let mut r = DocReader::new(&mut input, "d.c".into());
        assert!(matches!(
            r.next_doc(),
            Err(Error::DamagedDocument { at: 0, .. })
        ));
        let mut input: &[u8] = b"\xff\xff\xff\x7f\0\0\0\0";
        let mut r = DocReader::new(&mut input, "d.c".into());
        assert!(matches!(
            r.next_doc(),
            Err(Error::DamagedDocument { document: 0, .. })
        ));
    }
}
