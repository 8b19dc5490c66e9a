// Finds and loads the a0backup C library (koffi). Not part of the package's exports: a0backup.mjs
// re-exports libraryPath(), promises.mjs hands librarySpec() to its workers.
//
// The order: $A0BACKUP_LIB (alone when set: an explicit choice that fails is not papered over by
// another library), the copy bundled in the package for this platform (prebuilds/, put there by
// `npm pack`; platform.mjs), then the system's, by its soname (e.g. liba0backup.so.0.1) through
// the dynamic loader (`make install`, `cargo cinstall`). When none loads, the import fails with
// an Error whose `code` is 'ERR_A0BACKUP_LIBRARY_NOT_FOUND', whose `tried` lists each place and
// why it did not do, and whose message says the same.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import {
  bundledLibraries, bundledLibrary, loaderPlaces, systemLibraryName,
} from './platform.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
// The worker threads of the promise API load what the calling thread loaded (worker.mjs).
const WORKER_LIBRARY = Symbol.for('a0backup.workerLibrary');

/** The message of a failed koffi.load, without koffi's own prefix. */
function loadError(e) {
  return String(e?.message ?? e).replace(/^Failed to load shared library: /, '');
}

/** The file a library loaded by name was mapped from (Linux: /proc/self/maps), or null. */
function mappedPath(name) {
  const stem = name.split('.')[0];
  try {
    const paths = new Set();
    for (const line of fs.readFileSync('/proc/self/maps', 'utf8').split('\n')) {
      const p = line.slice(line.indexOf('/'));
      if (line.includes('/') && path.basename(p).startsWith(`${stem}.`)) paths.add(p);
    }
    return paths.size === 1 ? [...paths][0] : null;
  } catch {
    return null;
  }
}

/**
 * Loads the library: `{ lib, spec, path }`, spec being what koffi.load was given (a path, or
 * the soname) and path the file it is (null when unknown). Throws the import's error.
 */
function loadLibrary() {
  const forced = globalThis[WORKER_LIBRARY];
  if (forced) return { lib: koffi.load(forced.spec), ...forced };
  const tried = [];
  const notFound = (advice) => {
    const e = new Error(`a0backup: could not load the a0backup C library. Tried, in order:\n${
      tried.map((t, i) => `  ${i + 1}. ${t}`).join('\n')}\n${advice}`);
    e.code = 'ERR_A0BACKUP_LIBRARY_NOT_FOUND';
    e.tried = tried;
    return e;
  };
  const env = process.env.A0BACKUP_LIB;
  if (env) {
    const p = path.resolve(env);
    try {
      return { lib: koffi.load(p), spec: p, path: p };
    } catch (e) {
      tried.push(`A0BACKUP_LIB=${env}: ${fs.existsSync(p) ? loadError(e) : 'no such file'}`);
      throw notFound('A0BACKUP_LIB, when set, is the only place tried: correct or unset it.');
    }
  }
  tried.push('A0BACKUP_LIB: not set');
  const bundled = bundledLibrary(here);
  if (fs.existsSync(bundled.path)) {
    try {
      return { lib: koffi.load(bundled.path), spec: bundled.path, path: bundled.path };
    } catch (e) {
      tried.push(`the library bundled for ${bundled.label}, ${bundled.path}: ${loadError(e)}`);
    }
  } else {
    const have = bundledLibraries(here);
    tried.push(`the library bundled for ${bundled.label}, ${bundled.path}: not in this package (${
      have.length ? `it holds ${have.join(', ')}` : 'it holds no library: it was packed without its prepack step'})`);
  }
  const soname = systemLibraryName();
  try {
    return { lib: koffi.load(soname), spec: soname, path: mappedPath(soname) };
  } catch (e) {
    tried.push(`the system's ${soname}, through the dynamic loader (${loaderPlaces()}): ${loadError(e)}`);
  }
  throw notFound('Set A0BACKUP_LIB to the library\'s path, install the library (`make install` or '
    + '`cargo cinstall` in the a0backup repository), or install an a0backup package packed on this platform.');
}

const loaded = loadLibrary();
/** The loaded library (koffi). */
export const lib = loaded.lib;

/**
 * The library this module loaded: its path, or, when the dynamic loader found it by its soname
 * and the file cannot be told (outside Linux), the soname.
 */
export function libraryPath() {
  return loaded.path ?? loaded.spec;
}

/** What worker.mjs needs to load the same library. */
export function librarySpec() {
  return { spec: loaded.spec, path: loaded.path };
}
