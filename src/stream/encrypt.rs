//! [`EncryptWriter`]: encrypts what is written, in any of the formats.

use std::io::{self, Write};

use crate::cipher::Cipher;
use crate::error::{Error, Result};
use crate::kdf::{Format, KeyIv, Password, SALTED_MAGIC};

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
