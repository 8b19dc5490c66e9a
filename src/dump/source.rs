//! The one walk that [`dump`](super), [`find`](crate::find) and [`diff`](crate::diff) make
//! over a backup: the job's source step as every job has it (`src/source.rs`: the md5 on a
//! thread of its own, decryption), inflate on the reading thread,
//! the tar stream under restore's parser and policy (the dry run of
//! [`check`](crate::check)) on another, and each mongodump file handed to a visitor, which
//! says when it has seen enough.
//!
//! Reading stops there: the rest of the archive is neither inflated nor parsed. When an md5 is
//! expected the rest of the file is still read, on a hash-only path (no decryption, no
//! inflate), since the md5 covers every byte; it is compared at the end.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crate::archive::{dry_run, EntryKind, UnpackOptions};
use crate::check::names::{self, Role};
use crate::checksum::Md5Digest;
use crate::error::{Error, Result};
use crate::gzip::{GzipReader, NotGzip};
use crate::kdf::Password;
use crate::pipeline::hand_off;
use crate::source::Source;
use crate::stream::DecryptOptions;

use super::Namespace;

/// What a walk reads with and checks.
#[derive(Debug, Clone, Default)]
pub(crate) struct WalkOptions {
    pub(crate) expected_md5: Option<Md5Digest>,
    pub(crate) decrypt: DecryptOptions,
    pub(crate) unpack: UnpackOptions,
}

/// A visitor's answer: read on, or stop reading the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Stop,
}

/// One mongodump file of the archive, as a visitor gets it.
pub(crate) struct DumpEntry<'a> {
    /// The collection it belongs to (mongodump's escapes undone).
    pub(crate) namespace: Namespace,
    pub(crate) role: Role,
    /// The file's data, decompressed when it is a `.gz` (`mongodump --gzip`); a read error
    /// marked by [`is_gzip_damage`] is damage of the file itself, not of the archive.
    pub(crate) data: &'a mut dyn Read,
}

/// How a walk ended.
#[derive(Debug, Clone, Default)]
pub(crate) struct Walked {
    /// The file's md5, when one was expected (then already compared).
    pub(crate) md5: Option<Md5Digest>,
    /// The visitor stopped the walk before the end of the archive.
    pub(crate) stopped: bool,
}

/// An input ready to walk: the job's [`Source`] (md5 when expected, decryption), counted as
/// it is read, with the password it is decrypted with (owned: the walk may run on a thread of
/// its own).
pub(crate) struct Opened<R: Read> {
    input: Source<Counted<R>>,
    password: Option<Password>,
    cancel: Arc<AtomicBool>,
}

/// A reader that publishes how many bytes went through it (for progress on another thread)
/// and stops once the walk is cancelled (the md5's read of the rest included).
struct Counted<R> {
    inner: R,
    read: Arc<AtomicU64>,
    cancel: Arc<AtomicBool>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(io::Error::other("cancelled"));
        }
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Sets `input` up for a walk under `options`: `read` counts its bytes as they go; `cancel`
/// stops the walk and the md5's read of the rest.
pub(crate) fn open<R: Read>(
    input: R,
    password: Option<&Password>,
    options: &WalkOptions,
    read: Arc<AtomicU64>,
    cancel: Arc<AtomicBool>,
) -> Opened<R> {
    let counted = Counted {
        inner: input,
        read,
        cancel: cancel.clone(),
    };
    Opened {
        input: Source::new(counted, options.expected_md5, false).stop_early(),
        password: password.cloned(),
        cancel,
    }
}

/// Walks the archive of `opened` under `options`' policy, handing every mongodump file to
/// `visit` until it says [`Flow::Stop`] or the archive ends; then, when an md5 is expected,
/// reads the rest of the file for it (on the hash-only path) and compares it, as every job
/// reading a backup does ([`Source`]).
///
/// # Errors
///
/// [`Error::ChecksumMismatch`] first when the input may be damaged (it explains whatever else
/// went wrong); [`Error::WrongPassword`] or a format error from the encryption header;
/// restore's refusal of the archive ([`Error::UnsafeEntry`], [`Error::LimitExceeded`], a
/// damaged tar stream), as [`check`](crate::check) reports it; a damaged gzip stream, I/O
/// errors; what `visit` returns; [`Error::Cancelled`] when `cancel` was set.
pub(crate) fn walk<R: Read>(
    opened: Opened<R>,
    options: &WalkOptions,
    visit: impl FnMut(DumpEntry<'_>) -> Result<Flow> + Send,
) -> Result<Walked> {
    let Opened {
        input,
        password,
        cancel,
    } = opened;
    let mut stopped = false;
    let decrypt = options.decrypt.expect_gzip(true);
    let consumed = input.consume(password.as_ref(), decrypt, |plain| {
        let not_gzip = plain.not_gzip();
        inspect(plain, not_gzip, options, &cancel, &mut stopped, visit)
    });
    if cancel.load(Ordering::Relaxed) {
        return Err(Error::Cancelled);
    }
    let md5 = consumed?.md5?;
    Ok(Walked { md5, stopped })
}

/// Inflates `stream` on this thread and walks the tar on another.
fn inspect<S: Read>(
    stream: S,
    not_gzip: NotGzip,
    options: &WalkOptions,
    cancel: &AtomicBool,
    stopped: &mut bool,
    mut visit: impl FnMut(DumpEntry<'_>) -> Result<Flow> + Send,
) -> Result<()> {
    let mut gz = GzipReader::with(stream, &options.unpack.inflate, not_gzip)?;
    let unpack = &options.unpack;
    let stop_flag = &mut *stopped;
    let walked = hand_off(
        &mut gz,
        "a0backup-dump",
        move |reader| {
            let (run, _) = dry_run(reader, unpack, |e| {
                if e.kind != EntryKind::File {
                    return Ok(());
                }
                let Some(file) = names::classify(e.path) else {
                    return Ok(());
                };
                let flow = if file.gzip {
                    let mut marked = GzipDamage {
                        inner: flate2::read::MultiGzDecoder::new(MarkInput(e.data)),
                    };
                    visit(entry(&file, &mut marked))?
                } else {
                    visit(entry(&file, e.data))?
                };
                match flow {
                    Flow::Continue => Ok(()),
                    Flow::Stop => {
                        *stop_flag = true;
                        Err(Error::Cancelled)
                    }
                }
            })?;
            match run.refusal {
                Some(refusal) => Err(refusal),
                None => Ok(()),
            }
        },
        || match cancel.load(Ordering::Relaxed) {
            true => Err(Error::Cancelled),
            false => Ok(()),
        },
    );
    match walked {
        Err(Error::Cancelled) if *stopped && !cancel.load(Ordering::Relaxed) => Ok(()),
        other => other,
    }
}

fn entry<'a>(file: &names::DumpFile, data: &'a mut dyn Read) -> DumpEntry<'a> {
    let mut stem = Vec::with_capacity(file.stem.len() + 15);
    if file.buckets {
        stem.extend_from_slice(b"system.buckets.");
    }
    stem.extend_from_slice(&file.stem);
    DumpEntry {
        namespace: Namespace {
            database: names::database(&file.dir),
            collection: names::unescape(&stem),
        },
        role: file.role,
        data,
    }
}

/// Marks the I/O errors of the archive entry's own reader, so that they pass a gzip decoder
/// as the archive's errors rather than as damage of the `.gz` file.
struct MarkInput<'a>(&'a mut dyn Read);

impl Read for MarkInput<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| match e.kind() {
            io::ErrorKind::Interrupted => e,
            _ => io::Error::new(e.kind(), ArchiveError(e)),
        })
    }
}

#[derive(Debug)]
struct ArchiveError(io::Error);

impl std::fmt::Display for ArchiveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ArchiveError {}

/// A `.gz` file's decoder: its own errors are marked as damage of the file ([`is_gzip_damage`]).
struct GzipDamage<R> {
    inner: R,
}

#[derive(Debug)]
struct Damage(String);

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a valid gzip stream: {}", self.0)
    }
}

impl std::error::Error for Damage {}

impl<R: Read> Read for GzipDamage<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            let archive = e.get_ref().is_some_and(|inner| inner.is::<ArchiveError>());
            match (archive, e.kind()) {
                (true, _) | (_, io::ErrorKind::Interrupted) => unmark(e),
                _ => io::Error::new(e.kind(), Damage(e.to_string())),
            }
        })
    }
}

fn unmark(e: io::Error) -> io::Error {
    let kind = e.kind();
    match e.into_inner().map(|inner| inner.downcast::<ArchiveError>()) {
        Some(Ok(archive)) => archive.0,
        Some(Err(other)) => io::Error::new(kind, other),
        None => io::Error::from(kind),
    }
}

/// Whether a read error of a [`DumpEntry::data`] is damage of a `.gz` file (the collection's,
/// as check reports it) rather than of the archive. The text says what is wrong.
pub(crate) fn is_gzip_damage(e: &io::Error) -> Option<String> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<Damage>())
        .map(ToString::to_string)
}
