// The promise API of a0backup: the calls of a0backup.mjs as Promises that run in a worker
// thread, so the event loop keeps running (a server keeps serving) during a restore.
//
//   import * as a0b from 'a0backup/promises';
//   await a0b.restore('backup-retrieve.tar.gz.enc', 'restored', 'Passw0rd', {
//     expectedMd5: 'eccdb928a3bab23f725f955b68ef66ff',
//     onProgress: (done, total) => console.log(`${done} bytes read`),
//     signal: AbortSignal.timeout(600_000),
//   });
//
// Options are those of the synchronous call, plus:
// - onProgress(done, total): runs on this thread, a little behind the library, and always
//   before the promise settles. `done` is the bytes of the input read so far (of the files
//   packed, for pack), `total` the input's size (0 when unknown). Returning false or throwing
//   cancels the call (a throw rejects the promise with what was thrown).
// - signal: an AbortSignal; aborting cancels the call at the library's next progress report
//   (A0BackupError with code ERR_CANCELLED, its `cause` the signal's reason), and nothing is
//   left behind. A call that was already past its last report completes.
// checkBackup's onCollection(row) runs on this thread too, for every row, in order, and always
// before the promise settles; it may return a Promise, which is awaited before the next row
// (the worker waits when a few batches of rows are unhandled: memory stays bounded).
// Returning false (or a Promise of false) or throwing cancels the call as onProgress does;
// dumpCollection's onDocument and diffBackups' onItem run the same way. dump() gives a
// collection's documents as an async iterator over the same batches: leaving the loop cancels.
// Every call gets its own worker, so calls run in parallel.

import { Worker } from 'node:worker_threads';
import * as a0b from './a0backup.mjs';
import {
  DOC_BATCH, DOC_BATCH_BYTES, ROW_BATCH, cancel, cancelled, feed, handled, newChannel, wake,
} from './channel.mjs';
import {
  filterArg, limitArg, normalizeOptions, pathArg,
} from './internal.mjs';
import { librarySpec } from './library.mjs';

export {
  A0BackupError, OK, ERR_IO, ERR_INVALID_ARGUMENT, ERR_WRONG_PASSWORD, ERR_CHECKSUM_MISMATCH,
  ERR_UNSAFE_ARCHIVE, ERR_MALFORMED, ERR_CANCELLED, ERR_PANIC, ERR_UNSUPPORTED,
  ERR_ALREADY_EXISTS, ERR_CHANGED_WHILE_READING, FORMAT_AUTO, FORMAT_NODE, FORMAT_OPENSSL_MD5,
  FORMAT_OPENSSL_PBKDF2, DEFAULT_MAX_COLLECTIONS, libraryPath, version,
} from './a0backup.mjs';

const ERROR_TYPES = { TypeError, RangeError };

function errorFrom(m) {
  if (m.errno !== undefined) return new a0b.A0BackupError(m.errno, m.message);
  const e = new (ERROR_TYPES[m.name] ?? Error)(m.message);
  if (m.stack) e.stack = m.stack;
  return e;
}

function cancelledError(signal) {
  const e = new a0b.A0BackupError(a0b.ERR_CANCELLED, 'cancelled before it started');
  e.cause = signal.reason;
  return e;
}

/**
 * Runs a0backup.mjs's `fn(...args, opts)` in a worker. `source` (an async iterable) feeds
 * the read function that replaces args[0]. `opts` undefined: the call takes no options.
 * `how`, for calls with rows: `rowKey`, the option of the per-row callback (its rows are
 * posted from the worker in batches, and the callback runs here, `convert` applied to each
 * row); or `onBatch(rows)`, which takes each batch whole and returns a Promise of whether
 * every row of it was taken; `watchKey`, a per-row option where the worker sees a cancel
 * when no callback was given; `batch`, `batchBytes`, a batch's size; `control`, an object
 * that gets `cancel()`, `cancelled()`, `exited` (a Promise of the worker's exit), `ref()` and
 * `unref()`.
 */
function inWorker(fn, args, options, source, how = {}) {
  // On this thread, so a deprecation warning is this thread's.
  const opts = normalizeOptions(options);
  const { onProgress, signal, ...plain } = opts ?? {};
  const { rowKey, onBatch, convert } = how;
  let onRow = null;
  if (rowKey) {
    onRow = plain[rowKey] ?? null;
    delete plain[rowKey];
    if (onRow !== null && typeof onRow !== 'function') {
      return Promise.reject(new TypeError(`a0backup: ${rowKey} must be a function`));
    }
  }
  if (signal?.aborted) return Promise.reject(cancelledError(signal));
  const sab = newChannel(source !== undefined);
  const rows = onRow !== null || onBatch !== undefined;
  const worker = new Worker(new URL('./worker.mjs', import.meta.url), {
    workerData: {
      a0backupCall: true, lib: librarySpec(), fn, args,
      opts: opts === undefined ? undefined : plain, progress: !!onProgress,
      rowKey: rows ? rowKey : null, watchKey: how.watchKey ?? null,
      batch: how.batch ?? ROW_BATCH, batchBytes: how.batchBytes ?? Infinity, sab,
      stream: source !== undefined,
    },
  });
  if (how.control) {
    const exited = new Promise((resolve) => { worker.once('exit', resolve); });
    Object.assign(how.control, {
      cancel: () => cancel(sab),
      cancelled: () => cancelled(sab),
      exited,
      ref: () => worker.ref(),
      unref: () => worker.unref(),
    });
  }
  let finished = false;
  let answered = false; // the worker's last message came (the rows before it may still be handled)
  let sourceError = null;
  let progressError = null;
  const onAbort = () => cancel(sab);
  signal?.addEventListener('abort', onAbort, { once: true });

  // The rows' handling, one batch after another; the call settles after the last. `stopped`:
  // rows were left unhandled (the callback returned false, or the call was cancelled), so the
  // call fails with ERR_CANCELLED even if the worker had already finished.
  let pending = Promise.resolve();
  let stopped = false;
  const handleRows = async (batch) => {
    try {
      if (progressError !== null || cancelled(sab)) {
        stopped = true;
      } else if (onBatch !== undefined) {
        if (await onBatch(batch) === false) stopped = true;
      } else {
        for (const raw of batch) {
          if (progressError !== null || cancelled(sab)) {
            stopped = true;
            break;
          }
          let r = onRow(convert ? convert(raw) : raw);
          if (r !== null && typeof r?.then === 'function') r = await r;
          if (r === false) {
            stopped = true;
            cancel(sab);
            break;
          }
        }
      }
    } catch (e) {
      progressError = e;
      cancel(sab);
    }
    handled(sab);
  };

  const done = new Promise((resolve, reject) => {
    const finish = () => {
      finished = true;
      signal?.removeEventListener('abort', onAbort);
      wake(sab);
    };
    worker.on('message', (m) => {
      if (m.progress) {
        if (progressError !== null) return;
        try {
          if (onProgress(m.progress[0], m.progress[1]) === false) cancel(sab);
        } catch (e) {
          progressError = e;
          cancel(sab);
        }
        return;
      }
      if (m.rows) {
        pending = pending.then(() => handleRows(m.rows));
        return;
      }
      answered = true;
      pending.then(() => {
        finish();
        if (sourceError !== null) reject(sourceError);
        else if (progressError !== null) reject(progressError);
        else if (m.ok && !stopped) resolve(m.value);
        else {
          const e = m.ok ? new a0b.A0BackupError(a0b.ERR_CANCELLED, `cancelled before every row was handled (${rowKey})`)
            : errorFrom(m);
          if (e.code === a0b.ERR_CANCELLED && signal?.aborted) e.cause = signal.reason;
          reject(e);
        }
      });
    });
    worker.on('error', (e) => {
      finish();
      reject(e);
    });
    worker.on('exit', (code) => {
      if (!finished && !answered) {
        finish();
        reject(new Error(`a0backup: the worker thread exited with ${code}`));
      }
    });
  });
  if (source === undefined) return done;
  feed(sab, source, () => finished).then((e) => { sourceError = e; });
  return done.finally(() => {
    if (typeof source.destroy === 'function' && !source.destroyed) source.destroy();
  });
}

const asBuffer = (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);

/** Decrypts `input` into `output` (options and guarantees of the synchronous decryptFile). */
export async function decryptFile(input, output, password, opts = {}) {
  return inWorker('decryptFile', [pathArg(input), pathArg(output), password], opts);
}

/** Encrypts `input` into `output` (format: default 'node', the appliance's). */
export async function encryptFile(input, output, password, opts = {}) {
  return inWorker('encryptFile', [pathArg(input), pathArg(output), password], opts);
}

/** Restores an encrypted backup into `destDir`, which appears only when everything checked out. */
export async function restore(input, destDir, password, opts = {}) {
  return inWorker('restore', [pathArg(input), pathArg(destDir), password], opts);
}

/** Packs `srcDir` into `output` (encrypted unless `password` is null); resolves to its md5. */
export async function pack(srcDir, output, password, opts = {}) {
  return inWorker('pack', [pathArg(srcDir), pathArg(output), password], opts);
}

/**
 * Checks a backup without writing anything; resolves to the report (see the synchronous
 * checkBackup). onCollection(row) runs on this thread and may return a Promise.
 */
export async function checkBackup(input, password, opts = {}) {
  return inWorker('checkBackup', [pathArg(input), password], opts, undefined, { rowKey: 'onCollection' });
}

/** dumpCollection's options for the worker: the filter as text, the documents as text. */
function dumpArgs(input, password, collection, opts) {
  if (typeof collection !== 'string') {
    throw new TypeError(`a0backup: the collection is a string, 'DATABASE.COLLECTION', not ${collection}`);
  }
  limitArg(opts.limit);
  return {
    args: [pathArg(input), password, collection],
    opts: { ...opts, filter: filterArg(opts.filter), text: true },
    convert: opts.text ? undefined : JSON.parse,
  };
}

/**
 * The documents of a collection, to onDocument (see the synchronous dumpCollection), which
 * runs on this thread, in order, before the promise settles; a Promise it returns is awaited
 * before the next document (the worker waits when a few batches are unhandled: memory stays
 * bounded). Resolves to the summary. dump() gives the documents as an async iterator instead.
 */
export async function dumpCollection(input, password, collection, opts = {}) {
  if (typeof opts.onDocument !== 'function') throw new TypeError('a0backup: onDocument must be a function');
  const call = dumpArgs(input, password, collection, opts);
  return inWorker('dumpCollection', call.args, call.opts, undefined, {
    rowKey: 'onDocument', convert: call.convert, batch: DOC_BATCH, batchBytes: DOC_BATCH_BYTES,
  });
}

/**
 * The documents of a collection as an async iterator (what dump() returns): a0b_dump runs in a
 * worker thread, started by the first next(), which hands the documents over in batches and
 * waits while a few are not taken, so memory stays bounded however many documents there are
 * and however slowly the loop takes them. Leaving the loop (break, return, a throw) cancels
 * the dump, and its promise settles once the worker has ended. `summary` is the dump's
 * summary once the documents are exhausted (null before). An error of the dump (a wrong
 * password, a damaged document) rejects next(), after the documents before it.
 */
class DumpIterator {
  /** The summary (documents, scanned, bytes, metadata, md5, readToEnd), once exhausted. */
  summary = null;
  #run;

  constructor(call) {
    this.#run = this.#documents(call);
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  next() {
    return this.#run.next();
  }

  return(value) {
    return this.#run.return(value);
  }

  throw(error) {
    return this.#run.throw(error);
  }

  async* #documents({ args, opts, convert }) {
    const batches = []; // [{ batch, release }]
    let wakeUp = null;
    let settled = false;
    let failure = null;
    let value;
    const control = {};
    const done = inWorker('dumpCollection', args, { ...opts, onDocument: undefined }, undefined, {
      rowKey: 'onDocument',
      batch: DOC_BATCH,
      batchBytes: DOC_BATCH_BYTES,
      control,
      onBatch: (batch) => new Promise((release) => {
        batches.push({ batch, release });
        wakeUp?.();
      }),
    });
    done.then((v) => { value = v; }, (e) => { failure = e; }).finally(() => {
      settled = true;
      wakeUp?.();
    });
    try {
      for (;;) {
        if (batches.length > 0) {
          const { batch, release } = batches.shift();
          // While the loop has a document, a worker waiting for it does not keep the process
          // alive: an iterator left without return() lets the process end.
          control.unref?.();
          let taken = 0;
          try {
            for (const text of batch) {
              if (control.cancelled?.()) break;
              yield convert ? convert(text) : text;
              taken += 1;
            }
          } finally {
            control.ref?.();
            release(taken === batch.length);
          }
        } else if (!settled) {
          await new Promise((resolve) => { wakeUp = resolve; });
          wakeUp = null;
        } else if (failure !== null) {
          throw failure;
        } else {
          this.summary = value;
          return;
        }
      }
    } finally {
      if (!settled) {
        control.cancel?.();
        for (const { release } of batches.splice(0)) release(false);
        await done.catch(() => {});
      }
      await control.exited;
    }
  }
}

/**
 * The documents of the collection `collection` ('DATABASE.COLLECTION') of a backup, as an
 * async iterator, in bounded memory:
 *
 *   for await (const doc of dump(input, 'Passw0rd', 'auth0.users', { filter: { email } })) ...
 *
 * Options as for dumpCollection (filter, relaxed, limit, text, expectedMd5, ...), without
 * onDocument, plus signal (an AbortSignal: next() rejects with ERR_CANCELLED) and
 * onProgress. Leaving the loop cancels the dump; `summary` is set once it is exhausted.
 */
export function dump(input, password, collection, opts = {}) {
  if (opts.onDocument !== undefined) throw new TypeError('a0backup: dump() yields the documents: it takes no onDocument');
  return new DumpIterator(dumpArgs(input, password, collection, opts));
}

/**
 * Compares two backups (see the synchronous diffBackups); onItem runs on this thread, in
 * order, and a Promise it returns is awaited before the next item. The diff reports no
 * progress: a signal's abort is seen at the next item.
 */
export async function diffBackups(oldInput, newInput, password, opts = {}) {
  return inWorker('diffBackups', [pathArg(oldInput), pathArg(newInput), password], opts, undefined,
    { rowKey: 'onItem', watchKey: 'onItem' });
}

/** The md5 of a file, as 32 lowercase hex digits (no progress: the library reports none). */
export async function md5File(file) {
  return inWorker('md5File', [pathArg(file)], undefined);
}

/** The plaintext of encrypted bytes, as a Buffer (the bytes are copied to the worker). */
export async function decryptBuffer(data, password, opts = {}) {
  return asBuffer(await inWorker('decryptBuffer', [data, password], opts));
}

/** Bytes encrypted, as a Buffer (format: default 'node'). */
export async function encryptBuffer(data, password, opts = {}) {
  return asBuffer(await inWorker('encryptBuffer', [data, password], opts));
}

/** Restores an encrypted backup held in memory into `destDir`. */
export async function restoreBuffer(data, destDir, password, opts = {}) {
  return inWorker('restoreBuffer', [data, pathArg(destDir), password], opts);
}

/**
 * Restores the encrypted backup that a Readable (or any async iterable of Buffers: an HTTP
 * response, a socket, fs.createReadStream) gives into `destDir`, without a temporary file, with
 * restore()'s guarantees. If the stream fails, nothing is left and the promise rejects with the
 * stream's error; if the restore ends first (a wrong password), the stream is destroyed.
 */
export async function restoreStream(readable, destDir, password, opts = {}) {
  if (typeof readable?.[Symbol.asyncIterator] !== 'function') {
    throw new TypeError('a0backup: restoreStream reads a Readable or another async iterable of bytes');
  }
  return inWorker('restoreStreamSync', [null, pathArg(destDir), password], opts, readable);
}
