//! BSON documents as MongoDB Extended JSON v2, as `bsondump` prints them.
//!
//! [`write_document`] writes one BSON document (its bytes, as a `.bson` file of a mongodump
//! holds them, or [`bson::RawDocument::as_bytes`]) into an [`std::io::Write`]:
//!
//! * **canonical** by default (every number typed: `{"$numberInt": "1"}`,
//!   `{"$numberDouble": "1.0"}`, dates as `{"$date": {"$numberLong": "..."}}`), which keeps every
//!   BSON type; **relaxed** on request ([`ExtJsonOptions::relaxed`]): numbers as JSON numbers
//!   (non-finite doubles excepted) and dates from 1970 to 9999 as ISO-8601 strings;
//! * **compact** on one line by default, as `bsondump` prints (byte for byte: doubles spelled
//!   as MongoDB's Go driver spells them, `1.0`, `1E+06`; strings escaped as it escapes them),
//!   or **pretty** ([`ExtJsonOptions::pretty`]), indented with tabs as `bsondump --pretty`;
//! * field order kept, duplicate keys included; regular expression options sorted.
//!
//! The document is checked whole before a byte is written, so a damaged document writes
//! nothing and is an [`Error::Malformed`] naming the byte offset (in the document) of the
//! element at fault: a length or terminator that does not add up, an unknown type, a string
//! that is not UTF-8, a boolean other than 0 or 1, nesting deeper than [`MAX_DEPTH`], and
//! every other `decodeErrors` case of MongoDB's BSON corpus.
//!
//! Memory: the writer streams, keeping a buffer of at most 64 KiB and a few bytes per nesting
//! level besides the document it is given, whatever the document's size (binary values are
//! encoded to base64 in chunks). A document whose JSON fits in the buffer is written in one
//! pass; a larger one is checked in a first pass, then streamed.
//!
//! Decoding is the `bson` crate's (`RawDocument`); the JSON is written here rather than through
//! `bson::Bson::into_canonical_extjson`, which builds the whole document as a
//! `serde_json::Value` first: measured on a 16 MiB document of small values, 1071 MiB of peak
//! RSS and 2.7 s, where this writer adds under 1 MiB and takes 0.2 s. It also spells doubles
//! otherwise than `bsondump` (`1000000.0` for `1E+06`).
//!
//! # Examples
//!
//! ```
//! use a0backup::extjson::{self, ExtJsonOptions};
//! // {"_id": 1 (int32), "a": 1.0, "when": 2014-11-14T19:03:03Z}
//! let mut doc = bson::rawdoc! { "_id": 1, "a": 1.0 };
//! doc.append(bson::cstr!("when"), bson::DateTime::from_millis(1_415_991_783_000));
//! let canonical = extjson::to_string(doc.as_bytes(), ExtJsonOptions::new())?;
//! assert_eq!(
//!     canonical,
//!     r#"{"_id":{"$numberInt":"1"},"a":{"$numberDouble":"1.0"},"when":{"$date":{"$numberLong":"1415991783000"}}}"#
//! );
//! let relaxed = extjson::to_string(doc.as_bytes(), ExtJsonOptions::new().relaxed(true))?;
//! assert_eq!(relaxed, r#"{"_id":1,"a":1.0,"when":{"$date":"2014-11-14T19:03:03Z"}}"#);
//! # Ok::<(), a0backup::Error>(())
//! ```

mod emit;
mod json;
mod walk;

use std::io::Write;

use bson::raw::RawDocument;

use crate::error::{Error, Result};
use crate::rawbson::{self, Bad};
use emit::Emitter;
use json::Json;
use walk::{walk, Check, Failure};

/// The deepest nesting written (the top-level document is depth 0, a document or array inside
/// it depth 1, the scope of a code-with-scope value counts as one): mongod refuses to store
/// documents nested deeper, and [`check`](crate::check) reports them as damaged.
///
/// # Examples
///
/// ```
/// use a0backup::extjson::{self, ExtJsonOptions, MAX_DEPTH};
/// let nested = |levels: usize| {
///     let mut doc = bson::rawdoc! {};
///     for _ in 0..levels {
///         doc = bson::rawdoc! { "o": doc };
///     }
///     doc
/// };
/// assert!(extjson::to_string(nested(MAX_DEPTH).as_bytes(), ExtJsonOptions::new()).is_ok());
/// assert!(extjson::to_string(nested(MAX_DEPTH + 1).as_bytes(), ExtJsonOptions::new()).is_err());
/// ```
pub const MAX_DEPTH: usize = 180;

/// How [`write_document`] writes: canonical or relaxed, compact or pretty.
///
/// # Examples
///
/// ```
/// use a0backup::extjson::{self, ExtJsonOptions};
/// let doc = bson::rawdoc! { "n": 3_i64, "tags": ["a"] };
/// let pretty = extjson::to_string(doc.as_bytes(), ExtJsonOptions::new().relaxed(true).pretty(true))?;
/// assert_eq!(pretty, "{\n\t\"n\": 3,\n\t\"tags\": [\n\t\t\"a\"\n\t]\n}");
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtJsonOptions {
    relaxed: bool,
    pretty: bool,
}

impl ExtJsonOptions {
    /// Canonical and compact: what `bsondump` prints.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = a0backup::extjson::ExtJsonOptions::new();
    /// assert_eq!(options, Default::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Relaxed mode: int32, int64 and finite doubles as JSON numbers, dates from 1970-01-01 to
    /// 9999-12-31 as `{"$date": "YYYY-MM-DDTHH:MM:SS[.mmm]Z"}`. Readable, but a reader no
    /// longer tells an int64 from an int32 or a double. Off by default.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::extjson::{self, ExtJsonOptions};
    /// let doc = bson::rawdoc! { "logins": 3 };
    /// let json = extjson::to_string(doc.as_bytes(), ExtJsonOptions::new().relaxed(true))?;
    /// assert_eq!(json, r#"{"logins":3}"#);
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn relaxed(mut self, yes: bool) -> Self {
        self.relaxed = yes;
        self
    }

    /// Pretty: indented with tabs over several lines, as `bsondump --pretty`. Off by default
    /// (one line, no spaces).
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::extjson::{self, ExtJsonOptions};
    /// let doc = bson::rawdoc! { "a": {} };
    /// let json = extjson::to_string(doc.as_bytes(), ExtJsonOptions::new().pretty(true))?;
    /// assert_eq!(json, "{\n\t\"a\": {}\n}");
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn pretty(mut self, yes: bool) -> Self {
        self.pretty = yes;
        self
    }
}

/// Writes one BSON document as Extended JSON into `out`, with no newline after it (see the
/// [module docs](self)). A damaged document writes nothing. To write many documents, an
/// [`ExtJsonWriter`] keeps its buffer from one to the next.
///
/// # Errors
///
/// [`Error::Malformed`] (`input` = [`Input::Bson`](crate::error::Input::Bson), `at` = the offset in `document` of the
/// element at fault) when `document` is not exactly one valid BSON document; [`Error::Io`]
/// when `out` fails.
///
/// # Examples
///
/// ```
/// use a0backup::extjson::{write_document, ExtJsonOptions};
/// let doc = bson::rawdoc! { "b": "I am a string" };
/// let mut out = Vec::new();
/// write_document(doc.as_bytes(), &mut out, ExtJsonOptions::new())?;
/// assert_eq!(out, br#"{"b":"I am a string"}"#);
///
/// // A string that is not UTF-8: the error names the element's offset.
/// let damaged = b"\x0e\0\0\0\x02s\0\x02\0\0\0\xff\0\0";
/// match write_document(damaged, &mut Vec::new(), ExtJsonOptions::new()) {
///     Err(a0backup::Error::Malformed { at: Some(4), detail, .. }) => assert!(detail.contains("UTF-8")),
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn write_document<W: Write + ?Sized>(
    document: &[u8],
    out: &mut W,
    options: ExtJsonOptions,
) -> Result<()> {
    write_with(document, out, &options, &mut Vec::new())
}

/// [`write_document`] into a `String`.
///
/// # Errors
///
/// [`Error::Malformed`] when `document` is not exactly one valid BSON document.
///
/// # Examples
///
/// ```
/// use a0backup::extjson::{to_string, ExtJsonOptions};
/// let doc = bson::rawdoc! { "_id": bson::oid::ObjectId::parse_str("546651e74bf6e4cb017c5312").unwrap() };
/// assert_eq!(to_string(doc.as_bytes(), ExtJsonOptions::new())?, r#"{"_id":{"$oid":"546651e74bf6e4cb017c5312"}}"#);
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn to_string(document: &[u8], options: ExtJsonOptions) -> Result<String> {
    let mut out = Vec::new();
    write_document(document, &mut out, options)?;
    String::from_utf8(out).map_err(|_| Error::InvalidArgument("non-UTF-8 output".into()))
}

/// Writes documents one after the other into a writer, as [`write_document`] does, reusing one
/// buffer (at most 64 KiB) for all of them: what a dump of a collection wants.
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// use a0backup::extjson::{ExtJsonOptions, ExtJsonWriter};
/// let mut w = ExtJsonWriter::new(Vec::new(), ExtJsonOptions::new().relaxed(true));
/// for n in 0..2 {
///     w.write_document(bson::rawdoc! { "n": n }.as_bytes())?;
///     w.get_mut().write_all(b"\n")?;
/// }
/// assert_eq!(w.into_inner(), b"{\"n\":0}\n{\"n\":1}\n");
/// # Ok::<(), a0backup::Error>(())
/// ```
pub struct ExtJsonWriter<W: Write> {
    out: W,
    options: ExtJsonOptions,
    buf: Vec<u8>,
}

impl<W: Write> ExtJsonWriter<W> {
    /// A writer into `out` with these options.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::extjson::{ExtJsonOptions, ExtJsonWriter};
    /// let w = ExtJsonWriter::new(std::io::sink(), ExtJsonOptions::new().pretty(true));
    /// # drop(w);
    /// ```
    pub fn new(out: W, options: ExtJsonOptions) -> Self {
        ExtJsonWriter {
            out,
            options,
            buf: Vec::new(),
        }
    }

    /// Writes one document, with no newline after it; a damaged one writes nothing.
    ///
    /// # Errors
    ///
    /// As [`write_document`]: [`Error::Malformed`] for a damaged document (the writer can go
    /// on with the next one), [`Error::Io`] when the inner writer fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::extjson::{ExtJsonOptions, ExtJsonWriter};
    /// let mut w = ExtJsonWriter::new(Vec::new(), ExtJsonOptions::new());
    /// assert!(w.write_document(b"\x05\0\0\0\x01").is_err());
    /// w.write_document(bson::rawdoc! { "ok": true }.as_bytes())?;
    /// assert_eq!(w.get_ref(), br#"{"ok":true}"#);
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn write_document(&mut self, document: &[u8]) -> Result<()> {
        write_with(document, &mut self.out, &self.options, &mut self.buf)
    }

    /// The inner writer.
    ///
    /// # Examples
    ///
    /// ```
    /// let w = a0backup::extjson::ExtJsonWriter::new(Vec::<u8>::new(), Default::default());
    /// assert!(w.get_ref().is_empty());
    /// ```
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// The inner writer, to write between documents (a newline, a comma).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// let mut w = a0backup::extjson::ExtJsonWriter::new(Vec::new(), Default::default());
    /// w.get_mut().write_all(b"[")?;
    /// assert_eq!(w.get_ref(), b"[");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// The inner writer back (nothing is buffered between documents).
    ///
    /// # Examples
    ///
    /// ```
    /// let w = a0backup::extjson::ExtJsonWriter::new(Vec::<u8>::new(), Default::default());
    /// let out: Vec<u8> = w.into_inner();
    /// assert!(out.is_empty());
    /// ```
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> std::fmt::Debug for ExtJsonWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtJsonWriter")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The writer: one pass into `buf` when the JSON fits in it (the usual case), else a checking
/// pass, then a second pass streaming through `buf`.
fn write_with<W: Write + ?Sized>(
    document: &[u8],
    out: &mut W,
    options: &ExtJsonOptions,
    buf: &mut Vec<u8>,
) -> Result<()> {
    let doc = rawbson::document(document).map_err(Bad::into_error)?;
    buf.clear();
    match emit(doc, out, buf, options, true) {
        Ok(()) => {
            out.write_all(buf)?;
            buf.clear();
            return Ok(());
        }
        Err(Failure::Io(_)) => {} // larger than the buffer: nothing written yet
        Err(bad) => return Err(bad.into_error()),
    }
    walk(doc, 0, &mut Check).map_err(Failure::into_error)?;
    buf.clear();
    let streamed = emit(doc, out, buf, options, false);
    buf.clear();
    streamed.map_err(Failure::into_error)
}

/// One writing walk: held in `buf` (failing once it is full) or streamed through it.
fn emit<W: Write + ?Sized>(
    doc: &RawDocument,
    out: &mut W,
    buf: &mut Vec<u8>,
    options: &ExtJsonOptions,
    hold: bool,
) -> Result<(), Failure> {
    let mut json = Json {
        out: Emitter::new(out, buf, hold, options.pretty),
        relaxed: options.relaxed,
    };
    json.out.open(b'{')?;
    walk(doc, 0, &mut json)?;
    json.out.close(b'}')?;
    if !hold {
        json.out.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_depth_is_checks() {
        assert_eq!(MAX_DEPTH, crate::check::bson::MAX_DEPTH);
    }
}
