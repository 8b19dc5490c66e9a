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
// Returning false (or a Promise of false) or throwing cancels the call as onProgress does.
// Every call gets its own worker, so calls run in parallel.

import { Worker } from 'node:worker_threads';
import * as a0b from './a0backup.mjs';
import {
  cancel, cancelled, feed, handled, newChannel, wake,
} from './channel.mjs';
import { normalizeOptions, pathArg } from './internal.mjs';
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
 */
function inWorker(fn, args, options, source) {
  // On this thread, so a deprecation warning is this thread's.
  const opts = normalizeOptions(options);
  const { onProgress, onCollection, signal, ...plain } = opts ?? {};
  if (onCollection !== undefined && onCollection !== null && typeof onCollection !== 'function') {
    return Promise.reject(new TypeError('a0backup: onCollection must be a function'));
  }
  if (signal?.aborted) return Promise.reject(cancelledError(signal));
  const sab = newChannel(source !== undefined);
  const worker = new Worker(new URL('./worker.mjs', import.meta.url), {
    workerData: {
      a0backupCall: true, lib: librarySpec(), fn, args,
      opts: opts === undefined ? undefined : plain, progress: !!onProgress, rows: !!onCollection, sab,
      stream: source !== undefined,
    },
  });
  let finished = false;
  let answered = false; // the worker's last message came (the rows before it may still be handled)
  let sourceError = null;
  let progressError = null;
  const onAbort = () => cancel(sab);
  signal?.addEventListener('abort', onAbort, { once: true });

  // The rows' handling, one batch after another; the call settles after the last.
  let rows = Promise.resolve();
  const handleRows = async (batch) => {
    try {
      for (const row of batch) {
        if (progressError !== null || cancelled(sab)) break;
        let r = onCollection(row);
        if (r !== null && typeof r?.then === 'function') r = await r;
        if (r === false) {
          cancel(sab);
          break;
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
        rows = rows.then(() => handleRows(m.rows));
        return;
      }
      answered = true;
      rows.then(() => {
        finish();
        if (sourceError !== null) reject(sourceError);
        else if (progressError !== null) reject(progressError);
        else if (m.ok) resolve(m.value);
        else {
          const e = errorFrom(m);
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
  return inWorker('checkBackup', [pathArg(input), password], opts);
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
