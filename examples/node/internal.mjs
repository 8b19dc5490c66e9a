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
