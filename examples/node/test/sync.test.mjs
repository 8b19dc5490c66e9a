// The synchronous API (a0backup.mjs), against node:crypto and the sample backup.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as a0b from 'a0backup';
import {
  SAMPLE_PASSWORD, assertNoCallbacksLeft, cases, checkAgainstManifest, decryptWithCreateDecipheriv,
  describe, encryptWithCreateCipher, encryptWithCreateCipheriv, evpBytesToKey, expectCode,
  hasCreateCipher, listFiles, root, sample, sampleMd5, tempDir,
} from './common.mjs';

test('version and key derivation', () => {
  assert.match(a0b.version(), /^\d+\.\d+\.\d+/);
  const { key, iv } = a0b.deriveKeyIv(SAMPLE_PASSWORD);
  assert.equal(key.toString('hex'), 'd41e98d1eafa6d6011d3a70f1a5b92f0ca0848e5cd053ce643c911dd09e1cf66');
  assert.equal(iv.toString('hex'), '80634de08f03f93fc474b440533efcee');
  for (const pw of ['', 'pässwörd', '密码🔑', Buffer.from([0, 255, 128, 10])]) {
    const want = evpBytesToKey(pw);
    const got = a0b.deriveKeyIv(pw);
    assert.deepEqual(got.key, Buffer.from(want.key), `key for ${pw.toString('hex')}`);
    assert.deepEqual(got.iv, Buffer.from(want.iv));
  }
});

test('decrypts what Node made', async (t) => {
  await t.test('with crypto.createCipher (the appliance\'s own way)', (t) => {
    if (!hasCreateCipher()) {
      t.diagnostic(`Node ${process.version}: crypto.createCipher is gone, as asserted`);
      return;
    }
    const dir = tempDir(t);
    for (const [i, c] of cases().entries()) {
      const plain = crypto.randomBytes(c.size);
      const enc = encryptWithCreateCipher(c.password, plain);
      // Our EVP_BytesToKey agrees with createCipher's, so the fallback below is sound.
      assert.deepEqual(enc, encryptWithCreateCipheriv(c.password, plain), describe(c));
      const encPath = path.join(dir, `${i}.enc`);
      const outPath = path.join(dir, `${i}.out`);
      fs.writeFileSync(encPath, enc);
      a0b.decryptFile(encPath, outPath, c.password);
      assert.deepEqual(fs.readFileSync(outPath), plain, describe(c));
      // And the other way: encryptFile makes what createCipher makes.
      const reEnc = path.join(dir, `${i}.re.enc`);
      fs.writeFileSync(path.join(dir, `${i}.plain`), plain);
      a0b.encryptFile(path.join(dir, `${i}.plain`), reEnc, c.password);
      assert.deepEqual(fs.readFileSync(reEnc), enc, describe(c));
    }
  });

  await t.test('with createCipheriv and EVP_BytesToKey (Node 22+ way)', (t) => {
    const dir = tempDir(t);
    for (const [i, c] of cases().entries()) {
      const plain = crypto.randomBytes(c.size);
      const enc = encryptWithCreateCipheriv(c.password, plain);
      const encPath = path.join(dir, `${i}.enc`);
      const outPath = path.join(dir, `${i}.out`);
      fs.writeFileSync(encPath, enc);
      a0b.decryptFile(encPath, outPath, c.password, { format: 'node' });
      assert.deepEqual(fs.readFileSync(outPath), plain, describe(c));
      // The in-memory cipher, in uneven chunks, then again after a seek.
      const cipher = new a0b.Cipher(c.password);
      try {
        const buf = Buffer.from(enc);
        for (let off = 0; off < buf.length;) {
          const n = Math.min(buf.length - off, crypto.randomInt(1, 5000));
          cipher.apply(buf.subarray(off, off + n));
          off += n;
        }
        assert.deepEqual(buf, plain, describe(c));
        if (c.size > 0) {
          const at = crypto.randomInt(0, c.size);
          const tail = Buffer.from(enc.subarray(at));
          cipher.seek(at).apply(tail);
          assert.deepEqual(tail, plain.subarray(at), `${describe(c)}, seek to ${at}`);
        }
      } finally {
        cipher.free();
      }
    }
  });
});

test('createcipher-vectors.json', () => {
  const { vectors } = JSON.parse(fs.readFileSync(path.join(root, 'tests', 'data', 'createcipher-vectors.json'), 'utf8'));
  assert.ok(vectors.length > 0);
  for (const v of vectors) {
    const pattern = Buffer.alloc(v.plaintext_len);
    for (let i = 0; i < pattern.length; i++) pattern[i] = i % 251;
    let cipher;
    if (v.password_hex !== undefined) {
      const pw = Buffer.from(v.password_hex, 'hex');
      const { key, iv } = a0b.deriveKeyIv(pw);
      assert.equal(key.toString('hex'), v.key_hex, v.name);
      assert.equal(iv.toString('hex'), v.iv_hex, v.name);
      cipher = new a0b.Cipher(pw);
    } else {
      cipher = new a0b.Cipher({ key: Buffer.from(v.key_hex, 'hex'), iv: Buffer.from(v.iv_hex, 'hex') });
    }
    try {
      cipher.apply(pattern);
    } finally {
      cipher.free();
    }
    assert.equal(crypto.createHash('md5').update(pattern).digest('hex'), v.ciphertext_md5, v.name);
    if (v.ciphertext_hex !== undefined) assert.equal(pattern.toString('hex'), v.ciphertext_hex, v.name);
  }
});

test('checks the sample backup without writing', (t) => {
  const dir = tempDir(t);
  const expectedMd5 = sampleMd5();
  const report = a0b.checkBackup(sample, SAMPLE_PASSWORD, { expectedMd5 });
  assert.equal(report.restorable, true);
  assert.equal(report.collectionsOk, true);
  assert.equal(report.md5, expectedMd5);
  // camelCase throughout, as the types say: no snake_case key at any depth.
  const keys = (v) => (Array.isArray(v) ? v.flatMap(keys)
    : v && typeof v === 'object' ? Object.entries(v).flatMap(([k, x]) => [k, ...keys(x)]) : []);
  assert.deepEqual(keys(report).filter((k) => k.includes('_')), []);
  for (const k of ['otherFiles', 'totals', 'entries', 'warnings', 'refusal']) assert.ok(k in report, k);
  for (const k of ['bsonPath', 'metadataPath', 'bsonFileBytes', 'documents']) assert.ok(k in report.collections[0], k);
  const users = report.collections.find((c) => c.database === 'auth0' && c.collection === 'users');
  // The bytes counted are the size of the file a restore writes.
  a0b.restore(sample, path.join(dir, 'r'), SAMPLE_PASSWORD);
  assert.equal(users.bytes, fs.statSync(path.join(dir, 'r', 'dump', 'auth0', 'users.bson')).size);
  assert.deepEqual(fs.readdirSync(dir), ['r']);
  const wrongMd5 = expectedMd5.replace(/^./, (ch) => (ch === '0' ? '1' : '0'));
  expectCode(() => a0b.checkBackup(sample, SAMPLE_PASSWORD, { expectedMd5: wrongMd5 }), a0b.ERR_CHECKSUM_MISMATCH);
});

test('restores the sample backup', (t) => {
  const dir = tempDir(t);
  const dest = path.join(dir, 'restore');
  const expectedMd5 = sampleMd5();
  assert.equal(a0b.md5File(sample), expectedMd5);
  const seen = [];
  a0b.restore(sample, dest, SAMPLE_PASSWORD, {
    expectedMd5,
    onProgress: (done, total) => { seen.push([done, total]); },
  });
  assertNoCallbacksLeft();
  checkAgainstManifest(dest);
  assert.ok(seen.length > 0, 'progress was reported');
  const [done, total] = seen[seen.length - 1];
  assert.equal(done, fs.statSync(sample).size);
  assert.ok(total === 0 || total === done);

  // A non-empty destination is kept unless replace is set.
  expectCode(() => a0b.restore(sample, dest, SAMPLE_PASSWORD, { expectedMd5 }), a0b.ERR_ALREADY_EXISTS);
  expectCode(() => a0b.restore(sample, dest, SAMPLE_PASSWORD, { expectedMd5, replace: false }), a0b.ERR_ALREADY_EXISTS);
  a0b.restore(sample, dest, Buffer.from(SAMPLE_PASSWORD), { expectedMd5, replace: true });
  checkAgainstManifest(dest);

  // decryptFile with the md5 check, then a wrong md5.
  a0b.decryptFile(sample, path.join(dir, 'backup.tar.gz'), SAMPLE_PASSWORD, { expectedMd5, expectGzip: true });
  assert.deepEqual(fs.readFileSync(path.join(dir, 'backup.tar.gz')).subarray(0, 2), Buffer.from([0x1f, 0x8b]));
  const wrongMd5 = expectedMd5.replace(/^./, (ch) => (ch === '0' ? '1' : '0'));
  expectCode(() => a0b.decryptFile(sample, path.join(dir, 'x.tar.gz'), SAMPLE_PASSWORD, { expectedMd5: wrongMd5 }),
    a0b.ERR_CHECKSUM_MISMATCH);
  assert.equal(fs.existsSync(path.join(dir, 'x.tar.gz')), false);
  expectCode(() => a0b.restore(sample, path.join(dir, 'r2'), SAMPLE_PASSWORD, { expectedMd5: wrongMd5 }),
    a0b.ERR_CHECKSUM_MISMATCH);
  assert.equal(fs.existsSync(path.join(dir, 'r2')), false);
});

test('a wrong password is reported as A0B_ERR_WRONG_PASSWORD', (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'backup.tar.gz');
  expectCode(() => a0b.decryptFile(sample, out, 'Passw0rd!', { expectGzip: true }), a0b.ERR_WRONG_PASSWORD);
  assert.equal(fs.existsSync(out), false, 'no output for a wrong password');
  expectCode(() => a0b.restore(sample, path.join(dir, 'dest'), 'wrong'), a0b.ERR_WRONG_PASSWORD);
  assert.deepEqual(fs.readdirSync(dir), [], 'nothing left behind');
  // Without expectGzip a wrong password cannot be told: the bytes are decrypted as they are.
  a0b.decryptFile(sample, out, 'wrong');
  assert.equal(fs.statSync(out).size, fs.statSync(sample).size);
});

test('a cancel from onProgress gives A0B_ERR_CANCELLED and no destination', (t) => {
  const dir = tempDir(t);
  const dest = path.join(dir, 'dest');
  let calls = 0;
  expectCode(() => a0b.restore(sample, dest, SAMPLE_PASSWORD, {
    onProgress: () => { calls++; return false; },
  }), a0b.ERR_CANCELLED);
  assert.equal(calls, 1, 'no call after the cancel');
  assert.equal(fs.existsSync(dest), false);
  assert.deepEqual(fs.readdirSync(dir), [], 'no staging directory left');
  assertNoCallbacksLeft();

  // A cancelled restore over an existing destination leaves it as it was.
  a0b.restore(sample, dest, SAMPLE_PASSWORD);
  fs.writeFileSync(path.join(dest, 'mine.txt'), 'mine');
  expectCode(() => a0b.restore(sample, dest, SAMPLE_PASSWORD, { replace: true, onProgress: () => false }),
    a0b.ERR_CANCELLED);
  assert.equal(fs.readFileSync(path.join(dest, 'mine.txt'), 'utf8'), 'mine');
  assert.deepEqual(fs.readdirSync(dir), ['dest'], 'no staging directory left');
  fs.rmSync(dest, { recursive: true });

  // An exception thrown by onProgress cancels too, and comes out of the call as it was.
  const boom = new Error('stop here');
  assert.throws(() => a0b.restore(sample, dest, SAMPLE_PASSWORD, {
    onProgress: () => { throw boom; },
  }), (e) => e === boom);
  assert.equal(fs.existsSync(dest), false);
  assertNoCallbacksLeft();

  // A bigger decrypt cancelled halfway: no output, and an existing one is untouched.
  const input = path.join(dir, 'big.enc');
  fs.writeFileSync(input, crypto.randomBytes(8 << 20));
  const out = path.join(dir, 'big.out');
  fs.writeFileSync(out, 'keep me');
  let last = [0, 0];
  expectCode(() => a0b.decryptFile(input, out, 'pw', {
    replace: true,
    onProgress: (done, total) => { last = [done, total]; return done < (4 << 20); },
  }), a0b.ERR_CANCELLED);
  assert.ok(last[0] > 0 && last[0] < (8 << 20), `cancelled midway (at ${last})`);
  assert.equal(fs.readFileSync(out, 'utf8'), 'keep me');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['big.enc', 'big.out'], 'no temporary file left');
  assertNoCallbacksLeft();
});

test('pack, restore and the other formats', (t) => {
  const dir = tempDir(t);
  const src = path.join(dir, 'src');
  fs.mkdirSync(path.join(src, 'dump', 'auth0'), { recursive: true });
  fs.writeFileSync(path.join(src, 'dump', 'auth0', 'users.bson'), crypto.randomBytes(50_000));
  fs.writeFileSync(path.join(src, 'dump', 'auth0', 'users.metadata.json'), '{"indexes":[]}');
  fs.writeFileSync(path.join(src, 'dump', 'ünïcode name.txt'), 'héllo');
  const packed = path.join(dir, 'backup-retrieve.tar.gz.enc');
  // Like `tar czf backup.tar.gz dump`: the directory's own name is the archive's top entry.
  const md5 = a0b.pack(path.join(src, 'dump'), packed, 'pä55', { level: 1 });
  assert.match(md5, /^[0-9a-f]{32}$/);
  assert.equal(md5, a0b.md5File(packed));
  const dest = path.join(dir, 'dest');
  a0b.restore(packed, dest, 'pä55', { expectedMd5: md5 });
  assert.deepEqual(listFiles(dest), listFiles(src));
  for (const f of listFiles(src)) {
    assert.deepEqual(fs.readFileSync(path.join(dest, f)), fs.readFileSync(path.join(src, f)), f);
  }
  expectCode(() => a0b.pack(path.join(src, 'dump'), packed, 'pä55'), a0b.ERR_ALREADY_EXISTS);
  // Progress (per file, total unknown) and a cancelled pack, which leaves no output.
  const seen = [];
  a0b.pack(path.join(src, 'dump'), path.join(dir, 'p2.enc'), 'pw', { onProgress: (d, t) => { seen.push([d, t]); } });
  assert.ok(seen.length > 0);
  assert.equal(seen[seen.length - 1][0], 50_000 + 14 + Buffer.byteLength('héllo'));
  expectCode(() => a0b.pack(path.join(src, 'dump'), path.join(dir, 'p3.enc'), 'pw', { onProgress: () => false }),
    a0b.ERR_CANCELLED);
  assert.equal(fs.existsSync(path.join(dir, 'p3.enc')), false);
  assertNoCallbacksLeft();

  // Unencrypted pack: a plain .tar.gz.
  const plainMd5 = a0b.pack(src, path.join(dir, 'plain.tar.gz'), null);
  assert.equal(plainMd5, crypto.createHash('md5').update(fs.readFileSync(path.join(dir, 'plain.tar.gz'))).digest('hex'));
  assert.deepEqual(fs.readFileSync(path.join(dir, 'plain.tar.gz')).subarray(0, 2), Buffer.from([0x1f, 0x8b]));

  // openssl formats round trip, with the format detected or given.
  const input = path.join(dir, 'plain.tar.gz');
  for (const format of ['openssl-md5', 'openssl-pbkdf2']) {
    const enc = path.join(dir, `${format}.enc`);
    a0b.encryptFile(input, enc, 'pw', { format, pbkdf2Iterations: 1000 });
    assert.equal(fs.readFileSync(enc).subarray(0, 8).toString('latin1'), 'Salted__');
    const out = path.join(dir, `${format}.out`);
    a0b.decryptFile(enc, out, 'pw', { format, pbkdf2Iterations: 1000 });
    assert.deepEqual(fs.readFileSync(out), fs.readFileSync(input), format);
  }
  assert.throws(() => a0b.encryptFile(input, path.join(dir, 'x'), 'pw', { format: 'rot13' }), TypeError);
});

test('invalid arguments', (t) => {
  const dir = tempDir(t);
  expectCode(() => a0b.md5File(null), a0b.ERR_INVALID_ARGUMENT);
  expectCode(() => a0b.md5File(''), a0b.ERR_INVALID_ARGUMENT);
  expectCode(() => a0b.md5File(path.join(dir, 'missing')), a0b.ERR_IO);
  expectCode(() => a0b.decryptFile(null, path.join(dir, 'o'), 'pw'), a0b.ERR_INVALID_ARGUMENT);
  expectCode(() => a0b.decryptFile(sample, path.join(dir, 'o'), null), a0b.ERR_INVALID_ARGUMENT);
  expectCode(() => a0b.decryptFile(sample, path.join(dir, 'o'), 'pw', { expectedMd5: 'not hex' }), a0b.ERR_INVALID_ARGUMENT);
  expectCode(() => a0b.decryptFile(sample, path.join(dir, 'o'), 'pw', { format: 77 }), a0b.ERR_INVALID_ARGUMENT);
  expectCode(() => a0b.restore(sample, null, SAMPLE_PASSWORD), a0b.ERR_INVALID_ARGUMENT);
  expectCode(() => a0b.pack(dir, path.join(dir, 'p.tgz'), null, { level: 10 }), a0b.ERR_INVALID_ARGUMENT);
  expectCode(() => new a0b.Cipher({ key: Buffer.alloc(31), iv: Buffer.alloc(16) }), a0b.ERR_INVALID_ARGUMENT);
  const c = new a0b.Cipher('pw');
  c.free();
  c.free(); // a second free is a no-op
  expectCode(() => c.apply(Buffer.alloc(4)), a0b.ERR_INVALID_ARGUMENT);
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('Md5 matches node:crypto', () => {
  const h = new a0b.Md5();
  try {
    const data = crypto.randomBytes(100_003);
    h.update(data.subarray(0, 7)).update(Buffer.alloc(0)).update(data.subarray(7));
    assert.equal(h.digest(), crypto.createHash('md5').update(data).digest('hex'));
    assert.equal(h.digest(), 'd41d8cd98f00b204e9800998ecf8427e', 'digest() starts over');
  } finally {
    h.free();
  }
});

test('buffers: decrypt, encrypt and restore without a file', (t) => {
  const enc = fs.readFileSync(sample);
  const expectedMd5 = sampleMd5();
  const plain = a0b.decryptBuffer(enc, SAMPLE_PASSWORD, { expectedMd5, expectGzip: true });
  assert.deepEqual(plain.subarray(0, 2), Buffer.from([0x1f, 0x8b]));
  assert.deepEqual(plain, decryptWithCreateDecipheriv(SAMPLE_PASSWORD, enc));
  // Back in the Node format: the appliance's bytes.
  assert.deepEqual(a0b.encryptBuffer(plain, SAMPLE_PASSWORD), enc);
  expectCode(() => a0b.decryptBuffer(enc, 'wrong', { expectGzip: true }), a0b.ERR_WRONG_PASSWORD);
  expectCode(() => a0b.decryptBuffer(enc, SAMPLE_PASSWORD, { expectedMd5: 'f'.repeat(32) }), a0b.ERR_CHECKSUM_MISMATCH);
  // The openssl formats, from a Uint8Array, and an empty input.
  const data = crypto.randomBytes(70_001);
  for (const format of ['openssl-md5', 'openssl-pbkdf2']) {
    const e = a0b.encryptBuffer(new Uint8Array(data), 'pw', { format, pbkdf2Iterations: 1000 });
    assert.equal(e.subarray(0, 8).toString('latin1'), 'Salted__');
    assert.deepEqual(a0b.decryptBuffer(e, 'pw', { format, pbkdf2Iterations: 1000 }), data, format);
  }
  assert.deepEqual(a0b.encryptBuffer(Buffer.alloc(0), 'pw'), Buffer.alloc(0));
  assert.equal(a0b.md5StreamSync((view) => 0), 'd41d8cd98f00b204e9800998ecf8427e');

  const dir = tempDir(t);
  const dest = path.join(dir, 'restored');
  a0b.restoreBuffer(enc, dest, SAMPLE_PASSWORD, { expectedMd5 });
  checkAgainstManifest(dest);
  expectCode(() => a0b.restoreBuffer(enc, path.join(dir, 'r2'), 'wrong'), a0b.ERR_WRONG_PASSWORD);
  assert.deepEqual(fs.readdirSync(dir), ['restored']);
  assertNoCallbacksLeft();
});

test('stream functions: a read or write function that throws fails the call and its error comes out', (t) => {
  const enc = fs.readFileSync(sample);
  const boom = new Error('source broke');
  let calls = 0;
  let pos = 0;
  const failingRead = (view) => {
    calls++;
    if (calls === 3) throw boom;
    const n = Math.min(view.length, 1000);
    view.set(enc.subarray(pos, pos + n));
    pos += n;
    return n;
  };
  const dir = tempDir(t);
  assert.throws(() => a0b.restoreStreamSync(failingRead, path.join(dir, 'd'), SAMPLE_PASSWORD), (e) => e === boom);
  assert.equal(calls, 3, 'not called again after it threw');
  assert.deepEqual(fs.readdirSync(dir), [], 'nothing left behind');
  const full = new Error('disk full');
  let at = 0;
  const readAll = (view) => {
    const n = Math.min(view.length, enc.length - at);
    view.set(enc.subarray(at, at + n));
    at += n;
    return n;
  };
  assert.throws(() => a0b.decryptStreamSync(readAll, () => { throw full; }, SAMPLE_PASSWORD), (e) => e === full);
  // A read function that claims more than it was given is an error too.
  assert.throws(() => a0b.md5StreamSync((view) => view.length + 1), RangeError);
  assertNoCallbacksLeft();
});


test('error codes are the A0B_ERR_* names of the header, the number kept as errno', (t) => {
  // include/a0backup.h is the source of truth: every A0B_ERR_* define, its name and number.
  const header = fs.readFileSync(path.join(root, 'include', 'a0backup.h'), 'utf8');
  const defines = [...header.matchAll(/^#define (A0B_(?:OK|ERR_[A-Z_]+)) (\d+)$/gm)].map((m) => [m[1], Number(m[2])]);
  assert.ok(defines.length >= 12, `${defines.length} result codes in the header`);
  for (const [name, number] of defines) {
    assert.equal(a0b[name.replace(/^A0B_/, '')], name, `the constant ${name.replace(/^A0B_/, '')}`);
    const e = new a0b.A0BackupError(number, 'm');
    assert.deepEqual([e.code, e.errno, e.message], [name, number, 'm']);
    const byName = new a0b.A0BackupError(name);
    assert.deepEqual([byName.code, byName.errno, byName.message], [name, number, name]);
    assert.equal(byName.codeName, name, 'the deprecated codeName is the code');
  }
  // As the library raises them.
  const dir = tempDir(t);
  assert.throws(() => a0b.restore(sample, path.join(dir, 'd'), 'wrong'), (e) => {
    assert.ok(e instanceof a0b.A0BackupError);
    assert.equal(e.code, 'A0B_ERR_WRONG_PASSWORD');
    assert.equal(e.errno, 3);
    assert.equal(e.name, 'A0BackupError');
    return true;
  });
});

test('`overwrite` is the deprecated name of `replace`: accepted, with one warning', (t) => {
  const dir = tempDir(t);
  const warnings = [];
  const onWarning = (w) => { if (w.code === 'A0BACKUP_DEP_OVERWRITE') warnings.push(w); };
  process.on('warning', onWarning);
  // common.mjs silences deprecations (createCipher's): not this one.
  const noDeprecation = process.noDeprecation;
  process.noDeprecation = false;
  t.after(() => {
    process.off('warning', onWarning);
    process.noDeprecation = noDeprecation;
  });
  const dest = path.join(dir, 'd');
  a0b.restore(sample, dest, SAMPLE_PASSWORD);
  a0b.restore(sample, dest, SAMPLE_PASSWORD, { overwrite: true });
  checkAgainstManifest(dest);
  a0b.restore(sample, dest, SAMPLE_PASSWORD, { overwrite: true, replace: true });
  expectCode(() => a0b.restore(sample, dest, SAMPLE_PASSWORD, { overwrite: false }), a0b.ERR_ALREADY_EXISTS);
  assert.throws(() => a0b.restore(sample, dest, SAMPLE_PASSWORD, { overwrite: true, replace: false }),
    { name: 'TypeError', message: /`overwrite` is the deprecated name of `replace`/ });
  // decryptFile, encryptFile and pack take it too.
  const out = path.join(dir, 'out.tar.gz');
  fs.writeFileSync(out, 'old');
  a0b.decryptFile(sample, out, SAMPLE_PASSWORD, { overwrite: true });
  assert.deepEqual(fs.readFileSync(out).subarray(0, 2), Buffer.from([0x1f, 0x8b]));
  return new Promise((resolve) => setImmediate(resolve)).then(() => {
    assert.equal(warnings.length, 1, 'one DeprecationWarning per process');
    assert.equal(warnings[0].name, 'DeprecationWarning');
    assert.match(warnings[0].message, /use `replace`/);
  });
});
