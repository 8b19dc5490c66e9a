// The promise API (a0backup/promises): off the event loop, with progress and cancels.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import * as a0b from 'a0backup/promises';
import {
  SAMPLE_PASSWORD, assertNoCallbacksLeft, checkAgainstManifest, decryptWithCreateDecipheriv,
  encryptWithCreateCipheriv, rejectsCode, sample, sampleMd5, tempDir,
} from './common.mjs';

const md5Of = (bytes) => crypto.createHash('md5').update(bytes).digest('hex');

test('restore: the event loop keeps running, progress counts the input read', async (t) => {
  const dir = tempDir(t);
  const expectedMd5 = sampleMd5();
  // A blocking call would return before any timer could fire: ticks would stay 0.
  let ticks = 0;
  const timer = setInterval(() => { ticks++; }, 1);
  const seen = [];
  let promise;
  try {
    promise = a0b.restore(sample, path.join(dir, 'restored'), SAMPLE_PASSWORD, {
      expectedMd5,
      onProgress: (done, total) => { seen.push([done, total, ticks]); },
    });
    assert.ok(promise instanceof Promise);
    await promise;
  } finally {
    clearInterval(timer);
  }
  assert.ok(ticks > 0, 'the event loop ran during the restore');
  checkAgainstManifest(path.join(dir, 'restored'));
  assert.ok(seen.length > 0, 'progress was reported before the promise settled');
  const size = fs.statSync(sample).size;
  const [lastDone, lastTotal] = seen[seen.length - 1];
  assert.equal(lastDone, size, 'the last report is the whole input');
  assert.ok(lastTotal === 0 || lastTotal === size);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i][0] >= seen[i - 1][0], 'progress only grows');

  // A bigger tree, packed and restored by the promise API, two restores at once.
  const src = path.join(dir, 'src', 'dump');
  fs.mkdirSync(path.join(src, 'auth0'), { recursive: true });
  const bson = crypto.randomBytes(4 << 20);
  fs.writeFileSync(path.join(src, 'auth0', 'users.bson'), bson);
  const packed = path.join(dir, 'packed.tar.gz.enc');
  const md5 = await a0b.pack(src, packed, 'pä55', { level: 1 });
  assert.equal(md5, md5Of(fs.readFileSync(packed)));
  assert.equal(await a0b.md5File(packed), md5);
  await Promise.all(['p1', 'p2'].map((d) => a0b.restore(packed, path.join(dir, d), 'pä55', { expectedMd5: md5 })));
  for (const d of ['p1', 'p2']) {
    assert.deepEqual(fs.readFileSync(path.join(dir, d, 'dump', 'auth0', 'users.bson')), bson);
  }
  assertNoCallbacksLeft();
});

test('decryptFile, encryptFile, checkBackup and the buffers, against node:crypto', async (t) => {
  const dir = tempDir(t);
  const enc = fs.readFileSync(sample);
  const expectedMd5 = sampleMd5();
  const out = path.join(dir, 'backup.tar.gz');
  await a0b.decryptFile(sample, out, SAMPLE_PASSWORD, { expectedMd5, expectGzip: true });
  const plain = decryptWithCreateDecipheriv(SAMPLE_PASSWORD, enc);
  assert.deepEqual(fs.readFileSync(out), plain);
  await a0b.encryptFile(out, path.join(dir, 'again.enc'), 'Pä55 🔑');
  assert.deepEqual(fs.readFileSync(path.join(dir, 'again.enc')), encryptWithCreateCipheriv('Pä55 🔑', plain));

  const report = await a0b.checkBackup(sample, SAMPLE_PASSWORD, { expectedMd5 });
  assert.equal(report.restorable, true);
  assert.equal(report.collectionsOk, true);
  assert.equal(report.md5, md5Of(enc));
  assert.ok(report.collections.every((c) => 'bsonFileBytes' in c && !('bson_file_bytes' in c)));

  const decrypted = await a0b.decryptBuffer(enc, SAMPLE_PASSWORD, { expectGzip: true });
  assert.ok(Buffer.isBuffer(decrypted));
  assert.deepEqual(decrypted, plain);
  const data = crypto.randomBytes(100_001);
  const encrypted = await a0b.encryptBuffer(new Uint8Array(data), 'pw');
  assert.ok(Buffer.isBuffer(encrypted));
  assert.deepEqual(encrypted, encryptWithCreateCipheriv('pw', data));
  await a0b.restoreBuffer(enc, path.join(dir, 'from-buffer'), Buffer.from(SAMPLE_PASSWORD), { expectedMd5 });
  checkAgainstManifest(path.join(dir, 'from-buffer'));
});

test('failures reject with the library\'s error and leave nothing', async (t) => {
  const dir = tempDir(t);
  await rejectsCode(a0b.restore(sample, path.join(dir, 'r'), 'wrong'), a0b.ERR_WRONG_PASSWORD);
  await rejectsCode(a0b.decryptFile(sample, path.join(dir, 'x.tar.gz'), 'wrong', { expectGzip: true }),
    a0b.ERR_WRONG_PASSWORD);
  await rejectsCode(a0b.restore(sample, path.join(dir, 'r'), SAMPLE_PASSWORD, { expectedMd5: 'f'.repeat(32) }),
    a0b.ERR_CHECKSUM_MISMATCH);
  await rejectsCode(a0b.md5File(path.join(dir, 'missing')), a0b.ERR_IO);
  await rejectsCode(a0b.restore(sample, null, SAMPLE_PASSWORD), a0b.ERR_INVALID_ARGUMENT);
  // Errors of the arguments keep their type.
  await assert.rejects(a0b.decryptFile(sample, path.join(dir, 'o'), 'pw', { format: 'rot13' }), TypeError);
  await assert.rejects(a0b.decryptFile(sample, path.join(dir, 'o'), 42), TypeError);
  await assert.rejects(a0b.restoreStream(fs.readFileSync(sample), path.join(dir, 'o'), 'pw'), TypeError);
  assert.deepEqual(fs.readdirSync(dir), [], 'nothing left behind');
});

test('an AbortSignal cancels, and nothing is left', async (t) => {
  const dir = tempDir(t);
  // Aborted before the call: no worker, the reason as the cause.
  const reason = new Error('the user went away');
  await assert.rejects(a0b.restore(sample, path.join(dir, 'a'), SAMPLE_PASSWORD, { signal: AbortSignal.abort(reason) }),
    (e) => e instanceof a0b.A0BackupError && e.code === a0b.ERR_CANCELLED && e.cause === reason);
  // Aborted midway: the source holds back the end of the backup until the abort happened, so
  // the library is still reading when it sees it (it reports per MiB it unpacks, and once more
  // before publishing).
  const src = path.join(dir, 'src', 'dump');
  fs.mkdirSync(src, { recursive: true });
  fs.writeFileSync(path.join(src, 'random.bin'), crypto.randomBytes(4 << 20));
  const packed = path.join(dir, 'packed.tar.gz.enc');
  await a0b.pack(src, packed, 'pw', { level: 1 });
  const enc = fs.readFileSync(packed);
  const held = 3 << 20;
  const controller = new AbortController();
  const aborted = new Promise((r) => controller.signal.addEventListener('abort', r, { once: true }));
  async function* source() {
    for (let off = 0; off < held; off += 64 << 10) yield enc.subarray(off, Math.min(off + (64 << 10), held));
    await aborted;
    yield enc.subarray(held);
  }
  let reports = 0;
  await assert.rejects(a0b.restoreStream(Readable.from(source()), path.join(dir, 'b'), 'pw', {
    signal: controller.signal,
    onProgress: () => { if (++reports === 1) controller.abort(reason); },
  }), (e) => e instanceof a0b.A0BackupError && e.code === a0b.ERR_CANCELLED && e.cause === reason);
  assert.ok(reports >= 1);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['packed.tar.gz.enc', 'src'], 'nothing left behind');
});

test('restoreStream: a Readable into a directory, in a worker, the event loop free', async (t) => {
  const dir = tempDir(t);
  const expectedMd5 = sampleMd5();
  // Small chunks, as a socket gives them.
  const dest = path.join(dir, 'from-file-stream');
  const seen = [];
  await a0b.restoreStream(fs.createReadStream(sample, { highWaterMark: 1000 }), dest, SAMPLE_PASSWORD, {
    expectedMd5,
    onProgress: (done, total) => { seen.push([done, total]); },
  });
  checkAgainstManifest(dest);
  // Every report is delivered before the promise settles.
  assert.ok(seen.length > 0, 'progress was reported');
  assert.equal(seen[seen.length - 1][0], fs.statSync(sample).size);
  assert.ok(seen.every(([, total]) => total === 0));

  // A bigger backup made by pack, given as slices of varied sizes by a generator, while the
  // event loop keeps ticking.
  const src = path.join(dir, 'src', 'dump');
  fs.mkdirSync(path.join(src, 'auth0'), { recursive: true });
  const bson = crypto.randomBytes(3 << 20);
  fs.writeFileSync(path.join(src, 'auth0', 'users.bson'), bson);
  const packed = path.join(dir, 'packed.tar.gz.enc');
  const md5 = await a0b.pack(src, packed, 'pä55', { level: 1 });
  const bytes = fs.readFileSync(packed);
  async function* slices() {
    for (let off = 0; off < bytes.length;) {
      const n = 1 + crypto.randomInt(0, 200_000);
      yield bytes.subarray(off, off + n);
      off += n;
      await new Promise((r) => setImmediate(r));
    }
  }
  let ticks = 0;
  const timer = setInterval(() => { ticks++; }, 1);
  try {
    await a0b.restoreStream(Readable.from(slices()), path.join(dir, 'from-generator'), 'pä55', { expectedMd5: md5 });
  } finally {
    clearInterval(timer);
  }
  assert.deepEqual(fs.readFileSync(path.join(dir, 'from-generator', 'dump', 'auth0', 'users.bson')), bson);
  assert.ok(ticks > 0, 'the event loop ran during the restore');
  assertNoCallbacksLeft();
});

test('restoreStream: failures leave nothing and say why', async (t) => {
  const dir = tempDir(t);
  const enc = fs.readFileSync(sample);
  // The stream fails halfway: its error comes out, and no destination.
  const broken = new Error('connection reset');
  const failing = new Readable({
    read() {
      this.push(enc.subarray(0, 10_000));
      this.destroy(broken);
    },
  });
  await assert.rejects(a0b.restoreStream(failing, path.join(dir, 'a'), SAMPLE_PASSWORD), (e) => e === broken);
  // A wrong password: the library's error, and the source is destroyed.
  const source = fs.createReadStream(sample, { highWaterMark: 4096 });
  await assert.rejects(a0b.restoreStream(source, path.join(dir, 'b'), 'wrong'),
    (e) => e instanceof a0b.A0BackupError && e.code === a0b.ERR_WRONG_PASSWORD);
  assert.ok(source.destroyed);
  // A wrong md5, and a cancel from onProgress.
  await assert.rejects(a0b.restoreStream(Readable.from([enc]), path.join(dir, 'c'), SAMPLE_PASSWORD,
    { expectedMd5: 'f'.repeat(32) }), (e) => e.code === a0b.ERR_CHECKSUM_MISMATCH);
  const chunks = [];
  for (let off = 0; off < enc.length; off += 500) chunks.push(enc.subarray(off, off + 500));
  async function* slowly() {
    for (const c of chunks) {
      yield c;
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  await assert.rejects(a0b.restoreStream(Readable.from(slowly()), path.join(dir, 'd'), SAMPLE_PASSWORD,
    { onProgress: () => false }), (e) => e.code === a0b.ERR_CANCELLED);
  const stop = new Error('stop');
  await assert.rejects(a0b.restoreStream(Readable.from(slowly()), path.join(dir, 'e'), SAMPLE_PASSWORD,
    { onProgress: () => { throw stop; } }), (e) => e === stop);
  assert.deepEqual(fs.readdirSync(dir), [], 'nothing left behind');
});


test('replace (and its deprecated name overwrite) through the worker', async (t) => {
  const dir = tempDir(t);
  const dest = path.join(dir, 'd');
  await a0b.restore(sample, dest, SAMPLE_PASSWORD);
  await rejectsCode(a0b.restore(sample, dest, SAMPLE_PASSWORD), a0b.ERR_ALREADY_EXISTS);
  await a0b.restore(sample, dest, SAMPLE_PASSWORD, { replace: true });
  await a0b.restore(sample, dest, SAMPLE_PASSWORD, { overwrite: true });
  checkAgainstManifest(dest);
  await assert.rejects(a0b.restore(sample, dest, SAMPLE_PASSWORD, { overwrite: false, replace: true }), TypeError);
  // The error crosses the thread as an A0BackupError with its string code and errno.
  await assert.rejects(a0b.restore(sample, path.join(dir, 'e'), 'wrong'),
    (e) => e instanceof a0b.A0BackupError && e.code === 'A0B_ERR_WRONG_PASSWORD' && e.errno === 3);
});
