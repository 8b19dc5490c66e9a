//! The in-order consumer of speculative chunks, and the sequential decoder that covers
//! whatever they do not.
//!
//! The compressed stream is read once, in order, on the caller's thread (so whatever the
//! reader computes on the way, MD5 or decryption, sees every byte once). Chunks of it are
//! copied to worker threads, which decode them speculatively ([`speculate`]). The consumer
//! keeps the one confirmed position in the stream and the real window: a chunk's output is
//! taken only when it starts exactly where the confirmed decode stands (at a block boundary),
//! its markers resolved with the window. Everything else (the first chunk, gaps, chunks that
//! found no block start, went wrong or grew too large, member boundaries) the consumer decodes
//! itself with the known window, so the result never depends on a guess. The CRC-32 and length
//! of every member are checked over the output in order, and member boundaries and zero
//! padding are handled as the sequential reader (`checked.rs`) does.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::mpsc::{self, Sender};
use std::thread::JoinHandle;

use super::bits::Bits;
use super::decoder::{Decoder, Known, Stop, MARKER, WINDOW};
use super::finder::Speculated;
use super::jobs::{cap, lookahead, spawn_workers, Backoff, Job, Pending, Pools};
use super::member::{header_len, Header};
use crate::error::{Error, Input};

/// Output the consumer decodes itself per step before handing it on.
pub(crate) const STEP: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    Body,
    Trailer,
    Between,
    Done,
    Failed,
}

/// A multi-member gzip reader that inflates on worker threads.
pub(crate) struct ParallelGunzip<R> {
    src: R,
    src_eof: bool,
    /// Input bytes `[inbase, inbase + inbuf.len())`.
    inbuf: Vec<u8>,
    inbase: u64,
    chunk: usize,
    max_in_flight: usize,
    next_chunk: u64,
    backoff: Backoff,
    pending: VecDeque<Pending>,
    jobs: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
    state: State,
    /// The confirmed position, in bits from the start of the stream.
    pos: u64,
    decoder: Decoder,
    /// History and output: `out[floor..]` belongs to the current member, `out[out_read..]` is
    /// not handed out yet.
    out: Vec<u8>,
    out_read: usize,
    floor: usize,
    crc: crc32fast::Hasher,
    size: u32,
    zeros: u64,
    stats: ParallelStats,
    /// The byte each 16-bit output value of a worker stands for (see `accept`).
    lut: Box<[u8; 1 << 16]>,
    pools: Pools,
}

/// What the parallel path did: how much of the output came from the workers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ParallelStats {
    /// Chunks whose speculative decode was taken.
    pub(crate) chunks_taken: u64,
    /// Chunks handed to workers and not taken (no block start found, a false start, too
    /// much output, or the consumer was past them).
    pub(crate) chunks_dropped: u64,
    /// Output bytes that came from the workers.
    pub(crate) bytes_from_workers: u64,
    /// Output bytes the consumer decoded itself.
    pub(crate) bytes_sequential: u64,
}

impl<R> std::fmt::Debug for ParallelGunzip<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParallelGunzip")
            .field("threads", &self.workers.len())
            .field("chunk", &self.chunk)
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

fn malformed(detail: &str) -> io::Error {
    io::Error::from(Error::malformed(Input::Gzip, None, detail.to_string()))
}

fn truncated() -> io::Error {
    io::Error::from(Error::Truncated { input: Input::Gzip })
}

/// Damage in the deflate data, in the words the sequential path (flate2 over zlib-rs) uses
/// for every kind of it, so that a damaged backup fails with the same message on either path;
/// the decoder's own reason (zlib's wording) is more precise but would differ.
fn corrupt_deflate() -> io::Error {
    malformed("corrupt deflate stream")
}

impl<R: Read> ParallelGunzip<R> {
    /// A reader of `src`, whose first bytes `magic` were read already, with `threads` workers
    /// and chunks of `chunk` bytes.
    pub(crate) fn new(src: R, magic: &[u8], threads: usize, chunk: usize) -> io::Result<Self> {
        let (tx, workers) = spawn_workers(threads.max(1))?;
        Ok(ParallelGunzip {
            src,
            src_eof: false,
            inbuf: magic.to_vec(),
            inbase: 0,
            chunk,
            max_in_flight: threads.max(1) + 1,
            next_chunk: 1,
            backoff: Backoff::new(),
            pending: VecDeque::new(),
            jobs: Some(tx),
            workers,
            state: State::Header,
            pos: 0,
            decoder: Decoder::new(),
            out: Vec::new(),
            out_read: 0,
            floor: 0,
            crc: crc32fast::Hasher::new(),
            size: 0,
            zeros: 0,
            stats: ParallelStats::default(),
            lut: {
                let mut lut = Box::new([0u8; 1 << 16]);
                for (i, b) in lut.iter_mut().enumerate().take(256) {
                    *b = i as u8;
                }
                lut
            },
            pools: Pools::default(),
        })
    }

    /// Zero bytes found (and ignored) after the last member.
    pub(crate) fn trailing_zeros(&self) -> u64 {
        self.zeros
    }

    /// What was decoded where, so far.
    #[cfg(test)]
    pub(crate) fn stats(&self) -> ParallelStats {
        self.stats
    }

    fn read_to(&self) -> u64 {
        self.inbase + self.inbuf.len() as u64
    }

    /// Reads up to one more chunk of input; `false` at the end of it.
    fn read_more(&mut self) -> io::Result<bool> {
        if self.src_eof {
            return Ok(false);
        }
        let keep = self.pos / 8;
        if keep - self.inbase >= 4 * self.chunk as u64 {
            self.inbuf.drain(..(keep - self.inbase) as usize);
            self.inbase = keep;
        }
        let old = self.inbuf.len();
        self.inbuf.resize(old + self.chunk, 0);
        let n = crate::io_ext::read_full(&mut self.src, &mut self.inbuf[old..])?;
        self.inbuf.truncate(old + n);
        if n < self.chunk {
            self.src_eof = true;
        }
        Ok(n > 0)
    }

    /// Makes sure input up to byte `end` is read; `false` when the input ends before.
    fn have_bytes(&mut self, end: u64) -> io::Result<bool> {
        while self.read_to() < end {
            if !self.read_more()? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Hands chunks ahead of the confirmed position to the workers.
    fn dispatch(&mut self) -> io::Result<()> {
        let chunk = self.chunk as u64;
        if self.pos / 8 / chunk < self.backoff.until {
            return Ok(());
        }
        while self.pending.len() < self.max_in_flight {
            let k = self.next_chunk.max(self.pos / 8 / chunk + 1);
            let start = k * chunk;
            let end = start + chunk + lookahead(self.chunk) as u64;
            self.have_bytes(end)?;
            let read_to = self.read_to();
            if start >= read_to {
                return Ok(());
            }
            let Some(jobs) = &self.jobs else {
                return Ok(());
            };
            let mut input = self.pools.inputs.pop().unwrap_or_default();
            input.clear();
            input.extend_from_slice(
                &self.inbuf
                    [(start - self.inbase) as usize..(end.min(read_to) - self.inbase) as usize],
            );
            let (reply, rx) = mpsc::sync_channel(1);
            let job = Job {
                input,
                out: self.pools.outputs.pop().unwrap_or_default(),
                base: start,
                chunk_end: self.chunk,
                cap: cap(self.chunk),
                reply,
            };
            if jobs.send(job).is_err() {
                // No worker left (they only stop when this reader goes): go on alone.
                self.jobs = None;
                return Ok(());
            }
            self.pending.push_back(Pending {
                first_bit: start * 8,
                reply: rx,
                got: None,
            });
            self.next_chunk = k + 1;
        }
        Ok(())
    }

    /// The three bits at the confirmed position (1 when they are not read yet: no match).
    fn first3(&self) -> u64 {
        let rel = (self.pos - self.inbase * 8) as usize;
        let bits = Bits::new(&self.inbuf, rel);
        if rel + 3 > bits.len_bits() {
            return 1;
        }
        bits.peek(3)
    }

    /// Takes a worker's chunk whose start matched: resolves its markers with the window.
    /// `false` (and nothing taken) when a marker reaches before the member's output.
    fn accept(&mut self, s: &Speculated) -> bool {
        let base = self.out.len();
        // Markers name window bytes by index: `i` is the byte `WINDOW - i` before the chunk.
        // The first `missing` of them are before the member (or the stream) started.
        let history = (base - self.floor).min(WINDOW);
        let missing = WINDOW - history;
        if s.oldest < missing {
            // zlib's "invalid distance too far back": the consumer decodes this itself and
            // reports it where it is.
            return false;
        }
        // One table for every 16-bit value: bytes stand for themselves, markers for the
        // window byte they name.
        let lut = &mut self.lut;
        lut[usize::from(MARKER) + missing..].copy_from_slice(&self.out[base - history..base]);
        let data = &s.data[WINDOW..];
        self.out.resize(base + data.len(), 0);
        for (d, &v) in self.out[base..].iter_mut().zip(data) {
            *d = lut[usize::from(v)];
        }
        self.crc.update(&self.out[base..]);
        self.size = self.size.wrapping_add((self.out.len() - base) as u32);
        self.stats.chunks_taken += 1;
        self.stats.bytes_from_workers += (self.out.len() - base) as u64;
        self.pos = s.end;
        if s.last {
            self.state = State::Trailer;
        }
        true
    }

    /// Notes a worker chunk taken or dropped, for the [`Backoff`].
    fn note(&mut self, taken: bool) {
        let at = self.pos / 8 / self.chunk as u64;
        self.backoff.note(taken, at, self.max_in_flight);
    }

    /// Takes the next worker chunk if it starts at the confirmed position; drops the ones
    /// that cannot any more. Returns whether one was taken.
    fn try_speculated(&mut self) -> io::Result<bool> {
        loop {
            let first3 = self.first3();
            let pos = self.pos;
            let Some(front) = self.pending.front_mut() else {
                return Ok(false);
            };
            if pos < front.first_bit {
                return Ok(false);
            }
            let start = front.result(&mut self.pools).map(|s| s.start);
            match start {
                Some(start) if start.matches(pos, first3) => {
                    let s = self.pending.pop_front().and_then(|p| p.got.flatten());
                    let taken = s.is_some_and(|s| {
                        let taken = self.accept(&s);
                        self.pools.outputs.push(s.data);
                        taken
                    });
                    if !taken {
                        self.stats.chunks_dropped += 1;
                    }
                    self.note(taken);
                    self.dispatch()?;
                    return Ok(taken);
                }
                // Starts later: decode up to it here.
                Some(start) if pos <= start.latest() => return Ok(false),
                // Nothing found, or passed already.
                _ => {
                    if let Some(s) = self.pending.pop_front().and_then(|p| p.got.flatten()) {
                        self.pools.outputs.push(s.data);
                    }
                    self.stats.chunks_dropped += 1;
                    self.note(false);
                    self.dispatch()?;
                }
            }
        }
    }

    /// Decodes one step of the current member's deflate data.
    fn body(&mut self) -> io::Result<()> {
        self.dispatch()?;
        if self.decoder.at_block_start() && self.try_speculated()? {
            return Ok(());
        }
        let old = self.out.len();
        let rel = (self.pos - self.inbase * 8) as usize;
        let mut bits = Bits::new(&self.inbuf, rel);
        let mut out = Known {
            buf: &mut self.out,
            floor: self.floor,
        };
        let run = self.decoder.run(&mut bits, &mut out, old + STEP);
        self.pos = self.inbase * 8 + bits.pos() as u64;
        self.crc.update(&self.out[old..]);
        self.size = self.size.wrapping_add((self.out.len() - old) as u32);
        self.stats.bytes_sequential += (self.out.len() - old) as u64;
        match run {
            Ok(Stop::BlockEnd) if self.decoder.was_final() => self.state = State::Trailer,
            Ok(Stop::BlockEnd | Stop::OutputFull) => {}
            Ok(Stop::NeedInput) => {
                if !self.read_more()? {
                    return Err(truncated());
                }
            }
            Err(_) => return Err(corrupt_deflate()),
        }
        Ok(())
    }

    /// One step of the member framing or the deflate data.
    fn step(&mut self) -> io::Result<()> {
        match self.state {
            State::Header => {
                let at = self.pos / 8;
                loop {
                    let rest = &self.inbuf[(at - self.inbase) as usize..];
                    match header_len(rest).map_err(malformed)? {
                        Header::Complete(n) => {
                            self.pos += n as u64 * 8;
                            break;
                        }
                        Header::Incomplete => {
                            if !self.read_more()? {
                                return Err(truncated());
                            }
                        }
                    }
                }
                self.floor = self.out.len();
                self.crc = crc32fast::Hasher::new();
                self.size = 0;
                self.decoder.reset();
                self.state = State::Body;
            }
            State::Body => self.body()?,
            State::Trailer => {
                let at = self.pos.div_ceil(8);
                if !self.have_bytes(at + 8)? {
                    return Err(truncated());
                }
                let t = &self.inbuf[(at - self.inbase) as usize..][..8];
                let crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
                let size = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
                let actual = std::mem::take(&mut self.crc).finalize();
                if crc != actual || size != self.size {
                    return Err(malformed(
                        "corrupt gzip stream does not have a matching checksum",
                    ));
                }
                self.pos = (at + 8) * 8;
                self.state = State::Between;
            }
            State::Between => {
                let at = self.pos / 8;
                if !self.have_bytes(at + 1)? {
                    self.state = State::Done;
                    return Ok(());
                }
                let rest = &self.inbuf[(at - self.inbase) as usize..];
                if self.zeros == 0 && rest[0] == 0x1f {
                    self.state = State::Header;
                    return Ok(());
                }
                if let Some(n) = rest.iter().position(|&b| b != 0) {
                    let at = self.zeros + n as u64;
                    return Err(malformed(&format!(
                        "bytes after the last gzip member that are neither a gzip member nor zero padding ({at} bytes after it)"
                    )));
                }
                self.zeros += rest.len() as u64;
                self.pos += rest.len() as u64 * 8;
            }
            State::Done | State::Failed => {}
        }
        Ok(())
    }
}

impl<R: Read> Read for ParallelGunzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.out_read == self.out.len() {
            // All handed out: keep only the window of the current member.
            let keep_from = self.floor.max(self.out.len().saturating_sub(WINDOW));
            if keep_from >= 4 * WINDOW {
                self.out.drain(..keep_from);
                self.floor = self.floor.saturating_sub(keep_from);
                self.out_read -= keep_from;
            }
            match self.state {
                State::Done => return Ok(0),
                State::Failed => return Err(malformed("the gzip stream failed to decode earlier")),
                _ => {}
            }
            if let Err(e) = self.step() {
                self.state = State::Failed;
                self.pending.clear();
                return Err(e);
            }
        }
        let n = buf.len().min(self.out.len() - self.out_read);
        buf[..n].copy_from_slice(&self.out[self.out_read..self.out_read + n]);
        self.out_read += n;
        Ok(n)
    }
}

impl<R> Drop for ParallelGunzip<R> {
    fn drop(&mut self) {
        self.jobs = None;
        self.pending.clear();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// The differential tests (tests/inflate_differential.rs) would pass with a parallel path
    /// that never takes a worker's chunk: check that it does, on dynamic-Huffman and on stored
    /// blocks, at several levels.
    #[test]
    fn worker_chunks_are_taken() {
        let text: Vec<u8> = (0..400_000u32)
            .flat_map(|i| {
                format!("{{\"_id\":{i},\"email\":\"u{}@example.com\"}}\n", i % 977).into_bytes()
            })
            .collect();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let random: Vec<u8> = (0..1_500_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for (data, level) in [(&text, 6), (&text, 9), (&random, 0)] {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
            gz.write_all(data).unwrap();
            let gz = gz.finish().unwrap();
            // Chunks larger than most blocks, for workers to find block starts the consumer
            // has not passed yet.
            let options = crate::gzip::InflateOptions::new()
                .threads(2)
                .chunk_size(64 * 1024);
            let mut r = crate::gzip::GzipReader::new(&gz[..], options).unwrap();
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut r, &mut out).unwrap();
            assert!(out == *data, "level {level}");
            let s = r.parallel_stats().unwrap();
            assert!(s.chunks_taken >= 4, "level {level}: {s:?}");
            assert!(
                s.bytes_from_workers * 10 >= data.len() as u64 * 7,
                "level {level}: {s:?}"
            );
            assert_eq!(s.bytes_from_workers + s.bytes_sequential, data.len() as u64);
        }
    }

    /// Deflate data of fixed-Huffman blocks (literals only, `block` bytes each): zlib writes
    /// such blocks for small or odd data, and the workers never find their starts.
    fn fixed_huffman(data: &[u8], block: usize) -> Vec<u8> {
        let (mut out, mut acc, mut n) = (Vec::new(), 0u64, 0u32);
        let mut put = |v: u64, bits: u32, out: &mut Vec<u8>| {
            acc |= v << n;
            n += bits;
            while n >= 8 {
                out.push(acc as u8);
                acc >>= 8;
                n -= 8;
            }
        };
        // Huffman codes go most significant bit first.
        let code = |c: u32, len: u32| (u64::from(c.reverse_bits() >> (32 - len)), len);
        let blocks: Vec<&[u8]> = data.chunks(block).collect();
        for (i, b) in blocks.iter().enumerate() {
            put(u64::from(i + 1 == blocks.len()), 1, &mut out);
            put(1, 2, &mut out);
            for &byte in *b {
                let (v, len) = match byte {
                    0..=143 => code(0x30 + u32::from(byte), 8),
                    _ => code(0x190 + u32::from(byte) - 144, 9),
                };
                put(v, len, &mut out);
            }
            let (v, len) = code(0, 7);
            put(v, len, &mut out);
        }
        put(0, 7, &mut out);
        out
    }

    /// A stream whose chunks the workers cannot decode is still inflated exactly, and after a
    /// few rounds of dropped chunks most of it is not handed to them at all.
    #[test]
    fn chunks_stop_going_to_workers_that_cannot_decode_them() {
        let data: Vec<u8> = (0..2_000_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
        gz.extend(fixed_huffman(&data, 16 * 1024));
        gz.extend(crc32fast::hash(&data).to_le_bytes());
        gz.extend((data.len() as u32).to_le_bytes());
        let mut sequential = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut sequential)
            .unwrap();
        assert!(sequential == data, "zlib-rs reads the stream as written");

        let chunk = 4096;
        let mut r = ParallelGunzip::new(&gz[3..], &gz[..3], 2, chunk).unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert!(out == data);
        let s = r.stats();
        let chunks = (gz.len() / chunk) as u64;
        assert_eq!(s.chunks_taken, 0, "{s:?}");
        assert!(s.chunks_dropped * 8 < chunks, "{s:?} of {chunks} chunks");
    }

    /// Buffers go round: however many chunks, the pools hold at most one buffer per job in
    /// flight and one more.
    #[test]
    fn buffer_pools_stay_bounded() {
        let data: Vec<u8> = (0..600_000u32)
            .flat_map(|i| format!("{} ", i.wrapping_mul(2_654_435_761) % 10_007).into_bytes())
            .collect();
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(&data).unwrap();
        let gz = e.finish().unwrap();
        let mut r = ParallelGunzip::new(&gz[3..], &gz[..3], 2, 32 * 1024).unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert!(out == data);
        let s = r.stats();
        assert!(s.chunks_taken >= 10, "{s:?}");
        assert!(
            r.pools.outputs.len() <= r.max_in_flight + 1,
            "{}",
            r.pools.outputs.len()
        );
        assert!(
            r.pools.inputs.len() <= r.max_in_flight + 1,
            "{}",
            r.pools.inputs.len()
        );
    }
}
