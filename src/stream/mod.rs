//! Streams that decrypt what is read through them and encrypt what is written through them.
//!
//! [`DecryptReader`] reads any of the [formats](crate::Format), detecting the header, and is
//! [`Seek`](std::io::Seek) when its inner reader is. [`EncryptWriter`] writes any of them. Both work in place on
//! the caller's bytes or on one fixed buffer, so memory stays constant at any size.

use crate::kdf::Format;
#[cfg(doc)]
use crate::Error;

mod decrypt;
mod detect;
mod encrypt;

pub use decrypt::DecryptReader;
pub use encrypt::EncryptWriter;

/// How [`DecryptReader::new`] should read a file.
///
/// # Examples
///
/// ```
/// use a0backup::{DecryptOptions, Format};
/// let opts = DecryptOptions::new().format(Format::OpenSslMd5).expect_gzip(true);
/// assert_ne!(opts, DecryptOptions::new());
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
    /// assert_eq!(DecryptOptions::new(), DecryptOptions::default());
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
    /// let detect = DecryptReader::new(Cursor::new(&file), &pw, DecryptOptions::new());
    /// assert!(matches!(detect, Err(Error::FormatNeeded)));
    /// let told = DecryptOptions::new().format(Format::OpenSslMd5);
    /// assert_eq!(DecryptReader::new(Cursor::new(&file), &pw, told)?.format(), Format::OpenSslMd5);
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
    /// DecryptReader::new(Cursor::new(&file), &Password::from("right"), opts)?;
    /// let wrong = DecryptReader::new(Cursor::new(&file), &Password::from("wrong"), opts);
    /// assert!(matches!(wrong, Err(Error::WrongPassword { .. })));
    /// # Ok::<(), a0backup::Error>(())
    /// ```
    pub fn expect_gzip(mut self, yes: bool) -> DecryptOptions {
        self.expect_gzip = yes;
        self
    }
}
