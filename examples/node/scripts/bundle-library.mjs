#!/usr/bin/env node
// Puts the C library, built for this platform, into the package: npm pack's `prepack` step
// (also `npm run bundle-library`, to use the package from the repository without packing it).
//
// Builds it with `make capi` at the repository's root (cargo's output goes to target/, or
// $CARGO_TARGET_DIR) and copies the shared library to prebuilds/<platform>-<arch>/ under the
// name the loader looks for (platform.mjs), and the repository's LICENSE files next to
// package.json. Libraries already in prebuilds/ for other platforms (built elsewhere, for one
// package that serves several) are kept; this platform's is replaced.
//
// Fails, and so stops `npm pack`, when the library cannot be built or its version differs from
// the package's. All output goes to stderr: npm pack's stdout is the tarball's name.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSION, bundledLibrary } from '../platform.mjs';

const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.resolve(pkgDir, '..', '..');

function die(message) {
  process.stderr.write(`bundle-library: ${message}\n`);
  process.exit(1);
}

const cargoToml = path.join(root, 'Cargo.toml');
if (!fs.existsSync(cargoToml)) die(`${cargoToml} is missing: the package is packed from the a0backup repository`);
const toml = fs.readFileSync(cargoToml, 'utf8');
const crate = /^name = "([^"]+)"/m.exec(toml)?.[1];
const crateVersion = /^version = "([^"]+)"/m.exec(toml)?.[1];
if (crate !== 'a0backup') die(`${cargoToml} is not the a0backup crate (${crate})`);
if (crateVersion !== VERSION) {
  die(`package.json's version is ${VERSION} but the library's (Cargo.toml) is ${crateVersion}: keep them equal`);
}
if (process.platform === 'darwin' || process.platform === 'win32') {
  die(`\`make capi\` builds ELF libraries only; on ${process.platform}, put the library at ${bundledLibrary(pkgDir).path} and pack with --ignore-scripts`);
}

process.stderr.write(`bundle-library: make capi (in ${root})\n`);
const make = spawnSync(process.env.MAKE || 'make', ['capi'], { cwd: root, stdio: ['ignore', 2, 2] });
if (make.error) die(`make: ${make.error.message}`);
if (make.status !== 0) die(`make capi failed (exit ${make.status ?? make.signal})`);

// make's TARGET_DIR: $CARGO_TARGET_DIR (relative to the repository, where make runs) or target.
const capi = path.resolve(root, process.env.CARGO_TARGET_DIR || 'target', 'capi');
const built = path.join(capi, `liba0backup.so.${VERSION}`);
if (!fs.existsSync(built)) die(`make capi did not make ${built}`);

const { path: dest, label } = bundledLibrary(pkgDir);
fs.mkdirSync(path.dirname(dest), { recursive: true });
// A copy beside it renamed into place: a process that has the old one loaded keeps it intact.
fs.copyFileSync(built, `${dest}.tmp`);
fs.chmodSync(`${dest}.tmp`, 0o755);
fs.renameSync(`${dest}.tmp`, dest);
process.stderr.write(`bundle-library: ${path.relative(pkgDir, dest)} (${label}, ${fs.statSync(dest).size} bytes)\n`);

for (const license of ['LICENSE-MIT', 'LICENSE-APACHE']) {
  fs.copyFileSync(path.join(root, license), path.join(pkgDir, license));
}
process.stderr.write('bundle-library: LICENSE-MIT, LICENSE-APACHE\n');
