//! MD5 as `md5sum` prints it, computed while bytes stream past, and the `a0cli backup-status`
//! record that carries the appliance's MD5 of a backup.
//!
//! MD5 here detects accidents (a truncated download, a flipped bit), not an attacker: anyone who
//! can change the backup can change the status record too.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::str::FromStr;

mod md5;

use self::md5::Md5State;

use crate::error::{Error, Result};

/// A 16-byte MD5 digest. Displays as 32 lowercase hex digits, as `md5sum` prints it.
///
/// # Examples
///
/// ```
/// use a0backup::Md5Digest;
/// let d: Md5Digest = "D41D8CD98F00B204E9800998ECF8427E".parse()?;
/// assert_eq!(d.to_string(), "d41d8cd98f00b204e9800998ecf8427e");
/// assert_eq!(d, a0backup::checksum::md5_bytes(b""));
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Md5Digest(pub [u8; 16]);

impl Md5Digest {
    /// The digest bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::checksum::md5_bytes;
    /// let d = md5_bytes(b"abc");
    /// assert_eq!(d.as_bytes()[..4], [0x90, 0x01, 0x50, 0x98]);
    /// assert_eq!(d.as_bytes(), &d.0);
    /// ```
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Checks `self` (what was computed) against `expected`.
    ///
    /// # Errors
    ///
    /// [`Error::ChecksumMismatch`] when they differ.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::{checksum::md5_bytes, Error};
    /// let expected = md5_bytes(b"the download");
    /// md5_bytes(b"the download").verify(&expected)?;
    /// match md5_bytes(b"the downloa").verify(&expected) {
    ///     Err(Error::ChecksumMismatch { expected: e, actual }) => {
    ///         assert_eq!(e, expected);
    ///         assert_eq!(actual, md5_bytes(b"the downloa"));
    ///     }
    ///     other => panic!("unexpected {other:?}"),
    /// }
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn verify(&self, expected: &Md5Digest) -> Result<()> {
        if self == expected {
            Ok(())
        } else {
            Err(Error::ChecksumMismatch {
                expected: *expected,
                actual: *self,
            })
        }
    }
}

impl fmt::Display for Md5Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Md5Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Md5Digest({self})")
    }
}

impl FromStr for Md5Digest {
    type Err = Error;

    /// Parses 32 hex digits, either case, with no other characters.
    fn from_str(s: &str) -> Result<Md5Digest> {
        let bad = || Error::InvalidArgument(format!("not an md5 (32 hex digits): {s:?}"));
        let bytes = s.as_bytes();
        if bytes.len() != 32 {
            return Err(bad());
        }
        let mut out = [0u8; 16];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16).ok_or_else(bad)?;
            let lo = (pair[1] as char).to_digit(16).ok_or_else(bad)?;
            out[i] = (hi * 16 + lo) as u8;
        }
        Ok(Md5Digest(out))
    }
}

/// An incremental MD5.
///
/// # Examples
///
/// ```
/// use a0backup::checksum::Md5;
/// let mut h = Md5::new();
/// h.update(b"a");
/// h.update(b"bc");
/// assert_eq!(h.finish().to_string(), "900150983cd24fb0d6963f7d28e17f72");
/// ```
#[derive(Clone)]
pub struct Md5(Md5State);

impl Md5 {
    /// An empty hash.
    pub fn new() -> Md5 {
        Md5(Md5State::new())
    }

    /// Hashes more bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The digest of everything so far.
    pub fn finish(mut self) -> Md5Digest {
        Md5Digest(self.0.finish_reset())
    }

    /// The digest of everything so far; the hash starts over empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::checksum::{md5_bytes, Md5};
    /// let mut h = Md5::new();
    /// h.update(b"first");
    /// assert_eq!(h.finish_reset(), md5_bytes(b"first"));
    /// h.update(b"second");
    /// assert_eq!(h.finish(), md5_bytes(b"second"));
    /// ```
    pub fn finish_reset(&mut self) -> Md5Digest {
        Md5Digest(self.0.finish_reset())
    }
}

impl Default for Md5 {
    fn default() -> Md5 {
        Md5::new()
    }
}

impl fmt::Debug for Md5 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Md5")
    }
}

/// The MD5 of a byte slice.
///
/// # Examples
///
/// ```
/// use a0backup::checksum::md5_bytes;
/// assert_eq!(md5_bytes(b"abc").to_string(), "900150983cd24fb0d6963f7d28e17f72");
/// ```
pub fn md5_bytes(data: &[u8]) -> Md5Digest {
    let mut h = Md5::new();
    h.update(data);
    h.finish()
}

/// Buffer size for hashing whole streams: large enough that syscalls cost nothing next to MD5.
const HASH_BUF: usize = 256 * 1024;

/// The MD5 of everything `reader` yields, and how many bytes that was.
///
/// # Errors
///
/// The reader's errors.
///
/// # Examples
///
/// ```
/// use a0backup::checksum::{md5_bytes, md5_reader};
/// let data = vec![7u8; 1 << 20];
/// let (digest, len) = md5_reader(&data[..])?;
/// assert_eq!(len, 1 << 20);
/// assert_eq!(digest, md5_bytes(&data));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn md5_reader<R: Read>(mut reader: R) -> io::Result<(Md5Digest, u64)> {
    let mut h = Md5::new();
    let mut buf = vec![0u8; HASH_BUF];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..n]);
        total += n as u64;
    }
    Ok((h.finish(), total))
}

/// The MD5 of a file.
///
/// # Errors
///
/// [`Error::Path`] when the file cannot be opened or read.
///
/// # Examples
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let p = dir.path().join("f");
/// std::fs::write(&p, b"abc")?;
/// assert_eq!(a0backup::checksum::md5_file(&p)?.to_string(), "900150983cd24fb0d6963f7d28e17f72");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn md5_file(path: &Path) -> Result<Md5Digest> {
    let f = File::open(path).map_err(Error::path(path))?;
    md5_reader(f).map(|(d, _)| d).map_err(Error::path(path))
}

/// The line `md5sum` prints for a file: `<32 hex>  <name>`, without the newline.
///
/// Like GNU `md5sum`, a name containing a backslash, newline or carriage return is escaped
/// (`\\`, `\n`, `\r`) and the line starts with a backslash.
///
/// # Examples
///
/// ```
/// use a0backup::checksum::{md5_bytes, md5sum_line};
/// let d = md5_bytes(b"");
/// assert_eq!(md5sum_line(&d, "a b"), "d41d8cd98f00b204e9800998ecf8427e  a b");
/// assert_eq!(md5sum_line(&d, "a\nb"), "\\d41d8cd98f00b204e9800998ecf8427e  a\\nb");
/// ```
pub fn md5sum_line(digest: &Md5Digest, name: &str) -> String {
    if name.contains(['\\', '\n', '\r']) {
        let escaped = name
            .replace('\\', "\\\\")
            .replace('\n', "\\n")
            .replace('\r', "\\r");
        format!("\\{digest}  {escaped}")
    } else {
        format!("{digest}  {name}")
    }
}

/// A reader that hashes every byte read through it.
///
/// # Examples
///
/// ```
/// use std::io::Read;
/// use a0backup::checksum::HashingReader;
/// let mut r = HashingReader::new(&b"abc"[..]);
/// std::io::copy(&mut r, &mut std::io::sink())?;
/// assert_eq!(r.digest().to_string(), "900150983cd24fb0d6963f7d28e17f72");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// Counting, and taking it apart:
///
/// ```
/// use std::io::Read;
/// use a0backup::checksum::{md5_bytes, HashingReader};
/// let mut r = HashingReader::new(&b"abcdef"[..]);
/// r.read_exact(&mut [0u8; 4])?;
/// assert_eq!(r.bytes_read(), 4);
/// assert_eq!(*r.get_ref(), b"ef");
/// let (rest, digest) = r.into_parts();
/// assert_eq!(rest, b"ef");
/// assert_eq!(digest, md5_bytes(b"abcd"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct HashingReader<R> {
    inner: R,
    md5: Md5,
    bytes: u64,
}

impl<R> HashingReader<R> {
    /// Hashes what is read from `inner`.
    pub fn new(inner: R) -> HashingReader<R> {
        HashingReader {
            inner,
            md5: Md5::new(),
            bytes: 0,
        }
    }

    /// The MD5 of the bytes read so far.
    pub fn digest(&self) -> Md5Digest {
        self.md5.clone().finish()
    }

    /// How many bytes were read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// The inner reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The inner reader and the MD5 of what was read.
    pub fn into_parts(self) -> (R, Md5Digest) {
        (self.inner, self.md5.finish())
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.md5.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// A writer that hashes every byte written through it.
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// use a0backup::checksum::HashingWriter;
/// let mut w = HashingWriter::new(Vec::new());
/// w.write_all(b"abc")?;
/// let (bytes, digest) = w.into_parts();
/// assert_eq!(bytes, b"abc");
/// assert_eq!(digest.to_string(), "900150983cd24fb0d6963f7d28e17f72");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// The digest and count so far, and the inner writer:
///
/// ```
/// use std::io::Write;
/// use a0backup::checksum::{md5_bytes, HashingWriter};
/// let mut w = HashingWriter::new(Vec::new());
/// w.write_all(b"ab")?;
/// assert_eq!(w.digest(), md5_bytes(b"ab"));
/// assert_eq!(w.bytes_written(), 2);
/// w.get_mut().clear();
/// assert!(w.get_ref().is_empty());
/// // What was written stays hashed, even if the inner writer's copy is gone.
/// assert_eq!(w.into_parts().1, md5_bytes(b"ab"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct HashingWriter<W> {
    inner: W,
    md5: Md5,
    bytes: u64,
}

impl<W> HashingWriter<W> {
    /// Hashes what is written to `inner`.
    pub fn new(inner: W) -> HashingWriter<W> {
        HashingWriter {
            inner,
            md5: Md5::new(),
            bytes: 0,
        }
    }

    /// The MD5 of the bytes written so far.
    pub fn digest(&self) -> Md5Digest {
        self.md5.clone().finish()
    }

    /// How many bytes were written so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The inner writer.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// The inner writer and the MD5 of what was written.
    pub fn into_parts(self) -> (W, Md5Digest) {
        (self.inner, self.md5.finish())
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Only what the inner writer accepted is hashed, so the digest always matches the
        // bytes that reached it.
        let n = self.inner.write(buf)?;
        self.md5.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

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
    /// # Errors
    ///
    /// [`Error::Malformed`] for anything that is not such a record with an `arguments.md5` of
    /// 32 hex digits.
    pub fn parse(text: &str) -> Result<BackupStatus> {
        let value: serde_json::Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(strict_err) => {
                let repaired = insert_missing_commas(text);
                serde_json::from_str(&repaired).map_err(|_| {
                    Error::malformed(
                        "backup status",
                        None,
                        format!(
                            "not JSON (line {}, column {}: {})",
                            strict_err.line(),
                            strict_err.column(),
                            strict_err
                        ),
                    )
                })?
            }
        };
        let bad = |detail: &str| Error::malformed("backup status", None, detail.to_string());
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
    fn key_then_value_on_next_line_is_not_a_missing_comma() {
        // A colon separates them, so nothing is inserted.
        let s = "{\"a\":\n\"x\"}";
        assert_eq!(insert_missing_commas(s), s);
    }
}
