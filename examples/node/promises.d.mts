// Types of 'a0backup/promises' (promises.mjs): every call runs in a worker thread and returns
// a Promise; the event loop keeps running.

import type {
  BytesLike, CheckOptions, CheckReport, CollectionReport, DecryptOptions, DiffItem, DiffOptions, DiffSummary,
  DumpOptions, DumpSummary, EncryptOptions, ExtendedJsonDocument, PackOptions, Password, PathLike,
  ProgressHandler, RestoreOptions,
} from './a0backup.mjs';

export type {
  BytesLike, CheckOptions, CheckReport, CollectionError, CollectionHandler, CollectionReport, DecryptOptions,
  DiffCollectionItem, DiffIdItem, DiffItem, DiffNames, DiffOptions, DiffSummary, DocumentHandler,
  DumpCollectionOptions, DumpOptions, DumpSummary, EncryptOptions, ErrorCode, ExtendedJsonDocument, Filter,
  Format, PackOptions, Password, PathLike, ProgressHandler, RestoreOptions,
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

/** dump()'s options in a worker: a signal's abort rejects the next next() with ERR_CANCELLED. */
export interface AsyncDumpOptions extends DumpOptions, AsyncOptions {}

/** A handler on the calling thread: a Promise it returns is awaited before the next call. */
export type AsyncDocumentHandler<T> = (doc: T) => boolean | void | Promise<boolean | void>;

/**
 * The documents of a collection, to onDocument on the calling thread (awaited), read in a
 * worker; resolves to the summary.
 */
export declare function dumpCollection(
  input: PathLike,
  password: Password | null,
  collection: string,
  opts:
    | (AsyncDumpOptions & { text?: false; onDocument: AsyncDocumentHandler<ExtendedJsonDocument> })
    | (AsyncDumpOptions & { text: true; onDocument: AsyncDocumentHandler<string> }),
): Promise<DumpSummary>;

/**
 * What dump() returns: an async iterator over the documents (read in a worker, handed over in
 * bounded batches). Leaving a `for await` loop cancels the dump; `summary` is set once the
 * documents are exhausted.
 */
export interface DumpIterator<T> extends AsyncIterableIterator<T> {
  /** The dump's summary once the documents are exhausted; null before, and after a cancel. */
  readonly summary: DumpSummary | null;
  [Symbol.asyncIterator](): DumpIterator<T>;
}

/** The documents of a collection as an async iterator: `for await (const doc of dump(...))`. */
export declare function dump(
  input: PathLike,
  password: Password | null,
  collection: string,
  opts: AsyncDumpOptions & { text: true },
): DumpIterator<string>;
export declare function dump(
  input: PathLike,
  password: Password | null,
  collection: string,
  opts?: AsyncDumpOptions & { text?: false },
): DumpIterator<ExtendedJsonDocument>;

/**
 * diffBackups' options in a worker: onItem runs on the calling thread and a Promise it returns
 * is awaited; the diff reports no progress, so a signal's abort is seen at the next item.
 */
export interface AsyncDiffOptions extends Omit<DiffOptions, 'onItem'> {
  onItem?: (item: DiffItem) => boolean | void | Promise<boolean | void>;
  signal?: AbortSignal;
}

/** Compares two backups by _id in a worker; resolves to the totals. */
export declare function diffBackups(
  oldInput: PathLike,
  newInput: PathLike,
  password: Password | null,
  opts?: AsyncDiffOptions,
): Promise<DiffSummary>;
