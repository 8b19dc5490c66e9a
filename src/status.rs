//! The record `a0cli backup-status` prints for a backup: its name and the MD5 of the encrypted
//! file, read from strict JSON or from the appliance's own documented sample (which lacks a
//! comma).

use std::path::Path;

use crate::checksum::Md5Digest;
use crate::error::{Error, Input, Result};

/// What `a0cli backup-status` reports for an existing backup.
///
/// # Examples
///
/// The appliance's documented sample omits a comma; it parses all the same:
///
/// ```
/// use a0backup::BackupStatus;
/// let text = r#"{
///     "message": "Backup found",
///     "arguments": {
///         "name": "file-name.tar.gz"
///         "md5": "eccdb928a3bab23f725f955b68ef66ff"
///     }
/// }"#;
/// let s = BackupStatus::parse(text)?;
/// assert_eq!(s.name.as_deref(), Some("file-name.tar.gz"));
/// assert_eq!(s.md5.to_string(), "eccdb928a3bab23f725f955b68ef66ff");
/// assert_eq!(BackupStatus::parse(&s.to_json())?, s);
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupStatus {
    /// The `message` field, such as `"Backup found"`.
    pub message: Option<String>,
    /// `arguments.name`: the backup's file name on the appliance.
    pub name: Option<String>,
    /// `arguments.md5`: the MD5 of the encrypted file.
    pub md5: Md5Digest,
}

impl BackupStatus {
    /// Parses the output of `a0cli backup-status`: strict JSON, or the appliance's own sample
    /// layout, which leaves out the comma between members that stand on separate lines.
    ///
    /// A UTF-8 byte order mark before the record (as some Windows editors save files) is
    /// skipped. A record in which one object names a key twice (two `md5`s: which one is
    /// meant?) is refused, wherever it is.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for anything that is not such a record with an `arguments.md5` of
    /// 32 hex digits, and for a record with a key given twice in one object.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::{BackupStatus, Error};
    /// let two = r#"{"arguments": {"md5": "900150983cd24fb0d6963f7d28e17f72",
    ///                               "md5": "d41d8cd98f00b204e9800998ecf8427e"}}"#;
    /// match BackupStatus::parse(two) {
    ///     Err(Error::Malformed { detail, .. }) => assert!(detail.contains("\"md5\" twice")),
    ///     other => panic!("{other:?}"),
    /// }
    /// let bom = "\u{feff}{\"arguments\": {\"md5\": \"900150983cd24fb0d6963f7d28e17f72\"}}";
    /// assert!(BackupStatus::parse(bom).is_ok());
    /// ```
    pub fn parse(text: &str) -> Result<BackupStatus> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let value: serde_json::Value = match from_str_unique_keys(text) {
            Ok(v) => v,
            Err(Parse::Duplicate(key)) => return Err(duplicate(&key)),
            Err(Parse::Json(strict_err)) => {
                let repaired = insert_missing_commas(text);
                match from_str_unique_keys(&repaired) {
                    Ok(v) => v,
                    Err(Parse::Duplicate(key)) => return Err(duplicate(&key)),
                    Err(Parse::Json(_)) => {
                        return Err(Error::malformed(
                            Input::BackupStatus,
                            None,
                            not_json(&strict_err),
                        ))
                    }
                }
            }
        };
        let bad = |detail: &str| Error::malformed(Input::BackupStatus, None, detail.to_string());
        let obj = value.as_object().ok_or_else(|| bad("not a JSON object"))?;
        let message = match obj.get("message") {
            None => None,
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(bad("\"message\" is not a string")),
        };
        let args = obj
            .get("arguments")
            .and_then(|a| a.as_object())
            .ok_or_else(|| match &message {
                Some(m) => bad(&format!("no \"arguments\" object (message: {m:?})")),
                None => bad("no \"arguments\" object"),
            })?;
        let md5 = args
            .get("md5")
            .and_then(|m| m.as_str())
            .ok_or_else(|| bad("no \"arguments.md5\" string"))?;
        let md5: Md5Digest = md5
            .parse()
            .map_err(|_| bad(&format!("\"arguments.md5\" is not 32 hex digits: {md5:?}")))?;
        let name = match args.get("name") {
            None => None,
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(bad("\"arguments.name\" is not a string")),
        };
        Ok(BackupStatus { message, name, md5 })
    }

    /// Reads and parses a status file.
    ///
    /// # Errors
    ///
    /// [`Error::Path`] if it cannot be read, [`Error::Malformed`] as [`parse`](Self::parse).
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::{BackupStatus, Error};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("backup-status.txt");
    /// std::fs::write(&path, r#"{"arguments": {"md5": "900150983cd24fb0d6963f7d28e17f72"}}"#)?;
    /// let status = BackupStatus::from_file(&path)?;
    /// assert_eq!(status.md5, a0backup::checksum::md5_bytes(b"abc"));
    /// let missing = BackupStatus::from_file(&dir.path().join("nope"));
    /// assert!(matches!(missing, Err(Error::Path { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_file(path: &Path) -> Result<BackupStatus> {
        let text = std::fs::read_to_string(path).map_err(Error::path(path))?;
        Self::parse(&text)
    }

    /// The record as strict JSON, laid out as `a0cli backup-status` lays it out.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::{checksum::md5_bytes, BackupStatus};
    /// let s = BackupStatus { message: None, name: None, md5: md5_bytes(b"abc") };
    /// assert_eq!(
    ///     s.to_json(),
    ///     "{\n    \"arguments\": {\n        \"md5\": \"900150983cd24fb0d6963f7d28e17f72\"\n    }\n}",
    /// );
    /// ```
    pub fn to_json(&self) -> String {
        let mut args = serde_json::Map::new();
        if let Some(n) = &self.name {
            args.insert("name".into(), n.clone().into());
        }
        args.insert("md5".into(), self.md5.to_string().into());
        let mut obj = serde_json::Map::new();
        if let Some(m) = &self.message {
            obj.insert("message".into(), m.clone().into());
        }
        obj.insert("arguments".into(), args.into());
        let value = serde_json::Value::Object(obj);
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
        serde::Serialize::serialize(&value, &mut ser).expect("a JSON value always serializes");
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }
}

/// Why a record did not parse.
enum Parse {
    /// Not JSON.
    Json(serde_json::Error),
    /// This key is given twice in one object.
    Duplicate(String),
}

fn duplicate(key: &str) -> Error {
    Error::malformed(
        Input::BackupStatus,
        None,
        format!("ambiguous: one object gives {key:?} twice"),
    )
}

/// `text` as a JSON value, refusing an object that gives a key twice (which
/// `serde_json::from_str` accepts, keeping the last).
fn from_str_unique_keys(text: &str) -> std::result::Result<serde_json::Value, Parse> {
    use serde::de::DeserializeSeed;
    let duplicate = std::cell::RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = UniqueKeys(&duplicate)
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    match (parsed, duplicate.into_inner()) {
        (_, Some(key)) => Err(Parse::Duplicate(key)),
        (Ok(v), None) => Ok(v),
        (Err(e), None) => Err(Parse::Json(e)),
    }
}

/// Deserializes any JSON value, noting in the cell the first key an object gives twice (and
/// failing there).
struct UniqueKeys<'a>(&'a std::cell::RefCell<Option<String>>);

impl<'de> serde::de::DeserializeSeed<'de> for UniqueKeys<'_> {
    type Value = serde_json::Value;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for UniqueKeys<'_> {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> std::result::Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(UniqueKeys(self.0))? {
            items.push(v);
        }
        Ok(items.into())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                let e = <A::Error as serde::de::Error>::custom(format!("duplicate key {key:?}"));
                *self.0.borrow_mut() = Some(key);
                return Err(e);
            }
            let value = map.next_value_seed(UniqueKeys(self.0))?;
            object.insert(key, value);
        }
        Ok(object.into())
    }
}

/// "not JSON (line L, column C: what)": the position once, though serde_json's message ends with
/// its own " at line L column C".
fn not_json(e: &serde_json::Error) -> String {
    let (line, column) = (e.line(), e.column());
    let message = e.to_string();
    let what = message
        .strip_suffix(&format!(" at line {line} column {column}"))
        .unwrap_or(&message);
    format!("not JSON (line {line}, column {column}: {what})")
}

/// Inserts the comma the appliance's sample leaves out: where a value (a string, number,
/// literal, `}` or `]`) is followed, across a line break, by the `"` that opens the next key.
/// Text inside strings is never touched, so valid JSON passes through unchanged.
fn insert_missing_commas(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut in_string = false;
    let mut escaped = false;
    // Whether the last thing outside whitespace ended a value.
    let mut after_value = false;
    let mut newline_since_value = false;
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
                after_value = true;
                newline_since_value = false;
            }
            continue;
        }
        match c {
            '"' => {
                if after_value && newline_since_value {
                    out.push(',');
                }
                in_string = true;
                after_value = false;
            }
            '\n' | '\r' => newline_since_value = true,
            ' ' | '\t' => {}
            '}' | ']' => {
                after_value = true;
                newline_since_value = false;
            }
            c if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '+' => {
                after_value = true;
                newline_since_value = false;
            }
            _ => {
                after_value = false;
                newline_since_value = false;
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repair_leaves_strict_json_alone() {
        let s = "{\"a\": \"x\",\n \"b\": [1, 2]}";
        assert_eq!(insert_missing_commas(s), s);
    }

    #[test]
    fn repair_adds_only_the_missing_comma() {
        let s = "{\n\"a\": \"x\"\n\"b\": \"y\"\n}";
        assert_eq!(
            insert_missing_commas(s),
            "{\n\"a\": \"x\"\n,\"b\": \"y\"\n}"
        );
    }

    #[test]
    fn not_json_gives_its_position_once() {
        // The `x` on the third line, twelfth column, ends the number early.
        let text = "{\n \"arguments\": {\n  \"md5\": 12x\n }\n}\n";
        let third = text.lines().nth(2).unwrap();
        let column = third.find('x').unwrap() + 1;
        let e = BackupStatus::parse(text).unwrap_err().to_string();
        let position = format!("line 3, column {column}");
        assert_eq!(e.matches(&position).count(), 1, "{e}");
        assert_eq!(e.matches("line").count(), 1, "{e}");
        assert!(
            e.starts_with("malformed backup status: not JSON (line 3"),
            "{e}"
        );
    }

    #[test]
    fn key_then_value_on_next_line_is_not_a_missing_comma() {
        // A colon separates them, so nothing is inserted.
        let s = "{\"a\":\n\"x\"}";
        assert_eq!(insert_missing_commas(s), s);
    }
}
