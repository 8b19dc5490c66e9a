// The worker thread of the promise API (promises.mjs): runs one synchronous call of
// a0backup.mjs, so the thread that asked for it keeps its event loop.
//
// workerData: { lib (what the calling thread loaded: library.mjs's librarySpec()), fn
// (a0backup.mjs's function), args, opts (without functions), progress (whether to post
// progress), rows (checkBackup: post the rows for the caller's onCollection), sab
// (channel.mjs), stream (args[0] is the read function over the channel) }.
// Posts { progress: [done, total] } per report when asked, { rows: [...] } per batch of rows
// when asked (at most ROW_WINDOW batches ahead of the caller's thread), then one
// { ok: true, value } or { ok: false, errno?, name, message, stack }.

import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import {
  ROW_BATCH, ROW_WINDOW, cancelled, channelReader, waitHandled,
} from './channel.mjs';

async function run({ lib, fn, args, opts, progress, rows, sab, stream }) {
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
  let posted = 0;
  const flush = () => {
    if (batch.length > 0) {
      parentPort.postMessage({ rows: batch });
      batch = [];
      posted += 1;
    }
  };
  if (rows) {
    withProgress.onCollection = (row) => {
      batch.push(row);
      if (batch.length < ROW_BATCH) return !cancelled(sab);
      flush();
      return waitHandled(sab, posted - ROW_WINDOW);
    };
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
