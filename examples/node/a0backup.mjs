// a0backup from Node, through the C library (include/a0backup.h) and koffi: the synchronous API.
//
//   import * as a0b from 'a0backup';
//   a0b.restore('backup-retrieve.tar.gz.enc', 'restored', 'Passw0rd',
//               { expectedMd5: 'eccdb928a3bab23f725f955b68ef66ff' });
//
// These calls BLOCK the event loop while they run (seconds to minutes for a big backup): use them
// in scripts and workers. 'a0backup/promises' (promises.mjs) has the same calls as Promises that
// run in a worker thread, with progress and an AbortSignal; restoreStream here is one of them.
//
// The library is loaded from, in order: $A0BACKUP_LIB (alone when set), the copy bundled in the
// package for this platform (prebuilds/, put there by `npm pack`), else the system's (the
// soname, e.g. liba0backup.so.0.1, through the dynamic loader: `make install`, `cargo cinstall`).
// When none loads, the import fails with an Error whose `code` is
// 'ERR_A0BACKUP_LIBRARY_NOT_FOUND', whose `tried` lists each place and why it did not do, and
// whose message says the same. Every failure of a call throws an A0BackupError whose `.code` is
// the A0B_ERR_* name of the a0b_result (`.errno` its number) and whose message is the
// library's. Passwords are Buffers (their bytes as they are) or strings (their UTF-8 bytes, as
// Node's crypto.createCipher uses them).
//
// Answers without a restore: dumpCollection (a collection's documents, each to a callback as
// it is read) and diffBackups (two backups compared by _id); 'a0backup/promises' also has
// dump(), the documents as an async iterator.
//
// Besides the file functions, the library's streams are here without temporary files:
// decryptBuffer / encryptBuffer (Buffer to Buffer), restoreBuffer (a Buffer into a directory),
// restoreStream (a Readable, e.g. an HTTP response, into a directory), and the synchronous
// decryptStreamSync / encryptStreamSync / restoreStreamSync / md5StreamSync over plain JS read
// and write functions.

import koffi from 'koffi';
import {
  bytesArg, camelKeys, cString, diffItem, filterArg, formatArg, limitArg, normalizeOptions, passwordArg,
  pathArg,
} from './internal.mjs';
import { lib } from './library.mjs';

export { libraryPath } from './library.mjs';

// --- Result codes and formats, as in the header -------------------------------------------------

// The a0b_result numbers by name: an A0BackupError's `code` is the name, `errno` the number.
const ERRNO = {
  A0B_OK: 0, A0B_ERR_IO: 1, A0B_ERR_INVALID_ARGUMENT: 2, A0B_ERR_WRONG_PASSWORD: 3,
  A0B_ERR_CHECKSUM_MISMATCH: 4, A0B_ERR_UNSAFE_ARCHIVE: 5, A0B_ERR_MALFORMED: 6,
  A0B_ERR_CANCELLED: 7, A0B_ERR_PANIC: 8, A0B_ERR_UNSUPPORTED: 9, A0B_ERR_ALREADY_EXISTS: 10,
  A0B_ERR_CHANGED_WHILE_READING: 11,
};
const CODE_NAMES = Object.fromEntries(Object.entries(ERRNO).map(([name, n]) => [n, name]));

export const OK = 'A0B_OK';
export const ERR_IO = 'A0B_ERR_IO';
export const ERR_INVALID_ARGUMENT = 'A0B_ERR_INVALID_ARGUMENT';
export const ERR_WRONG_PASSWORD = 'A0B_ERR_WRONG_PASSWORD';
export const ERR_CHECKSUM_MISMATCH = 'A0B_ERR_CHECKSUM_MISMATCH';
export const ERR_UNSAFE_ARCHIVE = 'A0B_ERR_UNSAFE_ARCHIVE';
export const ERR_MALFORMED = 'A0B_ERR_MALFORMED';
export const ERR_CANCELLED = 'A0B_ERR_CANCELLED';
export const ERR_PANIC = 'A0B_ERR_PANIC';
export const ERR_UNSUPPORTED = 'A0B_ERR_UNSUPPORTED';
export const ERR_ALREADY_EXISTS = 'A0B_ERR_ALREADY_EXISTS';
export const ERR_CHANGED_WHILE_READING = 'A0B_ERR_CHANGED_WHILE_READING';

export const FORMAT_AUTO = 0;
export const FORMAT_NODE = 1;
export const FORMAT_OPENSSL_MD5 = 2;
export const FORMAT_OPENSSL_PBKDF2 = 3;

// --- Declarations ------------------------------------------------------------------------------

koffi.opaque('a0b_cipher');
koffi.opaque('a0b_md5');
const ProgressFn = koffi.proto('int32_t a0b_progress_fn(uint64_t done, uint64_t total, void *user_data)');
const ReadFn = koffi.proto('int32_t a0b_read_cb(void *userdata, uint8_t *buf, size_t len, size_t *out_n)');
const WriteFn = koffi.proto('int32_t a0b_write_cb(void *userdata, const uint8_t *buf, size_t len, size_t *out_n)');
const JsonFn = koffi.proto('int32_t a0b_json_cb(void *userdata, const char *json, size_t len)');
const Options = koffi.struct('a0b_options', {
  struct_size: 'size_t',
  replace: 'uint8_t',
  format: 'uint32_t',
  pbkdf2_iterations: 'uint32_t',
  expect_gzip: 'uint8_t',
  gzip_level: 'uint32_t',
  allow_symlinks: 'uint8_t',
  allow_hardlinks: 'uint8_t',
  max_total_bytes: 'uint64_t',
  progress: koffi.pointer(ProgressFn),
  user_data: 'void *',
});

const c = {
  version: lib.func('const char *a0b_version(void)'),
  lastErrorMessage: lib.func('size_t a0b_last_error_message(_Out_ uint8_t *buf, size_t len)'),
  optionsInit: lib.func('int32_t a0b_options_init(_Out_ a0b_options *options)'),
  deriveKeyIv: lib.func('int32_t a0b_derive_key_iv(const uint8_t *password, size_t password_len, _Out_ uint8_t *key_out, _Out_ uint8_t *iv_out)'),
  cipherNew: lib.func('int32_t a0b_cipher_new(const uint8_t *password, size_t password_len, _Out_ a0b_cipher **out)'),
  cipherNewKeyIv: lib.func('int32_t a0b_cipher_new_key_iv(const uint8_t *key, const uint8_t *iv, _Out_ a0b_cipher **out)'),
  cipherApply: lib.func('int32_t a0b_cipher_apply(a0b_cipher *cipher, uint8_t *buf, size_t len)'),
  cipherSeek: lib.func('int32_t a0b_cipher_seek(a0b_cipher *cipher, uint64_t byte_offset)'),
  cipherFree: lib.func('void a0b_cipher_free(a0b_cipher *cipher)'),
  md5New: lib.func('int32_t a0b_md5_new(_Out_ a0b_md5 **out)'),
  md5Update: lib.func('int32_t a0b_md5_update(a0b_md5 *md5, const uint8_t *data, size_t len)'),
  md5Finish: lib.func('int32_t a0b_md5_finish(a0b_md5 *md5, _Out_ uint8_t *hex_out)'),
  md5Free: lib.func('void a0b_md5_free(a0b_md5 *md5)'),
  md5File: lib.func('int32_t a0b_md5_file(const char *path, _Out_ uint8_t *hex_out)'),
  decryptFile: lib.func('int32_t a0b_decrypt_file(const char *input, const char *output, const uint8_t *password, size_t password_len, const char *expected_md5, const a0b_options *options)'),
  encryptFile: lib.func('int32_t a0b_encrypt_file(const char *input, const char *output, const uint8_t *password, size_t password_len, const a0b_options *options)'),
  restore: lib.func('int32_t a0b_restore(const char *input, const char *dest_dir, const uint8_t *password, size_t password_len, const char *expected_md5, const a0b_options *options)'),
  pack: lib.func('int32_t a0b_pack(const char *src_dir, const char *output, const uint8_t *password, size_t password_len, _Out_ uint8_t *md5_hex_out, const a0b_options *options)'),
  decryptStream: lib.func('int32_t a0b_decrypt_stream(a0b_read_cb *read_cb, void *read_userdata, a0b_write_cb *write_cb, void *write_userdata, const uint8_t *password, size_t password_len, const char *expected_md5, const a0b_options *options)'),
  encryptStream: lib.func('int32_t a0b_encrypt_stream(a0b_read_cb *read_cb, void *read_userdata, a0b_write_cb *write_cb, void *write_userdata, const uint8_t *password, size_t password_len, _Out_ uint8_t *md5_hex_out, const a0b_options *options)'),
  restoreStream: lib.func('int32_t a0b_restore_stream(a0b_read_cb *read_cb, void *read_userdata, const char *dest_dir, const uint8_t *password, size_t password_len, const char *expected_md5, const a0b_options *options)'),
  md5Stream: lib.func('int32_t a0b_md5_stream(a0b_read_cb *read_cb, void *read_userdata, _Out_ uint8_t *hex_out)'),
  checkEach: lib.func('int32_t a0b_check_each(const char *input, const uint8_t *password, size_t password_len, const char *expected_md5, const a0b_options *options, a0b_json_cb *each, void *userdata, _Out_ void **summary_json_out)'),
  dump: lib.func('int32_t a0b_dump(const char *input, const uint8_t *password, size_t password_len, const char *expected_md5, const a0b_options *options, const char *collection, const char *filter_json, uint32_t json_mode, uint64_t limit, a0b_json_cb *each, void *userdata, _Out_ void **summary_json_out)'),
  diff: lib.func('int32_t a0b_diff(const char *old_input, const char *new_input, const uint8_t *password, size_t password_len, const char *old_md5, const char *new_md5, const a0b_options *options, const char *collection, uint8_t ids, a0b_json_cb *each, void *userdata, _Out_ void **summary_json_out)'),
  stringFree: lib.func('void a0b_string_free(void *s)'),
};

// --- Errors ------------------------------------------------------------------------------------

/**
 * A failed call: `code` is the A0B_ERR_* name of the library's result (a string, e.g.
 * 'A0B_ERR_WRONG_PASSWORD', equal to the ERR_* constant), `errno` its number (the a0b_result),
 * and the message is the library's.
 */
export class A0BackupError extends Error {
  /** `code`: the A0B_ERR_* name or the a0b_result number. */
  constructor(code, message) {
    const name = typeof code === 'number' ? (CODE_NAMES[code] ?? `A0B_ERR_${code}`) : String(code);
    super(message || name);
    this.name = 'A0BackupError';
    this.code = name;
    this.errno = typeof code === 'number' ? code : (ERRNO[name] ?? null);
  }

  /** @deprecated The same as `code` (its name when `code` was the number); to be removed. */
  get codeName() {
    return this.code;
  }
}

/** The message of the last failure on this thread (empty if none). */
export function lastErrorMessage() {
  const needed = Number(c.lastErrorMessage(null, 0));
  if (needed <= 1) return '';
  const buf = Buffer.alloc(needed);
  c.lastErrorMessage(buf, buf.length);
  return cString(buf);
}

function check(rc) {
  if (rc !== ERRNO.A0B_OK) throw new A0BackupError(rc, lastErrorMessage());
}

// --- Argument conversion -----------------------------------------------------------------------

function bytes32(buf) {
  if (!Buffer.isBuffer(buf) && !(buf instanceof Uint8Array)) throw new TypeError('a0backup: expected a Buffer');
  return buf;
}

/**
 * JS functions registered as C callbacks for one call, and unregistered after it. A callback
 * that throws makes the library fail the call (it returns non-zero to it), and the exception
 * is rethrown once the library has cleaned up (koffi itself would hand the library a 0, which
 * for a read callback means "the end").
 */
class CallbackScope {
  #registered = [];
  #thrown = null;

  #register(proto, body) {
    const ptr = koffi.register((...args) => {
      if (this.#thrown !== null) return 1;
      try {
        return body(...args);
      } catch (e) {
        this.#thrown = e;
        return 1;
      }
    }, koffi.pointer(proto));
    this.#registered.push(ptr);
    return ptr;
  }

  /** `onProgress(done, total)`: returning false cancels (A0B_ERR_CANCELLED). */
  progress(onProgress) {
    return this.#register(ProgressFn, (done, total) => (onProgress(Number(done), Number(total)) === false ? 1 : 0));
  }

  /** `read(view)` stores up to view.length bytes in the Uint8Array and returns how many (0: the end). */
  reader(read) {
    return this.#register(ReadFn, (_userdata, buf, len, outN) => {
      const n = read(new Uint8Array(koffi.view(buf, Number(len))));
      if (!Number.isInteger(n) || n < 0 || n > Number(len)) {
        throw new RangeError(`a0backup: a read function returned ${n} for a buffer of ${len}`);
      }
      koffi.encode(outN, 'size_t', n);
      return 0;
    });
  }

  /** `write(chunk)` gets a Uint8Array valid during the call only (copy it to keep it). */
  writer(write) {
    return this.#register(WriteFn, (_userdata, buf, len, outN) => {
      write(new Uint8Array(koffi.view(buf, Number(len))));
      koffi.encode(outN, 'size_t', len);
      return 0;
    });
  }

  /** `each(value)` gets each JSON text parsed, keys in camelCase; returning false cancels. */
  json(each) {
    return this.#register(JsonFn, (_userdata, json) => (each(camelKeys(JSON.parse(json))) === false ? 1 : 0));
  }

  /** `each(text)` gets each JSON text as the library wrote it; returning false cancels. */
  text(each) {
    return this.#register(JsonFn, (_userdata, json) => (each(json) === false ? 1 : 0));
  }

  /** Unregisters everything; rethrows what a callback threw, else checks `rc`. */
  finish(rc) {
    this.close();
    if (this.#thrown !== null) throw this.#thrown;
    check(rc);
  }

  close() {
    for (const ptr of this.#registered.splice(0)) koffi.unregister(ptr);
  }
}

/**
 * Runs `call(options, scope)` with an a0b_options built from `opts` and a CallbackScope for
 * the call. `opts.onProgress(done, total)` gets numbers (total 0 when unknown); returning
 * `false` cancels (A0B_ERR_CANCELLED), and so does throwing, in which case the thrown error is
 * rethrown once the library has cleaned up.
 */
function withOptions(options, call) {
  const opts = normalizeOptions(options);
  const o = {};
  check(c.optionsInit(o));
  if (opts.replace !== undefined) o.replace = opts.replace ? 1 : 0;
  if (opts.format !== undefined) o.format = formatArg(opts.format);
  if (opts.pbkdf2Iterations !== undefined) o.pbkdf2_iterations = opts.pbkdf2Iterations;
  if (opts.expectGzip !== undefined) o.expect_gzip = opts.expectGzip ? 1 : 0;
  if (opts.level !== undefined) o.gzip_level = opts.level;
  if (opts.allowSymlinks !== undefined) o.allow_symlinks = opts.allowSymlinks ? 1 : 0;
  if (opts.allowHardlinks !== undefined) o.allow_hardlinks = opts.allowHardlinks ? 1 : 0;
  if (opts.maxTotalBytes !== undefined) o.max_total_bytes = opts.maxTotalBytes;
  const scope = new CallbackScope();
  try {
    if (opts.onProgress) o.progress = scope.progress(opts.onProgress);
    scope.finish(call(o, scope));
  } finally {
    scope.close();
  }
}

/** A read function over the bytes of `data`. */
function bufferReader(data) {
  const bytes = bytesArg(data);
  let pos = 0;
  return (view) => {
    const n = Math.min(view.length, bytes.length - pos);
    view.set(bytes.subarray(pos, pos + n));
    pos += n;
    return n;
  };
}

/** A write function that keeps copies of what it gets, and the Buffer of all of it. */
function collector() {
  const chunks = [];
  return { write: (chunk) => { chunks.push(Buffer.from(chunk)); }, result: () => Buffer.concat(chunks) };
}

// --- The friendly API ----------------------------------------------------------------------------

/** The library version, e.g. "0.1.0". */
export function version() {
  return c.version();
}

/** Node createCipher's key (32 bytes) and IV (16 bytes) for a password: EVP_BytesToKey(MD5). */
export function deriveKeyIv(password) {
  const pw = passwordArg(password);
  if (pw.ptr === null) throw new TypeError('a0backup: a password is required');
  const key = Buffer.alloc(32);
  const iv = Buffer.alloc(16);
  check(c.deriveKeyIv(pw.ptr, pw.len, key, iv));
  return { key, iv };
}

/**
 * Decrypts `input` into `output`, published only when complete (and, with `expectedMd5`, only
 * when the md5 of `input` matches). Options: expectedMd5, replace, expectGzip,
 * format ('auto' | 'node' | 'openssl-md5' | 'openssl-pbkdf2'), pbkdf2Iterations, onProgress.
 */
export function decryptFile(input, output, password, opts = {}) {
  const pw = passwordArg(password);
  withOptions(opts, (o) => c.decryptFile(pathArg(input), pathArg(output), pw.ptr, pw.len,
    opts.expectedMd5 ?? null, o));
}

/** Encrypts `input` into `output` (format: default 'node', the appliance's). */
export function encryptFile(input, output, password, opts = {}) {
  const pw = passwordArg(password);
  withOptions(opts, (o) => c.encryptFile(pathArg(input), pathArg(output), pw.ptr, pw.len, o));
}

/**
 * Restores an encrypted backup (.tar.gz.enc) into `destDir`, which appears (or is replaced, with
 * `replace`) only when everything checked out. Options: expectedMd5, replace, onProgress,
 * format, allowSymlinks, allowHardlinks, maxTotalBytes.
 */
export function restore(input, destDir, password, opts = {}) {
  const pw = passwordArg(password);
  withOptions(opts, (o) => c.restore(pathArg(input), pathArg(destDir), pw.ptr, pw.len,
    opts.expectedMd5 ?? null, o));
}

/**
 * Packs `srcDir` into `output` as a .tar.gz, encrypted unless `password` is null, and returns
 * the md5 (hex) of what it wrote. Options: replace, level (0-9), format, onProgress.
 */
export function pack(srcDir, output, password, opts = {}) {
  const pw = passwordArg(password);
  const hex = Buffer.alloc(33);
  withOptions(opts, (o) => c.pack(pathArg(srcDir), pathArg(output), pw.ptr, pw.len, hex, o));
  return cString(hex);
}

/** How many rows checkBackup keeps in `collections` when no `onCollection` is given. */
export const DEFAULT_MAX_COLLECTIONS = 1000;

function maxCollectionsArg(max) {
  if (max === undefined || max === null) return DEFAULT_MAX_COLLECTIONS;
  if (max === Infinity || (Number.isSafeInteger(max) && max >= 0)) return max;
  throw new RangeError(`a0backup: maxCollections must be a whole number >= 0 or Infinity, not ${max}`);
}

/**
 * Checks a backup without writing anything: its md5 (expectedMd5), decryption (with a password;
 * a plain .tar.gz with null), gzip, the archive under restore's safety policy, and every
 * collection of the mongodump inside. Returns the report: `restorable` and `refusal` say whether
 * restore would accept it, `collectionsOk` and `totals` how the collections read, over all of
 * them (the library's JSON report with its keys in camelCase: `other_files` is `otherFiles`).
 * A wrong md5 or password throws. Options: expectedMd5, format, allowSymlinks, allowHardlinks,
 * maxTotalBytes, and:
 * - onCollection(row): called with each collection's row (a CollectionReport), in archive
 *   directory and name order, as the library reads them back; the report's `collections` is
 *   then empty. Returning false cancels (A0B_ERR_CANCELLED), and so does throwing (the thrown
 *   error is rethrown once the library has cleaned up).
 * - maxCollections (without onCollection): how many rows `collections` keeps, the first ones
 *   (default DEFAULT_MAX_COLLECTIONS, 1000; Infinity keeps all); `collectionsOmitted` counts
 *   the rows left out. The rows are streamed from the library either way, so memory stays
 *   bounded (about 1 KiB a kept row) whatever the backup holds.
 */
export function checkBackup(input, password, opts = {}) {
  const pw = passwordArg(password);
  const { onCollection } = opts;
  if (onCollection !== undefined && onCollection !== null && typeof onCollection !== 'function') {
    throw new TypeError('a0backup: onCollection must be a function');
  }
  const max = maxCollectionsArg(opts.maxCollections);
  const kept = [];
  let omitted = 0;
  const keep = (row) => {
    if (kept.length < max) kept.push(row);
    else omitted += 1;
  };
  const out = [null];
  withOptions(opts, (o, scope) => c.checkEach(pathArg(input), pw.ptr, pw.len, opts.expectedMd5 ?? null, o,
    scope.json(onCollection ?? keep), null, out));
  try {
    const report = camelKeys(JSON.parse(koffi.decode(out[0], 'char', -1)));
    report.collections = kept;
    report.collectionsOmitted = omitted;
    return report;
  } finally {
    c.stringFree(out[0]);
  }
}

/** The library's JSON string at `ptr` (a summary), parsed; the string is freed. */
function takeJson(ptr) {
  try {
    return JSON.parse(koffi.decode(ptr, 'char', -1));
  } finally {
    c.stringFree(ptr);
  }
}

function callbackArg(name, f, required) {
  if (f === undefined || f === null) {
    if (required) throw new TypeError(`a0backup: ${name} is required`);
    return null;
  }
  if (typeof f !== 'function') throw new TypeError(`a0backup: ${name} must be a function`);
  return f;
}

function collectionArg(collection, required) {
  if ((collection === undefined || collection === null) && !required) return null;
  if (typeof collection !== 'string') {
    throw new TypeError(`a0backup: the collection is a string, 'DATABASE.COLLECTION', not ${collection}`);
  }
  return collection;
}

/**
 * Hands `onDocument` the documents of the collection `collection` ('DATABASE.COLLECTION') of a
 * backup, in the order of its .bson, while the backup is read (a0b_dump): memory stays bounded
 * whatever the collection holds. Returns the summary: `documents` handed over, `scanned`,
 * `bytes` of the .bson read, `metadata` (the collection's .metadata.json text, or null), `md5`
 * (when expected), `readToEnd`. The backup is read as checkBackup reads it, and only until the
 * collection's files are behind. Options:
 * - onDocument(doc) (required): each document as JSON.parse makes it of its Extended JSON
 *   (canonical by default: `{ _id: { $oid: '...' }, n: { $numberInt: '1' } }`), or, with
 *   `text: true`, that text itself. Returning false cancels (A0B_ERR_CANCELLED), and so does
 *   throwing (the thrown error is rethrown once the library has cleaned up).
 * - filter: a MongoDB query (an object, or its Extended JSON text); the library refuses, with
 *   A0B_ERR_INVALID_ARGUMENT, anything outside the subset it implements.
 * - relaxed: relaxed Extended JSON (plain numbers and ISO dates) rather than canonical.
 * - limit: at most this many documents (a whole number >= 1; undefined for all).
 * - text: hand over the text rather than the parsed object.
 * - expectedMd5, format, allowSymlinks, allowHardlinks, maxTotalBytes, onProgress.
 * A collection the backup does not hold is A0B_ERR_INVALID_ARGUMENT; a damaged document
 * A0B_ERR_MALFORMED (its index and offset in the message).
 */
export function dumpCollection(input, password, collection, opts = {}) {
  const pw = passwordArg(password);
  const onDocument = callbackArg('onDocument', opts.onDocument, true);
  const ns = collectionArg(collection, true);
  const filter = filterArg(opts.filter);
  const limit = limitArg(opts.limit);
  const mode = opts.relaxed ? 1 : 0;
  const each = opts.text ? onDocument : (text) => onDocument(JSON.parse(text));
  const out = [null];
  withOptions(opts, (o, scope) => c.dump(pathArg(input), pw.ptr, pw.len, opts.expectedMd5 ?? null, o, ns,
    filter, mode, limit, scope.text(each), null, out));
  return camelKeys(takeJson(out[0]));
}

/**
 * Compares two backups (the same password; null for plain .tar.gz files), read at once and as
 * checkBackup reads them, by `_id` (a0b_diff), in bounded memory. Returns the totals:
 * `collections`, `changedCollections`, `added`, `removed`, `changed`, `unchanged`, `oldMd5`,
 * `newMd5`. Options:
 * - onItem(item): each collection's row (`collection`, `presence`: 'both', 'old_only' or
 *   'new_only', `added`, `removed`, `changed`, `unchanged`, `indexes` and `options` with their
 *   `added`, `removed`, `changed` names), and with `ids`, before its row, each document added,
 *   removed or changed (`collection`, `change`, `_id` as canonical Extended JSON, null for a
 *   document without one). Keys in camelCase, but `_id` and its value as they are. Returning
 *   false cancels (A0B_ERR_CANCELLED), and so does throwing.
 * - collection: compare this 'DATABASE.COLLECTION' only (A0B_ERR_INVALID_ARGUMENT when
 *   neither backup holds it).
 * - ids: hand onItem the `_id` of each document added, removed or changed.
 * - oldMd5, newMd5: the md5s the files must have.
 * - format, allowSymlinks, allowHardlinks, maxTotalBytes.
 */
export function diffBackups(oldInput, newInput, password, opts = {}) {
  const pw = passwordArg(password);
  const onItem = callbackArg('onItem', opts.onItem, false);
  const ns = collectionArg(opts.collection, false);
  const each = onItem ? (text) => onItem(diffItem(JSON.parse(text))) : () => undefined;
  const out = [null];
  withOptions(opts, (o, scope) => c.diff(pathArg(oldInput), pathArg(newInput), pw.ptr, pw.len,
    opts.oldMd5 ?? null, opts.newMd5 ?? null, o, ns, opts.ids ? 1 : 0, scope.text(each), null, out));
  return diffItem(takeJson(out[0]));
}

/** The md5 of a file, as 32 lowercase hex digits. */
export function md5File(file) {
  const hex = Buffer.alloc(33);
  check(c.md5File(pathArg(file), hex));
  return cString(hex);
}

// --- Streams ----------------------------------------------------------------------------------
//
// A read function `read(view)` stores up to view.length bytes in the Uint8Array `view` and
// returns how many it stored (0 at the end of the input). A write function `write(chunk)` gets
// each piece of output as a Uint8Array that is valid during the call only. Both run on this
// thread, during the call; an exception from either fails the call and is rethrown.

/**
 * Decrypts what `read` gives into `write`, as it comes. Options: expectedMd5 (checked at the
 * end, after the plaintext was written: A0B_ERR_CHECKSUM_MISMATCH then says to discard it),
 * expectGzip (a wrong password is caught before anything is written), format,
 * pbkdf2Iterations, onProgress (input bytes, total 0).
 */
export function decryptStreamSync(read, write, password, opts = {}) {
  const pw = passwordArg(password);
  withOptions(opts, (o, scope) => c.decryptStream(scope.reader(read), null, scope.writer(write), null,
    pw.ptr, pw.len, opts.expectedMd5 ?? null, o));
}

/** Encrypts what `read` gives into `write` (format: default 'node'); returns the output's md5. */
export function encryptStreamSync(read, write, password, opts = {}) {
  const pw = passwordArg(password);
  const hex = Buffer.alloc(33);
  withOptions(opts, (o, scope) => c.encryptStream(scope.reader(read), null, scope.writer(write), null,
    pw.ptr, pw.len, hex, o));
  return cString(hex);
}

/**
 * Restores the .tar.gz.enc that `read` gives into `destDir`, with restore()'s guarantees:
 * `destDir` appears only when everything checked out (a failed read included). Options as for
 * restore().
 */
export function restoreStreamSync(read, destDir, password, opts = {}) {
  const pw = passwordArg(password);
  withOptions(opts, (o, scope) => c.restoreStream(scope.reader(read), null, pathArg(destDir), pw.ptr,
    pw.len, opts.expectedMd5 ?? null, o));
}

/** The md5 (hex) of everything `read` gives. */
export function md5StreamSync(read) {
  const hex = Buffer.alloc(33);
  const scope = new CallbackScope();
  try {
    scope.finish(c.md5Stream(scope.reader(read), null, hex));
  } finally {
    scope.close();
  }
  return cString(hex);
}

/** The plaintext of an encrypted Buffer (options as for decryptStreamSync). */
export function decryptBuffer(data, password, opts = {}) {
  const out = collector();
  decryptStreamSync(bufferReader(data), out.write, password, opts);
  return out.result();
}

/** A Buffer encrypted (format: default 'node', the appliance's; options as for encryptFile). */
export function encryptBuffer(data, password, opts = {}) {
  const out = collector();
  encryptStreamSync(bufferReader(data), out.write, password, opts);
  return out.result();
}

/** Restores an encrypted backup held in a Buffer into `destDir` (options as for restore()). */
export function restoreBuffer(data, destDir, password, opts = {}) {
  restoreStreamSync(bufferReader(data), destDir, password, opts);
}

/**
 * Restores the encrypted backup that a Readable (or any async iterable of Buffers) gives into
 * `destDir`; returns a Promise. The same function as in 'a0backup/promises', kept here for
 * callers of the synchronous module: it does not block, the library runs in a worker thread.
 */
export async function restoreStream(readable, destDir, password, opts = {}) {
  const promises = await import('./promises.mjs');
  return promises.restoreStream(readable, destDir, password, opts);
}

/** An incremental MD5: update(buffer), digest() -> hex (and starts over), free(). */
export class Md5 {
  constructor() {
    const out = [null];
    check(c.md5New(out));
    this.handle = out[0];
  }

  update(data) {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
    check(c.md5Update(this.#live(), buf.length > 0 ? buf : null, buf.length));
    return this;
  }

  digest() {
    const hex = Buffer.alloc(33);
    check(c.md5Finish(this.#live(), hex));
    return cString(hex);
  }

  free() {
    if (this.handle !== null) c.md5Free(this.handle);
    this.handle = null;
  }

  #live() {
    if (this.handle === null) throw new A0BackupError(ERR_INVALID_ARGUMENT, 'this Md5 was freed');
    return this.handle;
  }
}

/**
 * AES-256-CTR with its position: `new Cipher(password)` keys it as Node's createCipher does,
 * `new Cipher({ key, iv })` from a raw 32-byte key and 16-byte IV. apply(buffer) encrypts or
 * decrypts in place (and returns the buffer); seek(offset) moves the keystream; free() releases
 * the handle (its key is zeroized).
 */
export class Cipher {
  constructor(passwordOrKeyIv) {
    const out = [null];
    if (passwordOrKeyIv && typeof passwordOrKeyIv === 'object' && 'key' in passwordOrKeyIv) {
      const { key, iv } = passwordOrKeyIv;
      if (bytes32(key).length !== 32 || bytes32(iv).length !== 16) {
        throw new A0BackupError(ERR_INVALID_ARGUMENT, 'the key must be 32 bytes and the IV 16');
      }
      check(c.cipherNewKeyIv(key, iv, out));
    } else {
      const pw = passwordArg(passwordOrKeyIv);
      if (pw.ptr === null) throw new TypeError('a0backup: a password (or { key, iv }) is required');
      check(c.cipherNew(pw.ptr, pw.len, out));
    }
    this.handle = out[0];
  }

  apply(buffer) {
    if (!(buffer instanceof Uint8Array)) throw new TypeError('a0backup: apply() takes a Buffer or Uint8Array');
    check(c.cipherApply(this.#live(), buffer.length > 0 ? buffer : null, buffer.length));
    return buffer;
  }

  seek(offset) {
    check(c.cipherSeek(this.#live(), BigInt(offset)));
    return this;
  }

  free() {
    if (this.handle !== null) c.cipherFree(this.handle);
    this.handle = null;
  }

  #live() {
    if (this.handle === null) throw new A0BackupError(ERR_INVALID_ARGUMENT, 'this Cipher was freed');
    return this.handle;
  }
}
