// A TypeScript consumer of the package, type-checked by types.test.mjs with `tsc --noEmit`:
// it must compile, and each @ts-expect-error line must be an error (so the types are not `any`).

import { createReadStream } from 'node:fs';
import * as sync from 'a0backup';
import * as a0b from 'a0backup/promises';
import type { CheckReport, RestoreOptions } from 'a0backup/promises';

export async function restoreWithProgress(input: string, dest: string, md5: string): Promise<number> {
  let read = 0;
  const opts: RestoreOptions & a0b.AsyncOptions = {
    expectedMd5: md5,
    onProgress: (done, total) => { read = done + total; },
    signal: AbortSignal.timeout(60_000),
  };
  await a0b.restore(input, dest, 'Passw0rd', opts);
  await a0b.restoreStream(createReadStream(input), new URL(`file://${dest}-2`), Buffer.from('Passw0rd'));
  return read;
}

export async function checkAndPack(input: string): Promise<string> {
  const report: CheckReport = await a0b.checkBackup(input, null);
  const names: string[] = report.collections.map((c) => `${c.database}.${c.collection}`);
  let damaged = report.collectionsOmitted;
  sync.checkBackup(input, 'pw', { onCollection: (row) => { if (row.error) damaged += 1; } });
  await a0b.checkBackup(input, 'pw', {
    onCollection: async (row) => { await Promise.resolve(row.metadataFileBytes); return damaged < 10; },
    signal: AbortSignal.timeout(60_000),
  });
  sync.checkBackup(input, null, { maxCollections: sync.DEFAULT_MAX_COLLECTIONS * 2 });
  const plain: Buffer = await a0b.decryptBuffer(new Uint8Array(8), 'pw', { format: 'node' });
  try {
    sync.decryptFile(input, 'out.tar.gz', 'pw', { expectGzip: true });
  } catch (e) {
    if (e instanceof sync.A0BackupError && e.code === sync.ERR_WRONG_PASSWORD) return `${e.code} ${e.errno}`;
    if (e instanceof sync.A0BackupError && e.code === 'A0B_ERR_CHECKSUM_MISMATCH') return e.code;
  }
  sync.restore(input, 'dest', 'pw', { replace: true });
  const code: a0b.ErrorCode = 'A0B_ERR_IO';
  void code;
  if (!report.collectionsOk) return `${report.otherFiles} ${report.collections[0]?.bsonFileBytes}`;
  const cipher = new sync.Cipher({ key: Buffer.alloc(32), iv: Buffer.alloc(16) });
  cipher.seek(16n).apply(plain);
  cipher.free();
  return names.join(',') + damaged + (await a0b.pack('dump', 'out.tar.gz.enc', 'pw', { level: 9 }));
}

export async function dumpAndDiff(input: string): Promise<number> {
  let emails = 0;
  const summary: sync.DumpSummary = sync.dumpCollection(input, 'pw', 'auth0.users', {
    filter: { email: /@example\.com$/, created_at: { $gte: new Date(0) } },
    relaxed: true,
    limit: 10,
    onDocument: (doc) => { if (typeof doc.email === 'string') emails += 1; },
  });
  sync.dumpCollection(input, null, 'auth0.users', { text: true, onDocument: (line: string) => line.length > 0 });
  const ids: unknown[] = [];
  const it = a0b.dump(input, 'pw', 'auth0.users', { filter: '{"email_verified": true}', signal: AbortSignal.timeout(1000) });
  for await (const doc of it) ids.push(doc._id);
  const done: a0b.DumpSummary | null = it.summary;
  for await (const line of a0b.dump(input, 'pw', 'auth0.users', { text: true })) emails += line.length;
  await a0b.dumpCollection(input, 'pw', 'auth0.users', { onDocument: async (doc) => { ids.push(doc); } });
  const totals: sync.DiffSummary = sync.diffBackups(input, input, 'pw', {
    collection: 'auth0.users', ids: true, oldMd5: null,
    onItem: (item) => { if ('change' in item) ids.push(item._id); else emails += item.indexes.added.length; },
  });
  const later = await a0b.diffBackups(input, input, null, { onItem: async (item: a0b.DiffItem) => item.collection !== 'x' });
  return emails + ids.length + (done?.documents ?? 0) + totals.changedCollections + later.unchanged + summary.scanned;
}

export async function misuse(): Promise<void> {
  // @ts-expect-error dumpCollection needs onDocument
  sync.dumpCollection('in', null, 'a.b', {});
  // @ts-expect-error with text: true, documents are strings
  sync.dumpCollection('in', null, 'a.b', { text: true, onDocument: (doc: { a: 1 }) => doc.a === 1 });
  // @ts-expect-error text documents have no fields
  for await (const line of a0b.dump('in', null, 'a.b', { text: true })) void line._id;
  // @ts-expect-error diff totals are camelCase
  void sync.diffBackups('a', 'b', null).changed_collections;
  // @ts-expect-error a password is a string or bytes
  await a0b.restore('in', 'dest', 42);
  // @ts-expect-error no such option
  await a0b.decryptFile('in', 'out', 'pw', { expectedMD5: 'x' });
  // @ts-expect-error pack resolves to the md5, a string
  const n: number = await a0b.pack('src', 'out', null);
  // @ts-expect-error report keys are camelCase
  void (await a0b.checkBackup('in', null)).collections_ok;
  // @ts-expect-error the synchronous onCollection is not awaited: no Promise
  sync.checkBackup('in', null, { onCollection: async () => false });
  // @ts-expect-error rows have camelCase keys too
  sync.checkBackup('in', null, { onCollection: (row) => row.bson_path });
  // @ts-expect-error no such error code
  const bad: a0b.ErrorCode = 'A0B_ERR_NOPE';
  void bad;
  // @ts-expect-error the synchronous restore returns nothing to await on
  const p: Promise<void> = sync.restore('in', 'dest', 'pw');
  void n;
  void p;
}
