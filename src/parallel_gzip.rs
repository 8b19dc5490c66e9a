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

pub(crate) struct ParallelGzEncoder<W: Write> {
    inner: W,
    level: Compression,
    block: Vec<u8>,
    dictionary: Vec<u8>,
    crc: crc32fast::Hasher,
    total: u64,
    pending: VecDeque<JoinHandle<io::Result<Vec<u8>>>>,
    max_in_flight: usize,
}

impl<W: Write> ParallelGzEncoder<W> {
    pub(crate) fn new(mut inner: W, level: u32) -> io::Result<Self> {
        // magic, deflate, no flags, no mtime, no extra flags, OS = Unix
        inner.write_all(&[0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3])?;
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(ParallelGzEncoder {
            inner,
            level: Compression::new(level),
            block: Vec::with_capacity(BLOCK),
            dictionary: Vec::new(),
            crc: crc32fast::Hasher::new(),
            total: 0,
            pending: VecDeque::new(),
            max_in_flight: threads,
        })
    }

    fn dispatch(&mut self, last: bool) -> io::Result<()> {
        let block = std::mem::replace(&mut self.block, Vec::with_capacity(BLOCK));
        // Every block but the last is BLOCK bytes long, so its tail is a whole window.
        let next = block[block.len().saturating_sub(WINDOW)..].to_vec();
        let dictionary = std::mem::replace(&mut self.dictionary, next);
        let level = self.level;
        let handle = std::thread::Builder::new()
            .name("a0backup-deflate".into())
            .spawn(move || deflate_block(&block, &dictionary, level, last))?;
        self.pending.push_back(handle);
        while self.pending.len() > self.max_in_flight {
            self.write_oldest()?;
        }
        Ok(())
    }

    fn write_oldest(&mut self) -> io::Result<()> {
        if let Some(h) = self.pending.pop_front() {
            let bytes = h
                .join()
                .map_err(|_| io::Error::other("a deflate thread panicked"))??;
            self.inner.write_all(&bytes)?;
        }
        Ok(())
    }

    /// Compresses what is left, writes the gzip trailer and returns the inner writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.dispatch(true)?;
        while !self.pending.is_empty() {
            self.write_oldest()?;
        }
        let crc = self.crc.clone().finalize();
        self.inner.write_all(&crc.to_le_bytes())?;
        self.inner.write_all(&(self.total as u32).to_le_bytes())?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for ParallelGzEncoder<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
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
        self.inner.flush()
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
