// The SharedArrayBuffer between the promise API's thread (promises.mjs) and the worker that
// runs the library (worker.mjs): a cancel flag, and for a stream one data slot that the
// caller's thread fills from an async iterable and the worker's read function empties. A read
// callback must return its bytes synchronously, which the thread that owns a Readable cannot do
// while it is blocked in a call; the worker can wait (Atomics.wait) until they are there.
//
// Layout: four Int32 slots (the state of the data slot, the length of the data in it, the
// position read so far, the cancel flag), then the data slot (SLOT bytes, streams only).

const SLOT = 1 << 20;
const STATE = 0;
const LEN = 1;
const POS = 2;
const CANCEL = 3;
// States of the data slot.
const EMPTY = 0; // the worker took everything: the caller's thread may fill it
const FULL = 1; // bytes LEN, read up to POS by the worker
const END = 2; // the source ended
const FAILED = 3; // the source failed (or the caller's side gave up)

/** A new channel's SharedArrayBuffer, with a data slot if `stream`. */
export function newChannel(stream) {
  return new SharedArrayBuffer(16 + (stream ? SLOT : 0));
}

function views(sab) {
  const ctrl = new Int32Array(sab, 0, 4);
  return { ctrl, data: sab.byteLength > 16 ? new Uint8Array(sab, 16, SLOT) : null };
}

/** Asks the worker to stop: its next progress report cancels the call. */
export function cancel(sab) {
  Atomics.store(views(sab).ctrl, CANCEL, 1);
}

/** Whether cancel() was called. */
export function cancelled(sab) {
  return Atomics.load(views(sab).ctrl, CANCEL) !== 0;
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
