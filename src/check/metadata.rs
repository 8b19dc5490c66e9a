//! A validator of mongodump's `*.metadata.json` files.
//!
//! mongodump writes one JSON object per collection, in Extended JSON v2:
//! `{"options":{...},"indexes":[...],"uuid":"...","collectionName":"...","type":"collection"}`.
//! This checks that the file is JSON, that it is an object, that `indexes` (when present) is an
//! array of objects each with a `key` object and a `name` string (what mongorestore needs to
//! build them), that `options` is an object, and that `collectionName`, `type` and `uuid` are
//! strings (`uuid` 32 hex digits). Extended JSON wrappers inside `options` and the index specs
//! (`{"$numberInt": "1"}`) are JSON objects like any other and are not interpreted.
//!
//! The file is parsed as a stream by serde visitors that keep only the counts and at most 255
//! bytes of the names, so the memory is serde_json's buffer for the longest single string, at
//! most [`MAX_METADATA_SIZE`], however the JSON is shaped; it is freed with the file.

use std::fmt;
use std::io::{self, BufReader, Read};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::names::NAME_KEPT;

/// The largest metadata file read; larger ones are reported, not parsed (mongodump's are a few
/// KiB; a collection's options and indexes are bounded by a 16 MiB document).
///
/// # Examples
///
/// ```
/// assert_eq!(a0backup::check::metadata::MAX_METADATA_SIZE, 16 << 20);
/// ```
pub const MAX_METADATA_SIZE: u64 = 16 * 1024 * 1024;

/// What [`validate_metadata`] found in one `.metadata.json` file.
///
/// # Examples
///
/// ```
/// use a0backup::check::metadata::validate_metadata;
/// let json = br#"{"options":{},"indexes":[{"v":{"$numberInt":"2"},"key":{"_id":{"$numberInt":"1"}},"name":"_id_"}],
///                "uuid":"0123456789abcdef0123456789abcdef","collectionName":"users","type":"collection"}"#;
/// let m = validate_metadata(&mut &json[..])?;
/// assert_eq!((m.indexes, m.collection_name.as_deref(), m.kind.as_deref()), (1, Some("users"), Some("collection")));
/// assert!(m.error.is_none());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetadataSummary {
    /// The length of the `indexes` array (0 when absent or when the file is bad).
    pub indexes: u64,
    /// `collectionName`, the collection's real name (file names may be escaped or shortened).
    /// A name longer than MongoDB's 255-byte namespace is an [`error`](Self::error).
    pub collection_name: Option<String>,
    /// `type`: `collection`, `view` or `timeseries` (older mongodumps write none); at most 255
    /// bytes of it are kept.
    pub kind: Option<String>,
    /// Size of the file in bytes.
    pub file_bytes: u64,
    /// Why the file is not usable metadata, if it is not.
    pub error: Option<MetadataError>,
}

/// Why a metadata file is bad, and where.
///
/// # Examples
///
/// ```
/// use a0backup::check::metadata::validate_metadata;
/// let e = validate_metadata(&mut &b"{\"indexes\": [\n  {]"[..])?.error.unwrap();
/// assert_eq!((e.line, e.column), (Some(2), Some(4)));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetadataError {
    /// Line (from 1) where the parser saw the problem (none for a file too large to read).
    pub line: Option<u64>,
    /// Column (from 1) where the parser saw the problem.
    pub column: Option<u64>,
    /// What is wrong, in a sentence.
    pub reason: String,
}

/// Reads a `.metadata.json` stream to its end and checks it (see the [module docs](self)).
/// Memory: a 64 KiB buffer and the longest string of the file (at most [`MAX_METADATA_SIZE`]).
///
/// # Errors
///
/// Only the I/O errors of `r`; a bad file is reported in [`MetadataSummary::error`].
///
/// # Examples
///
/// ```
/// use a0backup::check::metadata::validate_metadata;
/// let m = validate_metadata(&mut &br#"{"indexes": {}}"#[..])?;
/// assert!(m.error.unwrap().reason.contains("indexes"));
/// let m = validate_metadata(&mut &b"not json"[..])?;
/// assert_eq!(m.error.unwrap().line, Some(1));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn validate_metadata<R: Read + ?Sized>(r: &mut R) -> io::Result<MetadataSummary> {
    let mut counted = Counted {
        inner: r,
        bytes: 0,
        error: None,
    };
    let mut buffered =
        BufReader::with_capacity(64 * 1024, (&mut counted).take(MAX_METADATA_SIZE + 1));
    let mut de = serde_json::Deserializer::from_reader(&mut buffered);
    let parsed = Top::deserialize(&mut de).and_then(|top| de.end().map(|()| top));
    io::copy(&mut buffered, &mut io::sink())?;
    drop(buffered);
    io::copy(&mut counted, &mut io::sink())?;
    if let Some(e) = counted.error.take() {
        return Err(e);
    }
    let mut summary = MetadataSummary {
        file_bytes: counted.bytes,
        ..Default::default()
    };
    if counted.bytes > MAX_METADATA_SIZE {
        summary.error = Some(MetadataError {
            line: None,
            column: None,
            reason: format!(
                "{} bytes, larger than the {MAX_METADATA_SIZE} bytes a metadata file may have",
                counted.bytes
            ),
        });
        return Ok(summary);
    }
    match parsed {
        Ok(top) => {
            summary.indexes = top.indexes;
            summary.collection_name = top.collection_name;
            summary.kind = top.kind;
        }
        Err(e) => {
            let what = if e.is_syntax() || e.is_eof() {
                "not JSON"
            } else {
                "not mongodump metadata"
            };
            summary.error = Some(MetadataError {
                line: Some(e.line() as u64),
                column: Some(e.column() as u64),
                reason: format!("{what}: {e}"),
            });
        }
    }
    Ok(summary)
}

/// Counts what is read, and keeps the I/O error that serde_json would turn into its own.
struct Counted<'r, R: ?Sized> {
    inner: &'r mut R,
    bytes: u64,
    error: Option<io::Error>,
}

impl<R: Read + ?Sized> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.bytes += n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                let copy = io::Error::new(e.kind(), e.to_string());
                self.error.get_or_insert(e);
                Err(copy)
            }
        }
    }
}

/// The top-level object: what is kept of it.
#[derive(Default)]
struct Top {
    indexes: u64,
    collection_name: Option<String>,
    kind: Option<String>,
}

impl Top {
    fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Top, D::Error> {
        d.deserialize_any(TopVisitor)
    }
}

/// A key of the top-level object or of an index spec, told apart without keeping it (a key can
/// be as long as the file).
#[derive(PartialEq, Eq)]
enum Field {
    Indexes,
    CollectionName,
    Type,
    Uuid,
    Options,
    Key,
    Name,
    Other,
}

impl<'de> de::Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Field, D::Error> {
        d.deserialize_str(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
        Ok(match v {
            "indexes" => Field::Indexes,
            "collectionName" => Field::CollectionName,
            "type" => Field::Type,
            "uuid" => Field::Uuid,
            "options" => Field::Options,
            "key" => Field::Key,
            "name" => Field::Name,
            _ => Field::Other,
        })
    }
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object (mongodump metadata)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut top = Top::default();
        while let Some(key) = map.next_key::<Field>()? {
            match key {
                Field::Indexes => top.indexes = map.next_value_seed(Indexes)?,
                Field::CollectionName => {
                    let name = map.next_value_seed(Text("collectionName"))?;
                    if name.len > NAME_KEPT {
                        return Err(de::Error::custom(format!(
                            "\"collectionName\" is {} bytes, more than the {NAME_KEPT} of a \
                             MongoDB namespace",
                            name.len
                        )));
                    }
                    top.collection_name = Some(name.kept);
                }
                Field::Type => top.kind = Some(map.next_value_seed(Text("type"))?.kept),
                Field::Uuid => map.next_value_seed(Uuid)?,
                Field::Options => map.next_value_seed(Object("options"))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(top)
    }
}

/// A string: its first [`NAME_KEPT`] bytes and its length.
struct Bounded {
    kept: String,
    len: usize,
}

/// A string value, named in the error when it is something else.
struct Text(&'static str);

impl<'de> DeserializeSeed<'de> for Text {
    type Value = Bounded;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Bounded, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Text {
    type Value = Bounded;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a string for \"{}\"", self.0)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Bounded, E> {
        let mut end = v.len().min(NAME_KEPT);
        while !v.is_char_boundary(end) {
            end -= 1;
        }
        Ok(Bounded {
            kept: v[..end].to_string(),
            len: v.len(),
        })
    }
}

/// The `uuid` string: 32 hex digits, checked without keeping it.
struct Uuid;

impl<'de> DeserializeSeed<'de> for Uuid {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Uuid {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string for \"uuid\"")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        if v.len() != 32 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
            let shown = crate::check::names::cut(v, 64);
            return Err(de::Error::custom(format!(
                "\"uuid\" is {shown:?}, not 32 hex digits"
            )));
        }
        Ok(())
    }
}

/// An object whose content is not kept.
struct Object(&'static str);

impl<'de> DeserializeSeed<'de> for Object {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Object {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object for \"{}\"", self.0)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

/// The `indexes` array: counted, each spec checked.
struct Indexes;

impl<'de> DeserializeSeed<'de> for Indexes {
    type Value = u64;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Indexes {
    type Value = u64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array for \"indexes\"")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
        let mut n = 0;
        while seq.next_element_seed(IndexSpec(n))?.is_some() {
            n += 1;
        }
        Ok(n)
    }
}

/// One index spec: an object with a `key` object and a `name` string.
struct IndexSpec(u64);

impl<'de> DeserializeSeed<'de> for IndexSpec {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for IndexSpec {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object for index {}", self.0)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (mut key, mut name) = (false, false);
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Key => key = map.next_value_seed(Object("key")).map(|()| true)?,
                Field::Name => name = map.next_value_seed(Text("name")).map(|_| true)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match (key, name) {
            (false, _) => Err(de::Error::custom(format!(
                "index {} has no \"key\" object",
                self.0
            ))),
            (_, false) => Err(de::Error::custom(format!(
                "index {} has no \"name\" string",
                self.0
            ))),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> MetadataSummary {
        validate_metadata(&mut text.as_bytes()).unwrap()
    }

    #[test]
    fn what_mongodump_writes() {
        let m = check(
            r#"{"options":{"capped":true,"size":{"$numberLong":"1048576"}},"indexes":[{"v":{"$numberInt":"2"},"key":{"_id":{"$numberInt":"1"}},"name":"_id_"},{"v":{"$numberInt":"2"},"key":{"email":{"$numberInt":"1"}},"name":"email_1","unique":true}],"uuid":"5f2c1e0a9b8d4c3e8f7a6b5c4d3e2f10","collectionName":"users","type":"collection"}"#,
        );
        assert_eq!(m.error, None);
        assert_eq!(m.indexes, 2);
        assert_eq!(m.collection_name.as_deref(), Some("users"));
        let view = check(
            r#"{"options":{"viewOn":"users","pipeline":[]},"indexes":[],"collectionName":"v","type":"view"}"#,
        );
        assert_eq!(
            (view.indexes, view.kind.as_deref(), view.error),
            (0, Some("view"), None)
        );
    }

    #[test]
    fn bad_shapes_say_what() {
        for (text, reason) in [
            ("[]", "expected a JSON object"),
            (r#"{"indexes":[1]}"#, "expected an object for index 0"),
            (
                r#"{"indexes":[{"key":{"a":1},"name":"a_1"}, {"key":{}}]}"#,
                "index 1 has no \"name\"",
            ),
            (r#"{"indexes":{}}"#, "expected an array for \"indexes\""),
            (r#"{"indexes":[{"name":"x"}]}"#, "no \"key\""),
            (r#"{"indexes":[{"key":{}}]}"#, "no \"name\""),
            (r#"{"uuid":"xyz"}"#, "32 hex"),
            (
                r#"{"collectionName":7}"#,
                "expected a string for \"collectionName\"",
            ),
            (r#"{"options":[]}"#, "expected an object for \"options\""),
            ("{\"a\":1}\n{", "not JSON"),
            ("", "not JSON"),
        ] {
            let e = check(text).error.unwrap();
            assert!(e.reason.contains(reason), "{text}: {}", e.reason);
        }
    }

    #[test]
    fn a_large_file_is_streamed_not_stored() {
        // 7 million array elements: a serde_json::Value tree of them would take 224 MiB.
        let mut text = br#"{"options":{"validator":["#.to_vec();
        text.extend(std::iter::repeat_n(&b"1,"[..], 7 << 20).flatten());
        text.extend_from_slice(br#"1]},"indexes":[]}"#);
        assert!(text.len() as u64 <= MAX_METADATA_SIZE);
        let m = validate_metadata(&mut &text[..]).unwrap();
        assert_eq!(
            (m.error, m.indexes, m.file_bytes),
            (None, 0, text.len() as u64)
        );
    }

    /// A 15 MiB `collectionName` (or key) is read through, not kept; the name is reported.
    #[test]
    fn long_names_and_keys_are_not_kept() {
        let long = "n".repeat(15 << 20);
        let text = format!(r#"{{"collectionName":"{long}","indexes":[]}}"#);
        let m = validate_metadata(&mut text.as_bytes()).unwrap();
        let e = m.error.unwrap();
        assert!(e.reason.contains("15728640 bytes"), "{}", e.reason);
        assert!(e.reason.len() < 200);
        let text = format!(r#"{{"{long}":1,"indexes":[],"collectionName":"c"}}"#);
        let m = validate_metadata(&mut text.as_bytes()).unwrap();
        assert_eq!((m.error, m.collection_name.as_deref()), (None, Some("c")));
        let ok = format!(r#"{{"collectionName":"{}"}}"#, "é".repeat(127));
        let m = validate_metadata(&mut ok.as_bytes()).unwrap();
        assert_eq!(
            (m.error, m.collection_name.map(|n| n.len())),
            (None, Some(254))
        );
    }

    #[test]
    fn oversized_files_are_reported_and_read_through() {
        let big = vec![b' '; MAX_METADATA_SIZE as usize + 10];
        let m = validate_metadata(&mut &big[..]).unwrap();
        assert_eq!(m.file_bytes, big.len() as u64);
        assert!(m.error.unwrap().reason.contains("larger"));
    }
}
