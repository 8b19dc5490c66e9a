//! The first step of every job that reads a backup (restore, check, the file jobs and, through
//! them, the C streams): the input read once, its md5 computed on a thread of its own when one
//! is expected or wanted, decrypted when a password is given, and, once the job has read what
//! it needs, read to its end so that the md5 covers every byte and is checked.

use std::io::{self, Read};

use crate::checksum::Md5Digest;
use crate::error::{Error, Result};
use crate::gzip::NotGzip;
use crate::kdf::{Format, Password};
use crate::pipeline::MaybeHashed;
use crate::stream::{DecryptOptions, DecryptReader};

/// An input to read through: the input, hashed or counted as it is read.
pub(crate) struct Source<R: Read> {
    hashed: MaybeHashed<R>,
    expected: Option<Md5Digest>,
    /// Read the rest of the input after the job even when no md5 is computed.
    read_rest: bool,
}

/// The plaintext a job reads: the input decrypted, or the input itself.
// One per job, on its stack, never in a collection: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Plain<'s, R: Read> {
    Decrypted(DecryptReader<&'s mut MaybeHashed<R>>),
    Plain(&'s mut MaybeHashed<R>),
}

impl<R: Read> Plain<'_, R> {
    /// The format the input was decrypted from; `None` for a plain input.
    pub(crate) fn format(&self) -> Option<Format> {
        match self {
            Plain::Decrypted(d) => Some(d.format()),
            Plain::Plain(_) => None,
        }
    }

    /// Bytes of the input before the ciphertext (a `Salted__` header).
    pub(crate) fn header_len(&self) -> u64 {
        match self {
            Plain::Decrypted(d) => d.header_len(),
            Plain::Plain(_) => 0,
        }
    }

    /// What a plaintext that is not gzip says: a wrong password when it was decrypted, damage
    /// when it was read as it is.
    pub(crate) fn not_gzip(&self) -> NotGzip {
        match self {
            Plain::Decrypted(_) => NotGzip::WrongPassword,
            Plain::Plain(_) => NotGzip::Malformed,
        }
    }
}

impl<R: Read> Read for Plain<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Plain::Decrypted(d) => d.read(buf),
            Plain::Plain(p) => p.read(buf),
        }
    }
}

/// What a job's read of a [`Source`] gave: its own result, and the md5 of the whole input.
pub(crate) struct Consumed<T> {
    pub(crate) value: T,
    /// The md5 of every byte of the input (when one was expected or wanted), already compared
    /// with the expected one: an error when reading the rest of the input failed or the
    /// digests differ.
    pub(crate) md5: Result<Option<Md5Digest>>,
    /// Bytes of input read.
    pub(crate) bytes: u64,
}

impl<R: Read> Source<R> {
    /// `input`, hashed when an md5 is `expected` or `hash` asks for one anyway.
    pub(crate) fn new(input: R, expected: Option<Md5Digest>, hash: bool) -> Self {
        Source {
            hashed: MaybeHashed::new(input, hash || expected.is_some()),
            expected,
            read_rest: true,
        }
    }

    /// For a job that may stop before the end of the input (a dump done with its collection):
    /// the rest is then read only when an md5 is computed, on the hash-only path (no
    /// decryption, no inflate).
    pub(crate) fn stop_early(mut self) -> Self {
        self.read_rest = false;
        self
    }

    /// Runs `job` on the plaintext (decrypted with `password` and `decrypt` when there is a
    /// password), then reads the rest of the input and checks its md5.
    ///
    /// # Errors
    ///
    /// The job's error, or the decryption's. When the input may be damaged (a bad gzip stream,
    /// a "wrong password", a nonsense tar entry: what a damaged download looks like long
    /// before its end) and an md5 is expected, the rest is hashed first: a mismatch is the
    /// error then, the more useful one.
    pub(crate) fn consume<T>(
        mut self,
        password: Option<&Password>,
        decrypt: DecryptOptions,
        job: impl FnOnce(&mut Plain<'_, R>) -> Result<T>,
    ) -> Result<Consumed<T>> {
        let done = match password {
            Some(pw) => DecryptReader::new(&mut self.hashed, pw, decrypt)
                .and_then(|d| job(&mut Plain::Decrypted(d))),
            None => job(&mut Plain::Plain(&mut self.hashed)),
        };
        match done {
            Ok(value) => {
                let (md5, bytes) = self.finish();
                Ok(Consumed { value, md5, bytes })
            }
            Err(e) if self.expected.is_some() && may_be_damage(&e) => {
                self.finish().0?;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Reads the rest of the input and checks its md5; returns it (when computed) and the
    /// bytes read.
    fn finish(mut self) -> (Result<Option<Md5Digest>>, u64) {
        let hashing = matches!(self.hashed, MaybeHashed::Hashed(_));
        if self.read_rest || hashing {
            if let Err(e) = io::copy(&mut self.hashed, &mut io::sink()) {
                return (Err(Error::from(e)), 0);
            }
        }
        match self.hashed.finish() {
            Err(e) => (Err(Error::from(e)), 0),
            Ok((md5, bytes)) => {
                let checked = match (&self.expected, &md5) {
                    (Some(expected), Some(actual)) => actual.verify(expected).map(|()| md5),
                    _ => Ok(md5),
                };
                (checked, bytes)
            }
        }
    }
}

/// Whether a damaged input (rather than a hostile one or a failed cleanup) could explain `e`.
fn may_be_damage(e: &Error) -> bool {
    !matches!(e, Error::Leftover { .. }) && e.may_be_corruption()
}
