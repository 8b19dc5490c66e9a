// Types of 'a0backup' (a0backup.mjs): the synchronous API. Every call here but restoreStream
// blocks the event loop while it runs; 'a0backup/promises' has the same calls as Promises.

/** A password: a string (its UTF-8 bytes, as Node's crypto.createCipher uses them) or bytes. */
export type Password = string | Uint8Array;
/** A path: a string, a file: URL, or a Buffer of UTF-8. */
export type PathLike = string | URL | Buffer;
/** Bytes in memory. */
export type BytesLike = Uint8Array | ArrayBuffer | DataView;
/** An encryption format by name, or one of the FORMAT_* numbers. */
export type Format = 'auto' | 'node' | 'openssl-md5' | 'openssl-pbkdf2' | number;
/**
 * A progress report: bytes of the input read so far (of the files packed, for pack) and the
 * input's size (0 when unknown). Returning false cancels the call (ERR_CANCELLED); so does
 * throwing, and the call then throws what was thrown.
 */
export type ProgressHandler = (done: number, total: number) => boolean | void;
/** Stores up to view.length bytes in `view` and returns how many (0 at the end of the input). */
export type ReadFunction = (view: Uint8Array) => number;
/** Takes a piece of output, valid during the call only (copy it to keep it). */
export type WriteFunction = (chunk: Uint8Array) => void;

interface CipherOptions {
  /** Default 'auto' to decrypt (detected from the header), 'node' to encrypt. */
  format?: Format;
  /** PBKDF2 iterations for 'openssl-pbkdf2' (0: openssl's default, 10000). */
  pbkdf2Iterations?: number;
  onProgress?: ProgressHandler;
}

/** Whether a call may replace what is there: `replace` (the Rust library's name). */
interface ReplaceOptions {
  /** Replace an existing output file or non-empty destination (default false). */
  replace?: boolean;
  /**
   * @deprecated The name of `replace` before 0.2, accepted (with a DeprecationWarning) until
   * the next release. Giving both with different values is a TypeError.
   */
  overwrite?: boolean;
}

export interface DecryptOptions extends CipherOptions, ReplaceOptions {
  /** The md5 (hex) the encrypted input must have, as `a0cli backup-status` reports it. */
  expectedMd5?: string | null;
  /** Require the plaintext to begin like gzip, so a wrong password fails before any output. */
  expectGzip?: boolean;
}

export interface EncryptOptions extends CipherOptions, ReplaceOptions {}

export interface RestoreOptions extends CipherOptions, ReplaceOptions {
  expectedMd5?: string | null;
  /** Extract symlinks that stay inside the destination. */
  allowSymlinks?: boolean;
  /** Extract hardlinks to files extracted earlier. */
  allowHardlinks?: boolean;
  /** Most bytes of file data to extract (0: the default, 1 TiB). */
  maxTotalBytes?: number | bigint;
}

export interface PackOptions extends CipherOptions, ReplaceOptions {
  /** gzip level, 0-9 (default 5: smaller than `gzip -6` on mongodump data). */
  level?: number;
}

/**
 * Called with each collection's row, in archive directory and name order, as the library
 * reads them back. Returning false cancels the check (ERR_CANCELLED); so does throwing, and
 * the call then throws what was thrown.
 */
export type CollectionHandler = (row: CollectionReport) => boolean | void;

export interface CheckOptions extends Omit<RestoreOptions, 'replace' | 'overwrite' | 'onProgress'> {
  /**
   * Each collection's row, as it comes: the report's `collections` is then empty. Memory
   * stays bounded whatever the backup holds.
   */
  onCollection?: CollectionHandler;
  /**
   * Without onCollection: how many rows the report's `collections` keeps, the first ones
   * (default DEFAULT_MAX_COLLECTIONS, 1000; Infinity keeps all, in memory); the report's
   * `collectionsOmitted` counts the others.
   */
  maxCollections?: number;
}

/** Why a collection does not read cleanly. */
export interface CollectionError {
  path: string;
  document: number | null;
  offset: number | null;
  at: number | null;
  line: number | null;
  column: number | null;
  reason: string;
}

/** How one collection of the mongodump reads. */
export interface CollectionReport {
  database: string;
  collection: string;
  kind: string;
  bsonPath: string | null;
  metadataPath: string | null;
  bson: boolean;
  metadata: boolean;
  gzip: boolean;
  documents: number;
  bytes: number;
  bsonFileBytes: number;
  metadataFileBytes: number;
  indexes: number;
  error: CollectionError | null;
  orphan: string | null;
}

/** What checkBackup found: the library's JSON report, its keys in camelCase. */
export interface CheckReport {
  /** Whether restore would accept the backup. */
  restorable: boolean;
  /** Why restore would refuse it. */
  refusal: string | null;
  /** Every collection has its files and reads cleanly (over all of them). */
  collectionsOk: boolean;
  /**
   * The first `maxCollections` rows (default 1000); empty when onCollection was given (every
   * row went to it).
   */
  collections: CollectionReport[];
  /** Rows neither in `collections` nor given to onCollection (past `maxCollections`). */
  collectionsOmitted: number;
  totals: {
    collections: number;
    documents: number;
    bytes: number;
    indexes: number;
    damaged: number;
    orphans: number;
  };
  entries: number;
  otherFiles: number;
  /** The md5 of the input as read, when one was expected. */
  md5: string | null;
  warnings: string[];
}

/** A document as JSON.parse makes it of its Extended JSON (`{ _id: { $oid: '...' }, ... }`). */
export type ExtendedJsonDocument = { [field: string]: unknown };
/**
 * A MongoDB query: an object (a RegExp value is a regular expression, a Date a `$date`, a
 * bigint a `$numberLong`) or its Extended JSON text.
 */
export type Filter = string | { [field: string]: unknown };
/** Called with each document; returning false cancels (ERR_CANCELLED), and so does throwing. */
export type DocumentHandler<T> = (doc: T) => boolean | void;

/** How a dump reads the backup, and what it selects. */
export interface DumpOptions extends Omit<CheckOptions, 'onCollection' | 'maxCollections'> {
  /** The documents this query selects (default: all); outside the library's subset: ERR_INVALID_ARGUMENT. */
  filter?: Filter | null;
  /** Relaxed Extended JSON (plain numbers, ISO dates) rather than canonical (default). */
  relaxed?: boolean;
  /** At most this many documents (a whole number >= 1; undefined or Infinity: all). */
  limit?: number | bigint;
  /** The documents as the library's JSON text rather than parsed (field order exact). */
  text?: boolean;
  onProgress?: ProgressHandler;
}

/** dumpCollection's options: onDocument gets objects, or text with `text: true`. */
export type DumpCollectionOptions =
  | (DumpOptions & { text?: false; onDocument: DocumentHandler<ExtendedJsonDocument> })
  | (DumpOptions & { text: true; onDocument: DocumentHandler<string> });

/** What a dump read and handed over (the library's summary, its keys in camelCase). */
export interface DumpSummary {
  /** Documents handed over (selected by the filter, up to the limit). */
  documents: number;
  /** Documents read from the collection's .bson. */
  scanned: number;
  /** Bytes of the .bson read (decompressed). */
  bytes: number;
  /** The collection's .metadata.json text (indexes, options), when it was read before the end. */
  metadata: string | null;
  /** The input's md5, when one was expected (and then it matched). */
  md5: string | null;
  /** Whether the archive was read to its end rather than left once the collection was behind. */
  readToEnd: boolean;
}

/** Names of indexes or options added, removed and changed. */
export interface DiffNames {
  added: string[];
  removed: string[];
  changed: string[];
}

/** A collection's row of a diff. */
export interface DiffCollectionItem {
  /** 'DATABASE.COLLECTION'. */
  collection: string;
  presence: 'both' | 'old_only' | 'new_only';
  added: number;
  removed: number;
  changed: number;
  unchanged: number;
  indexes: DiffNames;
  options: DiffNames;
}

/** A document added, removed or changed (with `ids`), before its collection's row. */
export interface DiffIdItem {
  collection: string;
  change: 'added' | 'removed' | 'changed';
  /** The document's _id as canonical Extended JSON, parsed (null for a document without one). */
  _id: unknown;
}

export type DiffItem = DiffCollectionItem | DiffIdItem;

export interface DiffOptions extends Omit<CheckOptions, 'onCollection' | 'maxCollections' | 'expectedMd5'> {
  /** Compare this 'DATABASE.COLLECTION' only. */
  collection?: string | null;
  /** Hand onItem the _id of each document added, removed or changed. */
  ids?: boolean;
  /** The md5 the old file must have. */
  oldMd5?: string | null;
  /** The md5 the new file must have. */
  newMd5?: string | null;
  /** Each item, in order; returning false cancels (ERR_CANCELLED), and so does throwing. */
  onItem?: (item: DiffItem) => boolean | void;
}

/** The totals of a diff (the library's, its keys in camelCase). */
export interface DiffSummary {
  collections: number;
  changedCollections: number;
  added: number;
  removed: number;
  changed: number;
  unchanged: number;
  oldMd5: string | null;
  newMd5: string | null;
}

/**
 * The A0B_ERR_* name of the library's result (include/a0backup.h): an A0BackupError's `code`.
 * Its number (the a0b_result) is the error's `errno`.
 */
export type ErrorCode =
  | 'A0B_ERR_IO' // 1: reading or writing failed (exit 1)
  | 'A0B_ERR_INVALID_ARGUMENT' // 2: a bad argument (exit 2)
  | 'A0B_ERR_WRONG_PASSWORD' // 3: probably a wrong password (exit 3)
  | 'A0B_ERR_CHECKSUM_MISMATCH' // 4: the md5 does not match (exit 4)
  | 'A0B_ERR_UNSAFE_ARCHIVE' // 5: restore refused an entry or a limit was exceeded (exit 5)
  | 'A0B_ERR_MALFORMED' // 6: damaged data (exit 1)
  | 'A0B_ERR_CANCELLED' // 7: cancelled by onProgress or a signal (exit 1)
  | 'A0B_ERR_PANIC' // 8: a bug in the library, caught
  | 'A0B_ERR_UNSUPPORTED' // 9: not supported (exit 2)
  | 'A0B_ERR_ALREADY_EXISTS' // 10: the output exists and `replace` was not given (exit 1)
  | 'A0B_ERR_CHANGED_WHILE_READING'; // 11: pack saw a file change (exit 1)

/** The name of a0b_result 0, success (never an error's code). */
export declare const OK: 'A0B_OK';
export declare const ERR_IO: 'A0B_ERR_IO';
export declare const ERR_INVALID_ARGUMENT: 'A0B_ERR_INVALID_ARGUMENT';
export declare const ERR_WRONG_PASSWORD: 'A0B_ERR_WRONG_PASSWORD';
export declare const ERR_CHECKSUM_MISMATCH: 'A0B_ERR_CHECKSUM_MISMATCH';
export declare const ERR_UNSAFE_ARCHIVE: 'A0B_ERR_UNSAFE_ARCHIVE';
export declare const ERR_MALFORMED: 'A0B_ERR_MALFORMED';
export declare const ERR_CANCELLED: 'A0B_ERR_CANCELLED';
export declare const ERR_PANIC: 'A0B_ERR_PANIC';
export declare const ERR_UNSUPPORTED: 'A0B_ERR_UNSUPPORTED';
export declare const ERR_ALREADY_EXISTS: 'A0B_ERR_ALREADY_EXISTS';
export declare const ERR_CHANGED_WHILE_READING: 'A0B_ERR_CHANGED_WHILE_READING';
export declare const FORMAT_AUTO: 0;
export declare const FORMAT_NODE: 1;
export declare const FORMAT_OPENSSL_MD5: 2;
export declare const FORMAT_OPENSSL_PBKDF2: 3;

/**
 * A failed call: `code` is the A0B_ERR_* name of the library's result (equal to the ERR_*
 * constant), `errno` its number, and the message is the library's.
 */
export declare class A0BackupError extends Error {
  /** `code`: the A0B_ERR_* name or the a0b_result number. */
  constructor(code: ErrorCode | number, message?: string);
  readonly name: 'A0BackupError';
  readonly code: ErrorCode;
  /** The a0b_result number of `code` (A0B_ERR_WRONG_PASSWORD: 3). */
  readonly errno: number;
  /** @deprecated The same as `code`; to be removed in the next release. */
  readonly codeName: ErrorCode;
}

/**
 * The file of the C library this package loaded: $A0BACKUP_LIB when set, else the one bundled
 * in the package for this platform (prebuilds/), else the system's found by its soname (then
 * the soname itself where the file cannot be told, outside Linux). When none loads, importing
 * the package fails with an Error whose `code` is 'ERR_A0BACKUP_LIBRARY_NOT_FOUND' and whose
 * `tried` lists each place and why.
 */
export declare function libraryPath(): string;
/** The message of the last failure on this thread ('' if none). */
export declare function lastErrorMessage(): string;
/** The library's version, e.g. "0.1.0". */
export declare function version(): string;
/** Node createCipher's key (32 bytes) and IV (16 bytes) for a password. */
export declare function deriveKeyIv(password: Password): { key: Buffer; iv: Buffer };

/** Decrypts `input` into `output`, published only when complete and checked. Blocks. */
export declare function decryptFile(input: PathLike, output: PathLike, password: Password, opts?: DecryptOptions): void;
/** Encrypts `input` into `output` (format: default 'node', the appliance's). Blocks. */
export declare function encryptFile(input: PathLike, output: PathLike, password: Password, opts?: EncryptOptions): void;
/** Restores a .tar.gz.enc into `destDir`, which appears only when everything checked out. Blocks. */
export declare function restore(input: PathLike, destDir: PathLike, password: Password, opts?: RestoreOptions): void;
/** Packs `srcDir` into a .tar.gz, encrypted unless `password` is null; returns its md5. Blocks. */
export declare function pack(srcDir: PathLike, output: PathLike, password: Password | null, opts?: PackOptions): string;
/** How many rows checkBackup's report keeps in `collections` by default: 1000. */
export declare const DEFAULT_MAX_COLLECTIONS: 1000;
/**
 * Checks a backup without writing anything (`password` null: a plain .tar.gz). Blocks. The
 * rows stream from the library: to onCollection, else into `collections` up to
 * maxCollections.
 */
export declare function checkBackup(input: PathLike, password: Password | null, opts?: CheckOptions): CheckReport;
/**
 * Hands onDocument each document of the collection 'DATABASE.COLLECTION' of a backup (password
 * null: a plain .tar.gz), as it is read; returns the summary. Blocks. Memory stays bounded.
 */
export declare function dumpCollection(input: PathLike, password: Password | null, collection: string, opts: DumpCollectionOptions): DumpSummary;
/** Compares two backups by _id, in bounded memory; returns the totals. Blocks. */
export declare function diffBackups(oldInput: PathLike, newInput: PathLike, password: Password | null, opts?: DiffOptions): DiffSummary;
/** The md5 of a file, as 32 lowercase hex digits. Blocks. */
export declare function md5File(file: PathLike): string;

/** Decrypts what `read` gives into `write`, as it comes. Blocks. */
export declare function decryptStreamSync(read: ReadFunction, write: WriteFunction, password: Password, opts?: DecryptOptions): void;
/** Encrypts what `read` gives into `write`; returns the output's md5. Blocks. */
export declare function encryptStreamSync(read: ReadFunction, write: WriteFunction, password: Password, opts?: EncryptOptions): string;
/** Restores the .tar.gz.enc that `read` gives into `destDir`. Blocks. */
export declare function restoreStreamSync(read: ReadFunction, destDir: PathLike, password: Password, opts?: RestoreOptions): void;
/** The md5 (hex) of everything `read` gives. Blocks. */
export declare function md5StreamSync(read: ReadFunction): string;
/** The plaintext of encrypted bytes. Blocks. */
export declare function decryptBuffer(data: BytesLike, password: Password, opts?: DecryptOptions): Buffer;
/** Bytes encrypted (format: default 'node'). Blocks. */
export declare function encryptBuffer(data: BytesLike, password: Password, opts?: EncryptOptions): Buffer;
/** Restores an encrypted backup held in memory into `destDir`. Blocks. */
export declare function restoreBuffer(data: BytesLike, destDir: PathLike, password: Password, opts?: RestoreOptions): void;
/**
 * Restores the backup a Readable (or any async iterable of bytes) gives into `destDir`, in a
 * worker thread: does not block. As restoreStream of 'a0backup/promises'.
 */
export declare function restoreStream(
  readable: AsyncIterable<Uint8Array | string>,
  destDir: PathLike,
  password: Password,
  opts?: RestoreOptions & { signal?: AbortSignal },
): Promise<void>;

/** An incremental MD5. */
export declare class Md5 {
  constructor();
  update(data: Uint8Array | string): this;
  /** The digest as hex; starts over. */
  digest(): string;
  free(): void;
}

/** AES-256-CTR with its position, keyed as createCipher does or from a raw key and IV. */
export declare class Cipher {
  constructor(passwordOrKeyIv: Password | { key: Uint8Array; iv: Uint8Array });
  /** Encrypts or decrypts in place; returns the buffer. */
  apply<T extends Uint8Array>(buffer: T): T;
  /** Moves the keystream to a byte offset. */
  seek(offset: number | bigint): this;
  free(): void;
}
