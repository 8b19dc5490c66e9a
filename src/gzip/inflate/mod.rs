//! Inflating one gzip stream on several cores, in safe Rust.
//!
//! A single deflate stream has no index: a block's start is only known once the block before
//! it is decoded, and a block may refer back to 32 KiB of output before it. Following
//! rapidgzip (Knespel and Brunst, HPDC 2023), worker threads each take a chunk of the
//! compressed stream, look for the first bit where a block could start (a dynamic-Huffman
//! header that zlib would accept, or a stored block with a consistent length), and decode from
//! there, writing 16-bit markers for bytes of the unknown window. One in-order consumer keeps
//! the confirmed position and the real window, takes a chunk only if it starts exactly where
//! the confirmed decode ended, and resolves its markers; everything else it decodes itself.
//! So the output never depends on a guess: a wrong guess only costs time.
//!
//! | file | what |
//! | --- | --- |
//! | `bits.rs` | the bit reader |
//! | `huffman.rs` | canonical codes with zlib's acceptance rules |
//! | `decoder.rs` | the resumable deflate decoder (known window, or markers) |
//! | `finder.rs` | candidate block starts and the speculative decode of a chunk |
//! | `member.rs` | the gzip header, checked as flate2 does |
//! | `parallel.rs` | the workers and the in-order consumer |

#![forbid(unsafe_code)]

mod bits;
mod decoder;
mod finder;
mod huffman;
mod jobs;
mod member;
mod parallel;

use std::io::{self, Read};

use super::checked::{read_magic, GzipChecked, NotGzip};
use crate::error::Result;
use jobs::{cap, lookahead};
use parallel::ParallelGunzip;
#[cfg(test)]
use parallel::ParallelStats;

/// Most worker threads [`InflateOptions::threads`] uses (memory grows with each).
const MAX_THREADS: usize = 16;
/// The default compressed chunk per worker job.
const DEFAULT_CHUNK: usize = 512 * 1024;
const MIN_CHUNK: usize = 1024;
const MAX_CHUNK: usize = 64 << 20;

/// How to inflate gzip: sequentially with zlib-rs (the default), or on worker threads.
///
/// The default is the sequential path because it is the fastest on the 2-core machines the
/// project measures on: zlib-rs inflates about 800 MiB/s on one core, while the parallel path
/// decodes with a simpler decoder written here (safe Rust) and spends CPU on finding block
/// starts and resolving markers, so it needs more cores than two to win (BENCHMARKS.md,
/// "Parallel inflate"). The parallel path reads its input once and in order like the
/// sequential one, so it works on any reader; it gives the same bytes, and for damaged input
/// the same errors ([`Error::Malformed`](crate::Error::Malformed), with the same message).
///
/// Memory of the parallel path, at most (see [`memory_bound`](Self::memory_bound)): with `T`
/// threads, chunks of `C` bytes and `C' = max(C, 128 KiB)`, `T + 1` jobs in flight, each with
/// `C + C'` bytes of input, and `T + 2` output buffers (one per job and the one being taken)
/// of up to `8 C'` 16-bit values; plus the consumer's input (at most `(T + 6) C + C'`) and
/// output (at most twice `8 C' + 416 KiB`, as a vector grows). Buffers are recycled, so memory
/// does not grow with the length of the stream. With the default 512 KiB chunks that is about
/// 9.6 MiB per thread plus 29 MiB (49 MiB at 2 threads, 183 MiB at 16) in the
/// worst case, where every chunk inflates eightfold; inflating the 281 MB backup of
/// BENCHMARKS.md (ratio 3.6) peaks at 28 MiB RSS with 2 threads. The sequential path needs
/// about 100 KiB.
///
/// # Examples
///
/// ```
/// use a0backup::gzip::InflateOptions;
/// assert_eq!(InflateOptions::new().memory_bound(), 0, "sequential: no buffers of its own");
/// let two = InflateOptions::new().threads(2).memory_bound();
/// assert!(two > 48 << 20 && two < 50 << 20);
/// let small = InflateOptions::new().threads(2).chunk_size(128 << 10).memory_bound();
/// assert!(small < 14 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InflateOptions {
    threads: Option<usize>,
    chunk: Option<usize>,
}

impl InflateOptions {
    /// Sequential inflate with zlib-rs.
    pub fn new() -> Self {
        InflateOptions::default()
    }

    /// Inflate on `n` worker threads (besides the thread that reads and checks the stream),
    /// or, with 0, on as many as there are cores available to the process; at most 16
    /// either way.
    pub fn threads(mut self, n: usize) -> Self {
        let n = if n == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            n
        };
        self.threads = Some(n.min(MAX_THREADS));
        self
    }

    /// Back to sequential inflate.
    pub fn sequential(mut self) -> Self {
        self.threads = None;
        self
    }

    /// Bytes of compressed input per worker job (512 KiB unless set; kept between 1 KiB and
    /// 64 MiB). Small chunks exercise more chunk boundaries (tests); large ones
    /// waste less on finding block starts but take more memory.
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk = Some(bytes.clamp(MIN_CHUNK, MAX_CHUNK));
        self
    }

    fn chunk(&self) -> usize {
        self.chunk.unwrap_or(DEFAULT_CHUNK)
    }

    /// An upper bound of the memory the parallel path allocates for inflating, in bytes (the
    /// formula in the type's docs); 0 for the sequential path.
    pub fn memory_bound(&self) -> u64 {
        let Some(t) = self.threads else { return 0 };
        let c = self.chunk();
        let (t, c, ahead, cap) = (t as u64, c as u64, lookahead(c) as u64, cap(c) as u64);
        let window = decoder::WINDOW as u64;
        let inputs = (t + 1) * (c + ahead);
        let outputs = (t + 2) * 2 * (cap + window + 258);
        let consumer_in = (t + 6) * c + ahead;
        let consumer_out = 2 * (cap + parallel::STEP as u64 + 5 * window) + (1 << 16);
        inputs + outputs + consumer_in + consumer_out
    }
}

/// A multi-member gzip reader: every member's CRC-32 and length checked, zero padding after
/// the last member accepted (and counted), damage reported as [`Error::Malformed`], inflating
/// as its [`InflateOptions`] say.
///
/// [`Error::Malformed`]: crate::Error::Malformed
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use a0backup::gzip::{GzipReader, InflateOptions};
/// let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
/// gz.write_all(&b"hello ".repeat(10_000))?;
/// let gz = gz.finish()?;
/// for options in [InflateOptions::new(), InflateOptions::new().threads(2).chunk_size(1024)] {
///     let mut out = Vec::new();
///     GzipReader::new(&gz[..], options)?.read_to_end(&mut out)?;
///     assert_eq!(out, b"hello ".repeat(10_000));
/// }
/// # Ok::<(), a0backup::Error>(())
/// ```
#[derive(Debug)]
pub struct GzipReader<R: Read> {
    inner: Inner<R>,
}

// One per stream, never in a collection: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
enum Inner<R: Read> {
    Sequential(GzipChecked<R>),
    Parallel(ParallelGunzip<R>),
}

impl<R: Read> std::fmt::Debug for Inner<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Inner::Sequential(_) => f.write_str("Sequential"),
            Inner::Parallel(p) => p.fmt(f),
        }
    }
}

impl<R: Read> GzipReader<R> {
    /// Reads the first bytes of `input` to check that it is gzip.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`](crate::Error::Malformed) when it is not, read errors, and
    /// [`Error::Io`](crate::Error::Io) when a worker thread cannot be started.
    pub fn new(input: R, options: InflateOptions) -> Result<Self> {
        Self::with(input, &options, NotGzip::Malformed)
    }

    pub(crate) fn with(mut input: R, options: &InflateOptions, not_gzip: NotGzip) -> Result<Self> {
        let magic = read_magic(&mut input, not_gzip)?;
        let inner = match options.threads {
            None => Inner::Sequential(GzipChecked::after_magic(input, magic)),
            Some(t) => Inner::Parallel(ParallelGunzip::new(input, &magic, t, options.chunk())?),
        };
        Ok(GzipReader { inner })
    }

    /// What the parallel path did so far; `None` on the sequential path.
    #[cfg(test)]
    pub(crate) fn parallel_stats(&self) -> Option<ParallelStats> {
        match &self.inner {
            Inner::Sequential(_) => None,
            Inner::Parallel(p) => Some(p.stats()),
        }
    }

    /// Zero bytes found (and ignored) after the last member, so far.
    pub fn trailing_zeros(&self) -> u64 {
        match &self.inner {
            Inner::Sequential(g) => g.trailing_zeros(),
            Inner::Parallel(p) => p.trailing_zeros(),
        }
    }
}

impl<R: Read> Read for GzipReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Sequential(g) => g.read(buf),
            Inner::Parallel(p) => p.read(buf),
        }
    }
}
