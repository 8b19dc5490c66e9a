// restoreStream's two halves (a0backup.mjs): this thread reads the Readable; a worker thread runs
// the library's synchronous a0b_restore_stream, whose read callback takes the bytes from a
// SharedArrayBuffer, waiting (Atomics.wait, allowed in a worker) until this thread has put some
// there. A read callback must return its bytes synchronously, which the thread that owns a
// Readable cannot do while it is blocked in a call; the worker can.
//
// The shared buffer: four Int32 slots (the state, the length of the data in the slot, the
// position read so far, a cancel flag) and one data slot of SLOT bytes.

import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const SLOT = 1 << 20;
const STATE = 0;
const LEN = 1;
const POS = 2;
const CANCEL = 3;
// States of the data slot.
const EMPTY = 0; // the worker took everything: this thread may fill it
const FULL = 1; // bytes LEN, read up to POS by the worker
const END = 2; // the source ended
const FAILED = 3; // the source failed (or this side gave up)

function views(sab) {
  return { ctrl: new Int32Array(sab, 0, 4), data: new Uint8Array(sab, 16, SLOT) };
}

// --- This thread: feed the worker --------------------------------------------------------------

/**
 * Runs the restore in a worker and feeds it `source` (an async iterable of Uint8Arrays).
 * Resolves when the worker's restore succeeded; rejects with the source's error, what
 * `onProgress` threw, or `fail(code, message)` for the library's error.
 */
export function restoreFromAsyncIterable({ source, lib, destDir, password, opts, onProgress, fail }) {
  const sab = new SharedArrayBuffer(16 + SLOT);
  const { ctrl, data } = views(sab);
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { a0backupRestore: true, sab, lib, destDir, password, opts, progress: !!onProgress },
  });
  let finished = false;
  let sourceError = null;
  let progressError = null;

  const done = new Promise((resolve, reject) => {
    worker.on('message', (m) => {
      if (m.progress) {
        if (Atomics.load(ctrl, CANCEL) !== 0) return;
        try {
          if (onProgress(m.progress[0], m.progress[1]) === false) Atomics.store(ctrl, CANCEL, 1);
        } catch (e) {
          progressError = e;
          Atomics.store(ctrl, CANCEL, 1);
        }
        return;
      }
      finished = true;
      Atomics.notify(ctrl, STATE); // wakes the feeding loop below, if it waits
      if (sourceError !== null) reject(sourceError);
      else if (progressError !== null) reject(progressError);
      else if (m.ok) resolve();
      else reject(m.code !== undefined ? fail(m.code, m.message) : Object.assign(new Error(m.message), { stack: m.stack }));
    });
    worker.on('error', (e) => {
      finished = true;
      Atomics.notify(ctrl, STATE);
      reject(e);
    });
    worker.on('exit', (code) => {
      if (!finished) {
        finished = true;
        Atomics.notify(ctrl, STATE);
        reject(new Error(`a0backup: the restore worker exited with ${code}`));
      }
    });
  });

  // Waits until the worker emptied the slot; false if it finished instead.
  async function slotFree() {
    for (;;) {
      if (finished) return false;
      if (Atomics.load(ctrl, STATE) === EMPTY) return true;
      const w = Atomics.waitAsync(ctrl, STATE, FULL);
      if (w.async) await w.value;
    }
  }

  async function feed() {
    try {
      for await (const chunk of source) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        for (let off = 0; off < bytes.length;) {
          if (!(await slotFree())) return; // the restore ended: `for await` destroys the source
          const n = Math.min(bytes.length - off, SLOT);
          data.set(bytes.subarray(off, off + n));
          Atomics.store(ctrl, LEN, n);
          Atomics.store(ctrl, POS, 0);
          Atomics.store(ctrl, STATE, FULL);
          Atomics.notify(ctrl, STATE);
          off += n;
        }
      }
      if (await slotFree()) {
        Atomics.store(ctrl, STATE, END);
        Atomics.notify(ctrl, STATE);
      }
    } catch (e) {
      sourceError = e;
      Atomics.store(ctrl, STATE, FAILED);
      Atomics.notify(ctrl, STATE);
    }
  }

  feed();
  return done.finally(() => {
    if (typeof source.destroy === 'function' && !source.destroyed) source.destroy();
  });
}

// --- The worker: the library's synchronous restore ---------------------------------------------

async function runWorker() {
  const { ctrl, data } = views(workerData.sab);
  process.env.A0BACKUP_LIB = workerData.lib;
  const a0b = await import('./a0backup.mjs');
  const read = (view) => {
    for (;;) {
      const state = Atomics.load(ctrl, STATE);
      if (state === FULL) {
        const len = Atomics.load(ctrl, LEN);
        const pos = Atomics.load(ctrl, POS);
        const n = Math.min(view.length, len - pos);
        view.set(data.subarray(pos, pos + n));
        if (pos + n === len) {
          Atomics.store(ctrl, STATE, EMPTY);
          Atomics.notify(ctrl, STATE);
        } else {
          Atomics.store(ctrl, POS, pos + n);
        }
        return n;
      }
      if (state === END) return 0;
      if (state === FAILED) throw new Error('a0backup: the source stream failed');
      Atomics.wait(ctrl, STATE, EMPTY);
    }
  };
  const opts = { ...workerData.opts };
  if (workerData.progress) {
    opts.onProgress = (done, total) => {
      parentPort.postMessage({ progress: [done, total] });
      return Atomics.load(ctrl, CANCEL) === 0;
    };
  }
  try {
    a0b.restoreStreamSync(read, workerData.destDir, workerData.password, opts);
    parentPort.postMessage({ ok: true });
  } catch (e) {
    parentPort.postMessage({ ok: false, code: e instanceof a0b.A0BackupError ? e.code : undefined, message: e.message, stack: e.stack });
  }
}

if (!isMainThread && workerData && workerData.a0backupRestore) runWorker();
