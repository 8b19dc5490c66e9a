//! The work handed to the inflate worker threads: the jobs (a chunk of compressed input and a
//! buffer for its output), the replies, the chunks in flight in stream order, the recycled
//! buffers, the backoff that stops handing out chunks the workers cannot decode, and the
//! workers themselves.

use std::io;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::finder::{speculate, Speculated};

/// The longest pause in handing chunks to workers, in chunks (see [`Backoff`]).
const MAX_PAUSE: u64 = 64;

/// When to stop handing chunks to workers for a while: streams whose chunks the workers
/// cannot decode (fixed-Huffman blocks only, data that keeps offering false starts) would
/// otherwise cost every worker a whole chunk's scan for nothing, many times the CPU of
/// decoding them here. After a whole round of chunks in flight is dropped, no chunk is handed
/// out until the confirmed position has gone `pause` chunks further, and the pause doubles
/// (up to [`MAX_PAUSE`]) each time that happens again before a chunk is taken.
#[derive(Debug, Clone, Copy)]
pub(super) struct Backoff {
    /// Chunks dropped since the last one taken or the last pause.
    pub(super) misses: usize,
    /// The next pause, in chunks.
    pub(super) pause: u64,
    /// No chunk is handed out while the confirmed position is in a chunk before this one.
    pub(super) until: u64,
}

impl Backoff {
    pub(super) fn new() -> Self {
        Backoff {
            misses: 0,
            pause: 1,
            until: 0,
        }
    }

    /// Notes a chunk taken or dropped while the confirmed position is in chunk `at`, with
    /// `round` chunks in flight at most.
    pub(super) fn note(&mut self, taken: bool, at: u64, round: usize) {
        if taken {
            *self = Backoff::new();
            return;
        }
        self.misses += 1;
        if self.misses >= round {
            self.until = at + self.pause;
            self.pause = (self.pause * 2).min(MAX_PAUSE);
            self.misses = 0;
        }
    }
}

/// Speculative output allowed per chunk, in values per compressed byte of the chunk (or of
/// [`MIN_LOOKAHEAD`], for small chunks).
pub(crate) const CAP_PER_BYTE: usize = 8;
/// Input a worker gets past the end of its chunk, at least: the rest of the block that
/// crosses the end (zlib's blocks are some tens of KiB; stored ones at most 64 KiB).
pub(crate) const MIN_LOOKAHEAD: usize = 128 * 1024;

/// Compressed bytes past its chunk a worker gets, for chunks of `chunk` bytes.
pub(crate) fn lookahead(chunk: usize) -> usize {
    chunk.max(MIN_LOOKAHEAD)
}

/// Values a worker may produce, for chunks of `chunk` bytes.
pub(crate) fn cap(chunk: usize) -> usize {
    CAP_PER_BYTE * chunk.max(MIN_LOOKAHEAD)
}

pub(super) struct Job {
    pub(super) input: Vec<u8>,
    /// A buffer for the output (recycled, so that memory stays what it was at the start).
    pub(super) out: Vec<u16>,
    pub(super) base: u64,
    pub(super) chunk_end: usize,
    pub(super) cap: usize,
    pub(super) reply: SyncSender<Reply>,
}

/// A worker's answer, with the job's buffers to use again.
pub(super) struct Reply {
    pub(super) result: Option<Speculated>,
    pub(super) input: Vec<u8>,
    /// The output buffer when `result` did not take it.
    pub(super) spare: Vec<u16>,
}

/// A chunk handed to a worker, in stream order.
pub(super) struct Pending {
    /// The first bit of the chunk: its decode cannot start before.
    pub(super) first_bit: u64,
    pub(super) reply: Receiver<Reply>,
    /// The result, once received.
    pub(super) got: Option<Option<Speculated>>,
}

impl Pending {
    /// The worker's result, waiting for it if needed; its buffers go back to the pools.
    pub(super) fn result(&mut self, pools: &mut Pools) -> Option<&Speculated> {
        if self.got.is_none() {
            // A worker that went away (it cannot, short of a panic) counts as no result.
            let result = self.reply.recv().ok().and_then(|r| {
                pools.inputs.push(r.input);
                // Empty when the result took the buffer: keeping it would grow the pool by one
                // per chunk.
                if r.spare.capacity() > 0 {
                    pools.outputs.push(r.spare);
                }
                r.result
            });
            self.got = Some(result);
        }
        self.got.as_ref().and_then(Option::as_ref)
    }
}

/// Buffers of finished jobs, for the next ones.
#[derive(Default)]
pub(super) struct Pools {
    pub(super) inputs: Vec<Vec<u8>>,
    pub(super) outputs: Vec<Vec<u16>>,
}

/// Starts `threads` workers, each taking jobs from one shared queue until it is closed.
pub(super) fn spawn_workers(threads: usize) -> io::Result<(Sender<Job>, Vec<JoinHandle<()>>)> {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    let mut workers = Vec::with_capacity(threads);
    for _ in 0..threads {
        let rx = Arc::clone(&rx);
        let worker = std::thread::Builder::new()
            .name("a0backup-inflate".into())
            .spawn(move || loop {
                let job = match rx.lock() {
                    Ok(guard) => match guard.recv() {
                        Ok(job) => job,
                        Err(_) => return,
                    },
                    Err(_) => return,
                };
                let mut out = job.out;
                let result = speculate(&job.input, job.base, job.chunk_end, job.cap, &mut out);
                // The consumer may have gone (an error): nothing to do then.
                let _ = job.reply.send(Reply {
                    result,
                    input: job.input,
                    spare: out,
                });
            })?;
        workers.push(worker);
    }
    Ok((tx, workers))
}
