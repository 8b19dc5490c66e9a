//! Encryption of whole files and streams.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use crate::atomic_file::AtomicFile;
use crate::checksum::{HashingWriter, Md5Digest};
use crate::error::{Error, Result};
use crate::io_ext::{read_full, Labeled};
use crate::kdf::Password;
use crate::pipeline::CHUNK;
use crate::stream::EncryptWriter;

use super::FileOptions;

/// What an encryption did.
///
/// # Examples
///
/// ```
/// use a0backup::files::{encrypt_stream, EncryptSummary, FileOptions};
/// use a0backup::{checksum::md5_bytes, Password};
/// let mut enc = Vec::new();
/// let s: EncryptSummary = encrypt_stream(&b"bson"[..], &mut enc, &Password::from("Passw0rd"), FileOptions::new())?;
/// assert_eq!(s.ciphertext_bytes, 4);
/// assert_eq!(s.ciphertext_md5, md5_bytes(&enc));
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct EncryptSummary {
    /// Bytes of encrypted output, header included.
    pub ciphertext_bytes: u64,
    /// MD5 of the encrypted output: what `a0cli backup-status` would report for it.
    pub ciphertext_md5: Md5Digest,
}

/// Encrypts the file `input` into the file `output`, in the options' format (default: the
/// appliance's), and returns the MD5 of what was written. The output appears only when
/// complete.
///
/// # Errors
///
/// [`Error::AlreadyExists`], [`Error::Path`], [`Error::Cancelled`], as for
/// [`decrypt_file`](super::decrypt_file).
///
/// # Examples
///
/// ```
/// use a0backup::files::{encrypt_file, FileOptions};
/// use a0backup::{checksum::md5_file, Error, Password};
/// let dir = tempfile::tempdir()?;
/// let (plain, enc) = (dir.path().join("dump.tar.gz"), dir.path().join("dump.tar.gz.enc"));
/// std::fs::write(&plain, b"bson")?;
/// let pw = Password::from("Passw0rd");
/// let s = encrypt_file(&plain, &enc, &pw, FileOptions::new())?;
/// assert_eq!(s.ciphertext_md5, md5_file(&enc)?);
/// let again = encrypt_file(&plain, &enc, &pw, FileOptions::new());
/// assert!(matches!(again, Err(Error::AlreadyExists(_))));
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn encrypt_file(
    input: &Path,
    output: &Path,
    password: &Password,
    mut options: FileOptions<'_>,
) -> Result<EncryptSummary> {
    let source = File::open(input).map_err(Error::path(input))?;
    if let Ok(m) = source.metadata() {
        options.input_len = Some(m.len());
    }
    encrypt_reader(Labeled::new(source, input), output, password, options)
}

/// Encrypts a reader into the file `output`, which appears only when complete.
///
/// # Errors
///
/// As [`encrypt_file`].
///
/// # Examples
///
/// ```
/// use a0backup::files::{encrypt_reader, FileOptions};
/// use a0backup::{checksum::md5_file, Format, Password};
/// let dir = tempfile::tempdir()?;
/// let enc = dir.path().join("dump.tar.gz.enc");
/// let options = FileOptions::new().format(Format::OpenSslMd5);
/// let s = encrypt_reader(&b"bson"[..], &enc, &Password::from("Passw0rd"), options)?;
/// assert_eq!(s.ciphertext_bytes, 16 + 4);
/// assert_eq!(md5_file(&enc)?, s.ciphertext_md5);
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn encrypt_reader<R: Read>(
    input: R,
    output: &Path,
    password: &Password,
    options: FileOptions<'_>,
) -> Result<EncryptSummary> {
    let out = AtomicFile::create(output, options.replace)?.sync(options.sync);
    match encrypt_stream(input, out.writer(), password, options) {
        Ok(summary) => out.commit().map(|()| summary),
        Err(e) => Err(out.discard_after(e)),
    }
}

/// Encrypts a stream into a writer, and returns the MD5 of what was written.
///
/// # Errors
///
/// I/O errors of either side, [`Error::Cancelled`].
///
/// # Examples
///
/// ```
/// use std::io::Read;
/// use a0backup::files::{encrypt_stream, FileOptions};
/// use a0backup::{DecryptOptions, DecryptReader, Password};
/// let pw = Password::from("Passw0rd");
/// let mut enc = Vec::new();
/// encrypt_stream(&b"bson"[..], &mut enc, &pw, FileOptions::new())?;
/// let mut back = Vec::new();
/// DecryptReader::new(&enc[..], &pw, DecryptOptions::new())?.read_to_end(&mut back)?;
/// assert_eq!(back, b"bson");
/// # Ok::<(), a0backup::Error>(())
/// ```
pub fn encrypt_stream<R: Read, W: Write>(
    mut input: R,
    output: W,
    password: &Password,
    mut options: FileOptions<'_>,
) -> Result<EncryptSummary> {
    let format = options.format.unwrap_or_default();
    let hashing = HashingWriter::new(io::BufWriter::with_capacity(CHUNK, output));
    let mut w = EncryptWriter::new(hashing, password, format)?;
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    loop {
        let n = read_full(&mut input, &mut buf)?;
        if n == 0 {
            break;
        }
        w.write_all(&buf[..n])?;
        done += n as u64;
        options.progress.report(done, options.input_len)?;
    }
    let hashing = w.finish()?;
    let ciphertext_bytes = hashing.bytes_written();
    let (mut buffered, ciphertext_md5) = hashing.into_parts();
    buffered.flush()?;
    Ok(EncryptSummary {
        ciphertext_bytes,
        ciphertext_md5,
    })
}
