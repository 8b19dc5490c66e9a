//! gzip compression on every core, as one ordinary gzip stream.
//!
//! Deflate at level 6 runs at about 50 MB/s on one core, so packing a backup would take
//! minutes. As pigz does, the input is cut into blocks that are compressed on their own threads,
//! each primed with the last 32 KiB of the block before it (so the ratio stays that of one
//! stream), and ended with a sync flush so the pieces join into one valid deflate stream. The
//! result is a single gzip member that any gzip reader accepts.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::thread::JoinHandle;

use flate2::{Compress, Compression, FlushCompress, Status};

/// Bytes of input per block: large enough that priming and flushing cost nothing measurable.
const BLOCK: usize = 512 << 10;
/// deflate's window: what a block may refer back to.
const WINDOW: usize = 32 * 1024;

/// A gzip writer that compresses on every core. As flate2's `GzEncoder`:
/// [`try_finish`](Self::try_finish) or [`finish`](Self::finish) complete the stream, and
/// dropping an unfinished encoder completes it too, ignoring errors (call `finish` to see
/// them). Either way no deflate thread outlives the encoder.
pub(crate) struct ParallelGzEncoder<W: Write> {
    /// `None` once [`finish`](Self::finish) gave it back.
    inner: Option<W>,
    level: Compression,
    block: Vec<u8>,
    dictionary: Vec<u8>,
    crc: crc32fast::Hasher,
    total: u64,
    pending: VecDeque<JoinHandle<io::Result<Vec<u8>>>>,
    max_in_flight: usize,
    /// Compressed bytes of the oldest block, joined but not yet all written to `inner`; kept
    /// so that a write error can be retried without losing them.
    ready: Vec<u8>,
    ready_pos: usize,
    /// The final block was handed to a thread: no more input is taken.
    last_dispatched: bool,
    /// Bytes of the 8-byte trailer (CRC-32, length) written.
    trailer_written: usize,
    /// A block was lost (a thread could not be started, or failed): the stream cannot be
    /// completed.
    broken: bool,
}

impl<W: Write> ParallelGzEncoder<W> {
    pub(crate) fn new(mut inner: W, level: u32) -> io::Result<Self> {
        // magic, deflate, no flags, no mtime, no extra flags, OS = Unix
        inner.write_all(&[0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3])?;
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(ParallelGzEncoder {
            inner: Some(inner),
            level: Compression::new(level),
            block: Vec::with_capacity(BLOCK),
            dictionary: Vec::new(),
            crc: crc32fast::Hasher::new(),
            total: 0,
            pending: VecDeque::new(),
            max_in_flight: threads,
            ready: Vec::new(),
            ready_pos: 0,
            last_dispatched: false,
            trailer_written: 0,
            broken: false,
        })
    }

    fn inner_mut(&mut self) -> &mut W {
        self.inner
            .as_mut()
            .expect("the inner writer is present until finish")
    }

    fn check_usable(&self) -> io::Result<()> {
        if self.broken {
            return Err(io::Error::other(
                "an earlier compression error left the gzip stream incomplete",
            ));
        }
        Ok(())
    }

    fn dispatch(&mut self, last: bool) -> io::Result<()> {
        let block = std::mem::replace(&mut self.block, Vec::with_capacity(BLOCK));
        // Every block but the last is BLOCK bytes long, so its tail is a whole window.
        let next = block[block.len().saturating_sub(WINDOW)..].to_vec();
        let dictionary = std::mem::replace(&mut self.dictionary, next);
        let level = self.level;
        let handle = std::thread::Builder::new()
            .name("a0backup-deflate".into())
            .spawn(move || deflate_block(&block, &dictionary, level, last))
            .inspect_err(|_| self.broken = true)?;
        self.pending.push_back(handle);
        self.last_dispatched = last;
        Ok(())
    }

    /// Writes out what is left of the joined block; safe to call again after an error.
    fn write_ready(&mut self) -> io::Result<()> {
        while self.ready_pos < self.ready.len() {
            let inner = self
                .inner
                .as_mut()
                .expect("the inner writer is present until finish");
            match inner.write(&self.ready[self.ready_pos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.ready_pos += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.ready.clear();
        self.ready_pos = 0;
        Ok(())
    }

    fn write_oldest(&mut self) -> io::Result<()> {
        self.write_ready()?;
        if let Some(h) = self.pending.pop_front() {
            let bytes = h
                .join()
                .map_err(|_| io::Error::other("a deflate thread panicked"))
                .and_then(|r| r)
                .inspect_err(|_| self.broken = true)?;
            self.ready = bytes;
            self.write_ready()?;
        }
        Ok(())
    }

    /// Compresses what is left and writes the rest of the stream and its trailer. It may be
    /// called again after an error of the inner writer; no input may be written after it.
    pub(crate) fn try_finish(&mut self) -> io::Result<()> {
        self.check_usable()?;
        if !self.last_dispatched {
            self.dispatch(true)?;
        }
        self.write_ready()?;
        while !self.pending.is_empty() {
            self.write_oldest()?;
        }
        let mut trailer = [0u8; 8];
        trailer[..4].copy_from_slice(&self.crc.clone().finalize().to_le_bytes());
        trailer[4..].copy_from_slice(&(self.total as u32).to_le_bytes());
        while self.trailer_written < trailer.len() {
            let rest = &trailer[self.trailer_written..];
            match self.inner_mut().write(rest) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.trailer_written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.inner_mut().flush()
    }

    /// Compresses what is left, writes the gzip trailer and returns the inner writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.try_finish()?;
        Ok(self
            .inner
            .take()
            .expect("the inner writer is present until finish"))
    }
}

impl<W: Write> Write for ParallelGzEncoder<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.check_usable()?;
        if self.last_dispatched {
            return Err(io::Error::other("write to a finished gzip stream"));
        }
        // Pass on finished blocks before taking input, so that an error of the inner writer
        // is returned with no input taken (and the write can be retried).
        while self.pending.len() > self.max_in_flight {
            self.write_oldest()?;
        }
        let n = data.len().min(BLOCK - self.block.len());
        self.block.extend_from_slice(&data[..n]);
        self.crc.update(&data[..n]);
        self.total += n as u64;
        if self.block.len() == BLOCK {
            self.dispatch(false)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Blocks are only cut at BLOCK boundaries so the ratio does not depend on how the
        // caller writes; flushing passes on what is already compressed.
        self.write_ready()?;
        self.inner_mut().flush()
    }
}

impl<W: Write> Drop for ParallelGzEncoder<W> {
    fn drop(&mut self) {
        // As flate2's GzEncoder: an unfinished stream is finished, errors ignored (`finish`
        // reports them); not while panicking, when the output is not to be trusted anyway.
        if self.inner.is_some() && !std::thread::panicking() {
            let _ = self.try_finish();
        }
        // Whatever happened, no deflate thread outlives the encoder. Each ends on its own
        // (it only compresses its block), so joining cannot hang.
        for h in self.pending.drain(..) {
            let _ = h.join();
        }
    }
}

/// Raw deflate of one block, primed with `dictionary`, ending in a sync flush (or the final
/// block when `last`), so that blocks concatenate into one stream.
fn deflate_block(
    input: &[u8],
    dictionary: &[u8],
    level: Compression,
    last: bool,
) -> io::Result<Vec<u8>> {
    let mut c = Compress::new(level, false);
    if !dictionary.is_empty() {
        c.set_dictionary(dictionary).map_err(io::Error::other)?;
    }
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(input.len() / 2 + 1024);
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(1024));
        }
        let consumed = c.total_in() as usize;
        let status = c
            .compress_vec(&input[consumed..], &mut out, flush)
            .map_err(io::Error::other)?;
        let all_in = c.total_in() as usize == input.len();
        match status {
            Status::StreamEnd => return Ok(out),
            _ if !last && all_in && out.len() < out.capacity() => return Ok(out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn compress(data: &[u8], level: u32, write_size: usize) -> Vec<u8> {
        let mut e = ParallelGzEncoder::new(Vec::new(), level).unwrap();
        for piece in data.chunks(write_size.max(1)) {
            e.write_all(piece).unwrap();
        }
        e.finish().unwrap()
    }

    fn semi_random(len: usize) -> Vec<u8> {
        let mut x = 0x1234_5678u32;
        (0..len)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                if i % 7 < 4 {
                    b"mongodump"[i % 9]
                } else {
                    (x % 16) as u8 + b'a'
                }
            })
            .collect()
    }

    #[test]
    fn single_gzip_member_at_block_boundaries() {
        for len in [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + BLOCK / 2] {
            let data = semi_random(len);
            let gz = compress(&data, 6, 100_003);
            // A single-member decoder must read it all: one stream, not several members.
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&gz[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back.len(), data.len(), "len {len}");
            assert!(back == data, "len {len}");
        }
    }

    fn gunzip(gz: &[u8]) -> Vec<u8> {
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut back)
            .unwrap();
        back
    }

    /// `gzip -t` on `gz`, when gzip is installed.
    fn gzip_accepts(gz: &[u8]) -> Option<bool> {
        use std::process::{Command, Stdio};
        let mut child = Command::new("gzip")
            .arg("-t")
            .stdin(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        child.stdin.take().unwrap().write_all(gz).unwrap();
        Some(child.wait().unwrap().success())
    }

    #[test]
    fn a_dropped_encoder_writes_a_complete_stream() {
        for len in [0, 1, BLOCK + 1, 3 * BLOCK + 5] {
            let data = semi_random(len);
            let mut gz = Vec::new();
            {
                let mut e = ParallelGzEncoder::new(&mut gz, 6).unwrap();
                e.write_all(&data).unwrap();
                // Dropped without finish.
            }
            assert!(gunzip(&gz) == data, "len {len}");
            // The trailer is there: CRC-32 and length of the data.
            let tail = &gz[gz.len() - 8..];
            assert_eq!(tail[..4], crc32fast::hash(&data).to_le_bytes(), "len {len}");
            assert_eq!(tail[4..], (len as u32).to_le_bytes(), "len {len}");
            if let Some(ok) = gzip_accepts(&gz) {
                assert!(ok, "gzip -t refuses the stream of len {len}");
            }
        }
    }

    /// A writer that fails every third call, as a full disk being freed or a flaky pipe.
    struct Flaky {
        out: Vec<u8>,
        calls: u32,
    }

    impl Write for Flaky {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.calls.is_multiple_of(3) {
                return Err(io::Error::other("flaky"));
            }
            // Short writes too.
            let n = data.len().min(70_000);
            self.out.extend_from_slice(&data[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn write_and_try_finish_can_be_retried_after_errors_of_the_inner_writer() {
        let data = semi_random(5 * BLOCK + 123);
        let flaky = Flaky {
            out: Vec::new(),
            calls: 1, // the header goes through on the first call
        };
        let mut e = ParallelGzEncoder::new(flaky, 6).unwrap();
        let mut rest = &data[..];
        let mut errors = 0;
        while !rest.is_empty() {
            match e.write(&rest[..rest.len().min(100_000)]) {
                Ok(n) => rest = &rest[n..],
                Err(_) => errors += 1,
            }
        }
        while e.try_finish().is_err() {
            errors += 1;
        }
        e.try_finish().unwrap();
        assert!(e.write(b"more").is_err(), "no input after finishing");
        let out = e.finish().unwrap().out;
        assert!(errors > 0);
        assert!(gunzip(&out) == data);
    }

    #[test]
    fn ratio_is_close_to_one_stream() {
        let data = semi_random(4 * BLOCK);
        let ours = compress(&data, 6, 65_536).len();
        let mut e = flate2::write::GzEncoder::new(Vec::new(), Compression::new(6));
        e.write_all(&data).unwrap();
        let one = e.finish().unwrap().len();
        assert!((ours as f64) < one as f64 * 1.01, "{ours} vs {one}");
    }
}
