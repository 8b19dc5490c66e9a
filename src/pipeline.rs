//! Moving bytes between threads so that MD5, decryption, inflate and file writes overlap.
//!
//! MD5 is the one step that cannot be split across cores, so it gets a thread of its own; the
//! other steps hand fixed-size buffers along bounded channels. Buffers are recycled through a
//! return channel, so memory is a few chunks whatever the size of the input.

use std::io::{self, Read, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use crate::checksum::{Md5, Md5Digest};

/// Size of one chunk handed between threads.
pub(crate) const CHUNK: usize = 1024 * 1024;

/// Chunks in flight per channel: enough to ride out a slow write, small enough for memory.
const IN_FLIGHT: usize = 3;

/// A reader that hashes what passes through it on a second thread.
///
/// Bytes are copied into a pooled buffer and sent to the hashing thread, so the caller can
/// decrypt its buffer in place while the ciphertext is being hashed.
pub(crate) struct ThreadedHashReader<R> {
    inner: R,
    pending: Vec<u8>,
    to_hasher: Option<SyncSender<Vec<u8>>>,
    recycled: Receiver<Vec<u8>>,
    hasher: Option<JoinHandle<Md5Digest>>,
    bytes: u64,
}

impl<R: Read> ThreadedHashReader<R> {
    pub(crate) fn new(inner: R) -> ThreadedHashReader<R> {
        let (to_hasher, work) = sync_channel::<Vec<u8>>(IN_FLIGHT);
        let (give_back, recycled) = sync_channel::<Vec<u8>>(IN_FLIGHT + 2);
        let hasher = std::thread::Builder::new()
            .name("a0backup-md5".into())
            .spawn(move || {
                let mut md5 = Md5::new();
                for mut chunk in work {
                    md5.update(&chunk);
                    chunk.clear();
                    // The reader may be gone already; then the buffer is simply freed.
                    let _ = give_back.try_send(chunk);
                }
                md5.finish()
            })
            .expect("spawning the md5 thread");
        ThreadedHashReader {
            inner,
            pending: Vec::with_capacity(CHUNK),
            to_hasher: Some(to_hasher),
            recycled,
            hasher: Some(hasher),
            bytes: 0,
        }
    }

    fn send_pending(&mut self) {
        let next = self
            .recycled
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let full = std::mem::replace(&mut self.pending, next);
        if let Some(tx) = &self.to_hasher {
            // The hashing thread only ends when the sender is dropped, so this cannot fail
            // unless it panicked; `finish` reports that.
            let _ = tx.send(full);
        }
    }

    /// Waits for the hash of everything read and returns it with the byte count.
    pub(crate) fn finish(mut self) -> io::Result<(Md5Digest, u64)> {
        if !self.pending.is_empty() {
            self.send_pending();
        }
        drop(self.to_hasher.take());
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
pub(crate) fn copy_with_writer_thread<R: Read, W: Write + Send>(
    reader: &mut R,
    writer: &mut W,
    mut on_chunk: impl FnMut(u64) -> io::Result<()>,
) -> io::Result<u64> {
    std::thread::scope(|scope| {
        let (to_writer, work) = sync_channel::<Vec<u8>>(IN_FLIGHT);
        let (give_back, recycled) = sync_channel::<Vec<u8>>(IN_FLIGHT + 2);
        let writer_thread = std::thread::Builder::new()
            .name("a0backup-write".into())
            .spawn_scoped(scope, move || -> io::Result<()> {
                for chunk in work {
                    writer.write_all(&chunk)?;
                    let _ = give_back.try_send(chunk);
                }
                writer.flush()
            })
            .expect("spawning the writer thread");

        let mut total = 0u64;
        let read_result = (|| -> io::Result<()> {
            loop {
                let mut buf = recycled.try_recv().unwrap_or_default();
                buf.resize(CHUNK, 0);
                let n = read_full(reader, &mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                buf.truncate(n);
                total += n as u64;
                if to_writer.send(buf).is_err() {
                    // The writer stopped on an error, which the join below reports.
                    return Ok(());
                }
                on_chunk(total)?;
                if n < CHUNK {
                    return Ok(());
                }
            }
        })();
        drop(to_writer);
        let write_result = writer_thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the writer thread panicked")));
        read_result?;
        write_result?;
        Ok(total)
    })
}

/// Reads until `buf` is full or the reader is at its end.
pub(crate) fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
