//! Whole files decrypted and encrypted, with outputs that appear only when complete: the
//! appliance's `node decrypt` step, and its reverse.
//!
//! Every output file is written under a temporary name beside its final name and renamed into
//! place only after everything checked out, so a failure (a wrong password, an MD5 mismatch,
//! a full disk, a cancel) never leaves a partial file under the final name, and an existing
//! file is replaced only when asked and only by a complete one. A stream written into a
//! caller's writer (`*_stream`) gets its bytes as they come.
//!
//! The rooms: `decrypt.rs` and `encrypt.rs`, one direction each.

mod decrypt;
mod encrypt;

pub use decrypt::{decrypt_file, decrypt_reader, decrypt_stream, DecryptSummary};
pub use encrypt::{encrypt_file, encrypt_reader, encrypt_stream, EncryptSummary};

use crate::checksum::Md5Digest;
use crate::kdf::Format;
use crate::progress::Progress;
use crate::stream::DecryptOptions;

/// Options of the file jobs: decryption ([`decrypt_file`], [`decrypt_reader`],
/// [`decrypt_stream`]) and encryption ([`encrypt_file`], [`encrypt_reader`],
/// [`encrypt_stream`]).
///
/// # Examples
///
/// The MD5 without a value to check it against, a format that detection cannot find, and
/// progress reports:
///
/// ```
/// use a0backup::files::{decrypt_stream, encrypt_stream, FileOptions};
/// use a0backup::{checksum::md5_bytes, Format, Password, Progress};
/// let pw = Password::from("Passw0rd");
/// let mut enc = Vec::new();
/// encrypt_stream(&b"bson"[..], &mut enc, &pw, FileOptions::new().format(Format::OpenSslMd5))?;
/// let mut last = 0;
/// let options = FileOptions::new()
///     .compute_md5(true)
///     .format(Format::OpenSslMd5)
///     .progress(Progress::new(|done, _| { last = done; true }));
/// let s = decrypt_stream(&enc[..], Vec::new(), &pw, options)?;
/// assert_eq!(s.ciphertext_md5, Some(md5_bytes(&enc)));
/// assert_eq!(last, enc.len() as u64);
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug)]
pub struct FileOptions<'a> {
    replace: bool,
    sync: bool,
    expected_md5: Option<Md5Digest>,
    compute_md5: bool,
    format: Option<Format>,
    expect_gzip: bool,
    progress: Progress<'a>,
    input_len: Option<u64>,
}

impl Default for FileOptions<'_> {
    fn default() -> Self {
        FileOptions {
            replace: false,
            sync: true,
            expected_md5: None,
            compute_md5: false,
            format: None,
            expect_gzip: false,
            progress: Progress::none(),
            input_len: None,
        }
    }
}

impl<'a> FileOptions<'a> {
    /// An existing output kept, the output made durable before it appears, no MD5 check, the
    /// format detected (decryption) or the appliance's (encryption).
    pub fn new() -> Self {
        FileOptions::default()
    }

    /// Replace an existing output file (only ever by a complete one; the command's
    /// `--force`).
    pub fn replace(mut self, yes: bool) -> Self {
        self.replace = yes;
        self
    }

    /// Make an output file durable before it appears under its name (on by default): its
    /// data is flushed to stable storage (fsync) before the rename and its directory after
    /// it, so that after a power loss the name holds either the old file or the complete new
    /// one. Off, the kernel writes it back in its own time. A stream written to a caller's
    /// writer is the caller's to flush.
    pub fn sync(mut self, yes: bool) -> Self {
        self.sync = yes;
        self
    }

    /// Decryption: check the MD5 of the encrypted input; on a mismatch nothing is published
    /// and the error is [`Error::ChecksumMismatch`](crate::Error::ChecksumMismatch).
    pub fn expected_md5(mut self, md5: Md5Digest) -> Self {
        self.expected_md5 = Some(md5);
        self
    }

    /// Decryption: compute the MD5 of the encrypted input even without an expected value, for
    /// the summary. (Encryption always reports the MD5 of what it wrote.)
    pub fn compute_md5(mut self, yes: bool) -> Self {
        self.compute_md5 = yes;
        self
    }

    /// The format: for decryption, the one to read the input as instead of detecting it
    /// (needed for a salted file whose plaintext is not gzip); for encryption, the one to
    /// write (default [`Format::Node`], the appliance's).
    pub fn format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }

    /// Decryption: require the plaintext to begin like gzip, so that a wrong password is
    /// refused from the first bytes, before the output is made.
    pub fn expect_gzip(mut self, yes: bool) -> Self {
        self.expect_gzip = yes;
        self
    }

    /// Where to report progress (bytes of input read, and the input's length when known);
    /// returning `false` cancels.
    pub fn progress(mut self, progress: Progress<'a>) -> Self {
        self.progress = progress;
        self
    }

    /// The input's length, for progress reports, when a job reads a stream whose length it
    /// cannot ask (the `*_file` jobs ask the file).
    pub fn input_len(mut self, bytes: u64) -> Self {
        self.input_len = Some(bytes);
        self
    }

    fn decrypt_options(&self) -> DecryptOptions {
        let options = DecryptOptions::new().expect_gzip(self.expect_gzip);
        match self.format {
            Some(f) => options.format(f),
            None => options,
        }
    }
}
