//! The elements of a raw BSON document with their byte offsets, on top of the `bson` crate.
//!
//! `bson::RawDocument` decodes elements (framing, lengths, UTF-8 of keys and strings, booleans,
//! code with scope) but says neither where an element is nor what its value's bytes are. The
//! Extended JSON writer needs the offset of a damaged element for its error, and both it and the
//! query matcher need the bytes of a DBPointer (whose fields the crate keeps private) and of a
//! binary value with the old subtype 2 (whose inner length the crate strips). Elements are
//! contiguous, so the offsets follow from the key lengths and value sizes the crate gives.

use bson::raw::{RawArray, RawBsonRef, RawDocument, RawIter};

/// What is wrong with a document, and where: `at` is a byte offset from the start of the
/// document this walk began at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bad {
    pub at: usize,
    pub detail: String,
}

impl Bad {
    pub fn new(at: usize, detail: impl Into<String>) -> Bad {
        Bad {
            at,
            detail: detail.into(),
        }
    }

    /// The same problem seen from a document that holds this one at `base`.
    pub fn shifted(mut self, base: usize) -> Bad {
        self.at += base;
        self
    }

    /// As the crate's error, for a document read on its own.
    pub fn into_error(self) -> crate::Error {
        crate::Error::Malformed {
            input: crate::error::Input::Bson,
            at: Some(self.at as u64),
            detail: self.detail,
        }
    }
}

/// Checks the envelope of a whole document: a length prefix equal to the length of `bytes`, and
/// a terminating NUL. The elements are checked as they are walked.
pub(crate) fn document(bytes: &[u8]) -> Result<&RawDocument, Bad> {
    let Some(prefix) = bytes.first_chunk::<4>() else {
        return Err(Bad::new(
            0,
            format!("{} bytes cannot hold a document (5 at least)", bytes.len()),
        ));
    };
    let declared = i32::from_le_bytes(*prefix);
    if usize::try_from(declared).ok() != Some(bytes.len()) {
        return Err(Bad::new(
            0,
            format!(
                "the length prefix says {declared} bytes, the document has {}",
                bytes.len()
            ),
        ));
    }
    if bytes.len() < 5 {
        return Err(Bad::new(0, "a document is 5 bytes at least"));
    }
    RawDocument::from_bytes(bytes).map_err(|e| Bad::new(bytes.len() - 1, describe(&e, None)))
}

/// One element of a document.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Element<'a> {
    /// Offset of the element's type byte in its document.
    pub offset: usize,
    pub key: &'a str,
    pub value: RawBsonRef<'a>,
    /// Offset of the value's first byte in its document.
    pub value_offset: usize,
    /// The value's bytes, as stored.
    pub raw: &'a [u8],
}

impl Element<'_> {
    /// A DBPointer's namespace and ObjectId bytes (the crate keeps them private).
    pub fn db_pointer(&self) -> Option<(&str, [u8; 12])> {
        let (len, rest) = self.raw.split_first_chunk::<4>()?;
        let n = usize::try_from(i32::from_le_bytes(*len)).ok()?;
        let namespace = std::str::from_utf8(rest.get(..n.checked_sub(1)?)?).ok()?;
        let oid = rest.get(n..)?.first_chunk::<12>()?;
        Some((namespace, *oid))
    }
}

/// The elements of `doc` in order, each decoded; the first damaged one ends the walk with its
/// offset (in `doc`).
pub(crate) fn elements(doc: &RawDocument) -> Elements<'_> {
    Elements {
        inner: doc.iter_elements(),
        bytes: doc.as_bytes(),
        pos: 4,
        done: false,
    }
}

/// See [`elements`].
pub(crate) struct Elements<'a> {
    inner: RawIter<'a>,
    bytes: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Iterator for Elements<'a> {
    type Item = Result<Element<'a>, Bad>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let offset = self.pos;
        let found = match self.inner.next()? {
            Ok(element) => element,
            Err(e) => {
                self.done = true;
                return Some(Err(Bad::new(offset, describe(&e, None))));
            }
        };
        let key = found.key().as_str();
        let value_offset = offset + 1 + key.len() + 1;
        let end = value_offset + found.size();
        let (Some(raw), Ok(value)) = (self.bytes.get(value_offset..end), found.value()) else {
            self.done = true;
            let detail = match found.value() {
                Err(e) => describe(&e, Some(key)),
                Ok(_) => format!("field {key:?}: an element runs past its document"),
            };
            return Some(Err(Bad::new(offset, detail)));
        };
        self.pos = end;
        Some(Ok(Element {
            offset,
            key,
            value,
            value_offset,
            raw,
        }))
    }
}

/// The bson crate's error in a sentence, without its "BSON error ... Kind ..." preamble, and
/// with the field it names (or `key`, if it names none).
fn describe(e: &bson::error::Error, key: Option<&str>) -> String {
    let mut what = match &e.message {
        Some(message) => message.clone(),
        None => e.kind.to_string(),
    };
    // Errors wrapped in errors carry the inner one's whole Display in their message.
    if let Some(at) = what.find("Message: ") {
        what = what[at + "Message: ".len()..]
            .trim_end_matches('.')
            .to_string();
    }
    match e.key.as_deref().or(key) {
        Some(key) if !key.is_empty() => format!("field {key:?}: {what}"),
        _ => what,
    }
}

/// An array as the document it is (the crate keeps that conversion private).
pub(crate) fn array_document(array: &RawArray) -> Result<&RawDocument, Bad> {
    RawDocument::from_bytes(array.as_bytes()).map_err(|e| Bad::new(0, describe(&e, None)))
}

/// Where the scope document of a code-with-scope value starts, from the value's start.
pub(crate) fn scope_offset(code: &str) -> usize {
    4 + 4 + code.len() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_follow_keys_and_sizes() {
        // {"a": 1 (int32), "bc": "x"}
        let doc = b"\x16\0\0\0\x10a\0\x01\0\0\0\x02bc\0\x02\0\0\0x\0\0";
        let doc = document(doc).unwrap();
        let all: Vec<_> = elements(doc).map(Result::unwrap).collect();
        assert_eq!((all[0].offset, all[0].value_offset), (4, 7));
        assert_eq!((all[1].offset, all[1].value_offset), (11, 15));
        assert_eq!(all[1].raw, b"\x02\0\0\0x\0");
    }

    #[test]
    fn envelope_errors_name_an_offset() {
        assert_eq!(document(b"\x05\0\0").unwrap_err().at, 0);
        assert_eq!(document(b"\x06\0\0\0\0").unwrap_err().at, 0);
        assert_eq!(document(b"\x05\0\0\0\x01").unwrap_err().at, 4);
    }

    #[test]
    fn a_bad_string_is_reported_at_its_element() {
        // {"a": 1, "s": <invalid UTF-8>}
        let doc = b"\x15\0\0\0\x10a\0\x01\0\0\0\x02s\0\x02\0\0\0\xff\0\0";
        let doc = document(doc).unwrap();
        let bad = elements(doc).nth(1).unwrap().unwrap_err();
        assert_eq!(bad.at, 11, "{bad:?}");
        assert!(bad.detail.contains("UTF-8"), "{bad:?}");
    }

    #[test]
    fn db_pointer_parts() {
        // {"p": DBPointer("ns", 12 bytes)}
        let mut doc = vec![0u8; 4];
        doc.extend_from_slice(b"\x0cp\0\x03\0\0\0ns\0");
        doc.extend_from_slice(&[7u8; 12]);
        doc.push(0);
        let len = doc.len() as i32;
        doc[..4].copy_from_slice(&len.to_le_bytes());
        let doc = document(&doc).unwrap();
        let p = elements(doc).next().unwrap().unwrap();
        assert_eq!(p.db_pointer(), Some(("ns", [7u8; 12])));
    }
}
