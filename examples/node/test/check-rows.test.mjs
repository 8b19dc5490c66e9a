// checkBackup streams the collections' rows (issue 21): a backup of 60,000 collections goes
// through onCollection row by row, in the library's order, and the report keeps at most
// maxCollections of them, so a check's memory does not grow with the backup. The oracle of the
// rows is GNU tar's listing of the archive (`tar -tzf`): a missing tar fails the test.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import zlib from 'node:zlib';
import * as a0b from 'a0backup';
import * as promises from 'a0backup/promises';
import {
  assertNoCallbacksLeft, encryptWithCreateCipheriv, packageDir, sample, SAMPLE_PASSWORD,
} from './common.mjs';

const N = 60_000;
// Every DAMAGED-th collection's .bson has a truncated second document (at offset 5).
const DAMAGED = 7919;
const DOC = Buffer.from([5, 0, 0, 0, 0]);
const MiB = 1024 * 1024;
// What the check may add to a process's peak RSS over the same call on the 5-collection sample,
// whatever the backup holds: the library's table and buffers (25-29 MiB here, on top of the
// runtime's own 48-73 MiB on Node 20-24). Before the rows were streamed, 60,000 collections
// took about 170 MiB more.
const GROWTH_BOUND = 40 * MiB;

function tarHeader(name, size) {
  const h = Buffer.alloc(512);
  let prefix = '';
  let base = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  h.write(base, 0, 100);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0' + '00', 257);
  h.write(prefix, 345, 155);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

function* tarEntries(files) {
  for (const [name, data] of files) {
    yield Buffer.concat([tarHeader(name, data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
  }
  yield Buffer.alloc(1024);
}

function* dumpFiles() {
  for (let i = 0; i < N; i++) {
    const dir = `dump/tenant-database-number-${String(i % 300).padStart(3, '0')}`;
    const stem = `collection-with-a-rather-descriptive-name-${String(i).padStart(6, '0')}`;
    yield [`${dir}/${stem}.bson`, i % DAMAGED === 0 ? Buffer.concat([DOC, Buffer.from([5, 0])]) : DOC];
    yield [`${dir}/${stem}.metadata.json`, Buffer.from(JSON.stringify({
      options: {}, indexes: [{ v: 2, key: { _id: 1 }, name: '_id_' }], collectionName: stem, type: 'collection',
    }))];
  }
}

/**
 * The backup of N collections, encrypted as the appliance does (node:crypto), and what GNU
 * tar lists in it: each collection's .bson path, database and name, in the library's order
 * (directory, then file name).
 */
let made = null;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'a0b-node-rows-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
async function manyCollections() {
  if (made) return made;
  const gz = path.join(dir, 'many.tar.gz');
  // Batches of entries, so the stream moves in chunks of a few hundred KB.
  async function* batches() {
    let batch = [];
    for (const chunk of tarEntries(dumpFiles())) {
      batch.push(chunk);
      if (batch.length === 512) {
        yield Buffer.concat(batch);
        batch = [];
      }
    }
    yield Buffer.concat(batch);
  }
  await pipeline(Readable.from(batches()), zlib.createGzip(), fs.createWriteStream(gz));
  const enc = path.join(dir, 'many.tar.gz.enc');
  fs.writeFileSync(enc, encryptWithCreateCipheriv(SAMPLE_PASSWORD, fs.readFileSync(gz)));

  const listed = spawnSync('tar', ['-tzf', gz], { encoding: 'utf8', maxBuffer: 64 * MiB });
  assert.ifError(listed.error);
  assert.equal(listed.status, 0, `tar -tzf: ${listed.stderr}`);
  const expected = listed.stdout.split('\n').filter((l) => l.endsWith('.bson')).map((bsonPath) => {
    const slash = bsonPath.lastIndexOf('/');
    const dirName = bsonPath.slice(0, slash);
    return {
      dir: dirName, stem: bsonPath.slice(slash + 1, -'.bson'.length), bsonPath,
      database: path.posix.basename(dirName),
    };
  });
  const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  expected.sort((a, b) => cmp(a.dir, b.dir) || cmp(a.stem, b.stem));
  assert.equal(expected.length, N, 'tar lists every .bson');
  made = { enc, expected };
  return made;
}

/** The rows as the oracle sees them: path, database and collection. */
const seen = (rows) => rows.map((r) => [r.bsonPath, r.database, r.collection]);
const want = (expected) => expected.map((e) => [e.bsonPath, e.database, e.stem]);

function assertRows(rows, expected) {
  assert.equal(rows.length, N, 'one onCollection call per collection');
  assert.deepEqual(seen(rows), want(expected), 'the rows are the archive\'s collections, in order');
  const damaged = rows.filter((r) => r.error !== null);
  assert.deepEqual(damaged.map((r) => r.collection),
    expected.map((e) => e.stem).filter((s) => Number(s.slice(-6)) % DAMAGED === 0));
  for (const r of damaged) {
    assert.equal(r.error.path, r.bsonPath);
    assert.equal(r.error.document, 1);
    assert.equal(r.error.offset, 5);
  }
  assert.ok(rows.every((r) => r.metadata && r.bson && r.indexes === 1 && r.orphan === null));
  return damaged.length;
}

function assertSummary(report, damaged) {
  assert.equal(report.restorable, true);
  assert.equal(report.collectionsOk, false, 'damaged collections');
  assert.equal(report.totals.collections, N);
  assert.equal(report.totals.damaged, damaged);
  assert.equal(report.totals.documents, N);
}

test('checkBackup: onCollection gets every row, as tar lists the collections', async (t) => {
  const { enc, expected } = await manyCollections();
  const rows = [];
  const report = a0b.checkBackup(enc, SAMPLE_PASSWORD, { onCollection: (row) => { rows.push(row); } });
  const damaged = assertRows(rows, expected);
  assert.ok(damaged > 5);
  assertSummary(report, damaged);
  assert.deepEqual(report.collections, [], 'the rows went to onCollection');
  assert.equal(report.collectionsOmitted, 0);
  assertNoCallbacksLeft();

  // Without onCollection: the first maxCollections rows, and the count of the others.
  const capped = a0b.checkBackup(enc, SAMPLE_PASSWORD);
  assert.equal(capped.collections.length, a0b.DEFAULT_MAX_COLLECTIONS);
  assert.equal(a0b.DEFAULT_MAX_COLLECTIONS, 1000);
  assert.deepEqual(capped.collections, rows.slice(0, 1000));
  assert.equal(capped.collectionsOmitted, N - 1000);
  assertSummary(capped, damaged);
  const none = a0b.checkBackup(enc, SAMPLE_PASSWORD, { maxCollections: 0 });
  assert.deepEqual([none.collections.length, none.collectionsOmitted], [0, N]);
  const all = a0b.checkBackup(enc, SAMPLE_PASSWORD, { maxCollections: Infinity });
  assert.deepEqual(all.collections, rows);
  assert.throws(() => a0b.checkBackup(enc, SAMPLE_PASSWORD, { maxCollections: -1 }), RangeError);
  assert.throws(() => a0b.checkBackup(enc, SAMPLE_PASSWORD, { onCollection: 'no' }), TypeError);

  // Returning false stops the check; a throw stops it and comes back.
  let calls = 0;
  const stopAt10 = () => (++calls === 10 ? false : undefined);
  assert.throws(() => a0b.checkBackup(enc, SAMPLE_PASSWORD, { onCollection: stopAt10 }),
    (e) => e.code === a0b.ERR_CANCELLED);
  assert.equal(calls, 10);
  const boom = new Error('boom');
  assert.throws(() => a0b.checkBackup(enc, SAMPLE_PASSWORD, { onCollection: () => { throw boom; } }),
    (e) => e === boom);
  assertNoCallbacksLeft();
});

test('promises checkBackup: onCollection on this thread, awaited, in order', async (t) => {
  const { enc, expected } = await manyCollections();
  const rows = [];
  let ticks = 0;
  const timer = setInterval(() => { ticks += 1; }, 1);
  t.after(() => clearInterval(timer));
  const report = await promises.checkBackup(enc, SAMPLE_PASSWORD, {
    onCollection: async (row) => {
      rows.push(row);
      if (rows.length % 5000 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    },
  });
  clearInterval(timer);
  assert.ok(ticks > 0, 'the event loop ran during the check');
  const damaged = assertRows(rows, expected);
  assertSummary(report, damaged);
  assert.deepEqual([report.collections.length, report.collectionsOmitted], [0, 0]);

  // false (or a Promise of it) cancels, and no row is handed over after it.
  let calls = 0;
  await assert.rejects(promises.checkBackup(enc, SAMPLE_PASSWORD, {
    onCollection: async () => (++calls === 1000 ? false : undefined),
  }), (e) => e.code === a0b.ERR_CANCELLED);
  assert.equal(calls, 1000);
  const boom = new Error('boom');
  calls = 0;
  await assert.rejects(promises.checkBackup(enc, SAMPLE_PASSWORD, {
    onCollection: () => { if (++calls === 300) throw boom; },
  }), (e) => e === boom);
  assert.equal(calls, 300);
  const ac = new AbortController();
  calls = 0;
  await assert.rejects(promises.checkBackup(enc, SAMPLE_PASSWORD, {
    signal: ac.signal,
    onCollection: () => { if (++calls === 200) ac.abort(new Error('enough')); },
  }), (e) => e.code === a0b.ERR_CANCELLED && e.cause?.message === 'enough');
  assert.equal(calls, 200);
  const capped = await promises.checkBackup(enc, SAMPLE_PASSWORD, { maxCollections: 10 });
  assert.deepEqual(capped.collections, rows.slice(0, 10));
  assert.equal(capped.collectionsOmitted, N - 10);
});

// A child Node (this one) that checks FILE one way and prints its rows and peak RSS. (A file,
// not -e: the promise API's worker would inherit --input-type.)
const CHILD = `
const [url, promisesUrl, mode, file, password] = JSON.parse(process.env.A0B_RSS_ARGS);
const a0b = await import(mode.startsWith('promises') ? promisesUrl : url);
let rows = 0;
const opts = mode.endsWith('each') ? { onCollection: () => { rows += 1; } } : {};
const report = await a0b.checkBackup(file, password, opts);
rows += report.collections.length;
// VmHWM: this process image's peak RSS (getrusage's maxRSS would start from the forking parent's).
const fs = await import('node:fs');
const hwm = /^VmHWM:\\s*(\\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
console.log(JSON.stringify({ rows, total: report.totals.collections, maxRss: Number(hwm[1]) * 1024 }));
`;

function peak(mode, file) {
  const script = path.join(dir, 'peak.mjs');
  fs.writeFileSync(script, CHILD);
  const args = [pathToFileURL(path.join(packageDir, 'a0backup.mjs')).href,
    pathToFileURL(path.join(packageDir, 'promises.mjs')).href, mode, file, SAMPLE_PASSWORD];
  const r = spawnSync(process.execPath, [script], {
    encoding: 'utf8', env: { ...process.env, A0B_RSS_ARGS: JSON.stringify(args) },
  });
  assert.equal(r.status, 0, `${mode} ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

test('the check\'s memory does not grow with the collections (peak RSS of a child)', async (t) => {
  const { enc } = await manyCollections();
  for (const mode of ['sync-each', 'sync-keep', 'promises-each', 'promises-keep']) {
    const small = peak(mode, sample);
    const many = peak(mode, enc);
    assert.equal(small.total, 5);
    assert.equal(many.total, N);
    assert.equal(many.rows, mode.endsWith('each') ? N : a0b.DEFAULT_MAX_COLLECTIONS);
    const growth = many.maxRss - small.maxRss;
    t.diagnostic(`${mode}: peak RSS ${(small.maxRss / MiB).toFixed(1)} MiB for 5 collections, `
      + `${(many.maxRss / MiB).toFixed(1)} MiB for ${N}`);
    assert.ok(growth < GROWTH_BOUND, `${mode}: ${N} collections took ${(growth / MiB).toFixed(1)} MiB more`);
  }
});
