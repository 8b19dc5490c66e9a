// Types of 'a0backup/promises' (promises.mjs): every call runs in a worker thread and returns
// a Promise; the event loop keeps running.

import type {
  BytesLike, CheckOptions, CheckReport, CollectionReport, DecryptOptions, EncryptOptions, PackOptions, Password,
  PathLike, ProgressHandler, RestoreOptions,
} from './a0backup.mjs';

export type {
  BytesLike, CheckOptions, CheckReport, CollectionError, CollectionHandler, CollectionReport, DecryptOptions,
  EncryptOptions, ErrorCode, Format, PackOptions, Password, PathLike, ProgressHandler,
  RestoreOptions,
} from './a0backup.mjs';
export {
  A0BackupError, OK, ERR_IO, ERR_INVALID_ARGUMENT, ERR_WRONG_PASSWORD, ERR_CHECKSUM_MISMATCH,
  ERR_UNSAFE_ARCHIVE, ERR_MALFORMED, ERR_CANCELLED, ERR_PANIC, ERR_UNSUPPORTED,
  ERR_ALREADY_EXISTS, ERR_CHANGED_WHILE_READING, FORMAT_AUTO, FORMAT_NODE, FORMAT_OPENSSL_MD5,
  FORMAT_OPENSSL_PBKDF2, DEFAULT_MAX_COLLECTIONS, libraryPath, version,
} from './a0backup.mjs';

/**
 * What every promise call adds to the synchronous call's options. `onProgress` runs on the
 * calling thread, before the promise settles; `signal` cancels at the library's next report
 * (A0BackupError ERR_CANCELLED, its `cause` the signal's reason).
 */
export interface AsyncOptions {
  onProgress?: ProgressHandler;
  signal?: AbortSignal;
}

export declare function decryptFile(input: PathLike, output: PathLike, password: Password, opts?: DecryptOptions & AsyncOptions): Promise<void>;
export declare function encryptFile(input: PathLike, output: PathLike, password: Password, opts?: EncryptOptions & AsyncOptions): Promise<void>;
export declare function restore(input: PathLike, destDir: PathLike, password: Password, opts?: RestoreOptions & AsyncOptions): Promise<void>;
/** Resolves to the md5 (hex) of what was written. */
export declare function pack(srcDir: PathLike, output: PathLike, password: Password | null, opts?: PackOptions & AsyncOptions): Promise<string>;
/**
 * checkBackup's options in a worker: onCollection runs on the calling thread, and a Promise it
 * returns is awaited before the next row (the worker waits when a few batches are unhandled).
 */
export interface AsyncCheckOptions extends Omit<CheckOptions, 'onCollection'>, AsyncOptions {
  onCollection?: (row: CollectionReport) => boolean | void | Promise<boolean | void>;
}

export declare function checkBackup(input: PathLike, password: Password | null, opts?: AsyncCheckOptions): Promise<CheckReport>;
export declare function md5File(file: PathLike): Promise<string>;
export declare function decryptBuffer(data: BytesLike, password: Password, opts?: DecryptOptions & AsyncOptions): Promise<Buffer>;
export declare function encryptBuffer(data: BytesLike, password: Password, opts?: EncryptOptions & AsyncOptions): Promise<Buffer>;
export declare function restoreBuffer(data: BytesLike, destDir: PathLike, password: Password, opts?: RestoreOptions & AsyncOptions): Promise<void>;
/** Restores the backup a Readable (or any async iterable of bytes) gives, without a temporary file. */
export declare function restoreStream(
  readable: AsyncIterable<Uint8Array | string>,
  destDir: PathLike,
  password: Password,
  opts?: RestoreOptions & AsyncOptions,
): Promise<void>;
