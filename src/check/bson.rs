//! A streaming validator of `.bson` files: concatenated BSON documents, as mongodump writes them.
//!
//! It checks the framing of every document, as mongo-tools' `bson_stream.go` and mongod's own
//! validation would, in one pass and with at most one document in memory:
//!
//! * the int32 little-endian length prefix is within [`MIN_DOCUMENT_SIZE`] ..=
//!   [`MAX_DOCUMENT_SIZE`] (16 MiB + 16 KiB, what bsondump and mongorestore accept);
//! * the element list walks exactly to the terminating NUL, every type byte is one the BSON
//!   spec lists (0x01 ..= 0x13, 0x7F, 0xFF; deprecated ones included), every name is a
//!   C-string, and every value has the size its type gives: strings, code and symbols with their
//!   int32 length and trailing NUL, binary with its subtype (and the inner length of the old
//!   subtype 2), regular expressions as two C-strings, DBPointers, code with scope whose parts
//!   fill its length exactly, booleans of 0 or 1, and nested documents and arrays framed the
//!   same way, at most [`MAX_DEPTH`] levels deep (mongod's limit for stored documents);
//! * a file that ends inside a document (or inside its length prefix) is an error at that
//!   document.
//!
//! Every string (values of type string, code, symbol, DBPointer and code with scope), element
//! name and regular expression is checked to be UTF-8, as MongoDB's BSON corpus (the test suite
//! every driver follows) requires: a driver refuses to read such a document, so it is damaged
//! data even where mongod stored it. Array keys are not checked to be `0`, `1`, ...: drivers
//! read such arrays, and mongod stores them.
//!
//! The walk is iterative (no recursion on hostile nesting) and every index is checked, so no
//! input makes it panic.

use std::io::{self, Read};

/// The smallest document: a length prefix and the terminating NUL.
///
/// # Examples
///
/// ```
/// use a0backup::check::bson::{check_document, MIN_DOCUMENT_SIZE};
/// assert_eq!(MIN_DOCUMENT_SIZE, b"\x05\0\0\0\0".len());
/// assert!(check_document(b"\x05\0\0\0\0").is_ok());
/// ```
pub const MIN_DOCUMENT_SIZE: usize = 5;

/// The largest document that bsondump and mongorestore read: 16 MiB + 16 KiB.
///
/// # Examples
///
/// ```
/// use a0backup::check::bson::{validate_bson, MAX_DOCUMENT_SIZE};
/// let too_big = (MAX_DOCUMENT_SIZE as i32 + 1).to_le_bytes();
/// let error = validate_bson(&mut &too_big[..])?.error.unwrap();
/// assert!(error.reason.contains("outside"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub const MAX_DOCUMENT_SIZE: usize = 16 * 1024 * 1024 + 16 * 1024;

/// The deepest nesting accepted (a top-level document is depth 0, a document or array inside it
/// depth 1): mongod refuses to store documents nested deeper than 180 levels.
///
/// # Examples
///
/// ```
/// use a0backup::check::bson::{check_document, MAX_DEPTH};
/// // {o: {o: ... {}}} with `levels` embedded documents.
/// let nested = |levels: usize| {
///     let mut d = b"\x05\0\0\0\0".to_vec();
///     for _ in 0..levels {
///         let mut outer = ((d.len() + 8) as i32).to_le_bytes().to_vec();
///         outer.extend_from_slice(b"\x03o\0");
///         outer.extend_from_slice(&d);
///         outer.push(0);
///         d = outer;
///     }
///     d
/// };
/// assert!(check_document(&nested(MAX_DEPTH)).is_ok());
/// assert!(check_document(&nested(MAX_DEPTH + 1)).is_err());
/// ```
pub const MAX_DEPTH: usize = 180;

/// How much is read from the stream at a time.
const CHUNK: usize = 64 * 1024;

/// What [`validate_bson`] found in one `.bson` stream.
///
/// # Examples
///
/// ```
/// use a0backup::check::bson::validate_bson;
/// let two_empty_documents = b"\x05\0\0\0\0\x05\0\0\0\0";
/// let summary = validate_bson(&mut &two_empty_documents[..])?;
/// assert_eq!((summary.documents, summary.bytes, summary.file_bytes), (2, 10, 10));
/// assert!(summary.error.is_none());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BsonSummary {
    /// Documents read cleanly (before the first bad one, if any).
    pub documents: u64,
    /// Bytes of those documents (their length prefixes summed).
    pub bytes: u64,
    /// Bytes of the whole stream (equal to `bytes` when there is no error).
    pub file_bytes: u64,
    /// The first bad document; nothing after it is validated, since its framing is lost.
    pub error: Option<BsonError>,
}

/// The first bad document of a `.bson` stream.
///
/// # Examples
///
/// ```
/// use a0backup::check::bson::validate_bson;
/// // A good empty document, then one whose terminating NUL is 1.
/// let data = b"\x05\0\0\0\0\x05\0\0\0\x01";
/// let error = validate_bson(&mut &data[..])?.error.expect("the second is bad");
/// assert_eq!((error.document, error.offset, error.at), (1, 5, 9));
/// assert!(error.reason.contains("terminating NUL"), "{}", error.reason);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BsonError {
    /// Index of the document in the stream, from 0 (the count of good documents before it).
    pub document: u64,
    /// Byte offset of the document's length prefix in the stream.
    pub offset: u64,
    /// Byte offset in the stream of the byte where the problem shows.
    pub at: u64,
    /// What is wrong, in a sentence.
    pub reason: String,
}

/// Reads a stream of BSON documents to its end and checks the framing of each one (see the
/// [module docs](self)). Memory: one document at most (16 MiB + 16 KiB) plus 64 KiB.
///
/// Validation stops at the first bad document, and the rest of the stream is read (and counted
/// in [`BsonSummary::file_bytes`]) so that a caller reading an archive stays in step.
///
/// # Errors
///
/// Only the I/O errors of `r`. A damaged document is not an error of this function: it is
/// reported in [`BsonSummary::error`].
///
/// # Examples
///
/// ```
/// use a0backup::check::bson::validate_bson;
/// // {"a": 1} (int32), then a document cut after 3 of its 12 bytes.
/// let data = b"\x0c\0\0\0\x10a\0\x01\0\0\0\0\x0c\0\0";
/// let summary = validate_bson(&mut &data[..])?;
/// assert_eq!((summary.documents, summary.bytes, summary.file_bytes), (1, 12, 15));
/// let error = summary.error.unwrap();
/// assert_eq!((error.document, error.offset), (1, 12));
/// assert!(error.reason.contains("ends"), "{}", error.reason);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn validate_bson<R: Read + ?Sized>(r: &mut R) -> io::Result<BsonSummary> {
    let mut window = Window::new(r);
    let mut summary = BsonSummary::default();
    loop {
        let offset = window.offset;
        let have = window.fill(4)?;
        if have == 0 {
            break;
        }
        let fail = |at: usize, reason: String| BsonError {
            document: summary.documents,
            offset,
            at: offset + at as u64,
            reason,
        };
        if have < 4 {
            summary.error = Some(fail(
                0,
                format!("the file ends {have} bytes into a document's 4-byte length prefix"),
            ));
            break;
        }
        let prefix = window.peek(4);
        let declared = i32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
        let len = match usize::try_from(declared) {
            Ok(n) if (MIN_DOCUMENT_SIZE..=MAX_DOCUMENT_SIZE).contains(&n) => n,
            _ => {
                summary.error = Some(fail(
                    0,
                    format!(
                        "length prefix {declared} is outside {MIN_DOCUMENT_SIZE} ..= {MAX_DOCUMENT_SIZE}"
                    ),
                ));
                break;
            }
        };
        let have = window.fill(len)?;
        if have < len {
            summary.error = Some(fail(
                have,
                format!("the file ends {have} bytes into a document of {len} bytes"),
            ));
            break;
        }
        if let Err((at, reason)) = check_document(window.peek(len)) {
            summary.error = Some(fail(at, reason));
            break;
        }
        window.consume(len);
        summary.documents += 1;
        summary.bytes += len as u64;
    }
    summary.file_bytes = window.drain()?;
    Ok(summary)
}

/// Checks one whole document held in memory: `doc` must be exactly the document, its length
/// prefix equal to `doc.len()`.
///
/// # Errors
///
/// The byte offset inside `doc` where the framing breaks, and why.
///
/// # Examples
///
/// ```
/// use a0backup::check::bson::check_document;
/// assert!(check_document(b"\x0c\0\0\0\x10a\0\x01\0\0\0\0").is_ok());
/// // The same with an unknown element type 0x20 at byte 4.
/// let (at, reason) = check_document(b"\x0c\0\0\0\x20a\0\x01\0\0\0\0").unwrap_err();
/// assert_eq!(at, 4);
/// assert!(reason.contains("0x20"), "{reason}");
/// ```
pub fn check_document(doc: &[u8]) -> Result<(), (usize, String)> {
    let len =
        read_len(doc, 0, doc.len()).map_err(|_| (0, "shorter than a length prefix".to_string()))?;
    if len != doc.len() || len < MIN_DOCUMENT_SIZE {
        return Err((
            0,
            format!(
                "length prefix {len} is not the document's size {}",
                doc.len()
            ),
        ));
    }
    // The end (exclusive) of every open document; the last byte of each is its NUL.
    let mut ends = [0usize; MAX_DEPTH + 1];
    let mut depth = 0;
    ends[0] = len;
    let mut pos = 4;
    loop {
        let end = ends[depth];
        if pos + 1 == end {
            if doc[pos] != 0 {
                let what = if depth == 0 {
                    "document"
                } else {
                    "embedded document"
                };
                return Err((
                    pos,
                    format!("the {what}'s terminating NUL is 0x{:02x}", doc[pos]),
                ));
            }
            pos = end;
            if depth == 0 {
                return Ok(());
            }
            depth -= 1;
            continue;
        }
        // Here pos + 1 < end: an element starts at pos and must end before the NUL at end - 1.
        let limit = end - 1;
        let at = pos;
        let kind = doc[pos];
        if kind == 0 {
            let early = limit - pos;
            return Err((
                pos,
                format!("a NUL ends the element list {early} bytes before the declared length"),
            ));
        }
        let name_end = find_nul(doc, pos + 1, limit).ok_or_else(|| {
            (
                at,
                "an element name runs past the end of its document".to_string(),
            )
        })?;
        utf8(doc, pos + 1, name_end, "an element name").map_err(|r| (at, r))?;
        pos = name_end + 1;
        let value = pos;
        let overrun = |what: &str| {
            (at, format!("the {what} value of element type 0x{kind:02x} runs past the end of its document"))
        };
        let fixed = |n: usize| {
            value
                .checked_add(n)
                .filter(|&e| e <= limit)
                .ok_or_else(|| overrun("fixed-size"))
        };
        pos = match kind {
            0x06 | 0x0A | 0x7F | 0xFF => value,
            0x08 => {
                let e = fixed(1)?;
                if doc[value] > 1 {
                    return Err((
                        value,
                        format!("a boolean of value 0x{:02x} (not 0 or 1)", doc[value]),
                    ));
                }
                e
            }
            0x10 => fixed(4)?,
            0x01 | 0x09 | 0x11 | 0x12 => fixed(8)?,
            0x07 => fixed(12)?,
            0x13 => fixed(16)?,
            0x02 | 0x0D | 0x0E => string(doc, value, limit).map_err(|r| (at, r))?,
            0x0C => {
                let e = string(doc, value, limit).map_err(|r| (at, r))?;
                e.checked_add(12)
                    .filter(|&e| e <= limit)
                    .ok_or_else(|| overrun("DBPointer"))?
            }
            0x0B => {
                let pattern =
                    find_nul(doc, value, limit).ok_or_else(|| overrun("regex pattern"))?;
                utf8(doc, value, pattern, "a regex pattern").map_err(|r| (at, r))?;
                let options =
                    find_nul(doc, pattern + 1, limit).ok_or_else(|| overrun("regex options"))?;
                utf8(doc, pattern + 1, options, "regex options").map_err(|r| (at, r))?;
                options + 1
            }
            0x05 => {
                let n = read_len(doc, value, limit).map_err(|r| (at, r))?;
                let e = (value + 5)
                    .checked_add(n)
                    .filter(|&e| e <= limit)
                    .ok_or_else(|| overrun("binary"))?;
                if doc[value + 4] == 2
                    && read_len(doc, value + 5, e)
                        .ok()
                        .and_then(|i| i.checked_add(4))
                        != Some(n)
                {
                    return Err((at, format!("an old binary (subtype 2) of {n} bytes whose inner length is not {n} - 4")));
                }
                e
            }
            0x03 | 0x04 | 0x0F => {
                let n = read_len(doc, value, limit).map_err(|r| (at, r))?;
                let e = value
                    .checked_add(n)
                    .filter(|&e| e <= limit)
                    .ok_or_else(|| overrun("embedded"))?;
                let inner = if kind == 0x0F {
                    if n < 14 {
                        return Err((at, format!("code with scope of {n} bytes (at least 14)")));
                    }
                    string(doc, value + 4, e).map_err(|r| (at, r))?
                } else {
                    value
                };
                let size = read_len(doc, inner, e).map_err(|r| (at, r))?;
                if size < MIN_DOCUMENT_SIZE || inner + size != e {
                    return Err((
                        inner,
                        format!(
                            "an embedded document of {size} bytes where {} remain",
                            e - inner
                        ),
                    ));
                }
                if depth == MAX_DEPTH {
                    return Err((
                        at,
                        format!("documents nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
                depth += 1;
                ends[depth] = e;
                inner + 4
            }
            _ => return Err((at, format!("unknown element type 0x{kind:02x}"))),
        };
    }
}

/// A non-negative int32 at `at`, wholly before `limit`.
fn read_len(doc: &[u8], at: usize, limit: usize) -> Result<usize, String> {
    let bytes = at
        .checked_add(4)
        .filter(|&e| e <= limit)
        .and_then(|e| doc.get(at..e))
        .ok_or_else(|| "a length runs past the end of its document".to_string())?;
    let v = i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    usize::try_from(v).map_err(|_| format!("a negative length ({v})"))
}

/// A BSON string (int32 length including the NUL, bytes, NUL) at `at`; returns its end.
fn string(doc: &[u8], at: usize, limit: usize) -> Result<usize, String> {
    let n = read_len(doc, at, limit)?;
    if n == 0 {
        return Err("a string of length 0 (at least its NUL)".into());
    }
    let end = (at + 4)
        .checked_add(n)
        .filter(|&e| e <= limit)
        .ok_or_else(|| format!("a string of {n} bytes runs past the end of its document"))?;
    match doc[end - 1] {
        0 => {
            utf8(doc, at + 4, end - 1, "a string")?;
            Ok(end)
        }
        b => Err(format!("a string of {n} bytes ends in 0x{b:02x}, not NUL")),
    }
}

/// `doc[from..to]`, the text of `what`, is UTF-8.
fn utf8(doc: &[u8], from: usize, to: usize, what: &str) -> Result<(), String> {
    match std::str::from_utf8(&doc[from..to]) {
        Ok(_) => Ok(()),
        Err(e) => Err(format!(
            "{what} that is not valid UTF-8 (at its byte {})",
            e.valid_up_to()
        )),
    }
}

/// The first NUL in `doc[from..limit]`.
fn find_nul(doc: &[u8], from: usize, limit: usize) -> Option<usize> {
    doc.get(from..limit)?
        .iter()
        .position(|&b| b == 0)
        .map(|i| from + i)
}

/// A read window over the stream that holds at least one whole document.
struct Window<'r, R: ?Sized> {
    r: &'r mut R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Stream offset of `buf[start]`.
    offset: u64,
}

impl<'r, R: Read + ?Sized> Window<'r, R> {
    fn new(r: &'r mut R) -> Self {
        Window {
            r,
            buf: vec![0; CHUNK],
            start: 0,
            end: 0,
            offset: 0,
        }
    }

    /// Makes `need` bytes available from `start` if the stream has them; returns how many are.
    fn fill(&mut self, need: usize) -> io::Result<usize> {
        if self.end - self.start >= need {
            return Ok(need);
        }
        if self.start + need > self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if need > self.buf.len() {
                self.buf.resize(need.next_multiple_of(CHUNK), 0);
            }
        }
        while self.end - self.start < need {
            match self.r.read(&mut self.buf[self.end..]) {
                Ok(0) => break,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok((self.end - self.start).min(need))
    }

    fn peek(&self, n: usize) -> &[u8] {
        &self.buf[self.start..self.start + n]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
    }

    /// Reads the stream to its end; returns its total size.
    fn drain(mut self) -> io::Result<u64> {
        let buffered = (self.end - self.start) as u64;
        let rest = io::copy(&mut self.r, &mut io::sink())?;
        Ok(self.offset + buffered + rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(body: &[u8]) -> Vec<u8> {
        let mut d = ((body.len() + 5) as i32).to_le_bytes().to_vec();
        d.extend_from_slice(body);
        d.push(0);
        d
    }

    #[test]
    fn every_type_is_walked() {
        let inner = doc(b"\x10x\0\x01\0\0\0");
        let mut body = Vec::new();
        body.extend_from_slice(b"\x01d\0\0\0\0\0\0\0\xf0\x3f");
        body.extend_from_slice(b"\x02s\0\x03\0\0\0hi\0");
        body.extend_from_slice(b"\x03o\0");
        body.extend_from_slice(&inner);
        body.extend_from_slice(b"\x04a\0");
        body.extend_from_slice(&inner);
        body.extend_from_slice(b"\x05b\0\x02\0\0\0\x80xy");
        body.extend_from_slice(b"\x05o\0\x06\0\0\0\x02\x02\0\0\0xy");
        body.extend_from_slice(b"\x06u\0\x07i\x00012345678901\x08t\0\x01");
        body.extend_from_slice(b"\x09t\0\0\0\0\0\0\0\0\0\x0an\0\x0br\0a.*\0i\0");
        body.extend_from_slice(b"\x0cp\0\x02\0\0\0c\x00012345678901");
        body.extend_from_slice(b"\x0dj\0\x02\0\0\0f\0\x0ey\0\x02\0\0\0s\0");
        let scope = doc(b"");
        let mut cws = ((4 + 4 + 2 + scope.len()) as i32).to_le_bytes().to_vec();
        cws.extend_from_slice(b"\x02\0\0\0f\0");
        cws.extend_from_slice(&scope);
        body.extend_from_slice(b"\x0fc\0");
        body.extend_from_slice(&cws);
        body.extend_from_slice(b"\x10i\0\x01\0\0\0\x11t\0\0\0\0\0\0\0\0\0\x12l\0\0\0\0\0\0\0\0\0");
        body.extend_from_slice(b"\x13m\0");
        body.extend_from_slice(&[0; 16]);
        body.extend_from_slice(b"\x7fM\0\xffm\0");
        let d = doc(&body);
        assert_eq!(check_document(&d), Ok(()));
        let mut stream = d.clone();
        stream.extend_from_slice(&d);
        let s = validate_bson(&mut &stream[..]).unwrap();
        assert_eq!(
            (s.documents, s.bytes, s.error),
            (2, stream.len() as u64, None)
        );
    }

    #[test]
    fn damage_is_found_where_it_is() {
        let good = doc(b"\x02s\0\x03\0\0\0hi\0");
        let cases: Vec<(Vec<u8>, usize, &str)> = vec![
            (doc(b"\x02s\0\x04\0\0\0hi\0"), 4, "runs past"),
            (doc(b"\x02s\0\x03\0\0\0hij"), 4, "not NUL"),
            (doc(b"\x02s\0\0\0\0\0hi\0"), 4, "length 0"),
            (doc(b"\x08b\0\x02"), 7, "boolean"),
            (doc(b"\x14s\0"), 4, "0x14"),
            (doc(b"\x10s"), 4, "name"),
            (doc(b"\x03o\0\x06\0\0\0\0"), 4, "runs past"),
            (doc(b"\x03o\0\x05\0\0\0\x01"), 11, "terminating NUL"),
            (doc(b"\x05b\0\x02\0\0\0\x02xy"), 4, "subtype 2"),
            (doc(b"\x05b\0\xff\xff\xff\xff\0"), 4, "negative"),
            (
                doc(b"\x10i\0\x01\0\0\0\0\0"),
                11,
                "before the declared length",
            ),
        ];
        for (bad, at, reason) in cases {
            let (got_at, got) = check_document(&bad).unwrap_err();
            assert!(got.contains(reason), "{bad:?}: {got}");
            assert_eq!(got_at, at, "{bad:?}: {got}");
            let mut stream = good.clone();
            stream.extend_from_slice(&bad);
            stream.extend_from_slice(&good);
            let s = validate_bson(&mut &stream[..]).unwrap();
            let e = s.error.unwrap();
            assert_eq!(
                (s.documents, e.document, e.offset),
                (1, 1, good.len() as u64)
            );
            assert_eq!(e.at, (good.len() + at) as u64);
            assert_eq!(s.file_bytes, stream.len() as u64);
        }
    }

    #[test]
    fn lengths_and_cuts() {
        for (stream, reason) in [
            (&b"\x04\0\0\0"[..], "outside"),
            (&b"\xff\xff\xff\xff"[..], "outside"),
            (&b"\x01\x01\x01\x01"[..], "outside"),
            (&b"\x05\0"[..], "length prefix"),
            (&b"\x06\0\0\0\0"[..], "ends 5 bytes into a document of 6"),
        ] {
            let s = validate_bson(&mut &stream[..]).unwrap();
            let e = s.error.unwrap();
            assert!(e.reason.contains(reason), "{stream:?}: {}", e.reason);
            assert_eq!(
                (e.document, e.offset, s.file_bytes),
                (0, 0, stream.len() as u64)
            );
        }
    }

    #[test]
    fn nesting_is_bounded_without_recursion() {
        let mut d = doc(b"");
        for level in 1..=MAX_DEPTH + 1 {
            let mut body = b"\x03o\0".to_vec();
            body.extend_from_slice(&d);
            d = doc(&body);
            assert_eq!(check_document(&d).is_ok(), level <= MAX_DEPTH, "{level}");
        }
    }

    #[test]
    fn documents_larger_than_a_chunk_and_the_limit() {
        let mut max = ((MAX_DOCUMENT_SIZE) as i32).to_le_bytes().to_vec();
        let n = MAX_DOCUMENT_SIZE - 13;
        max.extend_from_slice(b"\x05b\0");
        max.extend_from_slice(&(n as i32).to_le_bytes());
        max.push(0);
        max.resize(MAX_DOCUMENT_SIZE, 7);
        max[MAX_DOCUMENT_SIZE - 1] = 0;
        let mut stream = doc(b"");
        stream.extend_from_slice(&max);
        let s = validate_bson(&mut &stream[..]).unwrap();
        assert_eq!((s.documents, s.error), (2, None));
        stream[5] = stream[5].wrapping_add(1);
        let e = validate_bson(&mut &stream[..]).unwrap().error.unwrap();
        assert!(e.reason.contains("outside"), "{}", e.reason);
    }
}
