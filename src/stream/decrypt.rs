//! [`DecryptReader`]: decrypts as it is read, and seeks in O(1) when its inner reader can.

use std::io::{self, Read, Seek, SeekFrom};

use crate::cipher::Cipher;
use crate::error::Result;
use crate::kdf::{Format, KeyIv, Password};

use super::detect::{detect, Detected, PEEK_LEN};
use super::DecryptOptions;
#[cfg(doc)]
use crate::error::Error;

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
/// let mut r = DecryptReader::new(inner, &pw, opts)?;
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
/// let mut r = DecryptReader::new(Cursor::new(file), &pw, opts)?;
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
/// let mut r = DecryptReader::new(Cursor::new(w.finish()?), &pw, opts)?;
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
    /// * [`Error::FormatNeeded`]: the file is salted, no format was given and gzip was not
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
    /// let r = DecryptReader::new(&b"plainly not salted"[..], &pw, opts);
    /// assert!(matches!(r, Err(Error::Malformed { .. })));
    /// ```
    pub fn new(mut inner: R, password: &Password, options: DecryptOptions) -> Result<Self> {
        let mut peeked = [0u8; PEEK_LEN];
        let peeked_end = crate::io_ext::read_full(&mut inner, &mut peeked)?;
        let head = &peeked[..peeked_end];
        let Detected {
            format,
            cipher,
            header_len,
        } = detect(head, password, &options)?;

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
