// dumpCollection, dump() and diffBackups (issue 24) against outside oracles: the backups are
// written by tests/dump/gen.py (pymongo's bson for the .bson files, Python's tarfile and gzip)
// and encrypted by `openssl enc -aes-256-ctr` with the key and IV of Node's createCipher
// (EVP_BytesToKey, MD5, no salt); the documents must be what pymongo's
// `json_util.dumps(doc, json_options=CANONICAL_JSON_OPTIONS)` (and RELAXED) makes of them, the
// filters must select what a selection written here in JS selects, and the diff must count
// what gen.py computes with pymongo. A missing python3 with bson, or a missing openssl, fails
// the tests: they are never skipped.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as a0b from 'a0backup';
import * as promises from 'a0backup/promises';
import {
  assertNoCallbacksLeft, evpBytesToKey, expectCode, packageDir, rejectsCode, root, SAMPLE_PASSWORD,
} from './common.mjs';

const N = 300;
const BIG = 1_000_000;
const MiB = 1024 * 1024;
const GEN = path.join(root, 'tests', 'dump', 'gen.py');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'a0b-node-dump-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs an oracle program; a missing one (or a failure) fails the test. */
function run(cmd, args, what) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * MiB });
  assert.ifError(r.error, `${cmd} (${what}) is an oracle of these tests and must be installed`);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** gen.py (python3 with pymongo's bson) in `out`. */
function gen(out, ...args) {
  fs.mkdirSync(out, { recursive: true });
  return run('python3', [GEN, args[0], out, ...args.slice(1).map(String)], "python3 with pymongo's bson");
}

/** `file` encrypted as the appliance does, by openssl: FILE.enc. */
function encrypt(file) {
  const { key, iv } = evpBytesToKey(SAMPLE_PASSWORD);
  run('openssl', ['enc', '-aes-256-ctr', '-K', key.toString('hex'), '-iv', iv.toString('hex'), '-in', file,
    '-out', `${file}.enc`], 'openssl enc');
  return `${file}.enc`;
}

const md5Of = (file) => crypto.createHash('md5').update(fs.readFileSync(file)).digest('hex');
const lines = (file) => fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');

let tree = null;
/** A backup of N users (every common BSON type), and what pymongo makes of its users.bson. */
function users() {
  if (tree) return tree;
  const out = path.join(dir, 'tree');
  gen(out, 'tree', 11, N);
  const enc = encrypt(path.join(out, 'backup.tar.gz'));
  tree = {
    enc,
    plain: path.join(out, 'backup.tar.gz'),
    bsonBytes: fs.statSync(path.join(out, 'users.bson')).size,
    canonical: lines(path.join(out, 'users.canonical.jsonl')),
    relaxed: lines(path.join(out, 'users.relaxed.jsonl')),
  };
  assert.equal(tree.canonical.length, N);
  return tree;
}

let big = null;
/** A backup of BIG small documents in auth0.users. */
function bigBackup() {
  if (big) return big;
  const out = path.join(dir, 'big');
  gen(out, 'big', BIG);
  big = encrypt(path.join(out, 'big.tar.gz'));
  return big;
}

/**
 * `a` and `b` are the same JSON value, members in the same order; `$numberDouble` strings
 * compared by value (pymongo writes `1e+16` where the library writes `1E+16`), NaN equal to
 * NaN, -0 not equal to 0.
 */
function assertSame(a, b, where) {
  const same = (x, y, key) => {
    if (key === '$numberDouble' && typeof x === 'string' && typeof y === 'string') {
      return Object.is(Number(x), Number(y));
    }
    if (Array.isArray(x) || Array.isArray(y)) {
      return Array.isArray(x) && Array.isArray(y) && x.length === y.length && x.every((v, i) => same(v, y[i], ''));
    }
    if (x !== null && y !== null && typeof x === 'object' && typeof y === 'object') {
      const kx = Object.keys(x);
      const ky = Object.keys(y);
      return kx.length === ky.length && kx.every((k, i) => k === ky[i] && same(x[k], y[k], k));
    }
    return Object.is(x, y);
  };
  assert.ok(same(a, b, ''), `${where}:\n${JSON.stringify(a)}\n${JSON.stringify(b)}`);
}

test('dumpCollection: the documents are what pymongo\'s json_util makes of the .bson', () => {
  const t = users();
  for (const [mode, relaxed] of [['canonical', false], ['relaxed', true]]) {
    const docs = [];
    const summary = a0b.dumpCollection(t.enc, SAMPLE_PASSWORD, 'auth0.users', {
      relaxed, onDocument: (doc) => { docs.push(doc); },
    });
    assert.equal(docs.length, N);
    docs.forEach((doc, i) => assertSame(doc, JSON.parse(t[mode][i]), `${mode} document ${i}`));
    assert.equal(summary.documents, N);
    assert.equal(summary.scanned, N);
    assert.equal(summary.bytes, t.bsonBytes, 'the bytes of users.bson');
    assert.equal(JSON.parse(summary.metadata).collectionName, 'users');
    assert.equal(summary.md5, null);
    assert.equal(summary.readToEnd, false);

    // text: the library's text, one line of JSON (compact: no newline) per document.
    const texts = [];
    a0b.dumpCollection(t.plain, null, 'auth0.users', { relaxed, text: true, onDocument: (s) => { texts.push(s); } });
    assert.equal(texts.length, N);
    texts.forEach((s, i) => {
      assert.equal(typeof s, 'string');
      assert.ok(!s.includes('\n'));
      assertSame(JSON.parse(s), JSON.parse(t[mode][i]), `${mode} text ${i}`);
    });
  }
  const md5 = md5Of(t.enc);
  const checked = a0b.dumpCollection(t.enc, SAMPLE_PASSWORD, 'auth0.users', { expectedMd5: md5, onDocument: () => {} });
  assert.equal(checked.md5, md5);
  assertNoCallbacksLeft();
});

// Filters, and the same selection written in JS over the canonical documents.
const num = (v) => (typeof v === 'object' && v !== null ? Number(Object.values(v)[0]) : v);
const FILTERS = [
  [{}, () => true],
  [{ email_verified: true }, (d) => d.email_verified === true],
  ['{"email_verified": {"$ne": true}}', (d) => d.email_verified !== true],
  [{ email: /@example\.(com|org)$/ }, (d) => /@example\.(com|org)$/.test(d.email)],
  [{ email: { $regex: '^USER1', $options: 'i' } }, (d) => /^user1/.test(d.email)],
  [{ 'identities.provider': 'github' }, (d) => d.identities.some((i) => i.provider === 'github')],
  [{ tenant: null }, (d) => d.tenant === null || !('tenant' in d)],
  [{ picture: { $exists: true } }, (d) => 'picture' in d],
  [{ _id: { $in: [3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 1000] } },
    (d) => [3, 5, 8, 13, 21, 34, 55, 89, 144, 233].includes(num(d._id))],
  [{ 'app_metadata.plan': 'pro', email_verified: false },
    (d) => d.app_metadata.plan === 'pro' && d.email_verified === false],
  [{ $or: [{ tenant: 'dev' }, { 'app_metadata.roles': 'a' }] },
    (d) => d.tenant === 'dev' || d.app_metadata.roles.includes('a')],
  [{ created_at: { $gte: new Date('2030-01-01T00:00:00Z') } },
    (d) => Number(d.created_at.$date.$numberLong) >= Date.parse('2030-01-01T00:00:00Z')],
  [{ _id: { $gte: 100, $lt: 150 }, 'identities.isSocial': { $ne: true } },
    (d) => num(d._id) >= 100 && num(d._id) < 150 && !d.identities.some((i) => i.isSocial === true)],
];

test('filters select what the same selection in JS selects, and limit stops at the first ones', async () => {
  const t = users();
  const all = t.canonical.map((l) => JSON.parse(l));
  for (const [filter, select] of FILTERS) {
    const want = all.filter(select).map((d) => num(d._id));
    const got = [];
    const summary = a0b.dumpCollection(t.enc, SAMPLE_PASSWORD, 'auth0.users', {
      filter, onDocument: (d) => { got.push(num(d._id)); },
    });
    const name = typeof filter === 'string' ? filter : JSON.stringify(filter);
    assert.deepEqual(got, want, `filter ${name}`);
    assert.equal(summary.documents, want.length);
    assert.equal(summary.scanned, N);
    const viaIterator = [];
    for await (const d of promises.dump(t.enc, SAMPLE_PASSWORD, 'auth0.users', { filter })) viaIterator.push(num(d._id));
    assert.deepEqual(viaIterator, want, `dump() with filter ${name}`);
  }
  // limit: the first matches, and reading stops at the last of them.
  const want = all.filter((d) => d.email_verified === true).slice(0, 5);
  const got = [];
  const limited = a0b.dumpCollection(t.enc, SAMPLE_PASSWORD, 'auth0.users', {
    filter: { email_verified: true }, limit: 5, onDocument: (d) => { got.push(d); },
  });
  assert.deepEqual(got, want);
  assert.equal(limited.documents, 5);
  assert.equal(limited.scanned, all.indexOf(want[4]) + 1);
  const first = [];
  for await (const d of promises.dump(t.enc, SAMPLE_PASSWORD, 'auth0.users', { limit: 1n })) first.push(d);
  assert.deepEqual(first, all.slice(0, 1));
});

test('dump(): an async iterator over a worker, with a summary; break cancels and leaves no thread', async () => {
  const t = users();
  const it = promises.dump(t.enc, SAMPLE_PASSWORD, 'auth0.users', { relaxed: true });
  assert.equal(it[Symbol.asyncIterator](), it);
  assert.equal(it.summary, null);
  const docs = [];
  for await (const d of it) docs.push(d);
  docs.forEach((doc, i) => assertSame(doc, JSON.parse(t.relaxed[i]), `relaxed document ${i}`));
  assert.equal(it.summary.documents, N);
  assert.equal(it.summary.bytes, t.bsonBytes);
  assert.deepEqual(await it.next(), { done: true, value: undefined });

  const texts = [];
  for await (const s of promises.dump(t.plain, null, 'auth0.users', { text: true })) texts.push(s);
  assert.deepEqual(texts.map((s) => JSON.parse(s)), docs.map((_, i) => JSON.parse(t.canonical[i])));

  // break, return and a throw in the loop: the dump is cancelled, its worker ended, every
  // thread it started gone, once the loop is left.
  const file = bigBackup();
  const threads = () => Number(/^Threads:\s*(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
  const before = threads();
  let n = 0;
  let during = 0;
  const broken = promises.dump(file, SAMPLE_PASSWORD, 'auth0.users');
  for await (const d of broken) {
    assert.equal(parseInt(d._id.$oid, 16), n, 'in the order of the .bson');
    if (++n === 1000) {
      during = threads();
      break;
    }
  }
  assert.ok(during > before, `the dump runs on threads of its own (${during} > ${before})`);
  assert.ok(threads() <= before, `no thread of the dump left (${threads()} <= ${before})`);
  assert.equal(broken.summary, null);
  assert.deepEqual(await broken.next(), { done: true, value: undefined });

  const boom = new Error('boom');
  await assert.rejects(async () => {
    for await (const d of promises.dump(file, SAMPLE_PASSWORD, 'auth0.users')) if (d) throw boom;
  }, (e) => e === boom);
  const early = promises.dump(file, SAMPLE_PASSWORD, 'auth0.users');
  assert.equal((await early.next()).done, false);
  assert.deepEqual(await early.return('x'), { done: true, value: 'x' });
  assert.ok(threads() <= before, 'no thread left after a throw or return()');

  // Never started: nothing to stop.
  assert.deepEqual(await promises.dump(file, SAMPLE_PASSWORD, 'auth0.users').return(), { done: true, value: undefined });
});

test('dump(): the worker waits for the loop (backpressure), and a signal cancels it', async () => {
  const file = bigBackup();
  const size = fs.statSync(file).size;
  let read = 0;
  const it = promises.dump(file, SAMPLE_PASSWORD, 'auth0.users', { onProgress: (done) => { read = done; } });
  let n = 0;
  for await (const d of it) {
    assert.ok(d._id);
    if (++n === 10) {
      // The loop stops taking documents: the worker must stop reading a few batches later.
      await new Promise((resolve) => { setTimeout(resolve, 500); });
      const then = read;
      await new Promise((resolve) => { setTimeout(resolve, 300); });
      assert.ok(read > 0, 'progress was reported');
      assert.equal(read, then, 'nothing read while the loop waits');
      assert.ok(read < size / 2, `the worker waited (read ${read} of ${size} bytes)`);
      break;
    }
  }

  const ac = new AbortController();
  n = 0;
  await assert.rejects(async () => {
    for await (const d of promises.dump(file, SAMPLE_PASSWORD, 'auth0.users', { signal: ac.signal })) {
      assert.ok(d);
      if (++n === 2000) ac.abort(new Error('enough'));
    }
  }, (e) => e.code === a0b.ERR_CANCELLED && e.cause?.message === 'enough');
  assert.equal(n, 2000, 'no document after the abort');
  await rejectsCode((async () => {
    const aborted = AbortSignal.abort();
    for await (const d of promises.dump(file, SAMPLE_PASSWORD, 'auth0.users', { signal: aborted })) assert.fail(d);
  })(), a0b.ERR_CANCELLED);
});

test('promises dumpCollection: onDocument on this thread, awaited; false cancels', async () => {
  const t = users();
  const ids = [];
  const summary = await promises.dumpCollection(t.enc, SAMPLE_PASSWORD, 'auth0.users', {
    filter: { email_verified: true },
    onDocument: async (d) => {
      ids.push(num(d._id));
      if (ids.length % 10 === 0) await new Promise((resolve) => { setTimeout(resolve, 1); });
    },
  });
  const want = t.canonical.map((l) => JSON.parse(l)).filter((d) => d.email_verified === true).map((d) => num(d._id));
  assert.deepEqual(ids, want);
  assert.equal(summary.documents, want.length);
  let calls = 0;
  await rejectsCode(promises.dumpCollection(t.enc, SAMPLE_PASSWORD, 'auth0.users', {
    onDocument: async () => (++calls === 7 ? false : undefined),
  }), a0b.ERR_CANCELLED);
  assert.equal(calls, 7);
  await assert.rejects(promises.dumpCollection(t.enc, SAMPLE_PASSWORD, 'auth0.users'), TypeError);
});

test('dump errors: wrong password, missing collection, a filter outside the subset, a wrong md5', async () => {
  const t = users();
  const none = { onDocument: () => assert.fail('no document') };
  expectCode(() => a0b.dumpCollection(t.enc, 'wrong', 'auth0.users', none), a0b.ERR_WRONG_PASSWORD);
  await rejectsCode(promises.dumpCollection(t.enc, 'wrong', 'auth0.users', none), 'A0B_ERR_WRONG_PASSWORD');
  await rejectsCode(promises.dump(t.enc, 'wrong', 'auth0.users').next(), 'A0B_ERR_WRONG_PASSWORD');
  expectCode(() => a0b.dumpCollection(t.enc, SAMPLE_PASSWORD, 'auth0.nope', none), 'A0B_ERR_INVALID_ARGUMENT');
  await rejectsCode(promises.dump(t.enc, SAMPLE_PASSWORD, 'nope.users').next(), 'A0B_ERR_INVALID_ARGUMENT');
  expectCode(() => a0b.dumpCollection(t.enc, SAMPLE_PASSWORD, 'no-dot', none), a0b.ERR_INVALID_ARGUMENT);
  for (const filter of [{ tags: { $size: 2 } }, { $where: 'true' }, '[1]', '{"a": 1, "a": 2}']) {
    expectCode(() => a0b.dumpCollection(t.enc, SAMPLE_PASSWORD, 'auth0.users', { filter, ...none }),
      a0b.ERR_INVALID_ARGUMENT);
  }
  expectCode(() => a0b.dumpCollection(t.enc, SAMPLE_PASSWORD, 'auth0.users', { expectedMd5: '0'.repeat(32), ...none }),
    a0b.ERR_CHECKSUM_MISMATCH);
  assert.throws(() => a0b.dumpCollection(t.enc, SAMPLE_PASSWORD, 'auth0.users'), TypeError);
  assert.throws(() => a0b.dumpCollection(t.enc, SAMPLE_PASSWORD, 'auth0.users', { limit: 0, ...none }), RangeError);
  assert.throws(() => a0b.dumpCollection(t.enc, SAMPLE_PASSWORD, 'auth0.users', { filter: { e: /x/y }, ...none }), TypeError);
  assert.throws(() => promises.dump(t.enc, SAMPLE_PASSWORD, 'auth0.users', { limit: -1 }), RangeError);
  assert.throws(() => promises.dump(t.enc, SAMPLE_PASSWORD, 42), TypeError);
  // A throw in onDocument comes back as it is; false is a cancel.
  const boom = new Error('boom');
  assert.throws(() => a0b.dumpCollection(t.enc, SAMPLE_PASSWORD, 'auth0.users', { onDocument: () => { throw boom; } }),
    (e) => e === boom);
  expectCode(() => a0b.dumpCollection(t.enc, SAMPLE_PASSWORD, 'auth0.users', { onDocument: () => false }),
    a0b.ERR_CANCELLED);
  assertNoCallbacksLeft();
});

let pair = null;
/** Two backups and the diff gen.py computes with pymongo. */
function pairOfBackups() {
  if (pair) return pair;
  const out = path.join(dir, 'pair');
  const expected = JSON.parse(gen(out, 'pair', 5, N));
  pair = { old: encrypt(path.join(out, 'old.tar.gz')), new: encrypt(path.join(out, 'new.tar.gz')), expected };
  return pair;
}

/** The items of a diff as gen.py's report: per collection, its row and its _ids by change. */
function asReport(items) {
  const report = {};
  const entry = (name) => {
    report[name] ??= { ids: { added: [], removed: [], changed: [] } };
    return report[name];
  };
  for (const item of items) {
    if ('change' in item) {
      assert.deepEqual(Object.keys(item), ['collection', 'change', '_id']);
      entry(item.collection).ids[item.change].push(JSON.stringify(item._id));
    } else {
      assert.equal(entry(item.collection).row, undefined, 'one row per collection');
      entry(item.collection).row = item;
    }
  }
  return report;
}

function assertDiff(items, totals, expected, ids) {
  const report = asReport(items);
  assert.deepEqual(Object.keys(report).sort(), Object.keys(expected).sort());
  const sum = { added: 0, removed: 0, changed: 0, unchanged: 0, changedCollections: 0 };
  for (const [name, want] of Object.entries(expected)) {
    const { row, ids: got } = report[name];
    assert.ok(row, `a row for ${name}`);
    assert.equal(row.presence, want.presence, name);
    for (const k of ['added', 'removed', 'changed']) {
      assert.equal(row[k], want[k].length, `${name}: ${k}`);
      assert.deepEqual(got[k].sort(), ids ? want[k] : [], `${name}: the _ids ${k}`);
      sum[k] += row[k];
    }
    assert.equal(row.unchanged, want.unchanged, `${name}: unchanged`);
    sum.unchanged += row.unchanged;
    for (const what of ['indexes', 'options']) {
      for (const k of ['added', 'removed', 'changed']) {
        assert.deepEqual([...row[what][k]].sort(), want[`${what}_${k}`], `${name}: ${what} ${k}`);
      }
    }
    const changes = row.added + row.removed + row.changed + Object.values(row.indexes).flat().length
      + Object.values(row.options).flat().length;
    if (changes > 0 || row.presence !== 'both') sum.changedCollections += 1;
  }
  assert.deepEqual(totals, { collections: Object.keys(expected).length, ...sum, oldMd5: totals.oldMd5, newMd5: totals.newMd5 });
}

test('diffBackups: rows, _ids and totals as gen.py computes them with pymongo', async () => {
  const p = pairOfBackups();
  assert.ok(p.expected['auth0.users'].added.length > 10);
  for (const ids of [true, false]) {
    const items = [];
    const totals = a0b.diffBackups(p.old, p.new, SAMPLE_PASSWORD, { ids, onItem: (item) => { items.push(item); } });
    assertDiff(items, totals, p.expected, ids);
    assert.equal(totals.oldMd5, null);
  }
  const oldMd5 = md5Of(p.old);
  const newMd5 = md5Of(p.new);
  const asyncItems = [];
  const totals = await promises.diffBackups(p.old, p.new, SAMPLE_PASSWORD, {
    ids: true, oldMd5, newMd5,
    onItem: async (item) => { await Promise.resolve(); asyncItems.push(item); },
  });
  assertDiff(asyncItems, totals, p.expected, true);
  assert.deepEqual([totals.oldMd5, totals.newMd5], [oldMd5, newMd5]);
  assert.deepEqual(Object.keys(totals),
    ['collections', 'changedCollections', 'added', 'removed', 'changed', 'unchanged', 'oldMd5', 'newMd5']);

  // One collection; no onItem.
  const users = [];
  const one = a0b.diffBackups(p.old, p.new, SAMPLE_PASSWORD, { collection: 'auth0.users', ids: true, onItem: (i) => { users.push(i); } });
  const want = p.expected['auth0.users'];
  assert.deepEqual([one.collections, one.added, one.removed, one.changed, one.unchanged],
    [1, want.added.length, want.removed.length, want.changed.length, want.unchanged]);
  assert.ok(users.every((i) => i.collection === 'auth0.users'));
  assert.deepEqual(a0b.diffBackups(p.old, p.new, SAMPLE_PASSWORD, { collection: 'auth0.users' }), { ...one });
  assertNoCallbacksLeft();
});

test('diff errors and cancels', async () => {
  const p = pairOfBackups();
  expectCode(() => a0b.diffBackups(p.old, p.new, 'wrong'), a0b.ERR_WRONG_PASSWORD);
  await rejectsCode(promises.diffBackups(p.old, p.new, 'wrong'), 'A0B_ERR_WRONG_PASSWORD');
  expectCode(() => a0b.diffBackups(p.old, p.new, SAMPLE_PASSWORD, { collection: 'auth0.nope' }), a0b.ERR_INVALID_ARGUMENT);
  expectCode(() => a0b.diffBackups(p.old, p.new, SAMPLE_PASSWORD, { oldMd5: md5Of(p.new) }), a0b.ERR_CHECKSUM_MISMATCH);
  let calls = 0;
  expectCode(() => a0b.diffBackups(p.old, p.new, SAMPLE_PASSWORD, { ids: true, onItem: () => ++calls < 3 }),
    a0b.ERR_CANCELLED);
  assert.equal(calls, 3);
  calls = 0;
  await rejectsCode(promises.diffBackups(p.old, p.new, SAMPLE_PASSWORD, { ids: true, onItem: async () => ++calls < 3 }),
    a0b.ERR_CANCELLED);
  assert.equal(calls, 3);
  const ac = new AbortController();
  await assert.rejects(promises.diffBackups(p.old, p.new, SAMPLE_PASSWORD, {
    ids: true, signal: ac.signal, onItem: () => { ac.abort(new Error('stop')); },
  }), (e) => e.code === a0b.ERR_CANCELLED && e.cause?.message === 'stop');
  assert.throws(() => a0b.diffBackups(p.old, p.new, SAMPLE_PASSWORD, { onItem: 'no' }), TypeError);
  assertNoCallbacksLeft();
});

// A child Node that dumps FILE one way and prints the count and its peak RSS (VmHWM). (A file,
// not -e: the promise API's worker would inherit --input-type.)
const CHILD = `
const [url, promisesUrl, mode, file, password] = JSON.parse(process.env.A0B_RSS_ARGS);
let n = 0;
if (mode === 'iterator') {
  const a0b = await import(promisesUrl);
  for await (const d of a0b.dump(file, password, 'auth0.users')) if (d._id) n += 1;
} else {
  const a0b = await import(mode === 'promises' ? promisesUrl : url);
  await a0b.dumpCollection(file, password, 'auth0.users', { onDocument: (d) => { if (d._id) n += 1; } });
}
const fs = await import('node:fs');
const hwm = /^VmHWM:\\s*(\\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
console.log(JSON.stringify({ n, maxRss: Number(hwm[1]) * 1024 }));
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

// What dumping a million documents may add to a process's peak RSS over dumping 300: V8's
// young generations filling up to their size (the caller's and the worker's), whatever the
// count. Measured: 11-15 MiB (sync), 20-37 MiB (promises, iterator) on Node 20-24. Keeping
// the documents would take about 250 MiB more.
const GROWTH_BOUND = 100 * MiB;

test('a million documents through dump() and dumpCollection: the peak RSS does not follow them', (t) => {
  const small = users().enc;
  const file = bigBackup();
  for (const mode of ['iterator', 'promises', 'sync']) {
    const few = peak(mode, small);
    const many = peak(mode, file);
    assert.deepEqual([few.n, many.n], [N, BIG]);
    t.diagnostic(`${mode}: peak RSS ${(few.maxRss / MiB).toFixed(1)} MiB for ${N} documents, `
      + `${(many.maxRss / MiB).toFixed(1)} MiB for ${BIG}`);
    const growth = many.maxRss - few.maxRss;
    assert.ok(growth < GROWTH_BOUND, `${mode}: ${BIG} documents took ${(growth / MiB).toFixed(1)} MiB more`);
  }
});
