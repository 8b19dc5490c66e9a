// Argument conversion shared by the synchronous API (a0backup.mjs) and the promise API
// (promises.mjs). Not part of the package's exports.

import { fileURLToPath } from 'node:url';

export const FORMATS = { auto: 0, node: 1, 'openssl-md5': 2, 'openssl-pbkdf2': 3 };

/** The string up to the first NUL of a buffer the library filled. */
export function cString(buf) {
  const nul = buf.indexOf(0);
  return buf.toString('utf8', 0, nul < 0 ? buf.length : nul);
}

/** Bytes of a Buffer, a TypedArray or DataView, or an ArrayBuffer, without a copy. */
export function bytesArg(data) {
  if (Buffer.isBuffer(data)) return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  throw new TypeError('a0backup: expected a Buffer, a TypedArray or an ArrayBuffer');
}

// koffi passes an empty Buffer as NULL, and the C API takes NULL for "no password" (an error,
// or "do not encrypt" in a0b_pack), so an empty password is a 1-byte buffer with length 0.
/** `{ ptr, len }` for a password: a string (its UTF-8 bytes), bytes, or null (none). */
export function passwordArg(password) {
  if (password === null || password === undefined) return { ptr: null, len: 0 };
  let bytes;
  if (typeof password === 'string') bytes = Buffer.from(password, 'utf8');
  else if (ArrayBuffer.isView(password)) bytes = bytesArg(password);
  else throw new TypeError('a0backup: the password must be a string or a Buffer');
  return { ptr: bytes.length > 0 ? bytes : Buffer.alloc(1), len: bytes.length };
}

/** A path as the library takes it: a string (a URL and a Buffer are converted), or null. */
export function pathArg(p) {
  if (p === null || p === undefined) return null;
  if (p instanceof URL) return fileURLToPath(p);
  if (Buffer.isBuffer(p)) return p.toString('utf8');
  return String(p);
}

/** A format name ('auto', 'node', 'openssl-md5', 'openssl-pbkdf2') or number as A0B_FORMAT_*. */
export function formatArg(format) {
  if (format === undefined || format === null) return FORMATS.auto;
  if (typeof format === 'number') return format;
  const f = FORMATS[String(format).toLowerCase()];
  if (f === undefined) {
    throw new TypeError(`a0backup: unknown format ${format} (${Object.keys(FORMATS).join(', ')})`);
  }
  return f;
}

let overwriteWarned = false;

/**
 * The options with `replace` resolved: `overwrite`, its name before 0.2, is accepted for one
 * more release, with a DeprecationWarning (once per process); both with different values is a
 * TypeError. Returns a new object without `overwrite`.
 */
export function normalizeOptions(opts) {
  if (opts === undefined || opts === null || !Object.hasOwn(opts, 'overwrite')) return opts;
  const { overwrite, ...rest } = opts;
  if (overwrite === undefined) return rest;
  if (rest.replace !== undefined && Boolean(rest.replace) !== Boolean(overwrite)) {
    throw new TypeError('a0backup: `overwrite` is the deprecated name of `replace`: give `replace` alone');
  }
  if (!overwriteWarned) {
    overwriteWarned = true;
    process.emitWarning('a0backup: the option `overwrite` is deprecated and will be removed in the next '
      + 'release: use `replace`', { type: 'DeprecationWarning', code: 'A0BACKUP_DEP_OVERWRITE' });
  }
  return { ...rest, replace: rest.replace ?? overwrite };
}

/** snake_case to camelCase: `collections_ok` -> `collectionsOk`. */
export function camelCase(key) {
  return key.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
}

/**
 * A copy of the library's JSON with every object key in camelCase (the reports' keys are field
 * names, never data: a collection's name is a value).
 */
export function camelKeys(value) {
  if (Array.isArray(value)) return value.map(camelKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [camelCase(k), camelKeys(v)]));
}

/** A RegExp as the filter's Extended JSON regular expression (flags i, m, s, u; g and d mean nothing here). */
function regexJson(re) {
  const bad = re.flags.replace(/[gimsud]/g, '');
  if (bad) throw new TypeError(`a0backup: a filter's RegExp cannot have the flag(s) ${bad} (MongoDB's are i, m, s, u)`);
  return { $regularExpression: { pattern: re.source, options: [...re.flags].filter((f) => 'imsu'.includes(f)).sort().join('') } };
}

/**
 * A dump's filter as the library takes it: null (every document), Extended JSON text as it
 * is, or a query object, stringified with a RegExp as a regular expression (MongoDB's
 * `{ field: /re/ }`), a Date as `{ $date }` and a BigInt as `{ $numberLong }`.
 */
export function filterArg(filter) {
  if (filter === undefined || filter === null) return null;
  if (typeof filter === 'string') return filter;
  if (typeof filter !== 'object' || Array.isArray(filter)) {
    throw new TypeError('a0backup: the filter must be a query object or its Extended JSON text');
  }
  return JSON.stringify(filter, function replacer(key, value) {
    const original = this[key];
    if (original instanceof RegExp) return regexJson(original);
    if (original instanceof Date) {
      const ms = original.getTime();
      if (Number.isNaN(ms)) throw new TypeError('a0backup: an invalid Date in the filter');
      return { $date: { $numberLong: String(ms) } };
    }
    if (typeof original === 'bigint') return { $numberLong: String(original) };
    return value;
  });
}

/** A dump's limit for the library: 0n for none (undefined, null, Infinity), else a whole number >= 1. */
export function limitArg(limit) {
  if (limit === undefined || limit === null || limit === Infinity) return 0n;
  if (typeof limit === 'bigint' && limit >= 1n) return limit;
  if (Number.isSafeInteger(limit) && limit >= 1) return BigInt(limit);
  throw new RangeError(`a0backup: limit must be a whole number >= 1 (or undefined / Infinity for none), not ${limit}`);
}

/**
 * A diff item (or summary) with its keys in camelCase, but `_id` and its value as the library
 * wrote them: the document's `_id` in canonical Extended JSON is data.
 */
export function diffItem(value) {
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === '_id') out._id = v;
    else out[camelCase(k)] = camelKeys(v);
  }
  return out;
}
