//! Documents to Extended JSON lines on worker threads, written in their order: converting is
//! the slowest step of a dump (about twice the work of inflating the same bytes), so it is
//! spread over two threads while the dump's own threads read, decrypt, inflate and check.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use a0backup::dump::Document;
use a0backup::extjson::{ExtJsonOptions, ExtJsonWriter};
use a0backup::Error;

/// Worker threads converting documents.
const WORKERS: usize = 2;
/// A batch is handed to a worker once it holds this many bytes of BSON.
const BATCH_BYTES: usize = 256 * 1024;
/// Batches given to each worker and not yet written.
const PER_WORKER: usize = 2;

/// What a worker made of a batch: the JSON of its documents before the first it could not
/// write, and that one with the writer's error.
struct Converted {
    json: Vec<u8>,
    lines: u64,
    failed: Option<(Document, Error)>,
}

type Job = (Vec<Document>, SyncSender<Converted>);

/// Writes every document of `documents` to `out` as one JSON line, converting on
/// [`WORKERS`] threads; returns how many lines were written. Stops at the first error of the
/// iterator (after writing the documents before it) or of the writer.
///
/// # Errors
///
/// `Err(Ok(e))`: the iterator's error, or a document the writer refused (with the document);
/// `Err(Err(e))`: writing `out` failed.
pub fn write_lines(
    documents: &mut dyn Iterator<Item = a0backup::Result<Document>>,
    out: &mut dyn Write,
    json: ExtJsonOptions,
) -> Result<u64, Failed> {
    std::thread::scope(|scope| {
        let mut workers: Vec<SyncSender<Job>> = Vec::new();
        for _ in 0..WORKERS {
            let (tx, rx) = sync_channel::<Job>(PER_WORKER);
            let options = json;
            scope.spawn(move || convert(rx, options));
            workers.push(tx);
        }
        let mut pending: VecDeque<Receiver<Converted>> = VecDeque::new();
        let mut written = 0u64;
        let mut next_worker = 0;
        let mut batch = Vec::new();
        let mut bytes = 0;
        let mut failed = None;
        loop {
            let doc = match documents.next() {
                Some(Ok(doc)) => Some(doc),
                Some(Err(e)) => {
                    failed = Some(Failed::Dump(e, None));
                    None
                }
                None => None,
            };
            let end = doc.is_none();
            if let Some(doc) = doc {
                bytes += doc.bytes.len();
                batch.push(doc);
            }
            if (end || bytes >= BATCH_BYTES) && !batch.is_empty() {
                let (tx, rx) = sync_channel(1);
                let job = (std::mem::take(&mut batch), tx);
                if workers[next_worker].send(job).is_err() {
                    return Err(Failed::Dump(
                        Error::Io(io::Error::other("a JSON thread stopped")),
                        None,
                    ));
                }
                next_worker = (next_worker + 1) % WORKERS;
                pending.push_back(rx);
                bytes = 0;
            }
            while pending.len() >= WORKERS * PER_WORKER || (end && !pending.is_empty()) {
                let Some(rx) = pending.pop_front() else { break };
                let done = rx.recv().map_err(|_| {
                    Failed::Dump(Error::Io(io::Error::other("a JSON thread stopped")), None)
                })?;
                out.write_all(&done.json).map_err(Failed::Write)?;
                written += done.lines;
                if let Some((doc, e)) = done.failed {
                    return Err(Failed::Dump(e, Some(doc)));
                }
            }
            if end {
                break;
            }
        }
        drop(workers);
        match failed {
            Some(f) => Err(f),
            None => Ok(written),
        }
    })
}

/// Why [`write_lines`] stopped.
pub enum Failed {
    /// The dump's error, or the writer's for a document (given with it).
    Dump(Error, Option<Document>),
    /// Writing the output failed.
    Write(io::Error),
}

fn convert(jobs: Receiver<Job>, options: ExtJsonOptions) {
    let mut w = ExtJsonWriter::new(Vec::with_capacity(2 * BATCH_BYTES), options);
    for (docs, reply) in jobs {
        let mut lines = 0;
        let mut failed = None;
        for doc in docs {
            if let Err(e) = w.write_document(&doc.bytes) {
                failed = Some((doc, e));
                break;
            }
            w.get_mut().push(b'\n');
            lines += 1;
        }
        let json = std::mem::replace(w.get_mut(), Vec::with_capacity(2 * BATCH_BYTES));
        if reply
            .send(Converted {
                json,
                lines,
                failed,
            })
            .is_err()
        {
            return;
        }
    }
}
