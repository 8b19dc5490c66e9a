//! Streams that decrypt what is read through them and encrypt what is written through them.
//!
//! [`DecryptReader`] reads any of the [formats](crate::Format), detecting the header, and is
//! [`Seek`] when its inner reader is. [`EncryptWriter`] writes any of them. Both work in place on
//! the caller's bytes or on one fixed buffer, so memory stays constant at any size.

use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::cipher::Cipher;
use crate::error::{Error, Result};
use crate::kdf::{
    Format, KeyIv, Password, DEFAULT_PBKDF2_ITERATIONS, SALTED_HEADER_LEN, SALTED_MAGIC,
};

/// The first bytes of every gzip member: magic `1f 8b` and method 8 (deflate).
///
/// # Examples
///
/// ```
/// use a0backup::{archive, stream::GZIP_MAGIC};
/// let dir = tempfile::tempdir()?;
/// let mut gz = Vec::new();
/// archive::pack(dir.path(), &mut gz, &archive::PackOptions::new())?;
/// assert!(gz.starts_with(&GZIP_MAGIC));
/// # Ok::<(), a0backup::Error>(())
/// ```
pub const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];

/// How [`DecryptReader::new`] should read a file.
///
/// # Examples
///
/// ```
/// use a0backup::{DecryptOptions, Format};
/// let opts = DecryptOptions::new().format(Format::OpenSslMd5).expect_gzip(true);
/// assert_eq!(opts.format_hint(), Some(Format::OpenSslMd5));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecryptOptions {
    format: Option<Format>,
    expect_gzip: bool,
}

impl DecryptOptions {
    /// Detect the format, expect nothing of the plaintext.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::DecryptOptions;
    /// let opts = DecryptOptions::new();
    /// assert_eq!(opts.format_hint(), None);
    /// assert!(!opts.expects_gzip());
    /// ```
    pub fn new() -> DecryptOptions {
        DecryptOptions::default()
    }

    /// Read the file as `format` instead of detecting it. Needed for salted files whose
    /// plaintext is not gzip: their header does not say which key derivation made them.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Cursor, Write};
    /// use a0backup::{DecryptOptions, DecryptReader, EncryptWriter, Error, Format, Password};
    /// let pw = Password::from("Passw0rd");
    /// let mut w = EncryptWriter::new(Vec::new(), &pw, Format::OpenSslMd5)?;
    /// w.write_all(b"not gzip")?;
    /// let file = w.finish()?;
    /// let detect = DecryptReader::new(Cursor::new(&file), &pw, &DecryptOptions::new());
    /// assert!(matches!(detect, Err(Error::UnsupportedFormat(_))));
    /// let told = DecryptOptions::new().format(Format::OpenSslMd5);
    /// assert_eq!(DecryptReader::new(Cursor::new(&file), &pw, &told)?.format(), Format::OpenSslMd5);
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn format(mut self, format: Format) -> DecryptOptions {
        self.format = Some(format);
        self
    }

    /// Require the plaintext to start with a gzip header. A file that does not is refused with
    /// [`Error::WrongPassword`] before any byte is returned; for salted files it also tells the
    /// two key derivations apart.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Cursor, Write};
    /// use a0backup::{DecryptOptions, DecryptReader, EncryptWriter, Error, Format, Password};
    /// let mut w = EncryptWriter::new(Vec::new(), &Password::from("right"), Format::Node)?;
    /// w.write_all(&[0x1f, 0x8b, 0x08, 0x00])?;
    /// let file = w.finish()?;
    /// let opts = DecryptOptions::new().expect_gzip(true);
    /// assert!(opts.expects_gzip());
    /// DecryptReader::new(Cursor::new(&file), &Password::from("right"), &opts)?;
    /// let wrong = DecryptReader::new(Cursor::new(&file), &Password::from("wrong"), &opts);
    /// assert!(matches!(wrong, Err(Error::WrongPassword { .. })));
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn expect_gzip(mut self, yes: bool) -> DecryptOptions {
        self.expect_gzip = yes;
        self
    }

    /// The format given with [`format`](Self::format), if any.
    pub fn format_hint(&self) -> Option<Format> {
        self.format
    }

    /// Whether the plaintext must be gzip.
    pub fn expects_gzip(&self) -> bool {
        self.expect_gzip
    }
}

/// Bytes read from the inner reader while detecting the format: a salted header and a few
/// payload bytes to test for gzip.
const PEEK_LEN: usize = SALTED_HEADER_LEN + GZIP_MAGIC.len();

/// A reader that decrypts an encrypted file as it is read.
///
/// The header (for salted formats) is consumed by [`new`](Self::new); reads then return the
/// plaintext. Positions used with [`Seek`] are plaintext offsets.
///
/// The encrypted file need not start at offset 0 of the inner reader: it starts wherever the
/// inner reader was when [`new`](Self::new) (or [`with_key_iv`](Self::with_key_iv)) took it,
/// and runs to the inner reader's end. Seeking stays within it:
///
/// ```
/// use std::io::{Cursor, Read, Seek, SeekFrom, Write};
/// use a0backup::{DecryptOptions, DecryptReader, EncryptWriter, Format, Password};
/// let pw = Password::from("Passw0rd");
/// let mut w = EncryptWriter::new(Vec::new(), &pw, Format::OpenSslMd5)?;
/// w.write_all(b"0123456789")?;
/// // 100 bytes of something else, then the encrypted file (16-byte header, 10 bytes).
/// let mut container = vec![b'#'; 100];
/// container.extend_from_slice(&w.finish()?);
/// let mut inner = Cursor::new(container);
/// inner.seek(SeekFrom::Start(100))?;
/// let opts = DecryptOptions::new().format(Format::OpenSslMd5);
/// let mut r = DecryptReader::new(inner, &pw, &opts)?;
/// assert_eq!(r.seek(SeekFrom::Start(7))?, 7);
/// let mut tail = String::new();
/// r.read_to_string(&mut tail)?;
/// assert_eq!(tail, "789");
/// assert_eq!(r.seek(SeekFrom::End(-10))?, 0);
/// let mut all = String::new();
/// r.read_to_string(&mut all)?;
/// assert_eq!(all, "0123456789");
/// # Ok::<(), a0backup::Error>(())
/// ```
///
/// # Examples
///
/// ```
/// use std::io::{Cursor, Read, Write};
/// use a0backup::{DecryptOptions, DecryptReader, EncryptWriter, Format, Password};
/// let pw = Password::from("Passw0rd");
/// let mut w = EncryptWriter::new(Vec::new(), &pw, Format::OpenSslMd5)?;
/// w.write_all(b"mongodump")?;
/// let file = w.finish()?;
/// let opts = DecryptOptions::new().format(Format::OpenSslMd5);
/// let mut r = DecryptReader::new(Cursor::new(file), &pw, &opts)?;
/// let mut out = String::new();
/// r.read_to_string(&mut out)?;
/// assert_eq!(out, "mongodump");
/// # Ok::<(), a0backup::Error>(())
/// ```
///
/// What the reader found, and where it is:
///
/// ```
/// use std::io::{Cursor, Read, Write};
/// use a0backup::{DecryptOptions, DecryptReader, EncryptWriter, Format, Password};
/// let pw = Password::from("Passw0rd");
/// let mut w = EncryptWriter::new(Vec::new(), &pw, Format::OpenSslMd5)?;
/// w.write_all(b"mongodump")?;
/// let opts = DecryptOptions::new().format(Format::OpenSslMd5);
/// let mut r = DecryptReader::new(Cursor::new(w.finish()?), &pw, &opts)?;
/// assert_eq!(r.format(), Format::OpenSslMd5);
/// assert_eq!(r.header_len(), 16);
/// r.read_exact(&mut [0u8; 5])?;
/// assert_eq!(r.position(), 5);
/// assert_eq!(r.get_ref().get_ref().len(), 16 + 9);
/// r.get_mut().set_position(0);
/// assert_eq!(r.into_inner().position(), 0);
/// # Ok::<(), a0backup::Error>(())
/// ```
pub struct DecryptReader<R> {
    inner: R,
    cipher: Cipher,
    format: Format,
    header_len: u64,
    peeked: [u8; PEEK_LEN],
    peeked_pos: usize,
    peeked_end: usize,
    start: StartPos,
}

/// Where in the inner reader the encrypted file (its header included) starts.
///
/// `Seek` needs it, but [`DecryptReader::new`] takes any reader and cannot ask a `Read` for its
/// position. As age's `StreamReader` does, the bytes read from the inner reader are counted
/// until the first seek, which subtracts them from the inner reader's position then.
#[derive(Debug, Clone, Copy)]
enum StartPos {
    /// Bytes read from the inner reader so far: its position minus this is the start.
    Implicit(u64),
    /// The start, once known.
    Explicit(u64),
}

impl<R: Read> DecryptReader<R> {
    /// Reads the header (if any) and prepares to decrypt.
    ///
    /// # Errors
    ///
    /// * [`Error::Malformed`]: a salted format was given (or a `Salted__` magic was found) but the
    ///   16-byte header is missing or cut short; or gzip was expected of a file too short to
    ///   hold a gzip header.
    /// * [`Error::UnsupportedFormat`]: the file is salted, no format was given and gzip was not
    ///   expected, so nothing tells MD5 from PBKDF2.
    /// * [`Error::WrongPassword`]: gzip was expected and the first plaintext bytes are not gzip.
    /// * [`Error::Io`]: reading the inner reader failed.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::{DecryptOptions, DecryptReader, Error, Format, Password};
    /// let pw = Password::from("Passw0rd");
    /// // A salted format was asked for, but the file has no `Salted__` header.
    /// let opts = DecryptOptions::new().format(Format::OpenSslMd5);
    /// let r = DecryptReader::new(&b"plainly not salted"[..], &pw, &opts);
    /// assert!(matches!(r, Err(Error::Malformed { .. })));
    /// ```
    pub fn new(mut inner: R, password: &Password, options: &DecryptOptions) -> Result<Self> {
        let mut peeked = [0u8; PEEK_LEN];
        let peeked_end = crate::pipeline::read_full(&mut inner, &mut peeked)?;
        let head = &peeked[..peeked_end];
        let has_magic = head.starts_with(SALTED_MAGIC);

        let salted = match options.format {
            Some(f) => f.is_salted(),
            None => has_magic,
        };
        if salted && (!has_magic || head.len() < SALTED_HEADER_LEN) {
            return Err(Error::malformed(
                "openssl header",
                Some(0),
                if has_magic {
                    format!("Salted__ header cut short: {} of 16 bytes", head.len())
                } else {
                    "missing Salted__ header".to_string()
                },
            ));
        }

        let (header_len, salt) = if salted {
            let mut s = [0u8; 8];
            s.copy_from_slice(&head[8..16]);
            (SALTED_HEADER_LEN, Some(s))
        } else {
            (0, None)
        };
        let payload_head = &head[header_len..];
        if options.expect_gzip && payload_head.len() < GZIP_MAGIC.len() {
            return Err(Error::malformed(
                "encrypted backup",
                Some(header_len as u64),
                format!(
                    "{} bytes of payload: too short to hold a gzip header",
                    payload_head.len()
                ),
            ));
        }

        let candidates: Vec<Format> =
            match options.format {
                Some(f) => vec![f],
                None if !salted => vec![Format::Node],
                None if options.expect_gzip => vec![
                    Format::OpenSslPbkdf2 {
                        iterations: DEFAULT_PBKDF2_ITERATIONS,
                    },
                    Format::OpenSslMd5,
                ],
                None => return Err(Error::UnsupportedFormat(
                    "the file has an openssl Salted__ header, which does not say whether MD5 or \
                     PBKDF2 made its key: give the format (openssl-md5 or openssl-pbkdf2)"
                        .into(),
                )),
            };

        let mut chosen = None;
        for format in &candidates {
            let key = format.derive(password, salt.as_ref())?;
            let mut cipher = Cipher::new(&key);
            if options.expect_gzip {
                let mut probe = [0u8; 3];
                probe.copy_from_slice(&payload_head[..3]);
                cipher.apply(&mut probe);
                if probe != GZIP_MAGIC {
                    continue;
                }
                cipher.seek(0);
            }
            chosen = Some((*format, cipher));
            break;
        }
        let Some((format, cipher)) = chosen else {
            return Err(Error::WrongPassword {
                detail: format!(
                    "the decrypted data does not start with a gzip header (tried {})",
                    candidates
                        .iter()
                        .map(Format::name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        };

        Ok(DecryptReader {
            inner,
            cipher,
            format,
            header_len: header_len as u64,
            peeked,
            peeked_pos: header_len,
            peeked_end,
            start: StartPos::Implicit(peeked_end as u64),
        })
    }
}

impl<R> DecryptReader<R> {
    /// Decrypts `inner`, which holds no header, with a key and IV given directly.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use a0backup::{kdf::KeyIv, DecryptReader, EncryptWriter};
    /// let k = KeyIv::new([3; 32], [4; 16]);
    /// let mut w = EncryptWriter::with_key_iv(Vec::new(), &k);
    /// w.write_all(b"raw key")?;
    /// let enc = w.finish()?;
    /// let mut r = DecryptReader::with_key_iv(&enc[..], &k);
    /// let mut out = String::new();
    /// r.read_to_string(&mut out)?;
    /// assert_eq!(out, "raw key");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_key_iv(inner: R, key_iv: &KeyIv) -> DecryptReader<R> {
        DecryptReader {
            inner,
            cipher: Cipher::new(key_iv),
            format: Format::Node,
            header_len: 0,
            peeked: [0; PEEK_LEN],
            peeked_pos: 0,
            peeked_end: 0,
            start: StartPos::Implicit(0),
        }
    }

    /// The format the file was read as.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Bytes of header before the encrypted payload (0 or 16).
    pub fn header_len(&self) -> u64 {
        self.header_len
    }

    /// The plaintext offset of the next byte to be read.
    pub fn position(&self) -> u64 {
        self.cipher.position()
    }

    /// The inner reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The inner reader. Reading from it directly desynchronizes the keystream.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Gives back the inner reader. Bytes already read ahead for format detection are lost.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for DecryptReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = if self.peeked_pos < self.peeked_end {
            let n = buf.len().min(self.peeked_end - self.peeked_pos);
            buf[..n].copy_from_slice(&self.peeked[self.peeked_pos..self.peeked_pos + n]);
            self.peeked_pos += n;
            n
        } else {
            let n = self.inner.read(buf)?;
            if let StartPos::Implicit(read) = &mut self.start {
                *read += n as u64;
            }
            n
        };
        self.cipher.apply(&mut buf[..n]);
        Ok(n)
    }
}

impl<R: Read + Seek> DecryptReader<R> {
    /// The inner reader's offset of the first byte of plaintext.
    fn payload_start(&mut self) -> io::Result<u64> {
        let start = match self.start {
            StartPos::Explicit(start) => start,
            StartPos::Implicit(read) => {
                let start = self
                    .inner
                    .stream_position()?
                    .checked_sub(read)
                    .ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::InvalidInput,
                            "the inner reader was moved back: cannot tell where the file starts",
                        )
                    })?;
                self.start = StartPos::Explicit(start);
                start
            }
        };
        Ok(start + self.header_len)
    }

    /// Moves the inner reader and the keystream to plaintext offset `target`.
    fn seek_to(&mut self, payload_start: u64, target: u64) -> io::Result<u64> {
        let inner_target = payload_start.checked_add(target).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "seek position overflows")
        })?;
        self.inner.seek(SeekFrom::Start(inner_target))?;
        self.cipher.seek(target);
        self.peeked_pos = self.peeked_end;
        Ok(target)
    }
}

impl<R: Read + Seek> Seek for DecryptReader<R> {
    /// Seeks in the plaintext. The encrypted file starts where the inner reader was when the
    /// `DecryptReader` was made (it may be inside a larger file) and runs to the inner
    /// reader's end, which [`SeekFrom::End`] is relative to.
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let payload_start = self.payload_start()?;
        let target = match pos {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(d) => self.cipher.position().checked_add_signed(d),
            SeekFrom::End(d) => {
                let end = self.inner.seek(SeekFrom::End(0))?;
                let target = end
                    .checked_sub(payload_start)
                    .and_then(|e| e.checked_add_signed(d));
                if target.is_none() {
                    // Put the inner reader back where the plaintext position says.
                    self.seek_to(payload_start, self.cipher.position())?;
                }
                target
            }
        };
        let target = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek to a negative or overflowing position",
            )
        })?;
        self.seek_to(payload_start, target)
    }
}

impl<R> std::fmt::Debug for DecryptReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptReader")
            .field("format", &self.format)
            .field("position", &self.cipher.position())
            .finish_non_exhaustive()
    }
}

/// Size of the buffer an [`EncryptWriter`] encrypts into before writing to its inner writer.
const WRITE_BUF: usize = 256 * 1024;

/// A writer that encrypts what is written to it, in one of the [formats](crate::Format).
///
/// Bytes are encrypted into an internal buffer and written to the inner writer when it fills, on
/// [`flush`](Write::flush), and on [`finish`](Self::finish). Dropping the writer flushes it but
/// ignores errors: call `finish` to see them.
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// use a0backup::{EncryptWriter, Format, Password};
/// let mut w = EncryptWriter::new(Vec::new(), &Password::from("Passw0rd"), Format::Node)?;
/// w.write_all(&[0u8, 1, 2])?;
/// let ciphertext = w.finish()?;
/// // Node's createCipher('aes-256-ctr', 'Passw0rd') turns 00 01 02 into 37 b1 91.
/// assert_eq!(&ciphertext[..3], &[0x37, 0xb1, 0x91]);
/// # Ok::<(), a0backup::Error>(())
/// ```
///
/// Until [`finish`](Self::finish), the ciphertext waits in the writer's buffer:
///
/// ```
/// use std::io::Write;
/// use a0backup::{EncryptWriter, Format, Password};
/// let mut w = EncryptWriter::new(Vec::new(), &Password::from("Passw0rd"), Format::Node)?;
/// w.write_all(b"abc")?;
/// assert_eq!(w.position(), 3);
/// assert!(w.get_ref().is_empty());
/// w.get_mut().reserve(64);
/// let out = w.into_inner()?;
/// assert_eq!(out.len(), 3);
/// # Ok::<(), a0backup::Error>(())
/// ```
pub struct EncryptWriter<W: Write> {
    inner: Option<W>,
    cipher: Cipher,
    buf: Vec<u8>,
}

impl<W: Write> EncryptWriter<W> {
    /// Encrypts in `format`; salted formats get a fresh random salt.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the system's random source fails; [`Error::InvalidArgument`] for zero
    /// PBKDF2 iterations.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// use a0backup::{EncryptWriter, Format, Password};
    /// let pw = Password::from("Passw0rd");
    /// let a = EncryptWriter::new(Vec::new(), &pw, Format::OpenSslMd5)?.finish()?;
    /// let b = EncryptWriter::new(Vec::new(), &pw, Format::OpenSslMd5)?.finish()?;
    /// // Each file gets its own salt, bytes 8..16 of the header.
    /// assert_ne!(a[8..16], b[8..16]);
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn new(inner: W, password: &Password, format: Format) -> Result<Self> {
        let salt = if format.is_salted() {
            let mut s = [0u8; 8];
            getrandom::fill(&mut s).map_err(|e| Error::Io(io::Error::other(e)))?;
            Some(s)
        } else {
            None
        };
        Self::with_salt(inner, password, format, salt)
    }

    /// Encrypts in `format` with the given salt (ignored by [`Format::Node`]). Reusing a salt
    /// reuses a keystream: use it for reproducible test files only.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when a salted format has no salt or zero iterations.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// use a0backup::{EncryptWriter, Error, Format, Password};
    /// let pw = Password::from("Passw0rd");
    /// let salt = Some([1, 2, 3, 4, 5, 6, 7, 8]);
    /// let encrypt = |format| -> a0backup::Result<Vec<u8>> {
    ///     let mut w = EncryptWriter::with_salt(Vec::new(), &pw, format, salt)?;
    ///     w.write_all(b"same input")?;
    ///     Ok(w.finish()?)
    /// };
    /// assert_eq!(encrypt(Format::OpenSslMd5)?, encrypt(Format::OpenSslMd5)?);
    /// assert_eq!(encrypt(Format::OpenSslMd5)?[..16], *b"Salted__\x01\x02\x03\x04\x05\x06\x07\x08");
    /// let no_salt = EncryptWriter::with_salt(Vec::new(), &pw, Format::OpenSslMd5, None);
    /// assert!(matches!(no_salt, Err(Error::InvalidArgument(_))));
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn with_salt(
        inner: W,
        password: &Password,
        format: Format,
        salt: Option<[u8; 8]>,
    ) -> Result<Self> {
        let key = format.derive(password, salt.as_ref())?;
        let mut w = Self::with_key_iv(inner, &key);
        if format.is_salted() {
            if let Some(s) = salt {
                w.buf.extend_from_slice(SALTED_MAGIC);
                w.buf.extend_from_slice(&s);
            }
        }
        Ok(w)
    }

    /// Encrypts with a key and IV given directly, writing no header.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// use a0backup::{EncryptWriter, Format, Password};
    /// let pw = Password::from("Passw0rd");
    /// let key = Format::Node.derive(&pw, None)?;
    /// let mut direct = EncryptWriter::with_key_iv(Vec::new(), &key);
    /// direct.write_all(b"abc")?;
    /// let mut derived = EncryptWriter::new(Vec::new(), &pw, Format::Node)?;
    /// derived.write_all(b"abc")?;
    /// assert_eq!(direct.finish()?, derived.finish()?);
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn with_key_iv(inner: W, key_iv: &KeyIv) -> Self {
        EncryptWriter {
            inner: Some(inner),
            cipher: Cipher::new(key_iv),
            buf: Vec::with_capacity(WRITE_BUF),
        }
    }

    /// Plaintext bytes accepted so far.
    pub fn position(&self) -> u64 {
        self.cipher.position()
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        self.inner
            .as_ref()
            .expect("inner writer present until finish")
    }

    /// The inner writer. Writing to it directly interleaves with buffered ciphertext.
    pub fn get_mut(&mut self) -> &mut W {
        self.inner
            .as_mut()
            .expect("inner writer present until finish")
    }

    /// Writes out everything buffered (the header included, even for empty plaintext) and
    /// flushes the inner writer. The writer stays usable.
    ///
    /// # Errors
    ///
    /// The inner writer's errors; buffered bytes are kept, so a retry is possible.
    ///
    /// # Examples
    ///
    /// ```
    /// use a0backup::{EncryptWriter, Format, Password};
    /// let mut w = EncryptWriter::new(Vec::new(), &Password::from("Passw0rd"), Format::OpenSslMd5)?;
    /// assert!(w.get_ref().is_empty());
    /// w.try_finish()?;
    /// assert_eq!(w.get_ref().len(), 16);
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn try_finish(&mut self) -> io::Result<()> {
        self.flush_buf()?;
        self.get_mut().flush()
    }

    /// Writes out everything and returns the inner writer.
    ///
    /// # Errors
    ///
    /// The inner writer's errors.
    pub fn finish(mut self) -> io::Result<W> {
        self.try_finish()?;
        Ok(self
            .inner
            .take()
            .expect("inner writer present until finish"))
    }

    /// The same as [`finish`](Self::finish): the inner writer, after everything was written.
    ///
    /// # Errors
    ///
    /// The inner writer's errors.
    pub fn into_inner(self) -> io::Result<W> {
        self.finish()
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        let inner = self
            .inner
            .as_mut()
            .expect("inner writer present until finish");
        let mut written = 0;
        let result = loop {
            if written == self.buf.len() {
                break Ok(());
            }
            match inner.write(&self.buf[written..]) {
                Ok(0) => {
                    break Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the inner writer accepted no bytes",
                    ))
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.buf.drain(..written);
        result
    }
}

impl<W: Write> Write for EncryptWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        if self.buf.len() >= WRITE_BUF {
            self.flush_buf()?;
        }
        let n = data.len().min(WRITE_BUF - self.buf.len());
        let start = self.buf.len();
        self.buf.extend_from_slice(&data[..n]);
        self.cipher.apply(&mut self.buf[start..]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.try_finish()
    }
}

impl<W: Write> Drop for EncryptWriter<W> {
    fn drop(&mut self) {
        if self.inner.is_some() && !std::thread::panicking() {
            let _ = self.flush_buf();
        }
    }
}

impl<W: Write> std::fmt::Debug for EncryptWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptWriter")
            .field("position", &self.cipher.position())
            .field("buffered", &self.buf.len())
            .finish_non_exhaustive()
    }
}
