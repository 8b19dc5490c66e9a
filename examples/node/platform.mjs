// Where the C library is looked for: the copy bundled in the package for this platform, and the
// name the system's dynamic loader knows it by. Shared by the loader (a0backup.mjs) and the
// script that bundles the library at pack time (scripts/bundle-library.mjs). Not part of the
// package's exports.
//
// The bundled library follows the layout of Node's prebuilt native modules (prebuildify,
// node-gyp-build): prebuilds/<platform>-<arch>/, with the C library's name tagged by the libc
// on Linux, as prebuildify tags a module (glibc and musl builds differ):
//
//   prebuilds/linux-x64/liba0backup.glibc.so     prebuilds/linux-arm64/liba0backup.musl.so
//   prebuilds/darwin-arm64/liba0backup.dylib     prebuilds/win32-x64/a0backup.dll

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The package's version, which is the version of the library it was made for. */
export const VERSION = JSON.parse(fs.readFileSync(path.join(here, 'package.json'), 'utf8')).version;

/**
 * The ABI version in the library's soname, as the Makefile and cargo-c make it: 0.y for 0.y.z
 * (every 0.y release may break the ABI), the major from 1.0 on.
 */
export function abiVersion(version = VERSION) {
  const [major, minor] = version.split('.');
  return major === '0' ? `0.${minor}` : major;
}

/** 'glibc' or 'musl' for the running Node on Linux (what its process report says); else null. */
export function libc() {
  if (process.platform !== 'linux') return null;
  const report = process.report;
  // The report's header says which glibc the process runs with; a musl process has none.
  // Its network part is not needed (and can be slow to gather): left out where Node allows.
  const exclude = report.excludeNetwork;
  try {
    if (exclude !== undefined) report.excludeNetwork = true;
    return report.getReport().header.glibcVersionRuntime ? 'glibc' : 'musl';
  } finally {
    if (exclude !== undefined) report.excludeNetwork = exclude;
  }
}

/** `<platform>-<arch>`, prebuilds/' directory for this Node (e.g. linux-x64). */
export function platformDir(platform = process.platform, arch = process.arch) {
  return `${platform}-${arch}`;
}

/** The file name of the bundled library for a platform (and libc, on Linux). */
export function bundledFileName(platform = process.platform, libcName = libc()) {
  if (platform === 'darwin') return 'liba0backup.dylib';
  if (platform === 'win32') return 'a0backup.dll';
  if (platform === 'linux') return `liba0backup.${libcName}.so`;
  return 'liba0backup.so';
}

/** The bundled library for this Node: `{ path, label }` (label: e.g. linux-x64 glibc). */
export function bundledLibrary(packageDir = here) {
  const c = libc();
  return {
    path: path.join(packageDir, 'prebuilds', platformDir(), bundledFileName(process.platform, c)),
    label: `${platformDir()}${c ? ` ${c}` : ''}`,
  };
}

/** What prebuilds/ holds, as `linux-x64/liba0backup.glibc.so` names ([] without it). */
export function bundledLibraries(packageDir = here) {
  const dir = path.join(packageDir, 'prebuilds');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).flatMap((p) => {
    const sub = path.join(dir, p);
    return fs.statSync(sub).isDirectory() ? fs.readdirSync(sub).map((f) => `${p}/${f}`) : [];
  }).sort();
}

/**
 * The name the system's dynamic loader finds an installed library by (`make install`,
 * `cargo cinstall`): its soname on ELF platforms, e.g. liba0backup.so.0.1.
 */
export function systemLibraryName(platform = process.platform, version = VERSION) {
  if (platform === 'darwin') return `liba0backup.${abiVersion(version)}.dylib`;
  if (platform === 'win32') return 'a0backup.dll';
  return `liba0backup.so.${abiVersion(version)}`;
}

/** Where the dynamic loader looks, in words, for the error that lists what was tried. */
export function loaderPlaces(platform = process.platform) {
  if (platform === 'darwin') return 'DYLD_LIBRARY_PATH, DYLD_FALLBACK_LIBRARY_PATH, /usr/local/lib, /usr/lib';
  if (platform === 'win32') return 'the application\'s directory, the system directories and PATH';
  return 'LD_LIBRARY_PATH, the ld.so cache (ldconfig), /lib, /usr/lib';
}
