//! Decryption of whole files and streams.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use crate::atomic_file::AtomicFile;
use crate::checksum::Md5Digest;
use crate::error::{Error, Result};
use crate::io_ext::Labeled;
use crate::kdf::{Format, Password};
use crate::pipeline::copy_with_writer_thread;
use crate::source::Source;

use super::FileOptions;

/// What a decryption did.
///
/// # Examples
///
/// ```
/// use a0backup::files::{decrypt_stream, encrypt_stream, DecryptSummary, FileOptions};
/// use a0backup::{Format, Password};
/// let pw = Password::from("Passw0rd");
/// let mut enc = Vec::new();
/// encrypt_stream(&b"bson"[..], &mut enc, &pw, FileOptions::new().format(Format::OpenSslMd5))?;
/// let options = FileOptions::new().format(Format::OpenSslMd5);
/// let s: DecryptSummary = decrypt_stream(&enc[..], Vec::new(), &pw, options)?;
/// assert_eq!(s.format, Format::OpenSslMd5);
/// assert_eq!((s.ciphertext_bytes, s.plaintext_bytes), (16 + 4, 4));
/// assert_eq!(s.ciphertext_md5, None);
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct DecryptSummary {
    /// The format the input was read as.
    pub format: Format,
    /// Bytes of encrypted input, header included.
    pub ciphertext_bytes: u64,
    /// Bytes of plaintext written.
    pub plaintext_bytes: u64,
    /// MD5 of the encrypted input, when it was computed (an expected MD5 was given, or
    /// [`FileOptions::compute_md5`]).
    pub ciphertext_md5: Option<Md5Digest>,
}

/// Decrypts the file `input` into the file `output`.
///
/// The output appears (atomically, by rename) only if the whole input decrypted and, when an
/// MD5 was expected, it matched. With [`FileOptions::expect_gzip`] a wrong password is found
/// from the first bytes, before the output is created at all.
///
/// # Errors
///
/// [`Error::AlreadyExists`] when `output` exists and replacing it was not asked for,
/// [`Error::Path`] for files that cannot be read or written (a missing output directory among
/// them), [`Error::WrongPassword`], [`Error::ChecksumMismatch`], [`Error::Malformed`],
/// [`Error::FormatNeeded`], [`Error::Cancelled`].
///
/// # Examples
///
/// ```
/// use a0backup::files::{decrypt_file, encrypt_file, FileOptions};
/// use a0backup::Password;
/// let dir = tempfile::tempdir()?;
/// let (plain, enc, back) = (dir.path().join("a"), dir.path().join("a.enc"), dir.path().join("b"));
/// std::fs::write(&plain, b"backup")?;
/// let pw = Password::from("Passw0rd");
/// let made = encrypt_file(&plain, &enc, &pw, FileOptions::new())?;
/// decrypt_file(&enc, &back, &pw, FileOptions::new().expected_md5(made.ciphertext_md5))?;
/// assert_eq!(std::fs::read(&back)?, b"backup");
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn decrypt_file(
    input: &Path,
    output: &Path,
    password: &Password,
    mut options: FileOptions<'_>,
) -> Result<DecryptSummary> {
    let source = File::open(input).map_err(Error::path(input))?;
    if let Ok(m) = source.metadata() {
        options.input_len = Some(m.len());
    }
    decrypt_reader(Labeled::new(source, input), output, password, options)
}

/// Decrypts a reader (stdin, a pipe, a socket) into the file `output`, with the guarantees of
/// [`decrypt_file`]: the file appears only when complete and checked.
///
/// # Errors
///
/// As [`decrypt_file`].
///
/// # Examples
///
/// ```
/// use a0backup::files::{decrypt_reader, encrypt_stream, FileOptions};
/// use a0backup::{Error, Password};
/// let pw = Password::from("Passw0rd");
/// let mut enc = Vec::new();
/// let made = encrypt_stream(&b"bson"[..], &mut enc, &pw, FileOptions::new())?;
/// let dir = tempfile::tempdir()?;
/// let out = dir.path().join("backup.tar.gz");
///
/// let damaged = [&enc[..3], &b"!"[..]].concat();
/// let options = FileOptions::new().expected_md5(made.ciphertext_md5);
/// let r = decrypt_reader(&damaged[..], &out, &pw, options);
/// assert!(matches!(r, Err(Error::ChecksumMismatch { .. })));
/// assert!(!out.exists());
///
/// decrypt_reader(&enc[..], &out, &pw, FileOptions::new().expected_md5(made.ciphertext_md5))?;
/// assert_eq!(std::fs::read(&out)?, b"bson");
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn decrypt_reader<R: Read>(
    input: R,
    output: &Path,
    password: &Password,
    options: FileOptions<'_>,
) -> Result<DecryptSummary> {
    let out = AtomicFile::create(output, options.replace)?.sync(options.sync);
    match decrypt_stream(input, out.writer(), password, options) {
        Ok(summary) => out.commit().map(|()| summary),
        Err(e) => Err(out.discard_after(e)),
    }
}

/// Decrypts a stream into a writer (a pipe, stdout). Unlike [`decrypt_file`], bytes reach
/// `output` as they are decrypted, so an MD5 mismatch is reported only after everything was
/// written; check the MD5 first ([`checksum::md5_file`](crate::checksum::md5_file)) when the
/// input can be read twice.
///
/// # Errors
///
/// As [`decrypt_file`], with I/O errors as [`Error::Io`].
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// use a0backup::files::{decrypt_stream, FileOptions};
/// use a0backup::{EncryptWriter, Format, Password};
/// let pw = Password::from("Passw0rd");
/// let mut w = EncryptWriter::new(Vec::new(), &pw, Format::Node)?;
/// w.write_all(b"bson")?;
/// let enc = w.finish()?;
/// let mut plain = Vec::new();
/// let s = decrypt_stream(&enc[..], &mut plain, &pw, FileOptions::new())?;
/// assert_eq!(plain, b"bson");
/// assert_eq!(s.plaintext_bytes, 4);
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn decrypt_stream<R: Read, W: Write + Send>(
    input: R,
    mut output: W,
    password: &Password,
    options: FileOptions<'_>,
) -> Result<DecryptSummary> {
    decrypt_with(input, password, options, |plain, report| {
        copy_with_writer_thread(plain, &mut output, report)
    })
}

/// The source step, and `copy` of the plaintext into the output; `copy` calls its report
/// function with the plaintext bytes written so far, and returns them all.
fn decrypt_with<R: Read>(
    input: R,
    password: &Password,
    mut options: FileOptions<'_>,
    copy: impl FnOnce(&mut dyn Read, &mut dyn FnMut(u64) -> std::io::Result<()>) -> std::io::Result<u64>,
) -> Result<DecryptSummary> {
    let total = options.input_len;
    let decrypt = options.decrypt_options();
    let progress = &mut options.progress;
    let source = Source::new(input, options.expected_md5, options.compute_md5);
    let consumed = source.consume(Some(password), decrypt, |plain| {
        let header = plain.header_len();
        let format = plain.format().unwrap_or_default();
        let mut report = |n: u64| {
            progress
                .report(n + header, total)
                .map_err(std::io::Error::from)
        };
        let written = copy(plain, &mut report)?;
        Ok((format, written))
    })?;
    let (format, plaintext_bytes) = consumed.value;
    Ok(DecryptSummary {
        format,
        ciphertext_bytes: consumed.bytes,
        plaintext_bytes,
        ciphertext_md5: consumed.md5?,
    })
}
