// The SharedArrayBuffer between the promise API's thread (promises.mjs) and the worker that
// runs the library (worker.mjs): a cancel flag, and for a stream one data slot that the
// caller's thread fills from an async iterable and the worker's read function empties. A read
// callback must return its bytes synchronously, which the thread that owns a Readable cannot do
// while it is blocked in a call; the worker can wait (Atomics.wait) until they are there.
//
// Layout: eight Int32 slots (the state of the data slot, the length of the data in it, the
// position read so far, the cancel flag, the count of row batches the caller's thread has
// handled, three unused), then the data slot (SLOT bytes, streams only).
//
// Rows (checkBackup's onCollection, diffBackups' onItem: in batches of ROW_BATCH; a dump's
// documents, as text: in batches of DOC_BATCH, fewer past DOC_BATCH_BYTES) go from the worker
// to the caller's thread by postMessage; the worker waits (waitHandled) while more than
// ROW_WINDOW batches are unhandled, so the rows in flight stay bounded however many the backup
// has and however slow the callback (or the loop over dump()'s documents) is.

const SLOT = 1 << 20;
const STATE = 0;
const LEN = 1;
const POS = 2;
const CANCEL = 3;
const HANDLED = 4;
const CTRL = 8;
const CTRL_BYTES = CTRL * 4;
export const ROW_BATCH = 64;
export const DOC_BATCH = 512;
export const DOC_BATCH_BYTES = 256 * 1024;
export const ROW_WINDOW = 2;
// States of the data slot.
const EMPTY = 0; // the worker took everything: the caller's thread may fill it
const FULL = 1; // bytes LEN, read up to POS by the worker
const END = 2; // the source ended
const FAILED = 3; // the source failed (or the caller's side gave up)

/** A new channel's SharedArrayBuffer, with a data slot if `stream`. */
export function newChannel(stream) {
  return new SharedArrayBuffer(CTRL_BYTES + (stream ? SLOT : 0));
}

function views(sab) {
  const ctrl = new Int32Array(sab, 0, CTRL);
  return { ctrl, data: sab.byteLength > CTRL_BYTES ? new Uint8Array(sab, CTRL_BYTES, SLOT) : null };
}

/** Asks the worker to stop: its next progress report cancels the call. */
export function cancel(sab) {
  const { ctrl } = views(sab);
  Atomics.store(ctrl, CANCEL, 1);
  Atomics.notify(ctrl, HANDLED);
}

/** Whether cancel() was called. */
export function cancelled(sab) {
  return Atomics.load(views(sab).ctrl, CANCEL) !== 0;
}

/** The caller's side: one more batch of rows handled. */
export function handled(sab) {
  const { ctrl } = views(sab);
  Atomics.add(ctrl, HANDLED, 1);
  Atomics.notify(ctrl, HANDLED);
}

/**
 * The worker's side: waits until at least `count` batches were handled (or the call was
 * cancelled); false if it was cancelled.
 */
export function waitHandled(sab, count) {
  const { ctrl } = views(sab);
  for (;;) {
    if (Atomics.load(ctrl, CANCEL) !== 0) return false;
    const now = Atomics.load(ctrl, HANDLED);
    if (now >= count) return true;
    Atomics.wait(ctrl, HANDLED, now, 100); // a timeout: a cancel notifies, but may come just before the wait
  }
}

/** Wakes a feed() waiting for the slot (call it when the worker has finished). */
export function wake(sab) {
  Atomics.notify(views(sab).ctrl, STATE);
}

/**
 * The caller's side: copies what `source` (an async iterable of Uint8Arrays or strings) gives
 * into the slot as the worker empties it, until the source ends or `finished()` (the worker
 * is done; the source is then left, and `for await` destroys it). Resolves to the source's
 * error, or null.
 */
export async function feed(sab, source, finished) {
  const { ctrl, data } = views(sab);
  // Waits until the worker emptied the slot; false if it finished instead.
  async function slotFree() {
    for (;;) {
      if (finished()) return false;
      if (Atomics.load(ctrl, STATE) === EMPTY) return true;
      const w = Atomics.waitAsync(ctrl, STATE, FULL);
      if (w.async) await w.value;
    }
  }
  const put = (state) => {
    Atomics.store(ctrl, STATE, state);
    Atomics.notify(ctrl, STATE);
  };
  try {
    for await (const chunk of source) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      for (let off = 0; off < bytes.length;) {
        if (!(await slotFree())) return null;
        const n = Math.min(bytes.length - off, SLOT);
        data.set(bytes.subarray(off, off + n));
        Atomics.store(ctrl, LEN, n);
        Atomics.store(ctrl, POS, 0);
        put(FULL);
        off += n;
      }
    }
    if (await slotFree()) put(END);
    return null;
  } catch (e) {
    put(FAILED);
    return e;
  }
}

/**
 * The worker's side: a read function (as a0backup.mjs's stream functions take) that waits for
 * the caller's thread to fill the slot.
 */
export function channelReader(sab) {
  const { ctrl, data } = views(sab);
  return (view) => {
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
}
