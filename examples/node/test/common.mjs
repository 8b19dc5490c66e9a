// Helpers of the Node tests. The tests import the package by its name ('a0backup'), so they
// test the copy npm installed next to them (examples/run-tests.sh packs the package and
// installs the tarball into a scratch directory) or, run in examples/node, the package itself.
// The repository's test data comes from $A0BACKUP_REPO (default: three levels up from here).

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as a0b from 'a0backup';

/** The directory of the package under test (as installed, or the source). */
export const packageDir = path.dirname(fileURLToPath(import.meta.resolve('a0backup')));
// The package's own koffi, whose callback count tells whether every callback was unregistered.
const koffi = createRequire(path.join(packageDir, 'package.json'))('koffi');

// crypto.createCipher is deprecated (DEP0106); the tests use it on purpose where it exists.
process.noDeprecation = true;

export const here = path.dirname(fileURLToPath(import.meta.url));
export const root = process.env.A0BACKUP_REPO
  ? path.resolve(process.env.A0BACKUP_REPO) : path.resolve(here, '..', '..', '..');
export const sampleDir = path.join(root, 'tests', 'data', 'sample-backup');
export const sample = path.join(sampleDir, 'backup-retrieve.tar.gz.enc');
export const SAMPLE_PASSWORD = 'Passw0rd';
export const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

/**
 * Whether this Node has the appliance's own cipher, crypto.createCipher/createDecipher (the
 * oracle of some cases). They must exist before Node 22 and be gone from 22 on (the reason the
 * package exists): either way is asserted, so a case that needs them is never skipped silently.
 */
export function hasCreateCipher() {
  const want = NODE_MAJOR < 22 ? 'function' : 'undefined';
  assert.equal(typeof crypto.createCipher, want, `crypto.createCipher on Node ${process.version}`);
  assert.equal(typeof crypto.createDecipher, want, `crypto.createDecipher on Node ${process.version}`);
  return want === 'function';
}

export function tempDir(t) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'a0b-node-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/** OpenSSL's EVP_BytesToKey(MD5, 1 round, no salt), as Node's createCipher uses it. */
export function evpBytesToKey(password) {
  const pw = Buffer.isBuffer(password) ? password : Buffer.from(password, 'utf8');
  let out = Buffer.alloc(0);
  let prev = Buffer.alloc(0);
  while (out.length < 48) {
    prev = crypto.createHash('md5').update(prev).update(pw).digest();
    out = Buffer.concat([out, prev]);
  }
  return { key: out.subarray(0, 32), iv: out.subarray(32, 48) };
}

export function encryptWithCreateCipher(password, plain) {
  // createCipher warns "Use Cipheriv for counter mode" each time: the point here is to use it.
  const emitWarning = process.emitWarning;
  process.emitWarning = () => {};
  try {
    const c = crypto.createCipher('aes-256-ctr', password);
    return Buffer.concat([c.update(plain), c.final()]);
  } finally {
    process.emitWarning = emitWarning;
  }
}

export function encryptWithCreateCipheriv(password, plain) {
  const { key, iv } = evpBytesToKey(password);
  const c = crypto.createCipheriv('aes-256-ctr', key, iv);
  return Buffer.concat([c.update(plain), c.final()]);
}

export function decryptWithCreateDecipheriv(password, data) {
  const { key, iv } = evpBytesToKey(password);
  const d = crypto.createDecipheriv('aes-256-ctr', key, iv);
  return Buffer.concat([d.update(data), d.final()]);
}

export function randomAscii(n) {
  const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_{|}~ ';
  return Array.from(crypto.randomBytes(n), (b) => chars[b % chars.length]).join('');
}

/** Sizes and passwords: the edges (0, 1, 16, 17, 100k) and random ones, ASCII and not. */
export function cases() {
  const sizes = [0, 1, 15, 16, 17, 100_000, crypto.randomInt(2, 300_000), crypto.randomInt(2, 70_000)];
  const passwords = [SAMPLE_PASSWORD, '', 'pässwörd', '密码🔑 key', 'Ωμέγα-' + randomAscii(5),
    randomAscii(crypto.randomInt(1, 40)), randomAscii(200)];
  return sizes.map((size, i) => ({ size, password: passwords[i % passwords.length] }));
}

export function describe({ size, password }) {
  return `size ${size}, password ${JSON.stringify(password)} (hex ${Buffer.from(password, 'utf8').toString('hex')})`;
}

export function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

export function sampleMd5() {
  // The sample's backup-status record lacks a comma, so it is not JSON: take the md5 by regex.
  const status = fs.readFileSync(path.join(sampleDir, 'backup-status.txt'), 'utf8');
  const m = /"md5"\s*:\s*"([0-9a-fA-F]{32})"/.exec(status);
  assert.ok(m, 'backup-status.txt has an md5');
  return m[1].toLowerCase();
}

export function manifest() {
  return fs.readFileSync(path.join(sampleDir, 'manifest.sha256'), 'utf8')
    .split('\n').filter((l) => l.trim() !== '')
    .map((l) => {
      const m = /^([0-9a-f]{64})\s+\*?(.+)$/.exec(l);
      assert.ok(m, `manifest line ${JSON.stringify(l)}`);
      return { sha256: m[1], file: m[2] };
    });
}

export function listFiles(dir, prefix = '') {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(path.join(dir, e.name), rel));
    else out.push(rel);
  }
  return out.sort();
}

export function checkAgainstManifest(dest) {
  const entries = manifest();
  assert.ok(entries.length > 0);
  for (const { sha256: want, file } of entries) {
    assert.equal(sha256(path.join(dest, file)), want, file);
  }
  assert.deepEqual(listFiles(dest), entries.map((e) => e.file).sort(), 'no file beyond the manifest');
}

export function expectCode(fn, code) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof a0b.A0BackupError, `an A0BackupError, not ${e}`);
    assert.equal(e.code, code, `code ${e.code} (${e.message}), expected ${code}`);
    assert.match(e.code, /^A0B_ERR_[A-Z_]+$/);
    assert.ok(Number.isInteger(e.errno) && e.errno > 0, `errno ${e.errno}`);
    assert.equal(typeof e.message, 'string');
    assert.ok(e.message.length > 0, 'the error has the library message');
    return true;
  });
}

export function assertNoCallbacksLeft() {
  assert.equal(koffi.stats().callbacks, 0, 'every registered progress callback was unregistered');
}


/** Like expectCode, for a promise. */
export async function rejectsCode(promise, code) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof a0b.A0BackupError, `an A0BackupError, not ${e}`);
    assert.equal(e.code, code, `code ${e.code} (${e.message}), expected ${code}`);
    assert.ok(Number.isInteger(e.errno) && e.errno > 0, `errno ${e.errno}`);
    assert.ok(e.message.length > 0, 'the error has the library message');
    return true;
  });
}
