// The package as installed: what it holds, where it finds the library, and which Node runs it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as a0b from 'a0backup';
import { checkAgainstManifest, packageDir, root, sample, tempDir } from './common.mjs';

const pkg = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
const LIB_ERROR = 'ERR_A0BACKUP_LIBRARY_NOT_FOUND';

/** The liba0backup files mapped into this process (/proc/self/maps). */
function mappedLibraries() {
  return [...new Set(fs.readFileSync('/proc/self/maps', 'utf8').split('\n')
    .filter((l) => /\/liba0backup[^/]*$/.test(l)).map((l) => l.slice(l.indexOf('/'))))];
}

/** This platform's bundled library, relative to the package: prebuilds/linux-x64/liba0backup.glibc.so. */
function bundledRelative() {
  const libc = process.report.getReport().header.glibcVersionRuntime ? 'glibc' : 'musl';
  return path.join('prebuilds', `${process.platform}-${process.arch}`, `liba0backup.${libc}.so`);
}

test('the tests run against the installed package when the runner says so', () => {
  if (process.env.A0BACKUP_EXPECT_INSTALLED) {
    assert.equal(path.basename(path.dirname(packageDir)), 'node_modules', `${packageDir} is an installed copy`);
    // What npm pack put in: the `files` list and package.json, no tests, no scripts.
    const have = fs.readdirSync(packageDir).filter((f) => f !== 'README.md').sort();
    assert.deepEqual(have, [...pkg.files.filter((f) => f !== 'README.md').map((f) => f.replace(/\/$/, '')),
      'package.json'].sort());
    // The library for this platform, and only it (the tarball was packed here).
    assert.deepEqual(fs.readdirSync(path.join(packageDir, 'prebuilds'), { recursive: true }).sort(),
      [path.dirname(path.relative('prebuilds', bundledRelative())), path.relative('prebuilds', bundledRelative())]);
    // No library from the repository's build: the runner unset A0BACKUP_LIB, so the bundled copy
    // is the one loaded, and the only liba0backup mapped into this process.
    assert.equal(process.env.A0BACKUP_LIB, undefined, 'A0BACKUP_LIB is unset for the installed package');
    const bundled = path.join(packageDir, bundledRelative());
    assert.equal(a0b.libraryPath(), bundled);
    assert.deepEqual(mappedLibraries(), [fs.realpathSync(bundled)]);
  }
  if (process.env.A0BACKUP_TEST_NODE_MAJOR) {
    assert.equal(process.versions.node.split('.')[0], process.env.A0BACKUP_TEST_NODE_MAJOR);
  }
});

test('the license: MIT OR Apache-2.0, as the crate, with both texts in the package', () => {
  assert.equal(pkg.license, 'MIT OR Apache-2.0');
  const crateLicense = /^license = "([^"]+)"/m.exec(fs.readFileSync(path.join(root, 'Cargo.toml'), 'utf8'))[1];
  assert.equal(pkg.license, crateLicense);
  for (const f of ['LICENSE-MIT', 'LICENSE-APACHE']) {
    assert.ok(pkg.files.includes(f), `${f} is in files`);
    if (process.env.A0BACKUP_EXPECT_INSTALLED) {
      assert.deepEqual(fs.readFileSync(path.join(packageDir, f)), fs.readFileSync(path.join(root, f)), f);
    }
  }
});

test('the exports map: the two entry points, and no way into the internals', async () => {
  assert.equal(pkg.name, 'a0backup');
  assert.equal((await import('a0backup')).restore, a0b.restore);
  assert.equal(typeof (await import('a0backup/promises')).restore, 'function');
  for (const internal of ['internal.mjs', 'library.mjs', 'platform.mjs', 'prebuilds/x']) {
    await assert.rejects(import(`a0backup/${internal}`), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
  }
  // The package and the library it loads are the same version.
  assert.equal(pkg.version, a0b.version());
});

test('the system library is looked for by the soname make capi gives it', () => {
  const soname = `liba0backup.so.0.${pkg.version.split('.')[1]}`;
  const r = spawnSync('readelf', ['-d', fs.realpathSync(a0b.libraryPath())], { encoding: 'utf8' });
  assert.equal(r.status, 0, `readelf: ${r.error ?? r.stderr}`);
  assert.match(r.stdout, new RegExp(`\\(SONAME\\)\\s+Library soname: \\[${soname.replaceAll('.', '\\.')}\\]`));
  // The error of a package with no library names it (below); the loader's own source too.
  assert.match(fs.readFileSync(path.join(packageDir, 'platform.mjs'), 'utf8'), /liba0backup\.so\.\$\{abiVersion/);
});

test('the loader: A0BACKUP_LIB, else the bundled library, else the system\'s; its error lists them', async (t) => {
  // A copy of the package without a library, in a fresh node_modules, with its own koffi.
  const dir = tempDir(t);
  const copy = path.join(dir, 'node_modules', 'a0backup');
  fs.mkdirSync(copy, { recursive: true });
  for (const f of [...pkg.files, 'package.json']) {
    if (f.startsWith('prebuilds') || f.startsWith('LICENSE')) continue;
    if (fs.existsSync(path.join(packageDir, f))) fs.copyFileSync(path.join(packageDir, f), path.join(copy, f));
  }
  let koffiDir = createRequire(path.join(packageDir, 'package.json')).resolve('koffi');
  while (path.basename(koffiDir) !== 'koffi') koffiDir = path.dirname(koffiDir);
  fs.symlinkSync(koffiDir, path.join(dir, 'node_modules', 'koffi'));
  const real = fs.realpathSync(a0b.libraryPath());
  const soname = `liba0backup.so.0.${pkg.version.split('.')[1]}`;
  // A0BACKUP_LIB, LD_LIBRARY_PATH and the bundled copy as each case says; a restore through the
  // promise API (its worker must load the same library) and the sample checked; then which
  // library was loaded and what is mapped.
  // (A file, not -e: the promise API's worker would inherit --input-type.)
  fs.writeFileSync(path.join(dir, 'probe.mjs'), `
    const a0b = await import('a0backup/promises');
    await a0b.restore(${JSON.stringify(sample)}, 'out', 'Passw0rd');
    const report = await a0b.checkBackup(${JSON.stringify(sample)}, 'Passw0rd');
    const fs = await import('node:fs');
    const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => /liba0backup/.test(l));
    console.log(JSON.stringify({ path: a0b.libraryPath(), restorable: report.restorable,
      mapped: [...new Set(maps.map((l) => l.slice(l.indexOf('/'))))] }));`);
  const load = (name, { lib, ldPath } = {}) => {
    const cwd = path.join(dir, name);
    fs.mkdirSync(cwd);
    const env = { ...process.env };
    delete env.A0BACKUP_LIB;
    delete env.LD_LIBRARY_PATH;
    if (lib) env.A0BACKUP_LIB = lib;
    if (ldPath) env.LD_LIBRARY_PATH = ldPath;
    // The package is found from dir's node_modules.
    const r = spawnSync(process.execPath, [path.join(dir, 'probe.mjs')], { cwd, env, encoding: 'utf8' });
    return { ...r, cwd };
  };
  const loaded = (r) => {
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    assert.equal(out.restorable, true);
    checkAgainstManifest(path.join(r.cwd, 'out'));
    assert.deepEqual(out.mapped, [out.path], 'one library mapped, the one libraryPath() names');
    return out.path;
  };
  const failed = (r) => {
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(LIB_ERROR));
    return r.stderr;
  };

  // Nothing anywhere: the error lists the three places, in order, with why each failed.
  const none = failed(load('none'));
  const bundledPath = path.join(copy, bundledRelative());
  assert.match(none, /could not load the a0backup C library\. Tried, in order:/);
  assert.match(none, /\n {2}1\. A0BACKUP_LIB: not set\n/);
  assert.ok(none.includes(`\n  2. the library bundled for ${process.platform}-${process.arch}`), none);
  assert.ok(none.includes(`${bundledPath}: not in this package (it holds no library`), none);
  assert.ok(none.includes(`\n  3. the system's ${soname}, through the dynamic loader (LD_LIBRARY_PATH`), none);
  assert.match(none, /Set A0BACKUP_LIB to the library's path, install the library \(`make install`/);

  // The system's, by its soname (here through LD_LIBRARY_PATH, as after make install to a
  // prefix that is not in the loader's cache): the file, read from /proc/self/maps.
  const sysDir = path.join(dir, 'system-lib');
  fs.mkdirSync(sysDir);
  fs.copyFileSync(real, path.join(sysDir, soname));
  assert.equal(loaded(load('system', { ldPath: sysDir })), path.join(sysDir, soname));

  // The bundled one comes first.
  fs.mkdirSync(path.dirname(bundledPath), { recursive: true });
  fs.copyFileSync(real, bundledPath);
  assert.equal(loaded(load('bundled', { ldPath: sysDir })), bundledPath);

  // A0BACKUP_LIB comes before both, and when it does not load, nothing else is tried.
  const mine = path.join(dir, 'liba0backup-mine.so');
  fs.copyFileSync(real, mine);
  assert.equal(loaded(load('env', { lib: mine, ldPath: sysDir })), mine);
  const missing = failed(load('env-missing', { lib: path.join(dir, 'nope.so'), ldPath: sysDir }));
  assert.ok(missing.includes(`\n  1. A0BACKUP_LIB=${path.join(dir, 'nope.so')}: no such file\n`), missing);
  assert.doesNotMatch(missing, /\n {2}2\./);
  assert.match(missing, /A0BACKUP_LIB, when set, is the only place tried/);
  const notALib = path.join(dir, 'not-a-library.so');
  fs.writeFileSync(notALib, 'not ELF');
  const bad = failed(load('env-bad', { lib: notALib }));
  assert.ok(bad.includes(`1. A0BACKUP_LIB=${notALib}: `) && !bad.includes('no such file'), bad);

  // A bundled library that does not load (another platform's file under this name) is
  // reported, and the system's is tried after it.
  fs.writeFileSync(bundledPath, 'not ELF either');
  assert.equal(loaded(load('bundled-broken', { ldPath: sysDir })), path.join(sysDir, soname));
  const broken = failed(load('bundled-broken-alone'));
  assert.ok(broken.includes(`2. the library bundled for ${process.platform}-${process.arch}`)
    && broken.includes(`${bundledPath}: `) && !broken.includes('not in this package'), broken);
});
