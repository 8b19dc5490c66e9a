// The worker thread of the promise API (promises.mjs): runs one synchronous call of
// a0backup.mjs, so the thread that asked for it keeps its event loop.
//
// workerData: { lib (what the calling thread loaded: library.mjs's librarySpec()), fn
// (a0backup.mjs's function), args, opts (without functions), progress (whether to post
// progress), rowKey (the option of the call's per-row callback, e.g. checkBackup's
// onCollection, dumpCollection's onDocument: post its rows for the caller's thread), watchKey
// (without rowKey: a per-row option where a cancel can be seen, for calls that report no
// progress, e.g. diffBackups' onItem), batch and batchBytes (a batch's most rows, and most
// string bytes), sab (channel.mjs), stream (args[0] is the read function over the channel) }.
// Posts { progress: [done, total] } per report when asked, { rows: [...] } per batch of rows
// when asked (at most ROW_WINDOW batches ahead of the caller's thread), then one
// { ok: true, value } or { ok: false, errno?, name, message, stack }.

import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import {
  ROW_WINDOW, cancelled, channelReader, waitHandled,
} from './channel.mjs';

async function run({
  lib, fn, args, opts, progress, rowKey, watchKey, batch: batchSize, batchBytes, sab, stream,
}) {
  // The library the calling thread loaded, wherever it was found (library.mjs reads this).
  globalThis[Symbol.for('a0backup.workerLibrary')] = lib;
  const a0b = await import('./a0backup.mjs');
  const call = [...args];
  if (stream) call[0] = channelReader(sab);
  // Always a progress function: it is where a cancel from the caller's thread is seen.
  const withProgress = {
    ...opts,
    onProgress: (done, total) => {
      if (progress) parentPort.postMessage({ progress: [done, total] });
      return !cancelled(sab);
    },
  };
  let batch = [];
  let bytes = 0;
  let posted = 0;
  const flush = () => {
    if (batch.length > 0) {
      parentPort.postMessage({ rows: batch });
      batch = [];
      bytes = 0;
      posted += 1;
    }
  };
  if (rowKey) {
    withProgress[rowKey] = (row) => {
      batch.push(row);
      if (typeof row === 'string') bytes += row.length;
      if (batch.length < batchSize && bytes < batchBytes) return !cancelled(sab);
      flush();
      return waitHandled(sab, posted - ROW_WINDOW);
    };
  } else if (watchKey) {
    withProgress[watchKey] = () => !cancelled(sab);
  }
  try {
    const value = a0b[fn](...call, ...(opts === undefined ? [] : [withProgress]));
    flush();
    const transfer = value instanceof Uint8Array && value.byteOffset === 0
      && value.byteLength === value.buffer.byteLength ? [value.buffer] : [];
    parentPort.postMessage({ ok: true, value }, transfer);
  } catch (e) {
    parentPort.postMessage({
      ok: false,
      errno: e instanceof a0b.A0BackupError ? e.errno : undefined,
      name: e?.name,
      message: e?.message ?? String(e),
      stack: e?.stack,
    });
  }
}

if (!isMainThread && workerData?.a0backupCall) run(workerData);
