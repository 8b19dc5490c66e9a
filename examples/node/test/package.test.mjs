// The package as installed: what it holds, where it finds the library, and which Node runs it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as a0b from 'a0backup';
import { packageDir, tempDir } from './common.mjs';

const pkg = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'));

test('the tests run against the installed package when the runner says so', () => {
  if (process.env.A0BACKUP_EXPECT_INSTALLED) {
    assert.equal(path.basename(path.dirname(packageDir)), 'node_modules', `${packageDir} is an installed copy`);
    // What npm pack put in: the `files` list and package.json, no tests.
    const have = fs.readdirSync(packageDir).filter((f) => f !== 'README.md').sort();
    assert.deepEqual(have, [...pkg.files.filter((f) => f !== 'README.md'), 'package.json'].sort());
  }
  if (process.env.A0BACKUP_TEST_NODE_MAJOR) {
    assert.equal(process.versions.node.split('.')[0], process.env.A0BACKUP_TEST_NODE_MAJOR);
  }
});

test('the exports map: the two entry points, and no way into the internals', async () => {
  assert.equal(pkg.name, 'a0backup');
  assert.equal((await import('a0backup')).restore, a0b.restore);
  assert.equal(typeof (await import('a0backup/promises')).restore, 'function');
  await assert.rejects(import('a0backup/internal.mjs'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
  // The package and the library it loads are the same version.
  assert.equal(pkg.version, a0b.version());
});

test('without A0BACKUP_LIB the library is found next to the package, or the error says how', (t) => {
  // A copy of the package in a fresh node_modules, with its own koffi.
  const dir = tempDir(t);
  const copy = path.join(dir, 'node_modules', 'a0backup');
  fs.mkdirSync(copy, { recursive: true });
  for (const f of [...pkg.files, 'package.json']) {
    if (fs.existsSync(path.join(packageDir, f))) fs.copyFileSync(path.join(packageDir, f), path.join(copy, f));
  }
  let koffiDir = createRequire(path.join(packageDir, 'package.json')).resolve('koffi');
  while (path.basename(koffiDir) !== 'koffi') koffiDir = path.dirname(koffiDir);
  fs.symlinkSync(koffiDir, path.join(dir, 'node_modules', 'koffi'));
  const env = { ...process.env };
  delete env.A0BACKUP_LIB;
  const load = () => spawnSync(process.execPath, ['--input-type=module', '-e',
    "const a0b = await import('a0backup'); console.log(a0b.libraryPath()); console.log(a0b.version());"],
  { cwd: dir, env, encoding: 'utf8' });

  const missing = load();
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /set A0BACKUP_LIB/);

  const lib = path.join(copy, path.basename(a0b.libraryPath()));
  fs.copyFileSync(fs.realpathSync(a0b.libraryPath()), lib);
  const found = load();
  assert.equal(found.status, 0, found.stderr);
  assert.deepEqual(found.stdout.trim().split('\n'), [lib, a0b.version()]);
});
