//! A validator of mongodump's `*.metadata.json` files.
//!
//! mongodump writes one JSON object per collection, in Extended JSON v2:
//! `{"options":{...},"indexes":[...],"uuid":"...","collectionName":"...","type":"collection"}`.
//! This checks that the file is JSON, that it is an object, that `indexes` (when present) is an
//! array of objects each with a `key` object and a `name` string (what mongorestore needs to
//! build them), that `options` is an object, and that `collectionName`, `type` and `uuid` are
//! strings (`uuid` 32 hex digits). Extended JSON wrappers inside `options` and the index specs
//! (`{"$numberInt": "1"}`) are JSON objects like any other and are not interpreted.

use std::io::{self, Read};

use serde_json::Value;

/// The largest metadata file read; larger ones are reported, not parsed (mongodump's are a few
/// KiB; a collection's options and indexes are bounded by a 16 MiB document).
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
    pub collection_name: Option<String>,
    /// `type`: `collection`, `view` or `timeseries` (older mongodumps write none).
    pub kind: Option<String>,
    /// Size of the file in bytes.
    pub file_bytes: u64,
    /// Why the file is not usable metadata, if it is not.
    pub error: Option<MetadataError>,
}

/// Why a metadata file is bad, and where, when the JSON parser can tell.
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
    /// Line (from 1) of a JSON syntax error.
    pub line: Option<u64>,
    /// Column (from 1) of a JSON syntax error.
    pub column: Option<u64>,
    /// What is wrong, in a sentence.
    pub reason: String,
}

impl MetadataError {
    fn shape(reason: impl Into<String>) -> Self {
        MetadataError {
            line: None,
            column: None,
            reason: reason.into(),
        }
    }
}

/// Reads a `.metadata.json` stream to its end and checks it (see the [module docs](self)).
/// Memory: the file, at most [`MAX_METADATA_SIZE`], and its parsed JSON.
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
    let mut text = Vec::new();
    let mut limited = r.take(MAX_METADATA_SIZE + 1);
    limited.read_to_end(&mut text)?;
    let mut summary = MetadataSummary {
        file_bytes: text.len() as u64,
        ..Default::default()
    };
    if summary.file_bytes > MAX_METADATA_SIZE {
        summary.file_bytes += io::copy(r, &mut io::sink())?;
        summary.error = Some(MetadataError::shape(format!(
            "{} bytes, larger than the {MAX_METADATA_SIZE} bytes a metadata file may have",
            summary.file_bytes
        )));
        return Ok(summary);
    }
    let value: Value = match serde_json::from_slice(&text) {
        Ok(v) => v,
        Err(e) => {
            summary.error = Some(MetadataError {
                line: Some(e.line() as u64),
                column: Some(e.column() as u64),
                reason: format!("not JSON: {e}"),
            });
            return Ok(summary);
        }
    };
    if let Err(reason) = check_shape(&value, &mut summary) {
        summary.error = Some(MetadataError::shape(reason));
    }
    Ok(summary)
}

fn check_shape(value: &Value, summary: &mut MetadataSummary) -> Result<(), String> {
    let object = value
        .as_object()
        .ok_or_else(|| format!("a JSON {} where an object should be", type_name(value)))?;
    let string = |key: &str| -> Result<Option<String>, String> {
        match object.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!(
                "\"{key}\" is a JSON {}, not a string",
                type_name(other)
            )),
        }
    };
    summary.collection_name = string("collectionName")?;
    summary.kind = string("type")?;
    if let Some(uuid) = string("uuid")? {
        if uuid.len() != 32 || !uuid.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("\"uuid\" is {uuid:?}, not 32 hex digits"));
        }
    }
    match object.get("options") {
        None | Some(Value::Object(_)) => {}
        Some(other) => {
            return Err(format!(
                "\"options\" is a JSON {}, not an object",
                type_name(other)
            ))
        }
    }
    let indexes = match object.get("indexes") {
        None => return Ok(()),
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(format!(
                "\"indexes\" is a JSON {}, not an array",
                type_name(other)
            ))
        }
    };
    for (i, index) in indexes.iter().enumerate() {
        let spec = index
            .as_object()
            .ok_or_else(|| format!("index {i} is a JSON {}, not an object", type_name(index)))?;
        if !matches!(spec.get("key"), Some(Value::Object(_))) {
            return Err(format!("index {i} has no \"key\" object"));
        }
        if !matches!(spec.get("name"), Some(Value::String(_))) {
            return Err(format!("index {i} has no \"name\" string"));
        }
    }
    summary.indexes = indexes.len() as u64;
    Ok(())
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
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
            ("[]", "array where an object"),
            (r#"{"indexes":[1]}"#, "index 0 is a JSON number"),
            (r#"{"indexes":[{"name":"x"}]}"#, "no \"key\""),
            (r#"{"indexes":[{"key":{}}]}"#, "no \"name\""),
            (r#"{"uuid":"xyz"}"#, "32 hex"),
            (r#"{"collectionName":7}"#, "not a string"),
            (r#"{"options":[]}"#, "\"options\" is a JSON array"),
            ("{\"a\":1}\n{", "not JSON"),
            ("", "not JSON"),
        ] {
            let e = check(text).error.unwrap();
            assert!(e.reason.contains(reason), "{text}: {}", e.reason);
        }
    }

    #[test]
    fn oversized_files_are_reported_and_read_through() {
        let big = vec![b' '; MAX_METADATA_SIZE as usize + 10];
        let m = validate_metadata(&mut &big[..]).unwrap();
        assert_eq!(m.file_bytes, big.len() as u64);
        assert!(m.error.unwrap().reason.contains("larger"));
    }
}
