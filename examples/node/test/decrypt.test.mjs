// decrypt.mjs, the drop-in for the appliance's decrypt script.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import * as a0b from 'a0backup';
import {
  SAMPLE_PASSWORD, decryptWithCreateDecipheriv, encryptWithCreateCipheriv, hasCreateCipher, packageDir,
  sample, sampleMd5, tempDir,
} from './common.mjs';

// The seed's decrypt script, verbatim (arguments: password, input, output).
const SEED_SCRIPT = `'use strict';
const fs     = require('fs');
const crypto = require('crypto');
const ALGO = 'aes-256-ctr';
const password = process.argv[2]
const input = process.argv[3];
const output = process.argv[4];
const decrypt = crypto.createDecipher(ALGO, password);
const out = fs.createWriteStream(output);
fs.createReadStream(input).pipe(decrypt).pipe(out);
`;

test('decrypt.mjs is a drop-in for the seed script', async (t) => {
  const dir = tempDir(t);
  const script = path.join(packageDir, 'decrypt.mjs');
  const password = 'Pä55w0rd 🔐';
  // A backup's plaintext is gzip (node:zlib is the oracle of that).
  const plain = zlib.gzipSync(crypto.randomBytes(200_001), { level: 1 });
  const input = path.join(dir, 'backup-retrieve.tar.gz.enc');
  fs.writeFileSync(input, encryptWithCreateCipheriv(password, plain));
  const output = path.join(dir, 'backup-retrieve.tar.gz');
  fs.writeFileSync(output, 'an older file, replaced as the seed script would');

  // The children run in `dir`: give them the library by absolute path.
  const env = { ...process.env, A0BACKUP_LIB: a0b.libraryPath() };
  const run = (args) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', cwd: dir, env });
  const r = run([password, input, output]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, '');
  const ours = fs.readFileSync(output);
  // The seed's logic: createDecipher, which is createDecipheriv under EVP_BytesToKey.
  assert.deepEqual(ours, decryptWithCreateDecipheriv(password, fs.readFileSync(input)));
  assert.deepEqual(ours, plain);

  await t.test('against the verbatim seed script', (t) => {
    if (!hasCreateCipher()) {
      t.diagnostic(`Node ${process.version}: crypto.createDecipher is gone, as asserted`);
      return;
    }
    const seed = path.join(dir, 'seed-decrypt.cjs');
    fs.writeFileSync(seed, SEED_SCRIPT);
    // Relative paths, resolved against the working directory, as the seed script's users give them.
    execFileSync(process.execPath, ['--no-warnings', seed, password, 'backup-retrieve.tar.gz.enc', 'seed.out'], { cwd: dir });
    assert.equal(run([password, 'backup-retrieve.tar.gz.enc', 'ours.out']).status, 0);
    assert.deepEqual(fs.readFileSync(path.join(dir, 'ours.out')), fs.readFileSync(path.join(dir, 'seed.out')));
  });

  await t.test('--md5 and --expect-gzip', () => {
    const md5 = crypto.createHash('md5').update(fs.readFileSync(input)).digest('hex');
    const checked = path.join(dir, 'checked.out');
    assert.equal(run([password, input, checked, '--md5', md5]).status, 0);
    assert.deepEqual(fs.readFileSync(checked), plain);
    const bad = run([password, input, path.join(dir, 'bad.out'), '--md5', 'f'.repeat(32)]);
    assert.equal(bad.status, 4);
    assert.match(bad.stderr, /^a0backup-decrypt: /);
    assert.equal(fs.existsSync(path.join(dir, 'bad.out')), false);
    // The sample is a real .tar.gz.enc: a wrong password is caught with --expect-gzip.
    const wrong = run(['nope', sample, path.join(dir, 'wrong.out'), '--expect-gzip']);
    assert.equal(wrong.status, 3, wrong.stderr);
    assert.equal(fs.existsSync(path.join(dir, 'wrong.out')), false);
    const good = run([SAMPLE_PASSWORD, sample, path.join(dir, 'sample.tar.gz'), '--expect-gzip', `--md5=${sampleMd5()}`]);
    assert.equal(good.status, 0, good.stderr);
  });

  await t.test('usage and errors', () => {
    assert.equal(run([]).status, 2);
    assert.equal(run([password, input]).status, 2);
    assert.equal(run([password, input, path.join(dir, 'u.out'), '--bogus']).status, 2);
    const first = run(['--md5', 'f'.repeat(32), password, input, path.join(dir, 'f.out')]);
    assert.equal(first.status, 2);
    assert.match(first.stderr, /options come after PASSWORD INPUT OUTPUT/);
    assert.equal(fs.existsSync(path.join(dir, 'f.out')), false);
    const missing = run([password, path.join(dir, 'missing.enc'), path.join(dir, 'm.out')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /missing\.enc/);
  });

  await t.test('--help documents every option and the gzip rule', () => {
    for (const flag of ['--help', '-h']) {
      const h = run([flag]);
      assert.equal(h.status, 0, h.stderr);
      for (const word of ['PASSWORD INPUT OUTPUT', '--md5 HEX', '--expect-gzip', '--help', '.gz.enc', '.tgz', 'Exit status']) {
        assert.ok(h.stdout.includes(word), `--help names ${word}`);
      }
    }
  });

  await t.test('a wrong password is refused when the names say gzip, warned about otherwise', () => {
    const enc = fs.readFileSync(input);
    // By INPUT's name (.tar.gz.enc, .tgz.enc) or OUTPUT's (.gz, .tgz): exit 3, nothing written,
    // an existing OUTPUT as it was.
    fs.writeFileSync(path.join(dir, 'b.tgz.enc'), enc);
    fs.writeFileSync(path.join(dir, 'kept.gz'), 'mine');
    for (const [from, to] of [[input, 'none.tar.gz'], ['b.tgz.enc', 'none.out'], ['b.tgz.enc', 'kept.gz'],
      ['backup-retrieve.tar.gz.enc', 'none.tgz']]) {
      const r = run(['wrong password', from, to]);
      assert.equal(r.status, 3, `${from} -> ${to}: ${r.stderr}`);
      assert.match(r.stderr, /wrong password/);
    }
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('none')), [], 'no output under its name');
    assert.equal(fs.readFileSync(path.join(dir, 'kept.gz'), 'utf8'), 'mine');
    assert.ok(fs.readdirSync(dir).every((f) => !f.includes('tmp') && !f.startsWith('.')), 'no temporary file left');

    // Other names: the bytes are written (as the seed script would), with a warning.
    fs.writeFileSync(path.join(dir, 'data.bin'), enc);
    const w = run(['wrong password', 'data.bin', 'data.out']);
    assert.equal(w.status, 0, w.stderr);
    assert.match(w.stderr, /warning: the decrypted data does not begin like gzip/);
    assert.deepEqual(fs.readFileSync(path.join(dir, 'data.out')), decryptWithCreateDecipheriv('wrong password', enc));
    // The right password under those names: gzip, no warning.
    const ok = run([password, 'data.bin', 'data.out']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stderr, '');
    assert.deepEqual(fs.readFileSync(path.join(dir, 'data.out')), plain);
  });
});

