//! MD5 as `md5sum` prints it, computed while bytes stream past. The `a0cli backup-status`
//! record that carries the appliance's MD5 of a backup is in [`status`](crate::status).
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

pub use crate::digest::Md5Digest;
use crate::error::{Error, Result};

// `verify` and parsing live here, beside MD5, so that the digest type itself (in
// `crate::digest`) depends on nothing and `error` can carry it without a cycle.
impl Md5Digest {
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
