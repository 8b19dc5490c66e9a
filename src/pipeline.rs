//! Moving bytes between threads so that MD5, decryption, inflate and file writes overlap.
//!
//! MD5 is the one step that cannot be split across cores, so it gets a thread of its own; the
//! other steps hand fixed-size buffers along bounded channels. Buffers are recycled through a
//! return channel, so memory is a few chunks whatever the size of the input.

use std::io::{self, Read, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use crate::checksum::{Md5, Md5Digest};
use crate::io_ext::read_full;

/// Size of one chunk handed between threads.
pub(crate) const CHUNK: usize = 1024 * 1024;

/// Chunks in flight per channel: enough to ride out a slow write, small enough for memory.
const IN_FLIGHT: usize = 3;

enum Msg {
    Data(Vec<u8>),
    /// The sender's announcement that the stream is complete; a sender that goes away without
    /// it (an error on its side) leaves the receiver with an error, not a short stream.
    End,
}

/// A bounded channel of chunks from one thread to another; the receiver hands emptied buffers
/// back, so the two sides share a few buffers whatever the length of the stream.
pub(crate) fn chunk_channel() -> (ChunkSender, ChunkReceiver) {
    let (tx, rx) = sync_channel(IN_FLIGHT);
    let (give_back, recycled) = sync_channel(IN_FLIGHT + 2);
    (
        ChunkSender { tx, recycled },
        ChunkReceiver { rx, give_back },
    )
}

/// The sending half of [`chunk_channel`].
pub(crate) struct ChunkSender {
    tx: SyncSender<Msg>,
    recycled: Receiver<Vec<u8>>,
}

impl ChunkSender {
    /// A buffer of [`CHUNK`] bytes to fill: one the receiver gave back, when there is one.
    pub(crate) fn buffer(&self) -> Vec<u8> {
        let mut buf = self.recycled.try_recv().unwrap_or_default();
        buf.resize(CHUNK, 0);
        buf
    }

    /// Sends a filled chunk. `false` when the receiver has gone (it failed; it reports why).
    pub(crate) fn send(&self, chunk: Vec<u8>) -> bool {
        self.tx.send(Msg::Data(chunk)).is_ok()
    }

    /// Announces that the stream is complete.
    pub(crate) fn end(self) {
        let _ = self.tx.send(Msg::End);
    }
}

/// The receiving half of [`chunk_channel`].
pub(crate) struct ChunkReceiver {
    rx: Receiver<Msg>,
    give_back: SyncSender<Vec<u8>>,
}

impl ChunkReceiver {
    /// The next chunk; `None` after the sender announced the end.
    ///
    /// # Errors
    ///
    /// When the sender went away without announcing the end.
    pub(crate) fn recv(&self) -> io::Result<Option<Vec<u8>>> {
        match self.rx.recv() {
            Ok(Msg::Data(chunk)) => Ok(Some(chunk)),
            Ok(Msg::End) => Ok(None),
            Err(_) => Err(io::Error::other("the sending side stopped early")),
        }
    }

    /// Returns an emptied buffer to the sender.
    pub(crate) fn recycle(&self, mut chunk: Vec<u8>) {
        chunk.clear();
        // The sender may be gone already; then the buffer is simply freed.
        let _ = self.give_back.try_send(chunk);
    }

    /// The received stream as a reader.
    pub(crate) fn into_reader(self) -> ChunkReader {
        ChunkReader {
            rx: self,
            current: Vec::new(),
            pos: 0,
            ended: false,
        }
    }
}

/// [`ChunkReceiver`] as an `io::Read`: the bytes of every chunk in order, then the end.
pub(crate) struct ChunkReader {
    rx: ChunkReceiver,
    current: Vec<u8>,
    pos: usize,
    ended: bool,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            if self.ended {
                return Ok(0);
            }
            match self.rx.recv()? {
                Some(chunk) => {
                    let old = std::mem::replace(&mut self.current, chunk);
                    self.rx.recycle(old);
                    self.pos = 0;
                }
                None => self.ended = true,
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// A reader that hashes what passes through it on a second thread.
///
/// Bytes are copied into a pooled buffer and sent to the hashing thread, so the caller can
/// decrypt its buffer in place while the ciphertext is being hashed.
pub(crate) struct ThreadedHashReader<R> {
    inner: R,
    pending: Vec<u8>,
    to_hasher: Option<ChunkSender>,
    hasher: Option<JoinHandle<Md5Digest>>,
    bytes: u64,
}

impl<R: Read> ThreadedHashReader<R> {
    pub(crate) fn new(inner: R) -> ThreadedHashReader<R> {
        let (to_hasher, work) = chunk_channel();
        let hasher = std::thread::Builder::new()
            .name("a0backup-md5".into())
            .spawn(move || {
                let mut md5 = Md5::new();
                // Ends at the announced end, or when the reader is dropped unfinished.
                while let Ok(Some(chunk)) = work.recv() {
                    md5.update(&chunk);
                    work.recycle(chunk);
                }
                md5.finish()
            })
            .expect("spawning the md5 thread");
        ThreadedHashReader {
            inner,
            pending: Vec::with_capacity(CHUNK),
            to_hasher: Some(to_hasher),
            hasher: Some(hasher),
            bytes: 0,
        }
    }

    fn send_pending(&mut self) {
        if let Some(tx) = &self.to_hasher {
            let mut next = tx.buffer();
            next.clear();
            let full = std::mem::replace(&mut self.pending, next);
            // The hashing thread only ends at the end or when this reader goes, so this
            // cannot fail unless it panicked; `finish` reports that.
            let _ = tx.send(full);
        }
    }

    /// Waits for the hash of everything read and returns it with the byte count.
    pub(crate) fn finish(mut self) -> io::Result<(Md5Digest, u64)> {
        if !self.pending.is_empty() {
            self.send_pending();
        }
        if let Some(tx) = self.to_hasher.take() {
            tx.end();
        }
        let digest = self
            .hasher
            .take()
            .expect("finish runs once")
            .join()
            .map_err(|_| io::Error::other("the md5 thread panicked"))?;
        Ok((digest, self.bytes))
    }
}

impl<R: Read> Read for ThreadedHashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            let take = rest.len().min(CHUNK - self.pending.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == CHUNK {
                self.send_pending();
            }
        }
        self.bytes += n as u64;
        Ok(n)
    }
}

impl<R> Drop for ThreadedHashReader<R> {
    fn drop(&mut self) {
        drop(self.to_hasher.take());
        if let Some(h) = self.hasher.take() {
            let _ = h.join();
        }
    }
}

/// A reader that hashes what passes through it on a second thread, or, when no hash is
/// wanted, only counts it; so that callers have one path for both cases.
pub(crate) enum MaybeHashed<R> {
    Hashed(ThreadedHashReader<R>),
    Counted { inner: R, bytes: u64 },
}

impl<R: Read> MaybeHashed<R> {
    pub(crate) fn new(inner: R, hash: bool) -> Self {
        if hash {
            MaybeHashed::Hashed(ThreadedHashReader::new(inner))
        } else {
            MaybeHashed::Counted { inner, bytes: 0 }
        }
    }

    /// The MD5 of everything read (when hashing) and the byte count.
    pub(crate) fn finish(self) -> io::Result<(Option<Md5Digest>, u64)> {
        match self {
            MaybeHashed::Hashed(h) => h.finish().map(|(d, n)| (Some(d), n)),
            MaybeHashed::Counted { bytes, .. } => Ok((None, bytes)),
        }
    }
}

impl<R: Read> Read for MaybeHashed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            MaybeHashed::Hashed(h) => h.read(buf),
            MaybeHashed::Counted { inner, bytes } => {
                let n = inner.read(buf)?;
                *bytes += n as u64;
                Ok(n)
            }
        }
    }
}

/// Copies `reader` to `writer`, with the writes on a second thread so that reading (and
/// whatever the reader computes: decryption, inflate) overlaps with writing.
///
/// `on_chunk` is called on this thread after each chunk with the bytes read so far; an error it
/// returns stops the copy.
pub(crate) fn copy_with_writer_thread<R: Read + ?Sized, W: Write + Send>(
    reader: &mut R,
    writer: &mut W,
    mut on_chunk: impl FnMut(u64) -> io::Result<()>,
) -> io::Result<u64> {
    std::thread::scope(|scope| {
        let (to_writer, work) = chunk_channel();
        let writer_thread = std::thread::Builder::new()
            .name("a0backup-write".into())
            .spawn_scoped(scope, move || -> io::Result<()> {
                while let Some(chunk) = work.recv()? {
                    writer.write_all(&chunk)?;
                    work.recycle(chunk);
                }
                writer.flush()
            })
            .expect("spawning the writer thread");

        let mut total = 0u64;
        let read_result = (|| -> io::Result<()> {
            loop {
                let mut buf = to_writer.buffer();
                let n = read_full(reader, &mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                buf.truncate(n);
                total += n as u64;
                if !to_writer.send(buf) {
                    // The writer stopped on an error, which the join below reports.
                    return Ok(());
                }
                on_chunk(total)?;
                if n < CHUNK {
                    return Ok(());
                }
            }
        })();
        if read_result.is_ok() {
            to_writer.end();
        } else {
            drop(to_writer);
        }
        let write_result = writer_thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the writer thread panicked")));
        read_result?;
        write_result?;
        Ok(total)
    })
}

/// Reads `source` on this thread in [`CHUNK`]s and hands them over a [`chunk_channel`] to
/// `consume`, which runs on a thread of its own (named `thread_name`) and reads them as a
/// stream. `after_chunk` runs here after each chunk (progress, cancellation). Only a complete
/// read announces the end, so a source that fails is, to the consumer, a stream that stopped
/// early; the source's error is the one returned then, else the consumer's result.
pub(crate) fn hand_off<R: Read, T: Send>(
    source: &mut R,
    thread_name: &str,
    consume: impl FnOnce(ChunkReader) -> crate::Result<T> + Send,
    mut after_chunk: impl FnMut() -> crate::Result<()>,
) -> crate::Result<T> {
    let (tx, rx) = chunk_channel();
    std::thread::scope(|scope| {
        let consumer = std::thread::Builder::new()
            .name(thread_name.into())
            .spawn_scoped(scope, move || consume(rx.into_reader()))
            .expect("spawning a pipeline thread");
        let read = (|| -> crate::Result<()> {
            loop {
                let mut buf = tx.buffer();
                let n = read_full(source, &mut buf)?;
                buf.truncate(n);
                if n > 0 && !tx.send(buf) {
                    return Ok(()); // the consumer failed; its error is reported
                }
                after_chunk()?;
                if n < CHUNK {
                    return Ok(());
                }
            }
        })();
        if read.is_ok() {
            tx.end();
        } else {
            drop(tx);
        }
        let consumed = consumer.join().unwrap_or_else(|_| {
            Err(crate::Error::Io(io::Error::other(format!(
                "the {thread_name} thread panicked"
            ))))
        });
        read.and(consumed)
    })
}
