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

export interface DecryptOptions extends CipherOptions {
  /** The md5 (hex) the encrypted input must have, as `a0cli backup-status` reports it. */
  expectedMd5?: string | null;
  /** Replace an existing output. */
  overwrite?: boolean;
  /** Require the plaintext to begin like gzip, so a wrong password fails before any output. */
  expectGzip?: boolean;
}

export interface EncryptOptions extends CipherOptions {
  overwrite?: boolean;
}

export interface RestoreOptions extends CipherOptions {
  expectedMd5?: string | null;
  /** Replace an existing non-empty destination. */
  overwrite?: boolean;
  /** Extract symlinks that stay inside the destination. */
  allowSymlinks?: boolean;
  /** Extract hardlinks to files extracted earlier. */
  allowHardlinks?: boolean;
  /** Most bytes of file data to extract (0: the default, 1 TiB). */
  maxTotalBytes?: number | bigint;
}

export interface PackOptions extends CipherOptions {
  overwrite?: boolean;
  /** gzip level, 0-9 (default 5: smaller than `gzip -6` on mongodump data). */
  level?: number;
}

export interface CheckOptions extends Omit<RestoreOptions, 'overwrite' | 'onProgress'> {}

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
  bson_path: string | null;
  metadata_path: string | null;
  bson: boolean;
  metadata: boolean;
  gzip: boolean;
  documents: number;
  bytes: number;
  bson_file_bytes: number;
  indexes: number;
  error: CollectionError | null;
  orphan: string | null;
}

/** What checkBackup found (the library's JSON, its snake_case keys as they are). */
export interface CheckReport {
  /** Whether restore would accept the backup. */
  restorable: boolean;
  /** Why restore would refuse it. */
  refusal: string | null;
  /** Every collection has its files and reads cleanly. */
  collections_ok: boolean;
  collections: CollectionReport[];
  totals: {
    collections: number;
    documents: number;
    bytes: number;
    indexes: number;
    damaged: number;
    orphans: number;
  };
  entries: number;
  other_files: number;
  /** The md5 of the input as read, when one was expected. */
  md5: string | null;
  warnings: string[];
}

export declare const OK: 0;
export declare const ERR_IO: 1;
export declare const ERR_INVALID_ARGUMENT: 2;
export declare const ERR_WRONG_PASSWORD: 3;
export declare const ERR_CHECKSUM_MISMATCH: 4;
export declare const ERR_UNSAFE_ARCHIVE: 5;
export declare const ERR_MALFORMED: 6;
export declare const ERR_CANCELLED: 7;
export declare const ERR_PANIC: 8;
export declare const ERR_UNSUPPORTED: 9;
export declare const ERR_ALREADY_EXISTS: 10;
export declare const ERR_CHANGED_WHILE_READING: 11;
export declare const FORMAT_AUTO: 0;
export declare const FORMAT_NODE: 1;
export declare const FORMAT_OPENSSL_MD5: 2;
export declare const FORMAT_OPENSSL_PBKDF2: 3;

/** A failed call: `code` is the library's result (ERR_*), `codeName` its A0B_ERR_* name. */
export declare class A0BackupError extends Error {
  constructor(code: number, message?: string);
  readonly name: 'A0BackupError';
  readonly code: number;
  readonly codeName: string;
}

/** The path of the shared library: $A0BACKUP_LIB, next to the package, or a checkout's build. */
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
/** Checks a backup without writing anything (`password` null: a plain .tar.gz). Blocks. */
export declare function checkBackup(input: PathLike, password: Password | null, opts?: CheckOptions): CheckReport;
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
